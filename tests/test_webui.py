"""The WebUI as a running server: its `/generate` API through gradio_client, its status line, and its login."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest
from conftest import REPO_ROOT, TINY_REPO, write_picture
from gradio_client import Client, handle_file
from mp4 import decode
from webui_server import health, start_server


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def test_generate_with_only_a_picture(client, tmp_path):
    picture = write_picture(tmp_path / "wide.png", (640, 360))
    video, frames_zip, record = client.predict(handle_file(str(picture)), api_name="/generate")
    decoded = decode(video)
    assert decoded.frames.shape == (8, 144, 256, 3)  # the tiny model's 8 frames at its 16:9 bucket
    assert (decoded.codec, decoded.pix_fmt, decoded.fps) == ("h264", "yuv420p", 7.0)
    with zipfile.ZipFile(frames_zip) as archive:
        assert archive.namelist() == [f"{index:04d}.png" for index in range(8)]
    assert record["num_frames"] == 8 and record["input_name"] == "wide.png" and 0 <= record["seed"] < 2**32


def test_generate_with_settings(client, tmp_path):
    picture = write_picture(tmp_path / "tall.png", (360, 640))
    video, _, record = client.predict(
        handle_file(str(picture)), frames=5, fps=10, seed=11, steps=2, size="192x192", resize="pad",
        api_name="/generate",
    )  # fmt: skip
    decoded = decode(video)
    assert decoded.frames.shape == (5, 192, 192, 3) and decoded.fps == 10.0
    assert (record["seed"], record["resize"], record["num_inference_steps"]) == (11, "pad", 2)
    again, _, _ = client.predict(
        handle_file(str(picture)), frames=5, fps=10, seed=11, steps=2, size="192x192", resize="pad",
        api_name="/generate",
    )  # fmt: skip
    assert np.array_equal(decode(again).frames, decoded.frames)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (0 bytes)"),
        (b"plain text, not a picture" * 10, "is not a picture that can be read"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "is not a picture that can be read"),
    ],
)
def test_bad_files_get_a_clear_message_and_the_app_keeps_serving(client, server, tmp_path, content, message):
    bad = tmp_path / "upload.png"
    bad.write_bytes(content)
    with pytest.raises(Exception, match=re.escape(message)):
        client.predict(handle_file(str(bad)), api_name="/generate")
    assert health(server.url)["model"] == "ready"


def test_bad_settings_get_a_clear_message(client, tmp_path):
    picture = write_picture(tmp_path / "p.png")
    with pytest.raises(Exception, match="motion 400 is out of range"):
        client.predict(handle_file(str(picture)), motion=400, api_name="/generate")
    with pytest.raises(Exception, match="size 'huge' is not understood"):
        client.predict(handle_file(str(picture)), size="huge", api_name="/generate")


def test_history_lists_past_generations_from_the_output_folder(server):
    sidecars = list((server.log.parent / "outputs").glob("*.json"))
    assert sidecars, "earlier tests generated videos"
    record = json.loads(sidecars[0].read_text())
    assert (server.log.parent / "outputs" / record["video"]).is_file()
    assert (server.log.parent / "outputs" / record["frames"]).is_file()


def test_page_is_up_before_the_model_and_generate_waits_for_the_download(tiny_model_fp16, hub, tmp_path):
    hub.delay = 0.4  # seconds per file, so the download is slow enough to watch
    try:
        server = start_server(tmp_path, SVD_MODEL=TINY_REPO, HF_HOME=str(tmp_path / "hf"))
        try:
            with urllib.request.urlopen(server.url, timeout=5) as page:
                assert page.status == 200
            picture = write_picture(tmp_path / "early.png")
            made = {}
            early = threading.Thread(
                target=lambda: made.update(
                    video=Client(server.url, verbose=False).predict(
                        handle_file(str(picture)), frames=2, steps=1, api_name="/generate"
                    )[0]
                )
            )
            early.start()
            states = set()
            deadline = time.monotonic() + 60
            while "ready" not in states and time.monotonic() < deadline:
                status = health(server.url)
                states.add(status["model"])
                if status["model"] == "downloading":
                    assert "downloading svd-tests/tiny-svd" in status["message"]
                time.sleep(0.05)
            assert {"downloading", "ready"} <= states
            assert "produces noise" in health(server.url)["message"]
            early.join(60)
            assert decode(made["video"]).frames.shape[0] == 2  # asked during the download, made once it was done
            log = server.log.read_text()
            assert "[svd] downloading svd-tests/tiny-svd" in log and "(100%)" in log  # progress in the log too
        finally:
            server.stop()
    finally:
        hub.delay = 0.0


def test_a_model_that_cannot_load_is_reported_and_the_page_still_serves(tmp_path):
    server = start_server(
        tmp_path, SVD_MODEL="svd-xt", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), SVD_ROOT_PATH="/studio"
    )
    try:
        status = server.wait_for_model(states=("failed",))
        assert "is not in the cache" in status["message"]
        picture = write_picture(tmp_path / "p.png")
        with pytest.raises(Exception, match="is not in the cache"):
            Client(server.url, verbose=False).predict(handle_file(str(picture)), api_name="/generate")
        with urllib.request.urlopen(f"{server.url}/config", timeout=5) as config:
            assert json.loads(config.read())["root"].endswith("/studio")  # links work behind a proxy at /studio
    finally:
        server.stop()


def test_login_protects_the_page_and_the_api(tiny_model, tmp_path):
    server = start_server(tmp_path, SVD_MODEL=str(tiny_model), SVD_AUTH="alice:wonderland")
    try:
        for path in ("/config", "/gradio_api/info", "/gradio_api/openapi.json"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{server.url}{path}", timeout=5)
            assert refused.value.code == 401, path
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises a plain error on a refused login)
            Client(server.url, verbose=False)
        with pytest.raises(Exception):  # noqa: B017
            Client(server.url, auth=("alice", "wrong"), verbose=False)
        server.wait_for_model()
        picture = write_picture(tmp_path / "p.png")
        client = Client(server.url, auth=("alice", "wonderland"), verbose=False)
        video, _, _ = client.predict(handle_file(str(picture)), steps=1, frames=2, api_name="/generate")
        assert decode(video).frames.shape[0] == 2
        assert health(server.url)["ok"] is True  # the health check needs no login
    finally:
        server.stop()


def test_bad_login_configuration_stops_at_start_with_one_line():
    result = subprocess.run(
        [sys.executable, "webui.py"],
        cwd=REPO_ROOT,
        env={**os.environ, "SVD_AUTH": "no-colon-here"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: a WebUI login is not of the form user:password")
