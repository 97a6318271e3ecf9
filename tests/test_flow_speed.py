"""The flow-matching families' speed switches (Wan, LTX-Video), on the tiny random models and the CPU: diffusers'
attention backend `native` computes the plain frames; its first-block cache hook is installed on the blocks, skips
some blocks' work and stays within a measured bound of plain, the same for every run; regional compile compiles the
transformer's repeated blocks in place (traced with dynamo, inductor's code generation skipped as in
tests/test_speed.py) and keeps the plain frames; switches a family does not take are refused in one line.

Their speed is measured on a GPU by `bench/wan.py --speed`; no GPU has run them for this project yet.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, write_picture
from diffusers.hooks import HookRegistry
from diffusers.models.attention_dispatch import _AttentionBackendRegistry
from diffusers.models.transformers.transformer_wan import WanTransformer3DModel

from svd.engine import Engine
from svd.errors import InputError
from svd.input.image import load_image
from svd.models import speed
from svd.models.speed import SpeedOptions, check_options, parse_speed, speed_up_transformers
from svd.request import GenerationRequest
from svd.results import GenerationResult

sys.path.insert(0, str(REPO_ROOT / "bench"))
import wan as wan_bench

STEPS = 6
CACHE_BOUND = {"wan": (16, 1.0), "ltx": (4, 0.5)}
"""The most the cached frames differ from plain in bytes (largest, mean), above what was measured at these settings
(Wan 11 and 0.50, LTX-Video 2 and 0.25): random weights change little between steps, so the cache skips often."""


@pytest.fixture(scope="module")
def picture_module(tmp_path_factory):
    return write_picture(tmp_path_factory.mktemp("flow-speed") / "picture.png")


@pytest.fixture(scope="module", params=["wan", "ltx"])
def model(request, tiny_wan, tiny_ltx) -> tuple[str, str]:
    return request.param, str(tiny_wan["tiny-wan2.1"] if request.param == "wan" else tiny_ltx)


def engine_with(model: tuple[str, str], switches: str) -> Engine:
    return Engine(device="cpu", default_model=model[1], speed=parse_speed(switches))


def generate(engine: Engine, picture, progress=None) -> GenerationResult:
    request = GenerationRequest(image=load_image(picture), prompt="a kite", seed=3, num_inference_steps=STEPS)
    return engine.generate(request, progress)


@pytest.fixture(scope="module")
def plain(model, picture_module) -> GenerationResult:
    return generate(engine_with(model, "plain"), picture_module)


def blocks(engine: Engine) -> torch.nn.ModuleList:
    transformer = engine.loaded.pipe.transformer
    return next(child for name, child in transformer.named_children() if name in ("blocks", "transformer_blocks"))


def test_native_attention_computes_the_plain_frames(model, picture_module, plain):
    default = _AttentionBackendRegistry._active_backend
    engine = engine_with(model, "attention=native")
    result = generate(engine, picture_module)
    assert result.speed == "attention=native" and np.array_equal(result.frames, plain.frames)
    processors = [module.processor for module in blocks(engine).modules() if hasattr(module, "processor")]
    assert processors and all(each._attention_backend == "native" for each in processors)
    assert _AttentionBackendRegistry._active_backend == default  # other models keep the process's default


def test_first_block_cache_skips_work_within_a_measured_bound_and_is_undone(model, picture_module, plain):
    engine = engine_with(model, "cache=first_block")
    cached = generate(engine, picture_module)
    head, *_, tail = blocks(engine)
    assert HookRegistry.check_if_exists_or_initialize(head).get_hook("fbc_leader_block_hook") is not None
    assert HookRegistry.check_if_exists_or_initialize(tail).get_hook("fbc_block_hook") is not None
    called, computed = [], []
    handles = [head.register_forward_hook(lambda *_: called.append(1)),
               tail.attn1.register_forward_hook(lambda *_: computed.append(1))]  # fmt: skip
    again = generate(engine, picture_module)
    for handle in handles:
        handle.remove()
    assert cached.speed == "cache=first_block" and engine.loaded.pipe.transformer.is_cache_enabled
    assert 0 < len(computed) < len(called)  # the last block ran in only some of the transformer's calls
    assert np.array_equal(again.frames, cached.frames)  # the cache starts afresh each run
    difference = np.abs(cached.frames.astype(int) - plain.frames)
    largest, mean = CACHE_BOUND[model[0]]
    assert 0 < difference.max() <= largest and difference.mean() <= mean
    engine.speed = SpeedOptions()  # asked off on the same loaded model: diffusers removes the hooks
    undone = generate(engine, picture_module)
    assert not engine.loaded.pipe.transformer.is_cache_enabled and np.array_equal(undone.frames, plain.frames)


@pytest.fixture
def quick_compiler(monkeypatch):
    """Dynamo traces the blocks; inductor's code generation, minutes on two cores, is skipped."""
    monkeypatch.setattr(speed, "COMPILE_BACKEND", "aot_eager")
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_compiled_transformer_blocks_keep_the_frames_and_stay_compiled(model, picture_module, plain, quick_compiler):
    engine = engine_with(model, "compile_transformer")
    reports: list = []
    compiled = generate(engine, picture_module, reports.append)
    transformer = engine.loaded.pipe.transformer
    repeated = [block for block in transformer.modules() if type(block).__name__ in type(transformer)._repeated_blocks]
    assert repeated and all(block._compiled_call_impl is not None for block in repeated)
    assert type(transformer).__name__ != "OptimizedModule"  # compiled in place: the pipeline keeps its model
    assert np.array_equal(compiled.frames, plain.frames)
    assert [report.note for report in reports if report.note] == [
        "first run at this size compiles (once per size while the server runs)"
    ]
    reports.clear()
    generate(engine, picture_module, reports.append)
    assert not [report.note for report in reports if report.note]  # this size is compiled already
    engine.speed = SpeedOptions()
    with pytest.raises(InputError, match=r"runs compiled \(compile_transformer\), which is not undone in place") as no:
        generate(engine, picture_module)
    assert "load the model again" in str(no.value) and "\n" not in str(no.value)


