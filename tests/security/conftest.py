"""Fixtures of the security tests: databases of their own, with an attacker in them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.security.common import PLACES, Planted, planted_database


@pytest.fixture(params=PLACES)
def planted(request: pytest.FixtureRequest, make_database: Callable[[], str]) -> Iterator[Planted]:
    """A database of its own where an attacker has planted shadowing objects at one of ``PLACES``."""
    with planted_database(make_database(), request.param) as database:
        yield database
