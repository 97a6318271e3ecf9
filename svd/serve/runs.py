"""Runs in flight: held in memory while they go, so that a page opened again shows its user the runs still going
and how far they are (`RunsInFlight`); and written down in the output folder (`.runs/`), so that a server stopped
mid-run (killed, restarted, its machine rebooted) finds them at its next start, lists each in the History as
"stopped by a restart", with its picture and settings so that it can be made again in one click, and gives its units
back (`RunJournal`).

A run whose page is closed goes on and lands in the History as usual (Gradio does not cancel it); one still queued
when its page closes is dropped by Gradio's queue before it starts, having spent nothing (see docs/webui.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import SvdError
from ..input.image import InputImage, load_image
from ..media.files import PendingFiles
from ..output.store import FIRST_FRAME_SUFFIX, INPUT_SUFFIX, new_stem, safe_name, write_input_picture
from ..request import GenerationSettings
from .quota import DailyQuota, Taken

logger = logging.getLogger("svd")

RUNS_FOLDER = ".runs"
STOPPED = "stopped by a restart"


@dataclass(eq=False)
class InFlight:
    owner: str | None
    session: str | None
    """The page that started it (Gradio's session): that page shows its progress itself."""
    name: str
    """The picture's name."""
    doing: str = "starting"
    """The last progress it reported, in words: "denoising, step 12 of 25"."""
    fps: int = 7
    """Its video's frame rate, at which its previews play."""
    preview: np.ndarray | None = None
    """Its latest live preview, when its page asked for them (`Progress.preview`)."""
    previews: int = 0
    """How many previews it has reported: a page shows each new one once."""


class RunsInFlight:
    """The runs going now, by whom and from which page, with their progress."""

    def __init__(self) -> None:
        self._runs: list[InFlight] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def going(self, owner: str | None, session: str | None, name: str, fps: int) -> Iterator[InFlight]:
        """Hold the run for the length of the block; update `doing` and the preview as it goes."""
        run = InFlight(owner, session, name, fps=fps)
        with self._lock:
            self._runs.append(run)
        try:
            yield run
        finally:
            with self._lock:
                self._runs.remove(run)  # this very one: runs compare by identity

    def of(self, user: str | None, session: str | None) -> list[InFlight]:
        """The runs `user` started from another page than `session` (without logins, every other page's)."""
        with self._lock:
            runs = list(self._runs)
        return [run for run in runs if run.session != session and (user is None or run.owner == user)]

    def started_from(self, session: str) -> InFlight | None:
        """The run going from page `session`, if one is (a page runs one at a time)."""
        with self._lock:
            return next((run for run in self._runs if run.session == session), None)


@dataclass(frozen=True)
class RunJournal:
    output_dir: Path

    @property
    def folder(self) -> Path:
        return self.output_dir / RUNS_FOLDER

    @contextlib.contextmanager
    def running(
        self, settings: GenerationSettings, picture: InputImage, owner: str | None, taken: Taken | None
    ) -> Iterator[None]:
        """Write the run down for the length of the block: its settings, its picture (as given), whose it is and
        the units it took. It is crossed out however the block ends; only a server that stops inside leaves it."""
        run = self.folder / uuid.uuid4().hex
        entry = {
            "settings": dataclasses.asdict(settings),
            "input_name": picture.name,
            "input_sha256": picture.sha256,
            "owner": owner,
            "taken": dataclasses.asdict(taken) if taken else None,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        written = False
        try:
            self.folder.mkdir(exist_ok=True)
            run.with_suffix(".picture").write_bytes(picture.data)
            run.with_suffix(".json").write_text(json.dumps(entry))
            written = True
        except OSError as error:  # the run itself goes on: only what a restart could tell of it is lost
            logger.warning(f"this run could not be written down for a restart ({error.strerror or error})")
            self._cross_out(run)  # a picture written before the entry failed
        try:
            yield
        finally:
            if written:
                self._cross_out(run)

    @staticmethod
    def _cross_out(run: Path) -> None:
        """Remove a run's entry. One in a folder that turned read-only stays (the run's own error is the one to tell;
        the next start that can write lists it as stopped); a start on a read-only folder serves all the same."""
        try:
            for path in (run.with_suffix(".json"), run.with_suffix(".picture")):
                path.unlink(missing_ok=True)
        except OSError as error:
            logger.warning(f"a run's entry in {RUNS_FOLDER} could not be removed ({error.strerror or error})")

    def recover(self, quota: DailyQuota | None) -> list[Path]:
        """Turn the runs a stopped server left into History entries and give their units back; returns the
        entries' sidecars. Call at start, while no run goes (after `remove_leftovers` holds the folder)."""
        entries = sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []
        made = []
        for path in entries:
            try:
                entry = json.loads(path.read_text())
                made.append(self._stopped(entry, path.with_suffix(".picture")))
                if quota is not None and entry["taken"]:
                    quota.give_back(Taken(**entry["taken"]))
            except (OSError, ValueError, KeyError, TypeError, sqlite3.Error, SvdError) as error:
                logger.warning(f"a run stopped by a restart could not be listed ({type(error).__name__})")
            self._cross_out(path.with_suffix(""))
        return made

    def _stopped(self, entry: dict, picture: Path) -> Path:
        """The History entry of a stopped run: its sidecar says so and names its picture; it has no video."""
        settings = entry["settings"]
        started = datetime.fromisoformat(entry["started"]).astimezone()
        stem = new_stem(self.output_dir, f"{started:%Y%m%d-%H%M%S}-{safe_name(entry['input_name'])}")
        sidecar = stem.with_name(stem.name + ".json")
        with PendingFiles(self.output_dir) as pending:
            given = load_image(picture, name=entry["input_name"])
            suffix = FIRST_FRAME_SUFFIX if settings.get("t2i_model") else INPUT_SUFFIX
            kept = write_input_picture(given, stem, suffix, pending)
            pending.temporary(sidecar).write_text(json.dumps(stopped_record(entry, kept.name), indent=2) + "\n")
            pending.commit()
        return sidecar


def stopped_record(entry: dict, picture: str) -> dict:
    """The sidecar of a run stopped by a restart: its settings and picture, no video, and a note that says so."""
    return {
        **entry["settings"],
        "video": None,
        "stopped": STOPPED,
        "input_picture": picture,
        "input_name": entry["input_name"],
        "input_sha256": entry["input_sha256"],
        "owner": entry["owner"],
        "created": entry["started"],
        "notes": [f"{STOPPED}: nothing was made, and its units were given back; Reuse makes it again"],
    }
