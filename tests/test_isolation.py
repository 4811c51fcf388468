"""Two installs in one database never touch each other."""

from __future__ import annotations

from typing import Any

import psycopg

import phoenix_kit as pk
from tests.helpers import snapshot


def test_public_and_auth_installs_are_independent(fresh_conn: psycopg.Connection[Any]) -> None:
    conn = fresh_conn
    moves = [("public", "up", None), ("auth", "up", 8), ("public", "down", 5), ("auth", "up", None),
             ("public", "down", None), ("auth", "down", 2), ("public", "up", 12), ("auth", "down", None),
             ("public", "up", None)]
    for prefix, direction, version in moves:
        other = "auth" if prefix == "public" else "public"
        untouched = snapshot(conn, other)
        if direction == "up":
            pk.up(version=version, prefix=prefix, using=conn, log=False)
        else:
            pk.down(version=version, prefix=prefix, using=conn, log=False)
        assert snapshot(conn, other) == untouched, (prefix, direction, version)
    assert pk.migrated_version("public", using=conn) == pk.latest_version()
    assert pk.migrated_version("auth", using=conn) == 0


def test_prefixed_install_does_not_depend_on_search_path(conn: psycopg.Connection[Any], prefix: str) -> None:
    conn.execute("SET search_path = pg_catalog")
    assert pk.up(prefix=prefix, using=conn, log=False) == pk.latest_version()
    assert pk.down(prefix=prefix, using=conn, log=False) == 0
