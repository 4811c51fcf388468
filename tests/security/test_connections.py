"""A default psycopg connection (autocommit off) gets committed steps (issue 9, item 6).

psycopg opens a transaction with the first statement when autocommit is off
(its default). A read must not leave such a transaction open behind the
caller's back, and a run on a connection whose transaction the caller did not
open must commit each step; a transaction the caller opened is used as it is.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

import phoenix_kit as pk
from tests.helpers import schema_exists
from tests.security.common import described, outcome

LATEST = pk.latest_version()


def test_an_install_on_a_default_connection_is_committed(conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str) -> None:
    """up() returns 16 on psycopg.connect(url), leaves it idle, and the install survives close()."""
    caller = psycopg.connect(shared_conninfo)  # autocommit=False, as psycopg opens it
    try:
        result = outcome(lambda: pk.up(prefix=prefix, using=caller, log=False))
        status = caller.info.transaction_status
        seen_meanwhile = pk.migrated_version(prefix, using=conn)
    finally:
        caller.close()

    assert result == LATEST, described(result)
    assert status == TransactionStatus.IDLE, f"up() left the caller's connection {status.name} (a transaction it did not open)"
    assert seen_meanwhile == LATEST, "another session does not see the install: it is not committed"
    assert pk.migrated_version(prefix, using=conn) == LATEST, "closing the connection lost the install"


def test_a_read_on_a_default_connection_leaves_no_transaction_open(conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str) -> None:
    """migrated_version() on psycopg.connect(url) leaves it IDLE, not INTRANS."""
    pk.up(version=3, prefix=prefix, using=conn, log=False)
    with psycopg.connect(shared_conninfo) as caller:
        assert pk.migrated_version(prefix, using=caller) == 3
        assert caller.info.transaction_status == TransactionStatus.IDLE, caller.info.transaction_status.name


def test_a_transaction_the_caller_opened_and_rolled_back_leaves_nothing(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str
) -> None:
    """Inside the caller's ``with c.transaction():`` the steps are savepoints: the caller's rollback takes them all.

    (A guard for the fix of the test above: it must not commit what a caller's transaction holds.)
    """

    class Abandon(Exception):
        pass

    with psycopg.connect(shared_conninfo) as caller:
        try:
            with caller.transaction():
                assert pk.up(prefix=prefix, using=caller, log=False) == LATEST
                raise Abandon
        except Abandon:
            pass
        assert caller.info.transaction_status == TransactionStatus.IDLE

    assert pk.migrated_version(prefix, using=conn) == 0
    assert not schema_exists(conn, prefix)
