"""Your own migrations: ``phoenixkit_makemigration`` writes them, ``MigratePhoenixKit`` runs them, checks guard them.

Each step is a real ``python manage.py ...`` in the throwaway project of
tests/your_migrations/project.py, on a database of its own; the results are
read from the catalog with psycopg.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers import database_url
from tests.your_migrations.conftest import (
    Database,
    Project,
    sqlite_recorded,
    sqlite_tables,
)

MAKE = "phoenixkit_makemigration"
# A progress line of the core, e.g. "    Applying phoenix_kit V01 (users, tokens and roles)... OK 0.01s".
PROGRESS = re.compile(r"^\s+Applying phoenix_kit V(\d\d)\b.*\bOK\b")


def operation(migration: Any) -> tuple[str, list[Any], dict[str, Any]]:
    """The deconstructed single operation of a migration: (class name, args, kwargs)."""
    (op,) = migration.operations
    name, args, kwargs = op.deconstruct()
    return name, list(args), kwargs


def issue(output: str, code: str) -> str:
    """The system-check issue ``code`` in ``output``: its line and its HINT lines."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if f"({code})" in line]
    assert len(starts) == 1, f"expected one {code} in:\n{output}"
    block = [lines[starts[0]]]
    for line in lines[starts[0] + 1 :]:
        if not line.startswith(("\t", " ")):
            break
        block.append(line)
    return "\n".join(block)


def reported(result: subprocess.CompletedProcess[str], path: str, description: str) -> None:
    """The generator's makemigrations-like report: heading, the file, the operation."""
    lines = result.stdout.splitlines()
    assert "Migrations for 'accounts':" in lines, result.stdout
    assert any(line.strip().endswith(path.replace("/", os.sep)) for line in lines), result.stdout
    # "- Apply ..." as the spec says; Django >= 5.1's formatted_description() puts the category symbol ("s") there.
    assert any(re.fullmatch(rf"\s+[-s] {re.escape(description)}", line) for line in lines), result.stdout


def no_changes(result: subprocess.CompletedProcess[str]) -> bool:
    return any(line.startswith("No changes") for line in result.stdout.splitlines())


def test_install_patterns_generate_migrate_and_roll_back_exactly(proj: Project, default_db: Database) -> None:
    made = proj.ok(MAKE, "accounts", "--prefix", "auth")
    reported(made, "accounts/migrations/0001_phoenix_kit_auth.py", "Apply PhoenixKit V01 to V16 to prefix 'auth'")
    assert proj.migrations() == ["0001_phoenix_kit_auth"]
    first = proj.load("0001_phoenix_kit_auth")
    assert first.initial is True and first.dependencies == []
    assert operation(first) == ("MigratePhoenixKit", [], {"version": 16, "prefix": "auth", "from_version": 0})
    text = proj.source("0001_phoenix_kit_auth")
    assert "MigratePhoenixKit(" in text and re.search(r"(?<!_)version=16\b", text)
    assert re.search(r"prefix=[\"']auth[\"']", text) and "from_version=0" in text

    before = proj.sources()
    again = proj.ok(MAKE, "accounts", "--prefix", "auth")
    assert no_changes(again), again.stdout
    assert proj.sources() == before

    default_db.execute("CREATE SCHEMA auth2")
    made = proj.ok(MAKE, "accounts", "--prefix", "auth2", "--no-create-schema")
    reported(made, "accounts/migrations/0002_phoenix_kit_auth2.py", "Apply PhoenixKit V01 to V16 to prefix 'auth2'")
    assert proj.migrations() == ["0001_phoenix_kit_auth", "0002_phoenix_kit_auth2"]
    second = proj.load("0002_phoenix_kit_auth2")
    assert not second.initial and second.dependencies == [("accounts", "0001_phoenix_kit_auth")]
    assert operation(second) == (
        "MigratePhoenixKit", [], {"version": 16, "prefix": "auth2", "from_version": 0, "create_schema": False}
    )  # fmt: skip

    proj.ok("migrate")
    assert [default_db.version(p) for p in ("auth", "auth2", "public")] == [16, 16, 16]
    assert len(default_db.phoenix_tables("auth")) == len(default_db.phoenix_tables("auth2")) == 13
    shown = proj.ok("showmigrations", "accounts").stdout.splitlines()
    assert " [X] 0001_phoenix_kit_auth" in shown and " [X] 0002_phoenix_kit_auth2" in shown, shown

    proj.ok("migrate", "accounts", "zero")
    assert not default_db.schema_exists("auth") and default_db.version("auth") == 0
    assert default_db.schema_exists("auth2") and default_db.phoenix_tables("auth2") == []
    assert default_db.version("public") == 16 and len(default_db.phoenix_tables("public")) == 13
    assert default_db.recorded("accounts") == []


