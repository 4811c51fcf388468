"""Versions that touch rows: the V08 username backfill, V12's down, V16's CHECK."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from tests.helpers import psql

# The spec's V08 test vectors: (id, email, username).
VECTORS = [
    (1, "John.Doe@example.com", "john_doe"),
    (2, "john.doe@other.org", "john_doe_1"),
    (3, "jo@x.io", "jo_1"),
    (4, "a@x.io", "a_1"),
    (5, "ab_1@x.io", "ab_1"),
    (6, "AB@y.io", "ab_1_1"),
    (7, "123abc@x.io", "user_123abc"),
    (8, "_abc@x.io", "user__abc"),
    (9, "@nolocal.io", "user_"),
    (10, "Ünïcödé@x.io", "ncd"),
    (11, "\u212aelvin@x.io", "kelvin"),
    (12, "x" * 40 + "@x.io", "x" * 30),
    (13, "9" * 40 + "@x.io", "user_" + "9" * 25),
    (14, "noatsign", "noatsign"),
    (15, "o'brien@x.io", "obrien"),
    (16, "a+tag@x.io", "atag"),
    (17, "Mary-Jane@x.io", "maryjane"),
]


def _insert_users(conn: psycopg.Connection[Any], prefix: str, emails: list[str]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            f'INSERT INTO "{prefix}".phoenix_kit_users (email, hashed_password, inserted_at, updated_at) '
            "VALUES (%s, 'x', now(), now())",
            [(email,) for email in emails],
        )


def _usernames(conn: psycopg.Connection[Any], prefix: str) -> list[tuple[int, str, str]]:
    return conn.execute(f'SELECT id, email::text, username FROM "{prefix}".phoenix_kit_users ORDER BY id').fetchall()


def reference_usernames(emails: list[str]) -> list[str]:
    """The spec's V08 rules, written directly in Python."""
    taken: set[str] = set()
    result = []
    for email in emails:
        local = email.split("@", 1)[0].lower().replace(".", "_")
        base = "".join(ch for ch in local if ch.isascii() and (ch.isalnum() or ch == "_"))[:30]
        if not (base[:1].isascii() and base[:1].isalpha()):
            base = "user_" + base[:25]
        if len(base) < 3:
            base += "_1"
        name, k = base, 0
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        result.append(name)
    return result


def test_reference_reproduces_the_spec_vectors() -> None:
    assert reference_usernames([email for _, email, _ in VECTORS]) == [name for *_, name in VECTORS]


def test_v08_backfill_reproduces_the_spec_vectors(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(version=7, prefix=prefix, using=conn, log=False)
    _insert_users(conn, prefix, [email for _, email, _ in VECTORS])
    pk.up(version=8, prefix=prefix, using=conn, log=False)
    assert _usernames(conn, prefix) == VECTORS


def test_v08_backfill_through_the_exported_sql(conn: psycopg.Connection[Any], prefix: str, shared_conninfo: str) -> None:
    pk.up(version=7, prefix=prefix, using=conn, log=False)
    _insert_users(conn, prefix, [email for _, email, _ in VECTORS])
    result = psql(shared_conninfo, pk.sql(7, 8, prefix=prefix))
    assert result.returncode == 0, result.stderr
    assert _usernames(conn, prefix) == VECTORS


def test_v08_backfill_with_colliding_generated_names(conn: psycopg.Connection[Any], prefix: str) -> None:
    """Generated names that collide with other users' bases take the exact sequential path."""
    emails = [f"{local}@d{i}.io" for i, local in enumerate(
        ["x_1", "x", "x", "X.1", "x_2", "ab", "ab_1", "AB", "ab_1_1", "x_1_1", "jo", "jo_1", "jo", "j.o"] * 3
    )]
    pk.up(version=7, prefix=prefix, using=conn, log=False)
    _insert_users(conn, prefix, emails)
    pk.up(version=8, prefix=prefix, using=conn, log=False)
    assert [name for *_, name in _usernames(conn, prefix)] == reference_usernames(emails)


def test_v12_down_with_value_and_value_json_both_null(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(version=12, prefix=prefix, using=conn, log=False)
    conn.execute(f"INSERT INTO \"{prefix}\".phoenix_kit_settings (key, value, value_json) VALUES ('both_null', NULL, NULL)")
    assert pk.down(version=12, prefix=prefix, using=conn, log=False) == 11
    value = conn.execute(f"SELECT value FROM \"{prefix}\".phoenix_kit_settings WHERE key = 'both_null'").fetchone()
    assert value == ("",)


def test_v16_check_constraint(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(prefix=prefix, using=conn, log=False)
    insert = f'INSERT INTO "{prefix}".phoenix_kit_users_tokens (user_id, token, context, inserted_at) VALUES (NULL, %s, %s, now())'
    conn.execute(insert, [b"t1", "magic_link_registration"])
    with pytest.raises(psycopg.errors.CheckViolation, match="user_id_required_for_non_registration_tokens"):
        conn.execute(insert, [b"t2", "session"])
    assert pk.down(version=16, prefix=prefix, using=conn, log=False) == 15
    remaining = conn.execute(f'SELECT count(*) FROM "{prefix}".phoenix_kit_users_tokens').fetchone()
    assert remaining == (0,)  # the pending registration token is a declared loss of V16's down
