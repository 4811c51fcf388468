"""The catalog of installs, read set-based: every object of many schemas in one query.

What the doctor compares. Each object is keyed by its kind and its name within
the schema (``("index", "phoenix_kit_users_email_index")``) and carries its
definition as the server prints it, made independent of the schema it lives in:
the schema's own qualifier removed and ``citext`` written bare, so the catalog of
an install in ``public`` equals that of a scratch install in ``pkt_doctor_…``.
An object of another schema stays qualified, so a foreign key pointing at a
different install is a difference.

Each object also carries the statements that would create it (unqualified, to
run with the install's schema on the search_path after pg_catalog; ``SCHEMA`` stands
for it where a new object is named): the doctor's ``--repair``
runs those of the expected catalog for what is missing. They are ordered by
``Phase`` so that tables come before their columns, columns before the
constraints and indexes on them.

Only ``pg_catalog`` is read (``information_schema`` is slow on large catalogs),
with the search_path pinned to it inside a transaction that is rolled back, so
no function of another role can run and the caller's session is left as it was.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from functools import partial

from .db import Database, rolled_back
from .sqltext import quote_ident, quote_literal, set_local


class Phase(IntEnum):
    """The order in which missing objects are created."""

    TABLE = 0
    SEQUENCE = 1
    COLUMN = 2
    KEY = 3  # primary keys, unique and check constraints
    REFERENCE = 4  # foreign keys, once the keys they reference exist
    INDEX = 5
    AFTER = 6  # sequence ownership, comments


@dataclass(frozen=True)
class Entry:
    """One object: its definition, where it hangs, and how to create it."""

    definition: str
    table: str | None = None  # the table it belongs to (columns, constraints, indexes, triggers, grants)
    columns: tuple[str, ...] = ()  # the table's columns it needs (constraints, indexes)
    create: Creates = ()  # empty: not re-created by --repair
    part_of: Key | None = None  # the object it comes and goes with (an index with its constraint, a grant with its table)


# Where a create statement names the install's schema (a new table or sequence
# goes to the first schema of the search_path, which is pg_catalog).
SCHEMA = "{schema}"

Key = tuple[str, str]  # (kind, name): ("column", "phoenix_kit_users.email")
Creates = tuple[tuple[Phase, str], ...]  # statements, each with its phase


@dataclass
class Catalog:
    """One schema's objects."""

    objects: dict[Key, Entry] = field(default_factory=dict)


_SETTINGS = (
    ("search_path", "pg_catalog"),
    ("quote_all_identifiers", "off"),
    ("datestyle", "ISO, MDY"),
    ("intervalstyle", "postgres"),
    ("extra_float_digits", "1"),
    ("standard_conforming_strings", "on"),
    ("jit", "off"),  # compiling the catalog query costs more than running it
)

