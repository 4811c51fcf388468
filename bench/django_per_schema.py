"""Helper of bench/fanout.py, not a benchmark: the way schema-per-tenant tools migrate today.

    python bench/django_per_schema.py PREFIX_FILE [--create-schemas]

(with DJANGO_SETTINGS_MODULE=bench_settings, DATABASE_URL and bench/ on PYTHONPATH,
as bench/fanout.py sets them). In ONE process, for each prefix of PREFIX_FILE
(one a line), the django-tenants way: create the schema (--create-schemas),
``SET search_path TO "<prefix>", public`` so ``django_migrations`` lives in the
prefix, then ``call_command("migrate", "phoenix_kit")`` under
``override_settings(PHOENIX_KIT_PREFIX=<prefix>)``. Prints the seconds the loop took.
"""

from __future__ import annotations

import sys
import time

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402


def main() -> None:
    prefixes = open(sys.argv[1]).read().split()
    create = "--create-schemas" in sys.argv[2:]
    start = time.perf_counter()
    for prefix in prefixes:
        with connection.cursor() as cursor:
            if create:
                cursor.execute(f'CREATE SCHEMA "{prefix}"')
            cursor.execute(f'SET search_path TO "{prefix}", public')
        with override_settings(PHOENIX_KIT_PREFIX=prefix):
            call_command("migrate", "phoenix_kit", verbosity=0, interactive=False)
    print(f"loop seconds: {time.perf_counter() - start:.6f}")


if __name__ == "__main__":
    main()
