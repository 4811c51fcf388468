"""Tenant test projects (django-tenants, django-pgschemas), each run in its own processes.

A project's settings differ from the suite's (other INSTALLED_APPS, another
database backend), so every step runs as a subprocess on a database of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.helpers import database_url

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Project:
    """One tenant project on one database: run its commands, read its catalog."""

    settings: str
    conninfo: str

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            **os.environ, "DJANGO_SETTINGS_MODULE": self.settings, "DATABASE_URL": database_url(self.conninfo),
            "PYTHONPATH": str(ROOT), **overrides,
        }

    def run(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        """``python -m django *args``; fails the test with the output unless it exits 0 (``check``)."""
        result = subprocess.run(
            [sys.executable, "-m", "django", *args], cwd=ROOT, env=self.env(**env),
            capture_output=True, text=True, check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def tool(self, *args: str, **env: str) -> Any:
        result = subprocess.run(
            [sys.executable, "-m", "tests.tenants.tool", *args], cwd=ROOT, env=self.env(**env),
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"tool {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, *statements: str) -> None:
        """Run ``statements`` in order on one session (so SET ROLE holds for those after it)."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def marker(self, schema: str) -> str | None:
        """The phoenix_kit marker of ``schema`` (None: no install)."""
        rows = self.query("SELECT obj_description(to_regclass(%s), 'pg_class')", [f'"{schema}".phoenix_kit'])
        return rows[0][0]

    def recorded(self, schema: str) -> list[str]:
        """The phoenix_kit migrations ``schema``'s own django_migrations records."""
        return [name for (name,) in self.query(
            f'SELECT name FROM "{schema}".django_migrations WHERE app = %s ORDER BY name', ["phoenix_kit"]
        )]


@pytest.fixture
def make_project(make_database: Callable[[], str]) -> Callable[[str], Project]:
    def make(settings: str) -> Project:
        return Project(settings, make_database())

    return make
