"""Looping previews of the camera moves made from the user's own picture: each move's guide, framed as the run
frames it, at thumbnail size, as animated WebP files that an `<img>` loops. No diffusion, so they cost milliseconds.

Moves that need depth (orbit) wait for the depth model, which may still have to download; so the page asks for
them in a second pass, and until then their tiles show the still picture.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from svd.camera.guide import render_guide
from svd.camera.moves import MOVES, NO_CAMERA, CameraMove
from svd.engine import Engine
from svd.errors import SvdError, first_line
from svd.media.files import atomic_path
from svd.settings import Settings

from .preview import Framed, framed_picture

log = logging.getLogger("svd.webui")

PREVIEW_SIDE = 160
"""The long side of a preview, in pixels."""
PREVIEW_FRAMES = 16
"""At most this many frames: a longer run's preview takes fewer steps along the same path, in the same time."""
KEPT_SETS = 32
"""Sets of previews kept on disk as a cache (Gradio serves its own copy of each file it sends)."""
NO_PICTURE = "*Add a picture to see each camera move on it.*"
DEPTH_PENDING = "*The orbit previews follow once the depth model has looked at the picture…*"


def move_label(name: str) -> str:
    return "None (free)" if name == NO_CAMERA else name.replace("-", " ").capitalize()


SHADE = 0.5
"""How far the areas a move uncovers are blended towards grey in a preview, to show that the model paints them."""


def shade_uncovered(frames: np.ndarray, uncovered: np.ndarray) -> np.ndarray:
    """The guide frames with the areas the move uncovers (filled by edge extension) blended towards grey."""
    shaded = frames * (1 - SHADE) + 128 * SHADE
    return np.where(uncovered[..., None], shaded.round(), frames).astype(np.uint8)


@dataclass(frozen=True)
class Tiles:
    items: list[tuple[str, str]] | None
    """(file, caption) for every move in `MOVES` order; None without a usable picture."""
    message: str
    """One line of Markdown: why there are no previews, or which could not be made."""


@dataclass(frozen=True)
class Clip:
    """A preview's picture and timing."""

    key: str
    still: Image.Image
    frames: int
    frame_ms: int
    amount: float


class CameraPreviews:
    """Makes and caches the preview files of one server, in a temporary folder of its own."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self._temporary = tempfile.TemporaryDirectory(prefix="svd-camera-previews-")
        """Removed when the server exits."""
        self.folder = Path(self._temporary.name)
        self._sets: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def tiles(
        self, payload: dict | None, size: str, resize: str, model: str, frames: float, fps: float, amount: float,
        with_depth: bool,
    ) -> Tiles:  # fmt: skip
        """The previews for a run with these settings; `with_depth`: also the moves that need the depth model."""
        try:
            framed = framed_picture(self.engine, self.settings, payload, size, resize, model)
        except SvdError as error:
            return Tiles(None, f"*No camera previews: {error}*")
        if framed is None:
            return Tiles(None, NO_PICTURE)
        clip = self._clip(framed, resize, int(frames), float(fps), float(amount))
        still = self._file(clip, NO_CAMERA, lambda: [clip.still])
        disparity = functools.cache(lambda: self.engine.disparity(clip.still))
        items: list[tuple[str, str]] = []
        pending, failed, error = False, [], ""
        for move in MOVES.values():
            path = still
            if move.name != NO_CAMERA and (with_depth or not move.needs_depth):
                try:
                    path = self._file(clip, move.name, functools.partial(self._guide, clip, move, disparity))
                except Exception as problem:  # a preview must never break the page
                    log.warning(f"no preview of {move.name}: {first_line(problem)}")
                    failed.append(move_label(move.name))
                    error = error or first_line(problem)
            elif move.needs_depth:
                made = self._path(clip, move.name)
                path, pending = (made, pending) if made.exists() else (still, True)
            items.append((str(path), move_label(move.name)))
        if failed:
            return Tiles(items, f"*No preview of {', '.join(failed)}: {error}*")
        return Tiles(items, DEPTH_PENDING if pending else "")

    def _clip(self, framed: Framed, resize: str, frames: int, fps: float, amount: float) -> Clip:
        width, height = framed.size
        scale = PREVIEW_SIDE / max(width, height)
        thumbnail = (max(1, round(width * scale)), max(1, round(height * scale)))
        still = framed.fitted.convert("RGB").resize(thumbnail, Image.Resampling.LANCZOS)
        count = max(2, min(frames, PREVIEW_FRAMES))
        described = f"{framed.picture.sha256}|{width}x{height}|{resize}|{count}|{frames / fps:.3f}|{amount:.3f}"
        key = hashlib.sha256(described.encode()).hexdigest()[:16]
        return Clip(key, still, count, max(20, round(1000 * frames / fps / count)), amount)

    def _guide(self, clip: Clip, move: CameraMove, disparity: Callable[[], np.ndarray]) -> list[Image.Image]:
        guide = render_guide(
            clip.still, move.name, clip.frames, clip.amount, disparity=disparity() if move.needs_depth else None
        )
        return [Image.fromarray(frame) for frame in shade_uncovered(guide.frames, guide.uncovered)]

    def _path(self, clip: Clip, name: str) -> Path:
        return self.folder / f"{clip.key}-{name}.webp"

    def _file(self, clip: Clip, name: str, frames: Callable[[], list[Image.Image]]) -> Path:
        """The preview file of move `name`, made from `frames()` unless it exists."""
        path = self._path(clip, name)
        if not path.exists():
            made = frames()
            with atomic_path(path) as temporary:
                made[0].save(
                    temporary, format="WEBP", save_all=True, append_images=made[1:], duration=clip.frame_ms, loop=0,
                    quality=80,
                )  # fmt: skip
        self._remember(clip.key)
        return path

    def _remember(self, key: str) -> None:
        with self._lock:
            self._sets[key] = None
            self._sets.move_to_end(key)
            while len(self._sets) > KEPT_SETS:
                oldest, _ = self._sets.popitem(last=False)
                for path in self.folder.glob(f"{oldest}-*.webp"):
                    path.unlink(missing_ok=True)
