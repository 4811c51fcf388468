"""How ``phoenixkit_migrate --doctor``, ``--repair`` and ``--adopt`` print what the core found.

The findings themselves are the core's (``phoenix_kit.doctor``, ``phoenix_kit.repair``);
this module only writes them, for a terminal or as JSON for CI.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.core.management.base import OutputWrapper
from django.core.management.color import Style

from ..drift import DRIFT, EXACT, UNCHECKED, Diagnosis, Difference
from ..plan import latest_version

_LABELS = (("expected", "expected"), ("found", "found   "))


def exit_status(diagnoses: Sequence[Diagnosis]) -> int:
    """0 every install exact, 1 drift found, 2 one could not be checked (the worst wins)."""
    return max((d.status for d in diagnoses), default=EXACT)


def write_json(out: OutputWrapper, alias: str, diagnoses: Sequence[Diagnosis], skipped: Sequence[str]) -> None:
    report = {
        "database": alias, "latest": latest_version(), "status": exit_status(diagnoses),
        "installs": [d.as_json() for d in diagnoses], "skipped": list(skipped),
    }  # fmt: skip
    out.write(json.dumps(report, indent=2))


def write_diagnosis(out: OutputWrapper, style: Style, alias: str, diagnosis: Diagnosis, verbosity: int) -> None:
    where = f"PhoenixKit prefix {diagnosis.prefix!r} on database {alias!r}"
    if diagnosis.status == UNCHECKED:
        out.write(f"{where}: could not check: {diagnosis.error}", style.ERROR)
        return
    if diagnosis.status == EXACT:
        out.write(f"{where}: version {diagnosis.marker}, exactly as a fresh install of it.", style.SUCCESS)
    else:
        count = len(diagnosis.differences)
        out.write(f"{where}: version {diagnosis.marker}, {count} difference{'s' * (count != 1)}:", style.WARNING)
        for difference in diagnosis.differences:
            write_difference(out, difference)
    if diagnosis.yours:
        out.write(f"  Yours (not phoenix_kit's, not drift): {len(diagnosis.yours)}")
        if verbosity >= 2:
            for name, definition in diagnosis.yours:
                out.write(f"    {name}: {definition}")


def write_difference(out: OutputWrapper, difference: Difference) -> None:
    out.write(f"  {difference.kind:<10} {difference.object}")
    for attribute, label in _LABELS:
        value = getattr(difference, attribute)
        if value is not None:
            out.write(f"             {label}: {value}")
    if difference.repair:
        out.write("             --repair: re-creates it")
    elif difference.fix:
        out.write(f"             fix:      {difference.fix}")


def summary_line(diagnoses: Sequence[Diagnosis]) -> str:
    counts = [sum(d.status == status for d in diagnoses) for status in (EXACT, DRIFT, UNCHECKED)]
    return f"{len(diagnoses)} installs checked: {counts[0]} exact, {counts[1]} with drift, {counts[2]} could not be checked."
