"""Fan-out and installs owned by someone else (issue 9, item 2).

With only CREATE on the database, the attacker fakes an install at V07: a
``phoenix_kit`` table commented '7' and a ``phoenix_kit_users`` table shaped like
V07's, holding one user, with triggers that record their call and try
``ALTER ROLE <attacker> SUPERUSER``. V08's backfill UPDATE would fire them with
the superuser's rights, whatever the search_path. Expected: discovery reports
such an install (outcome ``"skipped"``, the detail naming its owner) and never
migrates it; naming it explicitly raises ``UnsafeDatabaseError`` naming the
owner. Temporary schemas are never installs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.core.management.base import CommandError

import phoenix_kit as pk
from phoenix_kit.fanout import Move, migrate_prefixes
from phoenix_kit.drift import UNCHECKED, doctor_many
from phoenix_kit.status import installed
from tests.django.conftest import django_alias
from tests.security.common import Attacker, attacker, command, connect, described, is_error, observer, outcome


@dataclass
class Fleet:
    conninfo: str
    admin: psycopg.Connection[Any]
    evil: Attacker
    fake: str  # the attacker's fake install

    def marker(self, prefix: str) -> str | None:
        row = self.admin.execute(
            "SELECT d.description FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0"
            " WHERE n.nspname = %s AND c.relname = 'phoenix_kit'",
            [prefix],
        ).fetchone()
        return None if row is None else row[0]

    def untouched(self) -> list[str]:
        """What shows that the fake install was migrated or its triggers ran ([] when nothing)."""
        problems = [f"the attacker's trigger ran: {call}" for call in self.evil.calls()]
        if self.evil.attempts() > len(self.evil.calls()):
            problems.append(f"the attacker's trigger ran {self.evil.attempts()} time(s) in all, some rolled back")
        if self.evil.is_superuser():
            problems.append("the attacker became superuser")
        if self.marker(self.fake) != "7":
            problems.append(f"the fake install's marker is now {self.marker(self.fake)!r}")
        return problems


def _fake_install(evil: Attacker, schema: str) -> None:
    """As the attacker: a V07-looking install in ``schema``, one user, and the triggers that record their calls."""
    s = f'"{schema}"'
    for statement in [
        f"CREATE SCHEMA {s}",
        f'CREATE TABLE {s}."phoenix_kit" ("id" serial, "version" integer NOT NULL, '
        f'"migrated_at" timestamp(0) DEFAULT now() NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_version_index" ON {s}."phoenix_kit" ("version")',
        f"COMMENT ON TABLE {s}.\"phoenix_kit\" IS '7'",
        f'CREATE TABLE {s}."phoenix_kit_users" ("id" bigserial, "email" text NOT NULL, '
        f'"hashed_password" varchar(255) NOT NULL, "first_name" varchar(100), "last_name" varchar(100), '
        f'"is_active" boolean DEFAULT true NOT NULL, "confirmed_at" timestamp(0), '
        f'"inserted_at" timestamp(0) NOT NULL, "updated_at" timestamp(0) NOT NULL, PRIMARY KEY ("id"))',
        f'CREATE UNIQUE INDEX "phoenix_kit_users_email_index" ON {s}."phoenix_kit_users" ("email")',
        f"INSERT INTO {s}.\"phoenix_kit_users\" (email, hashed_password, inserted_at, updated_at) "
        f"VALUES ('victim@example.com', 'x', now(), now())",
        f"CREATE FUNCTION {s}.trap() RETURNS trigger LANGUAGE plpgsql AS $trap$\n"
        f"BEGIN\n"
        f"  PERFORM {evil.recorder}(pg_catalog.concat('trigger ', TG_LEVEL, ' ', TG_OP, ' on ', TG_TABLE_NAME), "
        f"pg_catalog.concat('{evil.name}.trap_', TG_LEVEL, '_', TG_OP));\n"
        f"  IF TG_LEVEL OPERATOR(pg_catalog.=) 'ROW' THEN RETURN NEW; END IF;\n"
        f"  RETURN NULL;\n"
        f"END\n$trap$",
        f'CREATE TRIGGER "trap_rows" BEFORE UPDATE ON {s}."phoenix_kit_users" FOR EACH ROW EXECUTE FUNCTION {s}.trap()',
        f'CREATE TRIGGER "trap_statements" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {s}."phoenix_kit_users" '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {s}.trap()",
    ]:
        evil.conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture
def fleet(make_database: Callable[[], str]) -> Iterator[Fleet]:
    """A database with an install of the superuser's at V07 ("ours") and the attacker's fake one at V07."""
    conninfo = make_database()
    with observer(conninfo) as admin:
        pk.up(version=7, prefix="ours", using=admin, log=False)
        with attacker(conninfo) as evil:  # CREATE on the database, nothing else
            fake = f"{evil.name}_pk"
            _fake_install(evil, fake)
            yield Fleet(conninfo, admin, evil, fake)


def test_fan_out_reports_a_foreign_install_and_does_not_migrate_it(fleet: Fleet) -> None:
    """migrate_prefixes(prefixes=None) migrates ours, skips the attacker's naming its owner, and fires no trigger."""
    with connect(fleet.conninfo) as conn:
        results = {r.prefix: r for r in migrate_prefixes(Move("up", 16), None, using=conn)}

    problems = fleet.untouched()
    assert not problems, "\n".join(problems)
    assert (results["ours"].outcome, results["ours"].version) == ("ok", 16)
    foreign = results.get(fleet.fake)
    assert foreign is not None, f"the foreign install is not reported: {sorted(results)}"
    assert foreign.outcome == "skipped", foreign
    assert fleet.evil.name in foreign.detail, foreign


