"""The throwaway project (tests/your_migrations/project.py) on a fresh database, run in subprocesses."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from tests.helpers import database_url, schema_exists
from tests.your_migrations import project

# What this test session (or the developer's shell) set that must not reach the project.
_STRIPPED = ("DJANGO_SETTINGS_MODULE", "PYTEST_XDIST_WORKER", "OTHER_URL", "LEGACY_SQLITE", "DEFAULT_SQLITE",
             "PHOENIX_KIT_PREFIX")  # fmt: skip


@dataclass
class Project:
    """The project's directory, its default database (conninfo) and the extra environment its settings read."""

    directory: Path
    conninfo: str
    python: str  # the interpreter it runs in (project_python)
    env: dict[str, str] = field(default_factory=dict)

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python manage.py *args`` in the project; never raises on a non-zero exit."""
        return subprocess.run(
            [self.python, "manage.py", *args], cwd=self.directory, env=self.environment(),
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip

    def environment(self) -> dict[str, str]:
        """What the project's commands run with: ours, less what is this session's, plus its database."""
        environment = {k: v for k, v in os.environ.items() if k not in _STRIPPED}
        environment.update({"DATABASE_URL": database_url(self.conninfo), **self.env})
        return environment

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``manage`` that fails the test with the output unless the command exits 0."""
        result = self.manage(*args)
        if result.returncode != 0:
            pytest.fail(f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def migrations(self, app: str = "accounts") -> list[str]:
        """The migration modules in ``app``'s package, sorted."""
        return sorted(p.stem for p in project.migrations_dir(self.directory, app).glob("0*.py"))

    def sources(self) -> dict[str, str]:
        """Every .py file of the project with its text: to prove a command wrote nothing."""
        return {
            str(p.relative_to(self.directory)): p.read_text()
            for p in self.directory.rglob("*.py")
            if "__pycache__" not in p.parts
        }

    def load(self, name: str, app: str = "accounts") -> Any:
        """The ``Migration`` class of ``app``'s migration ``name``, imported from its file."""
        path = project.migrations_dir(self.directory, app) / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"_your_migration_{uuid.uuid4().hex}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.Migration

    def source(self, name: str, app: str = "accounts") -> str:
        return (project.migrations_dir(self.directory, app) / f"{name}.py").read_text()


class Database:
    """Catalog reads on one PostgreSQL database."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo, autocommit=True)

    def version(self, prefix: str) -> int:
        with self._connect() as conn:
            return pk.migrated_version(prefix, using=conn)

    def schema_exists(self, schema: str) -> bool:
        with self._connect() as conn:
            return schema_exists(conn, schema)

    def phoenix_tables(self, schema: str | None = None) -> list[str]:
        """``schema.table`` of every phoenix_kit table (in ``schema``, or in any schema)."""
        query = (
            "SELECT nspname || '.' || relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE relkind IN ('r', 'p') AND relname LIKE 'phoenix\\_kit%%' AND (%s::text IS NULL OR nspname = %s) "
            "ORDER BY 1"
        )
        with self._connect() as conn:
            return [name for (name,) in conn.execute(query, [schema, schema])]

    def recorded(self, app: str) -> list[str]:
        """``app``'s migrations in django_migrations (none when the table does not exist)."""
        with self._connect() as conn:
            if conn.execute("SELECT to_regclass('public.django_migrations')").fetchone() == (None,):
                return []
            rows = conn.execute("SELECT name FROM django_migrations WHERE app = %s ORDER BY name", [app])
            return [name for (name,) in rows]

    def execute(self, statement: str) -> None:
        with self._connect() as conn:
            conn.execute(statement)


def sqlite_tables(path: Path) -> list[str]:
    """The tables of the SQLite file at ``path`` (none when it does not exist)."""
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return sorted(name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))


def sqlite_recorded(path: Path, app: str | None = None) -> list[str]:
    """``app``'s migrations (every app's, as ``app.name``, when None) in the SQLite file's django_migrations."""
    if "django_migrations" not in sqlite_tables(path):
        return []
    with sqlite3.connect(path) as db:
        if app is None:
            return [name for (name,) in db.execute("SELECT app || '.' || name FROM django_migrations ORDER BY 1")]
        return [name for (name,) in db.execute("SELECT name FROM django_migrations WHERE app = ? ORDER BY name", [app])]


@pytest.fixture
def proj(tmp_path: Path, make_database: Callable[[], str], project_python: str) -> Iterator[Project]:
    """The project on a database of its own."""
    directory = tmp_path / "project"
    directory.mkdir()
    yield Project(project.write(directory), make_database(), project_python)


@pytest.fixture
def default_db(proj: Project) -> Database:
    """The project's default database."""
    return Database(proj.conninfo)
