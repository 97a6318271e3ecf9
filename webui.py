"""SVD studio WebUI: a Gradio Blocks app over the generation engine in `svd/`; its parts live in `ui/`.

    python webui.py [--share] [--host HOST] [--port PORT]

The page is served at once; the model downloads and loads in the background while the status banner says how it
goes. Scripts use the `/generate` endpoint: `Client(url).predict(handle_file("photo.jpg"), api_name="/generate")`,
and `/first_frames` and `/text_to_video` to start from a prompt.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

import gradio as gr
from starlette.middleware import Middleware

from svd.engine import Engine
from svd.errors import InputError, SvdError
from svd.logs import setup_logging
from svd.media.files import remove_leftovers
from svd.models.memory import check_profile
from svd.output.store import wait_for_background_writes
from svd.serve.pool import EnginePool, engine_options
from svd.serve.quota import DailyQuota
from svd.serve.ray_serve import RayBackend
from svd.serve.runs import STOPPED, RunJournal
from svd.settings import Settings, read_logins
from ui.api import register
from ui.api_finish import register_finish
from ui.api_text import register_text
from ui.camera import CAMERA_CSS
from ui.candidates import CandidateMaker
from ui.create import ACTIONS_CSS, build_create
from ui.edge import ApiEdge
from ui.generation import Runner
from ui.history import build_history
from ui.live_preview import PREVIEW_CSS
from ui.login_limit import LoginThrottle
from ui.routes import health_routes
from ui.status import build_status, output_problem
from ui.text_source import TEXT_CSS

log = logging.getLogger("svd.webui")

LOGIN_MESSAGE = (
    "Log in to use SVD studio. After a few wrong passwords, each further try must wait a while, longer each time "
    "(the page then says the credentials are wrong even when they are right: wait and try again)."
)

CSS = """
#status .banner { padding: 10px 14px; border-radius: 8px; border-left: 6px solid; line-height: 1.4; }
#status .banner > * { display: block; }
#status .banner-ready { background: #e8f6ec; border-color: #1f9d55; color: #14532d; }
#status .banner-busy, #status .banner-downloading, #status .banner-loading {
  background: #fff6e0; border-color: #d97706; color: #713f12; }
#status .banner-idle { background: #f1f5f9; border-color: #64748b; color: #1e293b; }
#status .banner-failed { background: #fdecec; border-color: #dc2626; color: #7f1d1d; }
#result-info.run-error, #text-notice.run-error { background: #fdecec; border-left: 6px solid #dc2626; color: #7f1d1d;
  padding: 8px 12px; border-radius: 8px; }
#generate.running::before { content: ""; width: 1em; height: 1em; margin-right: 0.5em; border-radius: 50%;
  border: 2px solid currentColor; border-right-color: transparent; animation: spin 0.8s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
