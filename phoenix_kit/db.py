"""The one interface the core needs from a connection, and its psycopg form.

The core runs on a Django alias (``phoenix_kit.django_db``) or on a bare
psycopg connection; both provide :class:`Database`. ``atomic()`` must open a
transaction, or a savepoint when one is already open, so steps run inside
an outer transaction (Django's ``migrate``) become savepoints of it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Mapping, Protocol, Sequence

import psycopg

Params = Sequence[Any] | Mapping[str, Any] | None


class Database(Protocol):
    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]: ...

    def atomic(self) -> AbstractContextManager[object]: ...

    def in_transaction(self) -> bool:
        """Whether a transaction is open, so ``atomic()`` would make a savepoint."""
        ...

    def close(self) -> None:
        """Release a connection the adapter opened itself (a worker thread's); never the caller's."""


class PsycopgDatabase:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def atomic(self) -> AbstractContextManager[object]:
        return self.connection.transaction()

    def in_transaction(self) -> bool:
        return self.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        pass  # the caller's connection


def connect(using: object) -> Database:
    """A :class:`Database` for a Django alias or a psycopg connection."""
    if isinstance(using, psycopg.Connection):
        return PsycopgDatabase(using)
    if isinstance(using, str):
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
