"""Model names as a caller gives them: which a server offers (the catalogue's, its own folders, the Hub ids it
allows), checked by their form before anything is looked up, and Hub ids by the Hub's own rules."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from ..errors import ModelError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
"""The form of a Hub repository id, `owner/name`."""


@dataclass(frozen=True)
class ServedModels:
    """The models a WebUI or API caller may ask for: the server's own (`configured`, also for an empty name), the
    catalogue (its ids and Hub ids), a folder directly inside the models folder, and the Hub ids that match one of
    `hub` (fnmatch patterns such as `myorg/*`, or `*`: SVD_HUB_MODELS; none unless the operator allows them).

    A name is checked by its form alone before anything is looked up, and every refused name gets the same message,
    whether or not a path of that name exists, so callers cannot probe the server's folders or make it download
    whatever they like."""

    configured: str
    folder: Path
    hub: tuple[str, ...] = ()
    catalogue: tuple[str, ...] = ()
    """The ids it offers by name (the catalogue's ids and their Hub ids)."""
    what: str = "model"

    def name(self, asked: str) -> str:
        """`asked` as a name the loader takes (a folder as its path), or a `ModelError`."""
        asked = asked.strip()
        if asked in ("", self.configured):
            return self.configured
        if asked in self.catalogue:
            return asked
        inside = asked.removeprefix(f"{self.folder}/")  # the page lists local folders by their path
        if plain_name(inside) and (self.folder / inside).is_dir():
            return str(self.folder / inside)
        if is_hub_id(asked) and any(fnmatch.fnmatchcase(asked, pattern) for pattern in self.hub):
            return asked
        ids = ", ".join(name for name in self.catalogue if "/" not in name)
        hub = ", a Hub id this server allows (SVD_HUB_MODELS)" if self.hub else ""
        raise ModelError(
            f"{self.what} '{shown_name(asked)}' is not available here",
            f"use one of {ids}{hub} or the name of a folder in the server's models folder",
        )


MAX_NAME = 200
"""The longest model name looked at (a Hub id is at most 96 characters a part)."""


def is_hub_id(name: str) -> bool:
    """Whether `name` is a Hub repository id, `owner/name`, by the Hub's own rules (huggingface_hub's check)."""
    if len(name) > MAX_NAME or name.count("/") != 1:
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def plain_name(name: str) -> bool:
    """A folder name that stays inside the folder it is joined to: no separator, no `..`, not hidden."""
    return (
        0 < len(name) <= MAX_NAME
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and not name.startswith(".")
    )


def shown_name(name: str) -> str:
    """A name as an error repeats it: one line, at most 60 characters."""
    flat = name.encode("unicode_escape").decode("ascii")
    return flat if len(flat) <= 60 else flat[:57] + "..."
