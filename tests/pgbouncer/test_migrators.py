"""Four concurrent migrators behind PgBouncer, on psycopg's default connection settings (issue 11).

In transaction mode each transaction of a client may run on another server
session: a client that prepares statements (psycopg does after 5 executions of
one query) then meets a name another client prepared, or misses its own
(``DuplicatePreparedStatement "_pg3_0"``, ``InvalidSqlStatementName``). The
connections here are ``psycopg.connect(url)`` as is: nothing turns preparing off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from tests.pgbouncer.bouncer import MIGRATORS, Bouncer
from tests.pgbouncer.migrators import DOWNS, Borrow, kept, run_in_rounds
from tests.reliability import audit
from tests.reliability.common import connect, drop_schema, unique_name
from tests.reliability.references import References, assert_consistent

pytestmark = pytest.mark.pgbouncer

FINAL = DOWNS[-1] - 1  # where the last round leaves a prefix


def _audited(make_database: Callable[[], str]) -> str:
    conninfo = make_database()
    with connect(conninfo) as conn:
        audit.install(conn)
    return conninfo


@contextmanager
def default_connections(conninfo: str) -> Iterator[list[Borrow]]:
    """4 psycopg connections to ``conninfo`` as ``psycopg.connect`` opens them, each kept by one migrator."""
    with ExitStack() as stack:
        yield [kept(stack.enter_context(psycopg.connect(conninfo))) for _ in range(MIGRATORS)]


def test_four_migrators_on_one_prefix_apply_each_step_once(
    bouncer: Bouncer, make_database: Callable[[], str], references: References
) -> None:
    conninfo, alone = _audited(make_database), _audited(make_database)
    prefix = unique_name("one")
    with connect(alone) as conn:  # the same rounds by one migrator, on the server directly
        assert run_in_rounds([kept(conn)], [prefix]) == []

    with default_connections(bouncer.conninfo(conninfo)) as borrows:
        assert run_in_rounds(borrows, [prefix] * MIGRATORS) == []

    with connect(conninfo) as conn, connect(alone) as reference:
        log, reference_log = audit.commands(conn), audit.commands(reference)
        assert audit.what(log) == audit.what(reference_log)  # every DDL command committed exactly once
        assert len({c.txid for c in log}) == len({c.txid for c in reference_log})  # one transaction per step
        assert assert_consistent(conn, prefix, references, with_rows=True) == FINAL


def test_four_migrators_on_four_prefixes(bouncer: Bouncer, shared_conninfo: str, references: References) -> None:
    prefixes = [unique_name(f"p{i}") for i in range(MIGRATORS)]

    with default_connections(bouncer.conninfo(shared_conninfo)) as borrows:
        assert run_in_rounds(borrows, prefixes) == []

    _assert_final(shared_conninfo, prefixes, references)


def _assert_final(conninfo: str, prefixes: Iterable[str], references: References) -> None:
    """Each prefix is exactly as the last round leaves it, catalog and rows; then it is removed."""
    with connect(conninfo) as conn:
        for prefix in prefixes:
            assert assert_consistent(conn, prefix, references, with_rows=True) == FINAL
            drop_schema(conn, prefix)


@pytest.mark.parametrize("shared", [True, False], ids=["one prefix", "four prefixes"])
def test_pooled_connections_as_using(
    transaction_bouncer: Bouncer, shared_conninfo: str, references: References, shared: bool
) -> None:
    """psycopg_pool connections (defaults: autocommit off, prepare threshold 5), one borrowed per call.

    The pool holds more connections than PgBouncer has server connections, so a
    pooled connection's transactions also move between server sessions.
    """
    prefixes = [unique_name("pool")] * MIGRATORS if shared else [unique_name(f"pool{i}") for i in range(MIGRATORS)]
    size = 2 * transaction_bouncer.pool_size
    with ConnectionPool(transaction_bouncer.conninfo(shared_conninfo), min_size=size, max_size=size) as pool:
        assert run_in_rounds([_left_idle(pool)] * MIGRATORS, prefixes) == []

    _assert_final(shared_conninfo, set(prefixes), references)


def _left_idle(pool: ConnectionPool[Any]) -> Borrow:
    """A connection of ``pool`` for one call, which must leave no transaction open on it.

    (The pool commits what is open when a connection comes back: that would hide one.)
    """

    @contextmanager
    def borrow() -> Iterator[psycopg.Connection[Any]]:
        with pool.connection() as connection:
            yield connection
            status = connection.info.transaction_status
            if status != TransactionStatus.IDLE:
                raise AssertionError(f"the call left the pooled connection {status.name}")

    return borrow


def test_a_connection_per_call_in_session_mode(
    session_bouncer: Bouncer, shared_conninfo: str, references: References
) -> None:
    """Each call connects anew, so it gets a server session another migrator used (and PgBouncer reset)."""
    prefix = unique_name("fresh")
    through = session_bouncer.conninfo(shared_conninfo)

    assert run_in_rounds([lambda: psycopg.connect(through)] * MIGRATORS, [prefix] * MIGRATORS) == []

    _assert_final(shared_conninfo, [prefix], references)
