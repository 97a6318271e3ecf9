"""`python -m svd` as a user runs it: real files in, MP4s and sidecars out, one-line errors with exit code 2."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from conftest import REPO_ROOT, run_svd, run_svd_here, write_picture
from mounts import read_only
from mp4 import decode, psnr
from PIL import Image

from svd.cli.main import main
from svd.engine import Engine

SIDECAR_KEYS = {
    "model", "seed", "width", "height", "num_frames", "fps", "motion_bucket_id", "noise_aug_strength",
    "num_inference_steps", "min_guidance_scale", "max_guidance_scale", "decode_chunk_size", "memory_profile",
    "input_sha256", "timings", "peak_vram_bytes", "versions", "speed",
}  # fmt: skip
QUICK = ["--frames", "3", "--steps", "1"]


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors, stderr
    for fragment in fragments:
        assert any(fragment in line for line in errors), (fragment, errors)


@pytest.fixture(scope="module")
def in_real_processes(tiny_model, tmp_path_factory) -> dict[str, tuple[Path, Future[subprocess.CompletedProcess]]]:
    """The runs below that go through a real process, as a script runs them, started at once (each is seconds of
    imports on one core, so two cores overlap them); by name, the folder each works in and its process: `lake`, an
    800x600 JPEG (in/lake.jpg) made into out/lake.mp4 with its frames, and `empty`, an empty picture (empty.jpg)."""
    lake, empty = tmp_path_factory.mktemp("lake"), tmp_path_factory.mktemp("empty")
    picture = write_picture(lake / "in" / "lake.jpg", (800, 600), quality=95)
    (empty / "empty.jpg").write_bytes(b"")
    with ThreadPoolExecutor(2) as starting:
        yield {
            "lake": (lake, starting.submit(
                run_svd, "generate", str(picture), "--model", str(tiny_model), "-o", str(lake / "out" / "lake.mp4"),
                "--frames", "6", "--fps", "9", "--steps", "2", "--motion", "60", "--seed", "42", "--save-frames",
            )),
            "empty": (
                empty, starting.submit(run_svd, "generate", str(empty / "empty.jpg"), "--model", str(tiny_model))
            ),
        }  # fmt: skip


def test_generate_writes_a_playable_mp4_sidecar_and_frames(tiny_model, in_real_processes):
    folder, running = in_real_processes["lake"]
    picture = folder / "in" / "lake.jpg"
    result = running.result()  # generate in/lake.jpg -o out/lake.mp4 --frames 6 --fps 9 --steps 2 --motion 60 ...
    assert result.returncode == 0, result.stderr
    video_path = folder / "out" / "lake.mp4"
    assert result.stdout.strip() == str(video_path)
    assert "seed 42" in result.stderr and "produces noise" in result.stderr

    video = decode(video_path)
    assert (video.codec, video.pix_fmt, video.fps) == ("h264", "yuv420p", 9.0)
    assert video.size == (224, 160)  # 4:3 picture -> the tiny model's 7:5 bucket
    assert video.frames.shape[0] == 6
    assert video.top_level_boxes.index("moov") < video.top_level_boxes.index("mdat")

    sidecar = json.loads((folder / "out" / "lake.json").read_text())
    assert sidecar.keys() >= SIDECAR_KEYS
    assert (sidecar["seed"], sidecar["fps"], sidecar["num_frames"], sidecar["motion_bucket_id"]) == (42, 9, 6, 60)
    assert (sidecar["width"], sidecar["height"], sidecar["model"]) == (224, 160, str(tiny_model))
    assert sidecar["speed"] == "plain"
    assert sidecar["peak_vram_bytes"] is None and sidecar["memory_profile"] == "cpu"
    assert sidecar["timings"]["video_encode"] > 0 and sidecar["timings"]["total"] > 0
    assert sidecar["versions"]["diffusers"] and sidecar["versions"]["torch"]
    assert sidecar["input_sha256"] == hashlib.sha256(picture.read_bytes()).hexdigest()

    frames = sorted((folder / "out" / "lake_frames").iterdir())
    assert [frame.name for frame in frames] == [f"{index:04d}.png" for index in range(6)]
    pngs = np.stack([np.asarray(Image.open(frame)) for frame in frames])
    assert pngs.shape == (6, 160, 224, 3)
    assert psnr(video.frames, pngs) > 25  # the video shows the frames that were generated
    assert not [p for p in (folder / "out").iterdir() if ".partial" in p.name]


def test_same_seed_gives_the_same_video_frames(tiny_model, tmp_path, capsys):
    picture = write_picture(tmp_path / "p.png", (256, 144))
    for name in ("a", "b"):
        args = ["generate", str(picture), "--model", str(tiny_model), "--seed", "5", "--save-frames"]
        assert main([*args, *QUICK, "-o", str(tmp_path / name)]) == 0
    for index in range(3):
        a = np.asarray(Image.open(tmp_path / "a_frames" / f"{index:04d}.png"))
        b = np.asarray(Image.open(tmp_path / "b_frames" / f"{index:04d}.png"))
        assert np.array_equal(a, b)


def test_batch_makes_one_video_per_good_input_and_reports_the_bad(tiny_model, tmp_path, capsys):
    folder = tmp_path / "pictures"
    write_picture(folder / "one.png", (256, 144))
    write_picture(folder / "two.jpg", (144, 256))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    (folder / "readme.txt").write_text("not a picture and not picked up from the folder")
    extra = write_picture(tmp_path / "three.webp", (192, 192))

    code = main(["generate", str(folder), str(extra), str(tmp_path / "missing.png"), "--model", str(tiny_model),
                 "-o", str(tmp_path / "videos"), *QUICK])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2
    assert_one_line_error(captured.err, "broken.png is", "cannot read missing.png")
    made = sorted(p.name for p in (tmp_path / "videos").iterdir())
    assert made == [
        f"{name}{suffix}"
        for name, picture in (("one", ".png"), ("three", ".webp"), ("two", ".jpg"))
        for suffix in (".json", ".mp4", f"_input{picture}", "_model_frames.zip", "_poster.jpg")
    ]
    assert decode(tmp_path / "videos" / "two.mp4").size == (144, 256)
    assert captured.out.split() == [str(tmp_path / "videos" / f"{name}.mp4") for name in ("one", "two", "three")]


def test_without_output_videos_go_to_the_output_folder(monkeypatch, tiny_model, tmp_path, capsys):
    monkeypatch.setenv("SVD_OUTPUT_DIR", str(tmp_path / "outputs"))
    picture = write_picture(tmp_path / "My Photo (1).png", (256, 144))
    for _ in range(2):
        assert main(["generate", str(picture), "--model", str(tiny_model), *QUICK]) == 0
    videos = sorted((tmp_path / "outputs").glob("*.mp4"))
    assert len(videos) == 2 and all("My_Photo_1" in video.name for video in videos)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frames", "1"], "frames 1 is out of range"),
        (["--motion", "256"], "motion 256 is out of range"),
        (["--fps", "0"], "fps 0 is out of range"),
        (["--size", "wide"], "size 'wide' is not understood"),
        (["--size", "5000x144"], "size 5000x144 is too large: use auto or at most 512 px a side"),
        (["--seed", "-5"], "seed -5 is out of range: use a value from 0 to 4294967295, or -1 for a random one"),
        (["--crf", "60"], "crf 60 is out of range"),
        (["--frames", "many"], "argument --frames: invalid int value"),
        (["--memory", "huge"], "argument --memory: invalid choice"),
        (["--speed", "compile"], "speed switch 'compile' is not known: use plain, or any of compile_unet"),
        (["--variations", "8", "--extend", "4"], "this asks for 32 videos' work (variations x segments x frames"),
        (["--interpolate", "4", "--fps", "40"], "the video would play at 160 fps; a video may play at most 120 fps"),
    ],
)
def test_bad_settings_are_one_line_errors(tiny_model, picture, capsys, args, message):
    assert run_main(["generate", str(picture), "--model", str(tiny_model), *args]) == 2
    assert_one_line_error(capsys.readouterr().err, message)


def run_main(args: list[str]) -> int:
    """`main`, also when argparse ends the program itself (usage errors exit through SystemExit)."""
    try:
        return main(args)
    except SystemExit as exit:
        return int(exit.code)


def test_bad_files_and_models_exit_2_with_one_line_and_no_traceback(in_real_processes, tmp_path, capsys):
    """Through a real process, as a script would see it (then here, without an interpreter's start-up)."""
    result = in_real_processes["empty"][1].result()  # generate empty.jpg, a file of 0 bytes
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        "error: empty.jpg is empty (0 bytes): choose a picture file (PNG, JPEG, WebP, GIF, BMP or TIFF)"
    )

    picture = write_picture(tmp_path / "ok.png")
    code, _, errors = run_svd_here(capsys, "generate", str(picture), "--model", str(tmp_path))
    assert code == 2
    assert_one_line_error(errors, "is not a model folder")


