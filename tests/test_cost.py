"""What requests cost, at SVD-XT's real sizes: the units a request is charged, how variations, segments and finishing
add up, and the one-line refusals of each limit (with the largest allowed)."""

from __future__ import annotations

import dataclasses

import pytest

from svd.cost import Cost, VideoShape, finishing_cost, video_cost
from svd.engine import Engine
from svd.families.svd.catalogue import SVD_WORK
from svd.finish.options import FinishOptions
from svd.request import GenerationSettings
from svd.settings import Limits

ENGINE = Engine(device="cpu", default_model="svd-xt")
"""An engine of SVD-XT (nothing is loaded to cost a request), with the catalogue's finishing networks."""
UNIT = ENGINE.unit_flops
FINISHING = ENGINE.finishing.work()
DEFAULT = GenerationSettings(
    model="svd-xt", seed=1, width=1024, height=576, num_frames=25, fps=7, motion_bucket_id=127,
    noise_aug_strength=0.02, num_inference_steps=25, min_guidance_scale=1.0, max_guidance_scale=3.0,
    decode_chunk_size=8, memory_profile="full", resize="crop", size_choice="auto",
)  # fmt: skip


def cost(**changes) -> Cost:
    return ENGINE.cost(dataclasses.replace(DEFAULT, **changes))


def test_a_video_at_the_models_own_settings_costs_one_unit_and_the_rest_in_proportion():
    assert cost().units == 1.0 and cost().flops == pytest.approx(4.17e15, rel=0.01)
    assert cost(variations=4).units == 4.0 and cost(extend=3).units == 3.0  # every video, every segment
    assert cost(num_inference_steps=50).units == pytest.approx(2.0, abs=0.1)  # the decode does not double
    assert cost(max_guidance_scale=1.0).units == pytest.approx(0.5, abs=0.1)  # no guidance batch
    assert cost(num_frames=14).units == pytest.approx(14 / 25, abs=0.1)
    assert cost(num_inference_steps=4, max_guidance_scale=1.0).units == 0.2  # Turbo: its decode is half of it
    assert cost(num_inference_steps=1, num_frames=2).units == 0.1  # any work costs at least a tenth


def test_finishing_adds_what_its_networks_compute():
    plain = cost()
    upscaled = cost(upscale="4k")  # Real-ESRGAN on each of the 25 frames
    assert upscaled.flops - plain.flops == pytest.approx(25 * 1024 * 576 * 2.42e6, rel=1e-6)
    bounced = cost(upscale="4k", loop="boomerang")  # a boomerang reads each upscaled frame twice: made twice
    assert bounced.flops - plain.flops == pytest.approx(48 * 1024 * 576 * 2.42e6, rel=1e-6)
    assert (bounced.frames, bounced.width, bounced.height) == (48, 3840, 2160)
    smooth = cost(interpolate=4)
    assert smooth.flops - plain.flops == pytest.approx(72 * 1024 * 576 * 0.0444e6, rel=1e-6)
    assert (smooth.frames, smooth.fps) == (97, 28)


def test_what_a_hostile_request_asks_is_refused_with_the_largest_allowed():
    hostile = cost(variations=8, extend=4, interpolate=4, upscale="4k", formats=("mp4", "webm", "gif", "webp"))
    finishing = 8 * 1024 * 576 * (385 * 2.42e6 + 288 * 0.0444e6)  # each video's 385 frames upscaled, 288 new
    assert hostile.units == pytest.approx(8 * 4 + finishing / UNIT, abs=0.1)  # 8 videos of 4 segments, finished
    with pytest.raises(Exception) as refused:
        hostile.check(Limits())
    assert str(refused.value) == (
        f"this asks for {hostile.units:g} videos' work (variations x segments x frames x size x steps, with the "
        "finishing); one request may ask for at most 16 (SVD_MAX_WORK): ask for fewer variations, segments, "
        "frames or steps, or less finishing"
    )
    assert hostile.memory_bytes > 8 * 1024**3  # its frames: at 1024x576, and GIF's copy of every finished frame


@pytest.mark.parametrize(
    ("shape", "options", "message"),
    [
        (VideoShape(449, 448, 256, 144), FinishOptions(interpolate=4),
         "the video would have 1,793 frames; a video may have at most 1,000 (SVD_MAX_FRAMES)"),
        (VideoShape(113, 112, 256, 144), FinishOptions(interpolate=4),
         "the video would play at 448 fps; a video may play at most 120 fps (SVD_MAX_FPS)"),
        (VideoShape(25, 7, 3840, 2160), FinishOptions(upscale="2"),
         "the video would be 7680x4320 (33.2 megapixels a frame); a frame may have at most 8.3 megapixels"),
    ],
)  # fmt: skip
def test_finishing_again_and_again_stops_at_the_limits(shape, options, message):
    """/finish on its own output: each time four times the frames and the frame rate, or the size."""
    with pytest.raises(Exception, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        finishing_cost(shape, options, FINISHING, UNIT).check(Limits())


def test_memory_is_checked_against_its_own_limit():
    many = video_cost(VideoShape(128, 7, 1024, 576, videos=8), 25, True, FinishOptions(), SVD_WORK, FINISHING, UNIT)
    assert many.memory_bytes == 8 * 128 * 1024 * 576 * 3
    with pytest.raises(
        Exception, match=r"^this would hold 1.7 GB of frames in memory; one request may hold at most 1 GB"
    ):
        many.check(dataclasses.replace(Limits(), work=1000, memory_gb=1))
