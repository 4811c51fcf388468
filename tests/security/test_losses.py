"""No undeclared loss (DESIGN §8, issue 9 item 9): everything a move destroys is announced, counted, before it runs.

Three kinds: rows an *up* deletes (V02 deletes inactive role assignments); the
application's own objects that PostgreSQL drops, without CASCADE, with a column
or table a step drops (indexes, constraints, statistics, triggers, policies);
and the configuration a DBA added to a schema phoenix_kit created (grants,
default privileges, owner, publications), which down to 0 must not destroy.
Each test drives ``phoenixkit_migrate`` (or the core) on a real server; roles are
cluster-wide, so every one has a unique name and is dropped afterwards.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg import sql

import phoenix_kit as pk
from phoenix_kit.db import connect
from phoenix_kit.losses import assess, kept_schema, step_drops
from phoenix_kit.plan import get_step, latest_version
from phoenix_kit.script import drop_created_schema, ensure_schema
from phoenix_kit.versions import VERSIONS
from tests.django.conftest import Fresh, _scratch_conninfo, fresh  # noqa: F401  (fixtures)
from tests.helpers import schema_exists
from tests.reliability.common import unique_name

pytestmark = pytest.mark.django_db(transaction=True)

ASSIGNMENTS = "phoenix_kit_user_role_assignments"
V02_LOSS = f"{ASSIGNMENTS}: inactive role assignments deleted"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())


@pytest.fixture
def other_role(fresh: Fresh) -> Iterator[str]:
    """A role of its own (roles belong to the whole server), dropped with what it owns or was granted."""
    name = unique_name("pk_loss")
    fresh.conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(name)))
    yield name
    fresh.conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
    fresh.conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _at_v01_with_assignments(fresh: Fresh, prefix: str, inactive: int) -> None:
    """Prefix at V01 with three users, each assigned a role; ``inactive`` of the assignments revoked."""
    fresh.command(prefix=prefix, version="1")
    fresh.conn.execute(
        sql.SQL(
            "INSERT INTO {} (email, hashed_password, inserted_at, updated_at) "
            "SELECT 'u' || i || '@example.com', 'x', now(), now() FROM generate_series(1, 3) AS i"
        ).format(sql.Identifier(prefix, "phoenix_kit_users"))
    )
    fresh.conn.execute(
        sql.SQL(
            "INSERT INTO {} (user_id, role_id, is_active, inserted_at) "
            "SELECT u.id, r.id, u.id > %s, now() FROM {} AS u JOIN {} AS r ON r.id = u.id"
        ).format(
            sql.Identifier(prefix, ASSIGNMENTS),
            sql.Identifier(prefix, "phoenix_kit_users"),
            sql.Identifier(prefix, "phoenix_kit_user_roles"),
        ),
        [inactive],
    )


def _count(fresh: Fresh, prefix: str, table: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(prefix, table))
    return int(fresh.conn.execute(query).fetchone()[0])


def _refused(fresh: Fresh, **options: Any) -> str:
    """Run the command without a terminal and without --noinput: it must refuse; returns what it printed."""
    out = io.StringIO()
    with pytest.raises(CommandError, match="no terminal to confirm it: re-run with --noinput"):
        call_command("phoenixkit_migrate", database=fresh.alias, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


# Rows an up deletes


def test_plan_declares_and_counts_the_rows_v02_up_deletes(fresh: Fresh) -> None:
    (step,) = pk.plan(1, 2)
    assert [(loss.table, loss.what) for loss in step.losses] == [(ASSIGNMENTS, "inactive role assignments deleted")]
    _at_v01_with_assignments(fresh, "auth", inactive=2)

    planned = fresh.command(prefix="auth", plan=True)

    assert f"  Applying phoenix_kit V02 (drop role assignment is_active)\n    loses {V02_LOSS} (2 rows)\n" in planned
    assert _count(fresh, "auth", ASSIGNMENTS) == 3


def test_v02_up_is_refused_without_noinput_and_without_a_terminal(fresh: Fresh, no_terminal: None) -> None:
    _at_v01_with_assignments(fresh, "auth", inactive=2)
    before = fresh.state()

    printed = _refused(fresh, prefix="auth")

    assert "Moving prefix 'auth' on database" in printed and "from version 1 to 16 loses data:" in printed
    assert f"  V02 {V02_LOSS} (2 rows)" in printed
    assert fresh.state() == before


@pytest.mark.parametrize(("answer", "marker", "left"), [("no", "1", 3), ("yes", "16", 1)])
def test_v02_up_asks_on_a_terminal(
    fresh: Fresh, monkeypatch: pytest.MonkeyPatch, answer: str, marker: str, left: int
) -> None:
    _at_v01_with_assignments(fresh, "auth", inactive=2)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr("builtins.input", lambda question: answer)

    output = fresh.command(prefix="auth")

    assert f"  V02 {V02_LOSS} (2 rows)" in output
    assert fresh.marker("auth") == marker and _count(fresh, "auth", ASSIGNMENTS) == left


def test_an_up_that_loses_no_row_does_not_ask(fresh: Fresh, no_terminal: None) -> None:
    _at_v01_with_assignments(fresh, "auth", inactive=0)

    output = fresh.command(prefix="auth")

    assert "loses data" not in output and fresh.marker("auth") == "16"
    assert _count(fresh, "auth", ASSIGNMENTS) == 3


# Objects of the application's that a step takes with it


def _users(prefix: str) -> str:
    return f'"{prefix}"."phoenix_kit_users"'


def test_down_8_names_the_application_objects_that_use_username(fresh: Fresh, no_terminal: None) -> None:
    fresh.command(prefix="auth")
    users = _users("auth")
    fresh.conn.execute(f"CREATE INDEX app_users_username_lower ON {users} (lower(username))")
    fresh.conn.execute(f"CREATE INDEX app_users_username_email ON {users} (username, email)")  # email is kept
    fresh.conn.execute(f"ALTER TABLE {users} ADD CONSTRAINT app_username_length CHECK (length(username) < 64)")
    fresh.conn.execute(f'CREATE STATISTICS "auth".app_username_email_stats ON username, email FROM {users}')
    expected = [
        "V08 phoenix_kit_users: constraint app_username_length on table auth.phoenix_kit_users",
        "V08 phoenix_kit_users: index auth.app_users_username_email",
        "V08 phoenix_kit_users: index auth.app_users_username_lower",
        "V08 phoenix_kit_users: statistics object auth.app_username_email_stats",
    ]
    before = fresh.state()

    planned = fresh.command(prefix="auth", plan=True, down="8")
    refused = _refused(fresh, prefix="auth", down="8")

    v08 = planned[planned.index("Unapplying phoenix_kit V08"):]
    for line in expected:
        label, rest = line.split(" ", 1)
        assert f"    loses {rest} (not phoenix_kit's; uses column username)\n" in v08, rest
        assert f"  {line} (not phoenix_kit's; uses column username)\n" in refused, line
    assert "phoenix_kit_users_username_uidx" not in planned  # phoenix_kit's own index is not "yours"
    assert fresh.state() == before


def test_an_application_object_alone_makes_an_up_ask(fresh: Fresh, no_terminal: None) -> None:
    _at_v01_with_assignments(fresh, "auth", inactive=0)  # V02 deletes no row, but drops is_active ...
    fresh.conn.execute(f'CREATE INDEX app_active_roles ON "auth"."{ASSIGNMENTS}" (role_id) WHERE is_active')

    printed = _refused(fresh, prefix="auth", version="2")

    assert f"  V02 {ASSIGNMENTS}: index auth.app_active_roles (not phoenix_kit's; uses column is_active)" in printed
    assert f"  V02 {V02_LOSS} (0 rows)" not in printed  # nothing to confirm there
    assert fresh.marker("auth") == "1"


def test_application_objects_on_a_table_a_down_drops_are_listed(fresh: Fresh) -> None:
    fresh.command(prefix="auth")
    blocklist = '"auth"."phoenix_kit_email_blocklist"'
    fresh.conn.execute(f"CREATE INDEX app_blocklist_reason ON {blocklist} (lower(reason))")
    fresh.conn.execute(
        "CREATE FUNCTION public.app_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$"
    )
    fresh.conn.execute(f"CREATE TRIGGER app_touch BEFORE UPDATE ON {blocklist} FOR EACH ROW EXECUTE FUNCTION public.app_touch()")
    fresh.conn.execute(f"CREATE POLICY app_policy ON {blocklist} USING (true)")

    planned = fresh.command(prefix="auth", plan=True, down="9")

    v09 = planned[planned.index("Unapplying phoenix_kit V09"):]  # the last step of 16 -> 8
    why = "(not phoenix_kit's; goes with the table)"
    assert f"    loses phoenix_kit_email_blocklist: index auth.app_blocklist_reason {why}\n" in v09
    assert f"    loses phoenix_kit_email_blocklist: trigger app_touch on table auth.phoenix_kit_email_blocklist {why}\n" in v09
    assert f"    loses phoenix_kit_email_blocklist: policy app_policy on table auth.phoenix_kit_email_blocklist {why}\n" in v09


def test_a_pristine_install_loses_no_object_of_yours(conn: psycopg.Connection[Any], prefix: str) -> None:
    """phoenix_kit's own indexes, constraints and sequences, derived from its statements, are never listed."""
    db = connect(conn)
    pk.up(version=1, prefix=prefix, using=conn, log=False)
    assert assess(db, prefix, pk.plan(1, latest_version())).objects == ()
    pk.up(prefix=prefix, using=conn, log=False)
    assert assess(db, prefix, pk.plan(latest_version(), 0)).objects == ()
    for number in range(latest_version(), 0, -1):  # each down from its own version, too
        assert assess(db, prefix, [get_step(number, "down")]).objects == (), number
        pk.down(version=number, prefix=prefix, using=conn, log=False)