# One row per object of the schemas in %(schemas)s:
# schema, kind, table, name, definition, columns, and
# the facts a create statement needs, and a column's position. Every operator is schema-qualified.
_OBJECTS = """
WITH s AS (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace AS n
   WHERE n.nspname OPERATOR(pg_catalog.=) ANY (%(schemas)s::pg_catalog.name[])
), r AS (
  -- Through pg_depend, which is indexed on the referenced schema where pg_class has
  -- no index on relnamespace: a seq scan of pg_class per call, tens of ms in a fleet's
  -- catalog. Every relation but a TOAST table records its schema there (it is what
  -- DROP SCHEMA drops), and SET SCHEMA moves that record.
  SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relowner, c.relacl, s.nspname
    FROM s JOIN pg_catalog.pg_depend AS dn
         ON dn.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
        AND dn.refobjid OPERATOR(pg_catalog.=) s.oid AND dn.deptype OPERATOR(pg_catalog.=) 'n'
        AND dn.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
    JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) dn.objid AND c.relnamespace OPERATOR(pg_catalog.=) s.oid
   WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,S,v,m,f}'::pg_catalog."char"[])
)
SELECT r.nspname, 'table', NULL, r.relname,
       CASE r.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END
       OPERATOR(pg_catalog.||) CASE r.relpersistence WHEN 'u' THEN ' UNLOGGED' ELSE '' END,
       NULL::pg_catalog.text[], pg_catalog.obj_description(r.oid, 'pg_class'), 0::pg_catalog.int2
  FROM r WHERE r.relkind OPERATOR(pg_catalog.<>) 'S'
UNION ALL
SELECT r.nspname, 'sequence', t.relname, r.relname,
       pg_catalog.format_type(q.seqtypid, NULL),
       CASE WHEN a.attname IS NULL THEN NULL ELSE ARRAY[a.attname::pg_catalog.text] END, NULL, 0
  FROM r JOIN pg_catalog.pg_sequence AS q ON q.seqrelid OPERATOR(pg_catalog.=) r.oid
  LEFT JOIN pg_catalog.pg_depend AS d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objid OPERATOR(pg_catalog.=) r.oid AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.deptype OPERATOR(pg_catalog.=) ANY ('{a,i}'::pg_catalog."char"[])
  LEFT JOIN pg_catalog.pg_class AS t ON t.oid OPERATOR(pg_catalog.=) d.refobjid
  LEFT JOIN pg_catalog.pg_attribute AS a ON a.attrelid OPERATOR(pg_catalog.=) d.refobjid AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
 WHERE r.relkind OPERATOR(pg_catalog.=) 'S' AND d.deptype IS DISTINCT FROM 'i'
UNION ALL
SELECT r.nspname, 'column', r.relname, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod)
       OPERATOR(pg_catalog.||) CASE WHEN a.attcollation OPERATOR(pg_catalog.<>) ty.typcollation
            THEN ' COLLATE ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(co.collname::pg_catalog.text) ELSE '' END
       OPERATOR(pg_catalog.||) CASE WHEN a.attgenerated OPERATOR(pg_catalog.=) 's'
            THEN ' GENERATED ALWAYS AS (' OPERATOR(pg_catalog.||) pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) OPERATOR(pg_catalog.||) ') STORED'
            WHEN ad.adbin IS NOT NULL THEN ' DEFAULT ' OPERATOR(pg_catalog.||) pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) ELSE '' END
       OPERATOR(pg_catalog.||) CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
            WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END
       OPERATOR(pg_catalog.||) CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
       ARRAY[a.attidentity::pg_catalog.text, a.attgenerated::pg_catalog.text], cd.description, a.attnum
  FROM r JOIN pg_catalog.pg_attribute AS a ON a.attrelid OPERATOR(pg_catalog.=) r.oid
  JOIN pg_catalog.pg_type AS ty ON ty.oid OPERATOR(pg_catalog.=) a.atttypid
  LEFT JOIN pg_catalog.pg_collation AS co ON co.oid OPERATOR(pg_catalog.=) a.attcollation
  LEFT JOIN pg_catalog.pg_attrdef AS ad ON ad.adrelid OPERATOR(pg_catalog.=) r.oid AND ad.adnum OPERATOR(pg_catalog.=) a.attnum
  -- joined, not col_description(): a function call per column costs a fleet a second
  LEFT JOIN pg_catalog.pg_description AS cd ON cd.objoid OPERATOR(pg_catalog.=) r.oid
       AND cd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND cd.objsubid OPERATOR(pg_catalog.=) a.attnum
 WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped AND r.relkind OPERATOR(pg_catalog.<>) 'S'
UNION ALL
SELECT r.nspname, 'constraint', r.relname, k.conname,
       pg_catalog.pg_get_constraintdef(k.oid),
       ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute AS a
              WHERE a.attrelid OPERATOR(pg_catalog.=) r.oid AND a.attnum OPERATOR(pg_catalog.=) ANY (k.conkey) ORDER BY a.attnum),
       k.contype::pg_catalog.text, 0
  FROM r JOIN pg_catalog.pg_constraint AS k ON k.conrelid OPERATOR(pg_catalog.=) r.oid
 WHERE k.contype OPERATOR(pg_catalog.=) ANY ('{p,u,f,c,x}'::pg_catalog."char"[])
UNION ALL
SELECT r.nspname, 'index', r.relname, ic.relname,
       pg_catalog.pg_get_indexdef(i.indexrelid)
       OPERATOR(pg_catalog.||) CASE WHEN i.indisvalid THEN '' ELSE ' (INVALID)' END,
       ARRAY(SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_attribute AS a
              WHERE a.attrelid OPERATOR(pg_catalog.=) r.oid AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey) ORDER BY a.attnum),
       (SELECT k.conname::pg_catalog.text FROM pg_catalog.pg_constraint AS k
         WHERE k.conindid OPERATOR(pg_catalog.=) i.indexrelid AND k.conrelid OPERATOR(pg_catalog.=) r.oid
           AND k.contype OPERATOR(pg_catalog.=) ANY ('{p,u,x}'::pg_catalog."char"[])), 0
  FROM r JOIN pg_catalog.pg_index AS i ON i.indrelid OPERATOR(pg_catalog.=) r.oid
  JOIN pg_catalog.pg_class AS ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
UNION ALL
SELECT r.nspname, 'trigger', r.relname, g.tgname, pg_catalog.pg_get_triggerdef(g.oid), NULL, NULL, 0
  FROM r JOIN pg_catalog.pg_trigger AS g ON g.tgrelid OPERATOR(pg_catalog.=) r.oid
 WHERE NOT g.tgisinternal
UNION ALL
SELECT r.nspname, 'grant', r.relname,
       CASE WHEN p.grantee OPERATOR(pg_catalog.=) r.relowner THEN 'owner'
            WHEN p.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
            ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(p.grantee)::pg_catalog.text) END,
       pg_catalog.string_agg(p.privilege_type OPERATOR(pg_catalog.||) CASE WHEN p.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
                             ', ' ORDER BY p.privilege_type),
       NULL, r.relkind::pg_catalog.text, 0
  FROM r CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(r.relacl, pg_catalog.acldefault(
         CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN 's' ELSE 'r' END::pg_catalog."char", r.relowner))) AS p
 GROUP BY r.nspname, r.relname, r.relkind, r.relowner, p.grantee
-- columns in their table's order, so that a table --repair re-creates has it too
ORDER BY 8, 1, 3, 4
"""


