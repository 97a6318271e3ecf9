"""The model families the studio runs, by name: each package's `Family`."""

from __future__ import annotations

from .family import Family
from .ltx.family import LTX
from .svd.family import SVD
from .wan.family import WAN

FAMILIES: dict[str, Family] = {family.kind.name: family for family in (SVD, WAN, LTX)}
