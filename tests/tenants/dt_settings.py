"""A django-tenants project with phoenix_kit as a tenant app (tests/tenants).

Environment: ``DATABASE_URL`` (the project's own database), and to vary the
configuration between runs of the same project: ``PK_PLACE`` = ``tenant``
(default: a tenant app only), ``shared`` (a shared app too) or ``absent`` (not
installed yet), and ``PK_FIXED_PREFIX`` (a fixed PHOENIX_KIT_PREFIX, the
configuration the system check refuses).
"""

from __future__ import annotations

import os

import environ

from phoenix_kit import TENANT_SCHEMA

_place = os.environ.get("PK_PLACE", "tenant")

DATABASES = {
    "default": {**environ.Env.db_url_config(os.environ["DATABASE_URL"]), "ENGINE": "django_tenants.postgresql_backend"}
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
SHARED_APPS = ["django_tenants", "django.contrib.contenttypes", "tests.tenants.customers"] + (["phoenix_kit"] if _place == "shared" else [])
TENANT_APPS = ["django.contrib.contenttypes"] + ([] if _place == "absent" else ["phoenix_kit"])
INSTALLED_APPS = list(dict.fromkeys(SHARED_APPS + TENANT_APPS))
TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"
PHOENIX_KIT_PREFIX = os.environ.get("PK_FIXED_PREFIX") or TENANT_SCHEMA
SECRET_KEY = "phoenix_kit tenant tests"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