def pin_settings(database: Database) -> None:
    """Pin, for the rest of the transaction, the settings that change how definitions print."""
    database.execute_batch([set_local(name, value) for name, value in _SETTINGS])


def read_catalogs(database: Database, schemas: Sequence[str], citext_schema: str | None) -> dict[str, Catalog]:
    """The catalogs of ``schemas`` (those that exist), in one query; call inside a transaction that pins settings."""
    catalogs = {schema: Catalog() for schema in schemas}
    forms = _Forms(citext_schema)
    with _collector_paused():
        for schema, kind, table, name, definition, columns, extra, _ in database.fetchall(_OBJECTS, {"schemas": list(schemas)}):
            compared, ddl = forms(schema, definition)
            key, entry = _entry(kind, table, name, compared, ddl, tuple(columns or ()), extra)
            catalogs[schema].objects[key] = entry
    return catalogs


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a fleet's catalog becomes objects.

    A thousand installs are some 170,000 rows and entries, none in a cycle; the
    collector, run every few hundred allocations over the growing heap, would
    take as long as building them.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _entry(
    kind: str, table: str | None, name: str, definition: str, ddl: str, columns: tuple[str, ...], extra: str | None
) -> tuple[Key, Entry]:
    """The key and entry of one row of ``_OBJECTS``: ``definition`` compared, ``ddl`` for its create statements.

    ``extra`` is the kind's one further fact: a comment, a constraint's type, the constraint an index backs,
    the kind of relation a grant is on.
    """
    ident = quote_ident(name)
    create: Creates
    if kind == "table":
        comment = "" if extra is None or name == "phoenix_kit" else f" COMMENT {quote_literal(extra)}"
        create = ((Phase.TABLE, f"CREATE TABLE {SCHEMA}.{ident} ()"),) if definition == "table" else ()
        if comment and create:
            create += ((Phase.AFTER, f"COMMENT ON TABLE {SCHEMA}.{ident} IS {quote_literal(extra or '')}"),)
        return (kind, name), Entry(definition + comment, create=create)
    if kind == "sequence":
        owned = f" OWNED BY {quote_ident(table)}.{quote_ident(columns[0])}" if table and columns else ""
        create = ((Phase.SEQUENCE, f"CREATE SEQUENCE {SCHEMA}.{ident} AS {ddl}"),)
        if owned:
            create += ((Phase.AFTER, f"ALTER SEQUENCE {SCHEMA}.{ident} OWNED BY {SCHEMA}.{owned[len(' OWNED BY '):]}"),)
        return (kind, name), Entry(definition + owned, table, create=create)
    assert table is not None
    where = f"{SCHEMA}.{quote_ident(table)}"
    if kind == "column":
        identity, generated = columns
        comment = "" if extra is None else f" COMMENT {quote_literal(extra)}"
        create = ()
        if not identity and not generated:
            create = ((Phase.COLUMN, f"ALTER TABLE {where} ADD COLUMN {ident} {ddl}"),)
            if extra is not None:
                create += ((Phase.AFTER, f"COMMENT ON COLUMN {where}.{ident} IS {quote_literal(extra)}"),)
        return (kind, f"{table}.{name}"), Entry(definition + comment, table, (name,), create)
    if kind == "constraint":
        phase = Phase.REFERENCE if extra == "f" else Phase.KEY
        create = () if definition.endswith(" NOT VALID") else ((phase, f"ALTER TABLE {where} ADD CONSTRAINT {ident} {ddl}"),)
        return (kind, f"{table}.{name}"), Entry(definition, table, columns, create)
    if kind == "index":
        # An index backing a constraint is created by the constraint.
        create = () if extra is not None or definition.endswith(" (INVALID)") else ((Phase.INDEX, ddl),)
        backs = None if extra is None else ("constraint", f"{table}.{extra}")
        return (kind, name), Entry(definition, table, columns, create, backs)
    if kind == "grant":
        return (kind, f"{table} TO {name}"), Entry(definition, table, part_of=("sequence" if extra == "S" else "table", table))
    return (kind, f"{table}.{name}"), Entry(definition, table)


