"""Fixtures shared by the whole suite: real databases and isolated prefixes.

Tests that move a schema up and down commit real transactions, so they do not
use pytest-django's per-test transaction. They work on their own databases
(created here, dropped when the session ends) and their own prefixes.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.conf import settings
from psycopg.conninfo import make_conninfo

_prefix_numbers = itertools.count(1)


def _connect(conninfo: str) -> psycopg.Connection:
    return psycopg.connect(conninfo, autocommit=True)


@pytest.fixture(scope="session")
def server_conninfo() -> str:
    """The maintenance database of the server the suite runs on."""
    return settings.DATABASE_URL


@pytest.fixture(scope="session")
def make_database(server_conninfo: str) -> Iterator[Callable[[], str]]:
    """Factory: a new empty database; returns its conninfo. Dropped at session end."""
    created: list[str] = []

    def make() -> str:
        name = f"phoenix_kit_t_{uuid.uuid4().hex[:10]}"
        with _connect(server_conninfo) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return make_conninfo(server_conninfo, dbname=name)

    yield make
    with _connect(server_conninfo) as admin:
        for name in created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def shared_conninfo(make_database: Callable[[], str]) -> str:
    """One database shared by the tests that isolate themselves by prefix."""
    return make_database()


@pytest.fixture
def conn(shared_conninfo: str) -> Iterator[psycopg.Connection]:
    with _connect(shared_conninfo) as connection:
        yield connection


@pytest.fixture
def fresh_conn(make_database: Callable[[], str]) -> Iterator[psycopg.Connection]:
    """A connection to a database of its own, for tests that use ``public``."""
    with _connect(make_database()) as connection:
        yield connection


@pytest.fixture
def prefix(conn: psycopg.Connection) -> Iterator[str]:
    """A prefix no other test uses; its schema is removed afterwards."""
    name = f"t{next(_prefix_numbers)}_{uuid.uuid4().hex[:6]}"
    yield name
    conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
