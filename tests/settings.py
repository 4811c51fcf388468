"""Django settings for the test suite.

The database is the server in ``DATABASE_URL`` or, when it is not set, an
embedded PostgreSQL started for this test session (data in a temporary
directory, deleted at exit). Either way it must answer: there is no fallback.
"""

from __future__ import annotations

import os
import tempfile

import environ

from phoenix_kit import embedded

if not os.environ.get("DATABASE_URL"):
    # Child processes (subprocess tests) inherit the URL and reuse this server.
    os.environ["DATABASE_URL"] = embedded.start(
        os.path.join(tempfile.mkdtemp(prefix="phoenix_kit_tests_"), "pgdata"), keep=False
    )

DATABASE_URL = os.environ["DATABASE_URL"]
DATABASES = {"default": environ.Env.db_url_config(DATABASE_URL)}
INSTALLED_APPS = ["phoenix_kit"]
SECRET_KEY = "phoenix_kit tests"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
