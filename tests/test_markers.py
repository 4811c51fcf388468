"""The version marker: read strictly, never guessed, never trusted when too new."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from tests.helpers import snapshot


def _comment(conn: psycopg.Connection[Any], prefix: str, value: str | None) -> None:
    literal = "NULL" if value is None else "'" + value.replace("'", "''") + "'"
    conn.execute(f'COMMENT ON TABLE "{prefix}".phoenix_kit IS {literal}')


@pytest.mark.parametrize("value", [None, "", "garbage", "1.5", " 3", "-2", "٣"])
def test_unreadable_marker_is_an_error_with_the_fix(conn: psycopg.Connection[Any], prefix: str, value: str | None) -> None:
    pk.up(version=3, prefix=prefix, using=conn, log=False)
    _comment(conn, prefix, value)
    before = snapshot(conn, prefix)
    for call in (
        lambda: pk.migrated_version(prefix, using=conn),
        lambda: pk.up(prefix=prefix, using=conn, log=False),
        lambda: pk.down(prefix=prefix, using=conn, log=False),
        lambda: pk.ensure_current(using=conn, prefix=prefix),
    ):
        with pytest.raises(pk.MarkerError, match="--mark N"):
            call()
    assert snapshot(conn, prefix) == before


def test_marker_newer_than_this_release(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(prefix=prefix, using=conn, log=False)
    _comment(conn, prefix, "99")
    before = snapshot(conn, prefix)
    assert pk.migrated_version(prefix, using=conn) == 99
    for call in (
        lambda: pk.up(prefix=prefix, using=conn, log=False),
        lambda: pk.down(version=3, prefix=prefix, using=conn, log=False),
        lambda: pk.ensure_current(using=conn, prefix=prefix),
    ):
        with pytest.raises(pk.MarkerError, match="newer"):
            call()
    assert snapshot(conn, prefix) == before


def test_marker_is_read_with_the_prefix_as_a_bound_value(conn: psycopg.Connection[Any], prefix: str) -> None:
    """A table called phoenix_kit elsewhere does not count; the marker is what Elixir PhoenixKit writes."""
    conn.execute(f'CREATE SCHEMA "{prefix}"')
    conn.execute(f'CREATE TABLE "{prefix}".other (id int)')
    assert pk.migrated_version(prefix, using=conn) == 0
    pk.up(version=4, prefix=prefix, using=conn, log=False)
    comment = conn.execute(
        "SELECT obj_description(%s::regclass, 'pg_class')", [f'"{prefix}".phoenix_kit']
    ).fetchone()[0]
    assert comment == "4"
