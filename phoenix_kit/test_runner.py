"""A Django test runner that keeps PhoenixKit current and pristine in the test databases.

``TEST_RUNNER = "phoenix_kit.test_runner.PhoenixKitDiscoverRunner"`` for
projects that use ``manage.py test``: after Django has created (or, with
``--keepdb``, reused) the test databases it brings each PostgreSQL one to the
latest version in ``PHOENIX_KIT_PREFIX`` and puts every install back as a fresh
install leaves it, in each ``--parallel`` clone too (clones are made before this
hook runs, and kept ones hold whatever an earlier run left). After each test,
``phoenix_kit.testcases.ResetPhoenixKitMixin`` does the same.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.test.runner import DiscoverRunner

from . import records
from .test_databases import close, prepare_test_databases, prepare_database


class PhoenixKitDiscoverRunner(DiscoverRunner):
    def setup_databases(self, **kwargs: Any) -> Any:
        config = super().setup_databases(**kwargs)
        aliases = set(kwargs.get("aliases") or ["default"])
        prepare_test_databases(aliases)
        for alias in sorted(aliases):
            if self.parallel > 1 and records.applies(alias):
                creation = connections[alias].creation
                for index in range(1, self.parallel + 1):
                    prepare_database(creation.get_test_db_clone_settings(str(index)), alias)
        close()  # before the workers fork, and so that the databases can be dropped at the end
        return config
