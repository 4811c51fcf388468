"""What is built for users: the wheel (its metadata, a user's module type-checking against it with
``mypy --strict``) and the sdist (the whole project, whose tests run from it).

Built from a copy of the source tree (building in place would leave ``build/``
and an ``.egg-info`` in it), installed into a new virtual environment, as pip
would for a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import database_url

ROOT = Path(__file__).resolve().parents[1]

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
    source = copy_of_the_tree(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)])
    (found,) = out.glob("django_phoenix_kit-*.whl")
    return found


def copy_of_the_tree(where: Path) -> Path:
    """The source tree without what a checkout's use leaves in it (caches, builds, the example's data)."""
    ignored = (".git", ".pgdata", "__pycache__", "*.egg-info", "build", "dist", ".venv", ".tox", ".*_cache")
    return Path(shutil.copytree(ROOT, where / "tree", ignore=shutil.ignore_patterns(*ignored)))


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_wheel_says_what_it_is(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
    assert "phoenix_kit/py.typed" in names
    assert not [name for name in names if name.startswith("tests/")]
    assert "License-Expression: MIT" in metadata and "Classifier: Typing :: Typed" in metadata
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
