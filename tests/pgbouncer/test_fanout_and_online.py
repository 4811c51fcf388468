"""The fan-out and the online forms behind PgBouncer (issue 11).

The fan-out runs on default psycopg connections (four fan-outs at once) or on a
Django alias whose workers open their own connections (Django's defaults). The
online forms add what a pooler makes delicate: ``CREATE INDEX CONCURRENTLY`` in
autocommit, watched from a connection of its own that must find the server
session building the index (PgBouncer gives its clients a backend pid of its
own), and cancelled through PgBouncer when it waits too long.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
import pytest
from django.db import connections
from django.test import override_settings
from psycopg.conninfo import conninfo_to_dict
from pytest_django import DjangoDbBlocker

import phoenix_kit as pk
from phoenix_kit.fanout import Move, PrefixResult, migrate_prefixes
from tests.pgbouncer.bouncer import MIGRATORS, Bouncer
from tests.pgbouncer.migrators import LATEST
from tests.reliability.common import connect, drop_schema, unique_name
from tests.reliability.references import References, assert_consistent
from tests.reliability.test_online_steps import (
    assert_indexes_valid,
    assert_usernames_exact,
    at,
    colliding_emails,
)

pytestmark = pytest.mark.pgbouncer

FAN_OUT_DOWNS = (2, 9)  # each round: up to the latest, then down to and including this version



def online() -> override_settings:
    """Every step that has an online form takes it, whatever the table's size."""
    return override_settings(PHOENIX_KIT_ONLINE="always")


@contextmanager
def django_alias(conninfo: str) -> Iterator[str]:
    """The database of ``conninfo`` as a Django alias that every thread can open (the fan-out's workers do)."""
    params = conninfo_to_dict(conninfo)
    alias = f"bouncer_{uuid.uuid4().hex[:8]}"
    connections.settings[alias] = {
        **copy.deepcopy(connections.settings["default"]),
        "NAME": params["dbname"],
        "HOST": params["host"],
        "PORT": params["port"],
    }
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]


@contextmanager
def fan_outs(kind: str, conninfo: str, blocker: DjangoDbBlocker, count: int) -> Iterator[list[tuple[object, int]]]:
    """``using`` and ``jobs`` of the fan-outs to run at once.

    psycopg: ``count`` fan-outs, each on a default connection of its own, one job
    each. django: one fan-out on a Django alias, with 4 jobs: each worker opens its
    own connection (Django's defaults), and each prefix has one migrator.
    """
    if kind == "psycopg":
        with ExitStack() as stack:
            yield [(stack.enter_context(psycopg.connect(conninfo)), 1) for _ in range(count)]
    else:
        with blocker.unblock(), django_alias(conninfo) as alias:  # no test database: only this alias
            yield [(alias, MIGRATORS)]


def run_together(runs: list[tuple[object, int]], move: Move, prefixes: list[str]) -> list[list[PrefixResult] | str]:
    """Each fan-out of ``runs`` applies ``move`` to ``prefixes``, all at once; their results or errors."""
    outcomes: list[list[PrefixResult] | str] = []

    def fan_out(using: object, jobs: int) -> None:
        try:
            outcomes.append(list(migrate_prefixes(move, prefixes, using=using, jobs=jobs)))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=fan_out, args=run) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _reached(outcome: list[PrefixResult] | str, prefixes: list[str], version: int) -> bool:
    if isinstance(outcome, str):
        return False
    # "already current": another fan-out had moved that prefix before this one read its marker.
    moved = {(r.prefix, r.version, r.detail) for r in outcome if r.outcome in ("ok", "already current")}
    return len(outcome) == len(prefixes) and moved == {(prefix, version, "") for prefix in prefixes}


@pytest.mark.parametrize("kind", ["psycopg", "django"])
def test_the_fan_out_moves_every_prefix(
    transaction_bouncer: Bouncer,
    shared_conninfo: str,
    references: References,
    django_db_blocker: DjangoDbBlocker,
    kind: str,
) -> None:
    prefixes = [unique_name(f"fan{i}") for i in range(MIGRATORS)]
    with connect(shared_conninfo) as conn:  # the fan-out moves installs: it is not how they are made
        for prefix in prefixes:
            pk.up(version=1, prefix=prefix, using=conn, log=False)

    with fan_outs(kind, transaction_bouncer.conninfo(shared_conninfo), django_db_blocker, MIGRATORS) as runs:
        for down in FAN_OUT_DOWNS:
            for move, version in ((Move("up", LATEST), LATEST), (Move("down", down), down - 1)):
                outcomes = run_together(runs, move, prefixes)
                assert [o for o in outcomes if not _reached(o, prefixes, version)] == []

    with connect(shared_conninfo) as conn:
        for prefix in prefixes:
            assert assert_consistent(conn, prefix, references, with_rows=True) == FAN_OUT_DOWNS[-1] - 1
            drop_schema(conn, prefix)


