"""Fixtures for the isolation tests: a fresh install to compare with, the seed, the project on its own database."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import phoenix_kit as pk
from tests.helpers import database_url
from tests.isolation import project

# What this session (or the developer's shell) set that must not reach the project.
_STRIPPED = ("DJANGO_SETTINGS_MODULE", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PHOENIX_KIT_PREFIX", project.RESET_ENV)
# Every test database the project's runs can leave: pytest-django's, xdist workers', Django's --parallel clones.
TEST_DB_SUFFIXES = ("", "_gw0", "_gw1", "_1", "_2")


@pytest.fixture(scope="session")
def seed() -> int:
    """One seed per session (``PHOENIX_KIT_ISOLATION_SEED`` to replay one); every message shows it."""
    given = os.environ.get("PHOENIX_KIT_ISOLATION_SEED")
    return int(given) if given else random.SystemRandom().randrange(1_000_000)


@pytest.fixture(scope="session")
def fresh(make_database: Callable[[], str]) -> dict[str, Any]:
    """A fresh install of each prefix, read on a database of its own: what "pristine" means."""
    with psycopg.connect(make_database(), autocommit=True) as conn:
        for prefix, version in project.INSTALLS.items():
            pk.up(version=version, prefix=prefix, using=conn, log=False)
        return {prefix: project.read_state(conn, prefix) for prefix in project.PREFIXES}


@dataclass
class IsolationProject:
    directory: Path
    database_url: str  # what the project's settings read
    test_conninfo: str  # test_<name>: the test database pytest-django and Django make from it
    seed: int
    fresh: dict[str, Any]
    python: str  # the interpreter it runs in (project_python)

    def pytest(self, *args: str, reset: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(["-m", "pytest", "-p", "no:cacheprovider", "-q", *args], reset)

    def manage(self, *args: str, reset: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(["manage.py", *args], reset)

    def _run(self, args: list[str], reset: bool) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in _STRIPPED}
        env["DATABASE_URL"] = self.database_url
        if not reset:
            env[project.RESET_ENV] = "False"
        return subprocess.run(
            [self.python, *args], cwd=self.directory, env=env,
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip

    def dbname(self, suffix: str = "") -> str:
        """``test_<name><suffix>``."""
        return str(conninfo_to_dict(self.test_conninfo)["dbname"]) + suffix

    def conninfo(self, suffix: str = "") -> str:
        return make_conninfo(self.test_conninfo, dbname=self.dbname(suffix))

    def connect(self, suffix: str = "") -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo(suffix), autocommit=True)

    def problems(self, suffix: str = "") -> list[str]:
        """How each install of ``test_<name><suffix>`` differs from a fresh one (empty: pristine)."""
        with self.connect(suffix) as conn:
            return [
                f"{prefix}: {line}"
                for prefix in project.PREFIXES
                for line in project.differences(project.read_state(conn, prefix), self.fresh[prefix])
            ]

    def dirty(self, suffix: str, tag: str) -> None:
        """What an interrupted or earlier run could leave: rows, changed seeds, in both prefixes, committed."""
        with self.connect(suffix) as conn:
            for prefix in project.PREFIXES:
                project.dirty(conn, prefix, tag)


def database_exists(server_conninfo: str, name: str) -> bool:
    with psycopg.connect(server_conninfo, autocommit=True) as admin:
        return admin.execute("SELECT EXISTS (SELECT FROM pg_database WHERE datname = %s)", [name]).fetchone() == (True,)


@pytest.fixture
def iso(
    tmp_path: Path,
    make_database: Callable[[], str],
    server_conninfo: str,
    seed: int,
    fresh: dict[str, Any],
    project_python: str,
) -> Iterator[IsolationProject]:
    """The project on a database of its own; its test databases (every suffix) are dropped afterwards."""
    conninfo = make_database()
    test_db = f"test_{conninfo_to_dict(conninfo)['dbname']}"
    directory = tmp_path / "project"
    project.write(directory, seed, fresh)
    test_conninfo = make_conninfo(conninfo, dbname=test_db)
    yield IsolationProject(directory, database_url(conninfo), test_conninfo, seed, fresh, project_python)
    with psycopg.connect(server_conninfo, autocommit=True) as admin:
        for suffix in TEST_DB_SUFFIXES:
            admin.execute(f'DROP DATABASE IF EXISTS "{test_db}{suffix}" WITH (FORCE)')
