"""``ApplyVersion(N)``: the migration operation behind ``phoenix_kit/migrations/00NN_vNN``.

Forwards it runs ``up(version=N)``, backwards ``down(version=N)``, on the
prefix configured when it runs (so ``override_settings`` works; with
``TENANT_SCHEMA``, the schema of the tenant being migrated). The core
no-ops when the prefix is already there, so a version applied by other
means (the command, ``ensure_current``, Elixir PhoenixKit) is not an error.
Inside Django's per-migration transaction the core's steps are savepoints;
the migrations of versions with an online form are ``atomic = False``, so the
core can take it. Under ``sqlmigrate`` it emits the step's transactional SQL
instead (in a transaction of its own where Django opens none).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import router
from django.db.backends.base.schema import BaseDatabaseSchemaEditor as SchemaEditor
from django.db.migrations.operations.base import Operation

from . import conf
from .migration import down, up
from .plan import Direction, check_version, get_step
from .prefix import creates_schema
from .django_db import DjangoDatabase
from .script import PIN_SEARCH_PATH, step_statements
from .tenants import SHARED_INSTALL_FIX, shared_install_problem

try:  # Django >= 5.1 shows it in makemigrations/squashmigrations output
    from django.db.migrations.operations.base import OperationCategory

    _CATEGORY: Any = OperationCategory.SQL
except ImportError:  # pragma: no cover - Django 4.2, 5.0
    _CATEGORY = None


class ApplyVersion(Operation):
    reversible = True
    reduces_to_sql = True
    category = _CATEGORY

    def __init__(self, number: int) -> None:
        self.number = check_version(number)

    def describe(self) -> str:
        version = get_step(self.number, "up").version
        where = "the tenant's schema" if conf.per_tenant() else f"prefix {conf.prefix()!r}"
        where += " (PHOENIX_KIT_PREFIX)"
        return f"Apply PhoenixKit {version.label} ({version.description}) to {where}"

    @property
    def migration_name_fragment(self) -> str:
        return f"v{self.number:02d}"

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # no models: the schema lives outside Django's model state

    def database_forwards(self, app_label: str, schema_editor: SchemaEditor, from_state: Any, to_state: Any) -> None:
        self._run(app_label, schema_editor, "up")

    def database_backwards(self, app_label: str, schema_editor: SchemaEditor, from_state: Any, to_state: Any) -> None:
        self._run(app_label, schema_editor, "down")

    def _run(self, app_label: str, schema_editor: SchemaEditor, direction: Direction) -> None:
        alias = schema_editor.connection.alias
        if not router.allow_migrate(alias, app_label):
            return
        shared = shared_install_problem()  # django-pgschemas' migrate runs no system checks: refuse here too
        if shared is not None:
            raise ImproperlyConfigured(f"{shared}. {SHARED_INSTALL_FIX}")
        if schema_editor.collect_sql:  # sqlmigrate: the step's own SQL, marker write included
            prefix = conf.valid_prefix(alias)
            step = get_step(self.number, direction)
            statements = [PIN_SEARCH_PATH, *step_statements(step, prefix, creates_schema(None, prefix))]
            if not schema_editor.atomic_migration:  # the online-capable versions: Django adds no BEGIN
                statements = ["BEGIN ISOLATION LEVEL READ COMMITTED", *statements, "COMMIT"]
            for statement in statements:
                schema_editor.execute(statement, params=None)
            return
        # This migration's transaction is ours, and Django has sent nothing in
        # it yet: make it READ COMMITTED, whatever OPTIONS["isolation_level"]
        # says, so the steps see the data as of holding their locks.
        database = DjangoDatabase(alias)
        if database.transaction_state() == "open" and not database.server_transaction_started():
            database.fetchall("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        if direction == "up":
            up(version=self.number, using=alias, log=False)
        else:
            down(version=self.number, using=alias, log=False)
