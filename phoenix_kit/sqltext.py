"""Writing SQL text: quoted identifiers and literals, and DO blocks.

Everything the core and the versions compose goes through these, so quoting
is decided in one place.
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """An SQL identifier, quoted (embedded double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """An SQL string literal, correct whatever ``standard_conforming_strings`` is."""
    if "\x00" in text:
        raise ValueError("NUL cannot appear in an SQL literal")
    quoted = "'" + text.replace("'", "''") + "'"
    return "E" + quoted.replace("\\", "\\\\") if "\\" in text else quoted


def do_block(body: str) -> str:
    """A PL/pgSQL ``DO`` statement, dollar-quoted with a tag that cannot occur in ``body``."""
    n = 0
    while (tag := f"$phoenix_kit{n or ''}$") in body:
        n += 1
    return f"DO {tag}\n{body.strip()}\n{tag}"


# Every step runs with this search_path, so no function, operator, type or cast
# it names can resolve to an object another role planted in a schema of the
# caller's path (CVE-2018-1058); pg_temp last, so it never shadows pg_catalog.
SAFE_SEARCH_PATH = "pg_catalog, pg_temp"


def set_local(name: str, value: str) -> str:
    """The statement setting ``name`` for the rest of the transaction (or savepoint)."""
    return f"SELECT pg_catalog.set_config({quote_literal(name)}, {quote_literal(value)}, true)"
