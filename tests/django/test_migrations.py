"""The app's Django migrations ``0001_v01`` … ``0016_v16`` drive the core for the configured prefix."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.core.management import call_command

import phoenix_kit as pk
from phoenix_kit.errors import StepFailedError, TablesLockedError
from phoenix_kit.records import migration_names
from tests.django.conftest import PHOENIX_TABLES, Fresh, run

pytestmark = pytest.mark.django_db(transaction=True)


def test_migrate_installs_into_the_configured_prefix_only(fresh: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "auth"

    call_command("migrate", database=fresh.alias, verbosity=0)

    assert fresh.tables("auth") == PHOENIX_TABLES and len(PHOENIX_TABLES) == 13
    assert fresh.marker("auth") == "16"
    # public holds Django's own table only (the citext extension is database-wide by design).
    assert fresh.tables("public") == ["django_migrations"]
    assert fresh.recorded() == migration_names()

    call_command("migrate", "phoenix_kit", "zero", database=fresh.alias, verbosity=0)

    assert fresh.tables("auth") == []
    assert fresh.conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'auth'").fetchone() == (0,)
    assert fresh.recorded() == []


def test_migrate_to_a_migration_moves_the_marker_exactly(fresh: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "auth"

    call_command("migrate", "phoenix_kit", "0005", database=fresh.alias, verbosity=0)
    assert fresh.marker("auth") == "5"
    assert fresh.recorded() == migration_names()[:5]

    call_command("migrate", "phoenix_kit", "0008", database=fresh.alias, verbosity=0)
    assert fresh.marker("auth") == "8"

    call_command("migrate", "phoenix_kit", "0003", database=fresh.alias, verbosity=0)
    assert fresh.marker("auth") == "3"
    assert fresh.recorded() == migration_names()[:3]


def test_versions_applied_by_other_means_make_migrations_no_ops(fresh: Fresh) -> None:
    pk.up(version=8, using=fresh.alias, log=False)  # e.g. ensure_current or Elixir PhoenixKit

    call_command("migrate", database=fresh.alias, verbosity=0)

    assert fresh.marker("public") == "16"
    assert fresh.recorded() == migration_names()


def test_a_failing_step_under_migrate_leaves_the_last_completed_version(fresh: Fresh) -> None:
    # Each Django migration is its own transaction; the core's step is a savepoint in it.
    call_command("migrate", "phoenix_kit", "0008", database=fresh.alias, verbosity=0)
    fresh.conn.execute('CREATE TABLE public.phoenix_kit_email_blocklist ("id" int)')  # V09 will collide

    with pytest.raises(StepFailedError, match="V09 up failed"):
        call_command("migrate", database=fresh.alias, verbosity=0)

    assert fresh.marker("public") == "8"
    assert fresh.recorded() == migration_names()[:8]
    fresh.conn.execute("DROP TABLE public.phoenix_kit_email_blocklist")
    call_command("migrate", database=fresh.alias, verbosity=0)
    assert fresh.marker("public") == "16"


def test_sqlmigrate_prints_the_real_sql_for_the_configured_prefix(fresh: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "auth"

    forwards = run("sqlmigrate", "phoenix_kit", "0001", database=fresh.alias)
    backwards = run("sqlmigrate", "phoenix_kit", "0008", backwards=True, database=fresh.alias)

    assert 'CREATE SCHEMA "auth"' in forwards
    assert 'CREATE TABLE "auth"."phoenix_kit_users_tokens"' in forwards
    assert """COMMENT ON TABLE "auth"."phoenix_kit" IS '1';""" in forwards
    assert "CANNOT BE WRITTEN AS SQL" not in forwards
    assert 'ALTER TABLE "auth"."phoenix_kit_users" DROP COLUMN' in backwards
    assert """COMMENT ON TABLE "auth"."phoenix_kit" IS '7';""" in backwards
    assert fresh.tables("auth") == []  # printing changed nothing


def test_migrate_plan_describes_each_version(fresh: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "auth"

    output = run("migrate", "phoenix_kit", plan=True, database=fresh.alias)

    assert "phoenix_kit.0008_v08\n    Apply PhoenixKit V08 (usernames with backfill) to prefix 'auth'" in output
    assert output.count("Apply PhoenixKit") == 16


def test_migrate_takes_the_online_form_outside_a_transaction(fresh: Fresh, settings: Any) -> None:
    """0010 is atomic = False, so the core runs V10 online: an old snapshot elsewhere in the database makes
    its concurrent index build wait (a transactional build would not), past the bound it fails saying
    so, and the next migrate resumes it."""
    settings.PHOENIX_KIT_ONLINE, settings.PHOENIX_KIT_LOCK_TIMEOUT = "always", 2
    call_command("migrate", "phoenix_kit", "0009", database=fresh.alias, verbosity=0)
    with psycopg.connect(fresh.conninfo, autocommit=True) as holder:
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        holder.execute("SELECT count(*) FROM pg_class").fetchall()
        with pytest.raises(TablesLockedError, match="V10 up \\(online\\) could not finish building its index"):
            call_command("migrate", "phoenix_kit", "0010", database=fresh.alias, verbosity=0)
    assert fresh.marker("public") == "9"
    assert fresh.recorded() == migration_names()[:9]
    call_command("migrate", database=fresh.alias, verbosity=0)
    assert fresh.marker("public") == "16"
    assert fresh.recorded() == migration_names()
