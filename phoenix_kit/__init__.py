"""phoenix_kit: PhoenixKit's database schema and the versioned migration core that owns it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .conf import TENANT_SCHEMA
from .errors import (
    ConcurrentMigrationError,
    ConnectionLostError,
    IsolationError,
    LockTimeoutError,
    MarkerError,
    PhoenixKitError,
    RepairError,
    SchemaMissingError,
    StepFailedError,
    TablesLockedError,
    UnsafeDatabaseError,
)
from .drift import Diagnosis, Difference, doctor, doctor_many
from .fanout import Move, PrefixResult, migrate_prefixes
from .migration import down, ensure_current, latest_version, mark, migrated_version, plan, sql, up
from .remedies import Adoption, Repaired, adopt, repair
from .status import Status, installed, named, prefix_status

try:
    __version__ = version("django-phoenix-kit")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "TENANT_SCHEMA",
    "Move",
    "PrefixResult",
    "Status",
    "Adoption",
    "Diagnosis",
    "Difference",
    "Repaired",
    "ConcurrentMigrationError",
    "ConnectionLostError",
    "IsolationError",
    "LockTimeoutError",
    "MarkerError",
    "PhoenixKitError",
    "RepairError",
    "SchemaMissingError",
    "StepFailedError",
    "TablesLockedError",
    "UnsafeDatabaseError",
    "adopt",
    "doctor",
    "doctor_many",
    "down",
    "ensure_current",
    "installed",
    "latest_version",
    "mark",
    "migrate_prefixes",
    "migrated_version",
    "named",
    "plan",
    "prefix_status",
    "repair",
    "sql",
    "up",
    "__version__",
]
