"""The WebUI as a person uses it: Debian's Chromium, driven by Playwright, against a real server with the tiny model,
at laptop (1366×768) and phone (390×844) sizes (the camera section has a module of its own).

Screenshots go to the test's temporary folder, or to $SVD_SCREENSHOTS when it is set, to be looked at.
"""

from __future__ import annotations

import re
import time

from chromium import LAPTOP, PHONE, in_view, open_advanced, open_page, set_number, upload, video_source, wait_for_video
from conftest import GATED_LATER, write_picture
from gradio_client import Client, handle_file
from playwright.sync_api import Page, expect
from webui_server import health, readiness

from svd.families.catalogue import CATALOGUE
from svd.output.history import list_history


def seed_value(page: Page) -> str:
    return page.locator("#seed input").input_value()


def test_upload_generate_and_watch(page, tmp_path, screenshots):
    page.locator("#last-seed").click()
    expect(page.locator(".toast-body")).to_contain_text("No run yet")
    page.locator("#randomise").click()
    expect(page.locator("#seed input")).not_to_have_value("-1")
    drawn = seed_value(page)
    page.locator("#randomise").click()
    expect(page.locator("#seed input")).not_to_have_value(drawn)
    assert 0 <= int(seed_value(page)) < 2**32 and 0 <= int(drawn) < 2**32
    set_number(page, "seed", -1)
    expect(page.locator("#result-info")).to_contain_text("Your video appears here")
    page.locator("#examples").get_by_role("button").nth(1).click()  # an example fills the picture box
    expect(page.locator("#notice")).to_contain_text("(crop, from 451×300)")

    upload(page, write_picture(tmp_path / "meadow.jpg", (800, 600), quality=95))
    expect(page.locator("#notice")).to_contain_text("The model will see 224×160 (crop, from 800×600)")
    page.locator("#fit input").click()
    page.get_by_role("option", name="pad").click()  # the preview follows the fit and the size
    expect(page.locator("#notice")).to_contain_text("The model will see 224×160 (pad, from 800×600)")
    page.locator("#aspect").get_by_label("16:9").check()
    expect(page.locator("#notice")).to_contain_text("The model will see 256×144 (pad, from 800×600)")
    page.locator("#aspect").get_by_label("Auto").check()
    expect(page.locator("#notice")).to_contain_text("224×160 (pad")
    assert in_view(page, "#generate") and not page.locator("#cancel").is_visible()
    page.screenshot(path=str(screenshots / "ready-laptop.png"))
    open_advanced(page)
    set_number(page, "steps", 25)
    page.locator("#generate").click()

    expect(page.locator("#generate")).to_be_disabled()
    expect(page.locator("#generate")).to_have_text("Generating…")
    expect(page.locator("#cancel")).to_be_visible()
    preview, progress = page.locator("#preview"), page.locator("#run-progress")  # the video's place, and under it
    expect(progress).to_contain_text(re.compile("Denoising|Encoding"), timeout=30_000)
    expect(page.locator("#video")).to_be_hidden()
    assert in_view(page, "#preview") and in_view(page, "#run-progress")  # where the person looks
    expect(page.locator("#status")).to_contain_text("Busy: generating")
    expect(preview.locator("img")).to_have_attribute("src", re.compile(r"\.gif$"), timeout=30_000)
    expect(progress).to_contain_text("Denoising")  # a preview comes while it denoises, not after
    natural, drawn = preview.locator("img").evaluate("(img) => img.decode().then(() => [img.naturalWidth, img.width])")
    assert natural == 224 // 8 and drawn >= 0.9 * preview.bounding_box()["width"]  # the latents' size, drawn large
    page.screenshot(path=str(screenshots / "progress-laptop.png"))

    wait_for_video(page)
    expect(preview).to_be_hidden()
    expect(progress).to_be_hidden()
    expect(page.locator("#generate")).to_be_enabled()
    expect(page.locator("#cancel")).to_be_hidden()
    playing = page.evaluate(
        "() => { const v = document.querySelector('#video video'); return [v.muted, v.autoplay, v.loop]; }"
    )
    assert playing == [True, True, True]
    info = page.locator("#result-info")
    for text in ("Seed", "224×160 (pad)", "Took", "peak VRAM n/a (CPU)", "on the CPU"):
        expect(info).to_contain_text(text)
    expect(page.get_by_role("button", name="Download MP4")).to_be_visible()
    expect(page.get_by_role("button", name="Download the model's frames (PNG zip)")).to_be_visible()
    page.screenshot(path=str(screenshots / "result-laptop.png"), full_page=True)

    seed = info.inner_text().split("Seed")[1].split("·")[0].strip()
    page.locator("#last-seed").click()
    expect(page.locator("#seed input")).to_have_value(seed)
    set_number(page, "motion", 30)
    page.locator("#reuse").click()
    expect(page.locator("#motion input[type=number]")).to_have_value("127")


