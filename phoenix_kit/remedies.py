"""Remedies for what the doctor finds: repairing installs, and adopting unmarked ones.

``repair`` re-creates an install's missing objects from the fresh install of
its version, additively: it never drops or alters an object that exists and
never touches rows. It checks again under the prefix's lock, in the one
transaction that creates them, so what it runs is what it found there.

``adopt`` is for an install without a readable marker: the version whose
fresh install its catalog is (exactly, or the nearest, with the differences).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import conf
from .db import Database, connect
from .drift import Diagnosis, Difference, closest, doctor_many, explain, read_installs
from .driver import StatementFailed
from .errors import LockTimeoutError, RepairError
from .expected import expected_versions
from .lock import acquire_statement, set_lock_timeout, timeout_setting
from .migration import resolve_prefix
from .sqltext import SAFE_SEARCH_PATH, set_local
from .status import states
from .trust import foreign_install_error

# lock_not_available: lock_timeout ran out.
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class Repaired:
    """What ``repair`` ran, and the doctor's finding before (under the lock) and after."""

    ran: tuple[str, ...]
    before: Diagnosis
    after: Diagnosis


def repair(
    prefix: str | None = None, *, using: object = "default", confirmed: Sequence[str] | None = None,
    lock_timeout: float | None = None,
) -> Repaired:  # fmt: skip
    """Re-create the missing objects of one install in one transaction under the prefix's lock.

    ``confirmed``: the statements the caller listed and the user agreed to (``Diagnosis.repairs``);
    if the install no longer needs exactly those, nothing runs (:class:`RepairError`).
    """
    resolved = resolve_prefix(prefix, using)
    wait = conf.lock_timeout(lock_timeout)
    database = connect(using)
    with database.atomic():
        _lock(database, resolved, wait, conf.ddl_lock_timeout())
        (before,) = doctor_many([resolved], using=database)
        if before.error is not None:
            raise RepairError(f"Cannot repair prefix {resolved!r}: {before.error}")
        statements = before.repairs
        if confirmed is not None and list(confirmed) != statements:
            raise RepairError(f"Prefix {resolved!r} changed since its repair was listed; nothing was run: check it again.")
        _run(database, resolved, statements)
    (after,) = doctor_many([resolved], using=database)
    return Repaired(tuple(statements), before, after)


def _lock(database: Database, prefix: str, wait: float, ddl_wait: float) -> None:
    """The prefix's lock, waited for at most ``wait`` seconds; then each DDL lock at most ``ddl_wait``."""
    try:
        database.execute_batch([
            set_lock_timeout(timeout_setting(wait)), acquire_statement(prefix), set_lock_timeout(timeout_setting(ddl_wait)),
        ])  # fmt: skip
    except StatementFailed as failed:
        if failed.error.sqlstate != _LOCK_NOT_AVAILABLE:
            raise failed.exception from None
        raise LockTimeoutError(
            f"Timed out after {wait:g}s waiting for the lock of prefix {prefix!r}: another migrator holds it. "
            f"Nothing was repaired; run the repair again once it is done.", None
        ) from None


def _run(database: Database, prefix: str, statements: list[str]) -> None:
    """Run the repair's statements; every name in them is qualified, so the search_path is pg_catalog's."""
    if not statements:
        return
    try:
        database.execute_batch([set_local("search_path", SAFE_SEARCH_PATH), *statements])
    except StatementFailed as failed:
        waited = failed.error.sqlstate == _LOCK_NOT_AVAILABLE
        why = "its table is in use (lock_timeout ran out): run it again when it is quieter" if waited else failed.error.message
        raise RepairError(
            f"Repairing prefix {prefix!r} failed at `{statements[failed.index - 1]}`: {why}. "
            f"Nothing was repaired (one transaction)."
        ) from None


@dataclass(frozen=True)
class Adoption:
    """The version an unmarked install is; ``differences`` empty when it is that version exactly."""

    prefix: str
    version: int
    differences: tuple[Difference, ...]

    @property
    def exact(self) -> bool:
        return not self.differences


def adopt(prefix: str | None = None, *, using: object = "default") -> Adoption:
    """The version whose fresh install the schema's catalog is, exactly or nearest (its marker is not read)."""
    resolved = resolve_prefix(prefix, using)
    database = connect(using)
    (state,) = states(database, [resolved])
    if not state.schema_exists:
        raise RepairError(f"Prefix {resolved!r} has no schema: there is no install to adopt.")
    if state.untrusted_owner is not None:
        raise foreign_install_error(resolved, state.untrusted_owner)
    versions = expected_versions(database)
    # The latest version seeds every row an earlier one does, by the same keys.
    catalogs, _ = read_installs(database, versions, {resolved: max(versions.by_version)})
    version, gaps = closest(catalogs[resolved], versions)
    return Adoption(resolved, version, tuple(explain(resolved, versions.by_version[version], catalogs[resolved], gaps, None)))
