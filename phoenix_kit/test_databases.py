"""PhoenixKit in Django's test databases: current at the start, pristine at the start and after transactional tests.

Shared by the pytest plugin (``phoenix_kit.testing``), the test runner and the
test case mixin. Each alias gets a connection of its own for the resets, kept
between tests: Django closes its connections after every transactional test,
and the reset's query stays prepared on this one. :func:`close` ends them
before the test databases are dropped (a database with a session cannot be).
``PHOENIX_KIT_TEST_RESET = False`` turns every reset off.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from django.db import connections

from . import conf, driver, migration, records
from .db import OwnDatabase
from .pristine import FreshInstall, Pristine

# (process, alias, database name) -> its reset; the process, so that a forked
# worker (Django's --parallel) never uses its parent's socket.
_resets: dict[tuple[int, str, str], tuple[OwnDatabase, Pristine]] = {}
# What fresh installs hold, learned once per process whatever the connection.
_fresh: dict[int, FreshInstall] = {}


def prepare_test_databases(aliases: Iterable[str]) -> None:
    """At the start of a run: every test database current (``PHOENIX_KIT_PREFIX``) and every install pristine.

    Aliases the routers keep phoenix_kit out of are left alone; so, with a tenant
    framework, is the public schema unless phoenix_kit is a shared app (tenants'
    installs come with the tenants a test creates, through ``migrate_schemas``).
    """
    for alias in sorted(aliases):
        if records.applies(alias):
            migration.ensure_current(using=alias)
    reset_test_databases(aliases)


def reset_test_databases(aliases: Iterable[str]) -> None:
    """Put every install of these aliases' databases back as a fresh install leaves it."""
    if not conf.test_reset():
        return
    for alias in sorted(aliases):
        if records.applies(alias):
            _reset_for(connections[alias].settings_dict, alias).reset()


def prepare_database(settings_dict: dict[str, Any], alias: str) -> None:
    """:func:`prepare_test_databases` for a database Django has no alias for (a ``--parallel`` clone)."""
    database = _connect(settings_dict, alias)
    try:
        if not conf.per_tenant():  # tenants' installs come with the tenants a test creates
            migration.ensure_current(using=database)
        if conf.test_reset():
            Pristine(database, _fresh).reset()
    finally:
        database.close()


def close() -> None:
    """End this process's reset connections."""
    for key in [key for key in _resets if key[0] == os.getpid()]:
        _resets.pop(key)[0].close()


def _reset_for(settings_dict: dict[str, Any], alias: str) -> Pristine:
    key = (os.getpid(), alias, str(settings_dict["NAME"]))
    found = _resets.get(key)
    if found is None or driver.closed(found[0].connection):
        database = _connect(settings_dict, alias)
        found = _resets[key] = (database, Pristine(database, _fresh))
    return found[1]


def _connect(settings_dict: dict[str, Any], alias: str) -> OwnDatabase:
    """A plain autocommit connection to the database ``settings_dict`` names, as Django would connect.

    Through the alias's backend, so with the project's driver (psycopg 3 or
    psycopg2) and its settings (psycopg 3's ``prepare_threshold`` included), but
    never from its pool, and with the driver's own cursors.
    """
    wrapper = connections[alias].__class__(settings_dict, alias)
    params = wrapper.get_connection_params()
    for django_only in ("cursor_factory", "context"):
        params.pop(django_only, None)
    connection = wrapper.Database.connect(**params)
    connection.autocommit = True
    return OwnDatabase(connection)
