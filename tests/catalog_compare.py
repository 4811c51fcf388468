"""Readable differences between two catalog descriptions (see ``tests/catalog.py``).

``diff(expected, actual)`` returns one line per difference, empty when equal, so a
failing test can say ``assert not problems, "\\n".join(problems)`` and show exactly
which table, column, constraint or index is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

COLUMN_FIELDS: tuple[str, ...] = ("#", "attnum", "name", "type", "null", "default", "comment")


def _r(value: Any) -> str:
    return repr(value)


def _generic(path: str, expected: Any, actual: Any, out: list[str]) -> None:
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{sub}: missing (expected {_r(expected[key])})")
            elif key not in expected:
                out.append(f"{sub}: unexpected {_r(actual[key])}")
            else:
                _generic(sub, expected[key], actual[key], out)
    elif expected != actual:
        out.append(f"{path}: expected {_r(expected)}, got {_r(actual)}")


def _named(kind: str, where: str, expected: Mapping[str, Any], actual: Mapping[str, Any],
           out: list[str]) -> None:
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            out.append(f"{where}: {kind} {name} missing (expected {_r(expected[name])})")
        elif name not in expected:
            out.append(f"{where}: unexpected {kind} {name} = {_r(actual[name])}")
        elif expected[name] != actual[name]:
            out.append(f"{where}: {kind} {name}: expected {_r(expected[name])}, got {_r(actual[name])}")


def _columns(table: str, expected: list[list[Any]], actual: list[list[Any]], out: list[str]) -> None:
    exp = {c[2]: c for c in expected}
    act = {c[2]: c for c in actual}
    for name in [c[2] for c in expected] + [c[2] for c in actual if c[2] not in exp]:
        if name not in act:
            out.append(f"{table}: column {name} missing (expected {_r(exp[name])})")
            continue
        if name not in exp:
            out.append(f"{table}: unexpected column {name} = {_r(act[name])}")
            continue
        e, a = exp[name], act[name]
        if len(e) != len(a):
            out.append(f"{table}.{name}: expected {_r(e)}, got {_r(a)}")
            continue
        for field, ev, av in zip(COLUMN_FIELDS, e, a):
            if ev != av:
                out.append(f"{table}.{name}: {field} expected {_r(ev)}, got {_r(av)}")
    # Same columns and fields but listed in another order (only possible if the
    # positions are inconsistent with the list order).
    if not out and [c[2] for c in expected] != [c[2] for c in actual] and set(exp) == set(act):
        out.append(f"{table}: column order expected {[c[2] for c in expected]}, got {[c[2] for c in actual]}")


def _tables(expected: Mapping[str, Any], actual: Mapping[str, Any], out: list[str]) -> None:
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            out.append(f"table {name}: missing")
            continue
        if name not in expected:
            a = actual[name]
            out.append(
                f"table {name}: unexpected ({len(a.get('columns', []))} columns, "
                f"{len(a.get('constraints', {}))} constraints, {len(a.get('indexes', {}))} indexes)"
            )
            continue
        e, a = expected[name], actual[name]
        for key in sorted(set(e) | set(a)):
            if key == "columns":
                cols: list[str] = []
                _columns(name, e.get(key, []), a.get(key, []), cols)
                out.extend(cols)
            elif key == "constraints":
                _named("constraint", name, e.get(key, {}), a.get(key, {}), out)
            elif key == "indexes":
                _named("index", name, e.get(key, {}), a.get(key, {}), out)
            elif key == "comment":
                if e.get(key) != a.get(key):
                    out.append(f"table {name}: comment expected {_r(e.get(key))}, got {_r(a.get(key))}")
            else:
                _generic(f"tables.{name}.{key}", e.get(key), a.get(key), out)


def _list(what: str, expected: Iterable[Any], actual: Iterable[Any], out: list[str]) -> None:
    exp, act = list(expected), list(actual)
    for item in exp:
        if item not in act:
            out.append(f"{what}: missing {_r(item)}")
    for item in act:
        if item not in exp:
            out.append(f"{what}: unexpected {_r(item)}")


def diff(expected: Mapping[str, Any], actual: Mapping[str, Any], *,
         ignore: Iterable[str] = ()) -> list[str]:
    """Differences between two ``introspect``-shaped dicts; ``[]`` when they are equal.

    ``ignore`` names top-level keys to leave out (e.g. ``{"citext_schema"}`` when
    comparing an install whose citext extension lives elsewhere).
    """
    skip = set(ignore)
    out: list[str] = []
    for key in sorted((set(expected) | set(actual)) - skip):
        if key not in actual:
            out.append(f"{key}: missing from actual")
            continue
        if key not in expected:
            out.append(f"{key}: not in expected (actual {_r(actual[key])})")
            continue
        e, a = expected[key], actual[key]
        if key == "tables":
            _tables(e, a, out)
        elif key == "sequences":
            _named("sequence", "sequences", e, a, out)
        elif key == "other_objects":
            _list("other_objects", e, a, out)
        elif key == "citext_schema":
            _named("citext column", "citext_schema", e, a, out)
        else:
            _generic(key, e, a, out)
    return out
