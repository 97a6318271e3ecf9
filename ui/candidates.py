"""First frames for the page and the API: candidates made from a prompt on the server's one text-to-image pipeline,
each written as a PNG (the page's gallery shows it, the API returns it, a run animates it) together with the text
that made it; and text to video, which makes one and animates it.

Candidate i uses seed s + i. They are made one at a time, so the page can say how far it got; each still equals the
text-to-image pipeline called with its own seed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

import anyio
from gradio.utils import get_upload_folder
from PIL import Image

from svd.cancel import Cancel
from svd.cost import Cost, pictures_cost
from svd.errors import CancelledError, InputError, SvdError
from svd.families.catalogue import served_models
from svd.input.sizing import ASPECT_NAMES, aspect_size, choose_size, parse_size
from svd.media.files import atomic_path
from svd.models.memory import choose_profile
from svd.output.store import SavedGeneration, safe_name
from svd.request import LIMITS, TextSource, check_text, shown_number
from svd.seeds import RANDOM_SEED, draw_seed
from svd.serve.pool import EnginePool
from svd.serve.quota import DailyQuota, paying
from svd.settings import Settings
from svd.text.catalogue import TextModel, render_size, resolve_text_model, served_text_models
from svd.text.first_frames import MAX_CANDIDATES, FirstFrameMaker, FirstFrames
from svd.text.styles import Style, check_style, load_styles

from .generation import Controls, MadeFromText, ProgressBar, Runner, explained

log = logging.getLogger("svd.webui")

TEXT_ASPECT = "16:9"
"""The aspect of first frames when the size is `auto`: a text has no picture whose aspect the video could follow."""
KEPT_SETS = 32
"""Sets of candidates kept on disk (Gradio serves its own copy of each picture it shows)."""
T2I_LIMITS: dict[str, tuple[float, float]] = {"t2i steps": (1, 100), "t2i guidance": (0.0, 30.0)}


@dataclass(frozen=True)
class TextRequest:
    """What the page or an API caller asks first frames for."""

    prompt: str
    negative_prompt: str = ""
    style: str = "none"
    shape: str = TEXT_ASPECT
    """The video's shape: an aspect name (16:9, ...), auto (16:9) or WIDTHxHEIGHT (from the page's size controls)."""
    count: int = 1
    seed: int = RANDOM_SEED
    t2i_model: str = ""
    """Empty for the server's text-to-image model."""
    t2i_steps: int | None = None
    t2i_guidance: float | None = None
    model: str = ""
    """The SVD model whose sizes the first frames take; empty for the server's."""
    memory: str = "auto"


@dataclass(frozen=True)
class Planned:
    """A request for first frames, resolved: its style, text-to-image model and video size, and what it costs."""

    style: Style
    model: TextModel
    size: tuple[int, int]
    cost: Cost


@dataclass(frozen=True)
class Candidate:
    path: Path
    made: MadeFromText


@dataclass(frozen=True)
class Candidates:
    items: list[Candidate]
    frames: FirstFrames
    """What the maker said: the styled prompt, the model, its steps and guidance, a notice."""
    size: tuple[int, int]
    cost_units: float
    """What they cost, in units of `svd.cost`."""

    def details(self) -> dict:
        """What the API returns beside the pictures."""
        frames = self.frames
        return {
            "seeds": [candidate.made.text.t2i_seed for candidate in self.items],
            "width": self.size[0],
            "height": self.size[1],
            "prompt": frames.prompt,
            "negative_prompt": frames.negative_prompt,
            "style": self.items[0].made.text.style,
            "t2i_model": frames.model,
            "t2i_steps": frames.steps,
            "t2i_guidance": frames.guidance,
            "notice": frames.notice,
            "cost_units": self.cost_units,
        }


