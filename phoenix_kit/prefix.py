"""Prefix (PostgreSQL schema name) validation and identifier quoting.

Every identifier phoenix_kit composes is quoted (``sqltext``), so a prefix may
be any name schema-per-tenant tools give tenants: ASCII letters of either
case, digits, ``_`` and ``-``, 1 to 63 bytes (PostgreSQL's identifier limit; no
name is derived from a prefix, so nothing grows past it). Refused, each with
its reason: other characters (whitespace, quotes, backslashes, NUL, non-ASCII
look-alikes), ``pg_*`` (reserved for system schemas; in any case, so
``PG_toast`` cannot pose as one) and ``information_schema``.
"""

from __future__ import annotations

import re
import unicodedata

MAX_PREFIX_BYTES = 63

PREFIX_RULE = (
    "a prefix is 1 to 63 ASCII letters, digits, '_' or '-', does not start with 'pg_' "
    "and is not 'information_schema'"
)

_ALLOWED = re.compile(r"[A-Za-z0-9_-]")


def validate_prefix(prefix: object) -> str:
    """Return ``prefix`` if it is a valid prefix, else raise ``ValueError`` saying why."""
    problem = prefix_problem(prefix)
    if problem is not None:
        raise ValueError(f"Invalid prefix {prefix!r}: {problem}; {PREFIX_RULE}.")
    return prefix  # type: ignore[return-value]  # prefix_problem() proved it is a str


def prefix_problem(prefix: object) -> str | None:
    """What breaks the prefix rule in ``prefix`` (the first thing found), or None."""
    if not isinstance(prefix, str):
        return f"it is of type {type(prefix).__name__}, not a string"
    if not prefix:
        return "it is empty"
    for position, char in enumerate(prefix, 1):
        if _ALLOWED.fullmatch(char) is None:
            return f"character {position} is {_describe(char)}"
    if len(prefix) > MAX_PREFIX_BYTES:  # all ASCII by now: characters are bytes
        return f"it is {len(prefix)} bytes long"
    if prefix[:3].lower() == "pg_":
        return "names starting with 'pg_' are reserved for PostgreSQL's system schemas"
    if prefix.lower() == "information_schema":
        return "'information_schema' is the SQL standard's catalog schema"
    return None


def _describe(char: str) -> str:
    """A character named so that an invisible or look-alike one is recognisable in an error."""
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}"
    if char == "\x00":
        return f"NUL ({code})"
    if char.isspace():
        return f"whitespace ({code}{' ' + name if name else ''})"
    if not char.isascii():
        return f"{code} {name or 'a non-ASCII character'}, not ASCII"
    return f"{char!r} ({code}), which is not a letter, digit, '_' or '-'"


def check_create_schema(create_schema: object) -> bool | None:
    """``create_schema`` if it is True, False or None, else ``ValueError``."""
    if create_schema is not None and not isinstance(create_schema, bool):
        raise ValueError(f"create_schema must be True, False or None, got {create_schema!r}")
    return create_schema


def creates_schema(create_schema: bool | None, prefix: str) -> bool:
    """Whether a first install creates the prefix's schema: None means "unless it is public"."""
    return prefix != "public" if create_schema is None else create_schema
