"""``MigratePhoenixKit`` in process: what it refuses, how it describes and writes itself, its SQL and its output.

The whole workflow in a user's project (the generator, ``migrate``, other
databases) is in ``tests/your_migrations``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections
from django.db.migrations import Migration
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter

from phoenix_kit.operations import MigratePhoenixKit
from tests.django.conftest import Fresh

REFUSED = [
    ({"prefix": "pg_auth"}, "reserved for PostgreSQL's system schemas"),
    ({"version": 17}, "version must be from 1 to 16, got 17"),
    ({"version": 8, "from_version": 8}, r"from_version must be below version \(8\), got 8"),
    ({"from_version": -1}, "from_version must be from 0 to 16, got -1"),
    ({"create_schema": "no"}, "create_schema must be True, False or None, got 'no'"),
]


@pytest.mark.parametrize(("arguments", "message"), REFUSED, ids=[str(a) for a, _ in REFUSED])
def test_bad_arguments_are_refused_when_the_migration_is_loaded(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MigratePhoenixKit(**arguments)


def test_it_describes_which_versions_go_to_which_prefix() -> None:
    assert MigratePhoenixKit(8, prefix="auth", from_version=0).describe() == "Apply PhoenixKit V01 to V08 to prefix 'auth'"
    assert MigratePhoenixKit(16, prefix="auth", from_version=15).describe() == "Apply PhoenixKit V16 to prefix 'auth'"
    assert MigratePhoenixKit(2).describe() == (
        "Apply PhoenixKit up to V02 to prefix 'public' (PHOENIX_KIT_PREFIX); undone by rolling back V02 and above"
    )
    assert MigratePhoenixKit(prefix="billing").describe() == (
        "Apply PhoenixKit up to the latest version (V16) to prefix 'billing'; undone by rolling back everything"
    )


def test_it_is_written_as_constructed() -> None:
    text, imports = MigrationWriter.serialize(MigratePhoenixKit(version=8, prefix="auth", create_schema=False, from_version=0))
    assert imports == {"import phoenix_kit.operations"}
    assert text.replace("\n", "").replace(" ", "") == (
        "phoenix_kit.operations.MigratePhoenixKit(version=8,prefix='auth',create_schema=False,from_version=0,)"
    )


def _collect(alias: str, operations: list[MigratePhoenixKit], *, atomic: bool = True, backwards: bool = False) -> str:
    """What sqlmigrate prints for a migration of these operations."""
    migration = Migration("0001_x", "tests")
    migration.operations, migration.atomic = operations, atomic
    with connections[alias].schema_editor(collect_sql=True, atomic=atomic) as editor:
        if backwards:
            migration.unapply(ProjectState(), editor, collect_sql=True)
        else:
            migration.apply(ProjectState(), editor, collect_sql=True)
    return "\n".join(editor.collected_sql)


def test_sqlmigrate_starts_each_operation_where_the_one_before_left_the_prefix(fresh: Fresh) -> None:
    both = [MigratePhoenixKit(8, prefix="auth", from_version=0), MigratePhoenixKit(16, prefix="auth", from_version=8)]

    forwards = _collect(fresh.alias, both)
    assert forwards.count('CREATE TABLE "auth"."phoenix_kit_users" ') == 1  # V01 once, not once per operation
    assert [f"""COMMENT ON TABLE "auth"."phoenix_kit" IS '{n}';""" in forwards for n in (1, 8, 9, 16)] == [True] * 4
    assert fresh.tables("auth") == []  # printing changed nothing

    fresh.command(prefix="auth", version="16", verbosity=0)
    assert "-- (no-op)" in _collect(fresh.alias, both)  # the marker says both are done
    backwards = _collect(fresh.alias, both, backwards=True)
    assert """COMMENT ON TABLE "auth"."phoenix_kit" IS '8';""" in backwards
    assert backwards.count('DROP TABLE "auth"."phoenix_kit_users"') == 1


def test_sqlmigrate_of_a_non_atomic_migration_makes_each_step_a_transaction(fresh: Fresh) -> None:
    fresh.command(prefix="auth", version="8", verbosity=0)
    script = _collect(fresh.alias, [MigratePhoenixKit(10, prefix="auth", from_version=8)], atomic=False)
    assert script.count("BEGIN ISOLATION LEVEL READ COMMITTED;") == script.count("COMMIT;") == 2


def test_outside_migrate_it_prints_nothing(fresh: Fresh, capsys: pytest.CaptureFixture[str]) -> None:
    operation = MigratePhoenixKit(3, prefix="auth", from_version=0)
    with connections[fresh.alias].schema_editor() as editor:
        operation.database_forwards("tests", editor, ProjectState(), ProjectState())
    assert fresh.marker("auth") == "3"
    with connections[fresh.alias].schema_editor() as editor:
        operation.database_backwards("tests", editor, ProjectState(), ProjectState())
    assert fresh.tables("auth") == []
    assert capsys.readouterr().out == ""
