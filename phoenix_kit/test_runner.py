"""A Django test runner that keeps PhoenixKit current in the test databases.

``TEST_RUNNER = "phoenix_kit.test_runner.PhoenixKitDiscoverRunner"`` for
projects that use ``manage.py test``: after Django has created (or, with
``--keepdb``, reused) the test databases it brings each PostgreSQL one to the
latest version in ``PHOENIX_KIT_PREFIX``, so a stale kept database or one set
up without migrations still has every table.
"""

from __future__ import annotations

from typing import Any

from django.test.runner import DiscoverRunner

from . import migration, records


def ensure_current_test_databases(aliases: set[str]) -> None:
    """Bring each PostgreSQL alias's test database to the latest version.

    Aliases the routers keep phoenix_kit out of are left alone; so, with a tenant
    framework, is the public schema unless phoenix_kit is a shared app (tenants'
    installs come with the tenants a test creates, through ``migrate_schemas``).
    """
    for alias in sorted(aliases):
        if records.applies(alias):
            migration.ensure_current(using=alias)


class PhoenixKitDiscoverRunner(DiscoverRunner):
    def setup_databases(self, **kwargs: Any) -> Any:
        config = super().setup_databases(**kwargs)
        ensure_current_test_databases(set(kwargs.get("aliases") or ["default"]))
        return config