def test_make_tiny_writes_the_diffusers_layout(tmp_path, capsys):
    code, printed, errors = run_svd_here(capsys, "make-tiny", str(tmp_path / "tiny16"), "--variant", "fp16")
    assert code == 0, errors
    assert "produces noise" in errors
    folder = Path(printed.strip())
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "StableVideoDiffusionPipeline"
    assert index["feature_extractor"] == ["transformers", "CLIPImageProcessor"]
    assert index["unet"] == ["diffusers", "UNetSpatioTemporalConditionModel"]
    assert index["vae"] == ["diffusers", "AutoencoderKLTemporalDecoder"]
    assert index["image_encoder"] == ["transformers", "CLIPVisionModelWithProjection"]
    assert index["scheduler"] == ["diffusers", "EulerDiscreteScheduler"]
    for weights in ("unet/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.fp16.safetensors",
                    "image_encoder/model.fp16.safetensors"):  # fmt: skip
        assert (folder / weights).is_file()
    assert not list(folder.rglob("diffusion_pytorch_model.safetensors"))
    vae = json.loads((folder / "vae" / "config.json").read_text())
    assert len(vae["block_out_channels"]) == 4  # downsamples x8 like the real VAE
    clip = json.loads((folder / "image_encoder" / "config.json").read_text())
    assert clip["image_size"] == 224
    scheduler = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    assert scheduler["prediction_type"] == "v_prediction" and scheduler["use_karras_sigmas"] is True