def test_an_error_after_a_success_clears_the_result_and_stays_readable(page, server, tmp_path, screenshots):
    offset = len(server.log.read_text())
    page.locator("#generate").click()
    expect(page.locator("#result-info")).to_contain_text("Not generated: add a picture first")
    upload(page, write_picture(tmp_path / "fine.png", (256, 144)))
    open_advanced(page)
    set_number(page, "steps", 1)
    page.locator("#generate").click()
    wait_for_video(page)
    expect(page.get_by_role("button", name="Download MP4")).to_be_visible()

    whole = write_picture(tmp_path / "whole.png", (640, 480)).read_bytes()
    broken = tmp_path / "broken.png"
    broken.write_bytes(whole[: len(whole) // 3])
    upload(page, broken)
    notice = page.locator("#notice")
    expect(notice).to_contain_text("Cannot use this: broken.png is truncated or corrupt (image file is truncated)")
    expect(notice).to_contain_text("export it again or choose another file")
    expect(page.locator("#picture img")).to_have_count(0)  # taken out of the box, where it drew a broken sliver
    page.locator("#generate").click()
    info = page.locator("#result-info")
    expect(info).to_contain_text("Not generated: add a picture first")
    expect(info).to_have_class(re.compile("run-error"))
    assert video_source(page) == ""
    expect(page.get_by_role("button", name="Download MP4")).to_be_hidden()
    expect(page.locator("#reuse")).to_be_hidden()
    time.sleep(6)  # longer than a toast stays
    expect(info).to_contain_text("add a picture first")
    expect(notice).to_contain_text("broken.png is truncated or corrupt")
    page.screenshot(path=str(screenshots / "error-after-success.png"))
    assert "Traceback" not in page.locator("body").inner_text() and "Traceback" not in server.log_since(offset)

    upload(page, write_picture(tmp_path / "fine-again.png", (256, 144)))
    set_number(page, "steps", 200)  # minutes on two CPU cores: long enough to look at, then cancelled
    page.locator("#generate").click()
    expect(info).to_contain_text("Generating…")
    expect(info).not_to_have_class(re.compile("run-error"))  # the next run is not shown as an error
    page.locator("#cancel").click()
    expect(info).to_contain_text("The run was cancelled.")


def test_cancel_stops_the_run(page, tmp_path):
    upload(page, write_picture(tmp_path / "long.png", (256, 144)))
    open_advanced(page)
    set_number(page, "frames", 64)
    set_number(page, "steps", 200)  # minutes on two CPU cores
    page.locator("#generate").click()
    expect(page.locator("#run-progress")).to_contain_text("Denoising", timeout=30_000)
    page.locator("#cancel").click()
    expect(page.locator("#video")).to_be_visible()  # back in the preview's place
    expect(page.locator("#cancel")).to_be_hidden()
    expect(page.locator("#generate")).to_be_enabled()
    expect(page.locator("#result-info")).to_contain_text("The run was cancelled.")
    set_number(page, "frames", 8)
    set_number(page, "steps", 2)
    started = time.monotonic()
    page.locator("#generate").click()
    wait_for_video(page, timeout=40)
    assert time.monotonic() - started < 30  # the cancelled run no longer holds the engine


def test_a_second_user_sees_the_gpu_busy_and_gets_the_video_after(browser, server, tmp_path, screenshots):
    picture = write_picture(tmp_path / "queue.png", (256, 144))
    first, second = open_page(browser, server.url), open_page(browser, server.url)
    try:
        for tab in (first, second):
            upload(tab, picture)
        open_advanced(first)
        set_number(first, "steps", 200)
        first.locator("#generate").click()
        expect(first.locator("#run-progress")).to_contain_text("Denoising", timeout=60_000)
        expect(second.locator("#status")).to_contain_text("Busy: generating", timeout=5_000)
        expect(second.locator("#status")).not_to_contain_text("ready")  # busy, not "…is ready"
        expect(second.locator("#status")).to_contain_text(" on the CPU")  # what works: the model and where
        second.locator("#generate").click()
        expect(second.locator("#status")).to_contain_text("Busy: generating, 1 waiting", timeout=10_000)
        expect(second.locator("#run-progress")).to_contain_text("queue", timeout=10_000)
        second.screenshot(path=str(screenshots / "second-user-waiting.png"))
        first.locator("#cancel").click()
        wait_for_video(second, timeout=90)
        expect(second.locator("#status")).to_contain_text("Ready")
    finally:
        first.context.close()
        second.context.close()


def test_history_is_a_gallery_to_watch_reuse_and_delete(page, server, tmp_path, screenshots):
    client = Client(server.url, verbose=False)
    portrait = write_picture(tmp_path / "portrait.png", (180, 320))
    _, _, pinned = client.predict(handle_file(str(portrait)), frames=2, steps=1, size="192x192", api_name="/generate")
    _, _, auto = client.predict(handle_file(str(portrait)), frames=2, steps=1, api_name="/generate")
    page.get_by_role("tab", name="History").click()
    tiles = page.locator("#history-gallery button.thumbnail-item")
    expect(tiles.first).to_be_visible()
    assert tiles.count() == len(list_history(server.output_dir))
    expect(tiles.first.locator("img")).to_have_attribute("src", re.compile(re.escape(auto["poster"])))
    page.screenshot(path=str(screenshots / "history-laptop.png"), full_page=True)

    tiles.first.click()  # the newest: the auto-sized one
    wait_for_video(page, elem_id="history-video")
    expect(page.locator("#history-info")).to_contain_text(f"Seed {auto['seed']}")
    page.locator("#history-reuse").click()
    expect(page.locator("#picture img")).to_be_visible()  # the picture is back...
    expect(page.locator("#notice")).to_contain_text("(crop, from 180×320)")
    expect(page.locator("#aspect input[value=auto]")).to_be_checked()  # ...and the size follows the next picture
    upload(page, write_picture(tmp_path / "wide.png", (640, 360)))
    expect(page.locator("#notice")).to_contain_text("The model will see 256×144 (crop, from 640×360)")

    page.get_by_role("tab", name="History").click()
    tiles.nth(1).click()  # the one whose size was chosen by hand
    expect(page.locator("#history-info")).to_contain_text(f"Seed {pinned['seed']}")
    page.locator("#history-reuse").click()
    expect(page.locator("#aspect input[value='192x192']")).to_be_checked()

    page.get_by_role("tab", name="History").click()
    tiles.nth(1).click()
    count = tiles.count()
    page.locator("#history-delete").click()
    expect(page.locator("#history-confirm").first).to_contain_text("Delete this video, its settings, its frames")
    page.locator("#history-keep").click()
    expect(page.locator("#history-confirm").first).to_be_hidden()
    page.locator("#history-delete").click()
    page.locator("#history-really-delete").click()
    expect(tiles).to_have_count(count - 1)
    expect(page.locator("#history-detail")).to_be_hidden()
    named = ("video", "model_frames", "input_picture", "poster")
    gone = [pinned["video"].replace(".mp4", ".json"), *(pinned[key] for key in named)]
    assert [name for name in gone if (server.output_dir / name).exists()] == []
    assert all((server.output_dir / auto[key]).is_file() for key in named)  # the other one stays


def test_history_captions_tell_a_finished_copy_and_a_variation_from_their_source(
    browser, server, tmp_path, screenshots
):
    client = Client(server.url, verbose=False)
    picture = write_picture(tmp_path / "captions.png", (256, 144))
    _, _, first = client.predict(handle_file(str(picture)), frames=2, steps=1, variations=2, api_name="/generate")
    client.predict(first["sidecar"], interpolate=2, loop="boomerang", api_name="/finish")
    for viewport in (LAPTOP, PHONE):
        page = open_page(browser, server.url, viewport=viewport)
        page.get_by_role("tab", name="History").click()
        tiles = page.locator("#history-gallery button.thumbnail-item")
        finished = tiles.filter(has_text="finished ×2, boomerang · variation 1/2 · captions.png")
        expect(finished).to_have_count(1)
        expect(tiles.filter(has_text="variation 2/2 · captions.png · seed")).to_have_count(1)
        if viewport == PHONE:  # what tells them apart comes first, where a phone's short caption still shows it
            finished.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshots / "phone-history-captions.png"))
        page.context.close()


