"""Style presets for text to video: a prompt template with a `{prompt}` placeholder, a negative prompt, and
suggested video settings (motion, camera move).

Ours are in `svd/text/styles.json`. Users add presets, or replace ours by name, in a JSON file of the same form
(`SVD_STYLES_FILE`, in the data folder); a bad file gets one line naming the file, the line and what is wrong.
Prompts are plain text: diffusers does not parse `(word:1.3)` weighting, so a template with it is refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

from ..camera.moves import MOVES
from ..errors import InputError

BUILT_IN = Path(__file__).with_name("styles.json")
PLACEHOLDER = "{prompt}"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
WEIGHTING = re.compile(r"\([^()]*:\s*[0-9.]+\s*\)")
"""`(word:1.3)`, the weighting syntax of other UIs."""


@dataclass(frozen=True)
class Style:
    name: str
    title: str
    prompt: str
    """The template: `{prompt}` is replaced by the user's prompt."""
    negative_prompt: str = ""
    motion: int | None = None
    """Suggested motion bucket, if the style suits one."""
    camera: str | None = None
    """Suggested camera move, if the style suits one."""

    def apply(self, prompt: str, negative_prompt: str = "") -> tuple[str, str]:
        """The prompt and negative prompt that reach the model: the template filled, the negatives joined."""
        text = self.prompt.replace(PLACEHOLDER, prompt.strip())
        negative = ", ".join(part for part in (self.negative_prompt, negative_prompt.strip()) if part)
        return text, negative


def load_styles(user_file: Path | None = None) -> dict[str, Style]:
    """Our presets, then the user's (which may replace ours by name), in file order."""
    styles = {style.name: style for style in read_styles(BUILT_IN)}
    if user_file is not None and user_file.is_file():
        styles.update({style.name: style for style in read_styles(user_file)})
    return styles


def check_style(name: str, styles: dict[str, Style]) -> Style:
    style = styles.get(name.strip().lower())
    if style is None:
        raise InputError(f"style '{name}' is not known", f"use one of {', '.join(styles)}")
    return style


def read_styles(path: Path) -> list[Style]:
    """The presets in `path`, a JSON list of objects; an `InputError` naming the line of the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"style file {path} cannot be read ({error})", "fix or remove it") from None
    styles = []
    for line, entry in _entries(path, text):
        problem = _problem(entry)
        if problem:
            raise InputError(f"style file {path}, line {line}: {problem}", "fix that preset or remove it")
        styles.append(Style(**{"title": entry["name"], **entry}))
    return styles


def _entries(path: Path, text: str) -> list[tuple[int, object]]:
    """Each top-level entry of the JSON list with the line it starts on."""
    decoder = json.JSONDecoder()
    entries = []
    try:
        position = _skip(text, 0)
        if text[position : position + 1] != "[":
            raise InputError(f"style file {path}, line {_line(text, position)}: expected a list of presets, [ ... ]")
        position = _skip(text, position + 1)
        while text[position : position + 1] != "]":
            entry, end = decoder.raw_decode(text, position)
            entries.append((_line(text, position), entry))
            position = _skip(text, end)
            if text[position : position + 1] == ",":
                position = _skip(text, position + 1)
            elif text[position : position + 1] != "]":
                raise json.JSONDecodeError("expected ',' or ']'", text, position)
    except json.JSONDecodeError as error:
        raise InputError(f"style file {path}, line {error.lineno}: not valid JSON ({error.msg})", "fix it") from None
    return entries


def _problem(entry: object) -> str | None:
    """What is wrong with one preset, or None."""
    if not isinstance(entry, dict):
        return "a preset must be an object with name, prompt and negative_prompt"
    known = {field.name for field in fields(Style)}
    unknown = sorted(set(entry) - known)
    if unknown:
        return f"unknown key {unknown[0]!r} (keys: {', '.join(sorted(known))})"
    name, prompt = entry.get("name"), entry.get("prompt")
    if not isinstance(name, str) or not NAME.match(name):
        return f"name {name!r} must be lower-case letters, digits and dashes"
    if not isinstance(prompt, str) or PLACEHOLDER not in prompt:
        return f"preset {name}: prompt must be text with the {PLACEHOLDER} placeholder"
    for key in ("title", "negative_prompt"):
        if not isinstance(entry.get(key, ""), str):
            return f"preset {name}: {key} must be text"
    if any(WEIGHTING.search(entry.get(key, "")) for key in ("prompt", "negative_prompt")):
        return f"preset {name}: (word:1.3) weighting is not understood by diffusers; write plain text"
    motion = entry.get("motion")
    if motion is not None and (not isinstance(motion, int) or not 1 <= motion <= 255):
        return f"preset {name}: motion must be a whole number from 1 to 255"
    camera = entry.get("camera")
    if camera is not None and camera not in MOVES:
        return f"preset {name}: camera {camera!r} is not a move ({', '.join(MOVES)})"
    return None


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1
