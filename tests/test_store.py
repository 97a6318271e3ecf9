"""The output store and the history: names made once, every file named by the sidecar, deletes that take all of a
generation, and real full and read-only disks that leave nothing half-written."""

from __future__ import annotations

import json
import os
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import write_picture
from mounts import fill, read_only, tmpfs
from PIL import Image

from svd.errors import OutputError
from svd.files import check_output_folder, remove_stale_partials
from svd.history import delete_generation, list_history, output_file
from svd.image import load_image
from svd.request import GenerationSettings
from svd.results import GenerationResult
from svd.store import new_stem, safe_name, save_generation, timestamped_stem


@pytest.fixture(scope="module")
def input_picture(tmp_path_factory):
    return load_image(write_picture(tmp_path_factory.mktemp("in") / "in.png", (96, 64)))


def result(picture, seed: int = 1, frames: int = 3) -> GenerationResult:
    settings = GenerationSettings(
        model="tiny", seed=seed, width=64, height=48, num_frames=frames, fps=7, motion_bucket_id=127,
        noise_aug_strength=0.02, num_inference_steps=2, min_guidance_scale=1.0, max_guidance_scale=3.0,
        decode_chunk_size=2, memory_profile="cpu", resize="crop", size_choice="auto",
    )  # fmt: skip
    pixels = np.random.default_rng(seed).integers(0, 256, (frames, 48, 64, 3), dtype=np.uint8)
    return GenerationResult(
        frames=pixels, settings=settings, input=picture, timings={"pipeline": 1.0}, step_seconds=[0.5, 0.5],
        peak_vram_bytes=None, peak_vram_reserved_bytes=None, device="cpu", dtype="float32",
    )  # fmt: skip


def test_names_are_made_once_safely_and_never_reuse_an_output(tmp_path, input_picture):
    assert safe_name("My Photo (1).final.JPG") == "My_Photo_1_final"
    assert safe_name("my.photo.v2.png") == "my_photo_v2"
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name(".png") == "png" and safe_name("...") == "video"
    first = new_stem(tmp_path, "clip")
    save_generation(result(input_picture), first)
    second = new_stem(tmp_path, "clip")
    assert (first.name, second.name) == ("clip", "clip-2")
    assert timestamped_stem(tmp_path, "my.photo.v2.png").name.endswith("-my_photo_v2")
    with ThreadPoolExecutor(4) as savers:  # videos saved at once (one per engine) before any file is written
        stems = list(savers.map(lambda _: new_stem(tmp_path, "same"), range(8)))
    assert len(set(stems)) == 8


def test_a_generation_keeps_its_input_picture_and_a_poster(tmp_path, input_picture):
    made = result(input_picture)
    saved = save_generation(made, tmp_path / "clip", frames="zip")
    record = saved.record
    assert (record["video"], record["frames"], record["input_picture"], record["poster"]) == (
        "clip.mp4", "clip_frames.zip", "clip_input.png", "clip_poster.jpg",
    )  # fmt: skip
    assert (tmp_path / "clip_input.png").read_bytes() == input_picture.data  # the very file that was given
    assert load_image(tmp_path / "clip_input.png").sha256 == record["input_sha256"]
    poster = Image.open(tmp_path / "clip_poster.jpg")
    assert poster.format == "JPEG" and poster.size == (64, 48)
    with zipfile.ZipFile(saved.frames) as archive:
        assert archive.namelist() == ["0000.png", "0001.png", "0002.png"]
        with archive.open("0001.png") as frame:
            assert np.array_equal(np.asarray(Image.open(frame)), made.frames[1])


def test_a_picture_a_browser_cannot_show_is_kept_as_png(tmp_path):
    tiff = load_image(write_picture(tmp_path / "scan.tif", (96, 64)))
    saved = save_generation(result(tiff), tmp_path / "scan")
    kept = Image.open(saved.picture)
    assert saved.picture.name == "scan_input.png" and kept.format == "PNG"
    assert np.array_equal(np.asarray(kept), np.asarray(tiff.image))


