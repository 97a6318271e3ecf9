"""Every environment variable the project reads, in one place.

Hugging Face's own variables (`HF_TOKEN`, `HF_HOME`, `HF_ENDPOINT`, `HF_HUB_OFFLINE`) are read by huggingface_hub
itself; they are listed here so that the documentation and the error messages have one source.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

ENVIRONMENT: dict[str, str] = {
    "SVD_MODEL": "Model: a catalogue id (svd, svd-xt, svd-xt-1.1), a Hub id or a local folder. Default svd-xt.",
    "SVD_DEPTH_MODEL": "Depth model for orbit moves: depth-anything-v2-small, a Hub id or a local folder. "
    "Default depth-anything-v2-small.",
    "SVD_T2I_MODEL": "Text-to-image model that makes the WebUI's first frames: dreamshaper-xl-lightning, "
    "flux-schnell, a Hub id or a local folder. Default dreamshaper-xl-lightning.",
    "SVD_INTERPOLATOR": "Frame interpolation weights: rife-4.25, a RIFE flownet.pkl or release zip, or minterpolate "
    "for ffmpeg's alone. Default rife-4.25 (ffmpeg's minterpolate when its weights cannot be fetched).",
    "SVD_UPSCALER": "Upscaler weights: realesr-general-x4v3 (fast), realesrgan-x4 (quality) or a Real-ESRGAN-family "
    ".pth file. Default realesr-general-x4v3.",
    "SVD_STYLES_FILE": "JSON file of extra style presets (the same form as svd/text/styles.json). Default "
    "./styles.json; launch.sh puts it in the data folder.",
    "SVD_MEMORY": "Memory profile: auto, full, balanced or low. Default auto.",
    "SVD_SPEED": "Speed switches: plain, or switches joined by commas. SVD takes compile_unet, compile_vae, "
    "cuda_graphs, channels_last, fuse_qkv, decode_chunk_from_memory, attention=flash|efficient|cudnn|math (exact); "
    "Wan and LTX-Video take attention=native|flash|efficient|cudnn|math|sage, cache=first_block (lossy) and "
    "compile_transformer. Default plain.",
    "SVD_DEVICE": "Device: auto, cuda or cpu. Default auto.",
    "SVD_GPUS": "Which GPUs get an engine each: all, or indices such as 0,1. Default all.",
    "SVD_DEVICES": "The devices to run one engine each on, outright: cuda:0,cuda:1, or cpu,cpu to try several "
    "engines on a CPU. Overrides SVD_GPUS and SVD_DEVICE.",
    "SVD_DAILY_QUOTA": "With logins on: videos each user may make per day (UTC); unset for no limit.",
    "SVD_ADMINS": "With a quota: users it does not apply to, separated by commas.",
    "SVD_QUOTA_DB": "The SQLite file of the daily counts. Default ./quota.sqlite; launch.sh puts it in the data "
    "folder.",
    "SVD_MAX_WORK": "The most work one request may ask for, in videos at the server model's own settings "
    "(variations, segments, frames, size, steps and finishing all count). Default 16.",
    "SVD_MAX_FRAMES": "The most frames a written video may have. Default 1000.",
    "SVD_MAX_FPS": "The highest frame rate a written video may play at. Default 120.",
    "SVD_MAX_PIXELS": "The most pixels a frame of a written video may have. Default 8294400 (3840x2160).",
    "SVD_MAX_MEMORY_GB": "The most memory the frames of one request may hold at once, in GB. Default 8.",
    "SVD_RAY_ADDRESS": "A Ray cluster (ray://host:10001, or auto) whose Serve deployment makes the videos; unset to "
    "make them on this machine's GPUs.",
    "SVD_OUTPUT_DIR": "Folder for videos, sidecars and history. Default ./outputs.",
    "SVD_MODELS_DIR": "Folder searched for local models (one diffusers folder each) for the WebUI. Default ./models.",
    "SVD_LORAS_DIR": "Folder of LoRA files (.safetensors) the WebUI lists and every face takes by file name. "
    "Default ./loras.",
    "SVD_HUB_MODELS": "Hub ids the WebUI's page and API may ask for besides the catalogue and the models folder, "
    "models and LoRAs (owner/repo or owner/repo/file.safetensors): patterns separated by commas, such as myorg/* "
    "(or * for any). Default none.",
    "HOST": "Address the WebUI listens on (also GRADIO_SERVER_NAME). Default 127.0.0.1; 0.0.0.0 in the image.",
    "PORT": "Port the WebUI listens on (also GRADIO_SERVER_PORT). Default 7860.",
    "SVD_AUTH": "WebUI login as user:password (several separated by commas).",
    "SVD_AUTH_FILE": "File of WebUI logins, one user:password per line.",
    "SVD_ROOT_PATH": "URL path the WebUI is served under behind a reverse proxy, e.g. /svd.",
    "SVD_QUEUE_SIZE": "Most requests waiting in the WebUI's queue. Default 20.",
    "SVD_MAX_UPLOAD_MB": "Largest picture the WebUI and its API accept, in MB. Default 50.",
    "SVD_CACHE_HOURS": "How long the WebUI keeps its temporary copies of uploads and of the files it sends (Gradio's "
    "cache), in hours; the videos themselves stay in the output folder. Default 6.",
    "HF_TOKEN": "Hugging Face token of an account that accepted the SVD licence (the models are gated).",
    "HF_HOME": "Hugging Face cache folder, where downloaded weights live. Default ~/.cache/huggingface.",
    "HF_ENDPOINT": "Hugging Face Hub address, for a mirror. Default https://huggingface.co.",
    "HF_HUB_OFFLINE": "Set to 1 to use only weights already in the cache.",
    "SVD_BAKED_CACHE": "A read-only Hugging Face cache baked into the image; models in it are not downloaded again.",
    "SVD_DEBUG": "Set to 1 to see the traceback of an unexpected failure instead of a one-line error.",
    # Read by launch.sh, which turns them into HF_HOME, SVD_OUTPUT_DIR, SVD_MODELS_DIR and SVD_LORAS_DIR before
    # Python starts.
    "SVD_DATA_DIR": "Folder for weights, videos, local models and LoRAs. Default /workspace/svd if writable, else "
    "./data.",
    "SVD_VOLUME": "The marketplace volume launch.sh uses when it is writable. Default /workspace.",
    "SVD_PYTHON": "A prepared Python interpreter for launch.sh to use instead of creating .venv.",
}


@dataclass(frozen=True)
class Limits:
    """The most one request may ask for (`SVD_MAX_WORK`, `SVD_MAX_FRAMES`, `SVD_MAX_FPS`, `SVD_MAX_PIXELS`,
    `SVD_MAX_MEMORY_GB`)."""

    work: float = 16.0
    """In units: videos at the server model's own settings."""
    frames: int = 1000
    """Frames of a written video."""
    fps: int = 120
    """Frames per second of a written video."""
    pixels: int = 3840 * 2160
    """Pixels of one frame of a written video."""
    memory_gb: float = 8.0
    """Frames held in the server's memory at once for one request."""


