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
