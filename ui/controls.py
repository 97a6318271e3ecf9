"""The settings of a run: the motion (described in words for a model that takes text), length and seed in view;
steps, guidance, noise, memory and the model under Advanced, each with a sentence that says what it does. The
GPU-only ones are hidden on a CPU, and those the chosen model's family does not take are hidden (`ui.model_family`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import gradio as gr

from svd.engine import Engine
from svd.families.catalogue import KINDS, ModelSource
from svd.models.entries import FamilyKind
from svd.models.memory import CHOICES as MEMORY_CHOICES
from svd.request import LIMITS
from svd.seeds import MAX_SEED, RANDOM_SEED, draw_seed
from svd.settings import Settings

from .choices import frame_range, model_choices
from .loras import LoraPicker, build_loras, connect_loras
from .model_family import (
    PAGE_CONTROLS,
    FamilyOf,
    about_text,
    build_motion_prompt,
    build_negative_prompt,
    family_finder,
    family_length,
    guidance_words,
    model_about,
)  # fmt: skip
from .model_picker import ModelPicker
from .text import length_text

HELP = {
    "motion": "1 keeps the scene almost still; 255 makes it wild",
    "steps": "Denoising steps: more is slower and a little cleaner. The model's default suits most pictures.",
    "min_cfg": "How closely the first frames follow the picture. Guidance ramps from this to the last frame's.",
    "noise_aug": "Noise added to the picture before animating: more gives more motion, less likeness.",
    "decode_chunk": "Frames turned into pixels at once: fewer use less GPU memory (1 flickers); 0 follows the "
    "memory profile.",
    "memory": "full keeps everything on the GPU (fastest); balanced moves each model to the GPU as it runs; low "
    "also works in chunks (SVD-XT under 8 GB); auto picks by free GPU memory.",
    "model": "Grouped by family. SVD makes 14 frames, SVD-XT 25; SVD-XT 1.1 is tuned for 6 fps and motion 127. Wan "
    "and LTX-Video follow a prompt as well as the picture: 5 s clips, larger and slower; FLF2V and A14B also end on "
    "a last frame. Turbo and the 4-step entries take 4 steps without guidance: several times faster, for trying "
    "ideas; LTX-Video's distilled model drafts in 8.",
    "variations": "Makes this many videos with the seeds after this one (seed, seed + 1, ...), side by side to "
    "pick from; together on the GPU when they fit.",
}


@dataclass
class RunSettings:
    motion_prompt: gr.Textbox
    """What should happen in the video, for a model that takes text; hidden for the others."""
    motion: gr.Slider
    frames: gr.Slider
    fps: gr.Slider
    length: gr.Markdown
    seed: gr.Number
    randomise: gr.Button
    last_seed: gr.Button
    variations: gr.Slider
    negative_prompt: gr.Textbox
    """What the video should not show, for a model that takes text (under Advanced)."""
    steps: gr.Slider
    min_cfg: gr.Slider
    max_cfg: gr.Slider
    noise_aug: gr.Slider
    decode_chunk: gr.Slider
    memory: gr.Dropdown
    model: gr.Dropdown
    model_about: gr.Markdown
    """Under the model list: the chosen model's family, defaults and facts."""
    picker: ModelPicker
    family: FamilyOf
    """The family of the model a model list value names."""
    about: Callable[[str], str]
    """`model_about`'s line for a model list value."""
    loras: LoraPicker

    @property
    def values(self) -> list:
        """The controls that hold a run's settings (after the size and the fit), in `Controls` order."""
        return [self.motion, self.frames, self.fps, self.seed, self.steps, self.min_cfg, self.max_cfg,
                self.noise_aug, self.decode_chunk, self.memory, self.model]  # fmt: skip

    @property
    def prompts(self) -> list:
        """The video's prompt and negative prompt (before the LoRAs, the last of the Create tab's controls)."""
        return [self.motion_prompt, self.negative_prompt]

    @property
    def model_defaults(self) -> list:
        """The controls that take a newly picked model's defaults."""
        return [self.frames, self.fps, self.motion, self.steps, self.min_cfg, self.max_cfg]


