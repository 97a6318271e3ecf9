"""The camera moves a user can ask for, with what each does and its defaults."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError

NO_CAMERA = "none"


@dataclass(frozen=True)
class CameraMove:
    name: str
    summary: str
    travel: str
    """How far the camera goes over the clip at amount 1."""
    strength: float
    """Default strength: how closely the video follows the guide (0 is plain SVD)."""
    needs_depth: bool = False


MOVES: dict[str, CameraMove] = {
    move.name: move
    for move in (
        CameraMove(NO_CAMERA, "plain SVD: the model moves the camera as it likes", "-", 0.0),
        CameraMove("locked", "the camera stays still; only the scene moves", "none", 0.35),
        CameraMove("pan-left", "the camera turns left, the scene slides right", "8 degrees", 0.5),
        CameraMove("pan-right", "the camera turns right, the scene slides left", "8 degrees", 0.5),
        CameraMove("tilt-up", "the camera tilts up, the scene slides down", "5 degrees", 0.5),
        CameraMove("tilt-down", "the camera tilts down, the scene slides up", "5 degrees", 0.5),
        CameraMove("zoom-in", "the view narrows on the centre, which grows", "1.3x", 0.5),
        CameraMove("zoom-out", "the view widens, the centre shrinks", "1.3x", 0.5),
        CameraMove("orbit-left", "the camera circles left around the subject", "8 degrees", 0.45, True),
        CameraMove("orbit-right", "the camera circles right around the subject", "8 degrees", 0.45, True),
        CameraMove("shake", "a hand-held camera: small smooth jitter that comes back to the start", "1 degree", 0.4),
    )
}
"""Default strengths: exact 2D moves (pan, tilt, zoom) hold the guide more; orbit's guide has invented areas where
the move uncovers the background, and locked and shake should leave the subject free to move, so they hold less."""

AMOUNT_RANGE = (0.1, 3.0)
STRENGTH_RANGE = (0.0, 1.0)


def check_move(name: str) -> CameraMove:
    """The move called `name`, or an `InputError` listing the moves."""
    move = MOVES.get(name.strip().lower())
    if move is None:
        raise InputError(f"camera move '{name}' is not known", f"use one of {', '.join(MOVES)}")
    return move
