"""phoenix_kit: PhoenixKit's database schema and the versioned migration core that owns it."""

from __future__ import annotations

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
]
