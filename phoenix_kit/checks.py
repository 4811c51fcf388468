"""System checks: phoenix_kit's settings and databases, django_migrations against the marker, installs behind.

The checks that query a database only run when Django passes ``databases``
(``check --database alias``, ``migrate``), per Django's convention.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connections, router

from . import conf, records
from .managed import managed_installs
from .plan import latest_version
from .prefix import PREFIX_RULE, prefix_problem, validate_prefix
from .status import named, prefix_status
from .tenants import SHARED_INSTALL_FIX, shared_install_problem, tenant_apps


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    errors = _tenant_errors()
    try:
        if not conf.per_tenant():
            validate_prefix(conf.prefix())
    except ValueError as exc:
        errors.append(
            Error(
                f"PHOENIX_KIT_PREFIX {conf.prefix()!r} is invalid: {prefix_problem(conf.prefix())}.",
                hint=f"Set PHOENIX_KIT_PREFIX to a valid PostgreSQL schema name: {PREFIX_RULE}.",
                id="phoenix_kit.E001",
            )
        )
    timeouts = (
        (conf.lock_timeout, "PHOENIX_KIT_LOCK_TIMEOUT to the seconds a step may wait for its locks, e.g. 60", "E002"),
        (conf.ddl_lock_timeout, "PHOENIX_KIT_DDL_LOCK_TIMEOUT to the seconds one lock attempt may wait, e.g. 0.1", "E003"),
        (conf.online, 'PHOENIX_KIT_ONLINE to "auto" (the default), "always" or "never"', "E004"),
        (conf.test_reset, "PHOENIX_KIT_TEST_RESET to True (the default) or False", "E008"),
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
        unreachable = _unreachable(alias)
        if unreachable is not None:
            messages.append(unreachable)
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


ROUTER_DOC = "docs/usage.md, \"Databases and routers\""


def check_databases(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Some database phoenix_kit migrates is PostgreSQL; the others are named, as its migrations skip them."""
    placed = tenant_apps()
    if placed is not None and placed.tenant:
        return []  # the tenant frameworks' routers place it per schema, on their PostgreSQL backends
    aliases = [alias for alias in connections if router.allow_migrate(alias, records.APP)]
    others = [alias for alias in aliases if connections[alias].vendor != "postgresql"]
    if len(others) == len(aliases):
        where = ", ".join(f"{alias!r} is {connections[alias].vendor}" for alias in others) or "the routers allow none"
        return [
            Error(
                f"No database phoenix_kit migrates is PostgreSQL ({where}), so its migrations would do nothing.",
                hint=f"Point a DATABASES alias at PostgreSQL and let phoenix_kit migrate there ({ROUTER_DOC}).",
                id="phoenix_kit.E007",
            )
        ]
    return [
        Warning(
            f"Database {alias!r} is {connections[alias].vendor}: PhoenixKit operations (phoenix_kit's migrations, "
            f"MigratePhoenixKit) do nothing there.",
            hint=f"A database router that keeps phoenix_kit off it silences this ({ROUTER_DOC}).",
            id="phoenix_kit.W003",
        )
        for alias in others
    ]


def check_installs_current(
    app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every install a migration manages (and the configured prefix) is at the latest version, or says how to get there."""
    latest = latest_version()
    messages: list[CheckMessage] = []
    managed_by_apps = managed_installs() if databases else []  # read from the migration files once
    configured = conf.prefix()
    for alias in databases or ():
        if connections[alias].vendor != "postgresql" or _unreachable(alias) is not None:
            continue  # W003 names it, or check_migrations_recorded says it cannot connect
        # prefix -> (the version the migrations reach, the app whose migrations manage it)
        reach: dict[str, tuple[int, str]] = {}
        if records.applies(alias) and isinstance(configured, str) and prefix_problem(configured) is None:
            reach[configured] = (latest, records.APP)  # TENANT_SCHEMA: migrate_schemas checks each tenant
        for managed in managed_by_apps:
            if managed.prefix is not None and records.applies(alias, managed.app_label):
                reach[managed.prefix] = (managed.version, managed.app_label)
        for status in named(sorted(reach), using=alias) if reach else ():
            if status.version is None or not 0 < status.version < latest:
                continue  # not installed, or W002 says what is wrong with it
            version, app = reach[status.prefix]
            if version < latest:
                hint = f"Run `manage.py phoenixkit_makemigration {app} --prefix {status.prefix}`, then `manage.py migrate`."
            else:
                hint = f"Run `manage.py migrate --database {alias}`: the migrations of {app} bring it to version {latest}."
            messages.append(
                Warning(
                    f"PhoenixKit prefix {status.prefix!r} of database {alias!r} is at version {status.version}, "
                    f"behind this release's {latest}.",
                    hint=hint,
                    id="phoenix_kit.W004",
                )
            )
    return messages


def _unreachable(alias: str) -> CheckMessage | None:
    """A warning when ``alias``'s server does not answer (the database checks cannot run), else None."""
    try:
        connections[alias].ensure_connection()
    except OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Warning(
            f"Cannot connect to database {alias!r} to check its PhoenixKit installs: {first}",
            hint="Start the server or fix settings.DATABASES, then run `manage.py check --database` again.",
            id="phoenix_kit.W005",
        )
    return None
