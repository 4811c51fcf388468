"""The bounded wait for a prefix's lock (issue 5, item 2).

``tests/test_runner.py`` covers a session holding the lock before a migrator
starts (``lock_timeout=`` argument). Here: the lock is taken by another session
*between two steps of a running migrator*, which must then stop at the last
completed version, and the bound from ``settings.PHOENIX_KIT_LOCK_TIMEOUT`` on
the Django path.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from psycopg import sql

import phoenix_kit as pk
from phoenix_kit.lock import lock_key
from tests.helpers import snapshot
from tests.reliability.children import spawn
from tests.reliability.common import connect, django_conninfo, unique_name, wait_until, waiting_on_lock
from tests.reliability.references import LATEST, References, assert_consistent


def test_a_lock_taken_between_two_steps_stops_the_run_at_the_last_completed_version(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str, references: References
) -> None:
    """Deterministic, no sleeps: table and advisory locks put each session where it must be.

    1. A session locks the referral-codes table, so the migrator's V05 step, once
       it holds the prefix's lock, waits inside that step.
    2. A second session queues for the prefix's lock behind the migrator.
    3. The table is released: V05 commits, the queued session gets the prefix's
       lock and keeps it, and the migrator's wait for V06 times out.
    """
    pk.up(version=4, prefix=prefix, using=conn, log=False)
    codes = sql.Identifier(prefix, "phoenix_kit_referral_codes")
    with connect(shared_conninfo) as table_holder, connect(shared_conninfo) as holder:
        with table_holder.transaction():
            table_holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(codes))
            migrator = spawn("up", shared_conninfo, prefix=prefix, lock_timeout=1.0)
            migrator.go()
            wait_until(lambda: waiting_on_lock(conn, migrator.backend_pid), "the migrator waits inside V05")
            holder_pid = holder.info.backend_pid
            holder.execute("BEGIN")
            queued = threading.Thread(target=holder.execute, args=["SELECT pg_advisory_xact_lock(%s)", [lock_key(prefix)]])
            queued.start()
            wait_until(lambda: waiting_on_lock(conn, holder_pid), "the holder queues for the prefix's lock")
        queued.join()  # V05 committed; the holder has the prefix's lock
        outcome = migrator.outcome()
        holder.execute("ROLLBACK")

    assert outcome.error == "LockTimeoutError"
    assert f"Timed out after 1s waiting for the migration lock of prefix '{prefix}', held by backend pid {holder_pid}" in outcome.message
    assert outcome.end - outcome.start >= 1.0
    assert any("V05" in line for line in migrator.log) and not any("V06" in line for line in migrator.log)
    assert assert_consistent(conn, prefix, references, with_rows=True) == 5
    assert pk.up(prefix=prefix, using=conn, log=False) == LATEST


@pytest.mark.django_db(transaction=True)
def test_the_setting_bounds_the_wait_on_the_django_path(settings: Any) -> None:
    settings.PHOENIX_KIT_LOCK_TIMEOUT = 0.25
    prefix = unique_name("lt")
    with connect(django_conninfo()) as conn:
        try:
            pk.up(version=6, prefix=prefix, log=False)
            before = snapshot(conn, prefix)
            with connect(django_conninfo()) as holder, holder.transaction():
                holder.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(prefix)])
                with pytest.raises(pk.LockTimeoutError, match=f"Timed out after 0.25s .* backend pid {holder.info.backend_pid}"):
                    pk.up(prefix=prefix, log=False)
                with pytest.raises(pk.LockTimeoutError) as raised:
                    pk.down(prefix=prefix, log=False)
                assert raised.value.holder_pid == holder.info.backend_pid
            assert snapshot(conn, prefix) == before
        finally:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(prefix)))
