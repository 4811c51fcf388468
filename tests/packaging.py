"""Building what users install, and installing it: for tests/test_packaging.py and tests/drivers.

Built from a copy of the source tree: building in place would leave ``build/``
and an ``.egg-info`` in it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this tree, as ``pip wheel`` builds it for a user."""
    source = copy_of_the_tree(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(out),
            str(source),
        ]
    )
    (found,) = out.glob("django_phoenix_kit-*.whl")
    return found


def copy_of_the_tree(where: Path) -> Path:
    """The source tree without what a checkout's use leaves in it (caches, builds, the example's data)."""
    ignored = (
        ".git",
        ".pgdata",
        "__pycache__",
        "*.egg-info",
        "build",
        "dist",
        ".venv",
        ".tox",
        ".*_cache",
    )
    return Path(
        shutil.copytree(ROOT, where / "tree", ignore=shutil.ignore_patterns(*ignored))
    )


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``argv``, failing the test with its output unless it exits 0."""
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=600, **kwargs
    )  # type: ignore[call-overload]
    assert result.returncode == 0, (
        f"{' '.join(argv)}:\n{result.stdout}\n{result.stderr}"
    )
    return result