def test_history_is_newest_first_skips_incomplete_and_hidden_entries_and_finds_dotted_names(tmp_path, input_picture):
    older = save_generation(result(input_picture, seed=1), tmp_path / "older")
    dotted = save_generation(result(input_picture, seed=2), tmp_path / "20261123-my.photo.v2")
    os.utime(older.sidecar, (1_000_000, 1_000_000))
    (tmp_path / "orphan.json").write_text(json.dumps({"video": "orphan.mp4", "seed": 3}))
    (tmp_path / "escape.json").write_text(json.dumps({"video": "../escape.mp4", "seed": 4}))
    (tmp_path.parent / "escape.mp4").write_bytes(b"not ours")
    (tmp_path / "garbled.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / ".older.1234abcd.partial.json").write_text(json.dumps(older.record))  # left by a crash
    history = list_history(tmp_path)
    assert [record["seed"] for record in history] == [2, 1]
    assert history[0]["sidecar"] == "20261123-my.photo.v2.json"
    assert output_file(tmp_path, history[0], "video") == dotted.video
    assert output_file(tmp_path, history[0], "input_picture") == dotted.picture


def test_delete_removes_every_file_of_one_generation_and_nothing_else(tmp_path, input_picture):
    keep = save_generation(result(input_picture, seed=1), tmp_path / "keep", frames="zip")
    gone = save_generation(result(input_picture, seed=2), tmp_path / "gone", frames="folder")
    record = next(record for record in list_history(tmp_path) if record["seed"] == 2)
    removed = delete_generation(tmp_path, record)
    assert {path.name for path in removed} == {
        "gone.json", "gone.mp4", "gone_frames", "gone_input.png", "gone_poster.jpg",
    }  # fmt: skip
    assert not gone.video.exists() and not gone.frames.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "keep.json", "keep.mp4", "keep_frames.zip", "keep_input.png", "keep_poster.jpg",
    ]  # fmt: skip
    assert keep.video.exists()
    assert delete_generation(tmp_path, {"sidecar": "../keep.json", "video": "/etc/hostname"}) == []


def test_a_full_disk_leaves_nothing_half_written_and_recovers_once_space_is_freed(tmp_path, input_picture):
    with tmpfs(tmp_path / "small", size_kb=512) as folder:
        filler = fill(folder, leave_bytes=4096)
        with pytest.raises(OutputError) as caught:
            save_generation(result(input_picture, frames=6), folder / "clip", frames="zip")
        assert str(caught.value).startswith(f"the disk is full: free space in {folder}")
        assert sorted(path.name for path in folder.iterdir()) == ["filler.bin"]  # no file under its final name
        with pytest.raises(OutputError, match="the disk is full"):
            check_output_folder(folder)  # and the next request is refused before any work
        filler.unlink()
        saved = save_generation(result(input_picture, frames=6), folder / "clip", frames="zip")
        assert saved.video.is_file() and saved.sidecar.is_file()


def test_an_unwritable_output_folder_is_found_before_any_work(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OutputError, match="is not a folder"):
        check_output_folder(tmp_path / "a-file" / "clip")
    with read_only(tmp_path / "read-only") as folder:
        expected = rf"the output folder {folder} cannot be written \((Read-only|Permission)"
        with pytest.raises(OutputError, match=expected):
            check_output_folder(folder)
    assert not any(path.name.startswith(".") for path in tmp_path.iterdir())


def test_stale_partials_are_removed_and_fresh_ones_kept(tmp_path):
    stale = tmp_path / ".clip.0a1b2c3d.partial.mp4"
    stale_folder = tmp_path / ".clip_frames.0a1b2c3d.partial"
    fresh = tmp_path / ".other.4e5f6a7b.partial.json"
    for path in (stale, fresh):
        path.write_bytes(b"x")
    stale_folder.mkdir()
    (stale_folder / "0000.png").write_bytes(b"x")
    hour_ago = time.time() - 3600
    for path in (stale, stale_folder):
        os.utime(path, (hour_ago, hour_ago))
    assert sorted(path.name for path in remove_stale_partials(tmp_path)) == sorted([stale.name, stale_folder.name])
    assert fresh.exists() and not stale.exists() and not stale_folder.exists()
