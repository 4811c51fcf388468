"""The registry of schema versions: every ``vNN`` module of this package.

Adding a version is adding one module; numbering must stay contiguous from 1.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from ._base import Loss, Version

__all__ = ["VERSIONS", "Loss", "Version", "get"]


def _discover() -> tuple[Version, ...]:
    numbers = sorted(
        int(info.name[1:])
        for info in pkgutil.iter_modules(__path__)
        if re.fullmatch(r"v\d\d", info.name)
    )
    if numbers != list(range(1, len(numbers) + 1)):
        raise ImportError(f"phoenix_kit versions are not contiguous from 1: {numbers}")
    return tuple(
        Version.from_module(n, importlib.import_module(f"{__name__}.v{n:02d}"))
        for n in numbers
    )


VERSIONS: tuple[Version, ...] = _discover()


def get(number: int) -> Version:
    return VERSIONS[number - 1]
