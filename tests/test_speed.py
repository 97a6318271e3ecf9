"""Exact speed-ups: each switch computes the same video as the plain pipeline (up to rounding), on the CPU here.

Their speed is measured on a GPU by bench/bench.py; CUDA graphs and the memory-sized decode chunk need CUDA.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import write_picture
from torch._dynamo.utils import counters

from svd import speed
from svd.engine import Engine
from svd.errors import InputError
from svd.image import load_image
from svd.memory import decode_chunk_for_memory
from svd.request import GenerationRequest
from svd.speed import SpeedOptions, check_options

SETTINGS = dict(num_frames=4, num_inference_steps=2, seed=21, decode_chunk_size=4)


def frames(model, picture, options: SpeedOptions, **overrides) -> np.ndarray:
    engine = Engine(device="cpu", default_model=str(model), speed=options)
    request = GenerationRequest(image=load_image(picture), **{**SETTINGS, **overrides})
    return engine.generate(request).frames


@pytest.fixture(scope="module")
def picture_module(tmp_path_factory):
    return write_picture(tmp_path_factory.mktemp("speed") / "picture.png", (256, 144))


@pytest.fixture(scope="module")
def plain(tiny_model, picture_module):
    return frames(tiny_model, picture_module, SpeedOptions())


@pytest.mark.parametrize(
    "options",
    [
        SpeedOptions(attention="math"),
        SpeedOptions(attention="flash"),
        SpeedOptions(channels_last=True),
        SpeedOptions(fuse_qkv=True),
        SpeedOptions(attention="math", channels_last=True, fuse_qkv=True),
    ],
    ids=lambda options: options.describe(),
)
def test_switch_computes_the_same_video(tiny_model, picture_module, plain, options):
    difference = np.abs(frames(tiny_model, picture_module, options).astype(int) - plain).max()
    assert difference <= 1


@pytest.fixture
def quick_compiler(monkeypatch):
    """The CPU tests trace with dynamo but skip inductor's code generation, which takes minutes on two cores;
    guards and recompiles (what is tested) are dynamo's, whatever the backend."""
    monkeypatch.setattr(speed, "COMPILE_BACKEND", "aot_eager")
    torch._dynamo.reset()
    counters.clear()
    yield
    torch._dynamo.reset()


def test_compiled_unet_matches_and_compiles_once_per_size(tiny_model, picture_module, plain, quick_compiler):
    engine = Engine(device="cpu", default_model=str(tiny_model), speed=SpeedOptions(compile_unet=True))
    picture = load_image(picture_module)

    def run(size):
        return engine.generate(GenerationRequest(image=picture, size=size, **SETTINGS)).frames

    assert np.abs(run(None).astype(int) - plain).max() <= 1
    graphs = counters["stats"]["unique_graphs"]
    assert graphs >= 1
    run(None)
    assert counters["stats"]["unique_graphs"] == graphs  # the same size again: no recompile
    run((192, 192))
    after_second_size = counters["stats"]["unique_graphs"]
    assert after_second_size > graphs  # a new size compiles once...
    run(None)
    run((192, 192))
    assert counters["stats"]["unique_graphs"] == after_second_size  # ...and both sizes stay compiled


def test_compile_refuses_offload_and_cuda_graphs_need_compile():
    with pytest.raises(InputError, match="needs the 'full' memory profile"):
        check_options(SpeedOptions(compile_unet=True), "balanced")
    with pytest.raises(InputError, match="CUDA graphs come with compiling the UNet"):
        check_options(SpeedOptions(cuda_graphs=True), "full")
    check_options(SpeedOptions(compile_unet=True, cuda_graphs=True), "full")


def test_decode_chunk_from_memory():
    gib = 1024**3
    # 1024x576 in fp16 needs about 1.19 GB a frame to decode.
    assert decode_chunk_for_memory(24 * gib, 1024, 576, 25, torch.float16) == 17
    assert decode_chunk_for_memory(96 * gib, 1024, 576, 25, torch.float16) == 25
    assert decode_chunk_for_memory(2 * gib, 1024, 576, 25, torch.float16) == 2  # never 1: that flickers
    assert decode_chunk_for_memory(24 * gib, 1024, 576, 25, torch.float32) == 8
