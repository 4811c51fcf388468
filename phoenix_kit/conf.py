"""phoenix_kit's settings, read from Django settings at call time.

``PHOENIX_KIT_PREFIX`` (default ``"public"``) and ``PHOENIX_KIT_LOCK_TIMEOUT``
(seconds, default 60). Without configured Django settings (scripts using a
bare psycopg connection) the defaults apply.
"""

from __future__ import annotations

from .lock import timeout_setting
from .prefix import validate_prefix

DEFAULT_PREFIX = "public"
DEFAULT_LOCK_TIMEOUT = 60.0


def _setting(name: str, default: object) -> object:
    from django.conf import settings

    if not settings.configured:
        return default
    return getattr(settings, name, default)


def prefix() -> object:
    """The configured prefix, unvalidated (callers validate and say where it came from)."""
    return _setting("PHOENIX_KIT_PREFIX", DEFAULT_PREFIX)


def valid_prefix() -> str:
    """The configured prefix; ``ImproperlyConfigured`` naming the setting if it breaks the rule."""
    value = prefix()
    try:
        return validate_prefix(value)
    except ValueError as exc:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"settings.PHOENIX_KIT_PREFIX: {exc}") from None


def lock_timeout(value: object = None) -> float:
    """``value`` if given, else the setting; either way a positive number of seconds."""
    name = "PHOENIX_KIT_LOCK_TIMEOUT" if value is None else "lock_timeout"
    if value is None:
        value = _setting("PHOENIX_KIT_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    timeout_setting(float(value))  # finite and within what the server accepts
    return float(value)
