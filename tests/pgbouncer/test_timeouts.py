"""PgBouncer's own timeouts ending a migrator's session: what it says, and where the prefix is.

Each test starts a PgBouncer of its own with that timeout short.
"""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.test import override_settings

import phoenix_kit as pk
from tests.pgbouncer.bouncer import running
from tests.reliability.common import connect, drop_schema, unique_name, wait_until
from tests.reliability.references import References, assert_consistent
from tests.reliability.test_online_steps import (
    assert_indexes_valid,
    at,
    colliding_emails,
)

pytestmark = pytest.mark.pgbouncer

# Index builds under way in this test's own database (xdist workers build in theirs at the same time).
_BUILDS = (
    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%INDEX CONCURRENTLY%%' AND pid <> pg_backend_pid() "
    "AND datname = current_database()"
)


def test_a_migrator_waiting_longer_than_query_wait_timeout_for_a_server(shared_conninfo: str) -> None:
    prefix = unique_name("qwt")
    with running("transaction", settings.DATABASE_URL, pool_size=1, query_wait_timeout=1) as bouncer:
        through = bouncer.conninfo(shared_conninfo)
        with psycopg.connect(through) as hog, psycopg.connect(through) as migrator:
            hog.execute("SELECT 1")  # autocommit off: its transaction holds the only server connection
            with pytest.raises(pk.ConnectionLostError) as lost:
                pk.up(prefix=prefix, using=migrator, log=False)
    message = str(lost.value)
    assert "(query_wait_timeout)" in message and "this run had changed nothing" in message
    assert "PgBouncer's query_timeout, query_wait_timeout or idle_transaction_timeout" in message
    with connect(shared_conninfo) as conn:
        assert pk.migrated_version(prefix, using=conn) == 0


def test_query_timeout_ends_the_link_to_an_index_build_not_the_build(shared_conninfo: str, references: References) -> None:
    """PgBouncer closes the server connection; the server notices only when the build ends, and finishes it."""
    with connect(shared_conninfo) as conn:
        prefix = at(conn, 9, colliding_emails(200))
    with (
        running("transaction", settings.DATABASE_URL, query_timeout=1) as bouncer,
        connect(shared_conninfo) as holder,
        connect(shared_conninfo) as observer,
    ):
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        holder.execute("SELECT 1")  # a snapshot the build waits for, longer than query_timeout
        with (
            psycopg.connect(bouncer.conninfo(shared_conninfo)) as migrator,
            override_settings(PHOENIX_KIT_ONLINE="always"),
            pytest.raises(pk.ConnectionLostError) as lost,
        ):
            pk.up(version=10, prefix=prefix, using=migrator, log=False, lock_timeout=30)
        assert f"prefix {prefix!r} is at version 9" in str(lost.value)
        assert observer.execute(_BUILDS).fetchone() == (1,)  # still building, on the server
        holder.execute("ROLLBACK")
        wait_until(lambda: observer.execute(_BUILDS).fetchone() == (0,), "the orphaned build to end")
    with connect(shared_conninfo) as conn, override_settings(PHOENIX_KIT_ONLINE="always"):
        assert pk.up(version=10, prefix=prefix, using=conn, log=False) == 10  # resumed
        assert_consistent(conn, prefix, references)
        assert_indexes_valid(conn, prefix)
        drop_schema(conn, prefix)
