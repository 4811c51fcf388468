"""A throwaway Django project whose own app manages PhoenixKit installs ("your own migrations").

Written into a temporary directory and run with ``python manage.py ...`` in
subprocesses. Its settings read the environment:

- ``DATABASE_URL``: the ``default`` alias (PostgreSQL), unless ``DEFAULT_SQLITE``
  is set: then ``default`` is SQLite at that path.
- ``OTHER_URL``: a second PostgreSQL alias ``other``.
- ``LEGACY_SQLITE``: a second alias ``legacy`` on SQLite at that path.
- ``PHOENIX_KIT_PREFIX``: default ``public``.

Apps: ``accounts`` and ``billing`` have an empty ``migrations`` package (for the
generator to write into), ``plain`` has none.
"""

from __future__ import annotations

from pathlib import Path

from tests.helpers import MANAGE_PY

SETTINGS = '''
import os

import environ

_env = os.environ
if _env.get("DEFAULT_SQLITE"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _env["DEFAULT_SQLITE"]}}
else:
    DATABASES = {"default": environ.Env.db_url_config(_env["DATABASE_URL"])}
if _env.get("OTHER_URL"):
    DATABASES["other"] = environ.Env.db_url_config(_env["OTHER_URL"])
if _env.get("LEGACY_SQLITE"):
    DATABASES["legacy"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": _env["LEGACY_SQLITE"]}

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "phoenix_kit",
    "accounts",
    "billing",
    "plain",
]
PHOENIX_KIT_PREFIX = _env.get("PHOENIX_KIT_PREFIX", "public")
SECRET_KEY = "your migrations project"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
'''


APPS_WITH_MIGRATIONS = ("accounts", "billing")
APP_WITHOUT_MIGRATIONS = "plain"


def write(directory: Path) -> Path:
    (directory / "manage.py").write_text(MANAGE_PY)
    (directory / "project_settings.py").write_text(SETTINGS)
    for app in APPS_WITH_MIGRATIONS:
        (directory / app / "migrations").mkdir(parents=True)
        (directory / app / "__init__.py").write_text("")
        (directory / app / "migrations" / "__init__.py").write_text("")
    (directory / APP_WITHOUT_MIGRATIONS).mkdir()
    (directory / APP_WITHOUT_MIGRATIONS / "__init__.py").write_text("")
    return directory


def migrations_dir(directory: Path, app: str = "accounts") -> Path:
    return directory / app / "migrations"