def test_picking_a_model_that_is_not_downloaded_asks_first(page, hub, tiny_model_fp16):
    hub.serve(CATALOGUE["svd"].repo_id, tiny_model_fp16)  # small weights under the catalogue's name
    open_advanced(page)
    for help_text in ("Denoising steps", "How closely the first frames", "Noise added to the picture", "SVD makes"):
        expect(page.get_by_text(help_text)).to_be_visible()  # every advanced control says what it does
    expect(page.get_by_text("Decode chunk")).to_be_hidden()  # GPU settings, hidden on a CPU
    expect(page.get_by_text("Memory", exact=True)).to_be_hidden()
    model = page.locator("#model input")
    model.click()
    page.get_by_role("option", name="SVD (14 frames)").click()
    confirm = page.locator("#model-confirm").first
    asked = re.compile(r"SVD \(14 frames\) is not on this server yet\. Loading it downloads \d+\.\d MB")
    expect(confirm).to_contain_text(asked)
    page.locator("#model-keep").click()
    expect(confirm).to_be_hidden()
    expect(model).to_have_value(re.compile(r"tiny \(this server's model\)"))
    assert health(page.url.rstrip("/"))["model"] == "ready"

    model.click()
    page.get_by_role("option", name="SVD (14 frames)").click()
    page.locator("#model-download").click()
    expect(page.locator("#status")).to_contain_text("svd is ready", timeout=60_000)
    expect(page.locator("#frames input[type=number]")).to_have_value("14")  # the model's own defaults
    model.click()
    page.get_by_role("option", name=re.compile("this server's model")).click()  # on disk: loads at once
    expect(confirm).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("tiny is ready", timeout=60_000)
    expect(page.locator("#frames input[type=number]")).to_have_value("8")


