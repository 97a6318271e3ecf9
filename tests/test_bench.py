"""The benchmark harness: its FLOP counts for the full-size model, and a CPU smoke run of the whole harness."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT
from mp4 import decode

from svd.camera.moves import MOVES, NO_CAMERA

sys.path.insert(0, str(REPO_ROOT / "bench"))
from flops import count_stage_flops

SVD_XT_CONFIGS = REPO_ROOT / "svd" / "configs" / "svd-xt"


def test_full_size_flop_counts_match_the_published_architecture():
    """The figures in the design notes, counted here on meta tensors from the configs kept in the repo."""
    xt = count_stage_flops(SVD_XT_CONFIGS, 1024, 576, num_frames=25, steps=25)
    assert xt.unet_step / 1e12 == pytest.approx(159.9, abs=0.05)
    assert xt.vae_decode / 1e12 == pytest.approx(173.6, abs=0.05)
    assert xt.vae_encode / 1e12 == pytest.approx(2.6, abs=0.05)
    assert xt.total / 1e15 == pytest.approx(4.17, abs=0.005)
    fourteen = count_stage_flops(SVD_XT_CONFIGS, 1024, 576, num_frames=14, steps=25)
    assert fourteen.unet_step / 1e12 == pytest.approx(89.6, abs=0.05)
    no_guidance = count_stage_flops(SVD_XT_CONFIGS, 1024, 576, num_frames=25, steps=25, guidance=False)
    assert no_guidance.unet_step == pytest.approx(xt.unet_step / 2, rel=1e-3)


def test_harness_runs_on_the_cpu_with_the_tiny_model(tmp_path):
    out = tmp_path / "results.jsonl"
    result = subprocess.run(
        [sys.executable, "bench/bench.py", "--tiny", "--frames", "3", "--steps", "1", "--warmup", "1",
         "--repeats", "1", "--variants", "plain,channels-last,fuse-qkv", "--camera", "zoom-in",
         "--workdir", str(tmp_path), "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["variant"] for row in rows] == ["plain", "channels-last", "fuse-qkv"]
    for row in rows:
        assert set(row["medians"]) == {
            "image_encoder", "vae_encode", "unet_step", "denoise", "vae_decode", "video_encode", "end_to_end",
            "camera_guide", "camera_encode",
        }  # fmt: skip
        assert (row["camera"], row["camera_strength"]) == ("zoom-in", 0.5)
        assert all(seconds > 0 for seconds in row["medians"].values())
        assert row["tflops_per_second"]["unet"] > 0 and row["flops"]["steps"] == 1
        assert row["deviation"]["max_abs"] <= 1  # exact switches: the same video up to rounding
        assert row["device"]["type"] == "cpu" and row["versions"]["diffusers"]
    assert rows[0]["deviation"]["max_abs"] == 0
    for variant in ("plain", "channels-last", "fuse-qkv"):
        assert result.stdout.count(variant) == 1
    video = decode(tmp_path / "videos" / "plain-1.mp4")
    assert video.frames.shape == (3, 144, 256, 3)


def test_unknown_variant_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "bench/bench.py", "--tiny", "--variants", "warp-speed", "--workdir", str(tmp_path),
         "--out", str(tmp_path / "r.jsonl")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0 and "unknown variants warp-speed" in result.stderr


def test_guide_timer_times_every_move():
    result = subprocess.run(
        [sys.executable, "bench/guides.py", "--size", "256x144", "--frames", "3", "--repeats", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    timed = {line.split()[0]: float(line.split()[1]) for line in result.stdout.splitlines()[1:]}
    assert list(timed) == [move for move in MOVES if move != NO_CAMERA] and all(s >= 0 for s in timed.values())
