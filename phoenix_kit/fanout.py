"""One move applied to many prefixes of a database, on up to ``jobs`` connections.

For schema-per-tenant projects: the markers of all the prefixes are read with
one catalog query, prefixes already where the move would take them are
reported without another round trip, and the others are migrated by worker
threads, each on its own connection, each prefix in its own locked steps. A
failing prefix is reported and the others go on. Results are yielded as they
come, so memory does not grow with the number of prefixes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from . import conf
from .db import Database, connect
from .errors import MarkerError
from .marker import PrefixState
from .plan import check_version
from .prefix import check_create_schema, creates_schema, validate_prefix
from .runner import Runner
from .status import states
from .trust import foreign_install_error

# "skipped": found by discovery but owned by a role we do not act for (see
# ``trust``): reported, never migrated.
Outcome = Literal["ok", "already current", "skipped", "failed"]

# PHOENIX_KIT_LOCK_TIMEOUT and PHOENIX_KIT_DDL_LOCK_TIMEOUT (or their overrides), read once.
Timeouts = tuple[float, float]


@dataclass(frozen=True)
class Move:
    """Where a prefix should go, relative to where it is.

    ``up``: to ``number`` but never down (``up(version=N)``); ``down``: roll back
    ``number`` and everything above (``down(version=N)``); ``to``: exactly ``number``.
    """

    kind: Literal["up", "down", "to"]
    number: int

    def __post_init__(self) -> None:
        check_version(self.number, "version", lowest=0 if self.kind == "to" else 1)

    def target(self, current: int) -> int:
        if self.kind == "up":
            return max(current, self.number)
        if self.kind == "down":
            return min(current, self.number - 1)
        return self.number


@dataclass(frozen=True)
class PrefixResult:
    prefix: str
    outcome: Outcome
    version: int | None  # the marker afterwards (None when unreadable)
    detail: str = ""  # why it failed


def migrate_prefixes(
    move: Move,
    prefixes: Sequence[str] | None = None,
    *,
    using: object = "default",
    jobs: int = 1,
    create_schema: bool | None = None,
    lock_timeout: float | None = None,
    installs: Sequence[PrefixState] | None = None,
    install_missing: bool = False,
) -> Iterator[PrefixResult]:
    """Apply ``move`` to each of ``prefixes`` (None: every installed prefix); yield each result.

    Discovery (``prefixes=None``) reports installs owned by a role the
    migrating role does not act for as "skipped"; named, they fail.
    ``installs``: those same prefixes as :func:`read_installs` already read
    them, so that a caller who looked first (``losses.losing_ups``) costs no
    second query; each prefix's marker is read again under its lock anyway.
    A named prefix that has no install fails (a typo must not create a
    schema) unless ``install_missing``: provisioning a tenant is explicit.

    ``jobs > 1`` needs a Django alias: each worker thread uses its own connection.
    Arguments are checked before any SQL; prefix names read from the database
    that break the prefix rules are reported as failed.
    """
    names = None if prefixes is None else [validate_prefix(p) for p in prefixes]
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    if jobs > 1 and not isinstance(using, str):
        raise ValueError("jobs > 1 needs a Django database alias: each job opens its own connection")
    check_create_schema(create_schema)
    if not isinstance(install_missing, bool):
        raise ValueError(f"install_missing must be True or False, got {install_missing!r}")
    timeouts = (conf.lock_timeout(lock_timeout), conf.ddl_lock_timeout())
    conf.online()  # a bad PHOENIX_KIT_ONLINE fails here, before any SQL, not once per prefix
    return _results(move, names, using, jobs, create_schema, timeouts, installs, install_missing)


def read_installs(prefixes: Sequence[str] | None, *, using: object = "default") -> list[PrefixState]:
    """The catalog facts of ``prefixes`` (None: every install), in one query, as ``migrate_prefixes`` reads them."""
    return states(connect(using), None if prefixes is None else [validate_prefix(p) for p in prefixes])


def _results(
    move: Move,
    names: list[str] | None,
    using: object,
    jobs: int,
    create_schema: bool | None,
    timeouts: Timeouts,
    installs: Sequence[PrefixState] | None,
    install_missing: bool,
) -> Iterator[PrefixResult]:
    pending: list[tuple[str, int]] = []
    for state in states(connect(using), names) if installs is None else installs:
        result, current = _decide(state, move, discovered=names is None, install_missing=install_missing)
        if result is not None:
            yield result
        else:
            pending.append((state.prefix, current))
    yield from _run_all(pending, move, using, jobs, create_schema, timeouts)


def _decide(
    state: PrefixState, move: Move, *, discovered: bool, install_missing: bool
) -> tuple[PrefixResult | None, int]:
    """A result when nothing needs to run (done, impossible or not ours), else the current marker."""
    if state.untrusted_owner is not None:
        refusal = foreign_install_error(state.prefix, state.untrusted_owner)
        return PrefixResult(state.prefix, "skipped" if discovered else "failed", None, _one_line(refusal)), 0
    try:
        validate_prefix(state.prefix)
        current = state.version_for_change()
        state.check_catalog(set(state.relations or ()))
    except (ValueError, MarkerError) as exc:
        return PrefixResult(state.prefix, "failed", None, _one_line(exc)), 0
    if move.target(current) == current:
        return PrefixResult(state.prefix, "already current", current), current
    if current == 0 and not install_missing:
        where = "its schema has no phoenix_kit table" if state.schema_exists else "its schema does not exist"
        missing = f"not installed ({where}): check the name, or pass install_missing=True (--install-missing) to install it"
        return PrefixResult(state.prefix, "failed", None, missing), 0
    return None, current


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _run_all(
    pending: list[tuple[str, int]], move: Move, using: object, jobs: int, create_schema: bool | None, timeouts: Timeouts
) -> Iterator[PrefixResult]:
    if jobs == 1 or len(pending) <= 1:
        db = connect(using)
        for prefix, current in pending:
            yield _run_one(db, prefix, current, move, create_schema, timeouts)
        return
    work: queue.SimpleQueue[tuple[str, int] | None] = queue.SimpleQueue()
    results: queue.SimpleQueue[PrefixResult | BaseException] = queue.SimpleQueue()
    for item in pending:
        work.put(item)
    workers = min(jobs, len(pending))
    for _ in range(workers):
        work.put(None)  # one stop sign per worker

    def worker() -> None:
        db = connect(using)  # a Django alias: this thread's own connection
        try:
            while (item := work.get()) is not None:
                results.put(_run_one(db, *item, move, create_schema, timeouts))
        except BaseException as exc:  # reach the caller instead of dying silently
            results.put(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker, name=f"phoenix_kit-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    for _ in pending:
        result = results.get()
        if isinstance(result, BaseException):
            raise result
        yield result
    for thread in threads:
        thread.join()


def _run_one(
    db: Database, prefix: str, current: int, move: Move, create_schema: bool | None, timeouts: Timeouts
) -> PrefixResult:
    runner = Runner(db, prefix, *timeouts, online=conf.online())
    target = move.target(current)
    create = creates_schema(create_schema, prefix)
    try:
        # The runner re-reads the marker under the lock: another migrator may have moved it.
        version = runner.up(target, create) if target > current else runner.down(target)
    except Exception as exc:  # one failing prefix must not stop the others
        return PrefixResult(prefix, "failed", None, _one_line(exc))
    return PrefixResult(prefix, "ok", version)