def test_every_drop_in_the_versions_is_understood() -> None:
    """step_drops() reads DROP TABLE / DROP COLUMN from the statements: none may escape it."""
    for version in VERSIONS:
        for direction in ("up", "down"):
            step = get_step(version.number, direction)  # type: ignore[arg-type]
            text = "\n".join((version.up if direction == "up" else version.down)('"s"'))
            dropped = re.findall(r"DROP TABLE (?!pg_temp\.)|DROP COLUMN", text)  # a temporary table loses nothing
            assert len(step_drops(step)) == len(dropped), step.describe()


# A schema phoenix_kit created, changed by a DBA


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("GRANT USAGE ON SCHEMA auth TO {role}", 'it has grants (GRANT USAGE ON SCHEMA "auth" TO {role})'),
        (
            "ALTER DEFAULT PRIVILEGES IN SCHEMA auth GRANT SELECT ON TABLES TO {role}",
            "it has default privileges (default privileges on new relations belonging to role",
        ),
        # A role the migrator acts for: given to any other, the install would be refused (security.md).
        ("GRANT {role} TO CURRENT_USER; ALTER SCHEMA auth OWNER TO {role}", "it is owned by {role}, not by"),
        ("CREATE PUBLICATION {publication} FOR TABLES IN SCHEMA auth", "it is in publication {publication}"),
    ],
    ids=["grant", "default-privileges", "owner", "publication"],
)
def test_down_to_0_keeps_a_created_schema_a_dba_changed(fresh: Fresh, other_role: str, change: str, said: str) -> None:
    publication = unique_name("pk_pub")
    names = {"role": other_role, "publication": publication}  # lower case: quoted in SQL, shown quoted
    fresh.command(prefix="auth")
    fresh.conn.execute(change.format(**names))  # after installing: the schema exists only now
    try:
        output = fresh.command(prefix="auth", to="0", interactive=False)
        assert schema_exists(fresh.conn, "auth")
        assert fresh.tables("auth") == []
        assert 'Kept schema "auth", which phoenix_kit created: ' in output
        assert said.format(**{key: f'"{name}"' for key, name in names.items()}) in output
        assert 'drop it yourself (DROP SCHEMA "auth") if you no longer need it.' in output
    finally:
        fresh.conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(publication)))


