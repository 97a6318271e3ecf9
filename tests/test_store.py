"""The output store: names that never overwrite, sidecars written last, and a history read back from disk."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
from PIL import Image

from svd.engine import GenerationResult
from svd.request import GenerationSettings
from svd.store import list_history, new_stem, safe_name, save_generation


def result(seed: int = 1, frames: int = 3) -> GenerationResult:
    settings = GenerationSettings(
        model="tiny", seed=seed, width=64, height=48, num_frames=frames, fps=7, motion_bucket_id=127,
        noise_aug_strength=0.02, num_inference_steps=2, min_guidance_scale=1.0, max_guidance_scale=3.0,
        decode_chunk_size=2, memory_profile="full", resize="crop",
    )  # fmt: skip
    pixels = np.random.default_rng(seed).integers(0, 256, (frames, 48, 64, 3), dtype=np.uint8)
    return GenerationResult(
        frames=pixels, settings=settings, input_name="in.png", input_sha256="0" * 64, timings={"pipeline": 1.0},
        step_seconds=[0.5, 0.5], peak_vram_bytes=None, peak_vram_reserved_bytes=None, device="cpu", dtype="float32",
    )  # fmt: skip


def test_names_are_safe_and_never_reuse_an_output(tmp_path):
    assert safe_name("My Photo (1).final.JPG") == "My_Photo_1_.final"
    assert safe_name("../../etc/passwd") == "passwd"
    first = new_stem(tmp_path, "clip")
    save_generation(result(), first)
    second = new_stem(tmp_path, "clip")
    assert (first.name, second.name) == ("clip", "clip-2")


def test_frames_as_zip_are_lossless(tmp_path):
    made = result()
    saved = save_generation(made, tmp_path / "clip", frames="zip")
    with zipfile.ZipFile(saved.frames) as archive:
        names = archive.namelist()
        assert names == ["0000.png", "0001.png", "0002.png"]
        with archive.open(names[1]) as frame:
            assert np.array_equal(np.asarray(Image.open(frame)), made.frames[1])
    assert saved.record["frames"] == "clip_frames.zip"


def test_history_is_newest_first_and_skips_incomplete_entries(tmp_path):
    older = save_generation(result(seed=1), tmp_path / "older")
    newer = save_generation(result(seed=2), tmp_path / "newer")
    os.utime(older.sidecar, (1_000_000, 1_000_000))
    (tmp_path / "orphan.json").write_text(json.dumps({"video": "orphan.mp4", "seed": 3}))
    (tmp_path / "garbled.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    history = list_history(tmp_path)
    assert [record["seed"] for record in history] == [2, 1]
    assert history[0]["stem"] == str(newer.video.with_suffix(""))
