"""Planning: which version steps move a prefix from one version to another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .versions import VERSIONS, Loss, Version, get

Direction = Literal["up", "down"]


def latest_version() -> int:
    """The newest version this release ships."""
    return len(VERSIONS)


@dataclass(frozen=True)
class Step:
    """One version applied (``up``) or rolled back (``down``)."""

    version: Version
    direction: Direction

    @property
    def source(self) -> int:
        """The marker this step expects before it runs."""
        return self.version.number - 1 if self.direction == "up" else self.version.number

    @property
    def target(self) -> int:
        """The marker this step leaves."""
        return self.version.number if self.direction == "up" else self.version.number - 1

    @property
    def losses(self) -> tuple[Loss, ...]:
        """What this step destroys: the version's ``down_loses`` or ``up_loses``."""
        return self.version.down_loses if self.direction == "down" else self.version.up_loses

    def describe(self) -> str:
        verb = "Applying" if self.direction == "up" else "Unapplying"
        return f"{verb} phoenix_kit {self.version.label} ({self.version.description})"


def get_step(number: int, direction: Direction) -> Step:
    return Step(get(number), direction)


def check_version(value: object, name: str = "version", *, lowest: int = 1) -> int:
    """Return ``value`` if it is an int in ``lowest..latest``, else raise ``ValueError``."""
    latest = latest_version()
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer from {lowest} to {latest}, got {value!r}")
    if not lowest <= value <= latest:
        raise ValueError(f"{name} must be from {lowest} to {latest}, got {value}")
    return value


def plan(from_version: int, to_version: int) -> list[Step]:
    """The ordered steps that move a prefix from ``from_version`` to ``to_version``.

    Both are markers (0 = not installed). Pure: touches no database.
    """
    check_version(from_version, "from_version", lowest=0)
    check_version(to_version, "to_version", lowest=0)
    if to_version >= from_version:
        return [get_step(n, "up") for n in range(from_version + 1, to_version + 1)]
    return [get_step(n, "down") for n in range(from_version, to_version, -1)]