class _Forms:
    """A definition in its two schema-independent forms: compared, and for create statements.

    Compared: the schema's own qualifier dropped and citext bare (its schema is
    the database's affair). For create statements: the qualifier replaced by
    ``SCHEMA`` and citext as it is, so that they run with ``search_path``
    pinned to pg_catalog, every name they use qualified.
    """

    def __init__(self, citext_schema: str | None) -> None:
        self._citext = None if citext_schema is None else re.compile(_qualified(citext_schema) + r"citext\b")
        self._qualifiers: dict[str, tuple[re.Pattern[str], tuple[str, str]]] = {}

    def __call__(self, schema: str, text: str) -> tuple[str, str]:
        # Most definitions ("bigint NOT NULL") hold no qualifier: plain substring
        # tests spare a fleet's hundred thousand rows their regular expressions.
        one_line = _LINE_BREAKS.sub(" ", text) if "\n" in text else text
        bare = one_line if self._citext is None or "citext" not in one_line else self._citext.sub("citext", one_line)
        pattern, needles = self._qualifier(schema)
        if needles[0] not in one_line and needles[1] not in one_line:
            return bare, one_line
        return pattern.sub("", bare), pattern.sub(SCHEMA + ".", one_line)

    def _qualifier(self, schema: str) -> tuple[re.Pattern[str], tuple[str, str]]:
        """The pattern of ``schema.`` and the texts it can match only where one of them occurs."""
        found = self._qualifiers.get(schema)
        if found is None:
            found = self._qualifiers[schema] = (re.compile(_qualified(schema)), (f"{schema}.", f"{quote_ident(schema)}."))
        return found


# pg_get_constraintdef prints CASE expressions over several indented lines.
_LINE_BREAKS = re.compile(r"\n\s*")


def _qualified(schema: str) -> str:
    """A pattern for ``schema.`` as the server prints it, bare or quoted, not inside another name."""
    quoted = re.escape(quote_ident(schema))
    bare = re.escape(schema) if re.fullmatch(r"[a-z_][a-z0-9_$]*", schema) else None
    either = f"(?:{quoted}|{bare})" if bare else quoted
    return rf"(?<![\w$\"]){either}\."


def seeded_rows_query(tables: Iterable[tuple[str, str, tuple[str, ...]]], *, whole_rows: bool = False) -> str:
    """One query for the rows of ``(schema, table, key columns)``: schema, table, the key as ``row(...)::text``
    (and with ``whole_rows`` the row as JSON). Only for tables of installs we own: reading a table runs its policies.
    """
    whole = ", pg_catalog.to_jsonb(x)::pg_catalog.text" if whole_rows else ""
    return "\nUNION ALL\n".join(
        f"SELECT {quote_literal(schema)}, {quote_literal(table)}, "
        f"ROW({', '.join(f'x.{quote_ident(c)}' for c in columns)})::pg_catalog.text{whole} "
        f"FROM {quote_ident(schema)}.{quote_ident(table)} AS x"
        for schema, table, columns in tables
    )


# Tables read per statement. Reading a table locks it and its indexes until the
# transaction ends; a fleet's thousands at once would overflow the server's lock
# table (max_locks_per_transaction x max_connections, 6,400 by default). Each
# statement runs in a savepoint rolled back, which frees its locks; a UNION ALL
# of a few hundred plans in milliseconds.
_TABLES_PER_READ = 200


def seeded_keys(database: Database, tables: Sequence[tuple[str, str, tuple[str, ...]]]) -> list[tuple[str, str, str]]:
    """The keys found in each of ``tables`` (schema, table, key columns), as (schema, table, key).

    One statement per ``_TABLES_PER_READ`` tables; call inside a transaction that pins settings.
    """
    found: list[tuple[str, str, str]] = []
    for start in range(0, len(tables), _TABLES_PER_READ):
        query = seeded_rows_query(tables[start : start + _TABLES_PER_READ])
        found += rolled_back(database, partial(database.fetchall, query))
    return found
