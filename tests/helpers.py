"""Small helpers shared by the core tests."""

from __future__ import annotations

import subprocess
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from phoenix_kit import embedded
from tests.catalog import introspect, load_expected

# The manage.py of the throwaway projects the tests write (their settings module: project_settings).
MANAGE_PY = """
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project_settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

# Columns filled with now(): they differ between two otherwise equal installs.
_CLOCK_COLUMNS = ["inserted_at", "updated_at", "date_added", "date_updated", "migrated_at"]


def rows(conn: psycopg.Connection[Any], schema: str, table: str) -> list[dict[str, Any]]:
    """Every row of a table as JSON objects, ordered by id, without clock columns."""
    query = sql.SQL("SELECT to_jsonb(t) - %s::text[] FROM {} AS t ORDER BY id").format(sql.Identifier(schema, table))
    return [row[0] for row in conn.execute(query, [_CLOCK_COLUMNS]).fetchall()]


def snapshot(conn: psycopg.Connection[Any], schema: str) -> dict[str, Any]:
    """Catalog and data of a prefix: what must be equal between two equivalent installs."""
    catalog = introspect(conn, schema)
    return {"catalog": catalog, "rows": {table: rows(conn, schema, table) for table in catalog["tables"]}}


def expected_seeds(version: int) -> dict[str, list[list[Any]]]:
    if version == 0:
        return {}
    return {table: spec["rows"] for table, spec in load_expected("seeds")[f"V{version:02d}"].items()}


def seeds(conn: psycopg.Connection[Any], schema: str, version: int) -> dict[str, list[list[Any]]]:
    """The seeded tables' rows in the columns the spec lists for ``version``."""
    if version == 0:
        return {}
    result = {}
    for table, spec in load_expected("seeds")[f"V{version:02d}"].items():
        query = sql.SQL("SELECT {} FROM {} ORDER BY id").format(
            sql.SQL(", ").join(map(sql.Identifier, spec["columns"])), sql.Identifier(schema, table)
        )
        result[table] = [list(row) for row in conn.execute(query).fetchall()]
    return result


def schema_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    return bool(conn.execute("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)", [schema]).fetchone()[0])


def psql(conninfo: str, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``psql -v ON_ERROR_STOP=1``, as a user of the SQL export would."""
    return subprocess.run(
        [str(embedded.psql_path()), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )


def database_url(conninfo: str) -> str:
    """A postgres:// URL for a conninfo, as django-environ reads it (Unix socket hosts go in ?host=)."""
    params = conninfo_to_dict(conninfo)
    user = quote(str(params.get("user", "postgres")), safe="")
    password = f":{quote(str(params['password']), safe='')}" if params.get("password") else ""
    host, port, name = str(params.get("host", "")), params.get("port"), params["dbname"]
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{name}?host={quote(host)}" + (f"&port={port}" if port else "")
    return f"postgresql://{user}{password}@{host}{f':{port}' if port else ''}/{name}"
