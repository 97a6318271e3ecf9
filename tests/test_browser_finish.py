"""The Finish section as a person uses it, in Chromium at laptop and phone sizes: the finished video's shape shown
before Generate, a finished video with its other formats, "Finish this video" on the result and from the History
tab, without generating again. Every video the page made is decoded from the server's output folder.

Screenshots go to the test's temporary folder, or to $SVD_SCREENSHOTS when it is set, to be looked at.
"""

from __future__ import annotations

import json
import re

from chromium import PHONE, in_view, open_advanced, open_page, set_number, upload, video_source, wait_for_video
from conftest import write_picture
from mp4 import decode
from PIL import Image
from playwright.sync_api import Page, expect

from svd.output.history import list_history


def open_finish(page: Page) -> None:
    page.locator("#finish").get_by_text("Finish: longer, smoother, larger, looped").click()
    expect(page.locator("#interpolate")).to_be_visible()


def newest(server) -> dict:
    return list_history(server.output_dir)[0]


def test_finish_shows_the_video_it_will_make_and_makes_it(page, server, tmp_path, screenshots):
    upload(page, write_picture(tmp_path / "wide.png", (640, 360)))
    expect(page.locator("#notice")).to_contain_text("The model will see 256×144")
    set_number(page, "frames", 4)
    set_number(page, "fps", 6)
    open_advanced(page)
    set_number(page, "steps", 1)
    open_finish(page)
    shape = page.locator("#finish-shape")
    expect(shape).to_contain_text("Video: 4 frames at 6 fps, 256×144, 0.6 s")
    page.locator("#interpolate").get_by_label("×3").check()
    page.locator("#loop").get_by_label("Boomerang").check()
    page.locator("#formats").get_by_label("GIF").check()
    frames = 2 * ((4 - 1) * 3 + 1) - 2  # 10 after x3, then back without repeating the ends
    expect(shape).to_contain_text(f"Finished video: {frames} frames at 18 fps, 256×144, 1 s")
    page.locator("#upscale").get_by_label("×2").check()
    expect(shape).to_contain_text(f"Finished video: {frames} frames at 18 fps, 512×288")
    page.mouse.move(0, 0)
    page.locator("#finish").screenshot(path=str(screenshots / "finish-laptop.png"))

    page.locator("#generate").click()
    wait_for_video(page, timeout=120)
    record = newest(server)
    info = page.locator("#result-info")
    expect(info).to_contain_text("finished ×3 frames (RIFE), upscaled to 512×288, boomerang")
    expect(info).to_contain_text(f"{frames} frames at 18 fps")
    video = decode(server.output_dir / record["video"])
    assert (video.size, video.fps, len(video.frames)) == ((512, 288), 18, frames)
    with Image.open(server.output_dir / record["gif"]) as gif:
        assert (gif.n_frames, gif.size) == (frames, (512, 288))
    expect(page.locator("#other-formats a")).to_have_attribute("href", re.compile(re.escape(record["gif"]) + "$"))
    page.screenshot(path=str(screenshots / "finished-laptop.png"), full_page=True)

    before = video_source(page)  # now without in-between frames, and a crossfade: made from the model's 4 frames
    page.locator("#interpolate").get_by_label("Off").check()
    page.locator("#loop").get_by_label("Crossfade").check()
    page.locator("#formats").get_by_label("GIF").uncheck()
    page.locator("#formats").get_by_label("WebP").check()
    page.locator("#finish-this").click()
    expect(page.locator("#video video")).not_to_have_attribute("src", before, timeout=60_000)
    again = newest(server)
    assert again["finished_from"] == record["sidecar"] and again["seed"] == record["seed"]
    assert (again["interpolate"], again["upscale"], again["loop"]) == (1, "2", "crossfade")
    assert again["video_num_frames"] < 4 and (again["video_width"], again["video_height"]) == (512, 288)
    assert again["webp"] and not again.get("gif") and again["notes"] == []
    expect(info).to_contain_text("upscaled to 512×288, crossfade")
    expect(info).not_to_contain_text("×3")
    expect(info).to_contain_text(f"from {record['sidecar'].removesuffix('.json')}")
    assert len(decode(server.output_dir / again["video"]).frames) == again["video_num_frames"]

    page.locator("#loop").get_by_label("Off").check()
    page.locator("#reuse").click()  # the finished video's finishing comes back with its other settings
    expect(page.locator("#loop input[value=crossfade]")).to_be_checked()
    expect(page.locator("#upscale input[value='2']")).to_be_checked()
    expect(page.locator("#interpolate input[value='1']")).to_be_checked()
    expect(page.locator("#formats").get_by_label("WebP")).to_be_checked()


