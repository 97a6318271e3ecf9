"""Driving the WebUI in Debian's Chromium with Playwright: the browser, a page at laptop (1366×768) or phone
(390×844) size, and what a person does on it. The fixtures that use these (`browser`, `page`, `screenshots`) are in
conftest.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `./launch.sh test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def open_page(browser, url: str, viewport=LAPTOP, ready: str = "Ready") -> Page:
    mobile = viewport == PHONE
    opened = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile).new_page()
    opened.goto(url)
    expect(opened.locator("#status")).to_contain_text(ready, timeout=30_000)
    return opened


def upload(page: Page, picture: Path) -> None:
    page.locator("#picture input[type=file]").set_input_files(str(picture))


def set_number(page: Page, elem_id: str, value: float) -> None:
    """Type into a slider's or number box's number field, as a person does, and leave the field."""
    field = page.locator(f"#{elem_id} input[type=number]").first
    field.fill(str(value))
    field.press("Enter")
    field.blur()


def open_advanced(page: Page) -> None:
    page.get_by_text("Advanced").click()
    expect(page.locator("#steps")).to_be_visible()


def video_source(page: Page, elem_id: str = "video") -> str:
    """The video's address; empty while no video is shown."""
    return page.evaluate(f"() => document.querySelector('#{elem_id} video')?.getAttribute('src') || ''")


def wait_for_video(page: Page, timeout: float = 60, elem_id: str = "video") -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        source = video_source(page, elem_id)
        if source:
            return source
        time.sleep(0.1)
    raise TimeoutError(f"no video appeared; the result area shows: {page.locator('#result').inner_text()!r}")


def in_view(page: Page, selector: str, wait: float = 2.0) -> bool:
    """Whether the element is wholly on screen (waiting up to `wait` seconds for a smooth scroll to end)."""
    deadline = time.monotonic() + wait
    while True:
        box = page.locator(selector).bounding_box()
        if box is not None and box["y"] >= -1 and box["y"] + box["height"] <= page.viewport_size["height"] + 1:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
