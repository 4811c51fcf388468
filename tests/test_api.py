"""Semantics of the public API: directions, no-ops, bounds and validation before SQL."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from tests.helpers import schema_exists, snapshot

LATEST = pk.latest_version()


@pytest.fixture(scope="module")
def closed_conn(shared_conninfo: str) -> psycopg.Connection[Any]:
    """A closed connection: any SQL attempted through it fails, so a ValueError proves none was sent."""
    connection = psycopg.connect(shared_conninfo)
    connection.close()
    return connection


def test_latest_version_is_16() -> None:
    assert LATEST == 16


def test_up_in_two_moves_reaches_latest(conn: psycopg.Connection[Any], prefix: str) -> None:
    assert pk.up(version=2, prefix=prefix, using=conn, log=False) == 2
    assert pk.migrated_version(prefix, using=conn) == 2
    assert pk.up(prefix=prefix, using=conn, log=False) == LATEST
    assert pk.migrated_version(prefix, using=conn) == LATEST


def test_down_is_to_and_including_the_version(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(prefix=prefix, using=conn, log=False)
    assert pk.down(version=2, prefix=prefix, using=conn, log=False) == 1
    assert pk.migrated_version(prefix, using=conn) == 1


def test_down_without_version_removes_everything_we_created(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(prefix=prefix, using=conn, log=False)
    assert schema_exists(conn, prefix)
    assert pk.down(prefix=prefix, using=conn, log=False) == 0
    assert pk.migrated_version(prefix, using=conn) == 0
    assert not schema_exists(conn, prefix)


def test_down_keeps_a_schema_it_did_not_create(conn: psycopg.Connection[Any], prefix: str) -> None:
    conn.execute(f'CREATE SCHEMA "{prefix}"')
    pk.up(prefix=prefix, using=conn, log=False)
    pk.down(prefix=prefix, using=conn, log=False)
    assert schema_exists(conn, prefix)
    assert snapshot(conn, prefix)["catalog"]["tables"] == {}


def test_down_keeps_a_created_schema_that_is_not_empty(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(version=1, prefix=prefix, using=conn, log=False)
    conn.execute(f'CREATE TABLE "{prefix}".mine (id int)')
    pk.down(prefix=prefix, using=conn, log=False)
    assert list(snapshot(conn, prefix)["catalog"]["tables"]) == ["mine"]


def test_down_of_public_leaves_no_phoenix_kit_objects(fresh_conn: psycopg.Connection[Any]) -> None:
    before = snapshot(fresh_conn, "public")
    pk.up(using=fresh_conn, log=False)
    pk.down(using=fresh_conn, log=False)
    assert snapshot(fresh_conn, "public") == before
    assert schema_exists(fresh_conn, "public")


def test_no_op_cases(conn: psycopg.Connection[Any], prefix: str) -> None:
    assert pk.down(prefix=prefix, using=conn, log=False) == 0  # nothing installed
    assert not schema_exists(conn, prefix)
    pk.up(version=5, prefix=prefix, using=conn, log=False)
    before = snapshot(conn, prefix)
    assert pk.up(version=3, prefix=prefix, using=conn, log=False) == 5  # up never downgrades
    assert pk.up(version=5, prefix=prefix, using=conn, log=False) == 5
    assert pk.down(version=6, prefix=prefix, using=conn, log=False) == 5  # installed < version
    assert snapshot(conn, prefix) == before


def test_progress_output_and_log_false(conn: psycopg.Connection[Any], prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    pk.up(version=3, prefix=prefix, using=conn, log=out)
    lines = out.getvalue().splitlines()
    assert [line.split("...")[0] for line in lines] == [
        f"  Applying phoenix_kit V0{n} ({pk.plan(0, 3)[n - 1].version.description})" for n in (1, 2, 3)
    ]
    assert all(line.split("...")[1].startswith(" OK ") and line.endswith("s") for line in lines)

    pk.up(prefix=prefix, using=conn, log=False)
    pk.down(version=10, prefix=prefix, using=conn, log=False)
    assert capsys.readouterr() == ("", "")

    pk.down(version=9, prefix=prefix, using=conn)  # the default: the "phoenix_kit" logger, nothing printed
    assert capsys.readouterr() == ("", "")


def test_by_default_each_step_is_a_log_record_and_its_statements_debug_records(
    conn: psycopg.Connection[Any], prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="phoenix_kit"):
        pk.up(version=2, prefix=prefix, using=conn)
    steps = [r for r in caplog.records if r.levelno == logging.INFO]
    assert [r.getMessage() for r in steps] == [
        f"phoenix_kit V0{n} up on prefix {prefix!r} done in {r.phoenix_kit['seconds']:.2f}s" for n, r in zip((1, 2), steps)
    ]
    assert [(r.phoenix_kit["version"], r.phoenix_kit["direction"], r.phoenix_kit["prefix"]) for r in steps] == [
        (1, "up", prefix), (2, "up", prefix)
    ]
    statements = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(f'CREATE TABLE "{prefix}"."phoenix_kit_users"' in m for m in statements)

    caplog.clear()
    mine = logging.getLogger("my.deploy")
    with caplog.at_level(logging.INFO, logger="my.deploy"):
        pk.down(prefix=prefix, using=conn, log=mine)
    assert [r.name for r in caplog.records] == ["my.deploy", "my.deploy"]
    with pytest.raises(TypeError, match="log must be a logging.Logger, a writable text stream, False"):
        pk.up(prefix=prefix, using=conn, log=42)


@pytest.mark.parametrize("bad", [0, -1, LATEST + 1, 99, True, False, 1.0, "3"])
def test_versions_out_of_range_raise_before_sql(closed_conn: psycopg.Connection[Any], bad: Any) -> None:
    with pytest.raises(ValueError, match="version"):
        pk.up(version=bad, prefix="auth", using=closed_conn)
    with pytest.raises(ValueError, match="version"):
        pk.down(version=bad, prefix="auth", using=closed_conn)


@pytest.mark.parametrize("bad", [-1, LATEST + 1, True, 1.0, "3", None])
def test_plan_and_sql_reject_bad_versions(bad: Any) -> None:
    with pytest.raises(ValueError, match="version"):
        pk.plan(0, bad)
    with pytest.raises(ValueError, match="version"):
        pk.plan(bad, 0)
    with pytest.raises(ValueError, match="version"):
        pk.sql(bad, LATEST, prefix="auth")


@pytest.mark.parametrize(
    "good", ["public", "auth", "my_app_2", "_private", "a" * 63, "MyApp", "acme-corp", "Tenant5", "1schema", "select", "-"]
)
def test_valid_prefixes(conn: psycopg.Connection[Any], good: str) -> None:
    assert pk.migrated_version(good, using=conn) == 0
    assert f'"{good}"."phoenix_kit"' in pk.sql(0, 1, prefix=good)


@pytest.mark.parametrize(
    "bad",
    [
        "sp ace", 'we"ird', "", "public; DROP TABLE x;--", "a" * 64, "auth\n", "pg_temp", "pg_catalog", "PG_x",
        "information_schema", "Information_Schema", "ａuth", "acme‐corp", "tenant.5", "a/b", 42, b"auth",
    ],
)
def test_invalid_prefixes_raise_before_sql(closed_conn: psycopg.Connection[Any], bad: Any) -> None:
    for call in (
        lambda: pk.up(prefix=bad, using=closed_conn),
        lambda: pk.down(prefix=bad, using=closed_conn),
        lambda: pk.migrated_version(bad, using=closed_conn),
        lambda: pk.ensure_current(using=closed_conn, prefix=bad),
        lambda: pk.sql(0, 16, prefix=bad),
    ):
        with pytest.raises(ValueError, match="Invalid prefix"):
            call()


@pytest.mark.parametrize("bad", ["yes", 1, 0])
def test_create_schema_must_be_a_bool(closed_conn: psycopg.Connection[Any], bad: Any) -> None:
    with pytest.raises(ValueError, match="create_schema"):
        pk.up(prefix="auth", create_schema=bad, using=closed_conn)


def test_using_must_be_an_alias_or_a_psycopg_connection() -> None:
    with pytest.raises(TypeError, match="using"):
        pk.up(prefix="auth", using=object())


def test_create_schema_false_on_a_missing_schema(conn: psycopg.Connection[Any], prefix: str) -> None:
    with pytest.raises(pk.SchemaMissingError, match="create_schema"):
        pk.up(prefix=prefix, create_schema=False, using=conn, log=False)
    assert not schema_exists(conn, prefix)


def test_create_schema_false_on_an_existing_schema(conn: psycopg.Connection[Any], prefix: str) -> None:
    conn.execute(f'CREATE SCHEMA "{prefix}"')
    assert pk.up(prefix=prefix, create_schema=False, using=conn, log=False) == LATEST


def test_ensure_current_applies_only_the_missing_steps(conn: psycopg.Connection[Any], prefix: str) -> None:
    assert pk.ensure_current(using=conn, prefix=prefix) == LATEST
    pk.down(version=9, prefix=prefix, using=conn, log=False)
    out = io.StringIO()
    assert pk.ensure_current(using=conn, prefix=prefix, log=out) == LATEST
    applied = [line.split()[2] for line in out.getvalue().splitlines()]
    assert applied == [f"V{n:02d}" for n in range(9, LATEST + 1)]
    out = io.StringIO()
    assert pk.ensure_current(using=conn, prefix=prefix, log=out) == LATEST
    assert out.getvalue() == ""


def test_plan_is_pure_and_ordered() -> None:
    assert [(s.version.number, s.direction, s.target) for s in pk.plan(3, 6)] == [
        (4, "up", 4), (5, "up", 5), (6, "up", 6)
    ]
    assert [(s.version.number, s.direction, s.target) for s in pk.plan(6, 3)] == [
        (6, "down", 5), (5, "down", 4), (4, "down", 3)
    ]
    assert pk.plan(7, 7) == []


def test_an_invalid_configured_prefix_names_the_setting(closed_conn: psycopg.Connection[Any], settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.PHOENIX_KIT_PREFIX = "Bad Prefix"
    with pytest.raises(ImproperlyConfigured, match="PHOENIX_KIT_PREFIX: Invalid prefix 'Bad Prefix': character 4 is whitespace"):
        pk.up(using=closed_conn)


def test_arguments_after_the_version_are_keyword_only(conn: psycopg.Connection[Any]) -> None:
    """``ensure_current("auth")`` once took "auth" for a database alias."""
    for call in (lambda: pk.ensure_current("auth"), lambda: pk.up(16, "auth"), lambda: pk.down(1, "auth"),
                 lambda: pk.migrated_version("auth", conn), lambda: pk.sql(0, 1, "auth")):  # fmt: skip
        with pytest.raises(TypeError, match="positional argument"):
            call()


def test_a_django_alias_without_django_settings_says_to_pass_a_connection() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", "import phoenix_kit; phoenix_kit.up(prefix='auth')"],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ValueError: using='default' names a Django database alias, but Django's settings are not configured: "
        "pass using=<a psycopg.Connection>, or configure Django first."
    )
