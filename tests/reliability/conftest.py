"""Fixtures of the reliability suite (the ``slow`` marker is in tests/conftest.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from tests.reliability.common import connect
from tests.reliability.references import References

# Hypothesis keeps caches in .hypothesis/ of the working directory: not in the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "phoenix_kit_hypothesis")


@pytest.fixture(scope="session")
def references(shared_conninfo: str) -> References:
    """Catalog and rows of fresh installs at every version, going up and coming down."""
    with connect(shared_conninfo) as conn:
        return References.build(conn)
