"""phoenix_kit as a tenant app of django-tenants and django-pgschemas: one install per tenant schema (issue 11).

Each framework's own commands do the work (``migrate_schemas``, ``migrate -as``,
a tenant model's ``save()``); the tests read the catalog and each schema's
``django_migrations``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

import phoenix_kit as pk
from phoenix_kit.records import migration_names
from tests.tenants.conftest import Project

LATEST = str(pk.latest_version())
ALL = migration_names()


@dataclass(frozen=True)
class Framework:
    settings: str
    tenants: tuple[str, ...]  # schema names the framework accepts (the first two tried on us below)
    late: str
    migrate_shared: tuple[str, ...]
    migrate_all: tuple[str, ...]
    executors: dict[str, tuple[str, ...]]  # name: the extra arguments that choose it
    tenant_setting: str

    def migrate(self, executor: str = "") -> tuple[str, ...]:
        return (*self.migrate_all, *self.executors.get(executor, ()))


DJANGO_TENANTS = Framework(
    "tests.tenants.dt_settings",
    # Names django-tenants gives tenants that the old lowercase, 20-byte prefix rule refused.
    ("acme-corp", "Tenant5", "customer_acme_corporation_eu"),
    "Late-Comer",
    ("migrate_schemas", "--shared"),
    ("migrate_schemas",),
    {"standard": ("--executor", "standard"), "multiprocessing": ("--executor", "multiprocessing")},
    "TENANT_APPS (django-tenants)",
)
# django-pgschemas takes [_a-zA-Z][_a-zA-Z0-9]* names, and sets its search_path
# unquoted, so only lower-case ones work with it at all.
PGSCHEMAS = Framework(
    "tests.tenants.pgs_settings",
    ("acme", "tenant_5", "customer_acme_corporation_eu"),
    "late_comer",
    ("migrate", "-s", "public", "--noinput"),
    ("migrate", "-as", "--noinput"),
    {"sequential": (), "parallel": ("--parallel",)},
    'TENANTS["default"]["APPS"] (django-pgschemas)',
)
FRAMEWORKS = pytest.mark.parametrize("framework", [DJANGO_TENANTS, PGSCHEMAS], ids=["django-tenants", "django-pgschemas"])


@pytest.fixture
def project(make_project: Callable[[str], Project], framework: Framework) -> Project:
    """Three tenants made before phoenix_kit was installed (it is added to a live project)."""
    project = make_project(framework.settings)
    project.run(*framework.migrate_shared, "-v", "0", PK_PLACE="absent")
    for schema in framework.tenants:  # one process each: django-pgschemas with no tenant app finds only the first
        project.tool("create", schema, PK_PLACE="absent")
    return project


def _assert_installed_per_tenant(project: Project, tenants: tuple[str, ...]) -> None:
    for schema in tenants:
        assert project.marker(schema) == LATEST, schema
        assert project.recorded(schema) == ALL, schema
    # Not a shared app: no install in public (whose django_migrations may still list the
    # migrations: the frameworks record every app's, routed away or not).
    assert project.marker("public") is None


@FRAMEWORKS
@pytest.mark.parametrize("executor", [0, 1])
def test_migrating_all_schemas_installs_into_each_tenant(project: Project, framework: Framework, executor: int) -> None:
    name = list(framework.executors)[executor]
    project.run(*framework.migrate(name), "-v", "0")
    _assert_installed_per_tenant(project, framework.tenants)

    again = project.run(*framework.migrate(name))
    assert "Applying phoenix_kit" not in again.stdout and "No migrations to apply" in again.stdout


@FRAMEWORKS
def test_no_row_is_visible_across_tenants(project: Project, framework: Framework) -> None:
    first, second, third = framework.tenants
    project.run(*framework.migrate(), "-v", "0")
    project.tool("add_user", first, "one@first.example")
    project.tool("add_user", second, "two@second.example")
    assert project.tool("users", first) == {"users": ["one@first.example"]}
    assert project.tool("users", second) == {"users": ["two@second.example"]}
    assert project.tool("users", third) == {"users": []}


@FRAMEWORKS
def test_a_tenant_created_later_gets_its_install(project: Project, framework: Framework) -> None:
    project.run(*framework.migrate(), "-v", "0")
    project.tool("create", framework.late)  # the tenant model's save(): CREATE SCHEMA, then its migrations
    _assert_installed_per_tenant(project, (*framework.tenants, framework.late))
    assert project.tool("users", framework.late) == {"users": []}


@FRAMEWORKS
def test_phoenixkit_migrate_sees_every_tenant_and_keeps_their_records(project: Project, framework: Framework) -> None:
    project.run(*framework.migrate(), "-v", "0")
    status = project.run("phoenixkit_migrate", "--status", "--all-prefixes").stdout
    for schema in framework.tenants:
        assert f"  {schema} " in status and f"version {LATEST}, up to date" in status
    assert "public" not in status

    project.run("phoenixkit_migrate", "--all-prefixes", "--to", "12", "--noinput")
    for schema in framework.tenants:
        assert project.marker(schema) == "12" and project.recorded(schema) == ALL[:12], schema
    again = project.run(*framework.migrate())  # each tenant's records say 12: its 13-16 are applied again
    assert again.stdout.count("Applying phoenix_kit.0016_v16... OK") == len(framework.tenants)
    _assert_installed_per_tenant(project, framework.tenants)


@FRAMEWORKS
def test_phoenix_kit_as_a_shared_app_too_installs_into_public(project: Project, framework: Framework) -> None:
    project.run(*framework.migrate(), "-v", "0", PK_PLACE="shared")
    assert project.marker("public") == LATEST and project.recorded("public") == ALL
    for schema in framework.tenants:
        assert project.marker(schema) == LATEST, schema


@FRAMEWORKS
def test_without_a_tenant_the_command_says_what_to_do(project: Project, framework: Framework) -> None:
    result = project.run("phoenixkit_migrate", check=False)
    assert result.returncode == 1
    assert "PHOENIX_KIT_PREFIX is phoenix_kit.TENANT_SCHEMA and database 'default' is on schema 'public'" in result.stderr
    tenant = framework.tenants[1]
    project.run("phoenixkit_migrate", "--prefix", tenant, "-v", "0")
    assert project.marker(tenant) == LATEST and project.recorded(tenant) == ALL


@FRAMEWORKS
def test_one_install_shared_by_all_tenants_is_refused(project: Project, framework: Framework) -> None:
    """phoenix_kit as a tenant app with a fixed prefix: the check says so, and no migration runs."""
    result = project.run("check", check=False, PK_FIXED_PREFIX="public")
    assert result.returncode == 1
    assert "phoenix_kit.E005" in result.stderr and f"phoenix_kit is in {framework.tenant_setting}" in result.stderr
    assert "PHOENIX_KIT_PREFIX = phoenix_kit.TENANT_SCHEMA" in result.stderr
    # django-tenants runs the checks first; django-pgschemas' migrate runs none, and the operation refuses.
    result = project.run(*framework.migrate(), check=False, PK_FIXED_PREFIX="public")
    assert result.returncode == 1
    assert "every tenant's migrations would install into that one schema" in result.stderr
    assert project.query("SELECT count(*) FROM pg_tables WHERE tablename = 'phoenix_kit'") == [(0,)]
    assert project.run("check").returncode == 0
