"""Smaller defects of the exported script and of marker reads (issue 9, item 10).

The script is not all-or-nothing under ``psql --single-transaction`` (each step
commits), so it must refuse that mode; it must stop at its first error even
without ``-v ON_ERROR_STOP=1``. A marker that overstates the catalog must be
noticed by up/down/status; marker '015' must mean the same to the live runner
and to the script. With prefix ``public`` and no ``public`` schema the error
must not advise a flag that is ignored for ``public``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

import phoenix_kit as pk
from phoenix_kit.status import prefix_status
from tests.helpers import schema_exists
from tests.security.common import described, outcome, psql


def _tables(conn: psycopg.Connection[Any], schema: str) -> set[str]:
    return {name for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])}


def test_a_script_run_as_a_single_transaction_refuses_and_changes_nothing(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str, tmp_path: Path
) -> None:
    """psql --single-transaction -f sql(0, 16) fails with an error saying why, and creates nothing."""
    script = tmp_path / "install.sql"
    result = psql(shared_conninfo, pk.sql(0, 16, prefix=prefix), extra=("--single-transaction",), file=str(script))

    assert not schema_exists(conn, prefix), f"the script was applied under --single-transaction (psql exit {result.returncode})"
    assert pk.migrated_version(prefix, using=conn) == 0
    assert result.returncode != 0
    assert re.search(r"single.transaction", result.stderr, re.I), result.stderr


def test_a_script_stops_at_its_first_error_without_on_error_stop(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str
) -> None:
    """Plain ``psql -f`` of sql(0, 16) where V03 clashes: exit status non-zero, one error, marker 2, nothing of V04+."""
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(prefix)))
    conn.execute(sql.SQL('CREATE TABLE {} ("id" integer)').format(sql.Identifier(prefix, "phoenix_kit_settings")))

    result = psql(shared_conninfo, pk.sql(0, 16, prefix=prefix), on_error_stop=False)

    errors = [line for line in result.stderr.splitlines() if "ERROR:" in line]
    assert result.returncode != 0, f"psql exited 0 after {len(errors)} errors: {errors[:3]}"
    assert len(errors) == 1, errors
    assert pk.migrated_version(prefix, using=conn) == 2
    assert {"phoenix_kit_referral_codes", "phoenix_kit_email_logs"} & _tables(conn, prefix) == set()


@pytest.fixture
def overstated(conn: psycopg.Connection[Any], prefix: str) -> Iterator[str]:
    """A prefix holding only a table ``phoenix_kit`` commented '16' (unrelated, or an install emptied by hand)."""
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(prefix)))
    table = sql.Identifier(prefix, "phoenix_kit")
    conn.execute(sql.SQL('CREATE TABLE {} ("id" serial PRIMARY KEY, "version" integer NOT NULL)').format(table))
    conn.execute(sql.SQL("COMMENT ON TABLE {} IS '16'").format(table))
    yield prefix


@pytest.mark.parametrize("move", ["up", "down"])
def test_a_marker_that_overstates_the_catalog_is_refused(conn: psycopg.Connection[Any], overstated: str, move: str) -> None:
    """up() and down() on a '16' marker without V16's tables raise MarkerError (up does not call it up to date)."""
    action = pk.up if move == "up" else pk.down
    result = outcome(lambda: action(prefix=overstated, using=conn, log=False))

    assert isinstance(result, pk.MarkerError), f"expected MarkerError, got {described(result)}"
    assert _tables(conn, overstated) == {"phoenix_kit"}


def test_status_reports_a_marker_that_overstates_the_catalog(conn: psycopg.Connection[Any], overstated: str) -> None:
    """prefix_status() gives a problem; migrated_version(), the cheap read, still says 16."""
    status = prefix_status(overstated, using=conn)

    assert status.problem is not None, f"status says {status.summary!r} with no problem"
    assert pk.migrated_version(overstated, using=conn) == 16


def test_marker_015_means_the_same_to_the_live_runner_and_to_the_script(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str
) -> None:
    """A V15 install marked '015': up() applies V16, and so does sql(15, 16) through psql."""
    live, scripted = f"{prefix}_l", f"{prefix}_s"
    try:
        for name in (live, scripted):
            pk.up(version=15, prefix=name, using=conn, log=False)
            conn.execute(sql.SQL("COMMENT ON TABLE {} IS '015'").format(sql.Identifier(name, "phoenix_kit")))

        live_result = outcome(lambda: pk.up(prefix=live, using=conn, log=False))
        script = psql(shared_conninfo, pk.sql(15, 16, prefix=scripted))

        assert live_result == 16, described(live_result)
        assert script.returncode == 0, f"the script refuses what the live runner accepts: {script.stderr.strip()}"
        assert pk.migrated_version(scripted, using=conn) == 16
    finally:
        for name in (live, scripted):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.mark.parametrize("create_schema", [None, True])
def test_public_without_its_schema_says_to_create_it(fresh_conn: psycopg.Connection[Any], create_schema: bool | None) -> None:
    """No ``public`` schema: SchemaMissingError that says CREATE SCHEMA, not create_schema=True (ignored for public)."""
    fresh_conn.execute("DROP SCHEMA public")

    result = outcome(lambda: pk.up(prefix="public", create_schema=create_schema, using=fresh_conn, log=False))

    assert isinstance(result, pk.SchemaMissingError), f"expected SchemaMissingError, got {described(result)}"
    assert "create_schema=True" not in str(result), str(result)
    assert "CREATE SCHEMA" in str(result), str(result)
    assert not schema_exists(fresh_conn, "public")