@dataclass(frozen=True)
class Settings:
    model: str = "svd-xt"
    depth_model: str = "depth-anything-v2-small"
    t2i_model: str = "dreamshaper-xl-lightning"
    interpolator: str = "rife-4.25"
    upscaler: str = "realesr-general-x4v3"
    styles_file: Path = Path("styles.json")
    memory: str = "auto"
    speed: str = "plain"
    device: str = "auto"
    gpus: str = "all"
    devices: tuple[str, ...] = ()
    daily_quota: int | None = None
    admins: tuple[str, ...] = ()
    quota_db: Path = Path("quota.sqlite")
    ray_address: str = ""
    output_dir: Path = Path("outputs")
    models_dir: Path = Path("models")
    loras_dir: Path = Path("loras")
    hub_models: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""
    auth_file: str = ""
    root_path: str = ""
    limits: Limits = field(default_factory=Limits)
    queue_size: int = 20
    max_upload_mb: int = 50
    cache_hours: float = 6.0
    baked_cache: Path | None = None
    hf_token_set: bool = False
    debug: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            model=environ.get("SVD_MODEL") or cls.model,
            depth_model=environ.get("SVD_DEPTH_MODEL") or cls.depth_model,
            t2i_model=environ.get("SVD_T2I_MODEL") or cls.t2i_model,
            interpolator=environ.get("SVD_INTERPOLATOR") or cls.interpolator,
            upscaler=environ.get("SVD_UPSCALER") or cls.upscaler,
            styles_file=Path(environ.get("SVD_STYLES_FILE") or cls.styles_file),
            memory=environ.get("SVD_MEMORY") or cls.memory,
            speed=environ.get("SVD_SPEED") or cls.speed,
            device=environ.get("SVD_DEVICE") or cls.device,
            gpus=environ.get("SVD_GPUS") or cls.gpus,
            devices=_listed(environ.get("SVD_DEVICES", "")),
            daily_quota=_integer(environ, "SVD_DAILY_QUOTA", default=None),
            admins=_listed(environ.get("SVD_ADMINS", "")),
            quota_db=Path(environ.get("SVD_QUOTA_DB") or cls.quota_db),
            ray_address=environ.get("SVD_RAY_ADDRESS", ""),
            output_dir=Path(environ.get("SVD_OUTPUT_DIR") or cls.output_dir),
            models_dir=Path(environ.get("SVD_MODELS_DIR") or cls.models_dir),
            loras_dir=Path(environ.get("SVD_LORAS_DIR") or cls.loras_dir),
            hub_models=_listed(environ.get("SVD_HUB_MODELS", "")),
            host=environ.get("HOST") or environ.get("GRADIO_SERVER_NAME") or cls.host,
            port=_integer(environ, "PORT", "GRADIO_SERVER_PORT", default=cls.port),
            auth=environ.get("SVD_AUTH", ""),
            auth_file=environ.get("SVD_AUTH_FILE", ""),
            root_path=environ.get("SVD_ROOT_PATH", ""),
            limits=Limits(
                work=_number(environ, "SVD_MAX_WORK", Limits.work),
                frames=_integer(environ, "SVD_MAX_FRAMES", default=Limits.frames),
                fps=_integer(environ, "SVD_MAX_FPS", default=Limits.fps),
                pixels=_integer(environ, "SVD_MAX_PIXELS", default=Limits.pixels),
                memory_gb=_number(environ, "SVD_MAX_MEMORY_GB", Limits.memory_gb),
            ),
            queue_size=_integer(environ, "SVD_QUEUE_SIZE", default=cls.queue_size),
            max_upload_mb=_integer(environ, "SVD_MAX_UPLOAD_MB", default=cls.max_upload_mb),
            cache_hours=_number(environ, "SVD_CACHE_HOURS", cls.cache_hours),
            baked_cache=Path(environ["SVD_BAKED_CACHE"]) if environ.get("SVD_BAKED_CACHE") else None,
            hf_token_set=bool(environ.get("HF_TOKEN")),
            debug=environ.get("SVD_DEBUG", "") not in ("", "0"),
        )


def _listed(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _integer(environ: Mapping[str, str], *names: str, default: int | None) -> int | None:
    for name in names:
        value = environ.get(name)
        if value:
            try:
                return int(value)
            except ValueError:
                example = default or 10
                raise InputError(f"{name}={value} is not a whole number: set it to one, e.g. {example}") from None
    return default


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise InputError(f"{name}={value} is not a positive number: set it to one, e.g. {default:g}")
    return number


def read_logins(settings: Settings) -> list[tuple[str, str]]:
    """WebUI logins from SVD_AUTH (`user:pass,user2:pass2`) and SVD_AUTH_FILE (one `user:pass` per line)."""
    entries = [entry for entry in settings.auth.split(",") if entry.strip()]
    if settings.auth_file:
        try:
            lines = Path(settings.auth_file).read_text().splitlines()
        except OSError as error:
            raise InputError(f"SVD_AUTH_FILE {settings.auth_file} cannot be read ({error.strerror})") from None
        entries += [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    logins = []
    for entry in entries:
        user, separator, password = entry.strip().partition(":")
        if not separator or not user or not password:
            raise InputError("a WebUI login is not of the form user:password: check SVD_AUTH and SVD_AUTH_FILE")
        logins.append((user, password))
    return logins
