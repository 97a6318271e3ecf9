"""Example pictures that fill the picture box with one click (public domain and CC0; see examples/SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def example_pictures() -> list[str]:
    return sorted(str(path) for path in EXAMPLES_DIR.glob("*.jpg"))