class CandidateMaker:
    """Makes first frames for every page and API caller of one server, on the first GPU, which a job holds while it
    runs (the others go on making videos)."""

    def __init__(self, pool: EnginePool, settings: Settings, quota: DailyQuota | None = None):
        self.pool = pool
        engine = self.engine = pool.primary
        self.settings = settings
        self.quota = quota
        self.maker = FirstFrameMaker(engine.device)
        self.styles, self.styles_problem = _styles(settings)
        self._temporary = tempfile.TemporaryDirectory(prefix="svd-first-frames-", dir=_upload_folder())
        """Inside Gradio's upload folder, from which the API may return files; removed when the server exits."""
        self.folder = Path(self._temporary.name)
        self._sets: deque[Path] = deque()
        self._lock = threading.Lock()

    def make(
        self, request: TextRequest, progress: ProgressBar, user: str | None = None, cancel: Cancel | None = None
    ) -> Candidates:
        """The first frames `request` asks for, paid from `user`'s allowance (given back if none is made)."""
        with explained("no first frames"):
            planned = self.plan(request)
            with paying(self.quota, user, planned.cost.units), self.pool.engine(index=0):
                return self._make(request, planned, progress, cancel)

    def plan(self, request: TextRequest) -> Planned:
        """What the first frames will be made with, and what they cost; refused here if the request is bad or over
        the limits."""
        if not check_text("the prompt", request.prompt).strip():
            raise InputError("the prompt is empty", "describe the picture to start the video from")
        check_text("the negative prompt", request.negative_prompt)
        if not 1 <= request.count <= MAX_CANDIDATES:
            raise InputError(f"{request.count} first frames is out of range", f"ask for 1 to {MAX_CANDIDATES}")
        _check_limits(request)
        style = check_style(request.style, self.styles)
        model = self.text_model(request.t2i_model)
        size = self.video_size(request.model, request.shape)
        width, height = render_size(size, model.pixels)
        steps = model.steps if request.t2i_steps is None else request.t2i_steps
        guidance = model.guidance if request.t2i_guidance is None else request.t2i_guidance
        cost = pictures_cost(request.count, width, height, steps, guidance > 1, model.work, self.engine.unit_flops)
        cost.check(self.engine.limits)
        return Planned(style, model, size, cost)

    def _make(
        self, request: TextRequest, planned: Planned, progress: ProgressBar, cancel: Cancel | None
    ) -> Candidates:
        style, model, size = planned.style, planned.model, planned.size
        profile = choose_profile(request.memory, self.engine.device)
        seed = draw_seed() if request.seed == RANDOM_SEED else request.seed
        progress(0, desc=f"Loading {model.name}")
        downloading = f"Downloading {model.name}"
        self.maker.load(model, on_progress=lambda done, total: progress(done / max(total, 1), desc=downloading))
        self.maker.place(profile)
        made = []
        for index in range(request.count):
            progress((index, request.count), desc=f"First frame {index + 1} of {request.count}", unit="pictures")
            made.append(self._one(model, request, style, size, seed + index, cancel))
        log.info(f"made {request.count} first frame(s) with {model.name} (seed {seed})")
        folder = self._new_set()
        items = [
            self._write(folder, frames.pictures[0], request, style, frames.model, seed + index)
            for index, frames in enumerate(made)
        ]
        return Candidates(items, made[0], size, planned.cost.units)

    def _one(
        self, model: TextModel, request: TextRequest, style: Style, size: tuple[int, int], seed: int, cancel
    ) -> FirstFrames:
        return self.maker.make(
            model, request.prompt, style, size, 1, seed, request.negative_prompt, request.t2i_steps,
            request.t2i_guidance, cancel,
        )  # fmt: skip

    def text_model(self, name: str) -> TextModel:
        """A text-to-image model a caller may ask for (`served_text_models`); any other name is refused as SVD model
        names are, whether a path of that name exists or not."""
        return resolve_text_model(served_text_models(self.settings).name(name))

    def video_size(self, model: str, shape: str) -> tuple[int, int]:
        """The video's size, which first frames are fitted to, for the SVD model `model` (empty: the server's)."""
        defaults = self.engine.source(served_models(self.settings).name(model)).defaults
        if shape in ASPECT_NAMES:
            return aspect_size(shape, defaults)
        requested = parse_size(shape)
        if requested is None:
            return aspect_size(TEXT_ASPECT, defaults)
        return choose_size(requested, defaults, requested)

    def _new_set(self) -> Path:
        folder = self.folder / uuid.uuid4().hex[:12]
        folder.mkdir()
        with self._lock:
            self._sets.append(folder)
            while len(self._sets) > KEPT_SETS:
                shutil.rmtree(self._sets.popleft(), ignore_errors=True)
        return folder

    def _write(
        self, folder: Path, picture: Image.Image, request: TextRequest, style: Style, model: str, seed: int
    ) -> Candidate:
        data = io.BytesIO()
        picture.save(data, format="PNG")
        path = folder / f"{safe_name(' '.join(request.prompt.split()[:6]))}-{seed}.png"
        with atomic_path(path) as temporary:
            temporary.write_bytes(data.getvalue())
        text = TextSource(request.prompt.strip(), request.negative_prompt.strip(), style.name, model, seed)
        return Candidate(path, MadeFromText(hashlib.sha256(data.getvalue()).hexdigest(), text))


