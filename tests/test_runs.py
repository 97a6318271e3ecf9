"""Runs that outlive their page or their server: a closed page's run still lands in the History, a queued one is
dropped having cost nothing, and a server killed mid-run lists that run as stopped by a restart and gives its units
back at its next start."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from chromium import LAPTOP, PHONE, in_view, open_advanced, open_page, set_number, upload
from conftest import write_picture
from gradio_client import Client, handle_file
from mounts import tmpfs
from playwright.sync_api import expect
from webui_server import health, start_server

from svd.input.image import load_image
from svd.output.history import list_history, output_file
from svd.request import GenerationSettings
from svd.serve.quota import DailyQuota
from svd.serve.runs import RunJournal, RunsInFlight


def wait_until(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise TimeoutError(f"not so after {timeout} s")


def test_a_closed_pages_run_finishes_and_a_queued_one_is_dropped_having_cost_nothing(
    browser, server, tmp_path, screenshots
):
    client = Client(server.url, verbose=False)
    before = {record["sidecar"] for record in list_history(server.output_dir)}
    page = open_page(browser, server.url)
    upload(page, write_picture(tmp_path / "closed.png", (256, 144)))
    open_advanced(page)
    set_number(page, "steps", 40)  # long enough to outlast the page closed and another one queued and closed
    page.locator("#generate").click()
    wait_until(lambda: health(server.url)["busy"] == 1)
    page.context.close()  # the laptop lid closes mid-run
    queued_page = open_page(browser, server.url, viewport=PHONE, ready="Busy")  # the page opened again, on a phone
    still_going = queued_page.locator("#still-going")
    expect(still_going).to_contain_text("Still being made from another page: closed.png (denoising, step")
    queued_page.screenshot(path=str(screenshots / "still-going-390.png"))
    upload(queued_page, write_picture(tmp_path / "queued.png", (256, 144)))
    queued_page.locator("#generate").click()  # behind the closed page's run
    time.sleep(1)
    queued_page.context.close()
    wait_until(lambda: health(server.url)["busy"] == 0, timeout=120)
    client.predict(handle_file(str(write_picture(tmp_path / "after.png", (256, 144)))), frames=2, steps=1,
                   api_name="/generate")  # fmt: skip
    made = [record for record in list_history(server.output_dir) if record["sidecar"] not in before]
    assert sorted(record["input_name"] for record in made) == ["after.png", "closed.png"]


def test_a_server_killed_mid_run_lists_it_as_stopped_and_gives_its_units_back(
    tiny_model, tmp_path, browser, screenshots
):
    folder = tmp_path / "restart"
    folder.mkdir()
    env = dict(SVD_MODEL=str(tiny_model), SVD_AUTH="erin:eels", SVD_DAILY_QUOTA="20",
               SVD_QUOTA_DB=str(folder / "quota.sqlite"), SVD_MAX_WORK="1000")  # fmt: skip
    quota = DailyQuota(folder / "quota.sqlite", limit=20)
    server = start_server(folder, **env)
    try:
        server.wait_for_model()
        erin = Client(server.url, auth=("erin", "eels"), verbose=False)
        picture = write_picture(tmp_path / "lost.png", (256, 144))
        erin.submit(handle_file(str(picture)), frames=2, steps=200, api_name="/generate")  # minutes on the CPU
        wait_until(lambda: health(server.url)["busy"] == 1)
        assert quota.left("erin") < 20  # paid before it started
        os.killpg(server.process.pid, signal.SIGKILL)  # the machine goes, mid-run
        server.process.wait()
    finally:
        server.stop()
    assert list_history(server.output_dir) == []

    again = start_server(folder, **env)
    try:
        [stopped] = list_history(again.output_dir, "erin")
        assert stopped["stopped"] == "stopped by a restart" and stopped["video"] is None
        assert (stopped["owner"], stopped["input_name"], stopped["num_inference_steps"]) == ("erin", "lost.png", 200)
        kept = output_file(again.output_dir, stopped, "input_picture")
        assert kept is not None and kept.read_bytes() == picture.read_bytes()  # Reuse can make it again
        assert quota.left("erin") == 20
        assert f"{stopped['sidecar'].removesuffix('.json')} was stopped by a restart" in again.log.read_text()
        assert not list((again.output_dir / ".runs").iterdir())
        again.wait_for_model()
        for viewport in (PHONE, LAPTOP):
            shown_in_the_history(browser, again.url, viewport, screenshots / f"stopped-{viewport['width']}.png")
        erin = Client(again.url, auth=("erin", "eels"), verbose=False)
        erin.predict(handle_file(str(picture)), frames=2, steps=1, api_name="/generate")  # a run that ends
        assert len(list_history(again.output_dir, "erin")) == 2 and not list((again.output_dir / ".runs").iterdir())
    finally:
        again.stop()


def shown_in_the_history(browser, url: str, viewport: dict, screenshot) -> None:
    """The stopped run in erin's History: a tile that says so, its settings with no video to play, download or
    finish, and Reuse, which puts its picture and its settings back."""
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_label("username").fill("erin")
        page.get_by_label("password").fill("eels")
        page.get_by_role("button", name="Login").click()
        page.get_by_role("tab", name="History").click()
        tile = page.locator("#history-gallery button.thumbnail-item").filter(
            has_text="stopped by a restart · lost.png"
        )
        tile.click()
        info = page.locator("#history-info")
        expect(info).to_contain_text("Stopped by a restart: nothing was made, and what it cost was given back")
        expect(info).to_contain_text("200 steps")
        expect(page.locator("#history-download")).to_be_hidden()
        expect(page.locator("#history-finish")).to_be_hidden()
        assert in_view(page, "#history-info")  # on a phone too: it opens where it can be read
        page.screenshot(path=str(screenshot), full_page=True)
        page.locator("#history-reuse").click()
        expect(page.locator("#picture img")).to_be_visible()
        open_advanced(page)
        expect(page.locator("#steps input[type=number]")).to_have_value("200")
    finally:
        context.close()


def test_runs_left_in_a_folder_that_turned_read_only_stay_until_it_can_be_written(tmp_path):
    """The start does not fail on them, gives nothing back twice, and the next start that can write lists them."""
    quota = DailyQuota(tmp_path / "quota.sqlite", limit=20)
    taken = quota.take("erin", 3)
    picture = load_image(write_picture(tmp_path / "lost.png", (96, 64)))
    with tmpfs(tmp_path / "outputs", size_kb=1024) as outputs:
        journal = RunJournal(outputs)
        settings = GenerationSettings(
            model="tiny", seed=1, width=64, height=48, num_frames=2, fps=7, motion_bucket_id=127,
            noise_aug_strength=0.02, num_inference_steps=2, min_guidance_scale=1.0, max_guidance_scale=3.0,
            decode_chunk_size=2, memory_profile="cpu", resize="crop", size_choice="auto",
        )  # fmt: skip
        run = journal.running(settings, picture, "erin", taken)
        run.__enter__()  # the server stops inside the run (the block is never left)
        subprocess.run(["mount", "-o", "remount,ro", str(outputs)], check=True)
        assert journal.recover(quota) == [] and quota.left("erin") == 17
        subprocess.run(["mount", "-o", "remount,rw", str(outputs)], check=True)
        [sidecar] = journal.recover(quota)
        assert quota.left("erin") == 20 and list_history(outputs)[0]["sidecar"] == sidecar.name
        assert journal.recover(quota) == [] and quota.left("erin") == 20


def test_runs_still_going_are_shown_to_their_own_user_and_on_other_pages_only():
    runs = RunsInFlight()
    with runs.going("alice", "page-1", "a.png", 7), runs.going("bob", "page-2", "b.png", 7):
        assert [run.name for run in runs.of("alice", "page-3")] == ["a.png"]  # never bob's, with logins
        assert runs.of("alice", "page-1") == []  # the page that started it shows it itself
        assert [run.name for run in runs.of(None, "page-3")] == ["a.png", "b.png"]  # without logins: one user
    assert runs.of(None, None) == []
