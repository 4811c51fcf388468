"""System checks: phoenix_kit's settings, and django_migrations against the marker.

The database check only runs when Django passes ``databases`` (``check
--database alias``, ``migrate``), per Django's convention for checks that
query a database.
"""

from __future__ import annotations

from typing import Any, Sequence

from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured

from . import conf, records
from .prefix import PREFIX_RULE, validate_prefix
from .status import prefix_status
from .tenants import SHARED_INSTALL_FIX, shared_install_problem, tenant_apps


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    errors = _tenant_errors()
    try:
        if not conf.per_tenant():
            validate_prefix(conf.prefix())
    except ValueError as exc:
        errors.append(
            Error(
                f"PHOENIX_KIT_PREFIX is invalid: {exc}",
                hint=f"Set PHOENIX_KIT_PREFIX to a valid PostgreSQL schema name: {PREFIX_RULE}.",
                id="phoenix_kit.E001",
            )
        )
    timeouts = (
        (conf.lock_timeout, "PHOENIX_KIT_LOCK_TIMEOUT to the seconds a step may wait for its locks, e.g. 60", "E002"),
        (conf.ddl_lock_timeout, "PHOENIX_KIT_DDL_LOCK_TIMEOUT to the seconds one lock attempt may wait, e.g. 0.1", "E003"),
        (conf.online, 'PHOENIX_KIT_ONLINE to "auto" (the default), "always" or "never"', "E004"),
    )
    for read, hint, code in timeouts:
        try:
            read()
        except ValueError as exc:
            errors.append(Error(str(exc), hint=f"Set {hint}.", id=f"phoenix_kit.{code}"))
    return errors


def _tenant_errors() -> list[CheckMessage]:
    """A tenant app with a fixed prefix would give all tenants one shared install; TENANT_SCHEMA needs tenants."""
    shared = shared_install_problem()
    if shared is not None:
        return [Error(f"{shared}.", hint=SHARED_INSTALL_FIX, id="phoenix_kit.E005")]
    if conf.per_tenant() and tenant_apps() is None:
        return [
            Error(
                "PHOENIX_KIT_PREFIX is phoenix_kit.TENANT_SCHEMA but neither django-tenants nor django-pgschemas "
                "is installed, so no connection knows its tenant.",
                hint="Install and configure one of them, or set PHOENIX_KIT_PREFIX to a schema name.",
                id="phoenix_kit.E006",
            )
        ]
    return []


def check_migrations_recorded(
    app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias in databases or ():
        if not records.applies(alias):
            continue
        try:
            prefix = conf.valid_prefix(alias)
        except (ValueError, ImproperlyConfigured):
            continue  # E001 says so, or (TENANT_SCHEMA) no tenant is active: migrate_schemas checks each
        status = prefix_status(prefix, using=alias)
        where = f"prefix {prefix!r} of database {alias!r}"
        if status.problem is not None or status.version is None:
            messages.append(
                Warning(f"The PhoenixKit marker of {where} cannot be used.", hint=status.problem, id="phoenix_kit.W002")
            )
            continue
        problem = records.disagreement(alias, status.version)
        if problem is not None:
            hint = records.fix_hint(alias, status.version)
            messages.append(Warning(f"{problem} ({where}).", hint=hint, id="phoenix_kit.W001"))
    return messages

