"""Cancel at every stage, each stopped where its work is: the VAE decode after the last denoising step, RIFE and
ffmpeg's interpolation, the upscale and the encode as the video is written, and the first frame from text. Nothing is
left of a cancelled save. (Denoising stops at the next step: test_engine; a cancel over the API while the video is
written: test_scaling.)"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from svd.errors import CancelledError
from svd.finish.interpolate import minterpolate
from svd.finish.models import FinishModels
from svd.input.image import load_image
from svd.media.frames import LazyFrames
from svd.output.store import save_generation
from svd.request import GenerationRequest
from svd.text.catalogue import resolve_text_model
from svd.text.first_frames import FirstFrameMaker
from svd.text.styles import load_styles

CPU = torch.device("cpu")


def cancelled() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def test_a_cancel_after_the_last_step_stops_before_the_decode(engine, picture):
    engine.load()
    decoded = []
    handle = engine.loaded.pipe.vae.decoder.register_forward_hook(lambda *args: decoded.append(1))
    cancel = threading.Event()

    def progress(update) -> None:
        if update.stage == "decoding":  # said at the end of the last step
            cancel.set()

    try:
        with pytest.raises(CancelledError):
            request = GenerationRequest(load_image(picture), num_frames=4, num_inference_steps=2, seed=1)
            engine.generate(request, progress, cancel)
    finally:
        handle.remove()
    assert decoded == []
    assert engine.generate(GenerationRequest(load_image(picture), num_frames=2, num_inference_steps=1)).frames.size


def test_a_cancel_stops_interpolation_by_rife_and_by_ffmpeg(tiny_rife):
    frames = np.random.default_rng(0).integers(0, 256, (6, 64, 96, 3), dtype=np.uint8)
    with pytest.raises(CancelledError, match="cancelled while the frames were interpolated"):
        FinishModels(CPU, torch.float32, interpolator=str(tiny_rife)).interpolate(frames, 4, 7, cancelled())
    with pytest.raises(CancelledError, match="cancelled while the frames were interpolated"):
        minterpolate(frames, 4, 7, cancelled())


def test_a_cancel_while_an_upscaled_video_is_written_stops_it_and_leaves_nothing(engine, picture, tmp_path):
    made = engine.generate(GenerationRequest(load_image(picture), num_frames=2, num_inference_steps=1))
    cancel, upscaled = threading.Event(), []

    def upscale(index: int) -> np.ndarray:  # stands in for the upscaler, which makes each frame as it is read
        upscaled.append(index)
        if index == 3:
            cancel.set()
        return np.zeros((288, 512, 3), np.uint8)

    made.frames = LazyFrames(10, 288, 512, upscale)
    with pytest.raises(CancelledError, match="cancelled while the video was written"):
        save_generation(made, tmp_path / "out" / "clip", cancel=cancel)
    assert upscaled == [0, 1, 2, 3] and list((tmp_path / "out").iterdir()) == []


def test_a_cancel_stops_the_first_frame_within_a_step(tiny_text_model):
    model = resolve_text_model(str(tiny_text_model))
    with pytest.raises(CancelledError, match="cancelled while the first frame was made"):
        FirstFrameMaker(CPU).make(model, "a fox", load_styles()["none"], (256, 144), 1, 3, cancel=cancelled())