def test_phone_layout_fits_the_screen(browser, server, tmp_path, screenshots):
    phone = open_page(browser, server.url, viewport=PHONE)
    try:
        upload(phone, write_picture(tmp_path / "portrait.png", (360, 640)))
        expect(phone.locator("#notice")).to_contain_text("144×256")
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        picture, generate = phone.locator("#picture").bounding_box(), phone.locator("#generate").bounding_box()
        assert generate["y"] + generate["height"] - picture["y"] <= PHONE["height"]  # within one screen of scrolling
        cut = phone.evaluate(
            """() => [...document.querySelectorAll('label, [data-testid=block-info], [data-testid=block-label]')]
                 .filter((label) => label.offsetParent && label.scrollWidth > label.clientWidth + 1)
                 .map((label) => label.textContent.trim())"""
        )
        assert cut == []
        phone.screenshot(path=str(screenshots / "phone.png"), full_page=True)
        upload(phone, write_picture(tmp_path / "square.png", (400, 400)))  # another picture, and Generate at once:
        phone.locator("#generate").click()  # its camera previews land above the result as the page scrolls to it
        expect(phone.locator("#notice")).to_contain_text("from 400×400")
        expect(phone.locator("#camera-notice")).to_be_hidden(timeout=30_000)  # the orbits' previews, last to come
        assert in_view(phone, "#preview:visible, #video:visible")  # Generate scrolls to the progress, or the video
        wait_for_video(phone)
        phone.get_by_role("tab", name="History").click()
        tiles = phone.locator("#history-gallery button.thumbnail-item")
        expect(tiles.first).to_be_visible()
        assert 2 * tiles.first.bounding_box()["width"] <= PHONE["width"]  # two tiles a row
        phone.screenshot(path=str(screenshots / "phone-history.png"), full_page=True)
    finally:
        phone.context.close()


