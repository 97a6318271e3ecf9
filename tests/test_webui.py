"""The WebUI as a running server: its `/generate` API through gradio_client and plain HTTP, its health and
readiness checks, its login, and what it does with bad input, full disks and leftovers."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

import numpy as np
import pytest
from conftest import REPO_ROOT, TINY_REPO, run_svd_here, write_picture
from gradio_client import Client, handle_file
from mounts import fill, read_only, tmpfs
from mp4 import decode
from refusals import refused
from webui_server import health, readiness, start_server

import webui
from svd.camera.moves import MOVES
from svd.output.history import list_history


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    return write_picture(tmp_path_factory.mktemp("api") / "p.png")


def test_generate_with_only_a_picture_keeps_the_picture_and_records_the_cpu(client, server, tmp_path):
    picture = write_picture(tmp_path / "wide.png", (640, 360))
    video, frames_zip, record = client.predict(handle_file(str(picture)), api_name="/generate")
    decoded = decode(video)
    assert decoded.frames.shape == (8, 144, 256, 3)  # the tiny model's 8 frames at its 16:9 bucket
    assert (decoded.codec, decoded.pix_fmt, decoded.fps) == ("h264", "yuv420p", 7.0)
    with zipfile.ZipFile(frames_zip) as archive:
        assert archive.namelist() == [f"{index:04d}.png" for index in range(8)]
    assert record["num_frames"] == 8 and record["input_name"] == "wide.png" and 0 <= record["seed"] < 2**32
    assert record["memory_profile"] == "cpu" and record["size_choice"] == "auto"
    assert (server.output_dir / record["input_picture"]).read_bytes() == picture.read_bytes()


def test_generate_with_settings_is_repeatable(client, tmp_path):
    picture = write_picture(tmp_path / "tall.png", (360, 640))
    settings = dict(frames=5, fps=10, seed=11, steps=2, size="192x192", resize="pad", api_name="/generate")
    video, _, record = client.predict(handle_file(str(picture)), **settings)
    decoded = decode(video)
    assert decoded.frames.shape == (5, 192, 192, 3) and decoded.fps == 10.0
    assert (record["seed"], record["resize"], record["num_inference_steps"], record["size_choice"]) == (
        11, "pad", 2, "192x192",
    )  # fmt: skip
    again, _, _ = client.predict(handle_file(str(picture)), **settings)
    assert np.array_equal(decode(again).frames, decoded.frames)


def test_a_name_with_dots_is_saved_once_and_found_by_the_history(client, server, tmp_path):
    picture = write_picture(tmp_path / "my.photo.v2.png", (256, 144))
    video, _, record = client.predict(handle_file(str(picture)), frames=2, steps=1, api_name="/generate")
    assert record["video"].endswith("-my_photo_v2.mp4")
    listed = next(entry for entry in list_history(server.output_dir) if entry["video"] == record["video"])
    assert listed["sidecar"] == record["video"].replace(".mp4", ".json")
    assert np.array_equal(decode(server.output_dir / listed["video"]).frames, decode(video).frames)


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
    assert message in refused(client, handle_file(str(bad)))
    assert health(server.url)["model"] == "ready"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(motion=400), "motion 400 is out of range: use a value from 1 to 255"),
        (dict(size="huge"), "size 'huge' is not understood: use auto or WIDTHxHEIGHT"),
        (dict(size="5000x144"), "size 5000x144 is too large: use auto or at most 512 px a side and 58,982 pixels"),
        (dict(size="8192x8192"), "size 8192x8192 is too large"),
        (dict(seed=-5), "seed -5 is out of range: use a value from 0 to 4294967295, or -1 for a random one"),
        (dict(seed=2**32), "seed 4294967296 is out of range: use a value from 0 to 4294967295"),
        (dict(seed=10**40), "seed 1000… (41 digits) is out of range"),
        (dict(frames="abc"), "frames must be a whole number, not 'abc'"),
        (dict(steps=2.5), "steps must be a whole number, not 2.5"),
        (dict(noise_aug="lots"), "noise_aug must be a number, not 'lots'"),
        (dict(size=[256, 144]), "size must be text, not [256, 144]"),
        (dict(resize="zoom"), "resize must be one of crop, pad, stretch, not 'zoom'"),
        (dict(memory=None), "memory must be one of auto, full, balanced, low, not None"),
        (
            dict(camera="spin"),
            "camera must be one of none, locked, pan-left, pan-right, tilt-up, tilt-down, zoom-in, zoom-out, "
            "orbit-left, orbit-right, shake, not 'spin'",
        ),
        (dict(camera="zoom-in", camera_strength=2), "camera strength 2 is out of range: use a value from 0 to 1"),
        (dict(camera="zoom-in", camera_amount=5), "camera amount 5 is out of range: use a value from 0.1 to 3"),
        (dict(camera_amount="far"), "camera_amount must be a number, not 'far'"),
    ],
)
def test_bad_values_get_one_line_that_names_them(client, picture, settings, message):
    assert refused(client, handle_file(str(picture)), **settings).startswith(message)


def test_a_picture_that_is_not_a_file_or_is_missing_is_named(client, server, picture):
    offset = len(server.log.read_text())
    message = refused(client, str(picture))
    assert message.startswith("picture must be a file, not '/") and "with gradio_client pass handle_file(" in message
    assert refused(client, None).startswith("add a picture first")
    logged = server.log_since(offset)
    assert "Traceback" not in logged and "[svd] not generated: add a picture first" in logged


def post_call(url: str, data) -> str:
    """A plain HTTP call of `/generate` (no gradio_client); returns the event stream's text."""
    body = json.dumps({"data": data}).encode()
    request = urllib.request.Request(f"{url}/gradio_api/call/generate", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/generate/{event_id}", timeout=120) as stream:
        return stream.read().decode()


def test_plain_http_calls_with_too_few_values_get_the_defaults(server, picture):
    assert '"error": "add a picture first' in post_call(server.url, [])
    assert '"error": "picture must be a file, not \'x\'' in post_call(server.url, ["x", 1])
    with open(picture, "rb") as file:
        form = _multipart("files", picture.name, file.read())
    request = urllib.request.Request(f"{server.url}/gradio_api/upload", form[1], {"Content-Type": form[0]})
    with urllib.request.urlopen(request, timeout=10) as response:
        path = json.loads(response.read())[0]
    picture_data = {"path": path, "meta": {"_type": "gradio.FileData"}}
    done = post_call(server.url, [picture_data, 127, 2, 7, 3, "auto", "crop", 1])
    assert "event: complete" in done and '"seed": 3' in done


def _multipart(field: str, name: str, content: bytes) -> tuple[str, bytes]:
    boundary = "svd-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


def test_a_failed_request_for_another_model_leaves_the_loaded_one_ready(client, server, picture):
    before = health(server.url)
    assert before["model"] == "ready"
    message = refused(client, handle_file(str(picture)), model="svd-xt-1.1")
    assert message.startswith("stabilityai/stable-video-diffusion-img2vid-xt-1-1 was not found on the Hub")
    assert health(server.url) == before and readiness(server.url)[0] == 200
    video, _, _ = client.predict(handle_file(str(picture)), frames=2, steps=1, api_name="/generate")
    assert decode(video).frames.shape[0] == 2


def test_model_folders_outside_the_models_folder_get_one_message_whether_they_exist_or_not(client, picture):
    messages = {path: refused(client, handle_file(str(picture)), model=path) for path in ("/etc", "/nonexistent")}
    assert messages["/etc"].replace("/etc", "X") == messages["/nonexistent"].replace("/nonexistent", "X")
    assert messages["/etc"].startswith("model '/etc' is not available here: use one of svd, svd-xt, svd-xt-1.1")


def test_view_api_describes_every_parameter_with_its_choices_and_names_the_returns(client):
    shown = api_description(client)
    assert "-> (video, frames_zip, settings)" in shown
    parameters = re.findall(r"- \[Api\] (\w+): (.*)", shown.split("Returns:")[0])
    assert [name for name, _ in parameters] == [
        "picture", "motion", "frames", "fps", "seed", "size", "resize", "steps", "min_cfg", "max_cfg", "noise_aug",
        "decode_chunk", "memory", "model", "camera", "camera_strength", "camera_amount", "extend", "interpolate",
        "upscale", "loop", "formats", "variations", "prompt", "negative_prompt", "last_frame", "loras",
    ]  # fmt: skip
    assert all(line.rstrip().endswith(")") and " (" in line for _, line in parameters)  # each has a description
    described = dict(parameters)
    assert described["size"].startswith("Literal['auto', '256x144', '144x256', '192x192'")
    assert described["resize"].startswith("Literal['crop', 'pad', 'stretch']")
    assert described["memory"].startswith("Literal['auto', 'full', 'balanced', 'low']")
    assert described["camera"].startswith(f"Literal[{', '.join(repr(name) for name in MOVES)}] (not required")
    assert described["camera_strength"].startswith("float | None (not required, defaults to:   None)")
    assert described["upscale"].startswith("Literal['none', '2', '4', '1080p', '4k'] (not required")
    assert described["interpolate"].startswith("int (not required, defaults to:   1)  (1 (none), 2, 3 or 4")
    assert "video: filepath (the MP4" in shown and "settings: dict(str, Any) (every setting used" in shown
    assert "Any \n" not in shown


def api_description(client) -> str:
    """What `client.view_api()` prints for `/generate`."""
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        client.view_api()
    return printed.getvalue()


def test_the_api_page_shows_the_current_api_description(failing_server):
    """docs/api.md shows what a server of SVD-XT describes (the failing server states SVD-XT's defaults)."""
    client = Client(failing_server.url, verbose=False)
    page = (REPO_ROOT / "docs" / "api.md").read_text()
    block = re.search(r"```text\n(Client\.predict\(\) Usage Info.*?)```", page, re.DOTALL)
    assert block, "docs/api.md shows view_api() output"
    normalise = lambda text: re.sub(r"\s+", " ", text).strip()  # noqa: E731
    assert normalise(block[1]) == normalise(api_description(client))


def test_uploads_over_the_limit_are_refused(server, tmp_path):
    big = tmp_path / "big.png"
    with big.open("wb") as file:
        file.truncate(51 * 1024 * 1024)  # one MB over the default limit of 50
    form = _multipart("files", big.name, big.read_bytes())
    request = urllib.request.Request(f"{server.url}/gradio_api/upload", form[1], {"Content-Type": form[0]})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413


def test_a_full_disk_is_said_before_any_work_and_the_server_recovers(client, server, picture):
    with tmpfs(server.output_dir, size_kb=70 * 1024):  # a small disk over the output folder
        filler = fill(server.output_dir, leave_bytes=1024 * 1024)
        started = time.monotonic()
        message = refused(client, handle_file(str(picture)), frames=2, steps=1)
        assert message.startswith("the disk is full: free space in the output folder (this needs about")
        assert str(server.output_dir) not in message
        assert time.monotonic() - started < 10  # refused before any GPU work
        status, ready = readiness(server.url)
        assert (status, ready["output"], ready["model"]) == (503, "failed", "ready")
        assert sorted(path.name for path in server.output_dir.iterdir()) == ["filler.bin"]  # nothing half-written
        filler.unlink()
        video, _, record = client.predict(handle_file(str(picture)), frames=2, steps=1, api_name="/generate")
        assert decode(video).frames.shape[0] == 2 and (server.output_dir / record["video"]).is_file()
        assert readiness(server.url)[0] == 200


def test_a_read_only_output_folder_is_said_before_any_work(client, server, picture):
    with read_only(server.output_dir):
        message = refused(client, handle_file(str(picture)), frames=2, steps=1)
        assert message.startswith("the output folder cannot be written (Read-only file system)")
        assert readiness(server.url)[0] == 503
    assert readiness(server.url)[0] == 200


def test_page_is_up_before_the_model_and_generate_waits_for_the_download(tiny_model_fp16, hub, tmp_path):
    hub.delay = 1.0  # seconds per file, so the download is slow enough to watch (the page starts in about as long)
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
                    assert readiness(server.url)[0] == 503
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


def test_what_a_killed_server_left_is_cleaned_at_start(auth_server):
    left = {".old.0a1b2c3d.partial.mp4", ".old.0a1b2c3d.partial.zip", ".new.4e5f6a7b.partial.mp4"}
    left.add("20261205-101500-lost.mp4")
    assert not left & {path.name for path in auth_server.output_dir.iterdir()}  # however fresh: no one else writes
    log = auth_server.log.read_text()
    assert all(f"removed {name}, left half-written by an earlier run" in log for name in left)


def test_anonymous_callers_learn_states_only(auth_server, tiny_model):
    for path in ("/config", "/gradio_api/info", "/gradio_api/openapi.json"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{auth_server.url}{path}", timeout=5)
        assert refused.value.code == 401, path
    with urllib.request.urlopen(auth_server.url, timeout=5) as page:
        login_page = page.read().decode()
    assert "gradio_api_info" in login_page  # Gradio shows the API's description before the login...
    assert str(tiny_model) not in login_page and str(tiny_model.parent) not in login_page  # ...with no paths in it
    states = {"ok": True, "ready": True, "model": "ready", "output": "ok", "gpus": 1, "busy": 0}
    assert health(auth_server.url) == states
    assert readiness(auth_server.url) == (200, states)


def test_login_protects_the_api(auth_server, tmp_path):
    with pytest.raises(Exception):  # noqa: B017 (gradio_client raises a plain error on a refused login)
        Client(auth_server.url, verbose=False)
    picture = write_picture(tmp_path / "p.png")
    client = Client(auth_server.url, auth=("alice", "wonderland"), verbose=False)
    video, _, _ = client.predict(handle_file(str(picture)), steps=1, frames=2, api_name="/generate")
    assert decode(video).frames.shape[0] == 2


def login(url: str, password: str, user: str = "alice") -> tuple[int, str]:
    body = urllib.parse.urlencode({"username": user, "password": password}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/login", body), timeout=5) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After") or ""


def test_repeated_failed_logins_are_slowed_down(auth_server):
    """The last test on the login server: it leaves this client's count at zero again."""
    answers = [login(auth_server.url, f"guess-{attempt}") for attempt in range(12)]
    assert [code for code, _ in answers[:5]] == [400] * 5
    assert {code for code, _ in answers[5:]} == {429}  # instead of 12 tries in a blink, 5
    wait = int(answers[5][1])
    assert 1 <= wait <= 2
    time.sleep(wait + 0.1)
    assert login(auth_server.url, "wrong again")[0] == 400  # one more try after the wait...
    assert login(auth_server.url, "wonderland")[0] == 429  # ...then a longer wait, even for the right password
    time.sleep(2.1)
    assert login(auth_server.url, "wonderland") == (200, "")
    assert login(auth_server.url, "typo")[0] == 400  # a good login clears the count


def test_a_good_login_as_one_user_buys_no_guesses_at_another(auth_server):
    """After the test above (the last ones on the login server): failures are counted per name and per address."""
    assert [login(auth_server.url, "guess", "bob")[0] for _ in range(4)] == [400] * 4
    assert login(auth_server.url, "wonderland")[0] == 200  # a good login as alice, from the same address
    assert login(auth_server.url, "guess", "bob")[0] == 400  # bob's fifth failure
    assert login(auth_server.url, "wonderland")[0] == 200
    assert login(auth_server.url, "guess", "bob")[0] == 429  # bob must wait: alice's logins cleared none of his
    assert login(auth_server.url, "wonderland")[0] == 200  # alice's own count is clear
    codes = [login(auth_server.url, "guess", f"name-{index}")[0] for index in range(30)]
    assert 400 in codes and codes[-1] == 429  # one address with many names is slowed down too
    assert login(auth_server.url, "wonderland")[0] == 429


def test_bad_login_configuration_stops_at_start_with_one_line(monkeypatch, capsys):
    """What `python webui.py` does, run here without an interpreter's start-up (its signal handlers put back)."""
    monkeypatch.setenv("SVD_AUTH", "no-colon-here")
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        code, _, errors = run_svd_here(capsys, main=webui.main)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert code == 2
    assert errors.strip().splitlines()[-1].startswith("error: a WebUI login is not of the form user:password")