def test_sqlmigrate_plan_and_progress_lines(proj: Project, default_db: Database) -> None:
    proj.ok(MAKE, "accounts", "--prefix", "auth")

    sql = proj.ok("sqlmigrate", "accounts", "0001").stdout
    assert 'CREATE TABLE "auth"."phoenix_kit_users"' in sql, sql
    assert not default_db.schema_exists("auth")  # printed, not run

    plan = proj.ok("migrate", "--plan").stdout.splitlines()
    at = plan.index("accounts.0001_phoenix_kit_auth")
    assert plan[at + 1] == "    Apply PhoenixKit V01 to V16 to prefix 'auth'", plan

    lines = proj.ok("migrate").stdout.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith("  Applying accounts.0001_phoenix_kit_auth...")]
    assert lines[start] == "  Applying accounts.0001_phoenix_kit_auth...", lines[start]
    versions = []
    for line in lines[start + 1 :]:
        progress = PROGRESS.match(line)
        if progress is None:
            break
        versions.append(int(progress[1]))
    assert versions == list(range(1, 17)), "\n".join(lines)
    assert not [line for line in lines if "Applying accounts." in line and "phoenix_kit V01" in line]
    assert default_db.version("auth") == 16

    undo = proj.ok("migrate", "accounts", "zero", "--plan").stdout.splitlines()
    at = undo.index("accounts.0001_phoenix_kit_auth")
    assert undo[at + 1] == "    Undo Apply PhoenixKit V01 to V16 to prefix 'auth'", undo
    assert default_db.version("auth") == 16  # --plan ran nothing


def test_upgrade_pattern_moves_exactly_and_w004_names_the_next_step(proj: Project, default_db: Database) -> None:
    made = proj.ok(MAKE, "accounts", "--prefix", "auth", "--version", "8")
    reported(made, "accounts/migrations/0001_phoenix_kit_auth_v08.py", "Apply PhoenixKit V01 to V08 to prefix 'auth'")
    assert proj.migrations() == ["0001_phoenix_kit_auth_v08"]
    install = proj.load("0001_phoenix_kit_auth_v08")
    assert operation(install) == ("MigratePhoenixKit", [], {"version": 8, "prefix": "auth", "from_version": 0})

    proj.ok("migrate")
    assert default_db.version("auth") == 8 and default_db.version("public") == 16
    warning = issue(proj.ok("check", "--database", "default").stderr, "phoenix_kit.W004")
    assert "'auth'" in warning and "phoenixkit_makemigration accounts --prefix auth" in warning, warning

    proj.ok(MAKE, "accounts", "--prefix", "auth")
    assert proj.migrations() == ["0001_phoenix_kit_auth_v08", "0002_phoenix_kit_auth_v16"]
    upgrade = proj.load("0002_phoenix_kit_auth_v16")
    assert upgrade.dependencies == [("accounts", "0001_phoenix_kit_auth_v08")]
    assert operation(upgrade) == ("MigratePhoenixKit", [], {"version": 16, "prefix": "auth", "from_version": 8})
    warning = issue(proj.ok("check", "--database", "default").stderr, "phoenix_kit.W004")
    assert "'auth'" in warning and "manage.py migrate" in warning and "phoenixkit_makemigration" not in warning, warning

    proj.ok("migrate")
    assert default_db.version("auth") == 16
    back = proj.ok("migrate", "accounts", "0001")
    assert "phoenix_kit.W004" not in back.stderr, back.stderr  # migrate's checks ran with auth at 16
    assert default_db.version("auth") == 8 and default_db.recorded("accounts") == ["0001_phoenix_kit_auth_v08"]
    proj.ok("migrate", "accounts", "zero")
    assert default_db.version("auth") == 0 and not default_db.schema_exists("auth")
    assert default_db.version("public") == 16


# (arguments, a fragment the one-line message must hold)
GENERATOR_ERRORS = [
    (("nosuchapp", "--prefix", "auth3"), "nosuchapp"),  # not installed
    (("plain", "--prefix", "auth3"), "plain"),  # no migrations package
    (("accounts", "--prefix", "auth3", "--version", "17"), "17"),
    (("accounts", "--prefix", "auth3", "--version", "0"), ""),
    (("accounts", "--prefix", "auth", "--version", "5"), "8"),  # accounts already brings auth to 8
    (("accounts",), "--prefix"),  # PHOENIX_KIT_PREFIX is phoenix_kit's own migrations' business
    (("accounts", "--prefix", "public"), "public"),  # == PHOENIX_KIT_PREFIX
    (("accounts", "--prefix", "pg_auth"), "pg_auth"),
    (("accounts", "--prefix", "auth", "--no-create-schema"), "auth"),  # accounts already manages auth
    (("billing", "--prefix", "auth"), "accounts"),  # another app manages auth
]


