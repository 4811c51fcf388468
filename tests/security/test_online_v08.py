"""The online V08's triggers and helpers with an attacker in the database (issue 10, item 2; issue 9's model).

While V08 runs online, triggers on ``phoenix_kit_users`` run for every write
of the application, and the one that keeps the helper tables current runs as
the migrating role (often a superuser): the application's role may not write
the helpers. The attacker here is that application role, with write access to
the users and its shadowing objects planted (``common.Attacker.plant``). It
writes users while the form is in progress, from a session whose search_path
puts its plants first, and tries to call the helpers or touch their tables.
Nothing planted may run, it gets no access, and V08 still ends exact.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

import phoenix_kit as pk
from phoenix_kit.online import online_form
from phoenix_kit.script import PIN_SEARCH_PATH
from tests.reliability.test_online_steps import assert_usernames_exact
from tests.security.common import Planted, Tally, connect, seed_users


def _application_writes(planted: Planted, prefix: str) -> None:
    """The attacker's session writes users, with its plants first on its path.

    Its own statements name pg_catalog's functions and operators, so whatever
    of its plants runs was called by phoenix_kit's triggers.
    """
    evil = planted.evil
    eq, now = "OPERATOR(pg_catalog.=)", "pg_catalog.now()"
    with connect(evil.conninfo, options=f"-c search_path={evil.schema},public,pg_catalog") as app:
        users = sql.Identifier(prefix, "phoenix_kit_users")
        for statement in (
            f"INSERT INTO {{}} (email, hashed_password, inserted_at, updated_at) VALUES "
            f"('abc@evil.io', 'x', {now}, {now}), ('Abc.1@evil.io', 'x', {now}, {now})",
            f"UPDATE {{}} SET email = 'abc_1@evil.org' WHERE email::pg_catalog.text {eq} 'abc@example.org'",
            f"DELETE FROM {{}} WHERE email::pg_catalog.text {eq} 'abc@example.com'",
            f"UPDATE {{}} SET id = id OPERATOR(pg_catalog.+) 1000::pg_catalog.int8 WHERE email::pg_catalog.text {eq} 'abc_1@example.com'",
        ):
            app.execute(sql.SQL(statement).format(users))


def _denied(planted: Planted, statement: str) -> bool:
    with connect(planted.evil.conninfo) as app:
        try:
            app.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


def test_the_online_v08_runs_nothing_planted_and_opens_nothing_to_the_application(
    planted: Planted, settings: Any
) -> None:
    settings.PHOENIX_KIT_ONLINE = "always"
    admin, tally, prefix = planted.admin, Tally(planted.evil), "live"
    with planted.migrator() as conn:
        tally.run("up 0->7", lambda: pk.up(version=7, prefix=prefix, using=conn, log=False))
        seed_users(admin, prefix)
        role = sql.Identifier(planted.evil.name)
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(prefix), role))
        admin.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(sql.Identifier(prefix, "phoenix_kit_users"), role)
        )
        admin.execute(
            sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.Identifier(prefix, "phoenix_kit_users_id_seq"), role)
        )
        form = online_form(8, prefix)
        assert form is not None

        def first() -> None:  # the form's first transaction, as the runner runs it, then an interruption
            with conn.transaction():
                conn.execute(PIN_SEARCH_PATH)
                for statement in form.first:
                    conn.execute(statement)

        tally.run("V08 online, its first transaction", first)
        tally.run("the application writes users while V08 is online", lambda: _application_writes(planted, prefix))
        schema = f'"{prefix}"'
        for statement in (
            f"SELECT {schema}.phoenix_kit_v08_rename(10)",
            f"SELECT {schema}.phoenix_kit_v08_copy(0, 10)",
            f"SELECT {schema}.phoenix_kit_v08_base('x')",
            f"SELECT * FROM {schema}.phoenix_kit_v08_bases",
            f"INSERT INTO {schema}.phoenix_kit_v08_marks VALUES ('x')",
        ):
            assert _denied(planted, statement), f"the application's role may run {statement}"
        tally.run("up 7->16 (V08 resumed online)", lambda: pk.up(prefix=prefix, using=conn, log=False))
    if tally.found:
        pytest.fail(tally.report())
    assert not planted.evil.is_superuser(), "the attacker became superuser"
    assert_usernames_exact(admin, prefix)
