"""Daily allowances: how much work each user may ask for per day (UTC), counted in the units of `svd.cost` (one unit
is a video at the server model's own settings), in an SQLite file in the data folder, so the counts survive restarts
and hold across the threads (and processes) of a server.

A run pays for its work before any GPU work (`paying`): inside one write transaction the count is read and raised
only if it stays within the limit, so two requests can never spend the same unit. A run that fails, is cancelled or
cannot be saved gets its units back. Admins have no limit and are not counted. Counts are kept in tenths of a unit.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..cost import UNIT_STEP
from ..errors import InputError, OutputError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS work (user TEXT NOT NULL, day TEXT NOT NULL, tenths INTEGER NOT NULL, "
    "PRIMARY KEY (user, day))"
)
_SPENT = "SELECT tenths FROM work WHERE user = ? AND day = ?"
TENTHS = round(1 / UNIT_STEP)


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def shown_units(units: float) -> str:
    """1, 2.5, 0.1: as few decimals as the tenths need."""
    return f"{units:g}"


@dataclass(frozen=True)
class Taken:
    """Units taken from a user's allowance for one run, to be given back if it makes nothing."""

    user: str
    day: str
    tenths: int


class DailyQuota:
    def __init__(self, path: Path, limit: float, admins: tuple[str, ...] = ()):
        if limit < 0:
            raise InputError(f"SVD_DAILY_QUOTA={limit:g} is negative", "set a number of videos, or unset it")
        self.path = path
        self.limit = limit
        self.admins = set(admins)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as database:
                database.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise OutputError(
                f"the quota database {path.name} cannot be opened ({error})", "set SVD_QUOTA_DB to a writable file"
            ) from error

    def left(self, user: str, day: str | None = None) -> float | None:
        """Units `user` may still spend today; None for an admin (no limit)."""
        if user in self.admins:
            return None
        with self._connect() as database:
            row = database.execute(_SPENT, (user, day or today())).fetchone()
        return max(self._limit_tenths - (row[0] if row else 0), 0) / TENTHS

    def check(self, user: str, units: float) -> None:
        """Refuse now, without taking anything, when `user` has less than `units` left today."""
        left = self.left(user)
        if left is not None and _tenths(units) > round(left * TENTHS):
            raise self._spent(left, _tenths(units) / TENTHS)

    def take(self, user: str, units: float) -> Taken | None:
        """Take `units` from `user`'s allowance, or refuse with a line that says how much is left and when more
        comes; None for an admin, who is not counted."""
        if user in self.admins:
            return None
        day, tenths = today(), _tenths(units)
        with self._connect() as database:
            database.execute("BEGIN IMMEDIATE")  # the write lock first: no other request reads the count meanwhile
            row = database.execute(_SPENT, (user, day)).fetchone()
            spent = row[0] if row else 0
            if spent + tenths > self._limit_tenths:
                database.execute("ROLLBACK")
                raise self._spent(max(self._limit_tenths - spent, 0) / TENTHS, tenths / TENTHS)
            database.execute(
                "INSERT INTO work (user, day, tenths) VALUES (?, ?, ?) "
                "ON CONFLICT (user, day) DO UPDATE SET tenths = tenths + excluded.tenths",
                (user, day, tenths),
            )
            database.execute("COMMIT")
        return Taken(user, day, tenths)

    def give_back(self, taken: Taken | None) -> None:
        """Return the units of a run that made nothing (cancelled, failed, not saved)."""
        if taken is None:
            return
        with self._connect() as database:
            database.execute(
                "UPDATE work SET tenths = MAX(tenths - ?, 0) WHERE user = ? AND day = ?",
                (taken.tenths, taken.user, taken.day),
            )

    @property
    def _limit_tenths(self) -> int:
        return round(self.limit * TENTHS)

    def _spent(self, left: float, units: float) -> InputError:
        return InputError(
            f"your daily allowance is spent: {shown_units(left)} of {shown_units(self.limit)} videos left today, and "
            f"this costs {shown_units(units)} (a video at the default settings costs 1)",
            "ask for less, or come back after midnight UTC",
        )

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        """A connection of its own per call (SQLite connections are not shared across threads), waiting up to 30 s
        for another writer, in autocommit mode so that `BEGIN IMMEDIATE` opens the transaction; closed after."""
        return contextlib.closing(sqlite3.connect(self.path, timeout=30, isolation_level=None))


@contextlib.contextmanager
def paying(quota: DailyQuota | None, user: str | None, units: float) -> Iterator[Taken | None]:
    """Pay `units` from `user`'s allowance for the work inside the block: refused before it starts if they are not
    there, given back if the block raises (a failure, a cancel, a save that did not happen). Without an allowance
    (no quota, no logins) nothing is counted. Gives what was taken (None: nothing)."""
    taken = quota.take(user, units) if quota is not None and user is not None else None
    try:
        yield taken
    except BaseException:
        if quota is not None:
            quota.give_back(taken)
        raise


def _tenths(units: float) -> int:
    return max(1, math.ceil(round(units * TENTHS, 6)))
