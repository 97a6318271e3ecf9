"""The Camera section as a person uses it, in Chromium at laptop and phone sizes: the previews made from their own
picture, choosing a move by its preview or its button, and the move reaching the video, its settings and Reuse.

Screenshots go to the test's temporary folder, or to $SVD_SCREENSHOTS when it is set, to be looked at.
"""

from __future__ import annotations

import io
import re
import urllib.request

from chromium import PHONE, open_advanced, open_page, set_number, upload, wait_for_video
from conftest import write_picture
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from svd.camera.moves import MOVES
from svd.output.history import list_history

MOVE_INDEX = {name: index for index, name in enumerate(MOVES)}
"""Tiles come in the order of the moves."""


def tile(page: Page, move: str) -> Locator:
    return page.locator("#camera-previews button.thumbnail-item").nth(MOVE_INDEX[move])


def preview_file(page: Page, move: str) -> bytes:
    """The preview file that the page shows for `move`, as the browser gets it."""
    source = tile(page, move).locator("img").get_attribute("src")
    with urllib.request.urlopen(source, timeout=10) as response:
        return response.read()


def preview(page: Page, move: str) -> Image.Image:
    return Image.open(io.BytesIO(preview_file(page, move)))


def wait_for_previews(page: Page) -> None:
    """Until every move has its tile and the orbits their own previews (they wait for the depth model)."""
    expect(page.locator("#camera-previews button.thumbnail-item")).to_have_count(len(MOVES), timeout=30_000)
    expect(page.locator("#camera-notice")).to_be_hidden(timeout=30_000)


def test_camera_previews_follow_the_picture_and_the_move_reaches_the_video(page, server, tmp_path, screenshots):
    strength = page.locator("#camera-strength input[type=number]")
    expect(page.locator("#camera-notice")).to_contain_text("Add a picture to see each camera move on it")
    expect(page.locator("#camera-previews")).to_be_hidden()
    expect(strength).to_be_disabled()  # no move: nothing to follow
    page.locator("#camera-move").get_by_label("Locked").check()  # the buttons work without a picture
    expect(strength).to_have_value("0.35")
    expect(strength).to_be_enabled()
    page.locator("#generate").click()
    expect(page.locator("#result-info")).to_contain_text("Not generated: add a picture first")

    upload(page, write_picture(tmp_path / "wide.png", (640, 360)))
    wait_for_previews(page)
    expect(tile(page, "locked")).to_have_class(re.compile("selected"))
    files = {move: preview_file(page, move) for move in ("pan-left", "zoom-in", "orbit-left")}
    assert len(set(files.values())) == 3  # each move its own clip...
    clips = [Image.open(io.BytesIO(file)) for file in files.values()]
    assert {(clip.size, clip.n_frames) for clip in clips} == {((160, 90), 8)}  # ...of the 256×144 frame, 8 frames
    before = tile(page, "pan-left").locator("img").get_attribute("src")
    page.locator("#aspect").get_by_label("1:1").check()  # the previews follow the framing
    expect(tile(page, "pan-left").locator("img")).not_to_have_attribute("src", before)
    assert preview(page, "pan-left").size == (160, 160)

    tile(page, "zoom-in").click()  # choosing by the preview
    expect(page.locator("#camera-move input[value=zoom-in]")).to_be_checked()
    expect(strength).to_have_value("0.5")  # the move's own default
    expect(tile(page, "zoom-in")).to_have_class(re.compile("selected"))
    expect(page.locator("#camera-about")).to_contain_text("Zoom in: the view narrows on the centre")
    set_number(page, "camera-amount", 1.5)
    open_advanced(page)
    set_number(page, "steps", 1)
    page.mouse.move(0, 0)
    page.locator("#camera").screenshot(path=str(screenshots / "camera-laptop.png"))
    page.locator("#generate").click()
    wait_for_video(page)
    info = page.locator("#result-info")
    expect(info).to_contain_text("camera zoom-in (strength 0.5, amount 1.5)")
    name = re.search(r"\S+\.mp4", info.inner_text())[0]
    record = next(entry for entry in list_history(server.output_dir) if entry["video"] == name)
    assert (record["camera"], record["camera_strength"], record["camera_amount"]) == ("zoom-in", 0.5, 1.5)
    page.screenshot(path=str(screenshots / "camera-result-laptop.png"), full_page=True)

    page.locator("#camera-move").get_by_label("None (free)").check()
    expect(strength).to_have_value("0")
    page.locator("#reuse").click()  # the move comes back with the other settings
    expect(page.locator("#camera-move input[value=zoom-in]")).to_be_checked()
    expect(strength).to_have_value("0.5")
    expect(page.locator("#camera-amount input[type=number]")).to_have_value("1.5")


def test_the_camera_row_fits_a_phone(browser, server, tmp_path, screenshots):
    phone = open_page(browser, server.url, viewport=PHONE)
    try:
        upload(phone, write_picture(tmp_path / "portrait.png", (360, 640)))
        wait_for_previews(phone)
        assert preview(phone, "tilt-up").size == (90, 160)  # the 144×256 the model sees
        boxes = [tile(phone, move).bounding_box() for move in MOVES]
        assert len({box["y"] for box in boxes[:4]}) == 1 and boxes[4]["y"] > boxes[0]["y"]  # four a row
        assert all(box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] for box in boxes)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        cut = phone.evaluate(
            """() => [...document.querySelectorAll('#camera .caption-label, #camera label')]
                 .filter((label) => label.scrollWidth > label.clientWidth + 1).map((label) => label.textContent)"""
        )
        assert cut == []
        tile(phone, "orbit-left").tap()
        expect(phone.locator("#camera-move input[value=orbit-left]")).to_be_checked()
        expect(phone.locator("#camera-strength input[type=number]")).to_have_value("0.45")
        phone.locator("#camera").screenshot(path=str(screenshots / "camera-phone.png"))
        phone.screenshot(path=str(screenshots / "camera-phone-page.png"), full_page=True)
    finally:
        phone.context.close()
