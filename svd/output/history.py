"""Past generations in an output folder: listed from their sidecars, and deleted with every file a sidecar names.

Files are found by the names the sidecar gives. A name is used only if it is a plain, visible file name in the
output folder and the file there is no link and not empty, so a hand-edited sidecar cannot point the history (or a
delete, or a finish) anywhere else. A sidecar that is not a complete, typed record (`svd.output.sidecar`) is left out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import InputError
from .sidecar import read_record

OUTPUT_KEYS = (
    "video", "webm", "gif", "webp", "frames", "model_frames", "input_picture", "last_frame_picture", "poster", "guide",
    "first_frame",
)  # fmt: skip
"""Sidecar keys that name a generation's files (the sidecar itself is `record["sidecar"]`)."""


def visible_to(record: dict, user: str | None, admins: tuple[str, ...] = ()) -> bool:
    """Whether `user` may see, reuse and finish a generation: on a server with logins a user's videos are their own,
    and a video made without a login (by the command line, or before logins) is everyone's; admins see all. Without
    logins (`user` None) every video is the one user's."""
    return user is None or record.get("owner") in (None, user) or user in admins


def list_history(
    output_dir: Path, user: str | None = None, admins: tuple[str, ...] = (), limit: int = 200
) -> list[dict]:
    """Past generations in `output_dir` that `user` may see (`visible_to`), newest first: each visible sidecar whose
    video is there (for a run stopped by a restart, its picture), with `sidecar` (its file name) added. Hidden files,
    such as a crashed run's temporary sidecar, are not generations."""
    sidecars = [path for path in output_dir.glob("*.json") if not path.name.startswith(".")]
    records = []
    for sidecar in sorted(sidecars, key=_modified, reverse=True):  # read only as many sidecars as are listed
        if len(records) == limit:
            break
        try:
            record = read_record(sidecar)
        except InputError:
            continue
        shown = "input_picture" if record.get("stopped") else "video"  # a run stopped by a restart has no video
        if visible_to(record, user, admins) and output_file(output_dir, record, shown) is not None:
            records.append({**record, "sidecar": sidecar.name})
    return records


def output_file(output_dir: Path, record: dict, key: str) -> Path | None:
    """The file (or frames folder) that `record[key]` names in `output_dir`, if it is there: not a link, and not an
    empty file."""
    path = _named(output_dir, record, key)
    try:
        status = path.lstat() if path is not None else None
    except OSError:
        return None
    if path is None or path.is_symlink() or not (path.is_dir() or (path.is_file() and status.st_size > 0)):
        return None
    return path


def kept_frames(output_dir: Path, record: dict) -> Path | None:
    """The zip of lossless frames a video kept, to download: the model's own; for a video from before they were
    kept, the zip of its written frames that the page made then."""
    for key in ("model_frames", "frames"):
        path = output_file(output_dir, record, key)
        if path is not None and path.is_file():
            return path
    return None


def _named(output_dir: Path, record: dict, key: str) -> Path | None:
    """Where `record[key]` points in `output_dir`, if it is a plain, visible file name."""
    name = record.get(key)
    if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
        return None
    return output_dir / name


def delete_generation(output_dir: Path, record: dict) -> list[Path]:
    """Remove a generation: its sidecar first (so it leaves the history at once), then the video, frames, input
    picture and poster it names. Returns what was removed."""
    removed = []
    for key in ("sidecar", *OUTPUT_KEYS):
        path = _named(output_dir, record, key)
        if path is None or not (path.exists() or path.is_symlink()):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path)
    return removed


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed since it was listed
        return 0.0
