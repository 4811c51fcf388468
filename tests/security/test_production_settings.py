"""Clear errors under production settings (issue 9, item 7).

``statement_timeout`` shorter than the wait for another migrator's lock must
still give ``LockTimeoutError`` naming the holder (and a one-line
``CommandError`` from the command); progress must not be written while a step
holds its locks (a slow log must not make ``idle_in_transaction_session_timeout``
kill the session mid-step); a session killed under the caller gives a
phoenix_kit error that says at which version the prefix is.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from django.core.management.base import CommandError

import phoenix_kit as pk
from phoenix_kit.lock import lock_key
from tests.django.conftest import django_alias
from tests.security.common import command, connect, described, is_error, outcome


def test_a_short_statement_timeout_still_gives_lock_timeout_error(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str
) -> None:
    """statement_timeout 300ms, lock_timeout=1 and the prefix's lock held: LockTimeoutError with the holder's pid."""
    pk.up(version=5, prefix=prefix, using=conn, log=False)
    with connect(shared_conninfo) as holder, connect(shared_conninfo, options="-c statement_timeout=300ms") as migrator:
        holder_pid = holder.info.backend_pid
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(prefix)])
        result = outcome(lambda: pk.up(prefix=prefix, using=migrator, log=False, lock_timeout=1))
        holder.execute("ROLLBACK")

    assert isinstance(result, pk.LockTimeoutError), f"expected LockTimeoutError, got {described(result)}"
    assert result.holder_pid == holder_pid
    assert pk.migrated_version(prefix, using=conn) == 5


def test_the_command_says_so_in_one_line(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str, django_db_blocker: Any, settings: Any
) -> None:
    """phoenixkit_migrate under statement_timeout 300ms while another migrator holds the lock: one-line CommandError with the pid."""
    settings.PHOENIX_KIT_LOCK_TIMEOUT = 1
    pk.up(version=5, prefix=prefix, using=conn, log=False)
    with connect(shared_conninfo) as holder:
        holder_pid = holder.info.backend_pid
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(prefix)])
        with django_db_blocker.unblock(), django_alias(shared_conninfo, options="-c statement_timeout=300ms") as alias:
            result = outcome(lambda: command(prefix=prefix, database=alias))
        holder.execute("ROLLBACK")

    assert isinstance(result, CommandError), f"expected CommandError, got {described(result)}"
    assert "\n" not in str(result).strip(), str(result)
    assert str(holder_pid) in str(result), str(result)


class SlowWriter:
    """A log whose every write takes longer than the session may stay idle in a transaction."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        time.sleep(0.5)
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_a_slow_log_does_not_hold_locks(conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str) -> None:
    """idle_in_transaction_session_timeout 300ms and a log taking 0.5s a write: the install still succeeds."""
    log = SlowWriter()
    with connect(shared_conninfo, options="-c idle_in_transaction_session_timeout=300ms") as migrator:
        result = outcome(lambda: pk.up(version=2, prefix=prefix, using=migrator, log=log))

    assert result == 2, f"{described(result)} (log: {''.join(log.lines)!r})"
    assert any("V02" in line for line in log.lines), log.lines
    assert pk.migrated_version(prefix, using=conn) == 2


def test_a_caller_transaction_killed_by_the_server_gives_a_phoenix_kit_error(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str
) -> None:
    """The caller's transaction was ended by idle_in_transaction_session_timeout: ConnectionLostError naming the version."""
    pk.up(version=5, prefix=prefix, using=conn, log=False)
    caught: object = None
    with connect(shared_conninfo) as caller:
        try:
            with caller.transaction():
                caller.execute("SET LOCAL idle_in_transaction_session_timeout = '200ms'")
                time.sleep(0.6)
                caught = outcome(lambda: pk.up(prefix=prefix, using=caller, log=False))
        except psycopg.Error:
            pass  # the caller's own rollback on a closed connection

    assert is_error(caught, "ConnectionLostError"), f"expected phoenix_kit.errors.ConnectionLostError, got {described(caught)}"
    assert "version" in str(caught), str(caught)
    assert pk.migrated_version(prefix, using=conn) == 5
