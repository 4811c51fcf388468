"""Prefix (PostgreSQL schema name) validation and identifier quoting.

A prefix must be usable unquoted by every tool that shares the database with
us (Elixir PhoenixKit writes it unquoted), so the rule is strict: lower-case
ASCII letters, digits and ``_``, not starting with a digit, at most 20 bytes so
derived names stay under PostgreSQL's 63-byte identifier limit, not a system
schema and not a reserved keyword. We still quote it everywhere (``sqltext``).
"""

from __future__ import annotations

import re

MAX_PREFIX_BYTES = 20

PREFIX_RULE = (
    "a prefix must match [a-z_][a-z0-9_]*, be at most 20 bytes, not start with "
    "'pg_', and be neither 'information_schema' nor a PostgreSQL reserved keyword"
)

_PREFIX_RE = re.compile(r"[a-z_][a-z0-9_]*")

# pg_get_keywords() categories R (reserved) and T (reserved, can be function
# or type) of PostgreSQL 15 and 18: these cannot be used as unquoted schema
# names.
RESERVED_KEYWORDS = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization binary
    both case cast check collate collation column concurrently constraint create
    cross current_catalog current_date current_role current_schema current_time
    current_timestamp current_user default deferrable desc distinct do else end
    except false fetch for foreign freeze from full grant group having ilike in
    initially inner intersect into is isnull join lateral leading left like
    limit localtime localtimestamp natural not notnull null offset on only or
    order outer overlaps placing primary references returning right select
    session_user similar some symmetric system_user table tablesample then to
    trailing true union unique user using variadic verbose when where window
    with
    """.split()
)


def validate_prefix(prefix: object) -> str:
    """Return ``prefix`` if it is a valid prefix, else raise ``ValueError``."""
    if not isinstance(prefix, str):
        raise ValueError(f"Invalid prefix {prefix!r}: not a string; {PREFIX_RULE}.")
    if (
        _PREFIX_RE.fullmatch(prefix) is None
        or len(prefix.encode()) > MAX_PREFIX_BYTES
        or prefix.startswith("pg_")
        or prefix == "information_schema"
        or prefix in RESERVED_KEYWORDS
    ):
        raise ValueError(f"Invalid prefix {prefix!r}: {PREFIX_RULE}.")
    return prefix


def check_create_schema(create_schema: object) -> bool | None:
    """``create_schema`` if it is True, False or None, else ``ValueError``."""
    if create_schema is not None and not isinstance(create_schema, bool):
        raise ValueError(f"create_schema must be True, False or None, got {create_schema!r}")
    return create_schema


def creates_schema(create_schema: bool | None, prefix: str) -> bool:
    """Whether a first install creates the prefix's schema: None means "unless it is public"."""
    return prefix != "public" if create_schema is None else create_schema
