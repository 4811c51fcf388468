"""Settings of the example project, from the environment (django-environ).

``DATABASE_URL``, ``PHOENIX_KIT_PREFIX``, ``DEBUG``, ``SECRET_KEY`` and
``ALLOWED_HOSTS`` have development defaults. Without ``DATABASE_URL`` an
embedded PostgreSQL is started with its data in ``example_project/.pgdata``
(ignored by git) and reused by every later run, so ``python
example_project/manage.py migrate`` works on a machine with only Python.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
# A development-only key: set SECRET_KEY anywhere that is not your machine.
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-phoenix-kit-example-project-development-only")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

if "DATABASE_URL" in env:
    DATABASE_URL = env.str("DATABASE_URL")
else:
    from phoenix_kit import embedded

    DATABASE_URL = embedded.start(BASE_DIR / ".pgdata", keep=True)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}

# The PostgreSQL schema PhoenixKit is installed into by `manage.py migrate`.
PHOENIX_KIT_PREFIX = env.str("PHOENIX_KIT_PREFIX", default="public")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "phoenix_kit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