def test_naming_a_foreign_install_explicitly_is_refused(fleet: Fleet) -> None:
    """up(prefix=<the attacker's>) raises UnsafeDatabaseError naming the owner, and runs nothing there."""
    with connect(fleet.conninfo) as conn:
        result = outcome(lambda: pk.up(prefix=fleet.fake, using=conn, log=False))

    problems = fleet.untouched()
    assert not problems, "\n".join(problems)
    assert is_error(result, "UnsafeDatabaseError"), f"expected phoenix_kit.errors.UnsafeDatabaseError, got {described(result)}"
    assert fleet.evil.name in str(result)


def test_the_doctor_never_reads_a_foreign_install(fleet: Fleet, django_db_blocker: Any) -> None:
    """--doctor names it as not checked (or, with --all-prefixes, skipped) and reads none of its tables.

    The fake install's seeded-roles table is a view calling the attacker's recorder:
    reading it would run that with the superuser's rights.
    """
    view = f'"{fleet.fake}"."phoenix_kit_user_roles"'
    fleet.evil.conn.execute(f"CREATE VIEW {view} AS SELECT 1 AS id, 'Owner'::text AS name WHERE {fleet.evil.recorder}('view read', '{fleet.evil.name}.view')")
    with connect(fleet.conninfo) as conn:
        (named,) = doctor_many([fleet.fake], using=conn)
        every = {d.prefix: d for d in doctor_many(None, using=conn)}
    with django_db_blocker.unblock(), django_alias(fleet.conninfo) as alias:
        status, output = 0, ""
        try:
            output = command(doctor=True, all_prefixes=True, database=alias)
        except SystemExit as exited:
            status = int(exited.code or 0)

    problems = fleet.untouched()
    assert not problems, "\n".join(problems)
    assert named.status == UNCHECKED and named.foreign and fleet.evil.name in (named.error or "")
    assert every[fleet.fake].foreign and every["ours"].status == 0
    assert status == 0, "a skipped foreign install is not a failure of the check"


def test_the_command_with_all_prefixes_does_not_migrate_a_foreign_install(fleet: Fleet, django_db_blocker: Any) -> None:
    """phoenixkit_migrate --all-prefixes: ours migrated, the attacker's listed as skipped with its owner, no trigger."""
    with django_db_blocker.unblock(), django_alias(fleet.conninfo) as alias:
        try:
            output = command(all_prefixes=True, database=alias, interactive=False)
        except CommandError as exc:  # whether a skipped prefix fails the run is not this test's business
            output = f"{exc}"

    problems = fleet.untouched()
    assert not problems, "\n".join(problems)
    assert fleet.marker("ours") == "16"
    line = next((line for line in output.splitlines() if fleet.fake in line), "")
    assert "skipped" in line, output
    assert fleet.evil.name in output.replace(fleet.fake, ""), f"the owner is not named: {output}"


@contextmanager
def _temporary_install(conninfo: str, who: str, evil: Attacker) -> Iterator[str]:
    """A session holding a temporary table ``phoenix_kit`` commented '7'; yields its pg_temp_N schema."""
    with nullcontext(evil.conn) if who == "the attacker" else connect(conninfo) as session:
        session.execute("CREATE TEMPORARY TABLE phoenix_kit (id integer)")
        session.execute("COMMENT ON TABLE pg_temp.phoenix_kit IS '7'")
        (schema,) = session.execute("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()").fetchone()
        try:
            yield schema
        finally:
            session.execute("DROP TABLE pg_temp.phoenix_kit")


@pytest.mark.parametrize("who", ["another superuser session", "the attacker"])
def test_a_temporary_table_is_never_an_install(fleet: Fleet, who: str) -> None:
    """A ``phoenix_kit`` table in a pg_temp_N schema is listed neither by status.installed nor by fan-out discovery."""
    with _temporary_install(fleet.conninfo, who, fleet.evil) as temporary, connect(fleet.conninfo) as conn:
        listed = [status.prefix for status in installed(using=conn)]
        discovered = [result.prefix for result in migrate_prefixes(Move("up", 7), None, using=conn)]

    assert temporary not in listed and not any(name.startswith("pg_temp") for name in listed), listed
    assert temporary not in discovered and not any(name.startswith("pg_temp") for name in discovered), discovered
