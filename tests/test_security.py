"""Attacks on the running server, as a hostile caller makes them: paths to the server's own files, names that climb
out of the models folder or make it download, words no file name can hold, text that is not text, numbers too long
to read, sidecars that lie, and all of it while the GPU is busy."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import write_picture
from gradio_client import Client, handle_file
from refusals import refused, refused_at_once

from svd.output.history import list_history

NOT_RECEIVED = "the picture must be a file uploaded to this server: with gradio_client pass handle_file('photo.jpg')"


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def post(url: str, path: str, payload: dict) -> tuple[int, dict]:
    """A plain HTTP POST of JSON: its status and its JSON answer."""
    body, headers = json.dumps(payload).encode(), {"Content-Type": "application/json"}
    request = urllib.request.Request(f"{url}{path}", body, headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_no_path_but_an_upload_is_read_and_every_other_gets_one_message(server, tmp_path):
    """The picture of `/generate` (and of the page's own events) names a file on the server: only files it received
    are read. Before, a path with no FileData marker was read, and copied to the output folder for download."""
    secret = write_picture(tmp_path / "secret.png")
    (tmp_path / "words.txt").write_text("not a picture")
    probes = [str(secret), str(tmp_path / "missing.png"), str(tmp_path), str(tmp_path / "words.txt"), "README.md",
              "../../../etc/hostname", f"{secret}\0.png", "http://127.0.0.1:1/x.png"]  # fmt: skip
    pictures = [{"path": probe} for probe in probes] + [
        {"path": probe, "meta": {"_type": "gradio.FileData"}} for probe in probes
    ]
    before = {path.name for path in server.output_dir.iterdir()}
    answers = {(status, body["detail"]) for status, body in (
        post(server.url, "/gradio_api/call/generate", {"data": [picture]}) for picture in pictures
    )}  # fmt: skip
    assert len(answers) == 1 and next(iter(answers))[0] == 400
    assert next(iter(answers))[1].startswith(NOT_RECEIVED)
    queued = {"data": [{"path": str(secret)}], "fn_index": 0, "session_hash": "probe"}  # any event, the page's too
    assert post(server.url, "/gradio_api/queue/join", queued)[1]["detail"].startswith(NOT_RECEIVED)
    named = {"picture": {"path": str(secret), "meta": {"_type": "gradio.FileData"}}}  # values by name
    assert post(server.url, "/gradio_api/call/v2/generate", named)[1]["detail"].startswith(NOT_RECEIVED)
    uploaded = {"path": str(upload(server.url, "p.png", secret.read_bytes())), "meta": {"_type": "gradio.FileData"}}
    for probe in (str(secret), "../../../etc/hostname"):  # a last frame is read from the uploads only, as the picture
        ends = {"picture": uploaded, "last_frame": {"path": probe, "meta": {"_type": "gradio.FileData"}}}
        status, answer = post(server.url, "/gradio_api/call/v2/generate", ends)
        assert status == 400 and answer["detail"].startswith(NOT_RECEIVED), answer
    both = {"picture": uploaded, "last_frame": uploaded}  # the same call with an uploaded last frame is taken
    assert post(server.url, "/gradio_api/call/v2/generate", both)[0] == 200
    assert {path.name for path in server.output_dir.iterdir()} == before


def test_bad_names_are_refused_at_once_in_one_message_while_the_gpu_is_busy(client, server, tmp_path):
    picture = handle_file(str(write_picture(tmp_path / "p.png")))
    busy = client.submit(picture, steps=200, api_name="/generate")  # minutes on two cores
    try:
        while busy.status().code.name != "PROCESSING":
            time.sleep(0.05)
        names = ["..", "../models", "/etc", "/nonexistent", "owner/..", "x" * 256, "owner/name", "svd-tests/tiny-svd"]
        started = time.monotonic()
        messages = {name: refused_at_once(client, "model", picture, model=name) for name in names}
        assert time.monotonic() - started < 10  # none waited for the GPU
        ids = "svd, svd-xt, svd-xt-1.1, svd-xt-turbo, svd-xt-1.1-turbo, wan2.2-ti2v-5b, wan2.1-i2v-14b-480p, "
        ids += "wan2.1-i2v-14b-720p, wan2.1-i2v-14b-480p-fast, wan2.1-flf2v-14b-720p, wan2.2-i2v-a14b, "
        ids += "wan2.2-i2v-a14b-fast, ltx-0.9.8-13b-distilled, "
        advice = f"use one of {ids}ltx-0.9.8-2b-distilled or the name of a folder in the "
        for name, message in messages.items():  # the same whether a path exists or not; no Hub download allowed
            shown = name if len(name) <= 60 else name[:57] + "..."
            assert message == f"model '{shown}' is not available here: {advice}server's models folder"
        message = refused_at_once(client, "t2i_model", "a cat", t2i_model="..", api_name="/first_frames")
        assert message.startswith("text-to-image model '..' is not available here")
    finally:
        busy.cancel()


def test_long_words_in_a_prompt_make_bounded_file_names(client, server):
    japanese = "夕暮れの海辺に立つ灯台と飛び交うカモメたちの静かな風景を描いた美しい水彩画" * 3  # one word
    link = "https://example.com/" + "very-long-path-segment/" * 12 + "picture.png"  # 300 characters
    for prompt in (japanese, link):
        pictures, _ = client.predict(prompt, count=1, api_name="/first_frames")
        name = os.path.basename(pictures[0])
        assert len(name.encode()) <= 100, name
    video, _, record = client.predict(link, frames=2, steps=1, api_name="/text_to_video")
    assert record["prompt"] == link and len(record["first_frame"].encode()) < 160
    assert os.path.getsize(video) > 0


def test_a_long_name_for_an_upload_makes_a_bounded_one(server, tmp_path):
    """The picture's own name comes from the caller (`orig_name`): any length, any script."""
    path = upload(server.url, "p.png", write_picture(tmp_path / "p.png").read_bytes())
    picture = {"path": str(path), "orig_name": "夕暮れの灯台" * 50 + ".png", "meta": {"_type": "gradio.FileData"}}
    status, answer = post(
        server.url, "/gradio_api/call/generate", {"data": [picture, 127, 2, 7, 1, "auto", "crop", 1]}
    )
    done = event_stream(server.url, answer)
    assert status == 200 and "event: complete" in done
    record = json.loads(done.split("data: ", 2)[-1])[2]
    assert record["input_name"].startswith("夕暮れの灯台") and len(record["video"].encode()) <= 120


def test_calls_and_logins_too_large_to_mean_anything_are_refused_before_they_are_read(server):
    huge = {"data": ["x" * (2 * 1024**2)]}
    assert post(server.url, "/gradio_api/call/first_frames", huge) == (
        413,
        {"detail": "the call is larger than 1 MB: send its values only"},
    )
    body = b"username=alice&password=" + b"x" * (32 * 1024)
    request = urllib.request.Request(f"{server.url}/login", body)
    with pytest.raises(urllib.error.HTTPError) as refused_login:
        urllib.request.urlopen(request, timeout=10)
    assert refused_login.value.code == 413


def test_text_no_person_typed_is_refused_at_once(client, server, tmp_path):
    picture = handle_file(str(write_picture(tmp_path / "p.png")))
    status, answer = post(server.url, "/gradio_api/call/text_to_video", {"data": ["a lone \ud800 surrogate"]})
    assert status == 422  # JSON carries what no client library sends: the half of a character
    assert [(item["parameter_name"], item["message"]) for item in answer["detail"] if not item["is_valid"]] == [
        ("prompt", "prompt holds U+D800, which is not a character: send it as UTF-8 text")
    ]
    message = refused_at_once(client, "prompt", "x" * 2001, api_name="/first_frames")
    assert message == "prompt is 2,001 characters long: use at most 2,000"
    message = refused_at_once(client, "size", picture, size="1" * 5000 + "x100")
    assert message == "size is 5,004 characters long: use at most 2,000"
    message = refused_at_once(client, "size", picture, size="1" * 1500 + "x100")  # a size too long to mean one
    assert message == f"size '{'1' * 40}' is not understood: use auto or WIDTHxHEIGHT, for example 1024x576"


def test_sidecars_that_lie_are_refused_and_left_out_of_the_history(client, server, tmp_path):
    outputs = server.output_dir
    made = client.predict(handle_file(str(write_picture(tmp_path / "p.png"))), frames=2, steps=1, api_name="/generate")
    record = json.loads((outputs / made[2]["sidecar"]).read_text())
    outside = tmp_path / "outside.mp4"
    outside.write_bytes((outputs / record["video"]).read_bytes())
    (outputs / "lies-list.json").write_text("[1, 2]")
    (outputs / "lies-types.json").write_text(json.dumps({**record, "fps": "fast"}))
    (outputs / "lies-empty.mp4").write_bytes(b"")
    (outputs / "lies-empty.json").write_text(json.dumps({**record, "video": "lies-empty.mp4", "model_frames": None}))
    (outputs / "lies-linked.mp4").symlink_to(outside)
    (outputs / "lies-linked.json").write_text(json.dumps({**record, "video": "lies-linked.mp4", "model_frames": None}))
    try:
        sidecars = {record["sidecar"] for record in list_history(outputs)}
        assert not {name for name in sidecars if name.startswith("lies-")}
        finish = dict(interpolate=2, api_name="/finish")
        assert refused_at_once(client, "video", "lies-list.json", **finish) == (
            "lies-list.json is not a video's record (it holds a list, not an object): pick another video"
        )
        assert refused_at_once(client, "video", "lies-types.json", **finish).startswith(
            'lies-types.json is not a video\'s record (its fps is "fast")'
        )
        for name in ("lies-empty.json", "lies-linked.json"):
            message = refused(client, name, **finish)
            assert message == f"the video of {name} is not in the output folder any more: pick another video"
        assert refused_at_once(client, "video", "missing.json", **finish) == (
            "there is no video missing here: pick one from the history"
        )
    finally:
        for path in outputs.glob("lies-*"):
            path.unlink()


def test_no_server_path_is_shown_on_the_page(server):
    with urllib.request.urlopen(f"{server.url}/config", timeout=10) as response:
        config = response.read().decode()
    assert str(server.output_dir) not in config


def test_gradios_copies_are_cleaned_and_an_upload_that_is_no_picture_is_not_kept(failing_server, tmp_path):
    """Gradio copies every upload (and every file it sends) to its cache; they go once older than SVD_CACHE_HOURS
    (1.8 s on this server), and an upload that is not a picture goes as soon as it is refused."""
    url = failing_server.url
    noise = upload(url, "noise.png", os.urandom(4096))
    status, answer = post(url, "/gradio_api/call/generate", {"data": [{"path": str(noise)}]})
    assert status == 200 and "noise.png is not a picture that can be read" in event_stream(url, answer)
    assert not noise.exists()
    picture = upload(url, "p.png", write_picture(tmp_path / "p.png").read_bytes())
    deadline = time.monotonic() + 20
    while picture.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not picture.exists()


def upload(url: str, name: str, content: bytes) -> Path:
    """A file uploaded as the page or a client uploads one; returns where the server keeps it."""
    boundary = "svd-test-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n\r\n'
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    with urllib.request.urlopen(
        urllib.request.Request(f"{url}/gradio_api/upload", body, headers), timeout=30
    ) as answer:
        return Path(json.loads(answer.read())[0])


def event_stream(url: str, answer: dict) -> str:
    """The text of a plain HTTP call's event stream, once it is complete."""
    with urllib.request.urlopen(f"{url}/gradio_api/call/generate/{answer['event_id']}", timeout=120) as stream:
        return stream.read().decode()
