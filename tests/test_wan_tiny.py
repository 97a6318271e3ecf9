"""The tiny random-weight Wan models: each is written in its Hub repository's layout (the folders, the class names of
`model_index.json`, a tokenizer that `AutoTokenizer` loads), loads with `WanImageToVideoPipeline.from_pretrained`
and animates a picture on the CPU, the same frames for the same seed; the full-size architectures build on `meta`
with the real parameter counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import WanImageToVideoPipeline
from PIL import Image
from transformers import AutoTokenizer

from svd.families.wan.tiny import TINY_ARCHITECTURES, build_random_pipeline

PROMPT = "A red kite drifts over the dunes, slow pan!"
FRAMES = 5
COMMON_CLASSES = {
    "scheduler": ["diffusers", "UniPCMultistepScheduler"],
    "text_encoder": ["transformers", "UMT5EncoderModel"],
    "tokenizer": ["transformers", "T5TokenizerFast"],
    "transformer": ["diffusers", "WanTransformer3DModel"],
    "vae": ["diffusers", "AutoencoderKLWan"],
}


@dataclass(frozen=True)
class Expected:
    """What an architecture's folder and run must show."""

    size: tuple[int, int]  # width, height: multiples of the VAE's factor times the transformer's patch
    pipeline: str
    classes: dict[str, list[str | None]]
    boundary_ratio: float | None = None
    expand_timesteps: bool = False
    flow_shift: float = 3.0
    latent_channels: int = 16
    transformer_inputs: int = 36  # noise, the first frame's latents, and a 4-channel mask (Wan 2.1, A14B)


EXPECTED = {
    "tiny-wan2.1": Expected(
        (64, 48),
        "WanImageToVideoPipeline",
        {
            "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
            "image_processor": ["transformers", "CLIPImageProcessor"],
            "transformer_2": [None, None],
        },
    ),
    "tiny-wan2.2-ti2v": Expected(
        (64, 32),
        "WanPipeline",
        {"transformer_2": [None, None]},
        expand_timesteps=True,
        flow_shift=5.0,
        latent_channels=48,
        transformer_inputs=48,
    ),
    "tiny-wan2.2-a14b": Expected(
        (64, 48),
        "WanImageToVideoPipeline",
        {
            "image_encoder": [None, None],
            "image_processor": [None, None],
            "transformer_2": ["diffusers", "WanTransformer3DModel"],
        },
        boundary_ratio=0.9,
    ),
}


@pytest.fixture(scope="module", params=[name for name in TINY_ARCHITECTURES if name in EXPECTED])
def model(request, tiny_wan) -> tuple[str, Path, WanImageToVideoPipeline]:
    """Each architecture written once (shared with the other tests), and loaded back. FLF2V, which needs a last
    frame, is run by test_last_frame."""
    architecture = request.param
    folder = tiny_wan[architecture]
    pipe = WanImageToVideoPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return architecture, folder, pipe


@pytest.fixture(scope="module")
def videos(model) -> dict[str, np.ndarray]:
    """Seed 0 twice and seed 1 once, 2 steps of 5 frames from a picture with a prompt."""
    architecture, _, pipe = model
    width, height = EXPECTED[architecture].size
    picture = Image.fromarray(np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8))

    def run(seed: int) -> np.ndarray:
        return pipe(
            image=picture,
            prompt=PROMPT,
            negative_prompt="blurry",
            height=height,
            width=width,
            num_frames=FRAMES,
            num_inference_steps=2,
            generator=torch.Generator("cpu").manual_seed(seed),
            output_type="np",
        ).frames

    return {"first": run(0), "again": run(0), "other": run(1)}


def test_the_folder_has_the_hub_layout_and_class_names(model):
    architecture, folder, _ = model
    expected = EXPECTED[architecture]
    index = json.loads((folder / "model_index.json").read_text())
    classes = {key: value for key, value in index.items() if isinstance(value, list)}
    assert classes == COMMON_CLASSES | expected.classes
    assert index["_class_name"] == expected.pipeline
    assert (index["boundary_ratio"], index["expand_timesteps"]) == (expected.boundary_ratio, expected.expand_timesteps)
    folders = {item.name for item in folder.iterdir() if item.is_dir()}
    assert folders == {name for name, (library, _) in classes.items() if library is not None}
    for name in folders - {"tokenizer", "scheduler", "image_processor"}:
        assert (folder / name / "config.json").is_file() and list((folder / name).glob("*.safetensors"))
    assert sum(file.stat().st_size for file in folder.rglob("*") if file.is_file()) < 4_000_000


def test_the_tokenizer_loads_and_round_trips_a_prompt(model):
    _, folder, pipe = model
    tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
    ids = tokenizer(PROMPT).input_ids
    assert ids[-1] == tokenizer.eos_token_id == 1 and tokenizer.pad_token_id == 0
    assert tokenizer.decode(ids, skip_special_tokens=True) == PROMPT
    assert tokenizer.unk_token_id in tokenizer("café").input_ids
    assert len(tokenizer) == pipe.text_encoder.config.vocab_size


def test_the_components_fit_together_as_in_the_real_model(model):
    architecture, _, pipe = model
    expected = EXPECTED[architecture]
    assert pipe.vae.config.z_dim == pipe.transformer.config.out_channels == expected.latent_channels
    assert pipe.transformer.config.in_channels == expected.transformer_inputs
    assert pipe.transformer.config.text_dim == pipe.text_encoder.config.d_model
    if pipe.image_encoder is not None:  # Wan 2.1 feeds the CLIP encoder's hidden states to the transformer
        assert pipe.transformer.config.image_dim == pipe.image_encoder.config.hidden_size
        assert pipe.image_processor.crop_size["height"] == pipe.image_encoder.config.image_size
    else:
        assert pipe.transformer.config.image_dim is None
    assert (pipe.transformer_2 is not None) == (expected.boundary_ratio is not None)
    scheduler = pipe.scheduler.config
    assert scheduler.prediction_type == "flow_prediction" and scheduler.use_flow_sigmas
    assert scheduler.flow_shift == expected.flow_shift
    assert not pipe.text_encoder.training


def test_a_generation_has_the_asked_shape(model, videos):
    architecture, _, _ = model
    width, height = EXPECTED[architecture].size
    frames = videos["first"]
    assert frames.shape == (1, FRAMES, height, width, 3)
    assert np.isfinite(frames).all() and frames.min() >= 0 and frames.max() <= 1


def test_the_same_seed_gives_the_same_frames_and_another_seed_others(videos):
    np.testing.assert_array_equal(videos["first"], videos["again"])
    assert not np.array_equal(videos["first"], videos["other"])


@pytest.mark.parametrize(
    ("architecture", "billions"),
    [
        ("wan2.1-i2v-14b-480p", {"transformer": 16.39, "vae": 0.127, "text_encoder": 5.68, "image_encoder": 0.632}),
        ("wan2.2-ti2v-5b", {"transformer": 5.00, "vae": 0.705, "text_encoder": 5.68}),
    ],
)
def test_the_full_size_architectures_build_on_meta_with_the_real_sizes(architecture, billions):
    pipe = build_random_pipeline(architecture, device="meta")
    sizes = {
        name: sum(parameter.numel() for parameter in component.parameters()) / 1e9
        for name, component in pipe.components.items()
        if isinstance(component, torch.nn.Module)
    }
    assert sizes == pytest.approx(billions, rel=0.01)
    assert pipe.transformer.device.type == "meta"
