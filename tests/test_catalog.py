"""The schema each version produces, checked against the spec's catalog listings."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from tests.catalog import introspect, inventory, load_expected
from tests.catalog_compare import diff
from tests.helpers import expected_seeds, seeds, snapshot

LATEST = pk.latest_version()
INVENTORY = load_expected("inventory")


@pytest.fixture(params=["public", "prefixed"])
def target(request: pytest.FixtureRequest) -> tuple[psycopg.Connection[Any], str]:
    """A connection and a prefix with nothing installed: ``public`` of a new database, or a new prefix."""
    if request.param == "public":
        return request.getfixturevalue("fresh_conn"), "public"
    return request.getfixturevalue("conn"), request.getfixturevalue("prefix")


@pytest.mark.parametrize("version", [1, 8, 16])
def test_catalog_matches_spec_listing(target: tuple[psycopg.Connection[Any], str], version: int) -> None:
    conn, prefix = target
    pk.up(version=version, prefix=prefix, using=conn, log=False)

    assert diff(load_expected(f"v{version:02d}"), introspect(conn, prefix)) == []
    assert seeds(conn, prefix, version) == expected_seeds(version)


def test_every_version_matches_spec_inventory_and_round_trips(target: tuple[psycopg.Connection[Any], str]) -> None:
    """Up to N, down to N-1 equals up to N-1, up again restores N; for every N."""
    conn, prefix = target
    before: dict[str, Any] = snapshot(conn, prefix) if prefix == "public" else {}
    after_up: dict[int, dict[str, Any]] = {}
    for n in range(1, LATEST + 1):
        assert pk.up(version=n, prefix=prefix, using=conn, log=False) == n
        after_up[n] = snapshot(conn, prefix)
        assert inventory(after_up[n]["catalog"]) == INVENTORY[f"V{n:02d}"], f"V{n:02d}"
        assert seeds(conn, prefix, n) == expected_seeds(n), f"V{n:02d}"

        assert pk.down(version=n, prefix=prefix, using=conn, log=False) == n - 1
        if n == 1:
            assert pk.migrated_version(prefix, using=conn) == 0
        else:
            assert _logical(snapshot(conn, prefix), n - 1) == _logical(after_up[n - 1], n - 1), f"down V{n:02d}"

        assert pk.up(version=n, prefix=prefix, using=conn, log=False) == n
        assert _logical(snapshot(conn, prefix), n) == _logical(after_up[n], n), f"up V{n:02d} again"
    if before:
        pk.down(prefix=prefix, using=conn, log=False)
        assert snapshot(conn, prefix) == before


def test_multi_step_runs_equal_single_steps(conn: psycopg.Connection[Any], prefix: str) -> None:
    stepwise, at_once = f"{prefix}_s", f"{prefix}_m"
    try:
        for n in range(1, LATEST + 1):
            pk.up(version=n, prefix=stepwise, using=conn, log=False)
        pk.up(prefix=at_once, using=conn, log=False)
        assert snapshot(conn, stepwise) == snapshot(conn, at_once)

        for n in range(LATEST, 2, -1):
            pk.down(version=n, prefix=stepwise, using=conn, log=False)
        pk.down(version=3, prefix=at_once, using=conn, log=False)
        assert snapshot(conn, stepwise) == snapshot(conn, at_once)
    finally:
        for name in (stepwise, at_once):
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _logical(snap: dict[str, Any], version: int) -> dict[str, Any]:
    """The snapshot without physical column numbers, which a dropped and re-added column changes.

    At V01 also without column order: V02's down re-adds ``is_active`` as the
    last column (spec, V02).
    """
    copy = deepcopy(snap)
    for name, table in copy["catalog"]["tables"].items():
        columns = [[column[0], *column[2:]] for column in table["columns"]]
        if version == 1 and name == "phoenix_kit_user_role_assignments":
            columns = sorted(column[1:] for column in columns)
        table["columns"] = columns
    return copy
