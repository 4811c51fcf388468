"""Fixtures of the PgBouncer tests: one PgBouncer per pooling mode for the session (see ``bouncer.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.pgbouncer.bouncer import Bouncer, Mode, running
from tests.reliability.common import connect
from tests.reliability.references import References


@pytest.fixture(scope="session")
def _bouncers() -> Iterator[dict[Mode, Bouncer]]:
    with running("transaction", settings.DATABASE_URL) as transaction, running("session", settings.DATABASE_URL) as session:
        yield {"transaction": transaction, "session": session}


@pytest.fixture(scope="session")
def transaction_bouncer(_bouncers: dict[Mode, Bouncer]) -> Bouncer:
    return _bouncers["transaction"]


@pytest.fixture(scope="session")
def session_bouncer(_bouncers: dict[Mode, Bouncer]) -> Bouncer:
    return _bouncers["session"]


@pytest.fixture(scope="session", params=["transaction", "session"])
def bouncer(request: pytest.FixtureRequest, _bouncers: dict[Mode, Bouncer]) -> Bouncer:
    """Each PgBouncer in turn."""
    return _bouncers[request.param]


@pytest.fixture(scope="session")
def references(shared_conninfo: str) -> References:
    """Fresh installs at every version, to compare what the migrators left with."""
    with connect(shared_conninfo) as conn:
        return References.build(conn)
