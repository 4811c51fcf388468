"""Runs version steps against one prefix of one database.

Each step is one transaction (a savepoint inside an outer one): take the
prefix's lock, re-read the marker, run the step's statements, write the new
marker. After a crash or a failing statement the prefix is exactly at the last
completed version; a concurrent migrator that got there first turns our
remaining steps into no-ops, and one moving the other way stops us (rather
than the two undoing each other's steps for ever).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Protocol

import psycopg

from .db import Database, database_error
from .errors import ConcurrentMigrationError, LockTimeoutError, PhoenixKitError, SchemaMissingError, StepFailedError
from .lock import (
    HOLDER_QUERY,
    SESSION_LOCK_TIMEOUT,
    acquire_statement,
    holder_params,
    lock_key,
    set_lock_timeout,
    timeout_setting,
)
from .marker import read_relations, read_state, write_marker
from .plan import Step, get_step
from .sqltext import quote_ident
from .script import step_statements

NextStep = Callable[[int], "Step | None"]


class Writer(Protocol):
    """Where progress goes: a text stream, or anything with ``write`` and ``flush``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...

# Failures that mean the objects a step creates or expects are not as the
# marker says: duplicate_table, duplicate_object, duplicate_column,
# undefined_table, undefined_object, undefined_column.
_CATALOG_MISMATCH = frozenset({"42P07", "42710", "42701", "42P01", "42704", "42703"})


class _LockWaitTimedOut(Exception):
    pass


class _StepStatementsFailed(Exception):
    def __init__(self, step: Step, statements: list[str], error: psycopg.Error) -> None:
        self.step = step
        self.statements = statements
        self.error = error


class _Replayed(Exception):
    """Rolls back the replay that locates a failing statement."""


