"""search_path shadowing through the Django commands (issue 9, item 1): --status, --check, --plan, moves, sqlmigrate.

Django's connection keeps the server's default search_path: on it pg_catalog
comes first, so Django's own queries (connection set-up, the migration loader)
resolve exactly and whatever planted runs is phoenix_kit's; the prefix is not
the configured one, so the command keeps no records in django_migrations. (With
a hostile path Django's own unqualified ``set_config`` would be the attacker's:
not phoenix_kit's to fix.) sqlmigrate's SQL is applied with psql by the
superuser in the place's session, hostile path included, as a DBA handed that
SQL would.
"""

from __future__ import annotations

from typing import Any

import pytest

import phoenix_kit as pk
from phoenix_kit.records import migration_names
from tests.django.conftest import django_alias
from tests.security.common import Planted, Tally, command, seed_users, write_tokens


def test_the_commands_run_nothing_planted(planted: Planted, django_db_blocker: Any, settings: Any) -> None:
    """Status, check, plan (which counts losses), moves and sqlmigrate's SQL run nothing of the attacker's."""
    admin = planted.admin
    pk.up(version=7, prefix="cmd", using=admin, log=False)  # the observer's session: nothing planted runs
    seed_users(admin, "cmd")
    pk.up(prefix="cmd", using=admin, log=False)
    write_tokens(admin, "cmd")
    settings.PHOENIX_KIT_PREFIX = "sqlm"
    tally = Tally(planted.evil)
    with django_db_blocker.unblock(), django_alias(planted.conninfo) as alias:
        tally.run("--status", lambda: command("--status", prefix="cmd", database=alias))
        tally.run("--status --all-prefixes", lambda: command("--status", all_prefixes=True, database=alias))
        tally.run("--check", lambda: command("--check", prefix="cmd", database=alias))
        tally.run("--plan --to 0 (counts what would be lost)", lambda: command("--plan", to="0", prefix="cmd", database=alias))
        tally.run("--to 7 --noinput", lambda: command(to="7", prefix="cmd", database=alias, interactive=False))
        tally.run("up to 16 (V08 backfills colliding usernames)", lambda: command(prefix="cmd", database=alias))
        tally.run("--all-prefixes", lambda: command(all_prefixes=True, database=alias, interactive=False))
        names = migration_names()
        forwards = tally.run(
            "sqlmigrate forwards", lambda: "".join(command("phoenix_kit", n, name="sqlmigrate", database=alias) for n in names)
        )
        backwards = tally.run(
            "sqlmigrate backwards",
            lambda: "".join(
                command("phoenix_kit", n, name="sqlmigrate", backwards=True, database=alias) for n in reversed(names)
            ),
        )
    assert isinstance(forwards, str) and isinstance(backwards, str)
    tally.run("sqlmigrate's SQL 0001-0016 through psql", lambda: planted.script(forwards))
    tally.aside(lambda: (seed_users(admin, "sqlm"), write_tokens(admin, "sqlm")))  # the CHECK: test_search_path's
    tally.run("sqlmigrate's SQL 0016-0001 backwards through psql", lambda: planted.script(backwards))

    if tally.found:
        pytest.fail(tally.report())
    assert not planted.evil.is_superuser(), "the attacker became superuser"
