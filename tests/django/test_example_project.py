"""The example project, driven through manage.py as its users do, on a fresh database."""

from __future__ import annotations

import os
from collections.abc import Callable

from tests.django.conftest import manage
from tests.helpers import database_url

HOME_PAGE = """
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
response = Client().get("/")
print(response.status_code)
print(response.content.decode())
"""


def test_migrate_check_and_home_page(make_database: Callable[[], str]) -> None:
    env = {**os.environ, "DATABASE_URL": database_url(make_database()), "PHOENIX_KIT_PREFIX": "auth"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    migrated = manage("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "Applying phoenix_kit.0016_v16... OK" in migrated.stdout

    checked = manage("check", "--database", "default", env=env)
    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues (0 silenced)." in checked.stdout
    assert checked.stderr.strip() == ""

    page = manage("shell", "--verbosity", "0", "--command", HOME_PAGE, env=env)
    assert page.returncode == 0, page.stderr
    status, html = page.stdout.split("\n", 1)
    assert status == "200"
    assert "<td><code>auth</code> (configured)</td>" in html
    assert "<td>16</td>" in html and "none: up to date" in html