def test_generator_errors_write_nothing(proj: Project) -> None:
    proj.ok(MAKE, "accounts", "--prefix", "auth", "--version", "8")
    before = proj.sources()

    problems = []
    for args, fragment in GENERATOR_ERRORS:
        result = proj.manage(MAKE, *args)
        err = result.stderr.strip().splitlines()
        if result.returncode != 1 or len(err) != 1 or not err[0].startswith("CommandError: ") or fragment not in err[0]:
            problems.append(f"{MAKE} {' '.join(args)}: exit {result.returncode}\n{result.stdout}{result.stderr}")
        if proj.sources() != before:
            problems.append(f"{MAKE} {' '.join(args)} wrote {sorted(set(proj.sources()) - set(before))}")
            before = proj.sources()
    assert not (proj.directory / "plain" / "migrations").exists()
    assert not problems, "\n\n".join(problems)

    same = proj.ok(MAKE, "accounts", "--prefix", "auth", "--version", "8")
    assert no_changes(same) and proj.sources() == before, same.stdout

    proj.ok(MAKE, "accounts", "--prefix", "Acme-Corp")
    assert proj.migrations() == ["0001_phoenix_kit_auth_v08", "0002_phoenix_kit_acme_corp"]
    assert operation(proj.load("0002_phoenix_kit_acme_corp"))[2]["prefix"] == "Acme-Corp"


def test_sqlite_second_alias_is_skipped_with_w003(proj: Project, default_db: Database, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.sqlite3"
    proj.env["LEGACY_SQLITE"] = str(legacy)
    proj.ok(MAKE, "accounts", "--prefix", "auth")

    warning = issue(proj.ok("check").stderr, "phoenix_kit.W003")
    assert "'legacy'" in warning and "'default'" not in warning, warning

    proj.ok("migrate")
    assert default_db.version("auth") == default_db.version("public") == 16

    proj.ok("migrate", "--database", "legacy")
    tables = sqlite_tables(legacy)
    assert {"django_migrations", "django_content_type", "auth_permission", "auth_user"} <= set(tables), tables
    assert not [table for table in tables if "phoenix" in table.lower()], tables
    assert sqlite_recorded(legacy, "accounts") == ["0001_phoenix_kit_auth"]
    assert len(sqlite_recorded(legacy, "phoenix_kit")) == 16  # recorded, their operations no-ops
    assert default_db.version("auth") == 16


def test_sqlite_default_only_is_e007_and_migrate_applies_nothing(proj: Project, tmp_path: Path) -> None:
    path = tmp_path / "default.sqlite3"
    proj.env["DEFAULT_SQLITE"] = str(path)

    checked = proj.manage("check")
    assert checked.returncode == 1 and "phoenix_kit.E007" in checked.stderr, checked.stdout + checked.stderr

    migrated = proj.manage("migrate")
    assert migrated.returncode != 0 and "phoenix_kit.E007" in migrated.stderr, migrated.stdout + migrated.stderr
    assert "Applying" not in migrated.stdout
    assert sqlite_recorded(path) == []  # no django_migrations table, or an empty one


def test_migrate_database_other_installs_there_only(
    proj: Project, default_db: Database, make_database: Callable[[], str]
) -> None:
    other = Database(make_database())
    proj.env["OTHER_URL"] = database_url(other.conninfo)
    proj.ok(MAKE, "accounts", "--prefix", "auth")

    proj.ok("migrate", "--database", "other")
    assert other.version("public") == other.version("auth") == 16
    assert other.recorded("accounts") == ["0001_phoenix_kit_auth"]
    assert default_db.phoenix_tables() == [] and not default_db.schema_exists("auth")
    assert default_db.recorded("accounts") == [] and default_db.recorded("phoenix_kit") == []


def test_failing_migration_is_rolled_back_and_not_recorded(proj: Project, default_db: Database) -> None:
    proj.ok(MAKE, "accounts", "--prefix", "auth")
    proj.ok(MAKE, "accounts", "--prefix", "missing", "--no-create-schema")  # its schema is never created

    failed = proj.manage("migrate")
    assert failed.returncode != 0
    assert re.search(r"schema\W+missing\W+does not exist", failed.stderr, re.IGNORECASE), failed.stderr
    assert default_db.recorded("accounts") == ["0001_phoenix_kit_auth"]  # the migration before it stands
    assert default_db.version("auth") == 16
    assert not default_db.schema_exists("missing") and default_db.phoenix_tables("missing") == []
