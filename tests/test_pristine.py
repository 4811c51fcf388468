"""``phoenix_kit.pristine``: what a test wrote into phoenix_kit's tables is found, and only that is put back.

The whole workflow in a user's test suite (pytest-django, Django's runner,
kept databases and clones) is in ``tests/isolation``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from phoenix_kit.db import PsycopgDatabase
from phoenix_kit.pristine import Pristine, PristineError

USER = "INSERT INTO {s}.phoenix_kit_users (email, hashed_password, inserted_at, updated_at) VALUES ('{e}', 'x', now(), now())"


def state(conn: psycopg.Connection[Any], schema: str) -> dict[str, Any]:
    """Every row (clock columns included) and every sequence position of an install."""
    tables = [name for (name,) in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r' ORDER BY 1", [schema]
    )]  # fmt: skip
    sequences = [name for (name,) in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'S' ORDER BY 1", [schema]
    )]  # fmt: skip
    return {
        "rows": {t: conn.execute(f'SELECT to_jsonb(x)::text FROM "{schema}"."{t}" x ORDER BY 1').fetchall() for t in tables},
        "sequences": {s: conn.execute(f'SELECT last_value, is_called FROM "{schema}"."{s}"').fetchone() for s in sequences},
    }


@pytest.fixture
def settled(fresh_conn: psycopg.Connection[Any]) -> tuple[psycopg.Connection[Any], Pristine, dict[str, Any]]:
    """A database with "public" at 16 and "auth" at 8, reset once: (connection, its reset, the pristine state)."""
    pk.up(prefix="public", using=fresh_conn, log=False)
    pk.up(version=8, prefix="auth", using=fresh_conn, log=False)
    reset = Pristine(PsycopgDatabase(fresh_conn))
    reset.reset()  # the seed rows' clocks may differ from the fresh install's (a second apart): put back once
    return fresh_conn, reset, {"public": state(fresh_conn, "public"), "auth": state(fresh_conn, "auth")}


def test_a_database_nobody_wrote_to_resets_nothing_and_keeps_no_fresh_install(settled: Any) -> None:
    conn, reset, pristine = settled
    assert reset.reset() == []
    assert {"public": state(conn, "public"), "auth": state(conn, "auth")} == pristine
    leftovers = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pkt_fresh_%'").fetchall()
    assert leftovers == []  # the fresh install it learned from was rolled back


# (what a test does, in SQL with {s} for the schema; what the reset must name)
WRITES: list[tuple[str, list[str], list[str]]] = [
    ("a new user", [USER.format(s="public", e="ada@example.com")],
     ["public.phoenix_kit_users", "public.phoenix_kit_users_id_seq"]),
    ("a seeded role renamed", ["UPDATE public.phoenix_kit_user_roles SET name = 'Boss' WHERE name = 'Owner'"],
     ["public.phoenix_kit_user_roles"]),
    ("a seeded setting deleted and its key taken by a new row",
     ["DELETE FROM public.phoenix_kit_settings WHERE key = 'time_zone'",
      "INSERT INTO public.phoenix_kit_settings (key, value, date_added, date_updated) VALUES ('time_zone', '5', now(), now())"],
     ["public.phoenix_kit_settings", "public.phoenix_kit_settings_id_seq"]),
    ("a row with an explicit id (no sequence moves)",
     ["INSERT INTO auth.phoenix_kit_users (id, email, hashed_password, inserted_at, updated_at) "
      "VALUES (77, 'x@example.com', 'x', now(), now())"],
     ["auth.phoenix_kit_users"]),
    ("only a sequence, from a rolled-back insert", ["SELECT nextval('public.phoenix_kit_users_tokens_id_seq')"],
     ["public.phoenix_kit_users_tokens_id_seq"]),
    ("a role assignment, its user, and a seeded role in two installs",
     [USER.format(s="auth", e="bo@example.com"),
      "INSERT INTO auth.phoenix_kit_user_role_assignments (user_id, role_id, assigned_at, inserted_at) "
      "SELECT u.id, 1, now(), now() FROM auth.phoenix_kit_users u",
      "UPDATE auth.phoenix_kit_user_roles SET description = 'x'", "TRUNCATE public.phoenix_kit_settings"],
     ["auth.phoenix_kit_user_roles", "auth.phoenix_kit_users", "auth.phoenix_kit_user_role_assignments",
      "auth.phoenix_kit_user_role_assignments_id_seq", "auth.phoenix_kit_users_id_seq", "public.phoenix_kit_settings"]),
]  # fmt: skip


@pytest.mark.parametrize(("what", "statements", "named"), WRITES, ids=[w[0] for w in WRITES])
def test_what_a_test_wrote_is_found_and_only_that_is_put_back(
    settled: Any, what: str, statements: list[str], named: list[str]
) -> None:
    conn, reset, pristine = settled
    for statement in statements:
        conn.execute(statement)
    assert sorted(reset.reset()) == sorted(named)
    assert {"public": state(conn, "public"), "auth": state(conn, "auth")} == pristine
    assert reset.reset() == []


def test_installs_made_moved_or_dropped_after_the_first_reset_are_seen(settled: Any) -> None:
    conn, reset, pristine = settled
    pk.up(version=5, prefix="late", using=conn, log=False)
    conn.execute(USER.format(s="late", e="late@example.com"))
    pk.down(version=11, prefix="public", using=conn, log=False)  # its V11-V16 tables and columns go
    conn.execute(USER.format(s="public", e="p@example.com"))
    pk.down(prefix="auth", using=conn, log=False)

    reset.reset()

    assert state(conn, "late")["rows"]["phoenix_kit_users"] == []
    assert state(conn, "public")["rows"]["phoenix_kit_users"] == []
    pk.up(prefix="public", using=conn, log=False)
    reset.reset()
    assert state(conn, "public") == pristine["public"]


def test_a_row_elsewhere_that_references_one_the_test_wrote_is_a_clear_error(settled: Any) -> None:
    conn, reset, _ = settled
    conn.execute("CREATE TABLE public.profile (user_id bigint REFERENCES public.phoenix_kit_users (id))")
    conn.execute(USER.format(s="public", e="ref@example.com"))
    conn.execute("INSERT INTO public.profile SELECT id FROM public.phoenix_kit_users")

    with pytest.raises(PristineError, match=r"Cannot reset the PhoenixKit install\(s\) public after the test: .*profile_user_id_fkey"):
        reset.reset()
    conn.execute("DELETE FROM public.profile")  # what Django's flush does first, for a model's table
    assert reset.reset() == ["public.phoenix_kit_users", "public.phoenix_kit_users_id_seq"]


def test_the_cost_of_a_clean_check_is_one_query(settled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, reset, _ = settled
    seen: list[str] = []
    fetchall: Callable[..., Any] = reset.database.fetchall
    monkeypatch.setattr(reset.database, "fetchall", lambda query, *a, **k: seen.append(str(query)) or fetchall(query, *a, **k))
    reset.reset()
    assert seen == ["EXECUTE phoenix_kit_pristine_check"]
