"""A statement of a step fails (issue 5, item 4).

Each case plants a real cause in a prefix, as an application sharing the schema
could: a trigger that rejects the step's UPDATE (the *last* statement of V04,
after six DDL statements), a foreign key of the application's own that keeps a
row V02 deletes, a CHECK that rejects the value V06's down writes, an index
that already has the name V08 gives its username index (after the column and
the backfill of thousands of users). ``tests/test_runner.py`` has the plain
"table already exists" case.

Every time: the step rolls back entirely (catalog and rows identical), the
marker stays at the previous version, the error names the version, the
statement and PostgreSQL's message; after removing the cause a re-run succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

import phoenix_kit as pk
from phoenix_kit.plan import get_step
from phoenix_kit.script import step_statements
from tests.helpers import snapshot
from tests.reliability.references import LATEST, References, assert_consistent


@dataclass(frozen=True)
class Cause:
    id: str
    start: int  # the prefix is installed up to this version...
    down_to: int | None  # ...then, if given, rolled back to this one
    move: tuple[str, int | None]  # ("up" | "down", version argument)
    version: int  # the version whose step fails
    statement: str  # a fragment of the failing statement
    postgres_says: str  # a fragment of PostgreSQL's message
    plant: str  # SQL creating the cause; {s} is the prefix's schema
    remove: str  # SQL removing it


CAUSES = [
    Cause(
        "trigger rejects V04's last statement",
        3, None, ("up", None), 4, """SET "module" = 'system'""", "settings are frozen by the application",
        plant="""
            CREATE FUNCTION {s}.freeze_settings() RETURNS trigger LANGUAGE plpgsql
              AS $$BEGIN RAISE EXCEPTION 'settings are frozen by the application'; END$$;
            CREATE TRIGGER settings_frozen BEFORE UPDATE ON {s}.phoenix_kit_settings
              FOR EACH ROW EXECUTE FUNCTION {s}.freeze_settings();
        """,
        remove="DROP TRIGGER settings_frozen ON {s}.phoenix_kit_settings; DROP FUNCTION {s}.freeze_settings();",
    ),
    Cause(
        "an application foreign key keeps a row V02 deletes",
        1, None, ("up", None), 2, "DELETE FROM", "violates foreign key constraint",
        plant="""
            INSERT INTO {s}.phoenix_kit_users (email, hashed_password, inserted_at, updated_at)
              VALUES ('ada@example.com', 'x', now(), now());
            INSERT INTO {s}.phoenix_kit_user_role_assignments (user_id, role_id, is_active, inserted_at)
              SELECT u.id, r.id, false, now() FROM {s}.phoenix_kit_users u, {s}.phoenix_kit_user_roles r
               WHERE r.name = 'Admin';
            CREATE TABLE {s}.assignment_audit (id bigserial PRIMARY KEY,
              assignment_id bigint REFERENCES {s}.phoenix_kit_user_role_assignments (id));
            INSERT INTO {s}.assignment_audit (assignment_id) SELECT id FROM {s}.phoenix_kit_user_role_assignments;
        """,
        remove="DROP TABLE {s}.assignment_audit",
    ),
    Cause(
        "an application CHECK rejects the value V06's down writes",
        LATEST, 6, ("down", 6), 6, "2099-12-31", 'violates check constraint "codes_expire_before_2090"',
        plant="""
            INSERT INTO {s}.phoenix_kit_referral_codes (code, description, max_uses, created_by, expiration_date)
              VALUES ('FOREVER', 'never expires', 10, 1, NULL);
            ALTER TABLE {s}.phoenix_kit_referral_codes ADD CONSTRAINT codes_expire_before_2090
              CHECK (expiration_date IS NULL OR expiration_date < '2090-01-01');
        """,
        remove="ALTER TABLE {s}.phoenix_kit_referral_codes DROP CONSTRAINT codes_expire_before_2090",
    ),
    Cause(
        "an index already has the name of V08's last object",
        7, None, ("up", None), 8, 'CREATE UNIQUE INDEX "phoenix_kit_users_username_uidx"', "already exists",
        plant="""
            INSERT INTO {s}.phoenix_kit_users (email, hashed_password, inserted_at, updated_at)
              SELECT 'user' || i || '@example.com', 'x', now(), now() FROM generate_series(1, 3000) AS i;
            CREATE TABLE {s}.profiles (id bigint PRIMARY KEY);
            CREATE INDEX phoenix_kit_users_username_uidx ON {s}.profiles (id);
        """,
        remove="DROP TABLE {s}.profiles",
    ),
]


def _move(conn: psycopg.Connection[Any], prefix: str, move: tuple[str, int | None]) -> int:
    direction, version = move
    if direction == "up":
        return pk.up(version=version, prefix=prefix, using=conn, log=False)
    return pk.down(version=version, prefix=prefix, using=conn, log=False)


def _run_sql(conn: psycopg.Connection[Any], template: str, prefix: str) -> None:
    conn.execute(template.format(s=sql.Identifier(prefix).as_string(conn)))


@pytest.mark.parametrize("cause", CAUSES, ids=[c.id for c in CAUSES])
def test_a_failing_statement_rolls_its_step_back(
    conn: psycopg.Connection[Any], prefix: str, references: References, cause: Cause
) -> None:
    pk.up(version=cause.start, prefix=prefix, using=conn, log=False)
    if cause.down_to is not None:
        pk.down(version=cause.down_to + 1, prefix=prefix, using=conn, log=False)
    _run_sql(conn, cause.plant, prefix)
    before = snapshot(conn, prefix)

    with pytest.raises(pk.StepFailedError) as raised:
        _move(conn, prefix, cause.move)

    step = get_step(cause.version, cause.move[0])  # type: ignore[arg-type]
    error, message = raised.value, str(raised.value)
    assert error.version == cause.version
    assert error.statement in step_statements(step, prefix, True) and cause.statement in error.statement
    assert message.startswith(
        f"phoenix_kit {step.version.label} {step.direction} failed on prefix '{prefix}' and was rolled back; "
        f"the prefix stays at version {step.source}.\nPostgreSQL said: "
    )
    assert cause.postgres_says in message and f"\nStatement: {error.statement}" in message
    assert snapshot(conn, prefix) == before  # catalog and rows: the step left no trace
    assert pk.migrated_version(prefix, using=conn) == step.source

    _run_sql(conn, cause.remove, prefix)
    reached = _move(conn, prefix, cause.move)
    assert reached == step.target if cause.move[0] == "down" else reached == LATEST
    assert assert_consistent(conn, prefix, references) == reached
    assert pk.up(prefix=prefix, using=conn, log=False) == LATEST
    assert assert_consistent(conn, prefix, references) == LATEST
