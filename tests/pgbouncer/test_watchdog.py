"""The watchdog of a statement run outside any transaction (``CREATE INDEX CONCURRENTLY``), behind PgBouncer.

``Database.run_alone`` cancels its statement once it has waited for locks
longer than the bound, however long it works. Behind PgBouncer the backend pid
a client is told is PgBouncer's own, so the watchdog must find the server
session running the statement some other way; and it must never hold the
statement up, even when it cannot get a server connection for itself.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest

from phoenix_kit.db import PsycopgDatabase, WaitBoundExceeded
from tests.pgbouncer.bouncer import Bouncer
from tests.reliability.common import connect

pytestmark = pytest.mark.pgbouncer

LOCK_KEY = 4_711_0011  # an advisory lock no other test takes


def test_the_client_is_told_another_backend_pid(bouncer: Bouncer, shared_conninfo: str) -> None:
    """Why the watchdog cannot look the statement up by ``connection.info.backend_pid``."""
    with connect(bouncer.conninfo(shared_conninfo)) as client:
        (server_pid,) = client.execute("SELECT pg_backend_pid()").fetchone() or (None,)
        assert client.info.backend_pid != server_pid


def test_a_statement_that_works_longer_than_the_bound_is_not_cancelled(bouncer: Bouncer, shared_conninfo: str) -> None:
    with psycopg.connect(bouncer.conninfo(shared_conninfo)) as client:
        PsycopgDatabase(client).run_alone("SELECT pg_catalog.pg_sleep(0.6)", 0.2)  # sleeping is not waiting for a lock


def test_a_statement_that_waits_for_a_lock_is_cancelled_at_the_bound(bouncer: Bouncer, shared_conninfo: str) -> None:
    with connect(shared_conninfo) as holder, psycopg.connect(bouncer.conninfo(shared_conninfo)) as client:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(WaitBoundExceeded):
            PsycopgDatabase(client).run_alone(f"SELECT pg_catalog.pg_advisory_xact_lock({LOCK_KEY})", 0.3)
        assert client.execute("SELECT 1").fetchone() == (1,)  # the cancel ended that statement only


def test_a_full_session_pool_does_not_hold_the_statement_up(session_bouncer: Bouncer, shared_conninfo: str) -> None:
    """Every server connection is taken, so the watchdog's own connection waits for one (until
    PgBouncer's query_wait_timeout, 120 s by default): the statement must not wait for it."""
    pooled = session_bouncer.conninfo(shared_conninfo)
    outcome: list[object] = []

    def run(client: psycopg.Connection[Any]) -> None:
        try:
            PsycopgDatabase(client).run_alone("SELECT pg_catalog.pg_sleep(0.3)", 5)
            outcome.append("done")
        except Exception as exc:  # noqa: BLE001 - reported to the test
            outcome.append(exc)

    with ExitStack() as stack:
        clients = [stack.enter_context(connect(pooled)) for _ in range(session_bouncer.pool_size)]
        for client in clients:
            client.execute("SELECT 1")  # session mode: each keeps its server connection until it closes
        runner = threading.Thread(target=run, args=(clients[0],))
        runner.start()
        runner.join(timeout=20)
        assert outcome == ["done"], "the statement waited for its watchdog's connection" if not outcome else outcome
