"""Actions on a tenant test project, run in its own process: ``python -m tests.tenants.tool ACTION ...``.

The project's settings module comes from ``DJANGO_SETTINGS_MODULE`` (django-tenants
or django-pgschemas); each action prints one JSON line for the test to read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import django


def _framework() -> str:
    from django.apps import apps

    return "django_tenants" if apps.is_installed("django_tenants") else "django_pgschemas"


def _tenant(schema: str) -> AbstractContextManager[Any]:
    """The context in which the default connection is on ``schema``."""
    if _framework() == "django_tenants":
        from django_tenants.utils import schema_context

        return schema_context(schema)
    from tests.tenants.pgs_customers.models import Tenant

    return Tenant.objects.get(schema_name=schema)


def create(*schemas: str) -> dict[str, Any]:
    """Create tenants the framework's way (their schema and migrations come with ``save()``)."""
    if _framework() == "django_tenants":
        from tests.tenants.customers.models import Client, Domain

        for schema in schemas:
            client = Client(schema_name=schema, name=schema)
            client.save()
            Domain(domain=f"{schema.lower()}.example.com", tenant=client, is_primary=True).save()
    else:
        from tests.tenants.pgs_customers.models import Tenant

        for schema in schemas:
            Tenant(schema_name=schema).save()
    return {"created": list(schemas)}


def add_user(schema: str, email: str) -> dict[str, Any]:
    """Insert a user through the tenant's connection, names unqualified as an application writes them."""
    from django.db import connection

    with _tenant(schema), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO phoenix_kit_users (email, hashed_password, inserted_at, updated_at) "
            "VALUES (%s, 'x', now(), now())",
            [email],
        )
    return {"added": email}


def users(schema: str) -> dict[str, Any]:
    from django.db import connection

    with _tenant(schema), connection.cursor() as cursor:
        cursor.execute("SELECT email::text FROM phoenix_kit_users ORDER BY id")
        return {"users": [email for (email,) in cursor.fetchall()]}


ACTIONS: dict[str, Callable[..., dict[str, Any]]] = {"create": create, "add_user": add_user, "users": users}


def main(argv: list[str]) -> None:
    django.setup()
    action, *args = argv
    print(json.dumps(ACTIONS[action](*args)))


if __name__ == "__main__":
    main(sys.argv[1:])
