"""The live preview: while a page's run denoises, its first video's frames as the model estimates them so far
(`svd.preview`), small and looping, in the video's place, with the progress under them, so that a run going wrong
can be cancelled early.

A run started from the page reports a preview every few steps (`PREVIEW_EVERY`) to its entry in the runs in flight;
the page's status timer looks there every second and shows each new one. (Not the run's own event as a generator:
Gradio stops a generator whose page has gone and frees its place in the GPU queue, while the run goes on.) Nothing is
written to disk: the frames go to the page as one animated GIF.
"""

from __future__ import annotations

import io

import gradio as gr
import numpy as np
from PIL import Image

from svd.serve.runs import RunsInFlight

PREVIEW_CSS = """
#preview img { width: 100%; height: 100%; object-fit: contain; }
#run-progress { min-height: 96px; }
"""
"""The small frames drawn at the box's size (the box keeps the video's); room under them for the progress.

The progress has a box of its own rather than being drawn over the preview: Gradio's progress hides what it covers,
and the timer that brings the previews would reset it at every tick."""


def animated(frames: np.ndarray, fps: int) -> Image.Image:
    """(frames, h, w, 3) uint8 as a looping GIF at the video's rate, or the nearest a GIF can play (its delays are
    in hundredths of a second, and browsers slow down those under 2)."""
    delay = max(2, round(100 / fps)) * 10
    pictures = [Image.fromarray(frame) for frame in frames]
    gif = io.BytesIO()
    pictures[0].save(gif, format="GIF", save_all=True, append_images=pictures[1:], duration=delay, loop=0)
    return Image.open(gif)


def newest_preview(runs: RunsInFlight, session: str, shown: tuple | None) -> tuple[gr.Image | None, tuple | None]:
    """The preview of page `session`'s run, if a new one came since `shown` (what this returned last time, kept by
    the page): the picture to show, or None, and what to keep."""
    run = runs.started_from(session)
    if run is None or run.preview is None:
        return None, shown
    latest = (id(run), run.previews)
    if latest == shown:
        return None, shown
    return gr.Image(animated(run.preview, run.fps)), latest


def preview_box() -> gr.Image:
    """Where the preview and the progress show while a run goes: the video's place, hidden otherwise."""
    return gr.Image(
        label="Preview, as the model sees the video so far", format="gif", height=400, interactive=False,
        visible=False, elem_id="preview", buttons=[],
    )  # fmt: skip
