"""The page follows the chosen model's family, in Chromium at laptop and phone sizes: picking the tiny Wan model
(`wan (local)` in the shared server's models folder) shows the box that describes the motion and hides SVD's own
settings; its video follows the prompt and records it, Reuse brings the prompt back, and the server's SVD model
brings SVD's settings back. Wan's LoRA picker lists the LoRA in the server's loras folder with its family, gives it a
strength slider named after it, and the video records it; Reuse brings it back; SVD hides the picker.

Screenshots go to the test's temporary folder, or to $SVD_SCREENSHOTS when it is set, to be looked at.
"""

from __future__ import annotations

import re

from chromium import PHONE, open_advanced, open_page, upload, wait_for_video
from conftest import SERVED_LORA, write_picture
from playwright.sync_api import Page, expect

from svd.output.history import list_history

PROMPT = "the boat drifts slowly to the left"
NEGATIVE = "blurred, static"
SVD_ONLY = ("#motion", "#noise-aug", "#min-cfg")
"""SVD's own settings (motion, noise augmentation, first-frame guidance): hidden for Wan."""


def pick_model(page: Page, name: str | re.Pattern, ready: str) -> None:
    """Pick a model on disk from the list (it loads at once) and wait until the server says it is ready."""
    page.locator("#model input").click()
    page.get_by_role("option", name=name).click()
    expect(page.locator("#status")).to_contain_text(ready, timeout=60_000)


def pick_lora(page: Page, strength: float) -> None:
    """Choose the server's one LoRA from the picker and set its strength."""
    page.locator("#lora-names input").click()
    page.get_by_role("option", name=f"{SERVED_LORA} · Wan").click()
    slider = page.locator("#lora-strength-0")
    expect(slider).to_be_visible()
    expect(slider).to_contain_text(f"Strength · {SERVED_LORA}")
    slider.locator("input[type=number]").fill(str(strength))
    slider.locator("input[type=number]").press("Enter")
    expect(page.locator("#lora-fit")).to_have_text("")


def shows_wan(page: Page) -> None:
    expect(page.locator("#motion-prompt textarea")).to_be_visible()
    expect(page.locator("#motion-prompt")).to_contain_text(re.compile(r"Wan( and [\w-]+)* follows? it"))
    for selector in SVD_ONLY:
        expect(page.locator(selector)).to_be_hidden()
    expect(page.locator("#max-cfg")).to_contain_text("Guidance")
    expect(page.locator("#max-cfg")).not_to_contain_text("last frame")  # Wan's one guidance value
    expect(page.locator("#model-about")).to_contain_text("Wan · ")
    expect(page.locator("#model-about")).to_contain_text("follows a prompt")
    length = page.locator("#frames input[type=range]")  # Wan takes 1 + a multiple of 4 frames
    expect(length).to_have_attribute("step", "4")
    expect(length).to_have_attribute("min", "5")
    expect(page.locator("#lora-names")).to_be_visible()


def shows_svd(page: Page) -> None:
    for selector in SVD_ONLY:
        expect(page.locator(selector)).to_be_visible()
    expect(page.locator("#motion-prompt")).to_be_hidden()
    expect(page.locator("#motion-negative-prompt")).to_be_hidden()
    expect(page.locator("#max-cfg")).to_contain_text("Guidance, last frame")
    expect(page.locator("#model-about")).to_contain_text("Stable Video Diffusion")
    expect(page.locator("#frames input[type=range]")).to_have_attribute("step", "1")
    expect(page.locator("#lora-names")).to_be_hidden()


