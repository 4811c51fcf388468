"""Django settings for the benchmarks' child processes: the database is ``DATABASE_URL``.

``BENCH_LOG_SQL=1`` logs every query Django's connection runs to stderr (to count them).
"""

from __future__ import annotations

import os

import environ

DATABASES = {"default": environ.Env.db_url_config(os.environ["DATABASE_URL"])}
INSTALLED_APPS = ["phoenix_kit"]
SECRET_KEY = "phoenix_kit benchmarks"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("BENCH_LOG_SQL"):
    DEBUG = True  # Django logs queries only with DEBUG
    LOGGING = {
        "version": 1,
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "sql"}},
        "formatters": {"sql": {"format": "SQL\t%(duration).6f\t%(sql)r"}},
        "loggers": {"django.db.backends": {"handlers": ["stderr"], "level": "DEBUG", "propagate": False}},
    }