@dataclass
class Runner:
    """Moves one prefix; its arguments are already validated (``migration`` does that)."""

    db: Database
    prefix: str
    lock_timeout: float
    log: Writer | None = None

    def up(self, target: int, create_schema: bool) -> int:
        return self._run(1, lambda current: get_step(current + 1, "up") if current < target else None, create_schema)

    def down(self, target: int) -> int:
        return self._run(-1, lambda current: get_step(current, "down") if current > target else None, False)

    def _run(self, direction: int, next_step: NextStep, create_schema: bool) -> int:
        state = read_state(self.db, self.prefix)
        current = state.version_for_change()
        if next_step(current) is None:
            return current
        if current == 0 and not state.schema_exists and not create_schema:
            raise SchemaMissingError(
                f"Schema {quote_ident(self.prefix)} does not exist and create_schema is False: "
                f"create the schema first, or run with create_schema=True "
                f"(manage.py phoenixkit_migrate without --no-create-schema)."
            )
        # Checked once per run, before the first step: the no-op path above and
        # the re-reads under the lock stay one cheap query each.
        state.check_catalog(read_relations(self.db, self.prefix))
        ((session_lock_timeout,),) = self.db.fetchall(SESSION_LOCK_TIMEOUT)
        while True:
            current, done = self._run_one(direction, current, next_step, create_schema, session_lock_timeout)
            if done or next_step(current) is None:  # no need to lock again to learn we are there
                return current

    def mark(self, version: int) -> str | None:
        """Write marker ``version`` under the lock without running a step; returns the old comment.

        The old marker is not parsed: repairing an unreadable one is the point.
        """
        ((session_lock_timeout,),) = self.db.fetchall(SESSION_LOCK_TIMEOUT)
        with self._locked(session_lock_timeout):
            state = read_state(self.db, self.prefix)
            if not state.table_exists:
                raise PhoenixKitError(
                    f"Prefix {self.prefix!r} has no phoenix_kit table, so there is no marker to record: "
                    f"install it with `manage.py phoenixkit_migrate --prefix {self.prefix}` instead."
                )
            self.db.fetchall(write_marker(self.prefix, version))
        return state.comment

    def _run_one(
        self, direction: int, seen: int, next_step: NextStep, create_schema: bool, session_lock_timeout: str
    ) -> tuple[int, bool]:
        """Run the next step under the lock; returns (marker now, whether the goal was already met).

        ``seen`` is the marker as this run last saw it (``direction`` 1: up, -1: down).
        """
        started = time.monotonic()
        step = None
        try:
            with self._locked(session_lock_timeout):
                current = read_state(self.db, self.prefix).version_for_change()
                if (current - seen) * direction < 0:
                    raise self._moved_back_error(direction, seen, current)
                step = next_step(current)
                if step is None:
                    return current, True
                self._write(f"  {step.describe()}...")
                statements = step_statements(step, self.prefix, create_schema)
                self._execute_all(step, statements)
        except _StepStatementsFailed as failed:
            self._write(" FAILED\n")
            raise self._locate_failure(failed.step, failed.statements, session_lock_timeout, failed.error) from failed.error
        except BaseException:
            if step is not None:
                self._write(" FAILED\n")
            raise
        self._write(f" OK {time.monotonic() - started:.2f}s\n")
        return step.target, False

    @contextmanager
    def _locked(self, session_lock_timeout: str) -> Iterator[None]:
        """A transaction (savepoint if one is open) holding the prefix's lock."""
        # A snapshot taken before the lock is granted would hide the marker the
        # previous holder committed: READ COMMITTED when we open the transaction.
        isolation = [] if self.db.in_transaction() else ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED"]
        # The bound applies to the wait for our lock only; the step's own
        # statements run under the session's lock_timeout again. One message:
        # every value in it is ours (a timeout string, an integer key).
        prelude = [
            *isolation,
            set_lock_timeout(timeout_setting(self.lock_timeout)),
            acquire_statement(self.prefix),
            set_lock_timeout(session_lock_timeout),
        ]
        try:
            with self.db.atomic():
                try:
                    self.db.fetchall(";\n".join(prelude))
                except Exception as exc:
                    error = database_error(exc)
                    if error is not None and error.sqlstate == "55P03":  # lock_not_available
                        raise _LockWaitTimedOut from exc
                    raise
                yield
        except _LockWaitTimedOut:
            raise self._lock_timeout_error() from None

    def _lock_timeout_error(self) -> LockTimeoutError:
        try:
            rows = self.db.fetchall(HOLDER_QUERY, list(holder_params(lock_key(self.prefix))))
        except Exception:  # e.g. an outer transaction that is now aborted
            rows = []
        pid = rows[0][0] if rows else None
        holder = f"backend pid {pid}" if pid is not None else "another session (it has since released it)"
        return LockTimeoutError(
            f"Timed out after {self.lock_timeout:g}s waiting for the migration lock of prefix "
            f"{self.prefix!r}, held by {holder}. Another migrator is running: wait for it, or "
            f"inspect it with SELECT * FROM pg_stat_activity WHERE pid = {pid if pid is not None else '<pid>'}. "
            f"Raise PHOENIX_KIT_LOCK_TIMEOUT to wait longer.",
            pid,
        )

    def _moved_back_error(self, direction: int, seen: int, current: int) -> ConcurrentMigrationError:
        ours, theirs = ("up", "down") if direction > 0 else ("down", "up")
        return ConcurrentMigrationError(
            f"Another migrator moved prefix {self.prefix!r} {theirs} from version {seen} to {current} "
            f"while this {ours} was running. Stopped at version {current} rather than undo its work "
            f"(each step is atomic, so the prefix is consistent): run again once it has finished."
        )

    def _execute_all(self, step: Step, statements: list[str]) -> None:
        """The step's statements in one message: a round trip per step, not per statement."""
        try:
            self.db.fetchall(";\n".join(statements))
        except Exception as exc:
            error = database_error(exc)
            if error is None:
                raise
            raise _StepStatementsFailed(step, statements, error) from exc

    def _locate_failure(
        self, step: Step, statements: list[str], session_lock_timeout: str, error: psycopg.Error
    ) -> StepFailedError:
        """Name the statement that failed by replaying the step one statement at a time, then rolling back.

        The failed step is already rolled back; the replay runs under the lock
        and is always rolled back too, so it changes nothing whatever happens.
        """
        failing, message = None, error
        try:
            with self._locked(session_lock_timeout):
                if read_state(self.db, self.prefix).version_for_change() == step.source:
                    for statement in statements:
                        try:
                            self.db.fetchall(statement)
                        except Exception as exc:
                            failing, message = statement, database_error(exc) or error
                            raise _Replayed from exc
                raise _Replayed
        except (_Replayed, PhoenixKitError):
            pass
        return self._step_failed(step, failing, message)

    def _step_failed(self, step: Step, statement: str | None, error: psycopg.Error) -> StepFailedError:
        hint = ""
        if error.sqlstate in _CATALOG_MISMATCH:
            hint = (
                f"\nHint: the objects this step creates or expects are not as version {step.source} "
                f"leaves them. If an object of yours clashes, rename or remove it and run again; "
                f"if the marker is wrong, inspect the schema and record the version really installed "
                f"with `manage.py phoenixkit_migrate --prefix {self.prefix} --mark N`."
            )
        shown = statement if statement is not None else "(it did not fail again when replayed one statement at a time)"
        return StepFailedError(
            f"phoenix_kit {step.version.label} {step.direction} failed on prefix {self.prefix!r} "
            f"and was rolled back; the prefix stays at version {step.source}.\n"
            f"PostgreSQL said: {str(error).strip()}\nStatement: {shown}{hint}",
            step.version.number,
            statement or "",
        )

    def _write(self, text: str) -> None:
        if self.log is not None:
            self.log.write(text)
            self.log.flush()
