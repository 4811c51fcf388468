"""A throwaway Django project using phoenix_kit, written to a directory and run with pytest.

It is what a phoenix_kit user would have: settings, a pytest.ini and tests
that rely on the plugin. ``PHOENIX_KIT_PREFIX`` is ``app_auth`` so the
session guarantee is checked on a non-public prefix.
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "app_auth"

SETTINGS = f'''
import environ
DATABASES = {{"default": environ.Env.db_url_config(environ.Env()("DATABASE_URL"))}}
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "phoenix_kit"]
PHOENIX_KIT_PREFIX = "{PREFIX}"
SECRET_KEY = "user project"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
'''

PYTEST_INI = """
[pytest]
DJANGO_SETTINGS_MODULE = user_settings
pythonpath = .
filterwarnings = ignore:XDG_RUNTIME_DIR is not set
"""

TESTS = '''
import pytest
from django.db import connection

import phoenix_kit

PREFIX = "app_auth"


def table_count(prefix):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'phoenix_kit%%'", [prefix]
        )
        return cursor.fetchone()[0]


def role_names():
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT name FROM "{PREFIX}".phoenix_kit_user_roles ORDER BY id')
        return [row[0] for row in cursor.fetchall()]


def test_database_is_current(db):
    assert phoenix_kit.migrated_version() == phoenix_kit.latest_version()
    assert table_count(PREFIX) == 13


@pytest.mark.django_db(transaction=True)
def test_seeded_rows_in_transactional_db_first():
    assert role_names() == ["Owner", "Admin", "User"]


@pytest.mark.django_db(transaction=True)
def test_seeded_rows_in_transactional_db_second():
    assert role_names() == ["Owner", "Admin", "User"]


def test_two_prefixes_at_different_versions(db, phoenix_kit_prefix):
    old, new = phoenix_kit_prefix(version=3), phoenix_kit_prefix()
    assert old != new
    assert phoenix_kit.migrated_version(old) == 3
    assert phoenix_kit.migrated_version(new) == phoenix_kit.latest_version()
    assert table_count(old) == 6 and table_count(new) == 13


@pytest.mark.django_db(transaction=True)
def test_prefix_without_creating_the_schema(phoenix_kit_prefix):
    prefix = phoenix_kit_prefix(version=1, create_schema=False)
    assert phoenix_kit.migrated_version(prefix) == 1


@pytest.mark.django_db(transaction=True)
def test_migrator_moves_users_own_data(phoenix_kit_migrator):
    migrator = phoenix_kit_migrator(7)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{migrator.prefix}".phoenix_kit_users (email, hashed_password, inserted_at, updated_at) '
            "VALUES ('Ada.Lovelace@example.com', 'x', now(), now())"
        )
    assert migrator.migrate(8) == 8
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT username FROM "{migrator.prefix}".phoenix_kit_users')
        assert cursor.fetchall() == [("ada_lovelace",)]
    assert migrator.migrate(2) == 2
    assert migrator.migrate(16) == 16
    assert migrator.version == 16
'''

UNITTEST_TESTS = '''
from django.db import connection
from django.test import TestCase, TransactionTestCase

import phoenix_kit


class Current(TestCase):
    def test_current(self):
        self.assertEqual(phoenix_kit.migrated_version(), phoenix_kit.latest_version())


class Seeded(TransactionTestCase):
    def test_roles(self):
        with connection.cursor() as cursor:
            cursor.execute('SELECT name FROM "app_auth".phoenix_kit_user_roles ORDER BY id')
            self.assertEqual([row[0] for row in cursor.fetchall()], ["Owner", "Admin", "User"])
'''


def write(directory: Path) -> Path:
    (directory / "user_settings.py").write_text(SETTINGS)
    (directory / "pytest.ini").write_text(PYTEST_INI)
    (directory / "conftest.py").write_text("")
    (directory / "test_user.py").write_text(TESTS)
    return directory
