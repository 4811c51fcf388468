"""Fixtures shared by the whole suite: real databases and isolated prefixes.

The longest trials are marked ``slow``: they run when the ``CI`` environment
variable is set (as in CI), with ``PHOENIX_KIT_SLOW=1`` or with ``--slow``, so a
plain local run stays fast.

Tests that move a schema up and down commit real transactions, so they do not
use pytest-django's per-test transaction. They work on their own databases
(created here, dropped when the session ends) and their own prefixes.
"""

from __future__ import annotations

import itertools
import os
import sys
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.conf import settings
from psycopg.conninfo import make_conninfo

_prefix_numbers = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="Run the long reliability trials too.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long trials (run in CI, with --slow or PHOENIX_KIT_SLOW=1)")
    config.addinivalue_line(
        "markers", "pgbouncer: runs through a real PgBouncer (skipped without the binary, failed in CI: see tests/pgbouncer)"
    )


def slow_enabled(config: pytest.Config) -> bool:
    return bool(os.environ.get("CI") or os.environ.get("PHOENIX_KIT_SLOW") or config.getoption("--slow", default=False))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if slow_enabled(config):
        return
    skip = pytest.mark.skip(reason="long trial: set CI=1 or PHOENIX_KIT_SLOW=1, or pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _connect(conninfo: str) -> psycopg.Connection:
    return psycopg.connect(conninfo, autocommit=True)


@pytest.fixture(scope="session")
def project_python() -> str:
    """The interpreter the user projects (tests/plugin, tests/isolation, tests/your_migrations) run in.

    This one, with psycopg 3; tests/drivers overrides it with one that has psycopg2 only.
    """
    return sys.executable


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
