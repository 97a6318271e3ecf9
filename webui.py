"""SVD studio WebUI: a Gradio Blocks app over the generation engine in `svd/`. UI only: layout, events, progress.

    python webui.py [--share] [--host HOST] [--port PORT]

The page is served at once; the model downloads and loads in the background while the status line says how it goes.
Scripts use the `/generate` endpoint: `Client(url).predict(handle_file("photo.jpg"), api_name="/generate")`.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import gradio as gr
from gradio import FileData
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from svd.engine import Engine, Progress
from svd.errors import CancelledError, SvdError, first_line
from svd.history import list_history, output_file
from svd.image import InputImage, load_image
from svd.logs import setup_logging
from svd.memory import CHOICES as MEMORY_CHOICES
from svd.memory import check_profile
from svd.models import CATALOGUE, ModelDefaults, find_local_models
from svd.request import LIMITS, GenerationRequest
from svd.settings import Settings, read_logins
from svd.sizing import RESIZE_MODES, buckets, choose_size, fit_image, parse_size
from svd.store import SavedGeneration, save_generation, timestamped_stem

log = logging.getLogger("svd.webui")

AUTO, CUSTOM = "auto", "custom"
MOTION_WORDS = ((40, "almost still"), (90, "gentle"), (160, "moderate"), (210, "lively"), (255, "wild"))
STATUS_WORDS = {
    "idle": "Model not loaded",
    "downloading": "Downloading",
    "loading": "Loading",
    "ready": "Ready",
    "failed": "Model failed",
}
HISTORY_COLUMNS = ["When", "Picture", "Seed", "Size", "Frames", "FPS", "Motion", "Steps", "Took"]
CSS = """
#status { text-align: right; }
"""
MUTE_VIDEOS = """
() => {
  const mute = () => document.querySelectorAll("video").forEach((video) => { video.muted = true; });
  new MutationObserver(mute).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                      attributeFilter: ["src"]});
}
"""
"""Result videos autoplay and loop muted (Gradio's video player has no muted option); browsers allow muted autoplay."""


def uploaded_picture(payload: dict | None) -> InputImage | None:
    """The picture in an image input's raw payload. Events that read it skip Gradio's preprocessing
    (`preprocess=False`; Gradio still checks that it received the file), so our validation sees the original bytes
    (EXIF, 16-bit, colour profile) and explains a bad file in one line instead of failing inside Gradio."""
    if not payload or not payload.get("path"):
        return None
    return _load_upload(payload["path"], payload.get("orig_name") or Path(payload["path"]).name)


@functools.lru_cache(maxsize=8)
def _load_upload(path: str, name: str) -> InputImage:
    """Uploads are read once: the preview runs on every size or fit change, then Generate uses the same picture
    (Gradio stores each upload under a folder named by its content hash, so a path always holds the same bytes)."""
    return load_image(path, name=name)


def _no_progress(*args, **kwargs) -> None:
    """API calls have no progress bar to draw."""


# Text on the page


def motion_words(motion_bucket: float) -> str:
    return next(words for limit, words in MOTION_WORDS if motion_bucket <= limit)


def length_text(motion: float, frames: float, fps: float) -> str:
    seconds = frames / fps if fps else 0
    return (
        f"**{motion_words(motion).capitalize()}** motion · {int(frames)} frames at {int(fps)} fps "
        f"= **{seconds:.1f} s** of video"
    )


def status_text(engine: Engine) -> str:
    status = engine.status
    share = f" ({status.fraction:.0%})" if status.state == "downloading" and status.fraction is not None else ""
    return f"**{STATUS_WORDS[status.state]}** · {status.message}{share}"


def result_text(record: dict) -> str:
    vram = record.get("peak_vram_bytes")
    vram_text = f"{vram / 1024**3:.1f} GiB" if vram else "n/a (CPU)"
    return (
        f"**Seed** {record['seed']} · {record['width']}×{record['height']} ({record['resize']}) · "
        f"{record['num_frames']} frames at {record['fps']} fps ({record['duration_seconds']:.1f} s) · "
        f"motion {record['motion_bucket_id']} · noise {record['noise_aug_strength']} · "
        f"{record['num_inference_steps']} steps · guidance {record['min_guidance_scale']}→"
        f"{record['max_guidance_scale']} · decode chunk {record['decode_chunk_size']}  \n"
        f"**Took** {record['timings'].get('total', 0):.1f} s · **peak VRAM** {vram_text} · model {record['model']} · "
        f"memory profile {record['memory_profile']} · `{record['video']}`"
    )


def history_row(record: dict) -> list:
    return [
        str(record.get("created", ""))[:19].replace("T", " "),
        record.get("input_name", ""),
        record.get("seed"),
        f"{record.get('width')}×{record.get('height')}",
        record.get("num_frames"),
        record.get("fps"),
        record.get("motion_bucket_id"),
        record.get("num_inference_steps"),
        f"{record.get('timings', {}).get('total', 0):.1f} s",
    ]


# Choices


def size_choices(defaults: ModelDefaults) -> list[tuple[str, str]]:
    choices = [("auto (nearest to the picture)", AUTO)]
    for width, height in buckets(defaults):
        divisor = math.gcd(width, height)
        choices.append((f"{width}×{height} ({width // divisor}:{height // divisor})", f"{width}x{height}"))
    return [*choices, ("custom", CUSTOM)]


def size_spec(choice: str, width: float | None, height: float | None) -> str:
    """The size as `generate` takes it: auto, or WxH (the custom width and height when `custom` is chosen)."""
    return f"{int(width or 0)}x{int(height or 0)}" if choice == CUSTOM else choice


def model_choices(settings: Settings) -> list[tuple[str, str]]:
    choices = [(entry.title, entry.id) for entry in CATALOGUE.values()]
    choices += [(f"{folder.name} (local)", str(folder)) for folder in find_local_models(settings.models_dir)]
    if settings.model not in [value for _, value in choices]:
        choices.append((settings.model, settings.model))
    return choices


# The app


def build_app(engine: Engine, settings: Settings) -> gr.Blocks:
    defaults = engine.source().defaults

    def animate(
        picture: dict | None, controls: dict, progress: Callable, cancel: threading.Event
    ) -> SavedGeneration | None:
        """Validate, wait for the model, generate and save; shared by the page and the API. None if cancelled."""
        try:
            image = uploaded_picture(picture)
            if image is None:
                raise gr.Error("Add a picture first: drop one in, paste it, or click the picture box to upload.")
            request = GenerationRequest(
                image=image,
                model=controls["model"],
                num_frames=int(controls["frames"]),
                fps=int(controls["fps"]),
                motion_bucket_id=int(controls["motion"]),
                noise_aug_strength=float(controls["noise_aug"]),
                num_inference_steps=int(controls["steps"]),
                min_guidance_scale=float(controls["min_cfg"]),
                max_guidance_scale=float(controls["max_cfg"]),
                seed=None if controls["seed"] is None or int(controls["seed"]) < 0 else int(controls["seed"]),
                size=parse_size(controls["size"]),
                resize=controls["resize"],
                decode_chunk_size=int(controls["decode_chunk"]) or None,
                memory=controls["memory"],
            )
            engine.prepare(request)
            while engine.status.state in ("downloading", "loading"):
                progress(engine.status.fraction, desc=f"Waiting for the model: {engine.status.message}")
                time.sleep(0.5)

            def show(update: Progress) -> None:
                left = f" · about {update.eta_seconds:.0f} s left" if update.eta_seconds is not None else ""
                progress((update.step, update.total), desc=f"{update.stage.capitalize()}{left}", unit="steps")

            result = engine.generate(request, progress=show, cancel=cancel)
            progress(1.0, desc="Writing the MP4")
            return save_generation(result, timestamped_stem(settings.output_dir, image.name), frames="zip")
        except CancelledError:
            return None
        except SvdError as error:
            raise gr.Error(str(error), print_exception=False) from None
        except gr.Error:
            raise
        except Exception as error:
            log.exception("unexpected failure")
            raise gr.Error(
                f"Unexpected failure ({type(error).__name__}: {first_line(error)}); the server log has the details.",
                print_exception=False,
            ) from None

    async def animate_cancellably(picture: dict | None, controls: dict, progress: Callable) -> SavedGeneration | None:
        """Run `animate` in a worker thread. When Gradio cancels this event (the Cancel button, or a client's
        cancel), the engine is told at once and stops within a step; the event's slot is free meanwhile."""
        cancel = threading.Event()
        try:
            return await anyio.to_thread.run_sync(animate, picture, controls, progress, cancel, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            cancel.set()
            raise

    async def generate(
        picture: FileData,
        motion: int = defaults.motion_bucket_id,
        frames: int = defaults.num_frames,
        fps: int = defaults.fps,
        seed: int = -1,
        size: str = AUTO,
        resize: str = "crop",
        steps: int = defaults.num_inference_steps,
        min_cfg: float = 1.0,
        max_cfg: float = 3.0,
        noise_aug: float = defaults.noise_aug_strength,
        decode_chunk: int = 0,
        memory: str = settings.memory,
        model: str = settings.model,
    ) -> tuple[FileData, FileData, dict]:
        """Animate a picture into an MP4. Returns the video, its PNG frames as a zip, and every setting used.

        size is `auto` or `WxH`; resize is crop, pad or stretch; seed -1 draws one; decode_chunk 0 follows the
        memory profile (auto, full, balanced or low); model is svd, svd-xt, svd-xt-1.1, a Hub id or a folder."""
        controls = dict(
            motion=motion, frames=frames, fps=fps, seed=seed, size=size, resize=resize, steps=steps, min_cfg=min_cfg,
            max_cfg=max_cfg, noise_aug=noise_aug, decode_chunk=decode_chunk, memory=memory, model=model,
        )  # fmt: skip
        saved = await animate_cancellably(picture, controls, progress=_no_progress)
        if saved is None:
            raise gr.Error("The run was cancelled.")
        return FileData(path=str(saved.video)), FileData(path=str(saved.frames)), saved.record

    async def generate_on_page(
        picture, motion, frames, fps, seed, size_choice, width, height, resize, steps, min_cfg, max_cfg,
        noise_aug, decode_chunk, memory, model, progress=gr.Progress(),  # noqa: B008
    ):  # fmt: skip
        controls = dict(
            motion=motion, frames=frames, fps=fps, seed=seed, size=size_spec(size_choice, width, height),
            resize=resize, steps=steps, min_cfg=min_cfg, max_cfg=max_cfg, noise_aug=noise_aug,
            decode_chunk=decode_chunk, memory=memory, model=model,
        )  # fmt: skip
        saved = await animate_cancellably(picture, controls, progress)
        if saved is None:
            return [gr.skip()] * 5
        return (
            str(saved.video),
            gr.DownloadButton(value=str(saved.video), visible=True),
            gr.DownloadButton(value=str(saved.frames), visible=True),
            result_text(saved.record),
            saved.record,
        )

    def preview(picture, size_choice, width, height, resize, model):
        try:
            image = uploaded_picture(picture)
            if image is None:
                return None, ""
            requested = parse_size(size_spec(size_choice, width, height))
            size = choose_size(image.size, engine.source(model).defaults, requested)
            fitted = fit_image(image.image, size, resize)
        except SvdError as error:
            return None, f"**Cannot use this picture:** {error}"
        return fitted, f"The model will see **{size[0]}×{size[1]}** ({resize}, from {image.size[0]}×{image.size[1]})."

    def model_changed(model, picture, width, height, resize):
        try:
            model_defaults = engine.source(model).defaults
        except SvdError as error:
            gr.Warning(str(error))
            return [gr.skip()] * 7
        engine.load_in_background(model)
        fitted, notice = preview(picture, AUTO, width, height, resize, model)
        return (
            gr.Dropdown(choices=size_choices(model_defaults), value=AUTO),
            model_defaults.num_frames,
            model_defaults.fps,
            model_defaults.motion_bucket_id,
            model_defaults.num_inference_steps,
            fitted,
            notice,
        )

    def controls_from(record: dict | None) -> list:
        """Control values that reproduce a past generation, in the order of `controls` below."""
        if record is None:
            gr.Info("Nothing to reuse yet: generate a video, or pick one in the History tab.")
            return [gr.skip()] * len(controls)
        choices = size_choices(engine.source(record["model"]).defaults)
        size = f"{record['width']}x{record['height']}"
        choice = size if size in [value for _, value in choices] else CUSTOM
        return [
            record["motion_bucket_id"], record["num_frames"], record["fps"], record["seed"],
            gr.Dropdown(choices=choices, value=choice), record["width"], record["height"], record["resize"],
            record["num_inference_steps"], record["min_guidance_scale"], record["max_guidance_scale"],
            record["noise_aug_strength"], record["decode_chunk_size"], record["memory_profile"], record["model"],
        ]  # fmt: skip

    def refresh_history():
        records = list_history(settings.output_dir)
        return [history_row(record) for record in records], records

    def select_history(records: list[dict], event: gr.SelectData):
        record = records[event.index[0]]
        return str(output_file(settings.output_dir, record, "video")), result_text(record), record

    with gr.Blocks(title="SVD studio") as demo:
        with gr.Row(equal_height=True):
            with gr.Column(min_width=300):
                gr.Markdown("# SVD studio\nAny picture in, a short video out, with Stable Video Diffusion.")
            with gr.Column(min_width=300):
                status = gr.Markdown(status_text(engine), elem_id="status")
        with gr.Tabs() as tabs:
            with gr.Tab("Create", id="create"):
                with gr.Row():
                    with gr.Column(min_width=320):
                        picture = gr.Image(
                            label="Picture: drop, paste or click to upload",
                            type="filepath",
                            sources=["upload", "clipboard"],
                            height=320,
                            elem_id="picture",
                        )
                        notice = gr.Markdown(elem_id="notice")
                        framed = gr.Image(label="What the model will see", type="pil", interactive=False, height=240)
                        with gr.Row():
                            size_choice = gr.Dropdown(size_choices(defaults), value=AUTO, label="Size", min_width=160)
                            resize = gr.Radio(list(RESIZE_MODES), value="crop", label="Fit", min_width=160)
                        with gr.Row(visible=False) as custom_size:
                            width = gr.Number(defaults.width, label="Width", precision=0, minimum=64, maximum=2048)
                            height = gr.Number(defaults.height, label="Height", precision=0, minimum=64, maximum=2048)
                    with gr.Column(min_width=320):
                        motion = gr.Slider(
                            *LIMITS["motion_bucket_id"], value=defaults.motion_bucket_id, step=1,
                            label="Motion strength", info="1 keeps the scene almost still; 255 makes it wild",
                            elem_id="motion",
                        )  # fmt: skip
                        with gr.Row():
                            frames = gr.Slider(
                                2, 64, value=defaults.num_frames, step=1, label="Length (frames)", elem_id="frames"
                            )
                            fps = gr.Slider(1, 30, value=defaults.fps, step=1, label="Frames per second")
                        length = gr.Markdown(length_text(defaults.motion_bucket_id, defaults.num_frames, defaults.fps))
                        with gr.Row(equal_height=True):
                            seed = gr.Number(
                                -1, label="Seed (-1: random)", precision=0, minimum=-1, scale=3, elem_id="seed"
                            )
                            randomise = gr.Button("Randomise", scale=1, min_width=100)
                            reuse_seed = gr.Button("Last seed", scale=1, min_width=100)
                        with gr.Accordion("Advanced", open=False):
                            steps = gr.Slider(
                                *LIMITS["num_inference_steps"], value=defaults.num_inference_steps, step=1,
                                label="Steps", elem_id="steps",
                            )  # fmt: skip
                            with gr.Row():
                                min_cfg = gr.Slider(0, 10, value=1.0, step=0.1, label="Guidance, first frame")
                                max_cfg = gr.Slider(0, 10, value=3.0, step=0.1, label="Guidance, last frame")
                            noise_aug = gr.Slider(
                                0, 1, value=defaults.noise_aug_strength, step=0.01, label="Noise augmentation",
                                info="More noise: more motion, less likeness to the picture",
                            )  # fmt: skip
                            with gr.Row():
                                decode_chunk = gr.Slider(0, 32, value=0, step=1, label="Decode chunk (0: by memory)")
                                memory = gr.Dropdown(list(MEMORY_CHOICES), value=settings.memory, label="Memory")
                            model = gr.Dropdown(model_choices(settings), value=settings.model, label="Model")
                        with gr.Row():
                            generate_button = gr.Button("Generate", variant="primary", scale=3, elem_id="generate")
                            cancel_button = gr.Button("Cancel", variant="stop", scale=1, elem_id="cancel")
                        video = gr.Video(
                            label="Video", autoplay=True, loop=True, interactive=False, height=360, elem_id="video"
                        )
                        with gr.Row():
                            download_video = gr.DownloadButton("Download MP4", visible=False)
                            download_frames = gr.DownloadButton("Download PNG frames (zip)", visible=False)
                        info = gr.Markdown(elem_id="result-info")
                        reuse = gr.Button("Reuse these settings", elem_id="reuse")
                        last_record = gr.State(None)
            with gr.Tab("History", id="history") as history_tab:
                gr.Markdown(f"Past videos in `{settings.output_dir}`. Select a row to watch it.")
                history_table = gr.Dataframe(
                    headers=HISTORY_COLUMNS, interactive=False, wrap=True, elem_id="history-table"
                )
                history_records = gr.State([])
                with gr.Row():
                    with gr.Column(scale=2, min_width=320):
                        history_video = gr.Video(label="Video", autoplay=True, loop=True, interactive=False)
                    with gr.Column(scale=1, min_width=240):
                        history_info = gr.Markdown()
                        history_selected = gr.State(None)
                        history_reuse = gr.Button("Reuse these settings")
                        refresh = gr.Button("Refresh")

        controls = [motion, frames, fps, seed, size_choice, width, height, resize, steps, min_cfg, max_cfg,
                    noise_aug, decode_chunk, memory, model]  # fmt: skip
        sizing = [picture, size_choice, width, height, resize, model]
        private = dict(api_visibility="private")

        gr.api(generate, api_name="generate", concurrency_limit=1, concurrency_id="gpu")
        generation = generate_button.click(
            generate_on_page,
            [picture, *controls],
            [video, download_video, download_frames, info, last_record],
            concurrency_limit=1,
            concurrency_id="gpu",
            preprocess=False,
            **private,
        )
        generation.then(refresh_history, outputs=[history_table, history_records], **private)
        cancel_button.click(None, cancels=[generation], **private)

        gr.Timer(1.0).tick(lambda: status_text(engine), outputs=status, show_progress="hidden", queue=False, **private)
        for trigger in (picture.change, size_choice.change, width.change, height.change, resize.change):
            trigger(preview, sizing, [framed, notice], show_progress="hidden", preprocess=False, **private)
        size_choice.change(lambda choice: gr.Row(visible=choice == CUSTOM), size_choice, custom_size, **private)
        for slider in (motion, frames, fps):
            slider.change(length_text, [motion, frames, fps], length, show_progress="hidden", **private)
        model.input(
            model_changed,
            [model, picture, width, height, resize],
            [size_choice, frames, fps, motion, steps, framed, notice],
            preprocess=False,
            **private,
        )
        randomise.click(lambda: -1, outputs=seed, **private)
        reuse_seed.click(lambda record: record["seed"] if record else -1, last_record, seed, **private)
        reuse.click(controls_from, last_record, controls, **private)

        for event in (demo.load, history_tab.select, refresh.click):
            event(refresh_history, outputs=[history_table, history_records], **private)
        history_table.select(
            select_history, history_records, [history_video, history_info, history_selected], **private
        )
        history_reuse.click(
            lambda record: [*controls_from(record), gr.Tabs(selected="create") if record else gr.skip()],
            history_selected,
            [*controls, tabs],
            **private,
        )
    return demo


def health_route(engine: Engine) -> Route:
    """`/healthz`, outside Gradio's login: a health check asks the app itself whether it answers (and how the model
    is doing)."""

    async def health(request: Request) -> JSONResponse:
        status = engine.status
        return JSONResponse({"ok": True, "model": status.state, "message": status.message})

    return Route("/healthz", health)


def stop_on_sigterm() -> None:
    """`docker stop` sends SIGTERM to the server, which runs as PID 1 there, where SIGTERM has no default action:
    stop the way Ctrl-C does, so Gradio closes the server and the process exits at once."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SVD studio WebUI")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument("--host", help="address to listen on (default: HOST, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: PORT, else 7860)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        settings = Settings.from_env()
        logins = read_logins(settings)
        engine = Engine(device=settings.device, default_model=settings.model)
        engine.source()
        check_profile(settings.memory)
    except SvdError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    log.info(f"device: {engine.describe(settings.memory)}")
    stop_on_sigterm()
    engine.load_in_background()
    demo = build_app(engine, settings)
    demo.queue(max_size=settings.queue_size, default_concurrency_limit=1)
    demo.launch(
        server_name=args.host or settings.host,
        server_port=args.port or settings.port,
        share=args.share,
        auth=logins or None,
        root_path=settings.root_path or None,
        allowed_paths=[str(settings.output_dir.resolve())],
        app_kwargs={"routes": [health_route(engine)]},
        show_error=False,
        css=CSS,
        js=MUTE_VIDEOS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
