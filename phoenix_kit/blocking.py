"""Bounded waits for table locks: short attempts, jittered back-off, and the blockers named.

PostgreSQL queues every later query on a table behind a DDL statement that is
waiting for its lock, so a step never waits long: each attempt waits at most
``PHOENIX_KIT_DDL_LOCK_TIMEOUT`` for a lock, then rolls back (steps are atomic),
lets the queue drain, and tries again, until ``PHOENIX_KIT_LOCK_TIMEOUT`` is
spent. There is no final unbounded attempt.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from .db import Database

# Back-off between attempts: from FIRST_DELAY, doubling, at most MAX_DELAY,
# each drawn from [0.5, 1.5) of that so competing migrators spread out.
FIRST_DELAY = 0.05
MAX_DELAY = 1.0

def held_locks(prefix: str, tables: str) -> str:
    """SQL: FROM and WHERE over the granted locks other sessions hold on ``tables`` of schema ``prefix``.

    ``prefix`` is an SQL expression of type name, ``tables`` one of type name[]
    (bound parameters for the runner, literals in the exported script). Names
    its operators with their schema, like every read (see docs/security.md).
    """
    return f"""FROM pg_catalog.pg_locks AS l
JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) l.relation
JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
LEFT JOIN pg_catalog.pg_stat_activity AS a ON a.pid OPERATOR(pg_catalog.=) l.pid
WHERE l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
  AND n.nspname OPERATOR(pg_catalog.=) {prefix}
  AND c.relname OPERATOR(pg_catalog.=) ANY ({tables})"""


# The sessions holding locks on the step's tables (other than ours).
BLOCKERS_QUERY = f"""
SELECT DISTINCT ON (l.pid) l.pid, a.state,
       pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) a.xact_start),
       pg_catalog.left(a.query, 120), c.relname, l.mode
{held_locks("%(prefix)s::pg_catalog.name", "%(tables)s::pg_catalog.name[]")}
ORDER BY l.pid, c.relname
"""


# Sessions of this database whose snapshot a concurrent index build must wait
# out (it waits for every transaction older than its own), oldest first.
SNAPSHOTS_QUERY = """
SELECT a.pid, a.state, pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) a.xact_start),
       pg_catalog.left(a.query, 120)
FROM pg_catalog.pg_stat_activity AS a
WHERE a.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
  AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() AND a.backend_xmin IS NOT NULL
ORDER BY a.xact_start
LIMIT 5
"""


@dataclass(frozen=True)
class Blocker:
    pid: int
    state: str | None  # None: pg_stat_activity does not show it to this role
    transaction_seconds: float | None
    query: str | None
    table: str
    mode: str

    def describe(self) -> str:
        open_for = "" if self.transaction_seconds is None else f", transaction open {self.transaction_seconds:.1f}s"
        query = f": {' '.join(self.query.split())}" if self.query else ""
        holds = f"{self.mode} on {self.table}" if self.table else "an older snapshot"
        return f"pid {self.pid} ({self.state or 'state hidden'}{open_for}, {holds}){query}"


def read_blockers(db: Database, prefix: str, tables: Iterable[str]) -> list[Blocker]:
    rows = db.fetchall(BLOCKERS_QUERY, {"prefix": prefix, "tables": sorted(tables)})
    return [Blocker(pid, state, seconds, query, table, mode) for pid, state, seconds, query, table, mode in rows]


def read_snapshot_holders(db: Database) -> list[Blocker]:
    """The oldest transactions of the database holding a snapshot (``table`` and ``mode`` empty)."""
    rows = db.fetchall(SNAPSHOTS_QUERY)
    return [Blocker(pid, state, seconds, query, "", "") for pid, state, seconds, query in rows]


def describe_all(blockers: list[Blocker]) -> str:
    if not blockers:
        return "no session holds them any more"
    return "; ".join(blocker.describe() for blocker in blockers)


@dataclass
class Retry:
    """The attempts of one step: how long each may wait for locks, and when to stop."""

    deadline: float  # time.monotonic() by which the step must have its locks
    attempts: int = field(default=0, init=False)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def next_delay(self) -> float | None:
        """The pause before the next attempt, or None when the bound would be spent first."""
        self.attempts += 1
        delay = min(MAX_DELAY, FIRST_DELAY * 2 ** (self.attempts - 1)) * random.uniform(0.5, 1.5)
        return delay if delay < self.remaining() else None
