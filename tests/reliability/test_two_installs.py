"""Two installs in one database never touch each other (issue 5, item 9).

``tests/test_isolation.py`` runs one fixed sequence. Here a seeded generator
interleaves random moves (up or down, to random versions, or all the way) of
``public`` and ``auth`` in one database, adding rows to whichever install it is
about to move. Before each move the *other* install's catalog and rows are
taken, and after the move they must be identical; the moved install must be a
legitimate install at the version its marker says.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql

import phoenix_kit as pk
from tests.helpers import snapshot
from tests.reliability.common import SEED, connect
from tests.reliability.references import LATEST, References, assert_consistent

PREFIXES = ("public", "auth")
# Tenant-style names (issue 11): two that differ only in case, and PostgreSQL's longest.
TENANT_NAMES = ("Tenant-5", "tenant-5", "customer-" + "x" * 54)

# Rows an application may add at each version: (first version with the table, statement).
ROWS = [
    (1, "INSERT INTO {s}.phoenix_kit_users (email, hashed_password, inserted_at, updated_at) "
        "SELECT 'u' || {n} || '_' || i || '@example.com', 'x', now(), now() FROM generate_series(1, 20) AS i"),
    (3, "INSERT INTO {s}.phoenix_kit_settings (key, value) SELECT 'k' || {n} || '_' || i, 'v' FROM generate_series(1, 5) AS i"),
    (7, "INSERT INTO {s}.phoenix_kit_email_logs (message_id, \"to\", \"from\", inserted_at, updated_at) "
        "SELECT 'm' || {n} || '_' || i, 'a@example.com', 'b@example.com', now(), now() FROM generate_series(1, 10) AS i"),
    (9, "INSERT INTO {s}.phoenix_kit_email_blocklist (email, reason) "
        "SELECT 'b' || {n} || '_' || i || '@example.com', 'bounce' FROM generate_series(1, 5) AS i"),
]


def _add_rows(conn: psycopg.Connection[Any], prefix: str, number: int) -> None:
    version = pk.migrated_version(prefix, using=conn)
    schema = sql.Identifier(prefix).as_string(conn)
    for since, statement in ROWS:
        if version >= since:
            conn.execute(statement.format(s=schema, n=number))


def _interleave(
    conninfo: str, references: References, moves: int, seed: int, prefixes: tuple[str, ...] = PREFIXES
) -> None:
    rng = random.Random(seed)
    with connect(conninfo) as conn:
        for number in range(moves):
            prefix = rng.choice(prefixes)
            others = [other for other in prefixes if other != prefix]
            direction = rng.choice(["up", "down"])
            version = rng.choice([None, *range(1, LATEST + 1)])
            _add_rows(conn, prefix, number)
            untouched = [snapshot(conn, other) for other in others]
            if direction == "up":
                pk.up(version=version, prefix=prefix, using=conn, log=False)
            else:
                pk.down(version=version, prefix=prefix, using=conn, log=False)
            after = [snapshot(conn, other) for other in others]
            assert after == untouched, f"move {number}: {direction} {version} of {prefix} changed one of {others}"
            assert_consistent(conn, prefix, references, ours=prefix != "public")


def test_random_interleavings(make_database: Callable[[], str], references: References) -> None:
    _interleave(make_database(), references, moves=40, seed=SEED)


def test_tenant_names_that_differ_only_in_case(make_database: Callable[[], str], references: References) -> None:
    _interleave(make_database(), references, moves=30, seed=SEED + 2, prefixes=TENANT_NAMES)


@pytest.mark.slow
def test_random_interleavings_long(make_database: Callable[[], str], references: References) -> None:
    _interleave(make_database(), references, moves=200, seed=SEED + 1)
