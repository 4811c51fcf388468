"""What the core needs of a driver connection, for psycopg 3 and psycopg2 alike.

phoenix_kit runs on whichever driver the project's Django uses, and imports
neither: a driver is known by the module of the connection or error in hand
(already imported by whoever made it). Errors are read by SQLSTATE
(``sqlstate`` in psycopg 3, ``pgcode`` in psycopg2), never by class.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

_DRIVERS = ("psycopg", "psycopg2")


def _driver_of(thing: object) -> ModuleType | None:
    """The driver module (psycopg or psycopg2) ``thing``'s class comes from, if either."""
    name = type(thing).__module__.partition(".")[0]
    return sys.modules.get(name) if name in _DRIVERS else None


@dataclass(frozen=True)
class ServerError:
    """A driver's error as the core reads it."""

    sqlstate: (
        str | None
    )  # None: no server answered (the link broke, or the driver refused)
    message: str  # the server's primary message, else the driver's
    text: str  # all the driver says (the message, and any detail or hint)
    constraint: str | None
    link_broken: bool  # no SQLSTATE and the driver says the connection failed

    @property
    def session_ended(self) -> bool:
        """The session is gone: the server ended it (admin shutdown, idle timeout) or the link broke."""
        state = self.sqlstate or ""
        # connection_exception, operator_intervention (shutdown, terminate),
        # idle_in_transaction_session_timeout, transaction_timeout.
        return (
            state[:2] == "08"
            or state[:3] == "57P"
            or state in ("25P03", "25P04")
            or self.link_broken
        )


def server_error(exc: BaseException) -> ServerError | None:
    """``exc`` as a :class:`ServerError` if it is a psycopg or psycopg2 error."""
    driver = _driver_of(exc)
    if driver is None or not isinstance(exc, driver.Error):
        return None
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    diag = getattr(exc, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(exc)).strip()
    broken = not sqlstate and isinstance(
        exc, (driver.OperationalError, driver.InterfaceError)
    )
    text = (
        str(exc).strip().removeprefix("ERROR:").strip()
    )  # psycopg2 keeps libpq's severity prefix
    return ServerError(
        sqlstate, message, text, getattr(diag, "constraint_name", None), broken
    )


def database_error(exc: BaseException) -> ServerError | None:
    """The driver error behind ``exc`` (Django wraps them in its own), if any."""
    seen: BaseException | None = exc
    while seen is not None:
        found = server_error(seen)
        if found is not None:
            return found
        seen = seen.__cause__
    return None


class StatementFailed(Exception):
    """Statement ``index`` of a batch failed; the ones after it did not run."""

    def __init__(self, index: int, exception: Exception, error: ServerError) -> None:
        super().__init__(str(exception))
        self.index, self.exception, self.error = index, exception, error


def _failed(index: int, exc: Exception) -> StatementFailed:
    """``exc`` as the failure of statement ``index``; re-raised as it is when it is not the driver's."""
    error = server_error(exc)
    if error is None:
        raise exc
    return StatementFailed(index, exc, error)


def execute(connection: Any, sql: str) -> None:
    """One statement without parameters, never prepared on the server.

    Never prepared: behind a transaction-pooling PgBouncer the next execution may
    reach a server session that lacks the statement.
    """
    with connection.cursor() as cursor:
        if _is_psycopg3(connection):
            cursor.execute(sql, prepare=False)
        else:
            cursor.execute(sql)


def run_batch(connection: Any, statements: Sequence[str]) -> None:
    """``statements`` in order, each one's failure named by its index (:class:`StatementFailed`).

    psycopg 3 with a libpq of 14 or later sends them in one round trip (pipeline
    mode); otherwise each is a round trip of its own.
    """
    if _is_psycopg3(connection) and _pipelines():
        _run_pipelined(connection, statements)
        return
    for index, statement in enumerate(statements):
        try:
            execute(connection, statement)
        except Exception as exc:
            raise _failed(index, exc) from exc


def _run_pipelined(connection: Any, statements: Sequence[str]) -> None:
    cursors = [connection.cursor() for _ in statements]
    try:
        with connection.pipeline():
            for cursor, statement in zip(cursors, statements):
                cursor.execute(statement, prepare=False)
    except Exception as exc:
        # Statements before the failing one have a result; it and those after have none.
        index = next(
            (i for i, cursor in enumerate(cursors) if cursor.pgresult is None),
            len(statements) - 1,
        )
        raise _failed(index, exc) from exc
    finally:
        for cursor in cursors:
            cursor.close()


def _pipelines() -> bool:
    psycopg = sys.modules["psycopg"]
    return bool(psycopg.Pipeline.is_supported())


def _is_psycopg3(connection: Any) -> bool:
    driver = _driver_of(connection)
    return driver is not None and driver.__name__ == "psycopg"


def idle(connection: Any) -> bool:
    """No transaction is open on the server (libpq's PQTRANS_IDLE is 0 in both drivers)."""
    return int(connection.info.transaction_status) == 0


def opener(connection: Any) -> Callable[[], Any]:
    """Opens new autocommit connections of ``connection``'s driver, to its server as its user.

    What it needs is read now, so that the opener may run on another thread
    while ``connection`` is busy (a libpq connection is not for two threads at once).
    """
    driver = _driver_of(connection)
    assert driver is not None, f"not a psycopg or psycopg2 connection: {connection!r}"
    info = connection.info
    if driver.__name__ == "psycopg":
        dsn, password = info.dsn, info.password
        return lambda: driver.connect(dsn, password=password, autocommit=True)
    parameters = {**info.dsn_parameters, "password": info.password}

    def open_psycopg2() -> Any:
        side = driver.connect(**parameters)
        side.autocommit = True
        return side

    return open_psycopg2


def cancel(connection: Any) -> None:
    """Ask the server to cancel what ``connection`` runs (safe from another thread in both drivers)."""
    getattr(connection, "cancel_safe", connection.cancel)()


def closed(connection: Any) -> bool:
    return bool(connection.closed)  # psycopg2: an int, psycopg 3: a bool
