"""Fixtures and options of the reliability suite.

The longest trials are marked ``slow``: they run when the ``CI`` environment
variable is set, with ``PHOENIX_KIT_SLOW=1``, or with ``--slow`` when this
directory is given on the command line. Every test also has a short default
form, so a plain local run stays fast.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from tests.reliability.common import connect
from tests.reliability.references import References

# Hypothesis keeps caches in .hypothesis/ of the working directory: not in the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "phoenix_kit_hypothesis")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="Run the long reliability trials too.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long reliability trials (run in CI, with --slow or PHOENIX_KIT_SLOW=1)")


def slow_enabled(config: pytest.Config) -> bool:
    return bool(os.environ.get("CI") or os.environ.get("PHOENIX_KIT_SLOW") or config.getoption("--slow", default=False))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if slow_enabled(config):
        return
    skip = pytest.mark.skip(reason="long trial: set CI=1 or PHOENIX_KIT_SLOW=1, or pass --slow")
    for item in items:
        if "slow" in item.keywords and "tests/reliability" in str(item.path).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def references(shared_conninfo: str) -> References:
    """Catalog and rows of fresh installs at every version, going up and coming down."""
    with connect(shared_conninfo) as conn:
        return References.build(conn)
