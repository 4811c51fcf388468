"""Fixtures for the Django integration tests: a fresh database behind a Django alias.

``migrate`` and ``phoenixkit_migrate`` record their work in ``django_migrations``,
one table per database. To keep tests independent (and to use literal
prefixes such as ``auth`` and ``public``) each test that migrates gets an
empty database, registered as a Django alias for the test's duration.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connections
from django.db.utils import load_backend
from psycopg.conninfo import conninfo_to_dict

from tests.catalog import load_expected
from tests.helpers import snapshot

ROOT = Path(__file__).resolve().parents[2]
PHOENIX_TABLES = sorted(load_expected("v16")["tables"])  # the 13 tables of V16


@dataclass
class Fresh:
    """An empty database: its Django alias, its conninfo and a psycopg connection (autocommit)."""

    alias: str
    conninfo: str
    conn: psycopg.Connection[Any]

    def marker(self, prefix: str) -> str | None:
        row = self.conn.execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class')", [f'"{prefix}".phoenix_kit']
        ).fetchone()
        return None if row is None else row[0]

    def tables(self, schema: str) -> list[str]:
        query = "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = %s AND relkind = 'r' ORDER BY 1"
        return [name for (name,) in self.conn.execute(query, [schema])]

    def recorded(self) -> list[str]:
        """phoenix_kit migrations recorded in django_migrations, in order."""
        if self.conn.execute("SELECT to_regclass('public.django_migrations')").fetchone() == (None,):
            return []
        query = "SELECT name FROM django_migrations WHERE app = 'phoenix_kit' ORDER BY name"
        return [name for (name,) in self.conn.execute(query)]

    def state(self) -> dict[str, Any]:
        """Catalog and rows of every user schema, markers and django_migrations included."""
        schemas = [
            name
            for (name,) in self.conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1"
            )
        ]
        return {schema: snapshot(self.conn, schema) for schema in schemas}

    def command(self, *args: str, **options: Any) -> str:
        """Run ``phoenixkit_migrate`` on this database; returns its output."""
        return run("phoenixkit_migrate", *args, database=self.alias, **options)


def run(name: str, *args: str, **options: Any) -> str:
    """``call_command`` returning what the command wrote to stdout."""
    from io import StringIO

    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


# Empties a database: every schema but the system ones dropped, public recreated as
# initdb makes it. Much faster than CREATE/DROP DATABASE, which checkpoint.
_RESET = """
DO $reset$
DECLARE
  s name;
BEGIN
  FOR s IN SELECT nspname FROM pg_catalog.pg_namespace
           WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
END
$reset$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
"""


@pytest.fixture(scope="session")
def _scratch_conninfo(make_database: Callable[[], str]) -> str:
    return make_database()


@contextmanager
def django_alias(conninfo: str, *, options: str | None = None) -> Iterator[str]:
    """Make the database at ``conninfo`` a Django alias for the duration (``options``: the session's, as in OPTIONS).

    The connection is handed to Django directly rather than through
    ``DATABASES``: Django's test isolation allows such dynamically created
    connections, and pytest-django does not try to create a test database for it.
    """
    alias = f"fresh_{uuid.uuid4().hex[:8]}"
    settings_dict = {**copy.deepcopy(connections.settings["default"]), "NAME": conninfo_to_dict(conninfo)["dbname"]}
    if options:
        settings_dict["OPTIONS"] = {**settings_dict.get("OPTIONS", {}), "options": options}
    connection = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    connections[alias] = connection
    try:
        yield alias
    finally:
        connection.close()
        del connections[alias]


@pytest.fixture
def fresh(transactional_db: None, _scratch_conninfo: str) -> Iterator[Fresh]:
    """An empty database, usable as ``database=fresh.alias`` by Django for this test."""
    with django_alias(_scratch_conninfo) as alias, psycopg.connect(_scratch_conninfo, autocommit=True) as conn:
        conn.execute(_RESET)
        yield Fresh(alias, _scratch_conninfo, conn)


def manage(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python example_project/manage.py *args`` in a subprocess."""
    return subprocess.run(
        [sys.executable, str(ROOT / "example_project" / "manage.py"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )
