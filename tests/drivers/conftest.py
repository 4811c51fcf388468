"""A virtual environment with phoenix_kit's wheel, Django and psycopg2, and no psycopg 3.

Its interpreter is ``project_python`` here, so the user projects of tests/plugin,
tests/isolation and tests/your_migrations run in it: their Django uses psycopg2,
as a psycopg2 project's does after ``pip install django-phoenix-kit``.
"""

from __future__ import annotations

import sys
import venv
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.isolation.conftest import fresh, iso, seed  # noqa: F401  the projects' fixtures, here on psycopg2
from tests.packaging import build_wheel, run
from tests.plugin.test_plugin import user  # noqa: F401
from tests.your_migrations.conftest import default_db, proj  # noqa: F401


@pytest.fixture(scope="session")
def psycopg2_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    environment = tmp_path_factory.mktemp("psycopg2-venv")
    venv.create(environment, with_pip=False)
    python = str(Path(environment) / "bin" / "python")
    wanted = [
        f"{name}=={version(name)}"
        for name in ("django", "django-environ", "pytest", "pytest-django", "tblib")
    ]
    # The wheel with its own dependencies resolved: they must not bring psycopg 3 along.
    wheel = build_wheel(tmp_path_factory)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            str(wheel),
            "psycopg2-binary",
            *wanted,
        ]
    )
    found = drivers(python)
    assert found == ("psycopg2", False), (
        f"the project environment should run Django on psycopg2 alone: {found}"
    )
    return python


def drivers(python: str) -> tuple[str, bool]:
    """(the driver ``python``'s Django uses, whether psycopg 3 can be imported there)."""
    check = (
        "import importlib.util\n"
        "from django.db.backends.postgresql import base\n"
        "print(base.Database.__name__, importlib.util.find_spec('psycopg') is not None)\n"
    )
    name, psycopg3 = run([python, "-c", check]).stdout.split()
    return name, psycopg3 == "True"


@pytest.fixture(scope="session")
def project_python(psycopg2_python: str) -> str:
    return psycopg2_python
