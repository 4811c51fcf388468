"""The exported SQL, applied with psql, does exactly what a live run does."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from tests.helpers import psql, snapshot


@pytest.mark.parametrize(("start", "end"), [(0, 16), (3, 9), (16, 0), (9, 3)])
def test_exported_script_equals_live_run(
    conn: psycopg.Connection[Any], prefix: str, shared_conninfo: str, start: int, end: int
) -> None:
    live, scripted = f"{prefix}_l", f"{prefix}_s"
    try:
        for name in (live, scripted):
            if start:
                pk.up(version=start, prefix=name, using=conn, log=False)
        if end > start:
            pk.up(version=end, prefix=live, using=conn, log=False)
        else:
            pk.down(version=end + 1, prefix=live, using=conn, log=False)

        result = psql(shared_conninfo, pk.sql(start, end, prefix=scripted))

        assert result.returncode == 0, result.stderr
        assert snapshot(conn, scripted) == snapshot(conn, live)
        assert pk.migrated_version(scripted, using=conn) == end
    finally:
        for name in (live, scripted):
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_exported_script_for_public(fresh_conn: psycopg.Connection[Any]) -> None:
    conninfo = fresh_conn.info.dsn
    assert psql(conninfo, pk.sql(0, 16, prefix="public")).returncode == 0
    assert pk.migrated_version("public", using=fresh_conn) == 16
    assert psql(conninfo, pk.sql(16, 0, prefix="public")).returncode == 0
    assert pk.migrated_version("public", using=fresh_conn) == 0


@pytest.mark.parametrize(("start", "actual"), [(0, 5), (3, 0), (3, 4), (16, 15)])
def test_script_applied_at_the_wrong_version_changes_nothing(
    conn: psycopg.Connection[Any], prefix: str, shared_conninfo: str, start: int, actual: int
) -> None:
    if actual:
        pk.up(version=actual, prefix=prefix, using=conn, log=False)
    before = snapshot(conn, prefix)
    end = 16 if start < 16 else 0

    result = psql(shared_conninfo, pk.sql(start, end, prefix=prefix))

    assert result.returncode != 0
    assert f"must be at version {start}" in result.stderr
    assert snapshot(conn, prefix) == before


def test_script_with_create_schema_false_needs_the_schema(conn: psycopg.Connection[Any], prefix: str, shared_conninfo: str) -> None:
    result = psql(shared_conninfo, pk.sql(0, 16, prefix=prefix, create_schema=False))
    assert result.returncode != 0
    assert "create_schema is false" in result.stderr
    assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [prefix]).fetchone() == (0,)


def test_script_is_one_transaction_per_step_with_lock_and_marker() -> None:
    script = pk.sql(3, 5, prefix="auth")
    assert script.count("BEGIN ISOLATION LEVEL READ COMMITTED;") == 2 and script.count("COMMIT;") == 2
    assert script.count("pg_advisory_xact_lock") == 2
    assert """COMMENT ON TABLE "auth"."phoenix_kit" IS '4';""" in script
    assert """COMMENT ON TABLE "auth"."phoenix_kit" IS '5';""" in script
