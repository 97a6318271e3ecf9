"""Text to video from the command line on the tiny models: first-frame candidates, a video from a prompt whose first
frame is the candidate of the same seed, the sidecar's text keys, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mp4 import decode
from PIL import Image
from test_cli import assert_one_line_error, run_main

from svd.text.styles import load_styles


def test_make_tiny_text_to_image_writes_a_model_the_cli_uses(tmp_path, capsys):
    assert run_main(["make-tiny", str(tmp_path / "t2i"), "--text-to-image"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "t2i")
    assert {"model_index.json", "unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2"} <= {
        path.name for path in (tmp_path / "t2i").iterdir()
    }


def test_a_prompt_becomes_a_video_whose_first_frame_is_the_candidate_of_its_seed(
    tiny_model, tiny_text_model, tmp_path, capsys
):
    common = ["--prompt", "a red fox", "--negative-prompt", "snow", "--style", "anime", "--aspect", "9:16",
              "--t2i-model", str(tiny_text_model), "--model", str(tiny_model), "--seed", "7"]  # fmt: skip
    assert run_main(["first-frames", *common, "-n", "2", "-o", str(tmp_path / "candidates")]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == [str(tmp_path / "candidates" / f"first_frame_{seed}.png") for seed in (7, 8)]

    args = ["generate", *common, "--frames", "3", "--steps", "1", "-o"]
    assert run_main([*args, str(tmp_path / "fox")]) == 0
    sidecar = json.loads((tmp_path / "fox.json").read_text())
    assert {key: sidecar[key] for key in ("prompt", "negative_prompt", "style", "t2i_model", "t2i_seed")} == {
        "prompt": "a red fox", "negative_prompt": "snow", "style": "anime", "t2i_model": str(tiny_text_model),
        "t2i_seed": 7,
    }  # fmt: skip
    assert sidecar["first_frame"] == sidecar["input_picture"] == "fox_first_frame.png"
    assert (sidecar["width"], sidecar["height"], sidecar["seed"]) == (144, 256, 7)  # the 9:16 bucket
    first = np.asarray(Image.open(tmp_path / "fox_first_frame.png").convert("RGB"))
    candidate = np.asarray(Image.open(tmp_path / "candidates" / "first_frame_7.png").convert("RGB"))
    assert first.shape == (256, 144, 3) and np.array_equal(first, candidate)
    assert decode(tmp_path / "fox.mp4").frames.shape == (3, 256, 144, 3)


def test_styles_are_listed(capsys):
    assert run_main(["styles"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list(load_styles())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompt", "  "], "the prompt is empty"),
        (["--prompt", "a cat", "--style", "glam"], "style 'glam' is not known: use one of none, photographic"),
        (["--prompt", "a cat", "--aspect", "5:4"], "aspect '5:4' is not known: use one of 16:9, 9:16, 1:1"),
        (["--prompt", "a cat", "--t2i-model", "no such"], "unknown text-to-image model 'no such'"),
        (["--prompt", "a cat", "--frames", "1"], "frames 1 is out of range"),
        ([], "give pictures, or --prompt TEXT to start from text"),
    ],
)
def test_bad_text_input_is_one_line(tiny_model, capsys, args, message):
    assert run_main(["generate", "--model", str(tiny_model), *args]) == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, message)
    assert "making" not in err  # refused before any model loads
