"""The WebUI as a person uses it: Debian's Chromium, driven by Playwright, against a real server with the tiny model.

Screenshots go to the test's temporary folder, or to $SVD_SCREENSHOTS when it is set, to be looked at.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import write_picture
from playwright.sync_api import Page, expect, sync_playwright
from webui_server import start_server

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
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `./launch.sh test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport=LAPTOP)
    opened = context.new_page()
    opened.goto(server.url)
    expect(opened.get_by_text("Ready", exact=True)).to_be_visible(timeout=30_000)
    yield opened
    context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SVD_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload(page: Page, picture: Path) -> None:
    page.locator("#picture input[type=file]").set_input_files(str(picture))


def set_number(page: Page, elem_id: str, value: int) -> None:
    """Type into a slider's or number box's number field, as a person does, and leave the field."""
    field = page.locator(f"#{elem_id} input[type=number]").first
    field.fill(str(value))
    field.press("Enter")
    field.blur()


def open_advanced(page: Page) -> None:
    page.get_by_text("Advanced").click()
    expect(page.locator("#steps")).to_be_visible()


def video_source(page: Page) -> str:
    """The result video's address; empty until a video is shown."""
    return page.evaluate("() => document.querySelector('#video video')?.getAttribute('src') || ''")


def wait_for_video(page: Page, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        source = video_source(page)
        if source:
            return source
        time.sleep(0.1)
    page.screenshot(path=str(Path(os.environ.get("SVD_SCREENSHOTS") or "/tmp") / "no-video.png"), full_page=True)
    raise TimeoutError(f"no video appeared; the result area shows: {page.locator('#video').inner_text()!r}")


def test_upload_generate_and_watch(page, tmp_path, screenshots):
    upload(page, write_picture(tmp_path / "meadow.jpg", (800, 600), quality=95))
    expect(page.locator("#notice")).to_contain_text("The model will see 224×160 (crop, from 800×600)")
    page.get_by_label("pad").check()  # the preview follows the fit and the size
    expect(page.locator("#notice")).to_contain_text("The model will see 224×160 (pad, from 800×600)")
    page.get_by_label("crop").check()
    expect(page.locator("#notice")).to_contain_text("(crop, from 800×600)")
    open_advanced(page)
    set_number(page, "steps", 25)
    page.locator("#generate").click()

    progress_seen = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = page.locator("body").inner_text()
        progress_seen |= {word for word in ("Encoding", "Denoising", "Decoding") if word in text}
        if "Denoising" in text and "steps" in text and "left" in text:
            page.screenshot(path=str(screenshots / "progress.png"), full_page=True)
        if video_source(page):
            break
        time.sleep(0.05)
    assert "Denoising" in progress_seen, progress_seen

    wait_for_video(page)
    playing = page.evaluate(
        "() => { const v = document.querySelector('#video video'); return [v.muted, v.autoplay, v.loop]; }"
    )
    assert playing == [True, True, True]
    expect(page.locator("#result-info")).to_contain_text("Seed")
    expect(page.locator("#result-info")).to_contain_text("224×160")
    expect(page.locator("#result-info")).to_contain_text("Took")
    expect(page.locator("#result-info")).to_contain_text("peak VRAM n/a (CPU)")
    expect(page.get_by_role("button", name="Download MP4")).to_be_visible()
    expect(page.get_by_role("button", name="Download PNG frames (zip)")).to_be_visible()
    page.screenshot(path=str(screenshots / "result-laptop.png"), full_page=True)

    seed = page.locator("#result-info").inner_text().split("Seed")[1].split("·")[0].strip()
    page.get_by_role("button", name="Last seed").click()
    expect(page.locator("#seed input")).to_have_value(seed)
    set_number(page, "motion", 30)
    page.locator("#reuse").click()
    expect(page.locator("#motion input[type=number]")).to_have_value("127")

    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-table")).to_contain_text("meadow.jpg")
    page.screenshot(path=str(screenshots / "history.png"), full_page=True)


def test_a_bad_file_gets_a_message_on_the_page(page, tmp_path, screenshots):
    whole = write_picture(tmp_path / "whole.png", (640, 480)).read_bytes()
    broken = tmp_path / "broken.png"
    broken.write_bytes(whole[: len(whole) // 3])
    upload(page, broken)
    expect(page.locator("#notice")).to_contain_text("Cannot use this picture: broken.png is truncated or corrupt")
    page.locator("#generate").click()
    toast = page.locator(".toast-body.error")
    expect(toast).to_contain_text("broken.png is truncated or corrupt (image file is truncated)")
    expect(toast).to_contain_text("export it again or choose another file")
    page.screenshot(path=str(screenshots / "bad-file.png"), full_page=True)
    assert "Traceback" not in page.locator("body").inner_text()


def test_cancel_stops_the_run(page, tmp_path):
    upload(page, write_picture(tmp_path / "long.png", (256, 144)))
    open_advanced(page)
    set_number(page, "frames", 64)
    set_number(page, "steps", 200)  # minutes on two CPU cores
    page.locator("#generate").click()
    expect(page.get_by_text("Denoising").first).to_be_visible(timeout=30_000)
    page.locator("#cancel").click()
    set_number(page, "frames", 8)
    set_number(page, "steps", 2)
    started = time.monotonic()
    page.locator("#generate").click()
    wait_for_video(page, timeout=40)
    assert time.monotonic() - started < 30  # the cancelled run no longer holds the engine


def test_waiting_users_see_their_place_in_the_queue(browser, server, tmp_path, screenshots):
    picture = write_picture(tmp_path / "queue.png", (256, 144))
    context = browser.new_context(viewport=LAPTOP)
    first, second = context.new_page(), context.new_page()
    try:
        for tab in (first, second):
            tab.goto(server.url)
            expect(tab.get_by_text("Ready", exact=True)).to_be_visible(timeout=30_000)
            upload(tab, picture)
        open_advanced(first)
        set_number(first, "steps", 200)
        first.locator("#generate").click()
        expect(first.get_by_text("Denoising").first).to_be_visible(timeout=60_000)
        second.locator("#generate").click()
        expect(second.get_by_text("queue", exact=False).first).to_be_visible(timeout=20_000)
        second.screenshot(path=str(screenshots / "queued.png"), full_page=True)
        first.locator("#cancel").click()
        wait_for_video(second, timeout=90)
    finally:
        context.close()


def test_phone_layout_fits_the_screen(browser, server, tmp_path, screenshots):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        phone.goto(server.url)
        expect(phone.get_by_text("Ready", exact=True)).to_be_visible(timeout=30_000)
        upload(phone, write_picture(tmp_path / "portrait.png", (360, 640)))
        expect(phone.locator("#notice")).to_contain_text("144×256")
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        phone.locator("#generate").scroll_into_view_if_needed()
        expect(phone.locator("#generate")).to_be_visible()
        phone.screenshot(path=str(screenshots / "phone.png"), full_page=True)
    finally:
        context.close()


def test_login_page_comes_before_the_app(browser, tiny_model, tmp_path, screenshots):
    server = start_server(tmp_path, SVD_MODEL=str(tiny_model), SVD_AUTH="alice:wonderland")
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = context.new_page()
        page.goto(server.url)
        expect(page.get_by_role("button", name="Login")).to_be_visible(timeout=20_000)
        assert page.locator("#generate").count() == 0
        page.screenshot(path=str(screenshots / "login.png"))
        page.get_by_label("username").fill("alice")
        page.get_by_label("password").fill("wonderland")
        page.get_by_role("button", name="Login").click()
        expect(page.locator("#generate")).to_be_visible(timeout=20_000)
    finally:
        context.close()
        server.stop()