#variations .grid-wrap, #history-gallery .grid-wrap { min-height: 0; max-height: none; overflow: visible; }
#history-video video { max-height: 70vh; }
@media (max-width: 640px) {
  #history-gallery .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
}
"""
MUTE_VIDEOS = """
() => {
  const mute = () => document.querySelectorAll("video").forEach((video) => { video.muted = true; });
  new MutationObserver(mute).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                      attributeFilter: ["src"]});
}
"""
"""Result videos autoplay and loop muted (Gradio's video player has no muted option); browsers allow muted autoplay."""


def build_app(
    pool: EnginePool, settings: Settings, quota: DailyQuota | None = None
) -> tuple[gr.Blocks, dict[str, list]]:
    """The page and the API; also returns each endpoint's inputs' defaults, for plain HTTP callers."""
    runner = Runner(pool, settings, quota)
    maker = CandidateMaker(pool, settings, quota)
    engine = pool.primary
    with gr.Blocks(title="SVD studio", delete_cache=cache_clean_up(settings)) as demo:
        with gr.Row(equal_height=True):
            with gr.Column(scale=1, min_width=260):
                gr.Markdown("# SVD studio\nAny picture or prompt in, a short video out, with Stable Video Diffusion.")
            with gr.Column(scale=2, min_width=300):
                status = build_status(runner, demo)
        with gr.Tabs() as tabs:
            with gr.Tab("Create", id="create"):
                create = build_create(engine, settings, runner, maker, status)
            build_history(engine, settings, create, tabs)
        status.connect()
        defaults = engine.source().defaults
        api_defaults = {**register(runner, defaults, demo), **register_text(runner, maker, defaults, demo)}
        api_defaults |= register_finish(runner, demo)
        if quota is not None:

            def left_today(request: gr.Request) -> str:
                return runner.left_today(request.username)

            demo.load(left_today, outputs=create.allowance, api_visibility="private")
    return demo, api_defaults


def cache_clean_up(settings: Settings) -> tuple[int, int]:
    """Gradio's clean-up of its cache (every upload and every file it sends are copied there): how often it looks,
    and how old a file it removes is, in seconds."""
    age = max(1, round(settings.cache_hours * 3600))
    return min(age, 600), age


def video_makers(settings: Settings) -> EnginePool | RayBackend:
    """An engine per GPU of this machine; or, with SVD_RAY_ADDRESS, the Ray cluster's replicas, this machine keeping
    one engine (which loads no SVD model) for what it does itself."""
    options = engine_options(settings)
    if settings.ray_address:
        return RayBackend(settings.ray_address, Engine(settings.device, settings.model, **options))
    return EnginePool.from_settings(settings, **options)


def daily_quota(settings: Settings, logins: list) -> DailyQuota | None:
    """The daily allowance, when there is one: it needs logins, since it counts per user."""
    if settings.daily_quota is None:
        return None
    if not logins:
        raise InputError("SVD_DAILY_QUOTA counts videos per user, so it needs logins", "set SVD_AUTH or SVD_AUTH_FILE")
    return DailyQuota(settings.quota_db, settings.daily_quota, settings.admins)


def stop_signals() -> threading.Event:
    """Set on SIGTERM (`docker stop`; the server is PID 1 there, where SIGTERM has no default action) or Ctrl-C.
    The handler only sets the event, so a signal can never land as an exception inside a library's call."""
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stopping


def stop(demo: gr.Blocks) -> None:
    """Close the server, let the frame zips being written finish, and leave at once: a model may still be loading
    in a daemon thread inside torch, which would abort the interpreter's shutdown. Every file is written whole and
    renamed, so nothing else is left to save."""
    log.info("stopping")
    demo.close()
    wait_for_background_writes(timeout=8)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SVD studio WebUI")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument("--host", help="address to listen on (default: HOST, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: PORT, else 7860)")
    args = parser.parse_args(argv)
    setup_logging()
    stopping = stop_signals()
    try:
        settings = Settings.from_env()
        logins = read_logins(settings)
        pool = video_makers(settings)
        pool.primary.source()
        check_profile(settings.memory)
        quota = daily_quota(settings, logins)
    except SvdError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for engine in pool.engines:
        log.info(f"engine {engine.worker}: {engine.describe(settings.memory)}")
    leftovers = remove_leftovers(settings.output_dir)
    if leftovers is None:
        log.warning("another process is saving videos in the output folder: what crashed runs left there stays")
    for leftover in leftovers or []:
        log.info(f"removed {leftover.name}, left half-written by an earlier run")
    for stopped in RunJournal(settings.output_dir).recover(quota) if leftovers is not None else []:
        log.info(f"{stopped.stem} was {STOPPED}: it is in the History, and what it cost was given back")
    problem = output_problem(settings.output_dir)
    if problem is not None:
        log.error(f"videos cannot be saved: {problem}")
    pool.load_in_background()
    demo, api_defaults = build_app(pool, settings, quota)
    demo.queue(max_size=settings.queue_size, default_concurrency_limit=1)
    launch(demo, args, settings, pool, logins, api_defaults)
    public = f" and {demo.share_url}" if demo.share_url else " (a public link too: --share)"
    log.info(f"serving on {demo.local_url.rstrip('/')}{public}")
    while not stopping.is_set():
        time.sleep(0.1)
    stop(demo)
    return 0


def launch(
    demo: gr.Blocks,
    args: argparse.Namespace,
    settings: Settings,
    pool: EnginePool | RayBackend,
    logins: list,
    api_defaults: dict,
) -> None:
    """Start serving in Gradio's threads and return."""
    demo.launch(
        prevent_thread_lock=True,
        server_name=args.host or settings.host,
        server_port=args.port or settings.port,
        share=args.share,
        auth=logins or None,
        auth_message=LOGIN_MESSAGE,
        root_path=settings.root_path or None,
        allowed_paths=[str(settings.output_dir.resolve())],
        max_file_size=f"{settings.max_upload_mb}mb",
        app_kwargs={
            "routes": health_routes(pool, settings.output_dir, details=not logins),
            "middleware": [Middleware(LoginThrottle), Middleware(ApiEdge, defaults=api_defaults)],
        },
        show_error=False,
        quiet=True,  # Gradio's own lines name its Python arguments (share=True); webui.py says where it serves
        css=CSS + CAMERA_CSS + TEXT_CSS + ACTIONS_CSS + PREVIEW_CSS,
        js=MUTE_VIDEOS,
    )


if __name__ == "__main__":
    sys.exit(main())
