"""``phoenixkit_migrate --doctor``, ``--repair`` and ``--adopt`` (issue 15): output, exit statuses, questions."""

from __future__ import annotations

import io
import json
import sys

import pytest
from django.core.management.base import CommandError

from tests.django.conftest import Fresh


def _exit_status(fresh: Fresh, **options: object) -> tuple[int, str]:
    """The command's exit status (0 when it returns) and its output."""
    out = io.StringIO()
    try:
        from django.core.management import call_command

        call_command("phoenixkit_migrate", database=fresh.alias, stdout=out, stderr=io.StringIO(), **options)
    except SystemExit as exited:
        return int(exited.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_doctor_exit_statuses_and_the_fleet_summary(fresh: Fresh) -> None:
    fresh.command()
    fresh.command(prefix="shop", version="8")
    fresh.command(prefix="lost", version="3")
    fresh.conn.execute('COMMENT ON TABLE "lost".phoenix_kit IS NULL')

    assert _exit_status(fresh, doctor=True)[0] == 0
    status, output = _exit_status(fresh, doctor=True, all_prefixes=True)
    assert status == 2  # "lost" cannot be checked
    assert "3 installs checked: 2 exact, 0 with drift, 1 could not be checked." in output
    assert "--adopt --prefix lost" in output

    fresh.conn.execute('DROP INDEX "shop".phoenix_kit_users_tokens_user_id_index')
    status, output = _exit_status(fresh, doctor=True, prefixes="public,shop")
    assert status == 1
    assert "version 8, 1 difference:" in output and "missing    index phoenix_kit_users_tokens_user_id_index" in output


def test_doctor_json_for_ci(fresh: Fresh) -> None:
    fresh.command(version="5")
    fresh.conn.execute("ALTER TABLE public.phoenix_kit_users ALTER COLUMN is_active SET DEFAULT false")

    status, output = _exit_status(fresh, doctor=True, format="json")

    report = json.loads(output)
    assert status == report["status"] == 1
    (install,) = report["installs"]
    assert (install["prefix"], install["marker"], install["status"]) == ("public", 5, "drift")
    (difference,) = install["differences"]
    assert difference["kind"] == "changed" and difference["object"] == "column phoenix_kit_users.is_active"
    assert (difference["expected"], difference["found"]) == ("boolean DEFAULT true NOT NULL", "boolean DEFAULT false NOT NULL")


def test_format_json_needs_doctor_and_doctor_takes_no_target(fresh: Fresh) -> None:
    with pytest.raises(CommandError, match="--format applies to --doctor only"):
        fresh.command(status=True, format="json")
    with pytest.raises(CommandError, match="--to cannot be combined with --doctor"):
        fresh.command(doctor=True, to="3")


def test_repair_asks_then_runs_and_checks_again(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh.command()
    fresh.conn.execute("DROP INDEX public.phoenix_kit_users_tokens_user_id_index")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    answers = iter(["no", "yes"])
    monkeypatch.setattr("builtins.input", lambda question: next(answers))

    status, output = _exit_status(fresh, repair=True)
    assert status == 1 and "Cancelled; nothing was changed." in output
    assert "CREATE INDEX phoenix_kit_users_tokens_user_id_index ON" in output

    status, output = _exit_status(fresh, repair=True)
    assert status == 0
    assert "Ran 1 statement on prefix 'public'; checked again:" in output
    assert "version 16, exactly as a fresh install of it." in output.splitlines()[-1]


def test_repair_of_what_is_not_additive_runs_nothing(fresh: Fresh) -> None:
    fresh.command()
    fresh.conn.execute("ALTER TABLE public.phoenix_kit_users ALTER COLUMN is_active DROP NOT NULL")

    status, output = _exit_status(fresh, repair=True, interactive=False)

    assert status == 1
    assert "Nothing here is for --repair" in output and "fix:" in output


def test_adopt_records_an_exact_match_and_only_names_a_near_one(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh.command(prefix="old", version="7")
    fresh.conn.execute('COMMENT ON TABLE "old".phoenix_kit IS NULL')

    output = fresh.command(adopt=True, prefix="old", interactive=False)

    assert "exactly those of a fresh install of version 7" in output
    assert fresh.marker("old") == "7"

    fresh.conn.execute('COMMENT ON TABLE "old".phoenix_kit IS NULL')
    fresh.conn.execute('DROP INDEX "old".phoenix_kit_email_logs_sent_at_idx')
    status, output = _exit_status(fresh, adopt=True, prefix="old", interactive=False)
    assert status == 1 and "the nearest is version 7" in output
    assert fresh.marker("old") is None
