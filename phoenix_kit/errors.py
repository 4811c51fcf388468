"""Exceptions raised by the migration core.

Bad arguments (prefix, version, connection) raise ``ValueError`` or
``TypeError`` before any SQL runs. Everything that depends on the database's
state raises a subclass of :class:`PhoenixKitError`.
"""

from __future__ import annotations

from collections.abc import Sequence


class PhoenixKitError(Exception):
    """Base class for errors about a database's PhoenixKit install."""


class MarkerError(PhoenixKitError):
    """The version marker cannot be trusted: unreadable, or newer than this release."""


class SchemaMissingError(PhoenixKitError):
    """``create_schema=False`` was given and the prefix's schema does not exist."""


class UnsafeDatabaseError(PhoenixKitError):
    """The move would run with the migrating role's rights on objects a role it does not act for controls."""


class IsolationError(PhoenixKitError):
    """The caller's transaction is stricter than READ COMMITTED, so a step would work on stale data."""


class ConnectionLostError(PhoenixKitError):
    """The server ended the session during a move; every step it had committed stays."""


class LockTimeoutError(PhoenixKitError):
    """Another migrator held the prefix's lock for longer than the time-out."""

    def __init__(self, message: str, holder_pid: int | None) -> None:
        super().__init__(message)
        self.holder_pid = holder_pid


class TablesLockedError(LockTimeoutError):
    """A step's tables stayed locked by other sessions for longer than the time-out; the prefix is unchanged.

    ``blockers`` lists them (``phoenix_kit.blocking.Blocker``); ``holder_pid`` is the first one's pid.
    """

    def __init__(self, message: str, holder_pid: int | None, blockers: Sequence[object]) -> None:
        super().__init__(message, holder_pid)
        self.blockers = list(blockers)


class ConcurrentMigrationError(PhoenixKitError):
    """Another migrator moved the prefix the other way while this run was going; it stopped."""


class StepFailedError(PhoenixKitError):
    """A statement of a version step failed; the step was rolled back."""

    def __init__(self, message: str, version: int, statement: str) -> None:
        super().__init__(message)
        self.version = version
        self.statement = statement


class RepairError(PhoenixKitError):
    """``repair`` ran nothing: the install cannot be checked, changed since it was listed, or a statement failed."""