async def text_to_video(
    maker: CandidateMaker,
    runner: Runner,
    request: TextRequest,
    controls: Controls,
    progress: ProgressBar,
    frames_later: bool = False,
    user: str | None = None,
    session: str | None = None,
) -> tuple[Candidates | None, list[SavedGeneration] | None]:
    """One first frame for `request`, animated with `controls` (once per variation); one seed (the controls') makes
    both. Refused before the first frame is made when the video could not be, or the user's allowance cannot pay
    for both; each is paid as it is made. None for the videos (and the first frame, if it was not made yet) if the run
    was cancelled. `frames_later`, `user` and `session` as for `Runner.run`."""
    cancel = threading.Event()
    try:
        made, controls = await anyio.to_thread.run_sync(
            _first_frame, maker, runner, request, controls, progress, user, cancel, abandon_on_cancel=True
        )
    except anyio.get_cancelled_exc_class():
        cancel.set()
        raise
    if made is None:
        return None, None
    first = made.items[0]
    picture = {"path": str(first.path), "orig_name": first.path.name}
    return made, await runner.run(picture, controls, progress, first.made, frames_later, user, session)


def _first_frame(
    maker: CandidateMaker,
    runner: Runner,
    request: TextRequest,
    controls: Controls,
    progress: ProgressBar,
    user: str | None,
    cancel: threading.Event,
) -> tuple[Candidates | None, Controls]:
    """The first frame (None if cancelled), and the controls that animate it at its size; the video's settings and
    what both cost are checked first."""
    with explained("not generated"):
        seed = draw_seed() if controls.seed == RANDOM_SEED else controls.seed
        width, height = maker.video_size(request.model, request.shape)
        controls = replace(controls, seed=seed, size=f"{width}x{height}", resize="crop")
        request = replace(request, count=1, seed=seed)
        runner.can_pay(user, runner.check(controls).units + maker.plan(request).cost.units)
    try:
        return maker.make(request, progress, user, cancel), controls
    except CancelledError:
        return None, controls


def _check_limits(request: TextRequest) -> None:
    limited = {"seed": (None if request.seed == RANDOM_SEED else request.seed, LIMITS["seed"])}
    limited.update({name: (getattr(request, name.replace(" ", "_")), limits) for name, limits in T2I_LIMITS.items()})
    for name, (value, (low, high)) in limited.items():
        if value is not None and not low <= value <= high:
            extra = f", or {RANDOM_SEED} for a random one" if name == "seed" else ""
            raise InputError(
                f"{name} {shown_number(value)} is out of range",
                f"use a value from {shown_number(low)} to {shown_number(high)}{extra}",
            )


def _styles(settings: Settings) -> tuple[dict[str, Style], str]:
    """The presets, and why the user's file was left out (empty if it was not): a bad file must not stop the page."""
    try:
        return load_styles(settings.styles_file), ""
    except SvdError as error:
        log.error(f"style presets: {error}")
        return load_styles(), f"your style file was not used: {error}"


def _upload_folder() -> Path:
    folder = Path(get_upload_folder())
    folder.mkdir(parents=True, exist_ok=True)
    return folder
