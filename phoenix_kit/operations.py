"""The Django migration operations that move PhoenixKit installs.

``ApplyVersion(N)`` is behind ``phoenix_kit/migrations/00NN_vNN``: forwards
``up(version=N)``, backwards ``down(version=N)``, on the prefix configured when it
runs (so ``override_settings`` works; with ``TENANT_SCHEMA``, the schema of the
tenant being migrated). ``MigratePhoenixKit`` is PhoenixKit's ``up``/``down`` pair
for the application's own migrations: another prefix, a pinned version.

Both share one way of running. They do nothing where the migration's app is
routed away or the database is not PostgreSQL, so ``migrate`` completes for
every other app. The core no-ops when the prefix is already there, so a version
applied by other means (the command, ``ensure_current``, Elixir PhoenixKit) is
not an error. Inside Django's per-migration transaction the core's steps are
savepoints; a migration that is ``atomic = False`` lets the core take a
version's online form. Under ``sqlmigrate`` they emit the steps' SQL instead.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.db.backends.base.schema import BaseDatabaseSchemaEditor as SchemaEditor
from django.db.migrations.operations.base import Operation

from . import conf
from .django_db import DjangoDatabase
from .errors import MarkerError
from .migrate_output import progress
from .migration import down, migrated_version, up
from .plan import Direction, Step, check_version, get_step, latest_version, plan
from .prefix import check_create_schema, creates_schema, validate_prefix
from .records import applies
from .script import PIN_SEARCH_PATH, step_statements
from .tenants import SHARED_INSTALL_FIX, shared_install_problem

try:  # Django >= 5.1 shows it in makemigrations/squashmigrations output
    from django.db.migrations.operations.base import OperationCategory

    _CATEGORY: Any = OperationCategory.SQL
except ImportError:  # pragma: no cover - Django 5.0
    _CATEGORY = None

# sqlmigrate runs nothing, so a second operation on the same prefix in one
# migration must start from where the first would have left it, not the marker.
_COLLECTED: WeakKeyDictionary[SchemaEditor, dict[str, int]] = WeakKeyDictionary()


class _PhoenixKitOperation(Operation):
    reversible = True
    reduces_to_sql = True
    category = _CATEGORY
    prefix: str | None = None  # None: the configured prefix
    create_schema: bool | None = None

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # no models: the schema lives outside Django's model state

    def database_forwards(self, app_label: str, schema_editor: SchemaEditor, from_state: Any, to_state: Any) -> None:
        self._run(app_label, schema_editor, "up")

    def database_backwards(self, app_label: str, schema_editor: SchemaEditor, from_state: Any, to_state: Any) -> None:
        self._run(app_label, schema_editor, "down")

    def _where(self) -> str:
        if self.prefix is not None:
            return f"prefix {self.prefix!r}"
        where = "the tenant's schema" if conf.per_tenant() else f"prefix {conf.prefix()!r}"
        return f"{where} (PHOENIX_KIT_PREFIX)"

    def _steps(self, alias: str, prefix: str, direction: Direction, schema_editor: SchemaEditor) -> list[Step]:
        """The steps sqlmigrate shows for this operation."""
        raise NotImplementedError

    def _move(self, alias: str, direction: Direction, log: Any) -> int:
        """Run the core's ``up`` or ``down``; returns the version reached."""
        raise NotImplementedError

    def _run(self, app_label: str, schema_editor: SchemaEditor, direction: Direction) -> None:
        alias = schema_editor.connection.alias
        if not applies(alias, app_label):
            return
        try:
            self._run_on(alias, schema_editor, direction)
        except (MarkerError, ImproperlyConfigured, ValueError) as exc:
            # What is wrong with the settings or the marker, not with a step: migrate
            # prints a CommandError as one line, as phoenixkit_migrate does.
            raise CommandError(str(exc)) from exc

    def _run_on(self, alias: str, schema_editor: SchemaEditor, direction: Direction) -> None:
        if self.prefix is None:
            shared = shared_install_problem()  # django-pgschemas' migrate runs no system checks: refuse here too
            if shared is not None:
                raise ImproperlyConfigured(f"{shared}. {SHARED_INSTALL_FIX}")
        if schema_editor.collect_sql:
            self._collect(alias, schema_editor, direction)
            return
        # This migration's transaction is ours, and Django has sent nothing in
        # it yet: make it READ COMMITTED, whatever OPTIONS["isolation_level"]
        # says, so the steps see the data as of holding their locks.
        database = DjangoDatabase(alias)
        if database.transaction_state() == "open" and not database.server_transaction_started():
            database.fetchall("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        with progress(alias, self.describe(), direction) as log:
            self._move(alias, direction, log)

    def _collect(self, alias: str, schema_editor: SchemaEditor, direction: Direction) -> None:
        """sqlmigrate: the SQL of the move from the marker, each step's marker write included."""
        prefix = conf.valid_prefix(alias) if self.prefix is None else self.prefix
        for step in self._steps(alias, prefix, direction, schema_editor):
            statements = [PIN_SEARCH_PATH, *step_statements(step, prefix, creates_schema(self.create_schema, prefix))]
            if not schema_editor.atomic_migration:  # Django adds no BEGIN: each step is a transaction, as when run
                statements = ["BEGIN ISOLATION LEVEL READ COMMITTED", *statements, "COMMIT"]
            for statement in statements:
                schema_editor.execute(statement, params=None)


class ApplyVersion(_PhoenixKitOperation):
    """Version ``number`` of the configured prefix: phoenix_kit's own migration ``00NN_vNN``."""

    def __init__(self, number: int) -> None:
        self.number = check_version(number)

    def describe(self) -> str:
        version = get_step(self.number, "up").version
        return f"Apply PhoenixKit {version.label} ({version.description}) to {self._where()}"

    @property
    def migration_name_fragment(self) -> str:
        return f"v{self.number:02d}"

    def _steps(self, alias: str, prefix: str, direction: Direction, schema_editor: SchemaEditor) -> list[Step]:
        return [get_step(self.number, direction)]  # the migration's own version, whatever the marker says

    def _move(self, alias: str, direction: Direction, log: Any) -> int:
        # One version: Django's line for the migration is all the progress there is.
        if direction == "up":
            return up(version=self.number, using=alias, log=False)
        return down(version=self.number, using=alias, log=False)


class MigratePhoenixKit(_PhoenixKitOperation):
    """PhoenixKit's ``up(...)``/``down(...)`` as one reversible operation of your own migration.

    Forwards: ``up(version, prefix, create_schema)``, never downgrading. Backwards:
    ``down(version, prefix)``, rolling back ``version`` and every version above
    it (``version=None``: everything). ``from_version`` (what
    ``phoenixkit_makemigration`` writes) makes the backwards undo exactly this
    migration: it rolls back to ``from_version`` and no further.
    """

    def __init__(
        self,
        version: int | None = None,
        *,
        prefix: str | None = None,
        create_schema: bool | None = None,
        from_version: int | None = None,
    ) -> None:
        self.version = None if version is None else check_version(version)
        self.prefix = None if prefix is None else validate_prefix(prefix)
        self.create_schema = check_create_schema(create_schema)
        if from_version is not None:
            check_version(from_version, "from_version", lowest=0)
            if from_version >= self.top:
                raise ValueError(f"from_version must be below version ({self.top}), got {from_version}")
        self.from_version = from_version

    @property
    def top(self) -> int:
        """The version forwards moves to (``version=None``: this release's latest)."""
        return latest_version() if self.version is None else self.version

    @property
    def _bottom(self) -> int:
        """The version backwards leaves."""
        if self.from_version is not None:
            return self.from_version
        return 0 if self.version is None else self.version - 1

    def describe(self) -> str:
        top = f"V{self.top:02d}" if self.version is not None else f"the latest version (V{self.top:02d})"
        if self.from_version is None:
            undone = "everything" if self._bottom == 0 else f"V{self.top:02d} and above"
            return f"Apply PhoenixKit up to {top} to {self._where()}; undone by rolling back {undone}"
        first = f"V{self.from_version + 1:02d}"
        versions = top if self.from_version + 1 == self.top else f"{first} to {top}"
        return f"Apply PhoenixKit {versions} to {self._where()}"

    @property
    def migration_name_fragment(self) -> str:
        return name_fragment(self.prefix, self.from_version or 0, self.top)

    def _steps(self, alias: str, prefix: str, direction: Direction, schema_editor: SchemaEditor) -> list[Step]:
        """The move from the marker (or where an earlier operation of this sqlmigrate left the prefix)."""
        reached = _COLLECTED.setdefault(schema_editor, {})
        current = reached[prefix] if prefix in reached else migrated_version(prefix, using=alias)
        target = max(current, self.top) if direction == "up" else min(current, self._bottom)
        reached[prefix] = target
        return plan(current, target)

    def _move(self, alias: str, direction: Direction, log: Any) -> int:
        if direction == "up":
            return up(self.version, prefix=self.prefix, create_schema=self.create_schema, using=alias, log=log)
        return down(None if self._bottom == 0 else self._bottom + 1, prefix=self.prefix, using=alias, log=log)


def name_fragment(prefix: str | None, from_version: int, to_version: int) -> str:
    """``phoenix_kit_auth`` for an install to the latest version, else ``phoenix_kit_auth_v08``."""
    name = "phoenix_kit" if prefix is None else f"phoenix_kit_{prefix.lower().replace('-', '_')}"
    if from_version == 0 and to_version == latest_version():
        return name
    return f"{name}_v{to_version:02d}"
