"""Migrators in threads, each with its own psycopg connection, for the PgBouncer tests.

Each migrator works on one prefix in rounds: up to the latest version, the
reads (marker, status of its prefix and of every install, plan, a no-op
``ensure_current``), then down to and including a version, the reads again. A
barrier separates the phases, so migrators sharing a prefix always move it the
same way (an up meeting a down stops by design: ``ConcurrentMigrationError``).
A round sends every query of the core dozens of times on each connection: far
past psycopg's prepare threshold (5 executions of one query by default).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

import psycopg

import phoenix_kit as pk
from phoenix_kit.status import installed, prefix_status

LATEST = pk.latest_version()
DOWNS = (1, 9)  # one round each: up to the latest, then down to and including this version (1: uninstall)
BARRIER_SECONDS = 120.0

# How a migrator gets a connection for one call: always the same one, or one from a pool.
Borrow = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
T = TypeVar("T")


def kept(connection: psycopg.Connection[Any]) -> Borrow:
    return lambda: nullcontext(connection)


def run_in_rounds(borrows: Sequence[Borrow], prefixes: Sequence[str], downs: Sequence[int] = DOWNS) -> list[str]:
    """Migrator ``i`` works on ``prefixes[i]`` with ``borrows[i]``, all at once; returns what failed."""
    barrier = threading.Barrier(len(borrows), timeout=BARRIER_SECONDS)
    failures: list[str] = []

    def migrate(borrow: Borrow, prefix: str) -> None:
        def call(function: Callable[..., T], **options: Any) -> T:
            with borrow() as connection:
                return function(using=connection, **options)

        try:
            barrier.wait()
            for down in downs:
                _expect(call(pk.up, prefix=prefix, log=False), LATEST, "up()")
                _read(call, prefix, LATEST)
                _expect(call(pk.ensure_current, prefix=prefix), LATEST, "ensure_current()")
                barrier.wait()
                _expect(call(pk.down, version=down, prefix=prefix, log=False), down - 1, "down()")
                _read(call, prefix, down - 1)
                barrier.wait()
        except threading.BrokenBarrierError:
            pass  # another migrator failed and broke it: its failure is reported
        except Exception as exc:  # noqa: BLE001 - reported to the test, with its type
            failures.append(f"{prefix}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
            barrier.abort()

    threads = [threading.Thread(target=migrate, args=pair) for pair in zip(borrows, prefixes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def _read(call: Callable[..., Any], prefix: str, version: int) -> None:
    """Every read of the core on ``prefix``, which must be at ``version``."""
    _expect(call(pk.migrated_version, prefix=prefix), version, "migrated_version()")
    status = call(prefix_status, prefix=prefix)
    _expect((status.version, status.problem), (version, None), "prefix_status()")
    listed = {s.prefix: (s.version, s.problem) for s in call(installed)}
    _expect(listed.get(prefix, (0, None)), (version, None), "installed()")
    _expect(len(pk.plan(version, LATEST)), LATEST - version, "plan()")


def _expect(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what} gave {actual!r}, expected {expected!r}")
