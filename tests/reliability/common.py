"""Small shared helpers of the reliability tests."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

# Seed of every random choice in this directory; override to explore other runs.
SEED = int(os.environ.get("PHOENIX_KIT_RELIABILITY_SEED", "20240605"))


def unique_name(stem: str) -> str:
    """A fresh identifier (a valid prefix as long as ``stem`` is at most 9 bytes)."""
    return f"{stem}_{uuid.uuid4().hex[:10]}"


def connect(conninfo: str, **options: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo, autocommit=True, **options)


def drop_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def marker(conn: psycopg.Connection[Any], schema: str) -> str | None:
    """The raw marker comment (None: no comment or no version table)."""
    row = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", [f'"{schema}".phoenix_kit']).fetchone()
    return None if row is None else row[0]


def set_marker(conn: psycopg.Connection[Any], schema: str, value: str | None) -> None:
    target = sql.Identifier(schema, "phoenix_kit")
    conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(value)))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll a server-side condition (a backend waiting on a lock, a session gone).

    Used only where no barrier exists: the condition is the synchronisation, the
    short sleep between checks is not.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting until {what}")
        time.sleep(0.005)


def waiting_on_lock(observer: psycopg.Connection[Any], pid: int) -> bool:
    """Whether backend ``pid`` is blocked on a heavyweight lock (table or advisory)."""
    row = observer.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row is not None and row[0] == "Lock"


def django_conninfo(alias: str = "default") -> str:
    """A psycopg conninfo for the database behind a Django alias (the test database under pytest-django)."""
    from django.db import connections

    params = connections[alias].get_connection_params()
    keys = ("dbname", "user", "password", "host", "port", "sslmode")
    return make_conninfo("", **{key: str(params[key]) for key in keys if params.get(key) not in (None, "")})
