"""What a prefix legitimately looks like at each version, and the check against it.

"The marker agrees with the catalog" is checked by comparing a prefix with
reference installs at the version its marker claims. A version can be reached
going up (0 → N) or coming down (latest → N); the two differ only in column
numbers (``attnum`` counts dropped columns) and, at V01, in where V02's down
puts ``is_active`` back. So each version has two references, attnums are left
out of the comparison, and a prefix must equal one of the two.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import psycopg

import phoenix_kit as pk
from tests.catalog import introspect
from tests.catalog_compare import diff
from tests.helpers import rows, schema_exists
from tests.reliability.common import drop_schema, unique_name

LATEST = pk.latest_version()


def comparable(catalog: dict[str, Any]) -> dict[str, Any]:
    """``catalog`` with the columns' attnum blanked (position, name, type, … stay)."""
    result = copy.deepcopy(catalog)
    for table in result["tables"].values():
        for column in table["columns"]:
            column[1] = None
    return result


def state(conn: psycopg.Connection[Any], schema: str, *, with_rows: bool) -> dict[str, Any]:
    catalog = comparable(introspect(conn, schema))
    if not with_rows:
        return {"catalog": catalog}
    return {"catalog": catalog, "rows": {table: rows(conn, schema, table) for table in catalog["tables"]}}


@dataclass(frozen=True, repr=False)
class References:
    """``up[n]``/``down[n]``: catalog and rows of a fresh install at version n, reached each way."""

    up: tuple[dict[str, Any], ...]
    down: tuple[dict[str, Any], ...]

    @classmethod
    def build(cls, conn: psycopg.Connection[Any]) -> References:
        schema = unique_name("ref")
        try:
            going_up = [state(conn, schema, with_rows=True)]
            for version in range(1, LATEST + 1):
                pk.up(version=version, prefix=schema, using=conn, log=False)
                going_up.append(state(conn, schema, with_rows=True))
            coming_down = [going_up[LATEST]]
            for version in range(LATEST, 0, -1):
                pk.down(version=version, prefix=schema, using=conn, log=False)
                coming_down.append(state(conn, schema, with_rows=True))
        finally:
            drop_schema(conn, schema)
        return cls(tuple(going_up), tuple(reversed(coming_down)))

    def __repr__(self) -> str:
        return f"<References of versions 0..{LATEST}>"

    def problems(self, conn: psycopg.Connection[Any], schema: str, version: int, *, with_rows: bool) -> list[str]:
        """Why ``schema`` is not a legitimate install at ``version`` ([] when it is)."""
        actual = state(conn, schema, with_rows=with_rows)
        found: list[str] = []
        for path, reference in (("up", self.up[version]), ("down", self.down[version])):
            problems = diff(reference["catalog"], actual["catalog"])
            if with_rows and not problems and actual["rows"] != reference["rows"]:
                problems = [f"rows differ: {actual['rows']!r} != {reference['rows']!r}"]
            if not problems:
                return []
            found += [f"(vs version {version} reached going {path}) {problem}" for problem in problems]
        return found


def assert_consistent(
    conn: psycopg.Connection[Any], schema: str, references: References, *, with_rows: bool = False, ours: bool = True
) -> int:
    """The marker of ``schema`` and its catalog agree; returns the marker.

    ``ours``: the schema was created by phoenix_kit, so at version 0 it must be gone.
    """
    version = pk.migrated_version(schema, using=conn)
    problems = references.problems(conn, schema, version, with_rows=with_rows)
    assert not problems, f"prefix {schema!r} is marked {version} but:\n" + "\n".join(problems[:40])
    if version == 0 and ours and schema != "public":
        assert not schema_exists(conn, schema), f"prefix {schema!r} is at 0 but its schema is still there"
    return version