def test_down_to_0_says_why_it_keeps_a_schema_that_is_not_empty(fresh: Fresh) -> None:
    fresh.command(prefix="auth")
    fresh.conn.execute("CREATE TABLE auth.app_notes (id int)")

    output = fresh.command(prefix="auth", to="0", interactive=False)

    assert schema_exists(fresh.conn, "auth")
    assert 'Kept schema "auth", which phoenix_kit created: it is not empty (table auth.app_notes).' in output


def test_down_to_0_still_drops_a_pristine_created_schema(fresh: Fresh) -> None:
    fresh.command(prefix="auth")

    output = fresh.command(prefix="auth", to="0", interactive=False)

    assert not schema_exists(fresh.conn, "auth") and "Kept schema" not in output
    assert kept_schema(connect(fresh.conn), "auth") is None


# Fan-out


def test_fan_out_lists_counts_and_asks_before_an_up_that_loses_rows(fresh: Fresh, no_terminal: None) -> None:
    _at_v01_with_assignments(fresh, "tenant_a", inactive=1)
    _at_v01_with_assignments(fresh, "tenant_b", inactive=0)
    fresh.command(prefix="tenant_c")
    before = fresh.state()

    printed = _refused(fresh, prefixes="tenant_a,tenant_b,tenant_c")

    assert f"On prefix 'tenant_a' this move loses:\n  V02 {V02_LOSS} (1 row)\n" in printed
    assert "tenant_b" not in printed and "tenant_c" not in printed
    assert fresh.state() == before


