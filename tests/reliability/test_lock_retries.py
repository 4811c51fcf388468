"""Bounded lock waits (issue 10, item 1): a step never queues application queries for long.

An application transaction that merely read ``phoenix_kit_users`` and stays
open holds ACCESS SHARE on it. A step that waited for its ACCESS EXCLUSIVE lock
without limit would queue every later query on the table behind it for as long
as that transaction lives. Each attempt now waits at most
``PHOENIX_KIT_DDL_LOCK_TIMEOUT``, then rolls back and retries after a pause,
until ``PHOENIX_KIT_LOCK_TIMEOUT`` is spent. The exported script does the same
with subtransactions.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from tests.helpers import psql
from tests.reliability.common import connect, wait_until

# So that a script that waits without bound (the defect) fails the test instead of hanging it.
BOUNDED = "SET statement_timeout = '20s';\n"

# Generous: several attempt timeouts (0.1 s each) and pauses, far below the holder's seconds.
QUEUED_AT_MOST = 1.5


@pytest.fixture
def at_v07(conn: psycopg.Connection[Any], prefix: str) -> str:
    pk.up(version=7, prefix=prefix, using=conn, log=False)
    conn.execute(
        f'INSERT INTO "{prefix}".phoenix_kit_users (email, hashed_password, inserted_at, updated_at) '
        "VALUES ('a@example.com', 'x', now(), now())"
    )
    return prefix


@pytest.fixture
def reader(shared_conninfo: str, at_v07: str) -> Iterator[psycopg.Connection[Any]]:
    """An application session inside a transaction that read the users table and stays open."""
    with connect(shared_conninfo) as session:
        session.execute("BEGIN")
        session.execute(f'SELECT count(*) FROM "{at_v07}".phoenix_kit_users').fetchall()
        yield session
        if not session.closed:
            session.execute("ROLLBACK")


def _migrate(conninfo: str, prefix: str, log: io.StringIO, lock_timeout: float) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        with connect(conninfo) as migrator:
            try:
                outcome["version"] = pk.up(version=8, prefix=prefix, using=migrator, log=log, lock_timeout=lock_timeout)
            except Exception as exc:  # the test reads it
                outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    outcome["thread"] = thread
    return outcome


def _query_time(conninfo: str, prefix: str) -> float:
    """How long an application query on the users table takes, issued while the migrator retries."""
    with connect(conninfo, options="-c statement_timeout=20s") as app:
        started = time.monotonic()
        app.execute(f'SELECT count(*) FROM "{prefix}".phoenix_kit_users').fetchall()
        return time.monotonic() - started


def test_a_step_retries_while_a_reader_holds_the_table_and_succeeds_once_it_ends(
    shared_conninfo: str, at_v07: str, reader: psycopg.Connection[Any]
) -> None:
    log = io.StringIO()
    outcome = _migrate(shared_conninfo, at_v07, log, lock_timeout=30)
    wait_until(lambda: "waiting for its table locks" in log.getvalue(), "the migrator to report its wait")

    # Queries issued while it retries are not stuck behind it for as long as the reader lives.
    assert _query_time(shared_conninfo, at_v07) < QUEUED_AT_MOST
    time.sleep(1)
    assert _query_time(shared_conninfo, at_v07) < QUEUED_AT_MOST
    assert "version" not in outcome and "error" not in outcome  # still retrying

    reader.execute("ROLLBACK")
    outcome["thread"].join(timeout=30)
    assert outcome.get("version") == 8, outcome.get("error")
    assert f"held by pid {reader.info.backend_pid}" in log.getvalue()
    assert "Applying phoenix_kit V08 (usernames with backfill)... OK" in log.getvalue()


def test_a_step_blocked_past_the_bound_fails_naming_the_blocker_and_changes_nothing(
    conn: psycopg.Connection[Any], shared_conninfo: str, at_v07: str, reader: psycopg.Connection[Any]
) -> None:
    log = io.StringIO()
    outcome = _migrate(shared_conninfo, at_v07, log, lock_timeout=1.5)
    outcome["thread"].join(timeout=30)

    error = outcome.get("error")
    assert isinstance(error, pk.TablesLockedError), error
    assert error.holder_pid == reader.info.backend_pid
    message = str(error)
    assert f"pid {reader.info.backend_pid} (idle in transaction, transaction open" in message
    assert "AccessShareLock on phoenix_kit_users" in message and "SELECT count(*)" in message
    assert "the prefix is unchanged at version 7" in message
    assert pk.migrated_version(at_v07, using=conn) == 7
    columns = conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s AND column_name = 'username'",
        [at_v07],
    ).fetchone()
    assert columns == (0,)


def test_the_exported_script_retries_too_without_queueing_queries(
    shared_conninfo: str, at_v07: str, reader: psycopg.Connection[Any]
) -> None:
    """sql(7, 8) through psql while the reader holds the table: queries go on; it completes once the reader ends."""
    script = BOUNDED + pk.sql(7, 8, prefix=at_v07)
    running: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: running.update(result=psql(shared_conninfo, script)))
    thread.start()
    with connect(shared_conninfo) as observer:
        wait_until(lambda: _psql_waiting(observer, at_v07), "the script to wait for its table lock")
    assert _query_time(shared_conninfo, at_v07) < QUEUED_AT_MOST
    time.sleep(1)
    assert _query_time(shared_conninfo, at_v07) < QUEUED_AT_MOST
    assert thread.is_alive()  # still retrying

    reader.execute("ROLLBACK")
    thread.join(timeout=30)
    assert running["result"].returncode == 0, running["result"].stderr
    with connect(shared_conninfo) as conn:
        assert pk.migrated_version(at_v07, using=conn) == 8


def test_the_exported_script_gives_up_after_the_bound_naming_the_blocker(
    conn: psycopg.Connection[Any], shared_conninfo: str, at_v07: str, reader: psycopg.Connection[Any], settings: Any
) -> None:
    settings.PHOENIX_KIT_LOCK_TIMEOUT = 1
    result = psql(shared_conninfo, BOUNDED + pk.sql(7, 8, prefix=at_v07))

    assert result.returncode != 0
    assert "V08 up could not lock its tables" in result.stderr and "unchanged at version 7" in result.stderr
    assert f"pid {reader.info.backend_pid} (idle in transaction)" in result.stderr
    assert pk.migrated_version(at_v07, using=conn) == 7


def _psql_waiting(observer: psycopg.Connection[Any], prefix: str) -> bool:
    row = observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'psql' AND wait_event_type = 'Lock' "
        "AND datname = current_database() AND strpos(query, %s) > 0",
        [f'"{prefix}"."phoenix_kit_users"'],
    ).fetchone()
    return row is not None and row[0] > 0
