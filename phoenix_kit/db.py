"""The one interface the core needs from a connection, and its psycopg form.

The core runs on a Django alias (``phoenix_kit.django_db``) or on a bare
psycopg connection; both provide :class:`Database`. ``atomic()`` must open a
transaction, or a savepoint when one is already open, so steps run inside
an outer transaction (Django's ``migrate``) become savepoints of it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal, Protocol

import psycopg
from psycopg.pq import TransactionStatus

Params = Sequence[Any] | Mapping[str, Any] | None

# Whose transaction the core works in: "none": nobody's, so every step opens
# and commits its own; "open": the caller's, so steps become savepoints of it.
TransactionState = Literal["none", "open"]


class StatementFailed(Exception):
    """Statement ``index`` of a batch failed; the ones after it did not run."""

    def __init__(self, index: int, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


class Database(Protocol):
    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Run one statement; never leaves open a transaction that was not open before."""
        ...

    def execute_batch(self, statements: Sequence[str]) -> None:
        """Run ``statements`` in order in one round trip; raises :class:`StatementFailed`."""
        ...

    def atomic(self) -> AbstractContextManager[object]: ...

    def run_alone(self, sql: str, wait_bound: float) -> None:
        """Run one statement outside any transaction (``CREATE INDEX CONCURRENTLY``); it raises
        :class:`WaitBoundExceeded` once it has waited for locks ``wait_bound`` seconds (see
        :func:`run_waits_bounded`). Only called when :meth:`transaction_state` is "none".
        """
        ...

    def transaction_state(self) -> TransactionState: ...

    def close(self) -> None:
        """Release a connection the adapter opened itself (a worker thread's); never the caller's."""


def run_batch(connection: psycopg.Connection[Any], statements: Sequence[str]) -> None:
    """Pipeline mode: one round trip, and each statement's own result, so a failure names its statement.

    ``prepare=False``: nothing relies on server-side prepared statements
    (transaction-pooling PgBouncer hands each transaction another server).
    A libpq older than 14 has no pipeline mode: then one round trip per statement.
    """
    if not psycopg.Pipeline.is_supported():
        with connection.cursor() as cursor:
            for index, statement in enumerate(statements):
                try:
                    cursor.execute(statement, prepare=False)
                except psycopg.Error as exc:
                    raise StatementFailed(index, exc) from exc
        return
    cursors = [connection.cursor() for _ in statements]
    try:
        with connection.pipeline():
            for cursor, statement in zip(cursors, statements):
                cursor.execute(statement, prepare=False)
    except psycopg.Error as exc:
        # Statements before the failing one have a result; it and those after have none.
        index = next((i for i, cursor in enumerate(cursors) if cursor.pgresult is None), len(statements) - 1)
        raise StatementFailed(index, exc) from exc
    finally:
        for cursor in cursors:
            cursor.close()


class WaitBoundExceeded(Exception):
    """:meth:`Database.run_alone` cancelled its statement: it had waited for locks longer than allowed."""


# How often the watchdog of run_alone looks at the statement, in seconds.
_WATCH_EVERY = 0.1
# The statement is found by a tag it starts with, not by the client's backend
# pid: behind PgBouncer (either pooling mode) that pid is PgBouncer's own, and
# in transaction mode the server session running the statement is any of its pool.
_WAITING_QUERY = (
    "SELECT wait_event_type FROM pg_catalog.pg_stat_activity"
    " WHERE pg_catalog.starts_with(query, %s::pg_catalog.text) AND state OPERATOR(pg_catalog.=) 'active'::pg_catalog.text"
)


def run_waits_bounded(connection: psycopg.Connection[Any], sql: str, bound: float) -> None:
    """``sql`` in autocommit, cancelled once it has spent ``bound`` seconds waiting for locks in all.

    Its work is not bounded: a concurrent index build on a large table may take
    minutes. A watchdog thread samples, on a connection of its own, whether the
    statement waits for a lock; a statement it cannot see counts as waiting, so
    the bound always holds. It cancels with a cancel request, not a session
    ``lock_timeout``, which would outlive the statement on the session (or,
    behind a transaction-pooling PgBouncer, land on another client's server).
    """
    tag = f"/* phoenix_kit {uuid.uuid4().hex} */ "
    watchdog = _Watchdog(connection, tag, bound)
    watchdog.start()
    try:
        connection.execute(tag + sql, prepare=False)
    except psycopg.errors.QueryCanceled as exc:
        if watchdog.cancelled:
            raise WaitBoundExceeded() from exc
        raise
    finally:
        watchdog.stop()


