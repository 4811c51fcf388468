"""ensure_current's no-op reads the marker alone (``marker.MARKER_QUERY``, cheap to plan).

It must agree with the full read (``marker.STATE_QUERY``) on every state a
prefix can be in: the same version table found, the same comment read, and so
the same verdict from ``ensure_current``, which falls back to the full read
whenever the marker alone does not say "current".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

import phoenix_kit as pk
from phoenix_kit.db import PsycopgDatabase
from phoenix_kit.marker import parse_marker, read_marker, read_state
from tests.security.common import attacker

LATEST = pk.latest_version()


class TracingCursor(psycopg.Cursor[Any]):
    """Records every statement before psycopg sends it."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self.connection.traced.append(str(query))  # type: ignore[attr-defined]
        return super().execute(query, params, **kwargs)


class TracingConnection(psycopg.Connection[Any]):
    traced: list[str]


@pytest.fixture
def traced(make_database: Callable[[], str]) -> Iterator[TracingConnection]:
    """A superuser connection to a database of its own, recording what it sends."""
    with TracingConnection.connect(make_database(), autocommit=True, cursor_factory=TracingCursor) as conn:
        conn.traced = []
        yield conn


@pytest.fixture(scope="module")
def scratch(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest.fixture
def emptied(scratch: str) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection to this module's database, emptied again afterwards (public kept)."""
    with psycopg.connect(scratch, autocommit=True) as conn:
        yield conn
        for (schema,) in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('public', 'information_schema')"
        ):
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        conn.execute("DROP TABLE IF EXISTS public.phoenix_kit")


def _unique(stem: str) -> str:
    return f"{stem}{uuid.uuid4().hex[:8]}"


# Schema names as the prefix rule allows them (letters of either case, digits, "_" and "-",
# up to 63 bytes), and two that read as another name unless quoted: a keyword, and PUBLIC.
NAMES = {
    "lower case": lambda: _unique("plain_"),
    "mixed case and -": lambda: _unique("Tenant-A_"),
    "starts with a digit": lambda: _unique("1st-"),
    "63 bytes": lambda: _unique("Long-").ljust(63, "X"),
    "a reserved keyword": lambda: "select",
    "upper case only": lambda: "PUBLIC",
}

_TABLE = "CREATE TABLE {s}.phoenix_kit (id integer)"

# (what the schema holds, the statements making it; {s} is the quoted schema)
STATES: dict[str, list[str]] = {
    "no schema": [],
    "schema without table": ["CREATE SCHEMA {s}"],
    "table without comment": ["CREATE SCHEMA {s}", _TABLE],
    "a comment on a column only": ["CREATE SCHEMA {s}", _TABLE, f"COMMENT ON COLUMN {{s}}.phoenix_kit.id IS '{LATEST}'"],
    "bad comment": ["CREATE SCHEMA {s}", _TABLE, "COMMENT ON TABLE {s}.phoenix_kit IS 'garbage'"],
    "a digit that is not ASCII": ["CREATE SCHEMA {s}", _TABLE, "COMMENT ON TABLE {s}.phoenix_kit IS '٣'"],
    "marker above latest": ["CREATE SCHEMA {s}", _TABLE, "COMMENT ON TABLE {s}.phoenix_kit IS '99'"],
    "marker behind": ["CREATE SCHEMA {s}", _TABLE, "COMMENT ON TABLE {s}.phoenix_kit IS '5'"],
    "current marker": ["CREATE SCHEMA {s}", _TABLE, f"COMMENT ON TABLE {{s}}.phoenix_kit IS '{LATEST}'"],
    "current marker on a partitioned table": [
        "CREATE SCHEMA {s}",
        "CREATE TABLE {s}.phoenix_kit (id integer) PARTITION BY RANGE (id)",
        f"COMMENT ON TABLE {{s}}.phoenix_kit IS '{LATEST}'",
    ],
    "a view named phoenix_kit": [
        "CREATE SCHEMA {s}",
        "CREATE VIEW {s}.phoenix_kit AS SELECT 1 AS id",
        f"COMMENT ON VIEW {{s}}.phoenix_kit IS '{LATEST}'",
    ],
    "a sequence named phoenix_kit": [
        "CREATE SCHEMA {s}",
        "CREATE SEQUENCE {s}.phoenix_kit",
        f"COMMENT ON SEQUENCE {{s}}.phoenix_kit IS '{LATEST}'",
    ],
}


