"""System checks: settings errors, and django_migrations against the marker (database checks)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

import phoenix_kit as pk
from phoenix_kit.checks import check_migrations_recorded, check_settings
from phoenix_kit.prefix import PREFIX_RULE
from tests.django.conftest import Fresh


def test_valid_settings_pass() -> None:
    assert check_settings() == []


def test_invalid_prefix_is_an_error_with_the_rule(settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "pg_auth"
    (error,) = check_settings()
    assert error.id == "phoenix_kit.E001" and error.is_serious()
    assert "'pg_auth'" in error.msg and "reserved for PostgreSQL's system schemas" in error.msg
    assert PREFIX_RULE in str(error.hint) and PREFIX_RULE not in error.msg  # the reason once, the rule once


def test_invalid_lock_timeout_is_an_error(settings: Any) -> None:
    settings.PHOENIX_KIT_LOCK_TIMEOUT = -1
    (error,) = check_settings()
    assert error.id == "phoenix_kit.E002" and "got -1" in error.msg


# (setting, a bad value, its check id, what the check says, what the move raises)
BAD_SETTINGS = [
    *(("PHOENIX_KIT_DDL_LOCK_TIMEOUT", value, "E003", "PHOENIX_KIT_DDL_LOCK_TIMEOUT",
       "PHOENIX_KIT_DDL_LOCK_TIMEOUT must be a positive number of seconds") for value in (0, "0.1", float("nan"))),
    *(("PHOENIX_KIT_ONLINE", value, "E004", "PHOENIX_KIT_ONLINE must be one of 'auto', 'always', 'never'",
       "PHOENIX_KIT_ONLINE must be one of") for value in ("sometimes", True, None)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "code", "said", "raised"), BAD_SETTINGS, ids=[f"{b[0]}={b[1]!r}" for b in BAD_SETTINGS])
def test_an_invalid_setting_is_an_error_and_stops_a_move_before_any_sql(
    settings: Any, name: str, value: object, code: str, said: str, raised: str
) -> None:
    setattr(settings, name, value)
    (error,) = check_settings()
    assert error.id == f"phoenix_kit.{code}" and said in error.msg
    with pytest.raises(ValueError, match=raised):
        pk.up(using=object())  # refused before the connection is even looked at


def test_a_test_reset_setting_that_is_not_a_bool_is_an_error(settings: Any) -> None:
    settings.PHOENIX_KIT_TEST_RESET = "no"
    (error,) = check_settings()
    assert error.id == "phoenix_kit.E008" and "PHOENIX_KIT_TEST_RESET must be True or False, got 'no'" in error.msg


def test_database_check_runs_only_with_databases() -> None:
    assert check_migrations_recorded(databases=None) == []


@pytest.mark.django_db(transaction=True)
def test_disagreement_is_a_warning_naming_the_fix(fresh: Fresh) -> None:
    pk.up(version=5, using=fresh.alias, log=False)  # installed without Django: nothing recorded

    (warning,) = check_migrations_recorded(databases=[fresh.alias])
    assert warning.id == "phoenix_kit.W001"
    assert "records no phoenix_kit migration as applied but the marker says version 5" in warning.msg
    assert f"manage.py phoenixkit_migrate --database {fresh.alias} --mark 5" in str(warning.hint)

    fresh.command(mark="5", verbosity=0, interactive=False)
    assert check_migrations_recorded(databases=[fresh.alias]) == []
    err = StringIO()
    call_command("check", databases=[fresh.alias], stderr=err, stdout=StringIO())
    (line,) = [line for line in err.getvalue().splitlines() if "(phoenix_kit." in line]
    assert "(phoenix_kit.W004) PhoenixKit prefix 'public'" in line and "at version 5" in line  # behind, no longer W001


@pytest.mark.django_db(transaction=True)
def test_records_without_an_install_name_migrate_zero(fresh: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "auth"
    call_command("migrate", database=fresh.alias, verbosity=0)
    settings.PHOENIX_KIT_PREFIX = "billing"  # moved to a prefix with nothing installed

    (warning,) = check_migrations_recorded(databases=[fresh.alias])
    assert "marker says version 0" in warning.msg and "prefix 'billing'" in warning.msg
    assert f"manage.py migrate phoenix_kit zero --database {fresh.alias}" in str(warning.hint)


@pytest.mark.django_db(transaction=True)
def test_an_unreadable_marker_is_a_warning(fresh: Fresh) -> None:
    fresh.command(version="3", verbosity=0)
    fresh.conn.execute("COMMENT ON TABLE public.phoenix_kit IS NULL")

    (warning,) = check_migrations_recorded(databases=[fresh.alias])
    assert warning.id == "phoenix_kit.W002" and "--mark N" in str(warning.hint)


def test_tenant_schema_without_a_tenant_framework_is_an_error(settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = pk.TENANT_SCHEMA
    (error,) = check_settings()
    assert error.id == "phoenix_kit.E006" and error.is_serious()
    assert "neither django-tenants nor django-pgschemas is installed" in error.msg


def test_tenant_schema_needs_a_tenant_before_any_sql(settings: Any) -> None:
    """Without a tenant there is no prefix: each call says why before it connects."""
    from django.core.exceptions import ImproperlyConfigured

    settings.PHOENIX_KIT_PREFIX = pk.TENANT_SCHEMA
    with pytest.raises(ImproperlyConfigured, match="database 'default' does not know its tenant: its ENGINE must be"):
        pk.up(log=False)
    with pytest.raises(ValueError, match="pass prefix= .the tenant's schema.; only a Django database alias has a tenant"):
        pk.sql(0, 1)
    assert pk.sql(0, 1, prefix="Tenant-5").count('"Tenant-5"."phoenix_kit"') >= 1
