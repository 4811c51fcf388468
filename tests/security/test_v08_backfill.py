"""V08's username backfill in every server encoding and without the TEMPORARY privilege (issue 9, item 10).

The spec's ``derive(email)`` lower-cases with full Unicode case mapping, so
U+0130 (``İ``) gives ``i`` and U+212A (KELVIN SIGN) gives ``k``; every other
non-ASCII character is deleted. That must hold whatever the database's
encoding: LATIN5 and WIN1254 hold ``İ`` as one byte, EUC_JP as a three-byte
JIS X 0212 character, and SQL_ASCII stores the client's UTF-8 bytes as they
came. The exact sequential fallback (taken when the set-based names collide)
must not need the TEMPORARY privilege on the database.

Each encoding gets one database for the whole session (creating databases is
slow), created on first use and dropped at the end; each test works in a fresh
prefix of it. Roles are cluster-wide: unique names, dropped by the test.
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
from tests.test_data_steps import VECTORS, reference_usernames

ENCODINGS = ["UTF8", "LATIN5", "WIN1254", "EUC_JP", "SQL_ASCII"]

# (e-mail, username) that must come out whenever the e-mail is representable,
# on top of the spec's vectors (which hold the Kelvin sign, id 11).
NON_ASCII = [
    ("İlker@x", "ilker"),  # U+0130: 'i' + U+0307, the combining dot is deleted
    ("ilker@y", "ilker_1"),
    ("ILKER_1@z", "ilker_1_1"),  # the set-based pass gives ilker_1 twice: the fallback runs
    ("\u212aELVIN_1@k", "kelvin_1"),
    ("KELVIN@k", "kelvin_2"),  # kelvin is id 11's, kelvin_1 the line above's
    ("Ağaç.İş@x", "aa_i"),
    ("IıİiI\u0307@x", "iiii"),  # dotless ı and the combining dot deleted
    ("日本ｶﾅ@x", "user__1"),  # JIS X 0208 and half-width katakana (EUC_JP SS2): nothing left, user_ is id 9's
    ("ÅåÆøÿ9@x", "user_9"),
    ("Ωmega.\u212a@x", "mega_k"),
    ("Straße@x", "strae"),
]

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


def _emails() -> list[str]:
    """Every e-mail the encoding tests try, in insertion (id) order."""
    return [email for _, email, _ in VECTORS] + [email for email, _ in NON_ASCII] + [
        f"{local}@c{i}.io" for i, local in enumerate(COLLIDING)
    ]


@pytest.fixture(scope="session")
def encoding_database(server_conninfo: str) -> Iterator[Callable[[str], str]]:
    """Factory: the session's database in ``encoding`` (C collation), created on first use."""
    created: dict[str, str] = {}

    def get(encoding: str) -> str:
        if encoding not in created:
            name = f"phoenix_kit_t_{encoding.lower()}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(server_conninfo, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} ENCODING {} LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0").format(
                        sql.Identifier(name), sql.Literal(encoding)
                    )
                )
            created[encoding] = name
        return make_conninfo(server_conninfo, dbname=created[encoding], client_encoding="UTF8")

    yield get
    with psycopg.connect(server_conninfo, autocommit=True) as admin:
        for name in created.values():
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=ENCODINGS)
def encoded(request: pytest.FixtureRequest, encoding_database: Callable[[str], str]) -> Iterator[tuple[str, psycopg.Connection[Any], str]]:
    """(conninfo, UTF-8 client connection, fresh prefix at V07) in a database of the parametrized encoding."""
    conninfo = encoding_database(request.param)
    prefix = f"e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        assert conn.execute("SELECT pg_catalog.getdatabaseencoding()").fetchone() == (request.param,)
        pk.up(version=7, prefix=prefix, using=conn, log=False)
        try:
            yield conninfo, conn, prefix
        finally:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(prefix)))


def representable(conn: psycopg.Connection[Any], emails: list[str]) -> list[str]:
    """The e-mails the database's encoding can hold (tried on the server, from a UTF-8 client)."""
    kept = []
    for email in emails:
        try:
            conn.execute("SELECT %s::pg_catalog.text", [email])
        except psycopg.errors.UntranslatableCharacter:
            continue
        kept.append(email)
    return kept


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


def expected(emails: list[str]) -> list[tuple[str, str]]:
    """The spec's usernames for these users, checked against the spec's own tables where they apply."""
    names = reference_usernames(emails)
    result = list(zip(emails, names))
    pinned = {email: name for _, email, name in VECTORS} | dict(NON_ASCII)
    if emails[: len(VECTORS)] == [email for _, email, _ in VECTORS]:  # all spec vectors present: same ids
        for email, name in result:
            if email in pinned:
                assert name == pinned[email], (email, name)
    return result


def _encoded_users(conn: psycopg.Connection[Any], prefix: str) -> list[str]:
    emails = representable(conn, _emails())
    assert "İlker@x" in emails  # every tested encoding holds U+0130
    assert set_based_collides(emails)  # the exact sequential fallback runs
    insert_users(conn, prefix, emails)
    return emails


def test_v08_usernames_match_the_spec_in_every_encoding(encoded: tuple[str, psycopg.Connection[Any], str]) -> None:
    _, conn, prefix = encoded
    emails = _encoded_users(conn, prefix)
    assert pk.up(version=8, prefix=prefix, using=conn, log=False) == 8
    got = usernames(conn, prefix)
    assert dict(got)["İlker@x"] == "ilker"
    assert got == expected(emails)


def test_v08_exported_sql_matches_the_spec_in_every_encoding(encoded: tuple[str, psycopg.Connection[Any], str]) -> None:
    conninfo, conn, prefix = encoded
    emails = _encoded_users(conn, prefix)
    result = psql(conninfo, pk.sql(7, 8, prefix=prefix))
    assert result.returncode == 0, result.stderr
    got = usernames(conn, prefix)
    assert dict(got)["İlker@x"] == "ilker"
    assert got == expected(emails)


def test_v08_kelvin_sign_where_the_encoding_holds_it(encoded: tuple[str, psycopg.Connection[Any], str]) -> None:
    _, conn, prefix = encoded
    emails = representable(conn, ["\u212aelvin@x.io", "Ωmega.\u212a@x", "İlker@x"])
    encoding = conn.execute("SELECT pg_catalog.getdatabaseencoding()").fetchone()[0]
    assert ("\u212aelvin@x.io" in emails) == (encoding in ("UTF8", "SQL_ASCII"))
    insert_users(conn, prefix, emails)
    pk.up(version=8, prefix=prefix, using=conn, log=False)
    assert usernames(conn, prefix) == expected(emails)


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
