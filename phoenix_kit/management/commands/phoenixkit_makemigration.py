"""``manage.py phoenixkit_makemigration APP_LABEL --prefix P``: write a migration that moves a PhoenixKit install.

The migration holds one ``MigratePhoenixKit`` naming both ends of its move
(``from_version`` what the app's migrations already bring the prefix to,
``version`` the target), so it means the same after a release adds versions
and its backwards undoes exactly its forwards. Written the way
``makemigrations`` writes (``MigrationWriter``, black if installed), after
every argument is checked; nothing touches a database.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError, CommandParser
from django.core.management.utils import run_formatters
from django.db.migrations import Migration
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.writer import MigrationWriter

from ... import conf
from ...managed import Managed, managed_installs
from ...online import online_form
from ...operations import MigratePhoenixKit, name_fragment
from ...plan import latest_version
from ..migrate_support import VersionTargetCommand, checked_prefix, parse_version


class Command(VersionTargetCommand):
    help = "Write a migration into APP_LABEL that installs a PhoenixKit prefix or upgrades it to a version."

    def add_arguments(self, parser: CommandParser) -> None:
        add = parser.add_argument
        add("app_label", help="The installed app whose migrations package gets the migration.")
        add("--prefix", help="The PostgreSQL schema of the install (another than PHOENIX_KIT_PREFIX).")
        add(
            "--version", metavar="N",
            help="The version the migration brings the prefix to (default: the latest). "
            "(Django's version: python -m django --version.)",
        )
        add("--no-create-schema", action="store_true", help="The install fails if the schema is missing, rather than create it.")
        add("--name", help="The migration's name after its number (default: phoenix_kit_PREFIX, with _vNN below latest).")

    def handle(self, *args: Any, **options: Any) -> None:
        app_label: str = options["app_label"]
        package = self._migrations_package(app_label)
        prefix = self._prefix(options["prefix"])
        target = latest_version() if options["version"] is None else parse_version(options["version"], "--version", 1)
        loader = MigrationLoader(None, ignore_no_migrations=True)
        reached = self._reached(loader, app_label, prefix)
        since = 0 if reached is None else reached.version
        if options["no_create_schema"] and since:
            raise CommandError(f"--no-create-schema applies to installs: {app_label} already installs prefix {prefix!r}.")
        if reached is not None and target <= since:
            if target == since:
                self.stdout.write(
                    f"No changes: {app_label}.{reached.migration} already brings prefix {prefix!r} to version {since}."
                )
                return
            raise CommandError(
                f"--version {target} is below version {since}, which {app_label}.{reached.migration} brings prefix "
                f"{prefix!r} to: to move it down, unapply migrations (`manage.py migrate {app_label} NAME`)."
            )
        no_schema: dict[str, Any] = {"create_schema": False} if options["no_create_schema"] else {}
        operation = MigratePhoenixKit(version=target, prefix=prefix, **no_schema, from_version=since)
        migration = self._migration(loader, app_label, options["name"] or name_fragment(prefix, since, target), operation)
        writer = MigrationWriter(migration)
        path = Path(writer.path)
        if path.exists():
            raise CommandError(f"{path} already exists: choose another --name.")
        path.write_text(writer.as_string(), encoding="utf-8")
        run_formatters([str(path)], stderr=self.stderr)
        if options["verbosity"] >= 1:
            self.stdout.write(f"Migrations for {app_label!r}:", self.style.MIGRATE_HEADING)
            self.stdout.write(f"  {path.relative_to(Path(package.__path__[0]).parents[1])}")
            self.stdout.write(f"    {operation.formatted_description()}")

    def _migrations_package(self, app_label: str) -> Any:
        try:
            apps.get_app_config(app_label)
        except LookupError:
            raise CommandError(f"App {app_label!r} is not installed: add it to INSTALLED_APPS, or check the label.") from None
        name, _ = MigrationLoader.migrations_module(app_label)
        if name is None:
            raise CommandError(f"App {app_label!r} has migrations disabled (MIGRATION_MODULES maps it to None).")
        try:
            package = import_module(name)
        except ModuleNotFoundError:
            package = None
        if package is None or not hasattr(package, "__path__"):
            raise CommandError(
                f"App {app_label!r} has no migrations package {name!r}: create it (a directory with an __init__.py)."
            )
        return package

    def _prefix(self, given: str | None) -> str:
        configured = None if conf.per_tenant() else conf.prefix()
        if given is None or given == configured:
            raise CommandError(
                f"Give --prefix, a prefix other than PHOENIX_KIT_PREFIX ({configured!r}): phoenix_kit's own migrations "
                f"install that one (`manage.py migrate phoenix_kit`)."
                if configured is not None
                else "Give --prefix: with PHOENIX_KIT_PREFIX = TENANT_SCHEMA phoenix_kit's own migrations install each tenant's."
            )
        return checked_prefix(given, "--prefix")

    def _reached(self, loader: MigrationLoader, app_label: str, prefix: str) -> Managed | None:
        """What ``app_label``'s migrations bring ``prefix`` to; refused when another app's manage it."""
        found = [managed for managed in managed_installs(loader) if managed.prefix == prefix]
        others = sorted({managed.app_label for managed in found} - {app_label})
        if others:
            raise CommandError(
                f"Prefix {prefix!r} is managed by the migrations of {', '.join(others)}: write its migrations there."
            )
        return found[0] if found else None

    def _migration(self, loader: MigrationLoader, app_label: str, name: str, operation: MigratePhoenixKit) -> Migration:
        if not name.isidentifier():
            raise CommandError(f"--name must be a valid Python identifier, got {name!r}.")
        leaves = loader.graph.leaf_nodes(app_label)
        if len(leaves) > 1:
            names = ", ".join(leaf for _, leaf in leaves)
            raise CommandError(f"App {app_label!r} has conflicting migrations ({names}): run `manage.py makemigrations --merge` first.")
        number = (MigrationAutodetector.parse_number(leaves[0][1]) or 0) + 1 if leaves else 1
        migration = Migration(f"{number:04d}_{name}", app_label)
        migration.dependencies = leaves
        migration.initial = not leaves
        migration.operations = [operation]
        # Upgrading an install whose tables may be large: outside a transaction, so a
        # version with an online form can take it (as phoenix_kit's own 0008 does).
        since = operation.from_version or 0
        migration.atomic = not (since and any(online_form(n, operation.prefix or "") for n in range(since + 1, operation.top + 1)))
        return migration
