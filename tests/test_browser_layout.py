"""Where things sit on the page, in Chromium at laptop (1366×768) and phone (390×844) sizes: Generate, Cancel and
the status stay in view while the picture and the settings are edited; a History item opens in view and stays
there; a file that is not a picture leaves the picture box empty, with one line saying why.

Screenshots go to the test's temporary folder, or to $SVD_SCREENSHOTS when it is set, to be looked at.
"""

from __future__ import annotations

import time

import pytest
from chromium import LAPTOP, PHONE, in_view, open_advanced, open_page, set_number, upload, wait_for_video
from conftest import write_picture
from gradio_client import Client, handle_file
from playwright.sync_api import Page, expect

VIEWPORTS = {"laptop": LAPTOP, "phone": PHONE}
NOT_A_PICTURE = "is not a picture that can be read: use a PNG, JPEG, WebP, GIF, BMP or TIFF file"


@pytest.fixture(params=list(VIEWPORTS))
def sized(request, browser, server) -> Page:
    """A fresh page of the shared server at laptop, then at phone size."""
    opened = open_page(browser, server.url, viewport=VIEWPORTS[request.param])
    yield opened
    opened.context.close()


def width_name(page: Page) -> str:
    return "phone" if page.viewport_size == PHONE else "laptop"


def uncovered(page: Page, selector: str) -> bool:
    """Whether the middle of the element is the element's own, not something drawn over it (a sticky bar)."""
    return page.locator(selector).first.evaluate(
        """(element) => {
             const box = element.getBoundingClientRect();
             const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
             return element.contains(hit);
           }"""
    )


def controls_bottom(page: Page) -> float:
    """Where the column of controls (the picture, the settings, the action bar) ends, from the top of the screen."""
    return page.evaluate("() => document.querySelector('#controls').getBoundingClientRect().bottom")


def test_generate_cancel_and_the_status_stay_in_view_while_the_picture_and_settings_are_edited(
    sized, tmp_path, screenshots
):
    page, name = sized, width_name(sized)
    upload(page, write_picture(tmp_path / "wide.png", (800, 600)))
    expect(page.locator("#notice")).to_contain_text("The model will see 224×160")
    assert in_view(page, "#generate")  # no scrolling to find it once a picture is in
    expect(page.locator("#action-status")).to_contain_text("Ready")
    assert in_view(page, "#action-status")
    page.screenshot(path=str(screenshots / f"actions-{name}.png"))

    open_advanced(page)
    height = page.viewport_size["height"]
    while controls_bottom(page) > height:  # down the settings, a screen at a time, to the end of the controls
        page.evaluate(f"() => window.scrollBy(0, {height // 2})")
        assert in_view(page, "#generate", wait=0) and in_view(page, "#action-status", wait=0)
    for setting in ("motion", "seed", "steps"):  # a field brought into view is not left under the bar
        page.locator(f"#{setting}").scroll_into_view_if_needed()
        assert uncovered(page, f"#{setting}")
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    bar, finish = page.locator("#actions").bounding_box(), page.locator("#finish").bounding_box()
    assert bar["y"] >= finish["y"] + finish["height"] - 1  # at the end it sits under the last setting, hiding none

    set_number(page, "steps", 200)  # minutes on two CPU cores: long enough to cancel from the settings
    page.locator("#generate").click()
    expect(page.locator("#cancel")).to_be_visible()
    page.locator("#motion").scroll_into_view_if_needed()
    assert in_view(page, "#cancel") and in_view(page, "#generate")
    expect(page.locator("#action-status")).to_contain_text("Busy: generating")
    page.screenshot(path=str(screenshots / f"actions-running-{name}.png"))
    page.locator("#cancel").click()
    expect(page.locator("#result-info")).to_contain_text("The run was cancelled.")
    expect(page.locator("#action-status")).to_contain_text("Ready")


@pytest.fixture(scope="module")
def tall_video(server, tmp_path_factory) -> dict:
    """A portrait video in the History (the tallest kind to open on a phone)."""
    picture = write_picture(tmp_path_factory.mktemp("tall") / "tall.png", (360, 640))
    _, _, record = Client(server.url, verbose=False).predict(
        handle_file(str(picture)), frames=2, steps=1, api_name="/generate"
    )
    return record


def test_a_history_item_opens_in_view_and_stays_there(sized, tall_video, screenshots):
    page, name = sized, width_name(sized)
    page.get_by_role("tab", name="History").click()
    tile = page.locator("#history-gallery button.thumbnail-item").filter(has_text=f"seed {tall_video['seed']}")
    tile.first.click()
    wait_for_video(page, elem_id="history-video")
    assert in_view(page, "#history-video", wait=6)  # brought into view (a smooth scroll: slow on a loaded machine)
    expect(page.locator("#history-info")).to_contain_text(f"Seed {tall_video['seed']}")
    time.sleep(1)  # the video's size is known once it loads: it stays in view as the page settles
    assert in_view(page, "#history-video", wait=0)
    assert in_view(page, "#history-reuse") or name == "phone"  # on a laptop its buttons are beside it
    page.screenshot(path=str(screenshots / f"history-opened-{name}.png"))


def test_a_file_that_is_not_a_picture_leaves_the_box_empty_and_says_why(sized, tmp_path, screenshots):
    page, name = sized, width_name(sized)
    notes = tmp_path / "notes.png"
    notes.write_text("a shopping list, not a picture\n" * 20)
    whole = write_picture(tmp_path / "whole.png", (640, 480)).read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole[: len(whole) // 3])
    notice = page.locator("#notice")
    for bad, why in ((notes, NOT_A_PICTURE), (cut, "is truncated or corrupt")):
        upload(page, write_picture(tmp_path / "fine.png", (320, 180)))
        expect(notice).to_contain_text("The model will see")
        upload(page, bad)
        expect(page.locator("#picture img")).to_have_count(0)  # no broken picture: the box is empty again...
        expect(page.locator("#framed img")).to_have_count(0)
        expect(notice).to_contain_text(f"Cannot use this: {bad.name} {why}")
        time.sleep(1.5)  # ...and the line stays once the page has handled the box being emptied
        expect(notice).to_contain_text(f"Cannot use this: {bad.name} {why}")
        assert broken_pictures(page) == 0
        expect(page.locator("#picture")).to_contain_text("Click to Upload")
    page.locator("#picture").screenshot(path=str(screenshots / f"not-a-picture-{name}.png"))

    upload(page, write_picture(tmp_path / "after.png", (320, 180)))  # a picture goes in again as usual
    expect(notice).to_contain_text("The model will see")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    upload(page, scan)  # not an image type at all: Gradio refuses it itself, and the picture stays
    expect(page.locator(".toast-body")).to_contain_text("Invalid file type: scan.pdf")
    expect(notice).to_contain_text("The model will see")
    assert broken_pictures(page) == 0 and page.locator("#picture img").count() == 1
    page.locator("#picture button[aria-label='Remove Image']").first.click()
    expect(notice).to_have_text("")  # emptied by hand: nothing to say
    expect(page.locator("#picture img")).to_have_count(0)


def broken_pictures(page: Page) -> int:
    """Pictures on the page that the browser could not draw (a broken-image sliver)."""
    return page.evaluate("() => [...document.images].filter((i) => i.complete && !i.naturalWidth).length")
