"""Crash safety: ``kill -9`` a migrator at random points of a run (issue 5, item 3).

Where the kills land. A whole 0 → 16 run takes a fraction of a second, so a
kill after a random *delay* would mostly hit the first steps or nothing. The
child prints its progress line by line (``child.py``), and each trial picks,
from a seeded generator, the step at which to strike (every version in turn,
in shuffled order), whether to strike inside that step (after a random delay
of up to 15 ms from the moment the step starts: a statement, the marker write,
the commit...) or just after it reported OK (between two steps), and whether
the server session dies too (``pg_terminate_backend``, aborting the statement
it runs) or is left to notice the lost client by itself. Nothing in the
product is slowed down or instrumented.

After every kill, while holding the prefix's lock (so a step still running in
the orphaned session has finished or rolled back), the prefix must be exactly
a legitimate install at the version its marker says (catalog *and* rows,
compared with reference installs), and a re-run must complete.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
import pytest

import phoenix_kit as pk
from phoenix_kit.lock import acquire_statement
from tests.helpers import schema_exists
from tests.reliability.children import spawn
from tests.reliability.common import SEED, connect, drop_schema, unique_name
from tests.reliability.references import LATEST, References, assert_consistent

Direction = Literal["up", "down"]

DEFAULT_TRIALS = 5  # per direction: 10 kills in a default run
SLOW_TRIALS = 30  # per direction: 60 kills in CI


@dataclass(frozen=True)
class KillPoint:
    step: int  # the version whose step triggers the kill
    between: bool  # strike right after that step reported OK instead of inside it
    delay: float  # seconds from the trigger to SIGKILL
    kill_session: bool  # also terminate the server session at once

    @classmethod
    def draw(cls, rng: random.Random, count: int) -> list[KillPoint]:
        steps: list[int] = []
        while len(steps) < count:
            steps += rng.sample(range(1, LATEST + 1), LATEST)  # every step before any repeats
        points = []
        for step in steps[:count]:
            between = step < LATEST and rng.random() < 0.25
            points.append(cls(step, between, 0.0 if between else rng.uniform(0, 0.015), rng.random() < 0.5))
        return points


def _trial(conninfo: str, conn: psycopg.Connection[Any], references: References, direction: Direction, point: KillPoint) -> int:
    """One kill; returns the version the prefix was found at."""
    prefix = unique_name("kill")
    if direction == "down":
        pk.up(prefix=prefix, using=conn, log=False)
    child = spawn(direction, conninfo, prefix=prefix)
    child.go()
    assert child.wait_for_log(f"phoenix_kit V{point.step:02d} ("), child.log
    if point.between:
        assert child.wait_for_log(" OK "), child.log
    time.sleep(point.delay)  # the random kill moment, not a synchronisation
    child.kill()
    if point.kill_session:
        conn.execute("SELECT pg_terminate_backend(%s, 10000)", [child.backend_pid])

    with conn.transaction():
        conn.execute(acquire_statement(prefix))  # wait for a step the orphaned session may still run
        found = assert_consistent(conn, prefix, references, with_rows=True)
    if direction == "up":
        assert found >= point.step - 1, f"{point}: the kill cannot have undone committed steps"
        assert pk.up(prefix=prefix, using=conn, log=False) == LATEST
        assert assert_consistent(conn, prefix, references, with_rows=True) == LATEST
        drop_schema(conn, prefix)
    else:
        assert found <= point.step, f"{point}: the kill cannot have undone committed steps"
        assert pk.down(prefix=prefix, using=conn, log=False) == 0
        assert not schema_exists(conn, prefix)
    return found


def _trials(shared_conninfo: str, references: References, direction: Direction, count: int, seed: int) -> None:
    points = KillPoint.draw(random.Random(f"{seed}-{direction}"), count)
    with connect(shared_conninfo) as conn:
        found = [_trial(shared_conninfo, conn, references, direction, point) for point in points]
    print(f"\n{direction}: kills left the prefix at versions {sorted(Counter(found).items())}")
    # The kills really were spread over the run, not all at its start or its end.
    assert len(set(found)) >= min(count, LATEST) // 2, found


@pytest.mark.parametrize("direction", ["up", "down"])
def test_kill_9_at_random_points(shared_conninfo: str, references: References, direction: Direction) -> None:
    _trials(shared_conninfo, references, direction, DEFAULT_TRIALS, SEED)


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["up", "down"])
def test_kill_9_at_random_points_long(shared_conninfo: str, references: References, direction: Direction) -> None:
    _trials(shared_conninfo, references, direction, SLOW_TRIALS, SEED + 1)
