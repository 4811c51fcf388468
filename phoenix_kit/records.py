"""phoenix_kit's rows in ``django_migrations``, kept equal to the configured prefix's marker.

Migration ``00NN_vNN`` applies version NN, so a database whose configured
prefix is at version N should record exactly ``0001`` … ``000N``. The marker
is the truth; these rows only keep ``showmigrations`` and ``migrate`` honest.
With ``TENANT_SCHEMA`` every tenant schema holds its own ``django_migrations``
(django-tenants, django-pgschemas), describing the install beside it.
"""

from __future__ import annotations

import pkgutil
import re

from django.db import connections, router
from django.db.migrations.recorder import MigrationRecorder

from . import conf
from .django_db import DjangoDatabase
from .sqltext import quote_ident
from .trust import ACTING, trusted

APP = "phoenix_kit"


def migration_names() -> list[str]:
    """The app's migration names, in order (index N-1 applies version N)."""
    from . import migrations

    return sorted(info.name for info in pkgutil.iter_modules(migrations.__path__) if re.match(r"\d{4}_", info.name))


def applies(alias: str, app_label: str = APP) -> bool:
    """Whether PhoenixKit operations in ``app_label``'s migrations run on this database: PostgreSQL, and routed there."""
    return connections[alias].vendor == "postgresql" and bool(router.allow_migrate(alias, app_label))


def recorded(alias: str) -> set[str]:
    """The phoenix_kit migrations recorded as applied (only names the app still ships)."""
    recorder = MigrationRecorder(connections[alias])
    known = set(migration_names())
    return {name for app, name in recorder.applied_migrations() if app == APP and name in known}


def recorded_version(names: set[str]) -> int | None:
    """N when ``names`` is exactly the first N migrations, else None."""
    expected = migration_names()[: len(names)]
    return len(names) if set(expected) == names else None


def disagreement(alias: str, version: int) -> str | None:
    """Why ``django_migrations`` on ``alias`` disagrees with marker ``version``, or None."""
    names = recorded(alias)
    count = recorded_version(names)
    if count == version:
        return None
    if not names:
        listed = "no phoenix_kit migration"
    elif count is not None:  # a prefix of the chain, the usual case: name its ends
        first, last = migration_names()[0], migration_names()[count - 1]
        listed = f"phoenix_kit {first} to {last}" if count > 1 else f"phoenix_kit {first}"
    else:
        listed = "phoenix_kit " + ", ".join(sorted(names))
    return f"django_migrations records {listed} as applied but the marker says version {version}"


def sync(alias: str, version: int) -> None:
    """Record exactly the first ``version`` migrations as applied on ``alias``."""
    names = migration_names()
    wanted = set(names[:version])
    have = recorded(alias)
    recorder = MigrationRecorder(connections[alias])
    for name in names:
        if name in wanted and name not in have:
            recorder.record_applied(APP, name)
    for name in reversed(names):
        if name in have and name not in wanted:
            recorder.record_unapplied(APP, name)


def keep(alias: str, prefix: str, version: int, *, changed: bool = True) -> None:
    """After ``prefix`` moved to (or was found at) ``version``: the records that describe it say so.

    A fixed prefix: the alias's ``django_migrations``, for the configured prefix
    only. ``TENANT_SCHEMA``: the tenant schema's own table, when it has one and
    the marker ``changed`` (a no-op over many tenants stays one query).
    """
    if conf.per_tenant():
        if changed:
            _sync_schema(alias, prefix, version)
    elif prefix == conf.prefix() and applies(alias):
        sync(alias, version)


def _sync_schema(alias: str, schema: str, version: int) -> None:
    """``sync`` on ``schema``'s own ``django_migrations``, named with its schema (any tenant may be active).

    Only a table owned by a role the migrating role acts for is written: a
    trigger another role attached to it would run with our rights (``trust``).
    """
    db = DjangoDatabase(alias)
    table = f"{quote_ident(schema)}.django_migrations"
    names = migration_names()
    with db.atomic():
        found = db.fetchall(
            f"""{ACTING}
            SELECT {trusted("c.relowner")} FROM pg_catalog.pg_class AS c
              JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
             WHERE n.nspname OPERATOR(pg_catalog.=) %s AND c.relname OPERATOR(pg_catalog.=) 'django_migrations'
               AND c.relkind OPERATOR(pg_catalog.=) ANY ('{{r,p}}'::pg_catalog."char"[])""",
            [schema],
        )
        if found != [(True,)]:
            return  # none (not migrated by Django), or not ours to write
        db.fetchall(
            f"DELETE FROM {table} WHERE app OPERATOR(pg_catalog.=) %s AND name OPERATOR(pg_catalog.=) ANY (%s)",
            [APP, names[version:]],
        )
        db.fetchall(
            f"INSERT INTO {table} (app, name, applied) SELECT %s, wanted, pg_catalog.now() "
            f"FROM pg_catalog.unnest(%s::pg_catalog.text[]) AS wanted WHERE NOT EXISTS (SELECT FROM {table} "
            f"WHERE app OPERATOR(pg_catalog.=) %s AND name OPERATOR(pg_catalog.=) wanted)",
            [APP, names[:version], APP],
        )


def fix_hint(alias: str, version: int) -> str:
    """How to make django_migrations on ``alias`` agree with marker ``version``."""
    if version == 0:
        return (
            f"Nothing is installed there: run `manage.py migrate phoenix_kit zero --database {alias}` to clear "
            f"the records (nothing to roll back, so no SQL runs), or `manage.py phoenixkit_migrate --database {alias}` "
            f"to install and record the result."
        )
    return (
        f"Run `manage.py phoenixkit_migrate --database {alias} --mark {version}` to record version {version} "
        f"(no SQL runs), or `manage.py phoenixkit_migrate --database {alias}` to upgrade and record the result."
    )
