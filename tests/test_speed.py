"""Exact speed-ups: each switch computes the same video as the plain pipeline (up to rounding), on the CPU here.

Their speed is measured on a GPU by bench/bench.py; CUDA graphs and the memory-sized decode chunk need CUDA.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from chromium import open_advanced, open_page, set_number, upload, wait_for_video
from conftest import write_picture
from playwright.sync_api import expect
from torch._dynamo.utils import counters
from webui_server import free_port

from svd.engine import Engine
from svd.errors import InputError
from svd.input.image import load_image
from svd.models import speed
from svd.models.memory import decode_chunk_for_memory
from svd.models.speed import SWITCHES, SpeedOptions, check_options, parse_speed
from svd.request import GenerationRequest
from svd.serve.pool import EnginePool, engine_options
from svd.settings import Settings
from webui import build_app

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


def test_compiled_unet_matches_and_compiles_once_per_size_and_the_page_says_so(
    tiny_model, picture_module, plain, quick_compiler, tmp_path, browser, screenshots
):
    engine = Engine(device="cpu", default_model=str(tiny_model), speed=SpeedOptions(compile_unet=True))
    picture = load_image(picture_module)

    notes = []

    def run(size):
        request = GenerationRequest(image=picture, size=size, **SETTINGS)
        reports = []
        result = engine.generate(request, progress=reports.append)
        notes.append([report.note for report in reports if report.note])
        return result

    first = run(None)
    assert np.abs(first.frames.astype(int) - plain).max() <= 1
    graphs = counters["stats"]["unique_graphs"]
    assert graphs >= 1
    run(None)
    assert counters["stats"]["unique_graphs"] == graphs  # the same size again: no recompile
    announced = re.compile(r"First run at this size compiles: about (\d+) s")
    shot = screenshots / "compile-note-laptop.png"
    said = page_run_says(browser, engine, picture_module, tmp_path, "1:1", announced, shot)  # 192x192
    after_second_size = counters["stats"]["unique_graphs"]
    assert after_second_size > graphs  # a new size compiles once...
    run(None)
    run((192, 192))
    assert counters["stats"]["unique_graphs"] == after_second_size  # ...and both sizes stay compiled
    # Before each run at a new size the page is warned, with the last compile's measured cost once there is one:
    # the first step's time beyond the next one's (the UNet's calls are timed inside the steps, hence the slack).
    assert notes == [["first run at this size compiles (once per size while the server runs)"], [], [], []]
    compiled_for = max(0.0, first.step_seconds[0] - first.step_seconds[1])
    cost = int(announced.search(said)[1])
    assert abs(cost - compiled_for) <= 1, (said, compiled_for)
    assert first.speed == "compile_unet"


def page_run_says(
    browser, engine: Engine, picture, output_dir, aspect: str, expected: re.Pattern, screenshot: Path
) -> str:
    """Make one video with the page of a WebUI around `engine`, at the test's settings and the `aspect` bucket;
    the progress text the page showed while it matched `expected`."""
    settings = replace(Settings.from_env({}), model=engine.slot.default_model, output_dir=output_dir)
    demo, _ = build_app(EnginePool([engine]), settings)
    demo.queue()
    demo.launch(prevent_thread_lock=True, server_port=free_port(), allowed_paths=[str(output_dir)])
    page = open_page(browser, demo.local_url)
    try:
        upload(page, picture)
        page.locator("#aspect").get_by_label(aspect).check()
        open_advanced(page)
        for elem_id, value in (("frames", 4), ("steps", 2), ("seed", 21)):  # the decode chunk is not compiled
            set_number(page, elem_id, value)
        page.locator("#generate").click()
        expect(page.locator("#run-progress")).to_contain_text(expected, timeout=30_000)
        said = page.locator("#run-progress").inner_text()
        page.screenshot(path=str(screenshot))
        wait_for_video(page)
        return said
    finally:
        page.context.close()
        demo.close()


def test_speed_switches_are_read_from_their_names():
    every = SpeedOptions(attention="flash", **{switch: True for switch in SWITCHES})
    assert parse_speed(every.describe()) == every
    assert parse_speed("compile_unet, fuse_qkv") == SpeedOptions(compile_unet=True, fuse_qkv=True)
    assert parse_speed("plain") == parse_speed("") == SpeedOptions()
    assert engine_options(Settings.from_env({"SVD_SPEED": "channels_last"}))["speed"] == SpeedOptions(
        channels_last=True
    )
    for wrong in ("compile", "attention=fast", "fuse_qkv=1"):
        with pytest.raises(InputError, match=f"speed switch '{wrong}' is not known: use plain, or any of"):
            parse_speed(f"channels_last,{wrong}")


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
