"""pytest plugin for projects that use phoenix_kit (registered through ``pytest11``).

It is inert unless pytest-django is active and Django settings are configured
with ``phoenix_kit`` installed. Then:

- once per test session (per xdist worker), right after pytest-django's
  ``django_db_setup``, every PostgreSQL test database the session uses is
  brought to the latest PhoenixKit version in ``PHOENIX_KIT_PREFIX``. That holds
  under ``--reuse-db`` (a stale reused database is upgraded) and under
  ``--nomigrations`` (the tables are created anyway);
- ``phoenix_kit_prefix(version=None, create_schema=True, using="default")``
  creates a fresh, uniquely named prefix at ``version`` (latest by default) and
  drops it after the test;
- ``phoenix_kit_migrator(version, using="default")`` does the same and returns a
  :class:`PrefixMigrator` whose ``migrate(n)`` moves that prefix up or down, for
  upgrade tests of your own data.

- every install in those databases is pristine at the start (as a fresh
  install of its version leaves it, whatever an earlier ``--reuse-db`` run left),
  and again after each transactional test (``transaction=True``,
  ``transactional_db``, ``live_server``, a ``TransactionTestCase``), once Django
  has flushed its own tables: Django's flush only empties its models' tables.
  ``PHOENIX_KIT_TEST_RESET = False`` turns that off.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from . import migration


def _active(config: pytest.Config) -> bool:
    if not config.pluginmanager.hasplugin("django"):
        return False
    from django.apps import apps
    from django.conf import settings

    return settings.configured and apps.ready and apps.is_installed("phoenix_kit")


def _aliases_in_use(session: pytest.Session) -> set[str]:
    """The database aliases pytest-django sets up for this session's tests."""
    from pytest_django.fixtures import _get_databases_for_setup

    aliases, _ = _get_databases_for_setup(session.items)
    return set(aliases)


_BLOCKER = pytest.StashKey[Any]()


@pytest.fixture(autouse=True, scope="session")
def _phoenix_kit_current_test_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    if not _active(request.config):
        yield
        return
    aliases = _aliases_in_use(request.session)
    if not aliases:
        yield
        return
    from .test_databases import close, prepare_test_databases

    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock():
        prepare_test_databases(aliases)
    request.config.stash[_BLOCKER] = blocker
    yield
    del request.config.stash[_BLOCKER]
    close()  # before pytest-django drops the test databases


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the test's fixtures are torn down (Django's flush among them): reset what a transactional test wrote."""
    yield
    blocker = item.config.stash.get(_BLOCKER, None)
    if blocker is None:
        return
    aliases = _transactional_databases(item)
    if aliases:
        from .test_databases import reset_test_databases

        with blocker.unblock():
            reset_test_databases(aliases)


def _transactional_databases(item: pytest.Item) -> set[str]:
    """The databases ``item`` used, if it committed to them (a transactional test); else none."""
    from django.test import TestCase, TransactionTestCase
    from pytest_django.fixtures import _get_databases_for_test, validate_django_db

    from .testcases import ResetPhoenixKitMixin

    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, TransactionTestCase):
        # A TestCase is rolled back; the mixin resets after Django's own flush.
        transactional = not issubclass(cls, (TestCase, ResetPhoenixKitMixin))
    else:
        marker = item.get_closest_marker("django_db")
        transaction, reset_sequences = validate_django_db(marker)[:2] if marker else (False, False)
        names = getattr(item, "fixturenames", ())
        transactional = transaction or reset_sequences or any(
            name in names for name in ("transactional_db", "live_server", "django_db_reset_sequences")
        )
    if not transactional:
        return set()
    databases, _ = _get_databases_for_test(item)
    return set(databases)


@dataclass
class PrefixMigrator:
    """A throwaway prefix whose version a test moves at will."""

    prefix: str
    using: str
    create_schema: bool

    @property
    def version(self) -> int:
        return migration.migrated_version(self.prefix, using=self.using)

    def migrate(self, version: int) -> int:
        """Move the prefix to exactly ``version`` (0 to latest), up or down; returns it."""
        current = self.version
        if version > current:
            return migration.up(version, prefix=self.prefix, create_schema=self.create_schema, using=self.using, log=False)
        if version < current:
            return migration.down(version + 1, prefix=self.prefix, using=self.using, log=False)
        return current


class _Prefixes:
    """Creates uniquely named prefixes and drops them after the test.

    With ``create_schema=False`` the schema is made first, as an administrator
    would, and phoenix_kit is told not to create it.
    """

    def __init__(self, blocker: Any) -> None:
        self.blocker = blocker
        self.created: list[PrefixMigrator] = []

    def create(self, version: int | None, create_schema: bool, using: str) -> PrefixMigrator:
        migrator = PrefixMigrator(f"pkt_{uuid.uuid4().hex[:12]}", using, create_schema)
        self.created.append(migrator)
        if not create_schema:
            _execute(using, f'CREATE SCHEMA "{migrator.prefix}"')
        migrator.migrate(migration.latest_version() if version is None else version)
        return migrator

    def drop_all(self) -> None:
        # The test's own database access may already be closed at teardown.
        with self.blocker.unblock():
            for migrator in self.created:
                # A throwaway prefix: whatever the test left in it goes too.
                _execute(migrator.using, f'DROP SCHEMA IF EXISTS "{migrator.prefix}" CASCADE')


def _execute(using: str, statement: str) -> None:
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute(statement)


@pytest.fixture
def phoenix_kit_prefix(django_db_blocker: Any) -> Iterator[Callable[..., str]]:
    """Factory: ``phoenix_kit_prefix(version=None, create_schema=True, using="default") -> prefix``."""
    prefixes = _Prefixes(django_db_blocker)

    def make(version: int | None = None, create_schema: bool = True, using: str = "default") -> str:
        return prefixes.create(version, create_schema, using).prefix

    yield make
    prefixes.drop_all()


@pytest.fixture
def phoenix_kit_migrator(django_db_blocker: Any) -> Iterator[Callable[..., PrefixMigrator]]:
    """Factory: ``phoenix_kit_migrator(version, using="default") -> PrefixMigrator``."""
    prefixes = _Prefixes(django_db_blocker)

    def make(version: int, using: str = "default") -> PrefixMigrator:
        return prefixes.create(version, True, using)

    yield make
    prefixes.drop_all()

