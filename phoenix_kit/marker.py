"""The version marker: ``COMMENT ON TABLE "<prefix>"."phoenix_kit" IS '<N>'``.

It is what Elixir PhoenixKit writes, so databases can move between the two.
It is read from the catalog with a bound parameter, in the same query as the
facts the runner needs before deciding anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from .db import Database
from .errors import MarkerError
from .plan import latest_version
from .prefix import quote_ident

VERSION_TABLE = "phoenix_kit"

# Schemas created by phoenix_kit carry this comment; only those are dropped
# when their install is rolled back to 0 (and only if empty).
CREATED_SCHEMA_COMMENT = "Created by phoenix_kit; dropped when its install is rolled back and it is empty."

STATE_QUERY = """
SELECT n.oid IS NOT NULL,
       c.oid IS NOT NULL,
       pg_catalog.obj_description(c.oid, 'pg_class'),
       pg_catalog.current_setting('lock_timeout')
FROM (SELECT %s::pg_catalog.name AS nspname) AS wanted
LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = wanted.nspname
LEFT JOIN pg_catalog.pg_class AS c
       ON c.relnamespace = n.oid AND c.relname = 'phoenix_kit' AND c.relkind IN ('r', 'p')
"""


@dataclass(frozen=True)
class PrefixState:
    """What the catalog says about one prefix, read in one query."""

    prefix: str
    schema_exists: bool
    table_exists: bool
    comment: str | None
    session_lock_timeout: str

    @property
    def version(self) -> int:
        """The installed version; raises :class:`MarkerError` if it is unreadable."""
        if not self.table_exists:
            return 0
        table = f"{quote_ident(self.prefix)}.{VERSION_TABLE}"
        if self.comment is None or not self.comment.isascii() or not self.comment.isdigit():
            found = "no comment" if self.comment is None else f"comment {self.comment!r}"
            raise MarkerError(
                f"Cannot read the PhoenixKit version of prefix {self.prefix!r}: table {table} "
                f"has {found}, expected a version number. Inspect the tables in that schema "
                f"to find the version really installed, then record it with "
                f"`manage.py phoenixkit_migrate --prefix {self.prefix} --mark N` "
                f"(or COMMENT ON TABLE {table} IS 'N')."
            )
        return int(self.comment)

    def version_for_change(self) -> int:
        """The installed version, refusing markers written by a newer PhoenixKit."""
        version = self.version
        if version > latest_version():
            raise MarkerError(
                f"Prefix {self.prefix!r} is at version {version}, newer than this release of "
                f"phoenix_kit knows (latest {latest_version()}): it was migrated by a newer "
                f"PhoenixKit. Upgrade phoenix_kit; refusing to change it."
            )
        return version


def read_state(db: Database, prefix: str) -> PrefixState:
    (row,) = db.fetchall(STATE_QUERY, [prefix])
    return PrefixState(prefix, *row)


def write_marker(prefix: str, version: int) -> str:
    """The statement recording ``version`` (never called with 0: V01's down drops the table)."""
    return f"COMMENT ON TABLE {quote_ident(prefix)}.{quote_ident(VERSION_TABLE)} IS '{int(version)}'"
