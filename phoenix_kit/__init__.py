"""phoenix_kit: PhoenixKit's database schema and the versioned migration core that owns it."""

from __future__ import annotations

from .errors import (
    ConcurrentMigrationError,
    LockTimeoutError,
    MarkerError,
    PhoenixKitError,
    SchemaMissingError,
    StepFailedError,
)
from .migration import down, ensure_current, latest_version, mark, migrated_version, plan, sql, up

__all__ = [
    "ConcurrentMigrationError",
    "LockTimeoutError",
    "MarkerError",
    "PhoenixKitError",
    "SchemaMissingError",
    "StepFailedError",
    "down",
    "ensure_current",
    "latest_version",
    "mark",
    "migrated_version",
    "plan",
    "sql",
    "up",
]