def test_finish_this_video_with_nothing_chosen_opens_finish_and_says_what_to_choose(page, server, tmp_path):
    upload(page, write_picture(tmp_path / "plain.png", (256, 144)))
    open_advanced(page)
    set_number(page, "steps", 1)
    page.locator("#generate").click()
    wait_for_video(page, timeout=120)
    made, shown = newest(server), video_source(page)
    expect(page.locator("#interpolate")).to_be_hidden()  # Finish is closed, far from the button
    page.locator("#finish-this").click()
    expect(page.locator("#interpolate")).to_be_visible()  # now open, with the choices
    expect(page.locator(".toast-body")).to_contain_text("Choose how to finish it first")
    info = page.locator("#result-info")
    expect(info).to_contain_text(f"Seed {made['seed']}")  # the settings line stays, not a red "Not finished"
    expect(info).not_to_have_class(re.compile("run-error"))
    assert video_source(page) == shown and newest(server)["sidecar"] == made["sidecar"]


def test_finish_this_video_from_the_history_on_a_phone(browser, server, tmp_path, screenshots):
    phone = open_page(browser, server.url, viewport=PHONE)
    try:
        upload(phone, write_picture(tmp_path / "tall.png", (360, 640)))
        set_number(phone, "frames", 3)
        open_advanced(phone)
        set_number(phone, "steps", 1)
        phone.locator("#generate").click()
        wait_for_video(phone, timeout=120)
        made = newest(server)
        phone.get_by_role("tab", name="History").click()
        phone.locator("#history-gallery button.thumbnail-item").first.click()
        wait_for_video(phone, elem_id="history-video")
        phone.locator("#history-finish").click()
        expect(phone.locator("#interpolate")).to_be_visible()  # back on Create, with Finish open and in view
        assert in_view(phone, "#extend", wait=3)
        expect(phone.locator("#result-info")).to_contain_text(f"Seed {made['seed']}")
        shown = phone.locator("#video video").get_attribute("src")
        phone.locator("#finish-this").click()  # nothing chosen yet: it says what to choose, and the video stays
        expect(phone.locator(".toast-body")).to_contain_text("Choose how to finish it first")
        expect(phone.locator("#result-info")).to_contain_text(f"Seed {made['seed']}")
        expect(phone.locator("#result-info")).not_to_have_class(re.compile("run-error"))
        expect(phone.locator("#video video")).to_have_attribute("src", shown)
        phone.locator("#interpolate").get_by_label("×2").check()
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        phone.screenshot(path=str(screenshots / "finish-phone.png"), full_page=True)
        phone.locator("#finish-this").click()
        expect(phone.locator("#result-info")).to_contain_text("×2 frames (RIFE)", timeout=60_000)
        finished = newest(server)
        assert finished["finished_from"] == made["sidecar"]
        assert finished["video_num_frames"] == 2 * made["num_frames"] - 1 and finished["video_fps"] == 2 * made["fps"]
        sidecar = json.loads((server.output_dir / finished["sidecar"]).read_text())
        assert sidecar["interpolation_method"].endswith("flownet.pkl") and "finish_interpolate" in sidecar["timings"]
    finally:
        phone.context.close()
