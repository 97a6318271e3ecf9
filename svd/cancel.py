"""Stopping a run on request: the runner sets an event, and every stage checks it between pieces of its work (a
denoising step, a decoded chunk, an interpolated pair, an upscaled or encoded frame), so a cancel lands within
seconds wherever the run is."""

from __future__ import annotations

import threading

from .errors import CancelledError

Cancel = threading.Event
"""Set when the run should stop."""


def stop_if_cancelled(cancel: Cancel | None, doing: str) -> None:
    """Raise `CancelledError` if the run was cancelled; `doing` says where it stopped (`while ...`)."""
    if cancel is not None and cancel.is_set():
        raise CancelledError(f"cancelled while {doing}")