def test_a_server_not_set_up_yet_says_why_and_what_to_do_and_retries(browser, failing_server, hub, tiny_model_fp16,
                                                                       screenshots):  # fmt: skip
    assert health(failing_server.url)["model"] == "failed"  # alive (a restart would not help)...
    status, ready = readiness(failing_server.url)
    assert (status, ready["model"], ready["output"]) == (503, "failed", "failed")  # ...but not ready
    log = failing_server.log.read_text()
    assert "videos cannot be saved: the output folder" in log and "is not a folder" in log  # said at start-up

    page = open_page(browser, failing_server.url, ready="Model failed")
    try:
        banner = page.locator("#status .banner-failed")
        expect(banner).to_contain_text(f"{GATED_LATER} is gated (HF_TOKEN is not set)")
        expect(banner).to_contain_text(f"Next step: accept its licence at {hub.url}/{GATED_LATER}")
        expect(banner).to_contain_text("set HF_TOKEN to a read token of that account (in a cloud template: its")
        color = banner.evaluate("(element) => getComputedStyle(element).borderLeftColor")
        assert color == "rgb(220, 38, 38)"
        page.screenshot(path=str(screenshots / "model-failed.png"))

        hub.gated.discard(GATED_LATER)  # the renter accepts the licence...
        hub.serve(GATED_LATER, tiny_model_fp16)
        page.locator("#retry").click()  # ...and retries, without a restart
        expect(page.locator("#status")).to_contain_text("Videos cannot be saved", timeout=60_000)
        expect(page.locator("#status")).to_contain_text("is not a folder (a file is in the way)")
        expect(page.locator("#status")).to_contain_text("Next step: choose another output folder")
        assert health(failing_server.url)["model"] == "ready" and readiness(failing_server.url)[0] == 503
        page.screenshot(path=str(screenshots / "output-failed.png"))
        config = page.evaluate("async () => (await fetch('config')).json()")
        assert config["root"].endswith("/studio")  # links work behind a proxy at /studio
    finally:
        page.context.close()


def test_login_page_comes_before_the_app(browser, auth_server, screenshots):
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = context.new_page()
        page.goto(auth_server.url)
        expect(page.get_by_role("button", name="Login")).to_be_visible(timeout=20_000)
        expect(page.get_by_text("After a few wrong passwords, each further try must wait")).to_be_visible()
        assert page.locator("#generate").count() == 0
        page.screenshot(path=str(screenshots / "login.png"))
        page.get_by_label("username").fill("alice")
        page.get_by_label("password").fill("wonderland")
        page.get_by_role("button", name="Login").click()
        expect(page.locator("#generate")).to_be_visible(timeout=20_000)
    finally:
        context.close()