def test_model_comes_from_svd_model_when_not_given(monkeypatch, tiny_model, picture, tmp_path, capsys):
    monkeypatch.setenv("SVD_MODEL", str(tiny_model))
    assert main(["generate", str(picture), *QUICK, "-o", str(tmp_path / "clip")]) == 0
    assert json.loads((tmp_path / "clip.json").read_text())["model"] == str(tiny_model)


def test_an_output_folder_that_cannot_be_written_stops_before_the_model_loads(tiny_model, picture, tmp_path, capsys):
    loads = []
    engine_load = Engine.load
    with (
        read_only(tmp_path / "read-only") as folder,
        patch.object(Engine, "load", lambda self, *args: loads.append(args) or engine_load(self, *args)),
    ):
        for output, message in (
            (
                f"{REPO_ROOT / 'README.md'}/clip",
                "the output folder is not a folder (a file is in the way): choose another",
            ),
            (f"{folder}/clip", "the output folder cannot be written"),
        ):
            code = main(["generate", str(picture), "--model", str(tiny_model), "-o", output, *QUICK])
            err = capsys.readouterr().err
            assert code == 2 and loads == []
            assert err.splitlines() == [next(line for line in err.splitlines() if message in line)], err
            assert err.startswith("error: ")


def test_ctrl_c_while_starting_is_one_line_and_exit_130(tiny_model, picture):
    process = subprocess.Popen(
        [sys.executable, "-m", "svd", "generate", str(picture), "--model", str(tiny_model)],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(0.5)  # torch and diffusers are still being imported
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (130, "error: interrupted\n")
