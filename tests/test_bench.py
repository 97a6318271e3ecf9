"""The benchmark harness: its FLOP counts for the full-size model, and a CPU smoke run of the whole harness."""

from __future__ import annotations

import json
import re
import sys

import pytest
from conftest import REPO_ROOT, run_svd_here
from mp4 import decode

from svd.camera.moves import MOVES, NO_CAMERA
from svd.engine import Engine
from svd.families.svd.catalogue import SVD_WORK
from svd.finish.rife import RIFE_WEIGHTS
from svd.finish.upscale import UPSCALERS
from svd.text.catalogue import FLUX_WORK, SDXL_WORK

sys.path.insert(0, str(REPO_ROOT / "bench"))
import after_pipeline
import finish
import guides
import preview
import wan
from flops import count_stage_flops, network_rates, svd_rates

import bench

SVD_XT_CONFIGS = REPO_ROOT / "svd" / "families" / "svd" / "configs" / "svd-xt"


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
    # the cost of a request counts SVD's work with these rates; a unit, a video at SVD-XT's own settings, is the work
    # counted here (the image encoder aside)
    rates = svd_rates(xt, 1024, 576, 25)
    used = {"svd_step": SVD_WORK.step, "svd_decode": SVD_WORK.decode, "svd_encode": SVD_WORK.encode}
    assert {name: round(rate / rates[name], 2) for name, rate in used.items()} == dict.fromkeys(used, 1.0)
    unit = Engine(device="cpu", default_model="svd-xt").unit_flops
    assert unit == pytest.approx(xt.total - xt.image_encoder, rel=0.01)


def test_the_cost_estimates_use_the_flops_counted_on_each_full_size_network():
    rates = network_rates()
    compact, rrdb = (UPSCALERS[name].flops_per_pixel for name in ("realesr-general-x4v3", "realesrgan-x4"))
    used = {
        "sdxl_step": SDXL_WORK.step, "flux_step": FLUX_WORK.step, "image_decode": SDXL_WORK.decode,
        "rife": RIFE_WEIGHTS["rife-4.25"].flops_per_pixel, "compact": compact, "rrdb": rrdb,
    }  # fmt: skip
    assert {name: round(rate / rates[name], 2) for name, rate in used.items()} == dict.fromkeys(used, 1.0)
    assert FLUX_WORK.decode == SDXL_WORK.decode  # the same decoder but for its first layer, within 0.1 %


def test_harness_runs_on_the_cpu_with_the_tiny_model(tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    variants = ["plain", "channels-last", "fuse-qkv", "variations-4", "turbo"]
    code, printed, errors = run_svd_here(
        capsys, "--tiny", "--frames", "3", "--steps", "1", "--warmup", "0", "--repeats", "1", "--variants",
        ",".join(variants), "--camera", "zoom-in", "--workdir", str(tmp_path), "--out", str(out), main=bench.main,
    )  # fmt: skip
    assert code == 0, errors[-2000:]
    rows = {row["variant"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert list(rows) == variants
    for row in rows.values():
        assert set(row["medians"]) == {
            "image_encoder", "vae_encode", "unet_step", "denoise", "vae_decode", "video_encode", "end_to_end",
            "camera_guide", "camera_encode",
        }  # fmt: skip
        assert (row["camera"], row["camera_strength"]) == ("zoom-in", 0.5)
        assert all(seconds > 0 for seconds in row["medians"].values())
        assert row["tflops_per_second"]["unet"] > 0
        assert row["device"]["type"] == "cpu" and row["versions"]["diffusers"]
    for name in ("plain", "channels-last", "fuse-qkv", "variations-4"):
        assert rows[name]["deviation"]["max_abs"] <= 1  # exact: the same (first) video up to rounding
        assert rows[name]["flops"]["steps"] == 1 and printed.count(f"{name} ") == 1
    assert rows["plain"]["deviation"]["max_abs"] == 0
    assert (rows["variations-4"]["videos"], rows["turbo"]["videos"]) == (4, 1)
    turbo = rows["turbo"]
    assert "deviation" not in turbo and turbo["steps"] == 4  # lossy, so not compared
    assert turbo["flops"]["unet_step"] * 2 == pytest.approx(rows["plain"]["flops"]["unet_step"], rel=1e-3)  # no CFG
    assert len(list((tmp_path / "videos").glob("variations-4-0-*.mp4"))) == 4
    video = decode(tmp_path / "videos" / "plain-0-0.mp4")
    assert video.frames.shape == (3, 144, 256, 3)


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown variants warp-speed"):
        bench.main(
            ["--tiny", "--variants", "warp-speed", "--workdir", str(tmp_path), "--out", str(tmp_path / "r.jsonl")]
        )


def timed_stages(capsys, bench_main, *args: str) -> dict[str, float]:
    """What a timer in bench/ prints after its heading line (run here, without an interpreter's start-up): each
    stage's median seconds, by name."""
    assert bench_main(list(args)) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    timed = [re.match(r"(.+?)\s+([\d.]+) s\b", line) for line in lines]
    return {found[1]: float(found[2]) for found in timed if found}


def test_guide_timer_times_every_move(capsys):
    timed = timed_stages(capsys, guides.main, "--size", "256x144", "--frames", "3", "--repeats", "1")
    assert list(timed) == [move for move in MOVES if move != NO_CAMERA] and all(s >= 0 for s in timed.values())


def test_finishing_timer_times_every_stage(capsys):
    timed = timed_stages(capsys, finish.main, "--size", "128x72", "--frames", "3", "--repeats", "1")
    assert list(timed) == [
        "rife-x2", "rife-x4", "minterpolate-x2", "upscale-x2", "upscale-1080p", "boomerang", "crossfade",
        "colour-match", "encode-mp4", "encode-webm", "encode-gif", "encode-webp",
    ]  # fmt: skip
    assert all(seconds >= 0 for seconds in timed.values())


def test_after_pipeline_timer_times_what_the_page_waits_for(capsys):
    timed = timed_stages(capsys, after_pipeline.main, "--size", "256x144", "--frames", "3", "--repeats", "1")
    assert list(timed) == ["post-process", "save for the page", "frames zip (after)", "to the page"]
    assert timed["to the page"] == pytest.approx(timed["post-process"] + timed["save for the page"], abs=0.011)


def test_preview_timer_times_the_preview_against_a_step(capsys):
    timed = timed_stages(
        capsys, preview.main, "--architecture", "tiny", "--size", "128x64", "--frames", "2", "--repeats", "1", "--step"
    )
    assert list(timed) == ["fit the map (once per load)", "draw one preview", "its GIF for the page (CPU)",
                           "one UNet step with guidance"]  # fmt: skip
    assert all(seconds >= 0 for seconds in timed.values())


def test_wan_timer_reports_a_run_per_profile(capsys):
    assert wan.main(["--architecture", "tiny-wan2.1", "--size", "64x48", "--frames", "5", "--steps", "2"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (row["architecture"], row["profile"], row["size"], row["frames"]) == ("tiny-wan2.1", "cpu", [64, 48], 5)
    assert row["denoise_calls"] == 2 * 2  # a guided step calls the transformer twice (with and without the text)
    assert row["seconds"] >= sum(row["stages"].values()) > 0
