"""A django-pgschemas project with phoenix_kit as a tenant app (tests/tenants).

Environment as in ``dt_settings``: ``DATABASE_URL``, ``PK_PLACE`` (``tenant``,
``shared`` or ``absent``) and ``PK_FIXED_PREFIX``.
"""

from __future__ import annotations

import os

import environ

from phoenix_kit import TENANT_SCHEMA

_place = os.environ.get("PK_PLACE", "tenant")

DATABASES = {
    "default": {**environ.Env.db_url_config(os.environ["DATABASE_URL"]), "ENGINE": "django_pgschemas.postgresql"}
}
DATABASE_ROUTERS = ["django_pgschemas.routers.TenantAppsRouter"]
TENANTS = {
    "public": {
        "APPS": ["django.contrib.contenttypes", "django.contrib.sessions", "django_pgschemas", "tests.tenants.pgs_customers"]
        + (["phoenix_kit"] if _place == "shared" else []),
    },
    "default": {
        "TENANT_MODEL": "pgs_customers.Tenant",
        "APPS": ["tests.tenants.notes"] + ([] if _place == "absent" else ["phoenix_kit"]),
        "URLCONF": "tests.tenants.urls",
    },
}
INSTALLED_APPS = list(dict.fromkeys(TENANTS["public"]["APPS"] + TENANTS["default"]["APPS"]))
PHOENIX_KIT_PREFIX = os.environ.get("PK_FIXED_PREFIX") or TENANT_SCHEMA
SECRET_KEY = "phoenix_kit tenant tests"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
