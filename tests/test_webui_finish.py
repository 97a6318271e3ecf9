"""Finishing over the API, as a script does it with gradio_client: the finishing parameters of `/generate` and
`/text_to_video`, every format returned and decoded, and `/finish` on a video made before."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import write_picture
from gradio_client import Client, handle_file
from mp4 import decode
from PIL import Image
from refusals import refused


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def made(client, tmp_path_factory):
    """One video made with x2 interpolation, a boomerang loop and every format."""
    picture = write_picture(tmp_path_factory.mktemp("finish-api") / "p.png", (256, 144))
    _, _, record = client.predict(
        handle_file(str(picture)), frames=3, fps=5, steps=1, seed=11, interpolate=2, loop="boomerang",
        formats="gif, webp,webm", api_name="/generate",
    )  # fmt: skip
    return record


def test_generate_finishes_and_returns_every_format(made):
    frames = 2 * ((3 - 1) * 2 + 1) - 2
    assert (made["interpolate"], made["loop"], made["fps"]) == (2, "boomerang", 5)
    assert (made["video_num_frames"], made["video_fps"]) == (frames, 10)
    assert set(made["files"]) == {"mp4", "webm", "gif", "webp"}
    mp4, webm = decode(made["files"]["mp4"]), decode(made["files"]["webm"])
    assert (mp4.codec, mp4.fps, len(mp4.frames)) == ("h264", 10, frames)
    assert (webm.codec, webm.fps, len(webm.frames), webm.size) == ("vp9", 10, frames, mp4.size)
    for name in ("gif", "webp"):
        with Image.open(made["files"][name]) as animation:
            assert (animation.n_frames, animation.size) == (frames, mp4.size)
    assert {"finish_interpolate", "finish_loop", "video_encode"} <= set(made["timings"])


def test_finish_makes_a_new_video_from_a_past_one_without_generating(client, made, server):
    offset = len(server.log.read_text())
    _, _, finished = client.predict(
        made["sidecar"], interpolate=2, upscale="2", loop="boomerang", formats="gif", api_name="/finish"
    )
    line = f"[svd] saved {finished['video']}: {finished['video_num_frames']} frames, "
    line += f"{2 * made['width']}x{2 * made['height']} at 10 fps, finished from {made['sidecar']}"
    assert line in server.log_since(offset)  # the operator sees every video made, finished ones too
    assert finished["finished_from"] == made["sidecar"] and finished["seed"] == made["seed"]
    assert finished["sidecar"] != made["sidecar"] and (server.output_dir / made["sidecar"]).is_file()
    assert (finished["video_width"], finished["video_height"]) == (2 * made["width"], 2 * made["height"])
    assert finished["video_num_frames"] == made["video_num_frames"] and finished["interpolate"] == 2
    assert set(finished["files"]) == {"mp4", "gif"}
    assert decode(finished["files"]["mp4"]).size == (2 * made["width"], 2 * made["height"])
    assert "pipeline" not in finished["timings"] and "finish_upscale" in finished["timings"]  # nothing generated


def test_finishing_again_starts_from_the_models_own_frames_and_says_only_what_was_done(client, made, server):
    """Issue 22: x3 and a crossfade on a x2 boomerang gave a crossfade of a boomerang at x6, recorded as x6 and a
    crossfade. Now it is the video that x3 and a crossfade make at once from the same seed, frame for frame."""
    _, _, again = client.predict(made["sidecar"], interpolate=3, loop="crossfade", api_name="/finish")
    _, _, direct = client.predict(
        handle_file(str(server.output_dir / made["input_picture"])), frames=3, fps=5, steps=1, seed=11,
        interpolate=3, loop="crossfade", api_name="/generate",
    )  # fmt: skip
    finishing = ("interpolate", "upscale", "loop", "video_num_frames", "video_fps", "video_width", "video_height")
    assert [again[key] for key in finishing] == [direct[key] for key in finishing]
    assert (again["interpolate"], again["loop"], again["video_fps"]) == (3, "crossfade", 15)
    assert np.array_equal(decode(again["files"]["mp4"]).frames, decode(direct["files"]["mp4"]).frames)
    model = [png_frames(server.output_dir / record["model_frames"]) for record in (made, again, direct)]
    assert model[0].shape[0] == made["model_num_frames"] == 3  # the model's 3, not the 8 of the boomerang
    assert np.array_equal(model[0], model[1]) and np.array_equal(model[0], model[2])
    assert again["finished_from"] == made["sidecar"] and again["notes"] == []


def test_finish_refuses_what_it_cannot_do_in_one_line(client, made):
    outside = refused(client, "../secrets.json", loop="boomerang", api_name="/finish")
    assert "is not a video of this server" in outside
    missing = refused(client, "20200101-000000-gone.json", loop="boomerang", api_name="/finish")
    assert "there is no video 20200101-000000-gone" in missing
    assert "nothing to finish" in refused(client, made["sidecar"], api_name="/finish")
    assert "format 'avi' is not offered" in refused(client, made["sidecar"], formats="avi", api_name="/finish")


def test_text_to_video_takes_the_finishing_too(client):
    _, _, record = client.predict(
        "a lighthouse at dusk", frames=3, steps=1, t2i_steps=1, seed=3, loop="crossfade", api_name="/text_to_video"
    )
    assert record["loop"] == "crossfade" and record["prompt"] == "a lighthouse at dusk"
    assert len(decode(record["files"]["mp4"]).frames) == record["video_num_frames"] < 3
    assert np.isfinite(record["timings"]["finish_loop"])


def png_frames(path: Path) -> np.ndarray:
    with zipfile.ZipFile(path) as archive:
        return np.stack(
            [np.asarray(Image.open(io.BytesIO(archive.read(name)))) for name in sorted(archive.namelist())]
        )
