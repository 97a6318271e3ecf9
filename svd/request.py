"""What to generate: the request a user (CLI or WebUI) makes, and the settings it resolves to (`svd.resolution`
fills and checks them), with the ranges every value must keep."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .camera.moves import AMOUNT_RANGE, NO_CAMERA, STRENGTH_RANGE
from .errors import InputError
from .finish.options import FinishOptions
from .input.image import InputImage
from .input.sizing import ResizeMode
from .seeds import MAX_SEED

LIMITS: dict[str, tuple[float, float]] = {
    "num_frames": (2, 128),
    "fps": (1, 60),
    "motion_bucket_id": (1, 255),
    "noise_aug_strength": (0.0, 1.0),
    "num_inference_steps": (1, 200),
    "min_guidance_scale": (0.0, 20.0),
    "max_guidance_scale": (0.0, 20.0),
    "decode_chunk_size": (1, 128),
    "seed": (0, MAX_SEED),
    "camera_strength": STRENGTH_RANGE,
    "camera_amount": AMOUNT_RANGE,
    "variations": (1, 8),
}
"""Accepted ranges, checked for both the CLI and the WebUI."""

OPTION_NAMES = {
    "num_frames": "frames",
    "fps": "fps",
    "motion_bucket_id": "motion",
    "noise_aug_strength": "noise augmentation",
    "num_inference_steps": "steps",
    "min_guidance_scale": "min guidance",
    "max_guidance_scale": "max guidance",
    "decode_chunk_size": "decode chunk",
    "seed": "seed",
    "camera_strength": "camera strength",
    "camera_amount": "camera amount",
    "variations": "variations",
}


@dataclass(frozen=True)
class TextSource:
    """Where a text-to-video run's picture came from: the user's prompt and negative prompt, the style preset that
    was applied to them, and the text-to-image model and seed that made the first frame."""

    prompt: str
    negative_prompt: str
    style: str
    t2i_model: str
    t2i_seed: int


LORA_STRENGTH = (-2.0, 2.0)
MAX_LORAS = 4


@dataclass(frozen=True)
class LoraChoice:
    """A LoRA a request asks for: a file in the loras folder, a Hub name or (CLI) a path, and how strongly."""

    name: str
    strength: float = 1.0


@dataclass(frozen=True)
class LoraUse:
    """A LoRA a generation used, as the sidecar records it: the name it was asked by, where it came from (`folder`,
    `hub` or `file`), the SHA-256 of its file, and its strength."""

    name: str
    source: str
    sha256: str
    strength: float


@dataclass
class GenerationRequest:
    """One picture to animate. `None` means "the model's default" (or, for the seed, "draw one at random")."""

    image: InputImage
    model: str | None = None
    num_frames: int | None = None
    fps: int | None = None
    motion_bucket_id: int | None = None
    noise_aug_strength: float | None = None
    num_inference_steps: int | None = None
    min_guidance_scale: float | None = None
    max_guidance_scale: float | None = None
    seed: int | None = None
    """None or -1: draw one. With variations, the first video's; video i gets seed + i."""
    size: tuple[int, int] | None = None
    """None: the aspect bucket nearest the picture ("auto")."""
    resize: ResizeMode = "crop"
    decode_chunk_size: int | None = None
    memory: str = "auto"
    camera: str = NO_CAMERA
    camera_strength: float | None = None
    """None: the move's default."""
    camera_amount: float = 1.0
    depth_model: str | None = None
    """For moves that need depth (orbit); None: the default depth model."""
    text: TextSource | None = None
    """For text to video: the prompt the picture was made from."""
    finish: FinishOptions = dataclasses.field(default_factory=FinishOptions)
    """What happens to the frames after the pipeline; all off by default."""
    variations: int = 1
    """How many videos to make, with consecutive seeds."""
    prompt: str | None = None
    """What the video should show, for models that take text (Wan); None: the text a first frame was made from."""
    negative_prompt: str | None = None
    loras: tuple[LoraChoice, ...] = ()
    """LoRAs on the model's network, for the families whose pipelines take them."""
    last_frame: InputImage | None = None
    """The picture the video should end on, for models that take one (`ModelDefaults.takes_last_frame`)."""


