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
    SchemaMissingError,
    StepFailedError,
    TablesLockedError,
    UnsafeDatabaseError,
)
from .migration import down, ensure_current, latest_version, mark, migrated_version, plan, sql, up

try:
    __version__ = version("django-phoenix-kit")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "TENANT_SCHEMA",
    "ConcurrentMigrationError",
    "ConnectionLostError",
    "IsolationError",
    "LockTimeoutError",
    "MarkerError",
    "PhoenixKitError",
    "SchemaMissingError",
    "StepFailedError",
    "TablesLockedError",
    "UnsafeDatabaseError",
    "down",
    "ensure_current",
    "latest_version",
    "mark",
    "migrated_version",
    "plan",
    "sql",
    "up",
    "__version__",
]
