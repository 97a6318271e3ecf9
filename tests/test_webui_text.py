"""Text to video over the API of a running server (tiny SVD and text-to-image models): `/first_frames` and
`/text_to_video` through gradio_client and plain HTTP, their descriptions, and one line for each bad value."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import numpy as np
import pytest
from conftest import write_picture
from gradio_client import Client, handle_file
from gradio_client.utils import Status
from mp4 import decode
from PIL import Image
from refusals import refused
from test_webui import api_description

from svd.text.styles import load_styles

PROMPT = "a lighthouse on a cliff at dusk"


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def first_frames(client, prompt: str = PROMPT, **settings) -> tuple[list[str], dict]:
    return client.predict(prompt, **settings, api_name="/first_frames")


@pytest.mark.parametrize(("aspect", "size"), [("16:9", (256, 144)), ("9:16", (144, 256)), ("1:1", (192, 192))])
def test_first_frames_come_at_the_bucket_of_the_aspect_and_repeat_for_a_seed(client, aspect, size):
    pictures, details = first_frames(client, style="cinematic", aspect=aspect, count=3, seed=40)
    assert [Image.open(path).size for path in pictures] == [size] * 3
    assert (details["seeds"], details["width"], details["height"]) == ([40, 41, 42], *size)
    assert details["prompt"] == load_styles()["cinematic"].apply(PROMPT)[0] and details["style"] == "cinematic"
    assert (details["t2i_steps"], details["t2i_guidance"]) == (2, 2.0)  # the tiny model's own
    again, _ = first_frames(client, style="cinematic", aspect=aspect, count=1, seed=41)
    assert np.array_equal(pixels(again[0]), pixels(pictures[1]))  # candidate i is the one of seed + i
    assert not np.array_equal(pixels(pictures[0]), pixels(pictures[1]))


def test_a_long_prompt_is_made_with_a_notice(client):
    pictures, details = first_frames(client, "a very long prompt " * 10, count=1, t2i_steps=1, t2i_guidance=0)
    assert len(pictures) == 1 and (details["t2i_steps"], details["t2i_guidance"]) == (1, 0.0)
    assert "the text encoder takes 77: the end was cut" in details["notice"]


def test_text_to_video_animates_the_first_frame_of_its_seed_and_records_the_text(client, server):
    video, frames_zip, record = client.predict(
        PROMPT, negative_prompt="people", style="anime", aspect="9:16", seed=7, frames=3, steps=1,
        api_name="/text_to_video",
    )  # fmt: skip
    assert decode(video).frames.shape == (3, 256, 144, 3) and frames_zip.endswith(".zip")
    sidecar = json.loads((server.output_dir / record["video"].replace(".mp4", ".json")).read_text())
    text = {key: sidecar[key] for key in ("prompt", "negative_prompt", "style", "t2i_seed", "seed", "size_choice")}
    assert text == {
        "prompt": PROMPT, "negative_prompt": "people", "style": "anime", "t2i_seed": 7, "seed": 7,
        "size_choice": "144x256",
    }  # fmt: skip
    assert sidecar["t2i_model"].endswith("tiny-text") and sidecar["first_frame"].endswith("_first_frame.png")
    candidate, _ = first_frames(client, negative_prompt="people", style="anime", aspect="9:16", count=1, seed=7)
    assert np.array_equal(pixels(server.output_dir / sidecar["first_frame"]), pixels(candidate[0]))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(prompt="   "), "the prompt is empty: describe the picture to start the video from"),
        (dict(prompt=None), "prompt must be text, not None"),
        (dict(style="vaporwave"), "style 'vaporwave' is not known: use one of none, photographic, cinematic"),
        (dict(aspect="5:4"), "aspect must be one of 16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3, not '5:4'"),
        (dict(t2i_model="/etc"), "text-to-image model '/etc' is not available here: use one of dreamshaper-xl"),
        (dict(t2i_steps=0), "t2i steps 0 is out of range: use a value from 1 to 100"),
        (dict(t2i_guidance="high"), "t2i_guidance must be a number, not 'high'"),
        (dict(seed=-5), "seed -5 is out of range: use a value from 0 to 4294967295, or -1 for a random one"),
        (dict(model="/etc"), "model '/etc' is not available here"),
    ],
)
def test_bad_text_values_get_one_line_from_both_endpoints(client, settings, message):
    given = {"prompt": PROMPT, **settings}
    assert refused(client, **given, api_name="/first_frames").startswith(message)
    assert refused(client, **given, frames=2, steps=1, api_name="/text_to_video").startswith(message)


def test_bad_counts_and_video_settings_are_refused(client, server):
    assert (
        refused(client, PROMPT, count=9, api_name="/first_frames") == "9 first frames is out of range: ask for 1 to 8"
    )
    assert refused(client, PROMPT, count=1.5, api_name="/first_frames") == "count must be a whole number, not 1.5"
    offset = len(server.log.read_text())
    message = refused(client, PROMPT, motion=400, api_name="/text_to_video")
    assert message == "motion 400 is out of range: use a value from 1 to 255"
    assert "Traceback" not in server.log_since(offset)


def test_view_api_describes_the_text_endpoints(client):
    shown = api_description(client)
    assert "Named API endpoints: 4" in shown
    endpoints = re.findall(r'api_name="(/\w+)"', shown)
    assert endpoints == ["/generate", "/first_frames", "/text_to_video", "/finish"]  # private page events: no names
    first = shown.split('api_name="/first_frames"')[1].split("- predict(")[0]
    names = re.findall(r"- \[Api\] (\w+): ", first.split("Returns:")[0])
    assert names == ["prompt", "negative_prompt", "style", "aspect", "count", "seed", "t2i_model", "t2i_steps",
                     "t2i_guidance", "model"]  # fmt: skip
    assert "-> (first_frames, details)" in shown and "prompt: str (required)" in first
    aspects = "Literal['16:9', '9:16', '1:1', '4:3', '3:4', '3:2', '2:3']"
    assert f"aspect: {aspects} (not required, defaults to:   16:9)" in first
    video = shown.split('api_name="/text_to_video"')[0].rsplit("- predict(", 1)[1]
    assert video.startswith("prompt, negative_prompt, style, aspect, t2i_model, t2i_steps, t2i_guidance, motion,")
    assert "camera_amount" in video and "picture" not in video and "resize" not in video


def test_a_plain_http_call_with_only_a_prompt_gets_the_defaults(server):
    body = json.dumps({"data": [PROMPT]}).encode()
    request = urllib.request.Request(
        f"{server.url}/gradio_api/call/first_frames", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{server.url}/gradio_api/call/first_frames/{event_id}", timeout=60) as stream:
        done = stream.read().decode()
    assert "event: complete" in done and done.count(".png") == 4 and '"width": 256' in done


def test_first_frames_wait_for_a_generation_on_the_gpu(client, tmp_path):
    picture = write_picture(tmp_path / "long.png", (256, 144))
    long = client.submit(handle_file(str(picture)), steps=200, api_name="/generate")
    deadline = time.monotonic() + 30
    while long.status().code != Status.PROCESSING and time.monotonic() < deadline:
        time.sleep(0.05)
    waiting = client.submit(PROMPT, count=1, api_name="/first_frames")
    time.sleep(2)  # ten times what a tiny first frame takes
    assert waiting.status().code == Status.IN_QUEUE and not waiting.done()
    long.cancel()
    pictures, _ = waiting.result(timeout=60)
    assert len(pictures) == 1
