"""The output store and the history: names made once, every file named by the sidecar, deletes that take all of a
generation, and real full and read-only disks that leave nothing half-written."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import REPO_ROOT, write_picture
from mounts import fill, read_only, tmpfs
from mp4 import decode
from PIL import Image

from svd.errors import OutputError
from svd.input.image import load_image
from svd.media.files import PendingFiles, check_output_folder, remove_leftovers
from svd.media.frames import LazyFrames
from svd.output.history import delete_generation, list_history, output_file
from svd.output.store import new_stem, safe_name, save_generation, timestamped_stem
from svd.request import GenerationSettings
from svd.results import GenerationResult


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
        frames=pixels, model_frames=pixels, settings=settings, input=picture, timings={"pipeline": 1.0},
        step_seconds=[0.5, 0.5], peak_vram_bytes=None, peak_vram_reserved_bytes=None, device="cpu", dtype="float32",
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


def test_a_generation_keeps_its_input_picture_a_poster_and_the_models_frames(tmp_path, input_picture):
    made = result(input_picture)
    saved = save_generation(made, tmp_path / "clip")
    record = saved.record
    assert (record["video"], record["model_frames"], record["input_picture"], record["poster"]) == (
        "clip.mp4", "clip_model_frames.zip", "clip_input.png", "clip_poster.jpg",
    )  # fmt: skip
    assert (record["frames"], record["model_num_frames"]) == (None, 3)  # the video's PNGs only when asked
    assert (tmp_path / "clip_input.png").read_bytes() == input_picture.data  # the very file that was given
    assert load_image(tmp_path / "clip_input.png").sha256 == record["input_sha256"]
    poster = Image.open(tmp_path / "clip_poster.jpg")
    assert poster.format == "JPEG" and poster.size == (64, 48)
    with zipfile.ZipFile(saved.model_frames) as archive:
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


def test_with_logins_each_users_history_is_their_own_and_what_no_login_made_is_everyones(tmp_path, input_picture):
    theirs = dataclasses.replace(result(input_picture, seed=1), owner="alice")
    save_generation(theirs, tmp_path / "alices")
    save_generation(result(input_picture, seed=2), tmp_path / "no-login")
    seeds = {user: sorted(record["seed"] for record in list_history(tmp_path, user, ("root",)))
             for user in ("alice", "bob", "root", None)}  # fmt: skip
    assert seeds == {"alice": [1, 2], "bob": [2], "root": [1, 2], None: [1, 2]}


def test_delete_removes_every_file_of_one_generation_and_nothing_else(tmp_path, input_picture):
    keep = save_generation(result(input_picture, seed=1), tmp_path / "keep")
    gone = save_generation(result(input_picture, seed=2), tmp_path / "gone", png_folder=True)
    record = next(record for record in list_history(tmp_path) if record["seed"] == 2)
    removed = delete_generation(tmp_path, record)
    assert {path.name for path in removed} == {
        "gone.json", "gone.mp4", "gone_frames", "gone_model_frames.zip", "gone_input.png", "gone_poster.jpg",
    }  # fmt: skip
    assert not gone.video.exists() and not gone.model_frames.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "keep.json", "keep.mp4", "keep_input.png", "keep_model_frames.zip", "keep_poster.jpg",
    ]  # fmt: skip
    assert keep.video.exists()
    assert delete_generation(tmp_path, {"sidecar": "../keep.json", "video": "/etc/hostname"}) == []


def test_frames_made_on_demand_are_written_one_at_a_time(tmp_path, input_picture):
    """100 frames of 640x360 (69 MB, an upscaled video) through the MP4, the WebM and the PNG folder while less than
    a tenth of that is ever allocated at once: each frame is made, given to every file, and let go. The model's own
    frames, small and in memory already, are zipped in the background."""
    made = result(input_picture)
    gradient = np.linspace(0, 255, 640 * 360 * 3).astype(np.uint8).reshape(360, 640, 3)
    made.frames = LazyFrames(100, 360, 640, lambda index: np.roll(gradient, 7 * index, axis=1))
    made.settings = dataclasses.replace(made.settings, formats=("mp4", "webm"))
    tracemalloc.start()
    try:
        saved = save_generation(made, tmp_path / "long", png_folder=True, frames_later=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 69e6 / 10, f"{peak / 1e6:.1f} MB at once"
    assert decode(saved.video).frames.shape == (100, 360, 640, 3)
    pngs = sorted((tmp_path / "long_frames").iterdir())
    assert len(pngs) == 100 and np.array_equal(np.asarray(Image.open(pngs[99])), made.frames[99])
    assert saved.frames_written.wait(30)
    with zipfile.ZipFile(saved.model_frames) as archive:
        assert len(archive.namelist()) == 3
        assert np.array_equal(np.asarray(Image.open(archive.open("0002.png"))), made.model_frames[2])


def test_a_full_disk_leaves_nothing_half_written_and_recovers_once_space_is_freed(tmp_path, input_picture):
    with tmpfs(tmp_path / "small", size_kb=512) as folder:
        filler = fill(folder, leave_bytes=4096)
        with pytest.raises(OutputError) as caught:
            save_generation(result(input_picture, frames=6), folder / "clip")
        assert str(caught.value).startswith("the disk is full: free space in the output folder")
        assert str(folder) not in str(caught.value)
        assert sorted(path.name for path in folder.iterdir()) == ["filler.bin"]  # no file under any name
        with pytest.raises(OutputError, match="the disk is full"):
            check_output_folder(folder)  # and the next request is refused before any work
        filler.unlink()
        saved = save_generation(result(input_picture, frames=6), folder / "clip")
        assert saved.video.is_file() and saved.sidecar.is_file()


def test_a_job_bigger_than_the_free_space_is_refused_before_any_work(tmp_path):
    with tmpfs(tmp_path / "small", size_kb=96 * 1024) as folder:
        check_output_folder(folder, needed_bytes=16 * 1024**2)
        with pytest.raises(OutputError, match=r"the disk is full: .*this needs about 1,088 MB"):
            check_output_folder(folder, needed_bytes=1024**3)


def test_a_folder_that_turns_read_only_mid_save_gets_its_own_message(tmp_path):
    """The remount lands once the files are written, before they are renamed: the clean-up's own failures (it cannot
    remove them either) must not hide the cause."""
    with tmpfs(tmp_path / "remounted", size_kb=1024) as folder:
        with pytest.raises(OutputError) as caught, PendingFiles(folder) as pending:
            pending.temporary(folder / "clip.mp4").write_bytes(b"video")
            pending.temporary(folder / "clip.json").write_bytes(b"{}")
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            pending.commit()
        assert str(caught.value).startswith("the output folder cannot be written (Read-only file system)")
        assert not [path for path in folder.iterdir() if not path.name.startswith(".")]
        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
        assert len(remove_leftovers(folder)) == 2 and list(folder.iterdir()) == []  # the next start clears them


def test_an_unwritable_output_folder_is_found_before_any_work(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OutputError, match="is not a folder"):
        check_output_folder(tmp_path / "a-file" / "clip")
    with read_only(tmp_path / "read-only") as folder:
        with pytest.raises(OutputError, match=r"the output folder cannot be written \((Read-only|Permission)"):
            check_output_folder(folder)
    assert not any(path.name.startswith(".") for path in tmp_path.iterdir())


def test_what_a_crash_left_is_removed_at_start_unless_another_process_is_writing(tmp_path, input_picture):
    kept = save_generation(result(input_picture), tmp_path / "20261205-101500-kept")
    partial = tmp_path / ".clip.0a1b2c3d.partial.mp4"  # fresh: a crash a moment ago
    partial_folder = tmp_path / ".clip_frames.0a1b2c3d.partial"
    partial.write_bytes(b"x")
    partial_folder.mkdir()
    (partial_folder / "0000.png").write_bytes(b"x")
    orphans = ["20261205-101600-lost.mp4", "20261205-101600-lost_poster.jpg", "20261205-101600-lost_model_frames.zip"]
    for name in orphans:  # renamed before a crash, with no sidecar after them
        (tmp_path / name).write_bytes(b"x")
    mine = tmp_path / "holiday.mp4"  # not a name the studio gives
    mine.write_bytes(b"x")
    writer = subprocess.Popen(  # another process in the middle of a save
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    try:
        assert writer.stdout.readline().strip() == "holding"
        assert remove_leftovers(tmp_path) is None and partial.exists()
    finally:
        writer.kill()
        writer.wait()
    removed = remove_leftovers(tmp_path)
    assert sorted(path.name for path in removed) == sorted([partial.name, partial_folder.name, *orphans])
    kept_files = [kept.record[key] for key in ("video", "model_frames", "input_picture", "poster")]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([mine.name, kept.sidecar.name, *kept_files])


HOLD_LOCK = """
import sys, time
from pathlib import Path
from svd.media.files import PendingFiles
with PendingFiles(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(60)
"""
"""A process that holds an output folder as a save does, until it is killed."""
