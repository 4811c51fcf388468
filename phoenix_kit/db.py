"""The one interface the core needs from a connection, and its forms outside Django.

The core runs on a Django alias (``phoenix_kit.django_db``), on a caller's
psycopg connection (:class:`PsycopgDatabase`) or on a connection phoenix_kit
opened itself with the project's driver (:class:`OwnDatabase`); each provides
:class:`Database`. ``atomic()`` must open a
transaction, or a savepoint when one is already open, so steps run inside
an outer transaction (Django's ``migrate``) become savepoints of it.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from . import driver

if TYPE_CHECKING:
    import psycopg

Params = Sequence[Any] | Mapping[str, Any] | None

# Whose transaction the core works in: "none": nobody's, so every step opens
# and commits its own; "open": the caller's, so steps become savepoints of it.
TransactionState = Literal["none", "open"]


@runtime_checkable
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


T = TypeVar("T")


class _RolledBack(Exception):
    """Ends :func:`rolled_back`'s transaction."""


def rolled_back(database: Database, work: Callable[[], T]) -> T:
    """``work()``'s result, in a transaction (a savepoint inside one) that is then rolled back.

    For reads under pinned settings and for scratch installs: whatever ``work``
    changed, ``SET LOCAL`` included, is undone.
    """
    results: list[T] = []
    try:
        with database.atomic():
            results.append(work())
            raise _RolledBack()
    except _RolledBack:
        pass
    return results[0]


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


def run_waits_bounded(connection: Any, sql: str, bound: float) -> None:
    """``sql`` in autocommit on a driver connection, cancelled once it has spent ``bound`` seconds waiting for locks in all.

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
        driver.execute(connection, tag + sql)
    except Exception as exc:
        error = driver.server_error(exc)
        if watchdog.cancelled and error is not None and error.sqlstate == "57014":  # query_canceled
            raise WaitBoundExceeded() from exc
        raise
    finally:
        watchdog.stop()


class _Watchdog(threading.Thread):
    """Cancels the statement starting with ``tag`` on ``connection`` once it has waited ``bound`` seconds for locks."""

    def __init__(self, connection: Any, tag: str, bound: float) -> None:
        super().__init__(name="phoenix_kit-watchdog", daemon=True)
        self.connection, self.tag, self.bound = connection, tag, bound
        self._open = driver.opener(connection)
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

    def _connect(self) -> Any:
        try:
            return self._open()
        except Exception as exc:
            if driver.server_error(exc) is None:
                raise
            return None

    def _working(self, side: Any) -> tuple[Any, bool]:
        """(the side connection, still usable or None; whether the statement was seen working, not waiting)."""
        if side is None:
            return None, False
        try:
            with side.cursor() as cursor:
                cursor.execute(_WAITING_QUERY, [self.tag])
                row = cursor.fetchone()
        except Exception as exc:  # e.g. PgBouncer's query_wait_timeout: from now on it cannot see
            if driver.server_error(exc) is None:
                raise
            side.close()
            return None, False
        return side, row is not None and row[0] != "Lock"

    def _cancel(self) -> None:
        with self._guard:
            if self._ended.is_set():
                return
            self.cancelled = True
            driver.cancel(self.connection)


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
        driver.run_batch(self.connection, statements)

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
        return "none" if driver.idle(self.connection) else "open"

    def close(self) -> None:
        pass  # the caller's connection


class OwnDatabase:
    """A :class:`Database` over an autocommit connection of either driver that phoenix_kit opened and owns.

    Only phoenix_kit runs on it, so its transactions are its own: ``BEGIN`` and
    savepoints it names, whatever the driver.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._depth = 0  # open atomic() blocks

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def execute_batch(self, statements: Sequence[str]) -> None:
        driver.run_batch(self.connection, statements)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        savepoint = f"phoenix_kit_{self._depth}" if self._depth else None
        driver.execute(self.connection, f"SAVEPOINT {savepoint}" if savepoint else "BEGIN")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            undo = [f"ROLLBACK TO SAVEPOINT {savepoint}", f"RELEASE SAVEPOINT {savepoint}"] if savepoint else ["ROLLBACK"]
            with suppress(Exception):  # a lost session ends its transaction anyway; the error says why
                for statement in undo:
                    driver.execute(self.connection, statement)
            raise
        self._depth -= 1
        driver.execute(self.connection, f"RELEASE SAVEPOINT {savepoint}" if savepoint else "COMMIT")

    def run_alone(self, sql: str, wait_bound: float) -> None:
        run_waits_bounded(self.connection, sql, wait_bound)

    def transaction_state(self) -> TransactionState:
        return "open" if self._depth else "none"

    def close(self) -> None:
        self.connection.close()


def connect(using: object) -> Database:
    """A :class:`Database` for a Django alias or a psycopg connection (or a :class:`Database`, as it is)."""
    if isinstance(using, Database):
        return using
    psycopg = sys.modules.get("psycopg")  # imported by whoever made a psycopg connection
    if psycopg is not None and isinstance(using, psycopg.Connection):
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
    if type(using).__module__.startswith("psycopg2"):
        raise TypeError(
            "using= takes a psycopg (3) connection, not a psycopg2 one: pass the connection's Django alias instead"
        )
    raise TypeError(f"using must be a Django database alias or a psycopg.Connection, got {using!r}")

