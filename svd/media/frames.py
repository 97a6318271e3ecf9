"""Frames made one at a time, on demand: a finished video's frames after an upscale or a loop, so that a 4K video is
never held in memory whole. The encoders read them once, in order, frame by frame.

`Frames` is what a video's frames may be: an (F, H, W, 3) uint8 array, or `LazyFrames` that answer the same
questions (length, shape, one frame, a slice, the whole array when asked).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

MakeFrame = Callable[[int], np.ndarray]


class LazyFrames:
    """`count` frames of `height` x `width`, frame i made by `make(i)` when it is read. The last few frames made are
    kept, so a loop that reads a frame twice in a row, or a crossfade blending two, makes each once.

    `stage` names what makes them (a finishing stage, for its timing) and `source` the frames it reads, so that
    `stage_seconds` can tell each stage's own time apart."""

    KEPT = 4

    def __init__(
        self,
        count: int,
        height: int,
        width: int,
        make: MakeFrame,
        stage: str | None = None,
        source: Frames | None = None,
    ):
        self.count = count
        self.height = height
        self.width = width
        self.stage = stage
        self.source = source
        self.seconds = 0.0
        """Time spent making frames so far, with the time its source took to make the frames it read."""
        self._make = make
        self._kept: dict[int, np.ndarray] = {}

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.count, self.height, self.width, 3)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[np.ndarray]:
        for index in range(self.count):
            yield self[index]

    def __getitem__(self, index: int | slice) -> np.ndarray:
        if isinstance(index, slice):
            return np.stack([self[position] for position in range(*index.indices(self.count))])
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError(f"frame {index} of {self.count}")
        if index not in self._kept:
            if len(self._kept) >= self.KEPT:
                del self._kept[next(iter(self._kept))]
            started = time.perf_counter()
            self._kept[index] = self._make(index)
            self.seconds += time.perf_counter() - started
        return self._kept[index]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        frames = np.stack(list(self)) if self.count else np.empty(self.shape, np.uint8)
        return frames if dtype is None else frames.astype(dtype)


Frames = np.ndarray | LazyFrames
"""A video's frames: (F, H, W, 3) uint8 RGB, held or made on demand."""


def remapped(frames: Frames, order: list[int], stage: str | None = None) -> LazyFrames:
    """`frames` in another order (frames may repeat): frame k is `frames[order[k]]`."""
    _, height, width, _ = frames.shape
    return LazyFrames(len(order), height, width, lambda index: frames[order[index]], stage, frames)


def stage_seconds(frames: Frames) -> dict[str, float]:
    """The time each stage of made-on-demand `frames` took on its own, once they were all read."""
    seconds = {}
    while isinstance(frames, LazyFrames):
        source = frames.source
        own = frames.seconds - (source.seconds if isinstance(source, LazyFrames) else 0.0)
        if frames.stage is not None:
            seconds[frames.stage] = seconds.get(frames.stage, 0.0) + own
        frames = source
    return seconds
