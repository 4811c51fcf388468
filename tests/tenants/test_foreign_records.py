"""The attacker owns a tenant's django_migrations: keeping records in step runs nothing of theirs.

A non-superuser role is given one tenant's ``django_migrations`` table and
attaches a trigger to it that records who fired it; a superuser moves every
tenant with ``phoenixkit_migrate --all-prefixes``. The installs are ours and
move; that tenant's records are left alone (``migrate_schemas`` keeps them), and
the trigger never fires.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tests.tenants.conftest import Project
from tests.tenants.test_tenant_apps import ALL, DJANGO_TENANTS


def test_a_foreign_records_table_is_not_written(make_project: Callable[[str], Project]) -> None:
    project = make_project(DJANGO_TENANTS.settings)
    project.run(*DJANGO_TENANTS.migrate_shared, "-v", "0")
    for schema in DJANGO_TENANTS.tenants:
        project.tool("create", schema)
    victim, *others = DJANGO_TENANTS.tenants
    attacker = f"pk_attacker_{uuid.uuid4().hex[:8]}"
    project.execute(
        f"CREATE ROLE {attacker}",
        f'ALTER TABLE "{victim}".django_migrations OWNER TO {attacker}',
        f'GRANT USAGE ON SCHEMA "{victim}" TO {attacker}',
        f"CREATE SCHEMA {attacker} AUTHORIZATION {attacker}",
        f"SET ROLE {attacker}",
        f"CREATE TABLE {attacker}.fired (who text)",
        f"CREATE FUNCTION {attacker}.note() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN INSERT INTO {attacker}.fired VALUES (current_user); RETURN NULL; END $$",
        f'CREATE TRIGGER note AFTER INSERT OR UPDATE OR DELETE ON "{victim}".django_migrations '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {attacker}.note()",
        "RESET ROLE",
    )
    try:
        project.run("phoenixkit_migrate", "--all-prefixes", "--to", "12", "--noinput")
        assert project.query(f"SELECT who FROM {attacker}.fired") == []
        assert project.marker(victim) == "12" and project.recorded(victim) == ALL  # records left to migrate_schemas
        for schema in others:
            assert project.marker(schema) == "12" and project.recorded(schema) == ALL[:12], schema
    finally:
        project.execute(f'DROP SCHEMA "{victim}" CASCADE', f"DROP SCHEMA {attacker} CASCADE", f"DROP ROLE {attacker}")