@pytest.mark.parametrize("kind", ["psycopg", "django"])
def test_the_fan_out_takes_the_online_forms(
    transaction_bouncer: Bouncer,
    shared_conninfo: str,
    references: References,
    django_db_blocker: DjangoDbBlocker,
    kind: str,
) -> None:
    """One fan-out taking the online forms of four prefixes through transaction pooling."""
    with connect(shared_conninfo) as conn:
        prefixes = [at(conn, 7, colliding_emails(300, f"f{i}")) for i in range(MIGRATORS)]

    with fan_outs(kind, transaction_bouncer.conninfo(shared_conninfo), django_db_blocker, 1) as runs, online():
        (outcome,) = run_together(runs, Move("up", LATEST), prefixes)

    assert _reached(outcome, prefixes, LATEST), outcome
    _assert_online_done(shared_conninfo, prefixes, references)


def test_four_online_migrators_on_four_prefixes(
    transaction_bouncer: Bouncer, shared_conninfo: str, references: References
) -> None:
    """Default psycopg connections; their index builds, batches and watchdogs share 2 server connections."""
    with connect(shared_conninfo) as conn:
        prefixes = [at(conn, 7, colliding_emails(300, f"o{i}")) for i in range(MIGRATORS)]
    barrier = threading.Barrier(MIGRATORS, timeout=60)
    results: list[int | str] = []  # what each up() returned, or its error

    def migrate(connection: psycopg.Connection[Any], prefix: str) -> None:
        barrier.wait()
        try:
            results.append(pk.up(prefix=prefix, using=connection, log=False))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results.append(f"{type(exc).__name__}: {exc}")

    with ExitStack() as stack, online():
        migrators = [stack.enter_context(psycopg.connect(transaction_bouncer.conninfo(shared_conninfo))) for _ in prefixes]
        threads = [threading.Thread(target=migrate, args=pair) for pair in zip(migrators, prefixes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert results == [LATEST] * MIGRATORS
    _assert_online_done(shared_conninfo, prefixes, references)


def _assert_online_done(conninfo: str, prefixes: list[str], references: References) -> None:
    """Each prefix is at the latest version, exactly, with valid indexes and the spec's usernames; then removed."""
    with connect(conninfo) as conn:
        for prefix in prefixes:
            assert assert_consistent(conn, prefix, references) == LATEST
            assert_indexes_valid(conn, prefix)
            assert_usernames_exact(conn, prefix)
            drop_schema(conn, prefix)


def test_an_index_build_that_works_longer_than_the_bound_completes(
    bouncer: Bouncer, shared_conninfo: str, references: References
) -> None:
    """Behind PgBouncer the client's backend pid is PgBouncer's own, not the server session's.

    The watchdog must still find the session building the index: one it cannot
    see counts as waiting, and with nothing in its way the build must not be
    cancelled however long it works.
    """
    with connect(shared_conninfo) as conn:
        prefix = at(conn, 9, colliding_emails(40000))
    with psycopg.connect(bouncer.conninfo(shared_conninfo)) as migrator, online():
        assert pk.up(version=10, prefix=prefix, using=migrator, log=False, lock_timeout=0.005) == 10
    with connect(shared_conninfo) as conn:
        assert_consistent(conn, prefix, references)
        assert_indexes_valid(conn, prefix)
        drop_schema(conn, prefix)


def test_an_index_build_waiting_for_an_old_snapshot_stops_at_the_bound(
    transaction_bouncer: Bouncer, shared_conninfo: str, references: References
) -> None:
    with connect(shared_conninfo) as conn:
        prefix = at(conn, 9, colliding_emails(200))
    with connect(shared_conninfo) as holder:
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        holder.execute("SELECT count(*) FROM pg_class").fetchall()  # an application transaction's snapshot
        with (
            psycopg.connect(transaction_bouncer.conninfo(shared_conninfo)) as migrator,
            online(),
            pytest.raises(pk.TablesLockedError) as stopped,
        ):
            pk.up(version=10, prefix=prefix, using=migrator, log=False, lock_timeout=2)
        holder.execute("ROLLBACK")
        assert f"pid {holder.info.backend_pid} (idle in transaction" in str(stopped.value)
    with psycopg.connect(transaction_bouncer.conninfo(shared_conninfo)) as migrator, online():
        assert pk.migrated_version(prefix, using=migrator) == 9
        assert pk.up(version=10, prefix=prefix, using=migrator, log=False) == 10  # resumed
    with connect(shared_conninfo) as conn:
        assert_consistent(conn, prefix, references)
        assert_indexes_valid(conn, prefix)
        drop_schema(conn, prefix)
