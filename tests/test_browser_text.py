"""The Text source as a person uses it, in Chromium at laptop and phone sizes: a prompt and a style card become first
frames, the one picked becomes the picture and the video's recorded first frame, and Text to video does both at once.

Screenshots go to the test's temporary folder, or to $SVD_SCREENSHOTS when it is set, to be looked at.
"""

from __future__ import annotations

import io
import re
import time
import urllib.request

import numpy as np
from chromium import PHONE, open_advanced, open_page, set_number, upload, video_source, wait_for_video
from conftest import write_picture
from gradio_client import Client
from PIL import Image
from playwright.sync_api import Page, expect

from svd.output.history import list_history

PROMPT = "a lighthouse on a cliff at dusk"


def shown_picture(page: Page) -> bytes:
    """The file that the picture box shows, as the browser gets it."""
    source = page.locator("#picture img").get_attribute("src")
    with urllib.request.urlopen(source, timeout=10) as response:
        return response.read()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def candidate(server, seed: int, style: str = "cinematic") -> np.ndarray:
    """The `/first_frames` candidate of `seed` for the prompt, as the API makes it."""
    pictures, _ = Client(server.url, verbose=False).predict(
        PROMPT, style=style, count=1, seed=seed, api_name="/first_frames"
    )
    return np.asarray(Image.open(pictures[0]).convert("RGB"))


def next_record(page: Page, server, before: str) -> dict:
    """The sidecar of the video that replaces `before` in the result area."""
    deadline = time.monotonic() + 60
    while video_source(page) in ("", before) and time.monotonic() < deadline:
        time.sleep(0.1)
    name = re.search(r"\S+\.mp4", page.locator("#result-info").inner_text())[0]
    return next(entry for entry in list_history(server.output_dir) if entry["video"] == name)


def test_a_picked_first_frame_is_the_picture_and_the_video_records_it(page, server, tmp_path, screenshots):
    page.locator("#source").get_by_label("Text").check()
    expect(page.locator("#examples")).to_be_hidden()
    page.locator("#generate").click()
    expect(page.locator("#result-info")).to_contain_text("Not generated: no first frame yet: press Make first frames")
    page.locator("#make-first-frames").click()
    expect(page.locator("#text-notice")).to_contain_text("Not made: the prompt is empty")

    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#style").get_by_label("Cinematic").check()  # the style's suggestions reach the video's controls
    expect(page.locator("#style-about")).to_contain_text("sets motion 110 and the camera to Pan right")
    expect(page.locator("#motion input[type=number]")).to_have_value("110")
    expect(page.locator("#camera-move input[value=pan-right]")).to_be_checked()
    set_number(page, "seed", 20)
    page.locator("#make-first-frames").click()
    tiles = page.locator("#first-frames button.thumbnail-item")
    expect(tiles).to_have_count(4)
    expect(tiles.nth(1)).to_contain_text("seed 21")
    expect(page.locator("#text-notice")).to_contain_text("Note: the prompt (with its style) is")  # not an error
    expect(page.locator("#make-first-frames")).to_be_enabled()
    tiles.nth(1).click()
    expect(page.locator("#notice")).to_contain_text("The model will see 256×144 (crop, from 256×144)")
    second = shown_picture(page)
    assert np.array_equal(pixels(second), candidate(server, 21))  # the 2nd candidate, as the API makes it
    page.screenshot(path=str(screenshots / "text-first-frames-laptop.png"), full_page=True)

    open_advanced(page)
    set_number(page, "steps", 1)
    page.locator("#generate").click()
    record = next_record(page, server, "")
    assert (record["prompt"], record["style"], record["t2i_seed"]) == (PROMPT, "cinematic", 21)
    assert (record["motion_bucket_id"], record["camera"]) == (110, "pan-right")
    assert (server.output_dir / record["first_frame"]).read_bytes() == second
    expect(page.locator("#result-info")).to_contain_text(f"from text {PROMPT} (cinematic, first frame seed 21)")
    page.screenshot(path=str(screenshots / "text-result-laptop.png"), full_page=True)

    upload(page, write_picture(tmp_path / "mine.png", (320, 180)))  # a picture of one's own: no text to record
    expect(page.locator("#notice")).to_contain_text("(crop, from 320×180)")
    before = video_source(page)
    page.locator("#generate").click()
    replaced = next_record(page, server, before)
    assert replaced["prompt"] is None and "first_frame" not in replaced


def test_text_to_video_makes_a_first_frame_and_animates_it_and_history_brings_the_text_back(page, server):
    page.locator("#source").get_by_label("Text").check()
    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#style").get_by_label("Anime").check()
    set_number(page, "seed", 30)
    open_advanced(page)
    set_number(page, "steps", 1)
    page.locator("#text-to-video").click()
    expect(page.locator("#generate")).to_be_disabled()
    wait_for_video(page)
    record = next_record(page, server, "")
    assert (record["prompt"], record["style"], record["t2i_seed"], record["seed"]) == (PROMPT, "anime", 30, 30)
    made = (server.output_dir / record["first_frame"]).read_bytes()
    assert np.array_equal(pixels(made), candidate(server, 30, style="anime"))
    expect(page.locator("#picture img")).to_be_visible()  # the first frame is the picture now
    assert shown_picture(page) == made
    expect(page.locator("#generate")).to_be_enabled()

    page.locator("#prompt textarea").fill("")
    page.locator("#source").get_by_label("Picture").check()
    expect(page.locator("#prompt textarea")).to_be_hidden()
    page.get_by_role("tab", name="History").click()
    page.locator("#history-gallery button.thumbnail-item").first.click()
    page.locator("#history-reuse").click()  # the text comes back with the picture...
    expect(page.locator("#source input[value=Text]")).to_be_checked()
    expect(page.locator("#prompt textarea")).to_have_value(PROMPT)
    expect(page.locator("#style input[value=anime]")).to_be_checked()
    before = video_source(page)
    page.locator("#generate").click()
    again = next_record(page, server, before)  # ...and the next run of that picture records it again
    assert (again["prompt"], again["style"], again["t2i_seed"]) == (PROMPT, "anime", 30)
    assert (server.output_dir / again["first_frame"]).read_bytes() == made


def test_the_text_source_fits_a_phone(browser, server, screenshots):
    phone = open_page(browser, server.url, viewport=PHONE)
    try:
        phone.locator("#source").get_by_label("Text").check()
        cards = [phone.locator("#style label").nth(index).bounding_box() for index in range(4)]
        assert len({card["y"] for card in cards[:3]}) == 1 and cards[3]["y"] > cards[0]["y"]  # three a row
        phone.locator("#prompt textarea").fill(PROMPT)
        set_number(phone, "count", 2)
        phone.locator("#make-first-frames").click()
        tiles = phone.locator("#first-frames button.thumbnail-item")
        expect(tiles).to_have_count(2)
        boxes = [tiles.nth(index).bounding_box() for index in range(2)]
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[1]["x"] + boxes[1]["width"] <= PHONE["width"]
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        cut = phone.evaluate(
            """() => [...document.querySelectorAll('#text-source label, #text-source [data-testid=block-info]')]
                 .filter((label) => label.offsetParent && label.scrollWidth > label.clientWidth + 1)
                 .map((label) => label.textContent.trim())"""
        )
        assert cut == []
        tiles.nth(1).tap()
        expect(phone.locator("#notice")).to_contain_text("The model will see 256×144")
        phone.screenshot(path=str(screenshots / "text-phone.png"), full_page=True)
    finally:
        phone.context.close()