class _Watchdog(threading.Thread):
    """Cancels the statement starting with ``tag`` on ``connection`` once it has waited ``bound`` seconds for locks."""

    def __init__(self, connection: psycopg.Connection[Any], tag: str, bound: float) -> None:
        super().__init__(name="phoenix_kit-watchdog", daemon=True)
        self.connection, self.tag, self.bound = connection, tag, bound
        # Read here, before the statement runs: libpq connections are not for two threads at once.
        self._dsn, self._password = connection.info.dsn, connection.info.password
        self.cancelled = False
        self._ended = threading.Event()
        self._guard = threading.Lock()  # the end of the statement and a cancel exclude each other

    def run(self) -> None:
        waited = 0.0
        side = self._connect()
        try:
            while not self._ended.wait(_WATCH_EVERY):
                side, working = self._working(side)
                if not working:
                    waited += _WATCH_EVERY
                if waited >= self.bound:
                    self._cancel()
                    return
        finally:
            if side is not None:
                side.close()

    def stop(self) -> None:
        """The statement has ended: never cancel from now on (a cancel could hit the next statement).

        Waits at most one sample for the watchdog to close its connection: a
        sample may be stuck waiting for a server connection (a full PgBouncer
        session pool), and the statement's caller must not wait for that.
        """
        with self._guard:
            self._ended.set()
        self.join(_WATCH_EVERY)

    def _connect(self) -> psycopg.Connection[Any] | None:
        try:
            return psycopg.connect(self._dsn, password=self._password, autocommit=True)
        except psycopg.Error:
            return None

    def _working(self, side: psycopg.Connection[Any] | None) -> tuple[psycopg.Connection[Any] | None, bool]:
        """(the side connection, still usable or None; whether the statement was seen working, not waiting)."""
        if side is None:
            return None, False
        try:
            row = side.execute(_WAITING_QUERY, [self.tag], prepare=False).fetchone()
        except psycopg.Error:  # e.g. PgBouncer's query_wait_timeout: from now on it cannot see
            side.close()
            return None, False
        return side, row is not None and row[0] != "Lock"

    def _cancel(self) -> None:
        with self._guard:
            if self._ended.is_set():
                return
            self.cancelled = True
            getattr(self.connection, "cancel_safe", self.connection.cancel)()


class PsycopgDatabase:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        # Without autocommit psycopg would open a transaction for a read and
        # leave it open (holding locks, and lost with the connection): a read
        # outside the caller's transaction commits at once.
        outside = not self.connection.autocommit and self.transaction_state() == "none"
        with self.connection.transaction() if outside else nullcontext(), self.connection.cursor() as cursor:
            # Never prepared, whatever the connection's prepare_threshold: behind a
            # transaction-pooling PgBouncer the next execution may reach a server
            # session that lacks the statement, or has another client's of that name.
            cursor.execute(sql, params, prepare=False)
            return list(cursor.fetchall()) if cursor.description else []

    def execute_batch(self, statements: Sequence[str]) -> None:
        run_batch(self.connection, statements)

    def atomic(self) -> AbstractContextManager[object]:
        # transaction() commits at its end when it is the outermost block, even
        # without autocommit; nested, it is a savepoint.
        return self.connection.transaction()

    def run_alone(self, sql: str, wait_bound: float) -> None:
        autocommit = self.connection.autocommit
        self.connection.autocommit = True
        try:
            run_waits_bounded(self.connection, sql, wait_bound)
        finally:
            self.connection.autocommit = autocommit

    def transaction_state(self) -> TransactionState:
        idle = self.connection.info.transaction_status == TransactionStatus.IDLE
        return "none" if idle else "open"

    def close(self) -> None:
        pass  # the caller's connection


def connect(using: object) -> Database:
    """A :class:`Database` for a Django alias or a psycopg connection."""
    if isinstance(using, psycopg.Connection):
        return PsycopgDatabase(using)
    if isinstance(using, str):
        from django.conf import settings

        if not settings.configured:  # else Django's own "Requested setting DATABASES" would be all one sees
            raise ValueError(
                f"using={using!r} names a Django database alias, but Django's settings are not configured: "
                f"pass using=<a psycopg.Connection>, or configure Django first."
            )
        from .django_db import DjangoDatabase

        return DjangoDatabase(using)
    raise TypeError(f"using must be a Django database alias or a psycopg.Connection, got {using!r}")


def database_error(exc: BaseException) -> psycopg.Error | None:
    """The psycopg error behind ``exc`` (Django wraps them), if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, psycopg.Error):
            return seen
        seen = seen.__cause__
    return None
