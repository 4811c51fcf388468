"""The installs your own migrations manage: every ``MigratePhoenixKit`` in the installed apps' migrations.

Read from the migration files (no database), for the generator (what an app
already brings a prefix to) and the system check (which installs should be
current). phoenix_kit's own migrations manage the configured prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.migrations.loader import MigrationLoader

from .operations import MigratePhoenixKit


@dataclass(frozen=True)
class Managed:
    """One app's migrations bring ``prefix`` (None: the configured one) to ``version``."""

    app_label: str
    prefix: str | None
    version: int
    migration: str  # the migration that reaches it


def managed_installs(loader: MigrationLoader | None = None) -> list[Managed]:
    """For each app and prefix, the highest version its migrations reach, by app label then prefix.

    ``loader``: the migration files already loaded by the caller (loading them again would cost as much).
    """
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    best: dict[tuple[str, str | None], Managed] = {}
    for (app_label, name), migration in sorted(loader.disk_migrations.items()):
        for operation in migration.operations:
            if isinstance(operation, MigratePhoenixKit):
                key = (app_label, operation.prefix)
                if key not in best or operation.top > best[key].version:
                    best[key] = Managed(app_label, operation.prefix, operation.top, name)
    return [best[key] for key in sorted(best, key=lambda key: (key[0], key[1] or ""))]
