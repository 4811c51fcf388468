"""Pristine installs for test databases: what a test left in phoenix_kit's tables, found and put back.

A fresh install of version N holds known rows (V01's roles, V03's settings, ...)
and its sequences stand at known values. :class:`Pristine` learns that state once
per connection, from an install it makes inside a transaction and rolls back: it
is exactly what this release installs, and leaves nothing behind.

Finding what a test dirtied is one prepared query over every install of the
database: their schemas and markers, a digest of each table's rows, each
sequence's position. A test that touched nothing costs that query; what differs is
put back in one transaction: rows deleted, seeded rows updated or re-inserted by
primary key, sequences set. Digests rather than triggers or statistics: triggers
would be objects in the installs (seen by catalog checks, in the way of
migrations), ``pg_stat_xact_*`` sees only the current transaction and
``pg_stat_*`` is flushed late; a digest of a table holding a few seed rows costs
microseconds, and sees updates and deletes as well as inserts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .db import Database, rolled_back
from .driver import StatementFailed, database_error
from .migration import latest_version, up
from .prefix import prefix_problem
from .sqltext import SAFE_SEARCH_PATH, quote_ident, quote_literal, set_local


class PristineError(Exception):
    """An install cannot be put back as a fresh install leaves it."""


# The check query's name on its session.
_CHECK = "phoenix_kit_pristine_check"
# invalid_sql_statement_name: the check is no longer prepared. psycopg 3 deallocates
# every prepared statement when a transaction in which it prepared its own rolls back.
_GONE = "26000"
# ...and undefined_table, undefined_column: an install the check reads was dropped or moved.
_RETRY = frozenset({_GONE, "42P01", "42703"})


@dataclass(frozen=True)
class FreshTable:
    name: str
    digest: str | None  # of its rows (None: empty), as ``_digest`` computes it
    rows: str | None  # its rows as a JSON array, when it has any
    key: str | None  # its primary-key column, when it has rows
    columns: tuple[str, ...]


@dataclass(frozen=True)
class FreshInstall:
    """What a fresh install of ``version`` holds: tables, referenced ones before those referencing them."""

    version: int
    tables: tuple[FreshTable, ...]
    sequences: dict[str, str]  # sequence -> its position, as ``_position`` reads it


@dataclass(frozen=True)
class _Install:
    schema: str
    fresh: FreshInstall
    tables: tuple[FreshTable, ...]  # the fresh install's tables this install has
    sequences: tuple[str, ...]


def _digest(schema: str, table: str) -> str:
    row = "pg_catalog.to_jsonb(x)::pg_catalog.text"
    return (
        f"(SELECT pg_catalog.md5(pg_catalog.string_agg({row}, E'\\n' ORDER BY {row} COLLATE \"C\")) "
        f"FROM {quote_ident(schema)}.{quote_ident(table)} AS x)"
    )


def _position(schema: str, sequence: str) -> str:
    return (
        "(SELECT last_value::pg_catalog.text OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) is_called::pg_catalog.text "
        f"FROM {quote_ident(schema)}.{quote_ident(sequence)})"
    )


# Every install: its schema and marker. First in each check, so a new, moved or
# dropped install is seen before its digests are trusted.
_FINGERPRINT = """(SELECT pg_catalog.array_agg(n.nspname::pg_catalog.text OPERATOR(pg_catalog.||) ' '
        OPERATOR(pg_catalog.||) COALESCE(pg_catalog.obj_description(c.oid, 'pg_class'), '')
        ORDER BY n.nspname::pg_catalog.text COLLATE "C")
   FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
  WHERE c.relname OPERATOR(pg_catalog.=) 'phoenix_kit' AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}')
    AND n.nspname::pg_catalog.text OPERATOR(pg_catalog.!~) '^pg_')"""


def _check_query(parts: list[str]) -> str:
    """The fingerprint, then ``parts`` (digests and positions) as one array: two columns for the driver to read."""
    return f"SELECT {_FINGERPRINT},\nARRAY[{', '.join(parts)}]::pg_catalog.text[]"


class Pristine:
    """Puts every install of one database back as a fresh install of its version leaves it.

    Keep one per session, in autocommit: it prepares its query there (SQL
    ``PREPARE``, so on either driver). ``fresh`` is where it keeps the fresh
    state of each version it has learned; share one between the sessions of a
    process, so that a new session does not learn again.
    """

    def __init__(self, database: Database, fresh: dict[int, FreshInstall] | None = None) -> None:
        self.database = database
        self._fresh = {} if fresh is None else fresh
        self._fingerprint: list[str] | None = None
        self._installs: list[_Install] = []
        self._query = _check_query([])
        self._prepared = False

    def reset(self) -> list[str]:
        """Put back what differs from the fresh installs; returns what was reset (``schema.table``, sequences too)."""
        values = self._check()
        if values[0] != self._fingerprint:
            self._plan(values[0] or [])
            values = self._check()
        dirty: list[tuple[_Install, list[FreshTable], list[str]]] = []
        found = iter(values[1:])
        for install in self._installs:
            tables = [table for table in install.tables if next(found) != table.digest]
            sequences = [name for name in install.sequences if next(found) != install.fresh.sequences[name]]
            if tables or sequences:
                dirty.append((install, tables, sequences))
        if dirty:
            self._restore(dirty)
        return [
            f"{install.schema}.{name}" for install, tables, sequences in dirty for name in [*(t.name for t in tables), *sequences]
        ]

    def _check(self) -> list[Any]:
        try:
            return self._execute()
        except Exception as exc:
            error = database_error(exc)
            if error is None or error.sqlstate not in _RETRY:
                raise
            if error.sqlstate == _GONE:
                self._prepared = False
                return self._execute()
            # An install was dropped or moved since the query was planned: plan again.
            self._fingerprint = None
            self._use(_check_query([]))
            return self._check()

    def _execute(self) -> list[Any]:
        if not self._prepared:
            self.database.fetchall(f"PREPARE {_CHECK} AS {self._query}")
            self._prepared = True
        ((fingerprint, found),) = self.database.fetchall(f"EXECUTE {_CHECK}")
        return [fingerprint, *found]

    def _use(self, query: str) -> None:
        """Check with ``query`` from now on."""
        if self._prepared:
            self._prepared = False
            try:
                self.database.fetchall(f"DEALLOCATE {_CHECK}")
            except Exception as exc:
                error = database_error(exc)
                if error is None or error.sqlstate != _GONE:
                    raise
        self._query = query

    def _plan(self, fingerprint: list[str]) -> None:
        """Learn the installs (and the fresh state of their versions), and write the query that checks them."""
        versions = {}
        for entry in fingerprint:
            schema, _, marker = entry.rpartition(" ")
            if prefix_problem(schema) is None and marker.isdigit() and 1 <= int(marker) <= latest_version():
                versions[schema] = int(marker)  # an unreadable or newer marker: not ours to judge
        self._learn(set(versions.values()) - set(self._fresh))
        present: dict[str, set[str]] = {}
        for schema, name in self.database.fetchall(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n "
            "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE n.nspname OPERATOR(pg_catalog.=) ANY (%s) "
            "AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,S}')",
            [list(versions)],
        ):
            present.setdefault(schema, set()).add(name)
        self._installs = []
        parts: list[str] = []
        for schema, version in sorted(versions.items()):
            fresh, there = self._fresh[version], present.get(schema, set())
            install = _Install(
                schema, fresh, tuple(t for t in fresh.tables if t.name in there),
                tuple(name for name in sorted(fresh.sequences) if name in there),
            )
            self._installs.append(install)
            parts += [_digest(schema, table.name) for table in install.tables]
            parts += [_position(schema, name) for name in install.sequences]
        self._fingerprint = fingerprint
        self._use(_check_query(parts))

    def _learn(self, versions: Iterable[int]) -> None:
        """The fresh state of ``versions``, from a throwaway install rolled back at the end."""
        wanted = sorted(versions)
        if not wanted:
            return
        scratch = f"pkt_fresh_{uuid.uuid4().hex[:12]}"

        def install_and_read() -> None:
            for version in wanted:
                up(version=version, prefix=scratch, using=self.database, log=False)
                self._fresh[version] = read_fresh(self.database, scratch, version)

        rolled_back(self.database, install_and_read)

    def _restore(self, dirty: list[tuple[_Install, list[FreshTable], list[str]]]) -> None:
        statements = [set_local("search_path", SAFE_SEARCH_PATH)]
        for install, tables, sequences in dirty:
            schema = quote_ident(install.schema)
            for table in reversed(tables):  # those referencing first
                statements.append(_delete(schema, table))
            for table in tables:
                if table.rows is not None:
                    statements += _put_back(schema, table)
            for name in sequences:
                last, called = install.fresh.sequences[name].split(" ")
                target = quote_literal(f"{schema}.{quote_ident(name)}")
                statements.append(f"SELECT pg_catalog.setval({target}::pg_catalog.regclass, {last}, {called})")
        try:
            with self.database.atomic():
                self.database.execute_batch(statements)
        except StatementFailed as failed:
            if (failed.error.sqlstate or "")[:2] != "23":  # integrity_constraint_violation
                raise failed.exception from None
            where = ", ".join(install.schema for install, _, _ in dirty)
            raise PristineError(
                f"Cannot reset the PhoenixKit install(s) {where} after the test: {failed.error.message} "
                f"({failed.error.constraint or 'constraint'}). Rows of another table still reference rows the "
                f"test wrote: have the test's flush cover that table's app too (available_apps)."
            ) from failed.exception


def _rows(schema: str, table: FreshTable) -> str:
    """The fresh rows of ``table``, as a set of rows ``r`` of its type."""
    literal = quote_literal(table.rows or "[]")
    return f"pg_catalog.jsonb_populate_recordset(NULL::{schema}.{quote_ident(table.name)}, {literal}::pg_catalog.jsonb) AS r"


def _delete(schema: str, table: FreshTable) -> str:
    target = f"{schema}.{quote_ident(table.name)}"
    if table.rows is None or table.key is None:
        return f"DELETE FROM {target}"
    key = quote_ident(table.key)
    rows = _rows(schema, table)
    return f"DELETE FROM {target} AS x WHERE NOT EXISTS (SELECT FROM {rows} WHERE r.{key} = x.{key})"


def _put_back(schema: str, table: FreshTable) -> list[str]:
    """The seeded rows a test changed or deleted, as fresh (matched by primary key)."""
    target = f"{schema}.{quote_ident(table.name)}"
    key = quote_ident(table.key or "id")
    rows = _rows(schema, table)
    assignments = ", ".join(f"{quote_ident(c)} = r.{quote_ident(c)}" for c in table.columns if c != table.key)
    return [
        f"UPDATE {target} AS x SET {assignments} FROM {rows} "
        f"WHERE x.{key} = r.{key} AND pg_catalog.to_jsonb(x) <> pg_catalog.to_jsonb(r)",
        f"INSERT INTO {target} OVERRIDING SYSTEM VALUE SELECT r.* FROM {rows} "
        f"WHERE NOT EXISTS (SELECT FROM {target} AS x WHERE x.{key} = r.{key})",
    ]


def read_fresh(database: Database, schema: str, version: int) -> FreshInstall:
    """The tables, rows and sequences of ``schema``, taken as what a fresh install of ``version`` holds."""
    names = [name for (name,) in database.fetchall(
        "SELECT c.relname::pg_catalog.text FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n "
        "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE n.nspname OPERATOR(pg_catalog.=) %s "
        "AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}') ORDER BY c.relname::pg_catalog.text COLLATE \"C\"",
        [schema],
    )]  # fmt: skip
    references = database.fetchall(
        "SELECT c.relname::pg_catalog.text, f.relname::pg_catalog.text FROM pg_catalog.pg_constraint AS k "
        "JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) k.conrelid "
        "JOIN pg_catalog.pg_class AS f ON f.oid OPERATOR(pg_catalog.=) k.confrelid "
        "JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
        "WHERE k.contype OPERATOR(pg_catalog.=) 'f' AND n.nspname OPERATOR(pg_catalog.=) %s "
        "AND f.relnamespace OPERATOR(pg_catalog.=) c.relnamespace",
        [schema],
    )
    tables = [_fresh_table(database, schema, name) for name in _referenced_first(names, references)]
    sequences = {}
    for (name,) in database.fetchall(
        "SELECT c.relname::pg_catalog.text FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n "
        "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE n.nspname OPERATOR(pg_catalog.=) %s "
        "AND c.relkind OPERATOR(pg_catalog.=) 'S'",
        [schema],
    ):
        ((position,),) = database.fetchall(f"SELECT {_position(schema, name)}")
        sequences[name] = position
    return FreshInstall(version, tuple(tables), sequences)


def _fresh_table(database: Database, schema: str, name: str) -> FreshTable:
    target = f"{quote_ident(schema)}.{quote_ident(name)}"
    ((digest, rows),) = database.fetchall(
        f"SELECT {_digest(schema, name)}, (SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(x))::pg_catalog.text FROM {target} AS x)"
    )
    columns = tuple(column for (column,) in database.fetchall(
        "SELECT attname::pg_catalog.text FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) %s::pg_catalog.regclass "
        "AND attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped ORDER BY attnum",
        [target],
    ))  # fmt: skip
    key = None
    if rows is not None:
        keys = database.fetchall(
            "SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_attribute AS a "
            "ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey) "
            "WHERE i.indrelid OPERATOR(pg_catalog.=) %s::pg_catalog.regclass AND i.indisprimary",
            [target],
        )
        if len(keys) != 1:
            raise PristineError(f"{target} has seed rows but no one-column primary key to put them back by")
        ((key,),) = keys
    return FreshTable(name, digest, rows, key, columns)


def _referenced_first(names: list[str], references: list[tuple[str, str]]) -> list[str]:
    """``names`` ordered so that a table comes after every table it references (the schema's foreign keys)."""
    ordered: list[str] = []
    pending = list(names)
    while pending:
        ready = [n for n in pending if all(to in ordered or to == n for frm, to in references if frm == n)]
        if not ready:
            raise PristineError(f"circular foreign keys among {', '.join(pending)}")
        ordered += ready
        pending = [n for n in pending if n not in ready]
    return ordered
