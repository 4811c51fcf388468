"""The Django app: migrations ``0001_v01`` … ``00NN_vNN``, the system checks, and migrate's output for operations."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate, pre_migrate


class PhoenixKitConfig(AppConfig):
    name = "phoenix_kit"
    verbose_name = "PhoenixKit"

    def ready(self) -> None:
        from .checks import check_databases, check_installs_current, check_migrations_recorded, check_settings
        from .migrate_output import forget, remember

        checks.register(check_settings)
        checks.register(check_databases)
        checks.register(check_migrations_recorded, checks.Tags.database)
        checks.register(check_installs_current, checks.Tags.database)
        pre_migrate.connect(remember, sender=self, dispatch_uid="phoenix_kit.migrate_output")
        post_migrate.connect(forget, sender=self, dispatch_uid="phoenix_kit.migrate_output")
