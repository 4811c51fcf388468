"""What is built for users: the wheel (its metadata, a user's module type-checking against it with
``mypy --strict``) and the sdist (the whole project, whose tests run from it).

Built (``tests/packaging.py``) and installed into a new virtual environment, as
pip would for a user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import database_url
from tests.packaging import build_wheel, copy_of_the_tree, run

USER_MODULE = '''
import psycopg

import phoenix_kit


def install(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    version: int = phoenix_kit.up(prefix="auth", using=conn, log=False)
    return version + phoenix_kit.latest_version()


release: str = phoenix_kit.__version__
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory)


def test_the_wheel_says_what_it_is(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
    assert "phoenix_kit/py.typed" in names
    assert not [name for name in names if name.startswith("tests/")]
    assert "License-Expression: MIT" in metadata and "Classifier: Typing :: Typed" in metadata
    # No driver unless asked for: Django would switch a psycopg2 project to an installed psycopg 3.
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert [line for line in requires if "psycopg" in line and "extra ==" not in line] == []
    assert any(line.startswith("Requires-Dist: psycopg>=3.1; extra ==") for line in requires)
    for release in ("5.2", "6.0", "6.1"):
        assert f"Classifier: Framework :: Django :: {release}" in metadata


def test_a_user_module_type_checks_against_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """``mypy --strict`` sees phoenix_kit's annotations: without py.typed it reports ``import-untyped``."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    # psycopg too, for the user's own annotation; Django is not needed to check this module.
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel), "psycopg"])
    (tmp_path / "user.py").write_text(USER_MODULE)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable", str(python), "user.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_sdist_holds_the_whole_project_and_its_tests_run_from_it(tmp_path: Path, server_conninfo: str) -> None:
    source = copy_of_the_tree(tmp_path)
    run([sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path / "dist"), str(source)])
    (sdist,) = (tmp_path / "dist").glob("django_phoenix_kit-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    for part in ("docs/usage.md", "tests/settings.py", "tests/expected/v16.json", "bench/README.md", "example_project/manage.py"):
        assert (unpacked / part).is_file(), part
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests/test_api.py", "-k", "plan"],
        cwd=unpacked, env={**os.environ, "DATABASE_URL": database_url(server_conninfo)},
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout + result.stderr
