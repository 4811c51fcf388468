"""How steps run: the per-prefix lock, atomic steps, and the Django alias path."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

import phoenix_kit as pk
from phoenix_kit.lock import lock_key
from tests.helpers import snapshot


def test_lock_timeout_names_the_holder_and_changes_nothing(
    conn: psycopg.Connection[Any], prefix: str, shared_conninfo: str
) -> None:
    pk.up(version=3, prefix=prefix, using=conn, log=False)
    before = snapshot(conn, prefix)
    with psycopg.connect(shared_conninfo) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(prefix)])
        holder_pid = holder.info.backend_pid
        started = time.monotonic()
        with pytest.raises(pk.LockTimeoutError, match=f"backend pid {holder_pid}") as raised:
            pk.up(prefix=prefix, using=conn, log=False, lock_timeout=0.3)
        waited = time.monotonic() - started
    assert raised.value.holder_pid == holder_pid
    assert 0.3 <= waited < 10
    assert snapshot(conn, prefix) == before


def test_other_prefixes_do_not_wait(conn: psycopg.Connection[Any], prefix: str, shared_conninfo: str) -> None:
    with psycopg.connect(shared_conninfo) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(prefix)])
        other = f"{prefix}_o"
        try:
            assert pk.up(prefix=other, using=conn, log=False, lock_timeout=0.3) == pk.latest_version()
        finally:
            conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')


def test_lock_timeout_does_not_leak_into_the_session(conn: psycopg.Connection[Any], prefix: str) -> None:
    conn.execute("SET lock_timeout = '7s'")
    pk.up(version=2, prefix=prefix, using=conn, log=False, lock_timeout=0.5)
    assert conn.execute("SHOW lock_timeout").fetchone() == ("7s",)


@pytest.fixture(params=["pipeline", "no pipeline"])
def pipeline(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each step's statements pipelined, or (a libpq older than 14) sent one by one."""
    if request.param == "no pipeline":
        monkeypatch.setattr(psycopg.Pipeline, "is_supported", classmethod(lambda cls: False))
    return str(request.param)


def test_failing_step_rolls_back_entirely(conn: psycopg.Connection[Any], prefix: str, pipeline: str) -> None:
    pk.up(version=8, prefix=prefix, using=conn, log=False)
    conn.execute(f'CREATE TABLE "{prefix}".phoenix_kit_email_blocklist (id int)')  # V09 creates this table
    before = snapshot(conn, prefix)

    with pytest.raises(pk.StepFailedError) as raised:
        pk.up(prefix=prefix, using=conn, log=False)

    message = str(raised.value)
    assert raised.value.version == 9
    assert "V09 up failed" in message and "stays at version 8" in message
    assert "already exists" in message  # PostgreSQL's own words
    assert "CREATE TABLE" in raised.value.statement and "CREATE TABLE" in message
    assert snapshot(conn, prefix) == before

    conn.execute(f'DROP TABLE "{prefix}".phoenix_kit_email_blocklist')
    assert pk.up(prefix=prefix, using=conn, log=False) == pk.latest_version()


def test_steps_inside_an_outer_transaction_are_savepoints(conn: psycopg.Connection[Any], prefix: str) -> None:
    with pytest.raises(RuntimeError), conn.transaction():
        pk.up(version=5, prefix=prefix, using=conn, log=False)
        assert pk.migrated_version(prefix, using=conn) == 5
        raise RuntimeError("the caller rolls back")
    assert pk.migrated_version(prefix, using=conn) == 0


@pytest.mark.django_db(transaction=True)
def test_django_alias(prefix: str) -> None:
    assert pk.up(version=4, prefix=prefix, log=False) == 4
    assert pk.migrated_version(prefix) == 4
    with CaptureQueriesContext(connection) as queries:
        assert pk.up(version=4, prefix=prefix, log=False) == 4
    # Already there: one query reads the marker and checks the catalog behind it; no lock.
    assert len(queries) == 1 and "pg_advisory" not in queries[0]["sql"]
    with transaction.atomic():
        assert pk.up(prefix=prefix, log=False) == pk.latest_version()
        transaction.set_rollback(True)
    assert pk.migrated_version(prefix) == 4
    assert pk.down(prefix=prefix, log=False) == 0


@pytest.mark.django_db(transaction=True)
def test_ensure_current_costs_one_query_when_current(prefix: str) -> None:
    pk.ensure_current(prefix=prefix)
    with CaptureQueriesContext(connection) as queries:
        assert pk.ensure_current(prefix=prefix) == pk.latest_version()
    assert len(queries) == 1
    assert "pg_advisory" not in queries[0]["sql"]
    pk.down(prefix=prefix, log=False)
