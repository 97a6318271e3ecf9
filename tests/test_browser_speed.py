"""Variations and Turbo as a person uses them, in Chromium: a grid of variations to pick from, each with its seed;
and the Turbo model picked from the list, which says what it is and brings its own steps and guidance.

Screenshots go to the test's temporary folder, or to $SVD_SCREENSHOTS when it is set, to be looked at.
"""

from __future__ import annotations

import re

from chromium import open_advanced, set_number, upload, wait_for_video
from conftest import write_picture
from playwright.sync_api import expect

from svd.output.history import list_history

DUPLICATE_IDS = """() => {
    const ids = [...document.querySelectorAll("[id]")].map((element) => element.id).filter(Boolean);
    return ids.filter((id, index) => ids.indexOf(id) !== index);
}"""


def test_variations_show_as_a_grid_and_the_one_picked_is_the_result(page, server, tmp_path, screenshots):
    upload(page, write_picture(tmp_path / "wide.png", (640, 360)))
    set_number(page, "frames", 2)
    set_number(page, "seed", 500)
    set_number(page, "variations-count", 3)
    open_advanced(page)
    set_number(page, "steps", 1)
    page.locator("#generate").click()
    wait_for_video(page, timeout=120)
    tiles = page.locator("#variations button.thumbnail-item")
    expect(tiles).to_have_count(3)
    assert page.evaluate(DUPLICATE_IDS) == []  # one element per id: a test or a script finds the one it means
    for index in range(3):
        expect(tiles.nth(index)).to_contain_text(f"Seed {500 + index}")
    expect(page.locator("#result-info")).to_contain_text("Seed 500")
    frames = page.get_by_role("button", name="Download the model's frames (PNG zip)")
    expect(frames).to_be_visible()  # once its zip is written
    assert {record["seed"] for record in list_history(server.output_dir)} >= {500, 501, 502}
    page.screenshot(path=str(screenshots / "variations-laptop.png"), full_page=True)

    before = page.locator("#video video").get_attribute("src")
    tiles.nth(1).click()
    expect(page.locator("#result-info")).to_contain_text("Seed 501")
    expect(page.locator("#video video")).not_to_have_attribute("src", before)
    set_number(page, "seed", -1)
    page.locator("#last-seed").click()
    expect(page.locator("#seed input")).to_have_value("501")  # the one picked is the last video


def test_turbo_is_picked_from_the_list_and_brings_its_steps_and_guidance(page, turbo_hub, tmp_path):
    model = page.locator("#model input")
    open_advanced(page)
    model.click()
    page.get_by_role("option", name="SVD-XT Turbo (AnimateLCM, 4 steps)").click()
    expect(page.locator("#model-confirm").first).to_contain_text(re.compile(r"Loading it downloads \d+\.\d MB"))
    page.locator("#model-download").click()
    expect(page.locator("#status")).to_contain_text("svd-xt-turbo is ready", timeout=60_000)
    expect(page.locator("#status")).to_contain_text("Turbo: 4 steps without guidance")
    expect(page.locator("#steps input[type=number]")).to_have_value("4")
    expect(page.locator("#max-cfg input[type=number]")).to_have_value("1")
    expect(page.get_by_text("Turbo and the 4-step entries take 4 steps without guidance")).to_be_visible()  # help

    upload(page, write_picture(tmp_path / "wide.png", (640, 360)))
    page.locator("#aspect").get_by_label("More…").check()
    page.locator("#more-size input").click()
    page.get_by_role("option", name="Custom size").click()
    set_number(page, "width", 256)
    set_number(page, "height", 128)
    set_number(page, "frames", 2)
    page.locator("#generate").click()
    wait_for_video(page, timeout=120)
    expect(page.locator("#result-info")).to_contain_text("4 steps · guidance 1→1")
    expect(page.locator("#result-info")).to_contain_text("model svd-xt-turbo")

    model.click()
    page.get_by_role("option", name=re.compile("this server's model")).click()
    expect(page.locator("#status")).to_contain_text("tiny is ready", timeout=60_000)