def _make(conn: psycopg.Connection[Any], schema: str, statements: list[str]) -> None:
    quoted = sql.Identifier(schema).as_string(conn)
    for statement in statements:
        conn.execute(statement.format(s=quoted))


def _both_reads(conn: psycopg.Connection[Any], schema: str) -> tuple[int | None, int | None]:
    """The marker alone, and what the full read says the marker alone should be."""
    db = PsycopgDatabase(conn)
    state = read_state(db, schema)
    return read_marker(db, schema), parse_marker(state.comment) if state.table_exists else None


# What the marker alone reads in each state; None in the others.
MARKERS = {
    "current marker": LATEST,
    "current marker on a partitioned table": LATEST,
    "marker behind": 5,
    "marker above latest": 99,
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("state", STATES)
def test_the_marker_alone_is_what_the_full_read_finds(emptied: psycopg.Connection[Any], state: str, name: str) -> None:
    schema = NAMES[name]()
    assert len(schema.encode()) <= 63
    # Look-alikes that must not be read instead, marked current: a version table in
    # another schema, and in one whose name differs only in case (public for PUBLIC).
    for other in {schema.swapcase(), _unique("other_")} - {schema}:
        _make(emptied, other, ["CREATE SCHEMA IF NOT EXISTS {s}", *STATES["current marker"][1:]])
    _make(emptied, schema, STATES[state])

    fast, full = _both_reads(emptied, schema)

    assert fast == full == MARKERS.get(state)


def _verdict(action: Callable[[], object]) -> tuple[str, object]:
    try:
        return "returned", action()
    except pk.PhoenixKitError as exc:
        return type(exc).__name__, str(exc)


def _full_read_verdict(conn: psycopg.Connection[Any], prefix: str) -> tuple[str, object] | None:
    """What the full marker read decides for ensure_current: a no-op's result or an error; None: it moves."""
    verdict = _verdict(lambda: read_state(PsycopgDatabase(conn), prefix).version_for_change())
    if verdict[0] == "returned" and isinstance(verdict[1], int) and verdict[1] < LATEST:
        return None
    return verdict


@pytest.mark.parametrize("state", STATES)
def test_ensure_current_decides_as_the_full_read(traced: TracingConnection, state: str) -> None:
    prefix, twin = _unique("p"), _unique("t")
    for schema in (prefix, twin):
        _make(traced, schema, STATES[state])
    full = _full_read_verdict(traced, prefix)
    traced.traced.clear()

    kind, said = _verdict(lambda: pk.ensure_current(using=traced, prefix=prefix))

    sent = len(traced.traced)
    if full is None:
        # Behind: past its first read, ensure_current runs as up() does; compare with up() on a twin.
        full = _verdict(lambda: pk.up(prefix=twin, using=traced, log=False))
        assert (kind, str(said).replace(prefix, twin)) == (full[0], str(full[1])) and sent > 2
    else:  # a no-op in one statement, or the full read's error after a second one
        assert (kind, said) == full and sent == (1 if kind == "returned" else 2)


def test_an_install_at_latest_costs_one_statement(traced: TracingConnection) -> None:
    pk.up(prefix="app", using=traced, log=False)
    traced.traced.clear()
    assert pk.ensure_current(using=traced, prefix="app") == LATEST
    assert len(traced.traced) == 1 and "pg_advisory" not in traced.traced[0]


@pytest.mark.parametrize(("marker", "expected"), [(str(LATEST), LATEST), ("7", pk.UnsafeDatabaseError)])
def test_an_install_owned_by_a_role_we_do_not_act_for(
    make_database: Callable[[], str], marker: str, expected: int | type[Exception]
) -> None:
    """At the latest version the marker alone is trusted, as before (nothing is changed, nothing of
    theirs runs); behind, the full read and the run's checks refuse to migrate it."""
    conninfo = make_database()
    with attacker(conninfo) as evil:
        _make(evil.conn, "theirs", ["CREATE SCHEMA {s}", _TABLE, f"COMMENT ON TABLE {{s}}.phoenix_kit IS '{marker}'"])
        with psycopg.connect(conninfo, autocommit=True) as conn:
            if isinstance(expected, int):
                assert pk.ensure_current(using=conn, prefix="theirs") == expected
            else:
                with pytest.raises(expected, match=f'owned by role "{evil.name}"'):
                    pk.ensure_current(using=conn, prefix="theirs")
