"""Migrating as a role with the least privileges (issue 5, item 7).

The role is neither superuser nor owner of the database, has no CREATE on the
database (so it can neither create schemas nor install extensions) and, as on
every PostgreSQL from 15, no CREATE on ``public``. An administrator created the
schema ``auth`` and installed citext. Each test has a database of its own, and
its roles are dropped at the end (roles belong to the whole server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

import phoenix_kit as pk
from tests.helpers import schema_exists, snapshot
from tests.reliability.common import connect, unique_name
from tests.reliability.references import LATEST, References, assert_consistent


@pytest.fixture
def database(make_database: Callable[[], str]) -> Iterator[tuple[str, psycopg.Connection[Any]]]:
    """A database with schema ``auth``, created by the administrator, and the administrator's connection."""
    conninfo = make_database()
    with connect(conninfo) as admin:
        admin.execute("CREATE SCHEMA auth")
        yield conninfo, admin


@contextmanager
def role(conninfo: str, admin: psycopg.Connection[Any], *grants: str) -> Iterator[psycopg.Connection[Any]]:
    """A new login role with only ``grants`` ({role} is its name); yields a connection as that role."""
    name = unique_name("pk_role")
    ident = sql.Identifier(name)
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(ident))
    try:
        for grant in grants:
            admin.execute(sql.SQL(grant).format(role=ident))
        with connect(make_conninfo(conninfo, user=name)) as conn:
            facts = conn.execute(
                "SELECT rolsuper, pg_has_role(current_user, d.datdba, 'MEMBER'),"
                "       has_database_privilege(current_database(), 'CREATE'),"
                "       has_schema_privilege('public', 'CREATE')"
                "  FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()"
            ).fetchone()
            assert facts == (False, False, False, False), "the role must not be privileged"
            yield conn
    finally:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(ident))
        admin.execute(sql.SQL("DROP ROLE {}").format(ident))


def _tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    return [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema])]


def test_create_and_usage_on_one_schema_are_enough(database: tuple[str, psycopg.Connection[Any]], references: References) -> None:
    conninfo, admin = database
    admin.execute("CREATE EXTENSION citext")
    with role(conninfo, admin, "GRANT USAGE, CREATE ON SCHEMA auth TO {role}") as conn:
        for create_schema in (False, True, None):  # True/None: the schema exists, so no CREATE on the database is needed
            assert pk.up(prefix="auth", create_schema=create_schema, using=conn, log=False) == LATEST
            assert assert_consistent(admin, "auth", references, with_rows=True, ours=False) == LATEST
            assert pk.ensure_current(using=conn, prefix="auth") == LATEST
            assert pk.down(version=9, prefix="auth", using=conn, log=False) == 8
            assert pk.down(prefix="auth", using=conn, log=False) == 0
            assert schema_exists(admin, "auth") and _tables(admin, "auth") == []  # not ours: kept, empty


@pytest.mark.parametrize("prefix", ["auth", "public"])
def test_without_privileges_on_the_schema_the_error_is_clear(database: tuple[str, psycopg.Connection[Any]], prefix: str) -> None:
    conninfo, admin = database
    admin.execute("CREATE EXTENSION citext")
    with role(conninfo, admin) as conn:  # CONNECT (from PUBLIC) and nothing else
        for create_schema in (False, True):
            before = snapshot(admin, prefix)
            with pytest.raises(pk.StepFailedError, match=f'permission denied for schema {prefix}') as raised:
                pk.up(prefix=prefix, create_schema=create_schema, using=conn, log=False)
            assert str(raised.value).startswith(f"phoenix_kit V01 up failed on prefix '{prefix}' and was rolled back")
            assert snapshot(admin, prefix) == before


def test_without_usage_an_installed_prefix_cannot_be_rolled_back(database: tuple[str, psycopg.Connection[Any]]) -> None:
    conninfo, admin = database
    pk.up(prefix="auth", using=admin, log=False)
    before = snapshot(admin, "auth")
    with role(conninfo, admin) as conn:
        assert pk.migrated_version("auth", using=conn) == LATEST  # the catalog is readable by everyone
        with pytest.raises(pk.StepFailedError, match="permission denied for schema auth"):
            pk.down(prefix="auth", using=conn, log=False)
    assert snapshot(admin, "auth") == before


def test_without_citext_a_role_without_create_on_the_database_gets_postgres_own_words(
    database: tuple[str, psycopg.Connection[Any]],
) -> None:
    conninfo, admin = database
    with role(conninfo, admin, "GRANT USAGE, CREATE ON SCHEMA auth TO {role}") as conn:
        with pytest.raises(pk.StepFailedError, match='permission denied to create extension "citext"'):
            pk.up(prefix="auth", create_schema=False, using=conn, log=False)
    assert _tables(admin, "auth") == []
    assert admin.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citext'").fetchone() == (0,)
