"""phoenix_kit's settings, read from Django settings at call time.

``PHOENIX_KIT_PREFIX`` (default ``"public"``; :data:`TENANT_SCHEMA`: the schema of
the connection's current tenant), ``PHOENIX_KIT_LOCK_TIMEOUT``
(seconds, default 60: how long a step may wait for its locks in all) and
``PHOENIX_KIT_DDL_LOCK_TIMEOUT`` (seconds, default 0.1: how long one attempt
may wait for a table lock, so application queries queued behind it wait no
longer) and ``PHOENIX_KIT_ONLINE`` (``"auto"``, ``"always"`` or ``"never"``:
when steps that scan a table take their online form), ``PHOENIX_KIT_TEST_RESET``
(default True: test databases' installs are pristine, see ``test_databases``). Without configured Django settings (scripts using a
bare psycopg connection) the defaults apply.
"""

from __future__ import annotations

from .lock import timeout_setting
from .prefix import validate_prefix

DEFAULT_PREFIX = "public"


class _TenantSchema:
    """``PHOENIX_KIT_PREFIX = phoenix_kit.TENANT_SCHEMA``: each tenant's own schema is its prefix."""

    def __repr__(self) -> str:
        return "phoenix_kit.TENANT_SCHEMA"

    def __reduce__(self) -> str:
        return "TENANT_SCHEMA"  # unpickles (multiprocessing executors) as this module's one instance


TENANT_SCHEMA = _TenantSchema()
DEFAULT_LOCK_TIMEOUT = 60.0
DEFAULT_DDL_LOCK_TIMEOUT = 0.1
ONLINE_CHOICES = ("auto", "always", "never")


def _setting(name: str, default: object) -> object:
    from django.conf import settings

    if not settings.configured:
        return default
    return getattr(settings, name, default)


def prefix() -> object:
    """The configured prefix, unvalidated (callers validate and say where it came from)."""
    return _setting("PHOENIX_KIT_PREFIX", DEFAULT_PREFIX)


def per_tenant() -> bool:
    """Whether ``PHOENIX_KIT_PREFIX`` is :data:`TENANT_SCHEMA`."""
    return prefix() is TENANT_SCHEMA


def valid_prefix(using: object = None) -> str:
    """The configured prefix for a connection (``using``: a Django alias, or None when there is none).

    ``ImproperlyConfigured`` naming the setting if it breaks the rule; under
    :data:`TENANT_SCHEMA`, the alias's current tenant schema, or ``ValueError`` saying why there is none.
    """
    if per_tenant():
        from .tenants import tenant_prefix

        return tenant_prefix(using)
    value = prefix()
    try:
        return validate_prefix(value)
    except ValueError as exc:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"settings.PHOENIX_KIT_PREFIX: {exc}") from None


def lock_timeout(value: object = None) -> float:
    """``value`` if given, else the setting; either way a positive number of seconds."""
    if value is None:
        return _seconds("PHOENIX_KIT_LOCK_TIMEOUT", _setting("PHOENIX_KIT_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
    return _seconds("lock_timeout", value)


def ddl_lock_timeout() -> float:
    """The setting ``PHOENIX_KIT_DDL_LOCK_TIMEOUT``: a positive number of seconds."""
    return _seconds("PHOENIX_KIT_DDL_LOCK_TIMEOUT", _setting("PHOENIX_KIT_DDL_LOCK_TIMEOUT", DEFAULT_DDL_LOCK_TIMEOUT))


def online() -> str:
    """The setting ``PHOENIX_KIT_ONLINE``: one of :data:`ONLINE_CHOICES` (default "auto")."""
    value = _setting("PHOENIX_KIT_ONLINE", "auto")
    if value not in ONLINE_CHOICES:
        raise ValueError(f"PHOENIX_KIT_ONLINE must be one of {', '.join(map(repr, ONLINE_CHOICES))}, got {value!r}")
    return str(value)


def test_reset() -> bool:
    """The setting ``PHOENIX_KIT_TEST_RESET`` (default True): test databases' installs are made pristine."""
    value = _setting("PHOENIX_KIT_TEST_RESET", True)
    if not isinstance(value, bool):
        raise ValueError(f"PHOENIX_KIT_TEST_RESET must be True or False, got {value!r}")
    return value


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    timeout_setting(float(value))  # finite and within what the server accepts
    return float(value)
