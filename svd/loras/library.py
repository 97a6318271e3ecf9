"""Where LoRAs come from and what they are: a file in the loras folder, a Hub id (`owner/repo` holding one
.safetensors, or `owner/repo/path/file.safetensors`, fetched through the same download code as the models), or, on
the command line, a file's path. A file is read only as far as its keys before it is used: one that is not a LoRA, or
one made for another family's network, is refused in one line that names it, before any model work."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError, safe_open

from ..errors import InputError, ModelError
from ..media.digest import file_sha256
from ..models.download import ProgressReport, cached_model_path, download_model
from ..models.entries import FamilyKind
from ..models.names import MAX_NAME, is_hub_id, plain_name, shown_name
from ..request import LoraChoice, LoraUse

SUFFIX = ".safetensors"


@dataclass(frozen=True)
class LoraFile:
    """A LoRA found: the name a request gives it, where it came from (`folder`, `hub` or `file`), and its file."""

    name: str
    source: str
    path: Path


def hub_parts(name: str) -> tuple[str, str | None] | None:
    """`owner/repo[/path/file.safetensors]` as (repo id, file or None), or None when `name` is no such Hub name."""
    parts = name.split("/")
    if len(name) > MAX_NAME or len(parts) < 2:
        return None
    repo, file = "/".join(parts[:2]), "/".join(parts[2:]) or None
    if not is_hub_id(repo) or (file is not None and (not file.endswith(SUFFIX) or ".." in parts or "" in parts)):
        return None
    return repo, file


def find_lora(asked: str, folder: Path, report: ProgressReport | None = None, paths: bool = True) -> LoraFile:
    """The file `asked` names: a file in `folder`, a Hub name (downloaded if need be), or with `paths`, a file's
    path. Every name that is none of these gets the same line."""
    asked = asked.strip()
    inside = asked.removeprefix(f"{folder}/")  # the page lists the folder's files by their path
    if plain_name(inside) and (folder / inside).is_file():
        return LoraFile(inside, "folder", folder / inside)
    if paths and Path(asked).expanduser().is_file():
        return LoraFile(asked, "file", Path(asked).expanduser())
    hub = hub_parts(asked)
    if hub is not None:
        return LoraFile(asked, "hub", _fetch(*hub, report))
    raise InputError(
        f"LoRA '{shown_name(asked)}' is neither a file in the loras folder nor a Hub name",
        "use a .safetensors file's name in the loras folder, owner/repo or owner/repo/file.safetensors",
    )


def served(asked: str, hub: tuple[str, ...]) -> str:
    """For the page and the API: `asked` if it is the name of a file in the loras folder or a Hub name one of `hub`
    (SVD_HUB_MODELS) allows, checked by its form alone, with one answer for every other name (a path included)."""
    if plain_name(asked.strip()) and asked.strip().endswith(SUFFIX):
        return asked.strip()
    parts = hub_parts(asked.strip())
    if parts is not None and any(fnmatch.fnmatchcase(parts[0], pattern) for pattern in hub):
        return asked.strip()
    allowed = " or a Hub name this server allows (SVD_HUB_MODELS)" if hub else ""
    raise InputError(
        f"LoRA '{shown_name(asked)}' is not available here",
        f"use the name of a .safetensors file in the server's loras folder{allowed}",
    )


def _fetch(repo: str, file: str | None, report: ProgressReport | None) -> Path:
    """The file of a Hub LoRA, from the cache or downloaded; `owner/repo` must hold exactly one .safetensors."""
    patterns = [file or f"*{SUFFIX}"]
    folder = cached_model_path(repo, patterns) or download_model(repo, report, patterns)
    found = sorted(folder.glob(file or f"**/*{SUFFIX}"))
    if file is None and len(found) != 1:
        names = ", ".join(path.relative_to(folder).as_posix() for path in found[:4]) or "none"
        raise ModelError(
            f"{repo} holds {len(found)} .safetensors files ({names})", f"name one: {repo}/FILE.safetensors"
        )
    if not found:
        raise ModelError(f"{repo} has no file {file}", "check the file's path in the repository")
    return found[0]


def lora_family(lora: LoraFile, kinds: dict[str, FamilyKind]) -> str:
    """The family whose network `lora`'s keys name (`FamilyKind.lora_keys`); refused when it is not a LoRA."""
    try:
        with safe_open(str(lora.path), "pt") as weights:
            keys = list(weights.keys())
    except (SafetensorError, OSError, ValueError) as error:
        raise InputError(
            f"{lora.path.name} cannot be read as a .safetensors file ({type(error).__name__})", "choose a LoRA file"
        ) from None
    if not any("lora" in key for key in keys):
        raise InputError(f"{lora.path.name} is not a LoRA (it holds no LoRA weights)", "choose a LoRA file")
    for kind in kinds.values():
        if kind.lora_keys is not None and any(re.search(kind.lora_keys, key) for key in keys):
            return kind.name
    takers = " or ".join(kind.title for kind in kinds.values() if kind.lora_keys is not None)
    raise InputError(f"{lora.path.name} is a LoRA for none of the {takers} models", "choose a LoRA made for one")


def listed_loras(folder: Path, kinds: dict[str, FamilyKind]) -> list[tuple[str, str | None]]:
    """The LoRA files of `folder` for the page, by name, each with its family's name (None: not a usable LoRA)."""
    found = []
    for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        try:
            found.append((path.name, lora_family(LoraFile(path.name, "folder", path), kinds)))
        except InputError:
            found.append((path.name, None))
    return found


def lora_uses(
    choices: tuple[LoraChoice, ...], family: str, kinds: dict[str, FamilyKind], folder: Path, report: ProgressReport
) -> tuple[LoraUse, ...]:
    """The asked LoRAs found (Hub ones downloaded), each checked to be a LoRA of `family`, with its file's hash."""
    uses = []
    for choice in choices:
        lora = find_lora(choice.name, folder, report)
        fits = lora_family(lora, kinds)
        if fits != family:
            raise InputError(
                f"{lora.path.name} is a LoRA for {kinds[fits].title} models, not for {kinds[family].title} ones",
                f"choose a {kinds[family].title} LoRA, or a {kinds[fits].title} model",
            )
        uses.append(LoraUse(lora.name, lora.source, file_sha256(lora.path), choice.strength))
    return tuple(uses)


def parse_lora(text: str) -> LoraChoice:
    """`NAME[:STRENGTH]` (the command line's and the API's form) as a choice; the strength is 1 when left out."""
    name, colon, strength = text.strip().rpartition(":")
    if not colon:
        return LoraChoice(text.strip())
    try:
        return LoraChoice(name.strip(), float(strength))
    except ValueError:
        raise InputError(
            f"LoRA strength '{shown_name(strength.strip())}' is not a number", "write NAME:STRENGTH, e.g. style:0.8"
        ) from None


def parse_loras(text: str) -> tuple[LoraChoice, ...]:
    """`NAME[:STRENGTH]` choices separated by commas (the API's `loras`); "" for none."""
    return tuple(parse_lora(part) for part in text.split(",") if part.strip())