def test_wan_shows_its_prompt_and_hides_svd_settings_then_svd_brings_them_back(
    page, browser, server, tmp_path, screenshots
):
    open_advanced(page)
    shows_svd(page)  # the server's own model: SVD
    try:
        pick_model(page, "wan (local)", "wan is ready")
        shows_wan(page)
        page.screenshot(path=str(screenshots / "wan-laptop.png"), full_page=True)

        upload(page, write_picture(tmp_path / "wide.png", (256, 192)))
        page.locator("#motion-prompt textarea").fill(PROMPT)
        page.locator("#motion-negative-prompt textarea").fill(NEGATIVE)
        pick_lora(page, 0.6)
        page.locator("#generate").click()
        wait_for_video(page, timeout=120)
        info = page.locator("#result-info")
        expect(info).to_contain_text(f"prompt {PROMPT}")
        expect(info).not_to_contain_text("motion")  # Wan has no motion bucket
        expect(info).to_contain_text(f"LoRAs {SERVED_LORA} 0.6")
        record = list_history(server.output_dir)[0]
        assert (record["family"], record["prompt"], record["negative_prompt"]) == ("wan", PROMPT, NEGATIVE)
        assert record["motion_bucket_id"] is None and record["noise_aug_strength"] is None
        assert [(lora["name"], lora["source"], lora["strength"]) for lora in record["loras"]] == [
            (SERVED_LORA, "folder", 0.6)
        ]
        page.screenshot(path=str(screenshots / "wan-result-laptop.png"), full_page=True)

        page.locator("#motion-prompt textarea").fill("something else")
        page.locator("#motion-negative-prompt textarea").fill("")
        page.locator("#lora-names").get_by_role("button", name="Remove").first.click()  # the chip's ×
        expect(page.locator("#lora-strength-0")).to_be_hidden()
        page.locator("#reuse").click()
        expect(page.locator("#lora-names")).to_contain_text(SERVED_LORA)
        expect(page.locator("#lora-strength-0 input[type=number]")).to_have_value("0.6")
        expect(page.locator("#motion-prompt textarea")).to_have_value(PROMPT)
        expect(page.locator("#motion-negative-prompt textarea")).to_have_value(NEGATIVE)
        expect(page.locator("#source").get_by_label("Picture")).to_be_checked()  # a picture's video, not text's
        shows_wan(page)

        phone = open_page(browser, server.url, viewport=PHONE, ready="wan is ready")
        try:
            open_advanced(phone)
            pick_model(phone, "flf2v (local)", "flf2v is ready")  # Wan, with a Last frame box beside the picture
            shows_wan(phone)
            phone.locator("#last-frame").scroll_into_view_if_needed()
            expect(phone.locator("#last-frame")).to_be_visible()
            phone.screenshot(path=str(screenshots / "last-frame-phone.png"))
            phone.locator("#motion-prompt").scroll_into_view_if_needed()
            phone.screenshot(path=str(screenshots / "wan-phone.png"))
            phone.screenshot(path=str(screenshots / "wan-phone-full.png"), full_page=True)
            assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        finally:
            phone.context.close()
    finally:
        pick_model(page, re.compile("this server's model"), "tiny is ready")  # the shared server serves SVD again
    shows_svd(page)
    page.screenshot(path=str(screenshots / "svd-laptop.png"), full_page=True)


def test_a_last_frame_beside_the_first_for_a_model_that_ends_on_one(page, server, tmp_path, screenshots):
    """The FLF2V model (`flf2v (local)`) asks for a last frame beside the picture; "Model sees" shows both, fitted
    the same way; the video records it and Reuse brings it back; a model that takes none hides and empties the box."""
    open_advanced(page)
    expect(page.locator("#last-frame")).to_be_hidden()  # SVD takes none
    try:
        pick_model(page, "flf2v (local)", "flf2v is ready")
        box = page.locator("#last-frame")
        expect(box).to_be_visible()
        expect(box).to_contain_text("Last frame ✱")  # needed
        upload(page, write_picture(tmp_path / "first.png", (256, 192)))
        expect(page.locator("#notice")).to_contain_text("The model will see")
        box.locator("input[type=file]").set_input_files(str(write_picture(tmp_path / "end.png", (300, 100))))
        expect(page.locator("#notice")).to_contain_text("ending on the last frame (crop, from 300×100)")
        page.locator("#framed img").scroll_into_view_if_needed()  # it loads lazily
        page.wait_for_function(
            "() => (document.querySelector('#framed img')?.naturalWidth || 0) > 0", timeout=10_000
        )  # fmt: skip
        width, height = page.locator("#framed img").evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
        assert width > 2 * height  # two 64x48 frames side by side
        page.screenshot(path=str(screenshots / "last-frame-laptop.png"), full_page=True)

        page.locator("#generate").click()
        wait_for_video(page, timeout=120)
        record = list_history(server.output_dir)[0]
        assert (record["last_frame_name"], record["model"].rsplit("/", 1)[-1]) == ("end.png", "flf2v")
        assert (server.output_dir / record["last_frame_picture"]).is_file()

        box.locator("button[aria-label='Remove Image']").first.click()
        expect(box.locator("img")).to_have_count(0)
        page.locator("#reuse").click()
        expect(box.locator("img")).to_be_visible()  # brought back from the output folder (the phone: the test above)
    finally:
        pick_model(page, re.compile("this server's model"), "tiny is ready")
    expect(page.locator("#last-frame")).to_be_hidden()
