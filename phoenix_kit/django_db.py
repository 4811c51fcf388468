"""The Django side of :mod:`phoenix_kit.db`: a database alias as a core ``Database``.

Queries go through Django's cursors and transactions go through
``transaction.atomic`` so they nest correctly inside Django's own (a
migration's transaction, a test case's) and show up in query captures.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Sequence

from django.db import connections, transaction
from django.utils.connection import ConnectionDoesNotExist

from . import driver
from .db import Params, TransactionState, run_waits_bounded


class DjangoDatabase:
    def __init__(self, alias: str) -> None:
        try:
            self.connection = connections[alias]
        except ConnectionDoesNotExist:
            known = ", ".join(map(repr, connections))
            raise ValueError(f"Unknown database alias {alias!r}: use one of settings.DATABASES ({known}).") from None
        self.alias = alias
        if self.connection.vendor != "postgresql":
            raise ValueError(f"Database {alias!r} is {self.connection.vendor}; phoenix_kit needs PostgreSQL.")

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def execute_batch(self, statements: Sequence[str]) -> None:
        # On the driver's connection: Django's cursor has no pipeline mode.
        # Same session, so Django's transaction and savepoints still apply.
        self.connection.ensure_connection()
        driver.run_batch(self.connection.connection, statements)

    def atomic(self) -> AbstractContextManager[object]:
        return transaction.atomic(using=self.alias)

    def run_alone(self, sql: str, wait_bound: float) -> None:
        self.connection.ensure_connection()  # outside atomic(), so Django's connection is in autocommit
        run_waits_bounded(self.connection.connection, sql, wait_bound)

    def transaction_state(self) -> TransactionState:
        return "none" if not self.connection.in_atomic_block and self.connection.get_autocommit() else "open"

    def server_transaction_started(self) -> bool:
        """False inside an ``atomic()`` block that has sent nothing yet (Django begins lazily)."""
        self.connection.ensure_connection()
        return not driver.idle(self.connection.connection)

    def close(self) -> None:
        # Django connections are per thread: this closes only the calling thread's.
        self.connection.close()
