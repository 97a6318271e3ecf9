"""The Create tab: the picture and what the model will see, the aspect and the settings, Generate and Cancel, and
the result.

Laid out for the person in front of it: at laptop size the result sits beside the controls, in view while a run
goes; on a phone Generate follows the picture within a screen, and pressing it scrolls to the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from svd.engine import Engine
from svd.errors import SvdError
from svd.memory import CHOICES as MEMORY_CHOICES
from svd.request import LIMITS, MAX_SEED, RANDOM_SEED, draw_seed
from svd.settings import Settings
from svd.sizing import RESIZE_MODES

from .choices import AUTO, CUSTOM, MORE, aspect_choices, model_choices, more_choices, size_spec
from .examples import example_pictures
from .generation import Controls, Runner
from .model_picker import ModelPicker
from .preview import preview
from .reuse import controls_from
from .text import EMPTY_RESULT, error_text, length_text, result_text

HELP = {
    "steps": "Denoising steps: more is slower and a little cleaner. The model's default suits most pictures.",
    "min_cfg": "How closely the first frames follow the picture. Guidance ramps from this to the last frame's.",
    "max_cfg": "How closely the last frames follow the picture: higher keeps it, too high over-sharpens.",
    "noise_aug": "Noise added to the picture before animating: more gives more motion, less likeness.",
    "decode_chunk": "Frames turned into pixels at once: fewer use less GPU memory (1 flickers); 0 follows the "
    "memory profile.",
    "memory": "full keeps everything on the GPU (fastest); balanced moves each model to the GPU as it runs; low "
    "also works in chunks (SVD-XT under 8 GB); auto picks by free GPU memory.",
    "model": "SVD makes 14 frames, SVD-XT 25; SVD-XT 1.1 is tuned for 6 fps and motion 127.",
}
SCROLL_TO_RESULT = """() => {
  const video = document.querySelector('#video');
  const box = video?.getBoundingClientRect();
  if (box && (box.top < 0 || box.bottom > window.innerHeight)) {
    video.scrollIntoView({behavior: 'smooth', block: 'center'});
  }
}"""
"""Bring the result (where the progress shows) into view; centred, so that the page moving a little keeps it there."""


@dataclass
class CreateTab:
    """The parts of the tab that other parts of the page connect to."""

    picture: gr.Image
    controls: list[gr.components.Component]
    """In the order `reuse.controls_from` returns values for them."""
    run: gr.events.Dependency
    """The generation event: the History tab refreshes after it."""


def build_create(engine: Engine, settings: Settings, runner: Runner) -> CreateTab:
    defaults = engine.source().defaults
    on_gpu = engine.device.type == "cuda"
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            with gr.Row():
                picture = gr.Image(
                    label="Picture", type="filepath", sources=["upload", "clipboard"],
                    height=220, elem_id="picture", scale=3, min_width=150,
                )  # fmt: skip
                framed = gr.Image(
                    label="Model sees", type="pil", interactive=False, height=220, scale=2, min_width=120,
                    buttons=["fullscreen"], elem_id="framed",
                )  # fmt: skip
            notice = gr.Markdown(elem_id="notice")
            examples = example_pictures()
            if examples:
                gr.Examples(examples, inputs=picture, label="Or try an example", elem_id="examples")
            with gr.Row():
                aspect = gr.Radio(aspect_choices(defaults), value=AUTO, label="Aspect", elem_id="aspect", scale=4)
                resize = gr.Dropdown(
                    list(RESIZE_MODES), value="crop", label="Fit", elem_id="fit", scale=1, min_width=110
                )
            with gr.Row(visible=False) as more_row:
                more_size = gr.Dropdown(more_choices(defaults), label="More sizes", elem_id="more-size", min_width=160)
                width = gr.Number(
                    defaults.width, label="Width", precision=0, minimum=64, visible=False, elem_id="width"
                )
                height = gr.Number(
                    defaults.height, label="Height", precision=0, minimum=64, visible=False, elem_id="height"
                )
            with gr.Row():
                generate_button = gr.Button("Generate", variant="primary", scale=3, elem_id="generate")
                cancel_button = gr.Button(
                    "Cancel", variant="stop", scale=1, min_width=100, visible=False, elem_id="cancel"
                )
            motion = gr.Slider(
                *LIMITS["motion_bucket_id"], value=defaults.motion_bucket_id, step=1, label="Motion",
                info="1 keeps the scene almost still; 255 makes it wild", elem_id="motion",
            )  # fmt: skip
            with gr.Row():
                frames = gr.Slider(2, 64, value=defaults.num_frames, step=1, label="Length (frames)", elem_id="frames")
                fps = gr.Slider(1, 30, value=defaults.fps, step=1, label="Frames per second", elem_id="fps")
            length = gr.Markdown(length_text(defaults.motion_bucket_id, defaults.num_frames, defaults.fps))
            with gr.Row():
                seed = gr.Number(
                    RANDOM_SEED, label=f"Seed ({RANDOM_SEED}: new each run)", precision=0,
                    minimum=RANDOM_SEED, maximum=MAX_SEED, scale=2, min_width=120, elem_id="seed",
                )  # fmt: skip
                randomise = gr.Button("Randomise", size="sm", scale=1, min_width=80, elem_id="randomise")
                last_seed = gr.Button("Last seed", size="sm", scale=1, min_width=80, elem_id="last-seed")
            with gr.Accordion("Advanced", open=False):
                steps = gr.Slider(
                    *LIMITS["num_inference_steps"], value=defaults.num_inference_steps, step=1, label="Steps",
                    info=HELP["steps"], elem_id="steps",
                )  # fmt: skip
                with gr.Row():
                    min_cfg = gr.Slider(
                        0, 10, value=1.0, step=0.1, label="Guidance, first frame", info=HELP["min_cfg"]
                    )
                    max_cfg = gr.Slider(0, 10, value=3.0, step=0.1, label="Guidance, last frame", info=HELP["max_cfg"])
                noise_aug = gr.Slider(
                    0, 1, value=defaults.noise_aug_strength, step=0.01, label="Noise augmentation",
                    info=HELP["noise_aug"], elem_id="noise-aug",
                )  # fmt: skip
                with gr.Row(visible=on_gpu):
                    decode_chunk = gr.Slider(0, 32, value=0, step=1, label="Decode chunk", info=HELP["decode_chunk"])
                    memory = gr.Dropdown(
                        list(MEMORY_CHOICES), value=settings.memory, label="Memory", info=HELP["memory"]
                    )
                model = gr.Dropdown(
                    model_choices(settings), value=settings.model, label="Model", info=HELP["model"], elem_id="model"
                )
                picker = ModelPicker.build(engine, settings)
        with gr.Column(scale=1, min_width=320, elem_id="result"):
            video = gr.Video(label="Video", autoplay=True, loop=True, interactive=False, height=400, elem_id="video")
            with gr.Row():
                download_video = gr.DownloadButton("Download MP4", visible=False, elem_id="download-video")
                download_frames = gr.DownloadButton("Download PNG frames (zip)", visible=False)
            info = gr.Markdown(EMPTY_RESULT, elem_id="result-info")
            reuse = gr.Button("Reuse these settings", visible=False, elem_id="reuse")
            last_record = gr.State(None)

    controls = [aspect, more_size, width, height, resize, motion, frames, fps, seed, steps, min_cfg, max_cfg,
                noise_aug, decode_chunk, memory, model]  # fmt: skip
    private = dict(api_visibility="private")

    async def generate_on_page(
        picture, aspect, more_size, width, height, resize, motion, frames, fps, seed, steps, min_cfg, max_cfg,
        noise_aug, decode_chunk, memory, model, progress=gr.Progress(),  # noqa: B008
    ):  # fmt: skip
        controls = Controls(
            motion=motion, frames=frames, fps=fps, seed=RANDOM_SEED if seed is None else seed,
            size=size_spec(aspect, more_size, width, height), resize=resize, steps=steps, min_cfg=min_cfg,
            max_cfg=max_cfg, noise_aug=noise_aug, decode_chunk=decode_chunk, memory=memory, model=model,
        )  # fmt: skip
        try:
            saved = await runner.run(picture, controls, progress)
        except SvdError as error:
            message = gr.Markdown(error_text(str(error)), elem_classes=["run-error"])
            return None, *_hidden_downloads(), message, gr.skip(), gr.Button(visible=False)
        if saved is None:
            cancelled = gr.Markdown("The run was cancelled.", elem_classes=[])
            return gr.skip(), gr.skip(), gr.skip(), cancelled, gr.skip(), gr.skip()
        return (
            str(saved.video),
            gr.DownloadButton(value=str(saved.video), visible=True),
            gr.DownloadButton(value=str(saved.frames), visible=True),
            gr.Markdown(result_text(saved.record), elem_classes=[]),
            saved.record,
            gr.Button(visible=True),
        )

    def start():
        running = gr.Button("Generating…", interactive=False, elem_classes=["running"])
        return running, gr.Button(visible=True), gr.Markdown("**Generating…** the progress shows on the video.")

    def finish():
        return gr.Button("Generate", interactive=True, elem_classes=[]), gr.Button(visible=False)

    buttons = [generate_button, cancel_button]
    started = generate_button.click(start, outputs=[*buttons, info], queue=False, show_progress="hidden", **private)
    started.then(None, js=SCROLL_TO_RESULT, **private)  # once Cancel is there, which may move the result
    run = started.then(
        generate_on_page, [picture, *controls], [video, download_video, download_frames, info, last_record, reuse],
        concurrency_limit=1, concurrency_id="gpu", preprocess=False, show_progress_on=video, **private,
    )  # fmt: skip
    run.then(finish, outputs=buttons, show_progress="hidden", **private)
    cancel_button.click(finish, outputs=buttons, cancels=[run], show_progress="hidden", **private)

    sizing = [picture, aspect, more_size, width, height, resize, model]

    def show_preview(picture, aspect, more_size, width, height, resize, model):
        return preview(engine, settings, picture, size_spec(aspect, more_size, width, height), resize, model)

    for trigger in (picture.change, aspect.change, more_size.change, width.change, height.change, resize.change):
        trigger(show_preview, sizing, [framed, notice], show_progress="hidden", preprocess=False, **private)
    aspect.change(lambda choice: gr.Row(visible=choice == MORE), aspect, more_row, **private)
    more_size.change(
        lambda choice: (gr.Number(visible=choice == CUSTOM), gr.Number(visible=choice == CUSTOM)),
        more_size, [width, height], **private,
    )  # fmt: skip
    for slider in (motion, frames, fps):
        slider.change(length_text, [motion, frames, fps], length, show_progress="hidden", **private)
    randomise.click(draw_seed, outputs=seed, **private)
    last_seed.click(_last_seed, last_record, seed, **private)
    reuse.click(lambda record: controls_from(engine, settings, record), last_record, controls, **private)
    picker.connect(model, [aspect, more_size, frames, fps, motion, steps], sizing, [framed, notice], show_preview)
    return CreateTab(picture=picture, controls=controls, run=run)


def _hidden_downloads() -> tuple[gr.DownloadButton, gr.DownloadButton]:
    return gr.DownloadButton(value=None, visible=False), gr.DownloadButton(value=None, visible=False)


def _last_seed(record: dict | None):
    if record is None:
        gr.Info("No run yet: Last seed brings back the seed of your last video once you have made one.")
        return gr.skip()
    return record["seed"]
