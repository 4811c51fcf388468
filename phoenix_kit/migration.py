"""The public API of the migration core (re-exported from ``phoenix_kit``).

Arguments are validated before any SQL reaches the server. ``using`` is a
Django database alias or a bare ``psycopg.Connection``; ``prefix=None`` means
``settings.PHOENIX_KIT_PREFIX`` (default ``"public"``), read at call time
(``phoenix_kit.TENANT_SCHEMA``: the schema of the alias's current tenant).
"""

from __future__ import annotations

import logging

from . import conf
from .db import connect
from .marker import read_state
from .plan import Step, check_version, latest_version
from .plan import plan as _plan
from .prefix import check_create_schema, creates_schema, validate_prefix
from .progress import Progress, Writer, progress_for
from .runner import Runner
from .online_script import export_online
from .script import export

__all__ = ["down", "ensure_current", "latest_version", "mark", "migrated_version", "plan", "sql", "up"]

# None: the "phoenix_kit" logger; a logger; a text stream; True: stdout; False: nothing; or a Progress.
Log = bool | Writer | logging.Logger | Progress | None


def up(
    version: int | None = None,
    *,
    prefix: str | None = None,
    create_schema: bool | None = None,
    using: object = "default",
    log: Log = None,
    lock_timeout: float | None = None,
) -> int:
    """Apply every version above the installed one up to ``version`` (default: latest).

    Never downgrades. Returns the installed version afterwards.
    """
    return _up(version, prefix, create_schema, using, log, lock_timeout, verify=True)


def _up(
    version: int | None,
    prefix: str | None,
    create_schema: bool | None,
    using: object,
    log: Log,
    lock_timeout: float | None,
    *,
    verify: bool,
) -> int:
    target = latest_version() if version is None else check_version(version)
    resolved = resolve_prefix(prefix, using)
    create = _create_schema(create_schema, resolved)
    return _runner(using, resolved, log, lock_timeout).up(target, create, verify=verify)


def down(
    version: int | None = None,
    *,
    prefix: str | None = None,
    using: object = "default",
    log: Log = None,
    lock_timeout: float | None = None,
) -> int:
    """Roll back every applied version ``>= version``, leaving ``version - 1``.

    ``version=None`` rolls back everything (result 0). Returns the installed
    version afterwards.
    """
    target = 0 if version is None else check_version(version) - 1
    return _runner(using, resolve_prefix(prefix, using), log, lock_timeout).down(target)


def migrated_version(prefix: str | None = None, *, using: object = "default") -> int:
    """The installed version of ``prefix``: 0 when it has no ``phoenix_kit`` table.

    Raises :class:`~phoenix_kit.errors.MarkerError` when the marker is not a
    number. A marker above :func:`latest_version` is reported as it is.
    """
    return read_state(connect(using), resolve_prefix(prefix, using)).version


def ensure_current(*, prefix: str | None = None, using: object = "default", log: Log = None) -> int:
    """Bring ``prefix`` to the latest version if it is behind; returns the latest version.

    When already current this costs one catalog query and takes no lock: the
    marker is trusted without checking the catalog behind it (``up`` checks).
    """
    return _up(None, prefix, None, using, log, None, verify=False)


def mark(
    version: int, *, prefix: str | None = None, using: object = "default", lock_timeout: float | None = None
) -> str | None:
    """Record ``version`` as the installed version without running any SQL step.

    For adopting an install whose version you know, or repairing a marker that
    cannot be read. Takes the prefix's lock; the ``phoenix_kit`` table must exist.
    Returns the comment it replaced.
    """
    number = check_version(version)
    return _runner(using, resolve_prefix(prefix, using), False, lock_timeout).mark(number)


def plan(from_version: int, to_version: int) -> list[Step]:
    """The ordered steps between two versions (0 = not installed), without a database."""
    return _plan(from_version, to_version)


def sql(
    from_version: int,
    to_version: int,
    *,
    prefix: str | None = None,
    create_schema: bool | None = None,
    online: bool = False,
) -> str:
    """The SQL script moving ``prefix`` between two versions, for tools such as psql.

    ``online``: the steps that scan a table take their online form (psql only:
    it runs statements outside a transaction); otherwise each step is one transaction.
    """
    resolved = resolve_prefix(prefix, None)
    timeouts = (conf.lock_timeout(), conf.ddl_lock_timeout())
    write = export_online if online else export
    return write(from_version, to_version, resolved, _create_schema(create_schema, resolved), timeouts)


def resolve_prefix(prefix: str | None, using: object) -> str:
    """``prefix``, or the configured one for ``using`` (with TENANT_SCHEMA, the alias's tenant)."""
    return conf.valid_prefix(using) if prefix is None else validate_prefix(prefix)


def _create_schema(create_schema: bool | None, prefix: str) -> bool:
    return creates_schema(check_create_schema(create_schema), prefix)


def _runner(using: object, prefix: str, log: Log, lock_timeout: float | None) -> Runner:
    timeout, ddl_timeout, online = conf.lock_timeout(lock_timeout), conf.ddl_lock_timeout(), conf.online()
    progress = progress_for(log, prefix)
    return Runner(connect(using), prefix, timeout, ddl_timeout, progress, online)