@pytest.mark.parametrize(
    ("family", "switches", "said"),
    [
        ("wan", "compile_unet,fuse_qkv", "Wan does not take the speed switches compile_unet, fuse_qkv: it takes "
         "attention=<auto|native|flash|efficient|cudnn|math|sage>, compile_transformer, cache=<first_block>"),
        ("ltx", "attention=math+decode_chunk_from_memory", "LTX-Video does not take the speed switch "
         "decode_chunk_from_memory: it takes attention="),
        ("svd", "cache=first_block", "Stable Video Diffusion does not take the speed switch cache=first_block: it "
         "takes attention=<auto|flash|efficient|cudnn|math>, compile_unet, compile_vae"),
        ("svd", "attention=native,compile_transformer", "Stable Video Diffusion does not take the speed switches "
         "attention=native, compile_transformer: it takes"),
        ("wan", "attention=efficient", "attention=efficient needs a CUDA GPU: on this device use attention=native"),
        ("ltx", "attention=flash", "attention=flash cannot run LTX-Video: its attention to the prompt has a mask"),
    ],
)  # fmt: skip
def test_a_switch_the_family_does_not_take_is_refused_in_one_line(
    tiny_wan, tiny_ltx, tiny_model, picture_module, family, switches, said
):
    folder = {"wan": tiny_wan["tiny-wan2.1"], "ltx": tiny_ltx, "svd": tiny_model}[family]
    engine = Engine(device="cpu", default_model=str(folder), speed=parse_speed(switches))
    with pytest.raises(InputError) as refused:
        engine.generate(GenerationRequest(image=load_image(picture_module), model=str(folder), num_inference_steps=1))
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_the_flow_switches_are_read_and_checked(tiny_wan):
    options = parse_speed("attention=native,compile_transformer,cache=first_block")
    assert options == SpeedOptions(attention="native", compile_transformer=True, cache="first_block")
    assert parse_speed(options.describe()) == options and options.compiled_stages == ("denoise",)
    for wrong in ("cache=mag", "cache", "attention=flash3"):
        with pytest.raises(InputError, match=f"speed switch '{wrong}' is not known: .* and cache=<first_block>"):
            parse_speed(wrong)
    with pytest.raises(InputError, match=r"torch\.compile needs the 'full' memory profile, not 'balanced'"):
        check_options(options, "balanced", "transformer", "Wan")
    transformer = WanTransformer3DModel.from_pretrained(tiny_wan["tiny-wan2.1"], subfolder="transformer")
    sage = "attention=sage cannot run here: Sage Attention backend 'sage' is not usable"  # its package is absent
    with pytest.raises(InputError, match=sage):
        speed_up_transformers([transformer], SpeedOptions(attention="sage"))


def test_the_wan_bench_runs_plain_then_with_the_switches(capsys, tiny_wan):
    arguments = ["--architecture", "tiny-wan2.1", "--size", "64x48", "--frames", "5", "--steps", "8"]
    folder = str(tiny_wan["tiny-wan2.1"])  # a model's own weights, as the cache is measured
    assert wan_bench.main([*arguments, "--model", folder, "--speed", "cache=first_block", "--repeats", "2"]) == 0
    plain, *sped_up = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert "speed" not in plain and [row["speed"] for row in sped_up] == ["cache=first_block"] * 2
    assert plain["architecture"] == folder
    assert all(isinstance(row["max_frame_difference"], int) and row["denoise_calls"] == 16 for row in sped_up)
    assert wan_bench.main([*arguments, "--speed", "attention=cudnn"]) == 0
    refused = json.loads(capsys.readouterr().out.splitlines()[-1])["refused"]
    assert refused == "attention=cudnn needs a CUDA GPU: on this device use attention=native or math"
