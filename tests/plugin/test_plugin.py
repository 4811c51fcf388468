"""The pytest plugin, used exactly as a phoenix_kit user would use it (pytest in a subprocess)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import phoenix_kit as pk
from tests.helpers import database_url
from tests.plugin import user_project


@dataclass
class UserProject:
    directory: Path
    database_url: str  # what the user's settings read
    test_conninfo: str  # the test database pytest-django makes from it
    python: str  # the interpreter it runs in (project_python)

    def pytest(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run("-m", "pytest", "-p", "no:cacheprovider", "-q", *args)

    def django_test(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run("-m", "django", "test", "--settings", "user_settings", "--pythonpath", ".", *args)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, *args],
            cwd=self.directory,
            env={**_outside_env(), "DATABASE_URL": self.database_url},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )


@pytest.fixture
def user(
    tmp_path: Path, make_database: Callable[[], str], server_conninfo: str, project_python: str
) -> Iterator[UserProject]:
    conninfo = make_database()
    test_db = "test_" + conninfo_to_dict(conninfo)["dbname"]
    test_conninfo = make_conninfo(conninfo, dbname=test_db)
    yield UserProject(user_project.write(tmp_path), database_url(conninfo), test_conninfo, project_python)
    with psycopg.connect(server_conninfo, autocommit=True) as admin:
        for name in (test_db, f"{test_db}_gw0", f"{test_db}_gw1"):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _outside_env() -> dict[str, str]:
    """Our environment without what this test session set for itself."""
    return {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTEST_XDIST_WORKER")}


def _passed(result: subprocess.CompletedProcess[str], count: int) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{count} passed" in result.stdout, result.stdout


def test_plain_run(user: UserProject) -> None:
    _passed(user.pytest(), 6)


def test_nomigrations_still_has_the_tables(user: UserProject) -> None:
    _passed(user.pytest("--nomigrations"), 6)


def test_reuse_db_brings_a_rewound_database_current(user: UserProject) -> None:
    _passed(user.pytest("--reuse-db"), 6)
    with psycopg.connect(user.test_conninfo, autocommit=True) as conn:
        pk.down(version=6, prefix=user_project.PREFIX, using=conn, log=False)
        assert pk.migrated_version(user_project.PREFIX, using=conn) == 5
    _passed(user.pytest("--reuse-db"), 6)


def test_parallel_workers(user: UserProject) -> None:
    _passed(user.pytest("-n", "2"), 6)


def test_without_the_plugin_nomigrations_has_no_tables(user: UserProject) -> None:
    """The control for the tests above: the guarantee really comes from the plugin."""
    result = user.pytest("--nomigrations", "-p", "no:phoenix_kit", "-k", "database_is_current or transactional")
    assert result.returncode == 1
    assert "3 failed" in result.stdout, result.stdout


def test_django_test_runner_brings_a_kept_database_current(user: UserProject) -> None:
    """manage.py test --keepdb with PhoenixKitDiscoverRunner, on a database rewound to V05."""
    (user.directory / "user_settings.py").write_text(
        (user.directory / "user_settings.py").read_text()
        + 'TEST_RUNNER = "phoenix_kit.test_runner.PhoenixKitDiscoverRunner"\n'
    )
    (user.directory / "test_unittest.py").write_text(user_project.UNITTEST_TESTS)
    assert user.django_test("--keepdb").returncode == 0
    with psycopg.connect(user.test_conninfo, autocommit=True) as conn:
        pk.down(version=6, prefix=user_project.PREFIX, using=conn, log=False)
    result = user.django_test("--keepdb")
    assert result.returncode == 0, result.stderr
    assert "Ran 2 tests" in result.stderr
