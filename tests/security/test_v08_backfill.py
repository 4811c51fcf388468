"""V08's username backfill without the TEMPORARY privilege (issue 9, item 10).

The exact sequential fallback (taken when the set-based names collide) must
not need the TEMPORARY privilege on the database. Roles are cluster-wide:
unique names, dropped by the test.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

import phoenix_kit as pk
from tests.helpers import psql
from tests.test_data_steps import reference_usernames

# Local parts whose set-based names collide with other users' bases (x, x -> x_1,
# while x_1 is also a base): only the exact sequential rule names them right.
COLLIDING = ["x_1", "x", "x", "X.1", "x_2", "ab", "ab_1", "AB", "ab_1_1", "x_1_1", "jo", "jo_1", "jo", "j.o", "a.b", "a_b", "A.B"]


def _base(email: str) -> str:
    """The spec's derive(email) (the same rules as ``reference_usernames``)."""
    local = email.split("@", 1)[0].lower().replace(".", "_")
    base = "".join(ch for ch in local if ch.isascii() and (ch.isalnum() or ch == "_"))[:30]
    if not (base[:1].isascii() and base[:1].isalpha()):
        base = "user_" + base[:25]
    return base + "_1" if len(base) < 3 else base


def set_based_collides(emails: list[str]) -> bool:
    """Whether V08's first, set-based pass (n-th user of a base -> base_n) gives a duplicate."""
    seen: dict[str, int] = {}
    names = []
    for email in emails:
        base = _base(email)
        n = seen.get(base, 0)
        seen[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return len(set(names)) < len(names)


def random_collisions(count: int, seed: int) -> list[str]:
    """Many users on a few chained bases (x, x_1, x_1_1, x_2, x_10, ...), in a random order."""
    rng = random.Random(seed)
    locals_ = ["x", "x_1", "x_1_1", "x_2", "x_10", "x_1_2", "x_01", "X.2.1", "ab", "ab_1", "a", "a_1", "a_1_1", "x_3"]
    return [f"{rng.choice(locals_)}@{i}.io" for i in range(count)]


def insert_users(conn: psycopg.Connection[Any], prefix: str, emails: list[str]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL("INSERT INTO {} (email, hashed_password, inserted_at, updated_at) VALUES (%s, 'x', now(), now())").format(
                sql.Identifier(prefix, "phoenix_kit_users")
            ),
            [(email,) for email in emails],
        )


def usernames(conn: psycopg.Connection[Any], prefix: str) -> list[tuple[str, str]]:
    query = sql.SQL("SELECT email::pg_catalog.text, username FROM {} ORDER BY id").format(sql.Identifier(prefix, "phoenix_kit_users"))
    return [tuple(row) for row in conn.execute(query).fetchall()]


@pytest.fixture
def no_temp_database(make_database: Callable[[], str]) -> Iterator[tuple[str, psycopg.Connection[Any]]]:
    """A database where PUBLIC has no TEMPORARY privilege, citext installed; with the administrator's connection."""
    conninfo = make_database()
    with psycopg.connect(conninfo, autocommit=True) as admin:
        database = admin.execute("SELECT pg_catalog.current_database()").fetchone()[0]
        admin.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        admin.execute("CREATE EXTENSION IF NOT EXISTS citext")
        yield conninfo, admin


@pytest.fixture
def owner_without_temp(no_temp_database: tuple[str, psycopg.Connection[Any]]) -> Iterator[tuple[str, psycopg.Connection[Any]]]:
    """(conninfo, connection) of a new non-superuser role with CREATE on the database and no TEMPORARY."""
    conninfo, admin = no_temp_database
    name = f"pk_notemp_{uuid.uuid4().hex[:10]}"
    role = sql.Identifier(name)
    database = admin.execute("SELECT pg_catalog.current_database()").fetchone()[0]
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(role))
    try:
        admin.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(database), role))
        role_conninfo = make_conninfo(conninfo, user=name)
        with psycopg.connect(role_conninfo, autocommit=True) as conn:
            facts = conn.execute(
                "SELECT r.rolsuper, pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMPORARY'),"
                "       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')"
                "  FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user"
            ).fetchone()
            assert facts == (False, False, True)
            yield role_conninfo, conn
    finally:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(role))
        admin.execute(sql.SQL("DROP ROLE {}").format(role))


@pytest.mark.parametrize("how", ["live", "exported"])
def test_v08_fallback_needs_no_temporary_privilege(owner_without_temp: tuple[str, psycopg.Connection[Any]], how: str) -> None:
    conninfo, conn = owner_without_temp
    prefix = f"nt_{uuid.uuid4().hex[:10]}"
    pk.up(version=7, prefix=prefix, using=conn, log=False)  # the role creates and owns the prefix
    emails = [f"{local}@c{i}.io" for i, local in enumerate(COLLIDING)] + random_collisions(3000, seed=8)
    assert set_based_collides(emails)
    insert_users(conn, prefix, emails)
    if how == "live":
        assert pk.up(version=8, prefix=prefix, using=conn, log=False) == 8
    else:
        result = psql(conninfo, pk.sql(7, 8, prefix=prefix))
        assert result.returncode == 0, result.stderr
    assert usernames(conn, prefix) == list(zip(emails, reference_usernames(emails)))
    leftovers = conn.execute(
        "SELECT c.relname FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname LIKE '%%v08%%'",
        [prefix],
    ).fetchall()
    assert leftovers == []
