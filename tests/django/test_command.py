"""``manage.py phoenixkit_migrate``: moves, reports, exports, confirmation, django_migrations."""

from __future__ import annotations

import re

import io
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

import phoenix_kit as pk
from phoenix_kit.records import migration_names
from tests.django.conftest import Fresh, run
from tests.helpers import psql, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_default_moves_to_latest_and_records_the_configured_prefix(fresh: Fresh) -> None:
    output = fresh.command()

    assert "Applying phoenix_kit V01 (users, tokens and roles)... OK" in output
    assert fresh.marker("public") == "16"
    assert fresh.recorded() == migration_names()
    assert "no migrations to apply" in fresh.command()


def test_version_down_and_to(fresh: Fresh) -> None:
    fresh.command(version="5")
    assert fresh.marker("public") == "5"
    assert "--version never downgrades" in fresh.command(version="3")
    assert fresh.marker("public") == "5"

    fresh.command(to="9")
    assert fresh.marker("public") == "9"
    fresh.command(down="4", interactive=False)  # down to and including V04
    assert fresh.marker("public") == "3"
    assert fresh.recorded() == migration_names()[:3]
    fresh.command(to="0", interactive=False)
    assert fresh.tables("public") == ["django_migrations"]
    assert fresh.recorded() == []


def test_down_1_unrecords_everything_and_migrate_reinstalls(fresh: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "auth"
    call_command("migrate", database=fresh.alias, verbosity=0)

    fresh.command(down="1", interactive=False)

    assert fresh.marker("auth") is None and fresh.tables("auth") == []
    shown = run("showmigrations", "phoenix_kit", database=fresh.alias)
    assert shown.count("[ ]") == 16 and "[X]" not in shown
    call_command("migrate", database=fresh.alias, verbosity=0)
    assert fresh.marker("auth") == "16"


def test_other_prefixes_leave_django_migrations_alone(fresh: Fresh) -> None:
    fresh.command(prefix="shop")
    assert fresh.marker("shop") == "16"
    assert fresh.recorded() == []  # django_migrations tracks PHOENIX_KIT_PREFIX ("public") only


def test_no_create_schema_uses_an_existing_schema(fresh: Fresh) -> None:
    fresh.conn.execute("CREATE SCHEMA billing")
    fresh.command(prefix="billing", no_create_schema=True, version="2")
    assert fresh.marker("billing") == "2"


def test_sql_from_0_applied_with_psql_equals_migrate(fresh: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "auth"
    call_command("migrate", database=fresh.alias, verbosity=0)

    script = run("phoenixkit_migrate", sql=True, from_version="0", prefix="scripted")  # no database consulted
    result = psql(fresh.conninfo, script)

    assert result.returncode == 0, result.stderr
    assert snapshot(fresh.conn, "scripted") == snapshot(fresh.conn, "auth")


def test_sql_and_plan_start_from_the_database_and_change_nothing(fresh: Fresh) -> None:
    fresh.command(version="14")
    before = fresh.state()

    script = fresh.command(sql=True)
    planned = fresh.command(plan=True, to="12")

    assert "prefix \"public\" from version 14 to 16" in script and "must be at version 14" in script
    assert "Unapplying phoenix_kit V14 (email body compression flag)" in planned
    assert "loses phoenix_kit_email_logs: column body_compressed dropped (0 rows)" in planned
    assert fresh.state() == before


def _install_with_users(fresh: Fresh) -> None:
    fresh.command(prefix="auth")
    fresh.conn.execute(
        "INSERT INTO auth.phoenix_kit_users (email, hashed_password, username, inserted_at, updated_at) "
        "VALUES ('a@example.com', 'x', 'a', now(), now()), ('b@example.com', 'x', 'b', now(), now())"
    )


def test_a_losing_move_without_a_terminal_is_refused_after_listing_the_losses(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_with_users(fresh)
    before = fresh.state()
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    out = io.StringIO()

    with pytest.raises(CommandError, match="no terminal to confirm it: re-run with --noinput"):
        call_command("phoenixkit_migrate", prefix="auth", down="8", database=fresh.alias, stdout=out)

    assert "V08 phoenix_kit_users: column username dropped (2 rows)" in out.getvalue()
    assert "V09 phoenix_kit_email_blocklist: table dropped (0 rows)" in out.getvalue()
    assert fresh.state() == before


@pytest.mark.parametrize(("answer", "marker"), [("yes", "7"), ("no", "16")])
def test_a_losing_move_asks_on_a_terminal(fresh: Fresh, monkeypatch: pytest.MonkeyPatch, answer: str, marker: str) -> None:
    _install_with_users(fresh)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    questions: list[str] = []

    def ask(question: str) -> str:
        questions.append(question)
        return answer

    monkeypatch.setattr("builtins.input", ask)

    output = fresh.command(prefix="auth", down="8")

    assert questions == ["Type 'yes' to continue, or 'no' to cancel: "]
    assert "column username dropped (2 rows)" in output
    assert fresh.marker("auth") == marker


def test_noinput_proceeds_and_still_lists_the_losses(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_with_users(fresh)
    monkeypatch.setattr(sys, "stdin", io.StringIO())

    output = fresh.command(prefix="auth", to="0", interactive=False)

    assert "V01 phoenix_kit_users: table dropped (2 rows)" in output
    assert fresh.marker("auth") is None


def test_check_exits_1_when_behind_and_0_when_current(fresh: Fresh) -> None:
    fresh.command(version="10")
    with pytest.raises(SystemExit) as exited:
        fresh.command(check=True)
    assert exited.value.code == 1

    fresh.command()
    assert "up to date" in fresh.command(check=True)  # returns normally: exit status 0


def test_status_and_status_of_every_prefix(fresh: Fresh) -> None:
    fresh.command(version="16")
    fresh.command(prefix="auth", version="8")
    fresh.command(prefix="shop", version="1")

    status = fresh.command(status=True, prefix="auth")
    everything = fresh.command(status=True, all_prefixes=True)

    assert "prefix 'auth' on database" in status and "version 8, 8 pending (V09-V16)" in status
    assert "  [ ] V09 email blocklist" in status and "[ ] V08" not in status
    lines = everything.splitlines()
    assert lines[0] == f"PhoenixKit installs on database '{fresh.alias}' (latest version 16):"
    assert [line.split()[0] for line in lines[1:]] == ["auth", "public", "shop"]
    assert "version 16, up to date  (PHOENIX_KIT_PREFIX)" in everything
    assert "version 1, 15 pending (V02-V16)" in everything


def test_status_reports_disagreeing_django_migrations(fresh: Fresh) -> None:
    pk.up(version=4, using=fresh.alias, log=False)  # not through Django: nothing recorded

    status = fresh.command(status=True)

    assert "version 4" in status
    assert "Warning: django_migrations records no phoenix_kit migration as applied but the marker says version 4" in status
    assert f"--database {fresh.alias} --mark 4" in status


def test_mark_records_without_sql_and_repairs_an_unreadable_marker(fresh: Fresh) -> None:
    pk.up(version=6, using=fresh.alias, log=False)
    fresh.conn.execute("COMMENT ON TABLE public.phoenix_kit IS 'garbage'")
    before = _phoenix_kit_tables(fresh)

    with pytest.raises(CommandError, match="Recording a version runs no step and trusts you and there is no terminal"):
        fresh.command(mark="6")  # it asks first, and a test has no terminal
    output = fresh.command(mark="6", interactive=False)

    assert "The tables and indexes of prefix 'public' are those of version 4 to 6 (V05-V06 change only columns); recording version 6." in output
    assert "Recorded version 6" in output and "'garbage'" in output
    assert fresh.marker("public") == "6"
    assert fresh.recorded() == migration_names()[:6]  # django_migrations agrees again
    after = _phoenix_kit_tables(fresh)
    after["phoenix_kit"]["comment"] = "garbage"
    assert after == before  # only the marker changed


def _phoenix_kit_tables(fresh: Fresh) -> dict[str, Any]:
    tables = snapshot(fresh.conn, "public")["catalog"]["tables"]
    return {name: table for name, table in tables.items() if name.startswith("phoenix_kit")}


def test_verbosity_2_adds_the_plan_and_timings_and_3_the_sql(fresh: Fresh) -> None:
    quiet = fresh.command(version="2").splitlines()
    assert "  Applying phoenix_kit V02 (drop role assignment is_active)... OK" in quiet
    fresh.command(to="0", interactive=False, verbosity=0)

    timed = fresh.command(version="2", verbosity=2).splitlines()
    assert "    Applying phoenix_kit V01 (users, tokens and roles)" in timed  # the plan, before it runs
    assert any(re.fullmatch(r"  Applying phoenix_kit V02 \(.*\)\.\.\. OK \(\d+\.\d{3}s\)", line) for line in timed), timed
    assert not any("CREATE TABLE" in line for line in timed)
    fresh.command(to="0", interactive=False, verbosity=0)

    sql = fresh.command(version="1", verbosity=3)
    assert "  SQL of applying phoenix_kit v01 (users, tokens and roles):" in sql
    assert 'CREATE TABLE "public"."phoenix_kit_users"' in sql


def test_mark_says_when_the_tables_suggest_another_version(fresh: Fresh) -> None:
    pk.up(version=11, using=fresh.alias, log=False)  # V11 and V12 create no table or index: the tables say 10 to 12
    output = fresh.command(mark="13", interactive=False)
    assert "are those of version 10 to 12 (V11-V12 change only columns); recording version 13, which they do not suggest." in output