def test_fan_out_to_0_says_which_created_schemas_it_kept(fresh: Fresh, other_role: str) -> None:
    fresh.command(prefix="tenant_a")
    fresh.command(prefix="tenant_b")
    fresh.conn.execute(sql.SQL("GRANT USAGE ON SCHEMA tenant_b TO {}").format(sql.Identifier(other_role)))

    output = fresh.command(prefixes="tenant_a,tenant_b", to="0", interactive=False)

    assert not schema_exists(fresh.conn, "tenant_a") and schema_exists(fresh.conn, "tenant_b")
    assert 'Kept schema "tenant_b", which phoenix_kit created: it has grants' in output
    assert 'Kept schema "tenant_a"' not in output


# Counting and the schema check run nothing planted on the search_path


_PLANTED_TYPES = ["text", "character varying", "name", "oid", '"char"', "integer"]


def _plant(conn: psycopg.Connection[Any]) -> None:
    """Operators and functions shadowing pg_catalog's for a session whose path puts ``attacker`` first."""
    conn.execute("CREATE SCHEMA attacker")
    for n, type_ in enumerate(_PLANTED_TYPES):
        conn.execute(
            f"CREATE FUNCTION attacker.trap{n}(a {type_}, b {type_}) RETURNS boolean LANGUAGE plpgsql "
            f"AS $$BEGIN RAISE EXCEPTION 'planted operator ran'; END$$"
        )
        for operator in ("=", "<>"):
            conn.execute(
                f"CREATE OPERATOR attacker.{operator} (LEFTARG = {type_}, RIGHTARG = {type_}, FUNCTION = attacker.trap{n})"
            )
    conn.execute(
        "CREATE FUNCTION attacker.concat_trap(a text, b text) RETURNS text LANGUAGE plpgsql "
        "AS $$BEGIN RAISE EXCEPTION 'planted operator ran'; END$$"
    )
    conn.execute("CREATE OPERATOR attacker.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = attacker.concat_trap)")
    conn.execute(
        "CREATE FUNCTION attacker.count_trap(bigint) RETURNS bigint LANGUAGE plpgsql "
        "AS $$BEGIN RAISE EXCEPTION 'planted count ran'; END$$"
    )
    conn.execute("CREATE AGGREGATE attacker.count(*) (SFUNC = attacker.count_trap, STYPE = bigint, INITCOND = '0')")
    conn.execute(
        "CREATE FUNCTION attacker.quote_ident(text) RETURNS text LANGUAGE plpgsql "
        "AS $$BEGIN RAISE EXCEPTION 'planted function ran'; END$$"
    )


def test_counting_and_the_schema_checks_do_not_depend_on_search_path(fresh: Fresh, other_role: str) -> None:
    fresh.command(prefix="auth")
    fresh.conn.execute(
        "INSERT INTO auth.phoenix_kit_users_tokens (user_id, token, context, inserted_at) "
        "VALUES (NULL, 'x', 'magic_link_registration', now())"
    )
    fresh.conn.execute("CREATE INDEX app_users_username_email ON auth.phoenix_kit_users (username, email)")
    _plant(fresh.conn)
    with psycopg.connect(fresh.conninfo, autocommit=True) as hostile:
        hostile.execute("SET search_path = attacker, pg_catalog")
        db = connect(hostile)

        losses = assess(db, "auth", pk.plan(latest_version(), 0))
        kept = kept_schema(db, "auth")

        assert [loss.rows for loss in losses.rows if "magic-link" in loss.what] == [1]
        assert [lost.description for lost in losses.objects] == ["index auth.app_users_username_email"]
        assert kept is not None and kept.reasons[0].startswith("it is not empty")

        fresh.command(prefix="auth", to="0", interactive=False)
        fresh.conn.execute(ensure_schema("auth", True))  # created again, pristine
        hostile.execute(drop_created_schema("auth"))
        assert not schema_exists(fresh.conn, "auth")
        fresh.conn.execute(ensure_schema("auth", True))
        fresh.conn.execute(sql.SQL("GRANT USAGE ON SCHEMA auth TO {}").format(sql.Identifier(other_role)))
        hostile.execute(drop_created_schema("auth"))
        assert schema_exists(fresh.conn, "auth")  # kept: it has a grant
        assert 'GRANT USAGE ON SCHEMA "auth" TO' in kept_schema(db, "auth").message()  # type: ignore[union-attr]
