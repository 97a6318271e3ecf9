"""Random-weight Wan image-to-video models in the exact diffusers layout of the Wan-AI `-Diffusers` repositories
(`model_index.json`, `transformer/`, `vae/`, `text_encoder/`, `tokenizer/`, `scheduler/`, and for Wan 2.1
`image_encoder/` + `image_processor/`, for Wan 2.2 A14B `transformer_2/`), built from the architecture configs in
`configs/` beside this module. Each loads with `WanImageToVideoPipeline.from_pretrained(folder)`.

- `tiny-wan2.1`: the Wan 2.1 I2V layout: a CLIP vision encoder whose second-to-last hidden states enter the
  transformer (`image_dim`, and the image key/value projections, `added_kv_proj_dim`, as in the 14B), the Wan 2.1
  VAE (z_dim 16, x8 in space, x4 in time), a 36-channel transformer input (noise, the first frame's latents and a
  4-channel mask), UMT5 text encoder, UniPC with flow_shift 3.0 (the 480P value).
- `tiny-wan2.1-flf2v`: the Wan 2.1 FLF2V layout: `tiny-wan2.1` with a position embedding over two pictures' CLIP
  tokens (`pos_embed_seq_len` 514, as in the 14B), so it takes a first and a last frame together.
- `tiny-wan2.2-ti2v`: the TI2V-5B layout: no image encoder, the Wan 2.2 VAE (z_dim 48, patch_size 2, residual
  blocks: x16 in space), a 48-channel transformer, `expand_timesteps` (the first frame's tokens get timestep 0),
  flow_shift 5.0. Like the real repository, its `model_index.json` names `WanPipeline`.
- `tiny-wan2.2-a14b`: the I2V-A14B layout: two experts (`transformer` for high noise, `transformer_2` below
  `boundary_ratio` 0.9 of the training timesteps), no image encoder, the Wan 2.1 VAE, flow_shift 3.0.
- `wan2.1-i2v-14b-480p` and `wan2.2-ti2v-5b`: the full-size architectures, for benchmarks (build them with
  `device="meta"`): time and memory do not depend on weight values.

The tiny ones keep the real geometry (the same component classes and compression factors, 224-pixel CLIP
pictures, the 512-token text context) with a few dozen channels and 1-3 MB of weights, so a 2-step generation of
9 frames at 64x48 (64x32 or 64x64 for TI2V, whose sizes are multiples of 32) takes about a second on a 2-core CPU.
They all produce noise.

No tokenizer can be downloaded here, so the T5 tokenizer is built locally (`svd.families.tokenizer`: 98 ids, one
per character; the tiny text encoders have exactly that many embeddings, the full-size ones keep UMT5-XXL's
256,384).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanTransformer3DModel
from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    T5Tokenizer,
    UMT5Config,
    UMT5EncoderModel,
)

from ...models.entries import DEFAULTS_FILE
from ..tokenizer import build_t5_tokenizer

CONFIGS = Path(__file__).parent / "configs"
TINY_ARCHITECTURES = ("tiny-wan2.1", "tiny-wan2.1-flf2v", "tiny-wan2.2-ti2v", "tiny-wan2.2-a14b")
ARCHITECTURES = (*TINY_ARCHITECTURES, "wan2.1-i2v-14b-480p", "wan2.2-ti2v-5b")
INDEX_FILE = "model_index.json"
TEXT_LENGTH = 512
"""Wan's text context in tokens: the pipeline's default `max_sequence_length`, and the length its attention
processor assumes when it splits image tokens from text tokens."""

_MODELS: dict[str, Callable[[dict], torch.nn.Module]] = {
    "transformer": WanTransformer3DModel.from_config,
    "transformer_2": WanTransformer3DModel.from_config,
    "vae": AutoencoderKLWan.from_config,
    "text_encoder": lambda config: UMT5EncoderModel(UMT5Config.from_dict(config)),
    "image_encoder": lambda config: CLIPVisionModelWithProjection(CLIPVisionConfig.from_dict(config)),
}


def build_random_pipeline(
    architecture: str, seed: int = 0, device: str | torch.device = "cpu"
) -> WanImageToVideoPipeline:
    """The pipeline with random weights, created directly on `device` (`meta` builds it without any memory), in
    evaluation mode (the UMT5 encoder has dropout)."""
    index = _read(architecture, INDEX_FILE)
    torch.manual_seed(seed)
    with torch.device(device):
        models = {name: build(_config(architecture, name)) for name, build in _MODELS.items() if _has(index, name)}
    tokenizer = build_tokenizer()
    vocab_size = models["text_encoder"].config.vocab_size
    if len(tokenizer) > vocab_size:
        raise ValueError(f"{architecture}: {len(tokenizer)} tokens for a text encoder of {vocab_size} embeddings")
    processor = None
    if _has(index, "image_processor"):
        processor = CLIPImageProcessorPil(**_read(architecture, "image_processor/preprocessor_config.json"))
    pipe = WanImageToVideoPipeline(
        **models,
        tokenizer=tokenizer,
        scheduler=UniPCMultistepScheduler.from_config(_read(architecture, "scheduler/scheduler_config.json")),
        image_processor=processor,
        boundary_ratio=index["boundary_ratio"],
        expand_timesteps=index["expand_timesteps"],
    )
    for model in models.values():
        model.eval()
    return pipe.to(device)


def save_random_model(architecture: str, folder: Path, seed: int = 0) -> Path:
    """Write the model to `folder` in the layout of its Hub repository, with the class names its
    `model_index.json` gives."""
    pipe = build_random_pipeline(architecture, seed)
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    _write_index_like_the_real_repo(architecture, folder)
    defaults = CONFIGS / architecture / DEFAULTS_FILE
    if defaults.is_file():  # the tiny ones state small defaults, so a default run takes a second
        shutil.copy(defaults, folder / DEFAULTS_FILE)
    return folder


def build_tokenizer() -> T5Tokenizer:
    """The tiny models' T5 tokenizer, with Wan's text context as its length."""
    return build_t5_tokenizer(TEXT_LENGTH)


def _read(architecture: str, name: str) -> dict:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, not {architecture!r}")
    return json.loads((CONFIGS / architecture / name).read_text())


def _config(architecture: str, component: str) -> dict:
    return _read(architecture, f"{component}/config.json")


def _has(index: dict, component: str) -> bool:
    return index.get(component, [None, None])[0] is not None


def _write_index_like_the_real_repo(architecture: str, folder: Path) -> None:
    """Replace the written `model_index.json` by the real repository's one. The real repos name classes that
    transformers resolves at load time (`T5TokenizerFast`, `CLIPImageProcessor`, which picks its backend) where the
    random models are built with `T5Tokenizer` and the Pillow backend (no torchvision); TI2V-5B's repository was
    written by `WanPipeline`, so it names that pipeline and has no image-encoder entries."""
    index_file = folder / INDEX_FILE
    written = json.loads(index_file.read_text())
    real = _read(architecture, INDEX_FILE)
    index = {"_class_name": real["_class_name"], "_diffusers_version": written["_diffusers_version"]}
    index |= {key: real[key] for key in sorted(real) if key != "_class_name"}
    index_file.write_text(json.dumps(index, indent=2) + "\n")
