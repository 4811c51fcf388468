"""What a schema version is: a numbered, described pair of statement lists.

Version modules (``v01`` … ``v16``) are small and declarative. Each one defines
``DESCRIPTION``, ``DOWN_LOSES`` and the two functions ``up(schema)`` and
``down(schema)``, where ``schema`` is the prefix already quoted as an SQL
identifier (``'"auth"'``); a module whose ``up`` destroys existing data also
defines ``UP_LOSES`` (absent: the up loses nothing). They never write the version marker, open
transactions or take locks: the runner does all of that.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Callable


@dataclass(frozen=True)
class Loss:
    """Data that a version's ``down`` (or ``up``) destroys, announced before it runs.

    ``where`` selects the affected rows of ``table`` (None: every row); it is
    used to count them for the confirmation prompt, so it must not depend on
    the session's ``search_path``: ``IS NULL``, a boolean column, or operators
    written ``OPERATOR(pg_catalog.=)`` between values cast to exact types.
    """

    table: str
    what: str
    where: str | None = None


@dataclass(frozen=True)
class Version:
    number: int
    description: str
    up: Callable[[str], list[str]]
    down: Callable[[str], list[str]]
    down_loses: tuple[Loss, ...]
    up_loses: tuple[Loss, ...] = ()

    @property
    def label(self) -> str:
        return f"V{self.number:02d}"

    @classmethod
    def from_module(cls, number: int, module: ModuleType) -> Version:
        return cls(
            number=number,
            description=module.DESCRIPTION,
            up=module.up,
            down=module.down,
            down_loses=tuple(module.DOWN_LOSES),
            up_loses=tuple(getattr(module, "UP_LOSES", ())),
        )