def build_settings(engine: Engine, settings: Settings) -> RunSettings:
    source = engine.source()
    defaults, kind = source.defaults, KINDS[source.defaults.family]
    owns = kind.own_settings
    motion_prompt = build_motion_prompt(kind)
    loras = build_loras(settings, kind)
    motion = gr.Slider(
        *LIMITS["motion_bucket_id"], value=defaults.motion_bucket_id, step=1, label="Motion", info=HELP["motion"],
        visible="motion_bucket_id" in owns, elem_id="motion",
    )  # fmt: skip
    with gr.Row():
        frames = gr.Slider(
            **frame_range(defaults), value=defaults.num_frames, label="Length (frames)", elem_id="frames"
        )
        fps = gr.Slider(1, 30, value=defaults.fps, step=1, label="Frames per second", elem_id="fps")
    takes_motion = "motion_bucket_id" in owns
    length = gr.Markdown(
        length_text(defaults.motion_bucket_id if takes_motion else None, defaults.num_frames, defaults.fps)
    )
    with gr.Row():
        seed = gr.Number(
            RANDOM_SEED, label=f"Seed ({RANDOM_SEED}: new each run)", precision=0, minimum=RANDOM_SEED,
            maximum=MAX_SEED, scale=2, min_width=120, elem_id="seed",
        )  # fmt: skip
        randomise = gr.Button("Randomise", size="sm", scale=1, min_width=80, elem_id="randomise")
        last_seed = gr.Button("Last seed", size="sm", scale=1, min_width=80, elem_id="last-seed")
    variations = gr.Slider(
        *LIMITS["variations"], value=1, step=1, label="Variations", info=HELP["variations"], elem_id="variations-count"
    )
    with gr.Accordion("Advanced", open=False):
        negative_prompt = build_negative_prompt(kind)
        advanced = _build_advanced(engine, settings, source, kind)
    family = family_finder(engine, settings)
    return RunSettings(
        motion_prompt, motion, frames, fps, length, seed, randomise, last_seed, variations, negative_prompt,
        *advanced, family, partial(about_text, engine, settings), loras,
    )  # fmt: skip


def _build_advanced(engine: Engine, settings: Settings, source: ModelSource, kind: FamilyKind) -> tuple:
    """Steps, guidance, noise augmentation, decode chunk, memory, the model and its line, and the model picker."""
    defaults, owns = source.defaults, kind.own_settings
    steps = gr.Slider(
        *LIMITS["num_inference_steps"], value=defaults.num_inference_steps, step=1, label="Steps",
        info=HELP["steps"], elem_id="steps",
    )  # fmt: skip
    with gr.Row():
        min_cfg = gr.Slider(
            0, 10, value=defaults.min_guidance_scale, step=0.1, label="Guidance, first frame", info=HELP["min_cfg"],
            visible="min_guidance_scale" in owns, elem_id="min-cfg",
        )  # fmt: skip
        max_cfg = gr.Slider(
            0, 10, value=defaults.max_guidance_scale, step=0.1, **guidance_words(kind), elem_id="max-cfg"
        )
    noise_aug = gr.Slider(
        0, 1, value=defaults.noise_aug_strength, step=0.01, label="Noise augmentation", info=HELP["noise_aug"],
        visible="noise_aug_strength" in owns, elem_id="noise-aug",
    )  # fmt: skip
    with gr.Row(visible=engine.device.type == "cuda"):
        decode_chunk = gr.Slider(0, 32, value=0, step=1, label="Decode chunk", info=HELP["decode_chunk"])
        memory = gr.Dropdown(list(MEMORY_CHOICES), value=settings.memory, label="Memory", info=HELP["memory"])
    model = gr.Dropdown(
        model_choices(settings), value=settings.model, label="Model", info=HELP["model"], elem_id="model"
    )
    model_about_line = gr.Markdown(model_about(source, kind), elem_id="model-about")
    picker = ModelPicker.build(engine, settings)
    return steps, min_cfg, max_cfg, noise_aug, decode_chunk, memory, model, model_about_line, picker


def connect_settings(run_settings: RunSettings, last_record: gr.State, settings: Settings) -> None:
    private = dict(api_visibility="private")
    sliders = [run_settings.motion, run_settings.frames, run_settings.fps]
    length = family_length(run_settings.family)
    for slider in sliders:
        slider.change(length, [*sliders, run_settings.model], run_settings.length, show_progress="hidden", **private)
    run_settings.randomise.click(draw_seed, outputs=run_settings.seed, **private)
    run_settings.last_seed.click(_last_seed, last_record, run_settings.seed, **private)
    connect_family(run_settings)
    connect_loras(run_settings.loras, run_settings.model, run_settings.family, settings)


def connect_family(run_settings: RunSettings) -> None:
    """A model picked from the list, or brought back by Reuse, shows the controls its family takes and hides the
    others, and the line under the list says what it is."""
    own = [getattr(run_settings, name) for name in PAGE_CONTROLS.values()]
    outputs = [*own, run_settings.max_cfg, *run_settings.prompts, run_settings.model_about, run_settings.length]
    length = family_length(run_settings.family)

    def follow(model: str, motion: float, frames: float, fps: float) -> list:
        kind = run_settings.family(model)
        if kind is None:
            return [gr.skip()] * len(outputs)
        return [
            *(gr.Slider(visible=key in kind.own_settings) for key in PAGE_CONTROLS),
            gr.Slider(**guidance_words(kind)),
            *(gr.Textbox(visible=kind.takes_text) for _ in run_settings.prompts),
            run_settings.about(model),
            length(motion, frames, fps, model),
        ]

    inputs = [run_settings.model, run_settings.motion, run_settings.frames, run_settings.fps]
    run_settings.model.change(follow, inputs, outputs, show_progress="hidden", api_visibility="private")


def _last_seed(record: dict | None):
    if record is None:
        gr.Info("No run yet: Last seed brings back the seed of your last video once you have made one.")
        return gr.skip()
    return record["seed"]
