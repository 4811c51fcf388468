"""The Django app: migrations ``0001_v01`` … ``00NN_vNN`` and the system checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class PhoenixKitConfig(AppConfig):
    name = "phoenix_kit"
    verbose_name = "PhoenixKit"

    def ready(self) -> None:
        from .checks import check_migrations_recorded, check_settings

        checks.register(check_settings)
        checks.register(check_migrations_recorded, checks.Tags.database)
