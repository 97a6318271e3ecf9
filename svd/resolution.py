"""Resolving a request: its gaps filled from the model's defaults, the size and the seed picked, and every value
checked against the ranges and the model's family's rules, so bad settings fail before any model is loaded. It asks
the families, so it stands above them; the dataclasses it fills (`svd.request`) stand below."""

from __future__ import annotations

import dataclasses

from .camera.depth import DEFAULT_DEPTH_MODEL
from .camera.moves import NO_CAMERA, check_move
from .errors import InputError
from .families.catalogue import CATALOGUE, KINDS
from .finish.options import check_finish
from .input.sizing import RESIZE_MODES, choose_size
from .models.entries import FamilyKind, ModelDefaults
from .models.memory import check_profile
from .request import (
    LIMITS,
    LORA_STRENGTH,
    MAX_LORAS,
    OPTION_NAMES,
    GenerationRequest,
    GenerationSettings,
    check_text,
    shown_number,
)
from .seeds import RANDOM_SEED, draw_seed


def resolve_settings(
    request: GenerationRequest, model_name: str, defaults: ModelDefaults, memory_profile: str, decode_chunk: int
) -> GenerationSettings:
    """Fill the request's gaps from the model's defaults and validate the result."""
    check_profile(request.memory)
    if request.resize not in RESIZE_MODES:
        raise InputError(f"resize mode '{request.resize}' is not known: use one of {', '.join(RESIZE_MODES)}")
    kind = KINDS[defaults.family]
    check_family_settings(request, kind, model_name)
    check_last_frame(request, defaults, model_name)
    seed = draw_seed() if request.seed in (None, RANDOM_SEED) else request.seed
    move = check_move(request.camera)
    moving = move.name != NO_CAMERA
    width, height = choose_size(request.image.size, defaults, request.size)
    num_frames = _pick(request.num_frames, defaults.num_frames)
    finish = check_finish(request.finish)
    max_guidance = _pick(request.max_guidance_scale, defaults.max_guidance_scale)
    owned = kind.own_settings
    text = dataclasses.asdict(request.text) if request.text else {}
    video = ("motion_prompt", "motion_negative_prompt") if request.text else ("prompt", "negative_prompt")
    if request.prompt is not None:  # a first frame's text stays its own: the video's goes beside it
        text[video[0]] = check_text("prompt", request.prompt)
    if request.negative_prompt is not None:
        text[video[1]] = check_text("negative prompt", request.negative_prompt)
    settings = GenerationSettings(
        model=model_name,
        seed=seed,
        width=width,
        height=height,
        num_frames=num_frames,
        fps=_pick(request.fps, defaults.fps),
        motion_bucket_id=_pick(request.motion_bucket_id, defaults.motion_bucket_id)
        if "motion_bucket_id" in owned
        else None,
        noise_aug_strength=_pick(request.noise_aug_strength, defaults.noise_aug_strength)
        if "noise_aug_strength" in owned
        else None,
        num_inference_steps=_pick(request.num_inference_steps, defaults.num_inference_steps),
        min_guidance_scale=_pick(request.min_guidance_scale, defaults.min_guidance_scale)
        if "min_guidance_scale" in owned
        else max_guidance,
        max_guidance_scale=max_guidance,
        decode_chunk_size=min(_pick(request.decode_chunk_size, decode_chunk), num_frames),
        memory_profile=memory_profile,
        resize=request.resize,
        size_choice="auto" if request.size is None else f"{request.size[0]}x{request.size[1]}",
        family=kind.name,
        guidance_scale_2=defaults.guidance_scale_2,
        camera=move.name,
        camera_strength=_pick(request.camera_strength, move.strength) if moving else None,
        camera_amount=request.camera_amount if moving else None,
        depth_model=(request.depth_model or DEFAULT_DEPTH_MODEL) if move.needs_depth else None,
        **text,
        extend=finish.extend,
        interpolate=finish.interpolate,
        upscale=finish.upscale,
        upscaler=finish.upscaler if finish.upscale != "none" else None,
        loop=finish.loop,
        formats=finish.formats,
        variations=request.variations,
    )
    check_limits(settings)
    if settings.num_inference_steps > defaults.max_steps:
        raise InputError(
            f"steps {settings.num_inference_steps} is more than {model_name} takes",
            f"use 1 to {defaults.max_steps} (its default is {defaults.num_inference_steps})",
        )
    step = defaults.frame_step
    if (num_frames - 1) % step:
        near = max(1, round((num_frames - 1) / step)) * step + 1
        raise InputError(
            f"frames {num_frames} does not suit {model_name}, whose VAE packs {step} frames together",
            f"use 1 + a multiple of {step}, such as {near}",
        )
    return settings


