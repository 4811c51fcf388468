"""Schema-per-tenant projects: django-tenants and django-pgschemas.

With ``PHOENIX_KIT_PREFIX = phoenix_kit.TENANT_SCHEMA`` the prefix is the schema
the connection is on (django-tenants' ``connection.schema_name``,
django-pgschemas' active schema), so ``migrate_schemas`` gives every tenant an
install of its own. Both frameworks' routers already say whether phoenix_kit
belongs in that schema (a tenant app, a shared app): a prefix is only resolved
where the router allows phoenix_kit, so the public schema gets an install only
when phoenix_kit is a shared app too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router

from .prefix import PREFIX_RULE, prefix_problem

APP = "phoenix_kit"
_NAMES = (APP, "phoenix_kit.apps.PhoenixKitConfig")


def active_schema(alias: str) -> str | None:
    """The schema the alias's connection is on, as its tenant framework says; None without one."""
    name = getattr(connections[alias], "schema_name", None)  # django-tenants' backend sets it
    if isinstance(name, str):
        return name
    if apps.is_installed("django_pgschemas"):
        from django_pgschemas.schema import get_current_schema

        schema = get_current_schema()
        return None if schema is None else str(schema.schema_name)
    return None


def tenant_prefix(using: object) -> str:
    """The prefix of the tenant ``using`` is on; ``ValueError`` or ``ImproperlyConfigured`` saying why there is none."""
    setting = "PHOENIX_KIT_PREFIX is phoenix_kit.TENANT_SCHEMA"
    if not isinstance(using, str):
        raise ValueError(f"{setting}: pass prefix= (the tenant's schema); only a Django database alias has a tenant.")
    schema = active_schema(using)
    if schema is None:
        raise ImproperlyConfigured(
            f"{setting} but database {using!r} does not know its tenant: its ENGINE must be "
            f"django-tenants' or django-pgschemas' backend."
        )
    if router.allow_migrate(using, APP) is False:
        raise ValueError(
            f"{setting} and database {using!r} is on schema {schema!r}, where phoenix_kit is not installed "
            f"(the tenant routers keep it out): activate a tenant first, or name the prefix."
        )
    problem = prefix_problem(schema)
    if problem is not None:
        raise ValueError(f"Tenant schema {schema!r} cannot hold a PhoenixKit install: {problem}; {PREFIX_RULE}.")
    return schema


@dataclass(frozen=True)
class TenantApps:
    """Where a tenant framework's settings list phoenix_kit."""

    framework: str
    setting: str  # the setting that lists tenant apps, as the user writes it
    tenant: bool  # phoenix_kit migrates in tenant schemas
    shared: bool  # and in the public schema


def tenant_apps() -> TenantApps | None:
    """How the installed tenant framework's settings place phoenix_kit; None without one."""
    if apps.is_installed("django_tenants"):
        types = getattr(settings, "TENANT_TYPES", None) if getattr(settings, "HAS_MULTI_TYPE_TENANTS", False) else None
        if types:  # multi-type tenants: each type lists its apps, "public" the shared ones
            tenant = any(_lists(spec.get("APPS", ())) for name, spec in types.items() if name != "public")
            shared = _lists(types.get("public", {}).get("APPS", ()))
            return TenantApps("django-tenants", 'TENANT_TYPES[...]["APPS"]', tenant, shared)
        return TenantApps(
            "django-tenants", "TENANT_APPS",
            _lists(getattr(settings, "TENANT_APPS", ())), _lists(getattr(settings, "SHARED_APPS", ())),
        )
    if apps.is_installed("django_pgschemas"):
        tenants = getattr(settings, "TENANTS", {})
        tenant = any(_lists(spec.get("APPS", ())) for name, spec in tenants.items() if name != "public")
        shared = _lists(tenants.get("public", {}).get("APPS", ()))
        return TenantApps("django-pgschemas", 'TENANTS["default"]["APPS"]', tenant, shared)
    return None


def shared_install_problem() -> str | None:
    """Why the settings would give every tenant one shared install (a tenant app with a fixed prefix), or None."""
    from . import conf

    placed = tenant_apps()
    if placed is None or not placed.tenant or conf.per_tenant():
        return None
    return (
        f"phoenix_kit is in {placed.setting} ({placed.framework}) but PHOENIX_KIT_PREFIX is {conf.prefix()!r}: "
        f"every tenant's migrations would install into that one schema, and all tenants would share its rows"
    )


SHARED_INSTALL_FIX = "Set PHOENIX_KIT_PREFIX = phoenix_kit.TENANT_SCHEMA, so that each tenant gets an install in its own schema."


def _lists(names: Iterable[str]) -> bool:
    return any(name in _NAMES for name in names)
