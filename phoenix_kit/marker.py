"""The version marker: ``COMMENT ON TABLE "<prefix>"."phoenix_kit" IS '<N>'``.

It is what Elixir PhoenixKit writes, so databases can move between the two.
It is read from the catalog with a bound parameter, in the same query as the
facts the runner needs before deciding anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .db import Database
from .errors import MarkerError
from .plan import latest_version
from .sqltext import quote_ident
from .versions import VERSIONS

VERSION_TABLE = "phoenix_kit"

# Schemas created by phoenix_kit carry this comment; only those are dropped
# when their install is rolled back to 0 (and only if empty).
CREATED_SCHEMA_COMMENT = "Created by phoenix_kit; dropped when its install is rolled back and it is empty."

_CREATED_RELATION = re.compile(r'CREATE (?:UNIQUE )?INDEX "([^"]+)"|CREATE TABLE "s"\."([^"]+)"')
_CREATED_TABLE = re.compile(r'CREATE TABLE "s"\."([^"]+)"')


def _relations_by_version() -> dict[str, int]:
    """Each table and index a version's ``up`` creates, with that version.

    A marker that understates the install (say 5 on a prefix really at 16)
    would make ``up`` record steps that never ran and ``down`` roll back
    versions it believes are the newest: the relations of later versions
    betray it.
    """
    created: dict[str, int] = {}
    for version in VERSIONS:
        for statement in version.up('"s"'):
            for index, table in _CREATED_RELATION.findall(statement):
                created.setdefault(index or table, version.number)
    return created


CREATED_BY = _relations_by_version()


def _tables_by_version() -> dict[int, frozenset[str]]:
    """The tables each version leaves (no version's ``up`` drops a table)."""
    tables: set[str] = set()
    at = {0: frozenset[str]()}
    for version in VERSIONS:
        for statement in version.up('"s"'):
            tables.update(_CREATED_TABLE.findall(statement))
        at[version.number] = frozenset(tables)
    return at


TABLES_AT = _tables_by_version()
# Every table some version creates: the tables whose owners an install's trust depends on.
OUR_TABLES = TABLES_AT[len(VERSIONS)]

# Every operator is named with its schema: reads run on the caller's session,
# whose search_path may hold schemas other roles can create objects in.
STATE_COLUMNS = "n.oid IS NOT NULL, c.oid IS NOT NULL, d.description"


def version_table(namespace: str) -> str:
    """SQL: whether ``c`` (a ``pg_class`` row) is the version table of the schema whose oid is ``namespace``."""
    return f"""c.relnamespace OPERATOR(pg_catalog.=) {namespace} AND c.relname OPERATOR(pg_catalog.=) 'phoenix_kit'::pg_catalog.name
      AND c.relkind OPERATOR(pg_catalog.=) ANY ('{{r,p}}'::pg_catalog."char"[])"""


def marker_of(table: str) -> str:
    """SQL: whether ``d`` (a ``pg_description`` row) is the comment on the table whose oid is ``table``."""
    return f"""d.objoid OPERATOR(pg_catalog.=) {table} AND d.objsubid OPERATOR(pg_catalog.=) 0
      AND d.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid"""


# Joined to a schema ``n``: its version table ``c`` and the marker ``d`` (pg_description
# read directly costs half of what obj_description() does).
VERSION_TABLE_JOIN = f"""LEFT JOIN pg_catalog.pg_class AS c
       ON {version_table("n.oid")}
LEFT JOIN pg_catalog.pg_description AS d
       ON {marker_of("c.oid")}"""
# The prefix's schema ``n``, its version table ``c`` and the marker ``d``.
STATE_FROM = f"""FROM (SELECT %(prefix)s::pg_catalog.name AS nspname) AS wanted
LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) wanted.nspname
{VERSION_TABLE_JOIN}"""
STATE_QUERY = f"SELECT {STATE_COLUMNS}\n{STATE_FROM}\n"

# The marker alone, all that ensure_current's no-op needs. Nothing may rely on
# prepared statements, so it is parsed and planned on every call, and planning
# STATE_QUERY's three-way join costs several times executing it. Here nothing is
# joined: each lookup is a one-table index scan, planned on its own (an InitPlan).
# The schema comes from to_regnamespace() (a catalog cache lookup that, unlike
# to_regclass(), needs no USAGE on the schema), given the prefix as the server
# quotes it: an identifier that reads back as exactly the bound name, whatever its
# case, "-" or leading digit, truncated at 63 bytes as a ``::name`` cast would be.
# No row: no schema, no version table, or no comment.
_PREFIX_SCHEMA = "pg_catalog.to_regnamespace(pg_catalog.quote_ident(%(prefix)s::pg_catalog.text))::pg_catalog.oid"
_VERSION_TABLE_OID = f"(SELECT c.oid FROM pg_catalog.pg_class AS c WHERE {version_table(_PREFIX_SCHEMA)})"
MARKER_QUERY = f"SELECT d.description FROM pg_catalog.pg_description AS d\nWHERE {marker_of(_VERSION_TABLE_OID)}\n"


@dataclass(frozen=True)
class PrefixState:
    """What the catalog says about one prefix's marker, read in one query."""

    prefix: str
    schema_exists: bool
    table_exists: bool
    comment: str | None
    # Read only by the queries that list installs (``status``): the schema's
    # tables and indexes, and a role we do not act for that owns the install.
    relations: frozenset[str] | None = None
    untrusted_owner: str | None = None
    online_started: bool = False

    @property
    def version(self) -> int:
        """The installed version; raises :class:`MarkerError` if it is unreadable."""
        if not self.table_exists:
            return 0
        version = parse_marker(self.comment)
        if version is None:
            table = f"{quote_ident(self.prefix)}.{VERSION_TABLE}"
            found = "no comment" if self.comment is None else f"comment {self.comment!r}"
            raise MarkerError(
                f"Cannot read the PhoenixKit version of prefix {self.prefix!r}: table {table} "
                f"has {found}, expected a version number. Inspect the tables in that schema "
                f"to find the version really installed, then record it with "
                f"`manage.py phoenixkit_migrate --prefix {self.prefix} --mark N` "
                f"(or COMMENT ON TABLE {table} IS 'N')."
            )
        return version

    def version_for_change(self) -> int:
        """The installed version, refusing markers written by a newer PhoenixKit."""
        version = self.version
        if version > latest_version():
            raise MarkerError(
                f"Prefix {self.prefix!r} is at version {version}, newer than this release of "
                f"phoenix_kit knows (latest {latest_version()}): it was migrated by a newer "
                f"PhoenixKit. Upgrade phoenix_kit; refusing to change it. If no newer PhoenixKit "
                f"touched it, the marker is wrong: inspect the tables in that schema, then record "
                f"the version really installed with "
                f"`manage.py phoenixkit_migrate --prefix {self.prefix} --mark N`."
            )
        return version

    def check_catalog(self, relations: set[str]) -> None:
        """Refuse a marker that the schema's tables and indexes (``relations``) contradict.

        The next version's objects are left to its own step: if one exists it
        fails atomically and names the conflict (a user object can clash with a
        name). Objects of two or more versions ahead mean the marker is wrong,
        and moving would run the wrong steps.
        """
        version = self.version
        missing = sorted(TABLES_AT.get(version, OUR_TABLES) - relations)
        if missing and self.table_exists:
            raise MarkerError(
                f"Prefix {self.prefix!r} is marked as version {version} but lacks tables that version "
                f"has (such as {quote_ident(missing[0])}): the marker overstates the install, or the "
                f"phoenix_kit table is not PhoenixKit's. Refusing to change it. Inspect the tables in "
                f"that schema to find the version really installed, then record it with "
                f"`manage.py phoenixkit_migrate --prefix {self.prefix} --mark N`, or remove the stray table."
            )
        newer = sorted((CREATED_BY[name], name) for name in relations & CREATED_BY.keys() if CREATED_BY[name] > version + 1)
        if not newer:
            return
        first, example = newer[0]
        found = f"objects that only V{first:02d} and later create (such as {quote_ident(example)})"
        if not self.table_exists:
            raise MarkerError(
                f"Prefix {self.prefix!r} has no phoenix_kit version table but holds {found}: "
                f"the version table was lost. Refusing to change it: restore the table, or "
                f"remove those objects to start afresh."
            )
        raise MarkerError(
            f"Prefix {self.prefix!r} is marked as version {version} but holds {found}: the "
            f"marker understates the installed version, and moving it would run the wrong "
            f"steps. Refusing to change it. Inspect the tables in that schema to find the "
            f"version really installed, then record it with "
            f"`manage.py phoenixkit_migrate --prefix {self.prefix} --mark N` "
            f"(or COMMENT ON TABLE {quote_ident(self.prefix)}.{VERSION_TABLE} IS 'N')."
        )


def suggested_versions(relations: frozenset[str] | set[str]) -> tuple[int, int] | None:
    """The versions whose tables and indexes ``relations`` (a prefix's) are, as (lowest, highest); None: no version's.

    Versions that only add or change columns create no relation, so the tables
    alone narrow it to a range: V11 (a column) looks like V10.
    """
    ours = {name for name in relations if name in CREATED_BY}
    newest = max((CREATED_BY[name] for name in ours), default=0)
    if newest == 0 or not TABLES_AT[newest] <= ours:
        return None
    later = [number for number in CREATED_BY.values() if number > newest]
    return newest, (min(later) - 1 if later else len(VERSIONS))


def no_marker_table(prefix: str) -> str:
    """Why ``--mark`` / ``mark()`` cannot record a version on a prefix without the version table."""
    return (
        f"Prefix {prefix!r} has no phoenix_kit table, so there is no marker to record: "
        f"install it with `manage.py phoenixkit_migrate --prefix {prefix}` instead."
    )


def read_relations(db: Database, prefix: str) -> frozenset[str]:
    """The names of the tables and indexes in ``prefix``'s schema."""
    rows = db.fetchall(
        f"SELECT {relations_array('n')} FROM pg_catalog.pg_namespace AS n WHERE n.nspname OPERATOR(pg_catalog.=) %s",
        [prefix],
    )
    return frozenset(rows[0][0]) if rows else frozenset()


def relations_array(namespace: str) -> str:
    """SQL: the names of the tables and indexes in schema ``namespace`` (a ``pg_namespace`` alias)."""
    return f"""ARRAY(SELECT r.relname FROM pg_catalog.pg_class AS r
              WHERE r.relnamespace OPERATOR(pg_catalog.=) {namespace}.oid
                AND r.relkind OPERATOR(pg_catalog.=) ANY ('{{r,p,i,I}}'::pg_catalog."char"[]))"""


def read_state(db: Database, prefix: str) -> PrefixState:
    """The marker and its context, in one cheap catalog query.

    Plain joins on the catalogs, which every role may read (to_regclass() would
    need USAGE on the schema); pg_description is read directly, which costs
    half of what obj_description() does.
    """
    ((schema_exists, table_exists, comment),) = db.fetchall(STATE_QUERY, {"prefix": prefix})
    return PrefixState(prefix, schema_exists, table_exists, comment)


def parse_marker(comment: str | None) -> int | None:
    """The version a marker records: a bare decimal, as Elixir PhoenixKit writes it; else None."""
    if comment is None or not comment.isascii() or not comment.isdigit():
        return None
    return int(comment)


def read_marker(db: Database, prefix: str) -> int | None:
    """The version the marker of ``prefix`` records, in one query cheap to plan (``MARKER_QUERY``).

    None when there is no readable marker (no schema, no version table, no
    comment, not a number): :func:`read_state` tells which, and whether that is an error.
    """
    rows = db.fetchall(MARKER_QUERY, {"prefix": prefix})
    return parse_marker(rows[0][0]) if rows else None


def write_marker(prefix: str, version: int) -> str:
    """The statement recording ``version`` (never called with 0: V01's down drops the table)."""
    return f"COMMENT ON TABLE {quote_ident(prefix)}.{quote_ident(VERSION_TABLE)} IS '{int(version)}'"