FAMILY_SETTINGS = ("motion_bucket_id", "noise_aug_strength", "min_guidance_scale")
"""The request's settings that only some families take (`FamilyKind.own_settings`)."""


def check_family_settings(request: GenerationRequest, kind: FamilyKind, model_name: str) -> None:
    """Refuse, in one line that says which models take it, a setting the model's family does not take."""
    for key in FAMILY_SETTINGS:
        if getattr(request, key) is not None and key not in kind.own_settings:
            takers = " or ".join(other.title for other in KINDS.values() if key in other.own_settings)
            raise InputError(
                f"{OPTION_NAMES[key]} is a setting of {takers} models, which {model_name} is not",
                f"leave it out, or choose a {takers} model",
            )
    if request.prompt is not None and not kind.takes_text:
        takers, example = _takers(lambda other: other.takes_text)
        raise InputError(
            f"{model_name} does not take a prompt: only {takers} models follow one",
            f"leave the prompt out, or choose one such as {example}",
        )
    if request.loras and kind.lora_keys is None:
        takers, example = _takers(lambda other: other.lora_keys is not None)
        raise InputError(
            f"{model_name} takes no LoRAs: only {takers} models do",
            f"leave the LoRAs out, or choose one such as {example}",
        )
    check_loras(request)


def _takers(takes) -> tuple[str, str]:
    """The titles of the families for which `takes(kind)`, and a catalogue id of one of their models."""
    takers = " or ".join(other.title for other in KINDS.values() if takes(other))
    return takers, next(entry.id for entry in CATALOGUE.values() if takes(KINDS[entry.defaults.family]))


def check_last_frame(request: GenerationRequest, defaults: ModelDefaults, model_name: str) -> None:
    """A last frame only for a model that takes one, and always for one that needs one."""
    if request.last_frame is not None and defaults.last_frame == "no":
        takers = ", ".join(entry.id for entry in CATALOGUE.values() if entry.defaults.last_frame != "no")
        raise InputError(
            f"{model_name} does not take a last frame", f"leave it out, or choose a model that ends on one: {takers}"
        )
    if request.last_frame is None and defaults.last_frame == "required":
        raise InputError(
            f"{model_name} makes a video from a first to a last frame", "give it a last frame as well as the first"
        )


def check_loras(request: GenerationRequest) -> None:
    """At most `MAX_LORAS`, each once, each strength in `LORA_STRENGTH`."""
    names = [lora.name.strip() for lora in request.loras]
    if len(names) > MAX_LORAS:
        raise InputError(f"{len(names)} LoRAs were asked for", f"use at most {MAX_LORAS} at once")
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise InputError(f"LoRA {twice[:60]} is asked for twice", "give each LoRA once, with the strength it needs")
    low, high = LORA_STRENGTH
    for lora in request.loras:
        if not low <= lora.strength <= high:
            raise InputError(
                f"LoRA strength {shown_number(lora.strength)} is out of range",
                f"use a value from {shown_number(low)} to {shown_number(high)}",
            )


def check_limits(settings: GenerationSettings) -> None:
    for key, (low, high) in LIMITS.items():
        value = getattr(settings, key)
        if value is None:
            continue
        if not low <= value <= high:
            extra = f", or {RANDOM_SEED} for a random one" if key == "seed" else ""
            raise InputError(
                f"{OPTION_NAMES[key]} {shown_number(value)} is out of range",
                f"use a value from {shown_number(low)} to {shown_number(high)}{extra}",
            )


def _pick(value, default):
    return default if value is None else value
