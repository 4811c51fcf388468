"""A failing step is run once (issue 9, item 8).

Naming the failing statement must not re-run the step: a step that failed on a
timeout would block the application a second time. An event trigger counts the
attempts at CREATE TABLE with a sequence (sequences are not rolled back).
"""

from __future__ import annotations

from collections.abc import Callable

import phoenix_kit as pk
from tests.security.common import described, observer, outcome


def test_the_failing_statement_is_named_without_replaying_the_step(make_database: Callable[[], str]) -> None:
    """V03 fails on a clashing phoenix_kit_settings: StepFailedError names its CREATE TABLE, attempted exactly once."""
    with observer(make_database()) as admin:
        pk.up(version=2, prefix="app", using=admin, log=False)
        admin.execute('CREATE TABLE "app"."phoenix_kit_settings" ("id" integer)')  # ours: V03 will clash
        admin.execute("CREATE SEQUENCE public.create_table_attempts")
        admin.execute(
            "CREATE FUNCTION public.count_create_table() RETURNS event_trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_catalog.nextval('public.create_table_attempts'); END $$"
        )
        admin.execute(
            "CREATE EVENT TRIGGER count_create_table ON ddl_command_start WHEN TAG IN ('CREATE TABLE') "
            "EXECUTE FUNCTION public.count_create_table()"
        )

        result = outcome(lambda: pk.up(version=3, prefix="app", using=admin, log=False))
        (attempts,) = admin.execute(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.create_table_attempts"
        ).fetchone()
        admin.execute("DROP EVENT TRIGGER count_create_table")
        version = pk.migrated_version("app", using=admin)

    assert isinstance(result, pk.StepFailedError), f"expected StepFailedError, got {described(result)}"
    assert result.statement.startswith('CREATE TABLE "app"."phoenix_kit_settings"'), result.statement
    assert attempts == 1, f"V03's CREATE TABLE was attempted {attempts} times: the failing step was replayed"
    assert version == 2
