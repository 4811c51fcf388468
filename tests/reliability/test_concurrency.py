"""Concurrent migrators in separate processes (issue 5, item 1).

Every test starts its migrators with a barrier (see ``children.py``) on a
database of its own. "Applied exactly once" is read from the server: an event
trigger records every DDL command that commits (``audit.py``), and the record
must equal that of one migrator working alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from psycopg.conninfo import make_conninfo

import phoenix_kit as pk
from phoenix_kit.lock import lock_key
from tests.helpers import snapshot
from tests.reliability import audit
from tests.reliability.children import Outcome, run_together, spawn, spawn_many
from tests.reliability.common import connect, unique_name
from tests.reliability.references import LATEST, References, assert_consistent

MIGRATORS = 8
HAS_DJANGO_MIGRATIONS = (Path(pk.__file__).parent / "migrations" / f"{LATEST:04d}_v{LATEST:02d}.py").exists()


def audited_database(make_database: Callable[[], str]) -> str:
    conninfo = make_database()
    with connect(conninfo) as conn:
        audit.install(conn)
    return conninfo


@pytest.fixture(scope="module")
def alone(make_database: Callable[[], str]) -> tuple[list[audit.Command], dict[str, Any]]:
    """The DDL record and the ``public`` snapshot of one migrator installing alone."""
    conninfo = audited_database(make_database)
    with connect(conninfo) as conn:
        pk.up(using=conn, log=False)
        return audit.commands(conn), snapshot(conn, "public")


def _prepare_django_migrations(conninfo: str) -> None:
    """Let Django create ``django_migrations`` first, as a deployed project (with Django's own apps) has it.

    Django's ``migrate`` creates that table without a lock: started together on an
    empty database, some of them fail inside Django, before any phoenix_kit step.
    """
    (outcome,) = run_together([spawn("recorder", conninfo)])
    assert outcome.ok, outcome.message


@pytest.mark.parametrize(
    "action",
    [
        "up",
        "ensure_current",
        pytest.param(
            "migrate",
            marks=pytest.mark.skipif(not HAS_DJANGO_MIGRATIONS, reason="the Django migrations are not there yet"),
        ),
    ],
)
def test_eight_migrators_apply_every_step_exactly_once(
    make_database: Callable[[], str], alone: tuple[list[audit.Command], dict[str, Any]], action: str
) -> None:
    conninfo = make_database()
    if action == "migrate":
        _prepare_django_migrations(conninfo)
    with connect(conninfo) as conn:
        audit.install(conn)

    outcomes = run_together(spawn_many([(action, conninfo, "public")] * MIGRATORS))

    assert [o.error for o in outcomes if not o.ok] == [], [o.message for o in outcomes if not o.ok]
    if action != "migrate":  # migrate returns nothing
        assert [o.result for o in outcomes] == [LATEST] * MIGRATORS
    reference_log, reference_snapshot = alone
    with connect(conninfo) as conn:
        log = audit.commands(conn)
        print(f"\n{action}: the {LATEST} steps were committed by {len({c.pid for c in log})} of {MIGRATORS} migrators")
        assert audit.what(log) == audit.what(reference_log)  # every DDL command committed exactly once
        assert audit.creations(log, "CREATE TABLE") == audit.creations(reference_log, "CREATE TABLE")
        assert len({c.txid for c in log}) == LATEST  # one transaction per step
        assert pk.migrated_version("public", using=conn) == LATEST
        assert _without_django(snapshot(conn, "public")) == reference_snapshot  # seeds included: inserted once
        if action == "migrate":
            recorded = {name for (name,) in conn.execute("SELECT name FROM django_migrations WHERE app = 'phoenix_kit'")}
            assert len(recorded) == LATEST


def _without_django(snap: dict[str, Any]) -> dict[str, Any]:
    """A ``public`` snapshot without Django's ``django_migrations`` table."""
    catalog = snap["catalog"]
    catalog["tables"].pop("django_migrations", None)
    catalog["sequences"] = {k: v for k, v in catalog["sequences"].items() if "django_migrations" not in str(v)}
    catalog["other_objects"] = [o for o in catalog["other_objects"] if "django_migrations" not in o]
    snap["rows"].pop("django_migrations", None)
    return snap


def _overlap(a: Outcome, b: Outcome) -> float:
    return min(a.end, b.end) - max(a.start, b.start)


def test_migrators_of_different_prefixes_run_side_by_side(
    make_database: Callable[[], str], references: References
) -> None:
    """Four prefixes of a database without citext: all install, in overlapping time, citext once."""
    conninfo = audited_database(make_database)
    prefixes = [unique_name(f"p{i}") for i in range(4)]

    outcomes = run_together(spawn_many(("up", conninfo, prefix) for prefix in prefixes))

    assert [o.message for o in outcomes if not o.ok] == []
    for a, b in itertools.combinations(outcomes, 2):
        assert _overlap(a, b) > 0, "two migrators of different prefixes did not run at the same time"
    with connect(conninfo) as conn:
        log = audit.commands(conn)
        assert audit.creations(log, "CREATE EXTENSION") == {"citext": 1}
        tables = audit.creations(log, "CREATE TABLE")
        assert set(tables.values()) == {1} and len(tables) == 4 * len(references.up[LATEST]["catalog"]["tables"])
        for prefix in prefixes:
            assert assert_consistent(conn, prefix, references, with_rows=True) == LATEST


def test_a_held_prefix_lock_blocks_only_that_prefix(shared_conninfo: str, references: References) -> None:
    """While the test holds one prefix's lock, the migrators of three others finish."""
    blocked, *free = [unique_name(f"b{i}") for i in range(4)]
    children = spawn_many(("up", shared_conninfo, prefix) for prefix in [blocked, *free])
    with connect(shared_conninfo) as holder, holder.transaction():
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(blocked)])
        for child in children:
            child.go()
        assert [c.outcome().result for c in children[1:]] == [LATEST] * 3
        assert children[0].process.poll() is None  # still waiting for the held lock
    assert children[0].outcome().result == LATEST
    with connect(shared_conninfo) as conn:
        for prefix in [blocked, *free]:
            assert assert_consistent(conn, prefix, references) == LATEST
            pk.down(prefix=prefix, using=conn, log=False)


@pytest.mark.parametrize("start", [3, 8, 13])
def test_up_and_down_at_once_end_consistent(make_database: Callable[[], str], references: References, start: int) -> None:
    """One migrator going up and one going down: neither undoes the other for ever.

    Each step is atomic and locked, so they interleave step by step. The first
    to see the other's work stops with an error; the other reaches its goal.
    """
    conninfo = make_database()
    with connect(conninfo) as conn:
        pk.up(version=start, using=conn, log=False)

    up, down = run_together(spawn_many([("up", conninfo, "public"), ("down", conninfo, "public")]))

    assert up.ok or down.ok
    for loser in (o for o in (up, down) if not o.ok):
        assert loser.error == "ConcurrentMigrationError" and "Another migrator moved prefix 'public'" in loser.message
    with connect(conninfo) as conn:
        final = assert_consistent(conn, "public", references, with_rows=True)
    assert final in (0, LATEST)
    if not up.ok:
        assert final == 0
    if not down.ok:
        assert final == LATEST


def test_eight_migrators_under_repeatable_read(make_database: Callable[[], str]) -> None:
    conninfo = make_conninfo(make_database(), options="-c default_transaction_isolation=repeatable\\ read")
    outcomes = run_together(spawn_many([("up", conninfo, "public")] * MIGRATORS))
    assert [o.message for o in outcomes if not o.ok] == []