@dataclass(frozen=True)
class GenerationSettings:
    """Every value a generation used; written to the sidecar and enough to reproduce the video."""

    model: str
    seed: int
    width: int
    height: int
    num_frames: int
    fps: int
    motion_bucket_id: int | None
    """SVD's (None for a family without it, as for the noise augmentation)."""
    noise_aug_strength: float | None
    num_inference_steps: int
    min_guidance_scale: float
    max_guidance_scale: float
    decode_chunk_size: int
    memory_profile: str
    """full, balanced or low on a GPU; cpu on a CPU, where the profiles do not apply."""
    resize: ResizeMode
    size_choice: str
    """How the size was chosen: `auto`, or the `WxH` that was asked for (before snapping)."""
    family: str = "svd"
    """The model's family (`svd.families`): `svd` or `wan`."""
    guidance_scale_2: float | None = None
    """For a model with two experts: the low-noise expert's guidance (the other's is `max_guidance_scale`)."""
    camera: str = NO_CAMERA
    camera_strength: float | None = None
    """How closely the video follows the camera's guide, 0 to 1 (None without a camera move)."""
    camera_amount: float | None = None
    """How far the camera travels, as a multiple of the move's usual travel (None without a camera move)."""
    depth_model: str | None = None
    """The depth model a move that needs depth used."""
    prompt: str | None = None
    """What the video was asked to show (for a family that takes text), or the prompt its first frame was made from
    (text to video; below, the rest of what made it); None for a picture alone."""
    negative_prompt: str | None = None
    motion_prompt: str | None = None
    """For a text-to-video run with a model that takes text: what the video was asked to show, when it was asked
    something else than its first frame's text (`prompt`)."""
    motion_negative_prompt: str | None = None
    style: str | None = None
    t2i_model: str | None = None
    t2i_seed: int | None = None
    extend: int = 1
    """Finishing (see svd.finish.options): segments chained, then interpolation factor, upscale, loop, formats."""
    interpolate: int = 1
    upscale: str = "none"
    upscaler: str | None = None
    """The upscaler's weights when there is an upscale."""
    loop: str = "none"
    formats: tuple[str, ...] = ("mp4",)
    variations: int = 1
    """How many videos the request made together (consecutive seeds); this one is number `variation`, from 0."""
    variation: int = 0
    loras: tuple[LoraUse, ...] = ()

    @property
    def finish(self) -> FinishOptions:
        return FinishOptions(self.interpolate, self.upscale, self.upscaler, self.loop, self.extend, self.formats)

    @property
    def video_text(self) -> tuple[str, str | None]:
        """The prompt and negative prompt the video model follows: the motion's, else the picture's or first frame's
        text."""
        if self.motion_prompt is not None or self.motion_negative_prompt is not None:
            return self.motion_prompt or "", self.motion_negative_prompt
        return self.prompt or "", self.negative_prompt


MAX_TEXT = 2000
"""The longest text a setting takes (a prompt's text encoder reads 77 tokens of it)."""


def check_text(name: str, value: str) -> str:
    """Refuse text no person typed: longer than `MAX_TEXT`, or holding what is not a character (a lone surrogate)."""
    if len(value) > MAX_TEXT:
        raise InputError(f"{name} is {len(value):,} characters long", f"use at most {MAX_TEXT:,}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ", ".join(f"U+{ord(character):04X}" for character in error.object[error.start : error.end])
        raise InputError(f"{name} holds {code}, which is not a character", "send it as UTF-8 text") from None
    return value


def shown_number(value: float) -> str:
    """A number as a person writes it: whole numbers in full (not 4.29497e+09), a huge one shortened."""
    text = str(int(value)) if isinstance(value, int) or float(value).is_integer() else f"{value:g}"
    digits = text.lstrip("-")
    return text if len(digits) <= 12 else f"{text[: len(text) - len(digits) + 4]}… ({len(digits)} digits)"
