"""Daily allowances: how many videos each user may make per day (UTC), counted in an SQLite file in the data folder,
so the counts survive restarts and hold across the threads (and processes) of a server.

A run takes its videos from the allowance before any GPU work (`take`): inside one write transaction the count is
read and raised only if it stays within the limit, so two requests can never spend the same unit. A run that is
cancelled or fails gives them back (`give_back`). Admins have no limit and are not counted.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import InputError, OutputError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spent (user TEXT NOT NULL, day TEXT NOT NULL, videos INTEGER NOT NULL, "
    "PRIMARY KEY (user, day))"
)


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


@dataclass(frozen=True)
class Taken:
    """Videos taken from a user's allowance for one run, to be given back if it makes none."""

    user: str
    day: str
    videos: int


class DailyQuota:
    def __init__(self, path: Path, limit: int, admins: tuple[str, ...] = ()):
        if limit < 0:
            raise InputError(f"SVD_DAILY_QUOTA={limit} is negative", "set a number of videos, or unset it")
        self.path = path
        self.limit = limit
        self.admins = set(admins)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as database:
                database.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise OutputError(
                f"the quota database {path} cannot be opened ({error})", "set SVD_QUOTA_DB to a writable file"
            ) from None

    def left(self, user: str, day: str | None = None) -> int | None:
        """Videos `user` may still make today; None for an admin (no limit)."""
        if user in self.admins:
            return None
        with self._connect() as database:
            row = database.execute(
                "SELECT videos FROM spent WHERE user = ? AND day = ?", (user, day or today())
            ).fetchone()
        return max(self.limit - (row[0] if row else 0), 0)

    def take(self, user: str, videos: int = 1) -> Taken | None:
        """Take `videos` from `user`'s allowance, or refuse with a line that says how many are left and when more
        come; None for an admin, who is not counted."""
        if user in self.admins:
            return None
        day = today()
        with self._connect() as database:
            database.execute("BEGIN IMMEDIATE")  # the write lock first: no other request reads the count meanwhile
            row = database.execute("SELECT videos FROM spent WHERE user = ? AND day = ?", (user, day)).fetchone()
            spent = row[0] if row else 0
            if spent + videos > self.limit:
                database.execute("ROLLBACK")
                left = max(self.limit - spent, 0)
                asked = f"{videos} videos" if videos > 1 else "a video"
                raise InputError(
                    f"your daily allowance is spent: {left} of {self.limit} videos left today, and this asks for "
                    f"{asked}",
                    "ask for fewer, or come back after midnight UTC",
                )
            database.execute(
                "INSERT INTO spent (user, day, videos) VALUES (?, ?, ?) "
                "ON CONFLICT (user, day) DO UPDATE SET videos = videos + excluded.videos",
                (user, day, videos),
            )
            database.execute("COMMIT")
        return Taken(user, day, videos)

    def give_back(self, taken: Taken | None) -> None:
        """Return the videos of a run that made none (cancelled, failed)."""
        if taken is None:
            return
        with self._connect() as database:
            database.execute(
                "UPDATE spent SET videos = MAX(videos - ?, 0) WHERE user = ? AND day = ?",
                (taken.videos, taken.user, taken.day),
            )

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        """A connection of its own per call (SQLite connections are not shared across threads), waiting up to 30 s
        for another writer, in autocommit mode so that `BEGIN IMMEDIATE` opens the transaction; closed after."""
        return contextlib.closing(sqlite3.connect(self.path, timeout=30, isolation_level=None))
