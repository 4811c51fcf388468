"""Catalog introspection for the PhoenixKit schema tests (psycopg 3 only, no Django).

``introspect(conn, schema)`` returns a JSON-compatible description of everything in
``schema`` that the spec (§7 "Catalog at each version") pins down, in exactly the
shape of ``tests/expected/v01.json``, ``v08.json`` and ``v16.json``::

    {
      "tables": {
        name: {
          "comment": str | None,
          "columns": [[position, attnum, name, format_type, "NOT NULL" | "NULL",
                       default | None, column_comment | None], ...],
          "constraints": {name: [contype_word, definition]},
          "indexes": {name: definition},
        },
      },
      "sequences": {name: [data_type, "table.column" | None]},
      "other_objects": [description, ...],      # should be empty for PhoenixKit
      "citext_schema": {"table.column": schema_of_the_citext_type},
    }

Every definition is prefix independent, printed the way the spec prints it: no
``<schema>.`` qualifier on objects of ``schema`` itself (objects of *other* schemas
stay qualified, so a cross-schema reference shows up as a difference), constraint
definitions on one line (see ``_one_line``), and ``citext`` always bare
(its schema is reported separately in ``citext_schema``).

The result does not depend on the session: the queries run in a transaction (a
savepoint if one is already open) that pins ``search_path`` and the output-affecting
settings with ``set_config(..., true)`` and is always rolled back, so the caller's
session is left exactly as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

EXPECTED_DIR = Path(__file__).resolve().parent / "expected"

CONTYPE_WORDS: dict[str, str] = {
    "p": "PRIMARY KEY",
    "f": "FOREIGN KEY",
    "c": "CHECK",
    "u": "UNIQUE",
    "x": "EXCLUDE",
    "t": "TRIGGER",
}

# Settings that change how pg_get_*def / format_type / pg_get_expr print things.
# search_path is set separately to the introspected schema alone.
_PINNED_SETTINGS: tuple[tuple[str, str], ...] = (
    ("quote_all_identifiers", "off"),
    ("datestyle", "ISO, MDY"),
    ("intervalstyle", "postgres"),
    ("extra_float_digits", "1"),
    ("standard_conforming_strings", "on"),
)

# Extension members (deptype 'e') are never reported: the citext extension lives in
# the first schema of search_path (normally public) and owns many functions there.
_NOT_EXTENSION_MEMBER = """
    NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend dep
        WHERE dep.classid = {catalog}::pg_catalog.regclass
          AND dep.objid = {oid}
          AND dep.deptype = 'e'
    )
"""


def _not_ext(catalog: str, oid: str) -> str:
    return _NOT_EXTENSION_MEMBER.format(catalog=f"'pg_catalog.{catalog}'", oid=oid)


_TABLES_SQL = """
SELECT c.relname, pg_catalog.obj_description(c.oid, 'pg_class'),
       c.relpersistence, c.relrowsecurity
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind = 'r'
ORDER BY c.relname
"""

_COLUMNS_SQL = """
SELECT c.relname,
       pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS position,
       a.attnum, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod),
       a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid),
       pg_catalog.col_description(a.attrelid, a.attnum),
       bt.typname, btn.nspname,
       a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation
            THEN pg_catalog.format('%%I.%%I', coln.nspname, col.collname)
       END
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
-- element type for arrays, the type itself otherwise (to find citext[] too)
JOIN pg_catalog.pg_type bt
  ON bt.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END
JOIN pg_catalog.pg_namespace btn ON btn.oid = bt.typnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation col ON col.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace coln ON coln.oid = col.collnamespace
WHERE n.nspname = %(schema)s AND c.relkind = 'r'
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

# contype 'n' (PostgreSQL >= 18 records NOT NULL as constraints) is already covered
# by the columns' NULL / NOT NULL field and is not a constraint in the spec's sense.
_CONSTRAINTS_SQL = """
SELECT c.relname, con.conname, con.contype, pg_catalog.pg_get_constraintdef(con.oid)
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind = 'r' AND con.contype <> 'n'
ORDER BY c.relname, con.conname
"""

_INDEXES_SQL = """
SELECT c.relname, ic.relname,
       -- an index a concurrent build left unusable is not the version's index
       pg_catalog.pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid AND i.indisready THEN '' ELSE ' (invalid)' END
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind = 'r'
ORDER BY c.relname, ic.relname
"""

_SEQUENCES_SQL = """
SELECT s.relname,
       pg_catalog.format_type(sq.seqtypid, NULL),
       own.relname, ownn.nspname, a.attname
FROM pg_catalog.pg_class s
JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace
JOIN pg_catalog.pg_sequence sq ON sq.seqrelid = s.oid
LEFT JOIN pg_catalog.pg_depend dep
  ON dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.objid = s.oid
 AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
 AND dep.refobjsubid > 0 AND dep.deptype IN ('a', 'i')
LEFT JOIN pg_catalog.pg_class own ON own.oid = dep.refobjid
LEFT JOIN pg_catalog.pg_namespace ownn ON ownn.oid = own.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
WHERE n.nspname = %(schema)s AND s.relkind = 'S'
ORDER BY s.relname
"""

# Each branch yields (kind, name, detail) as text; Python joins them.  No operator on
# unknown-typed literals is used, so user-defined operators in the introspected
# schema (which is on search_path while this runs) cannot change how it resolves.
_OTHER_OBJECT_BRANCHES: tuple[str, ...] = (
    # relations other than tables, indexes and sequences
    """SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                  WHEN 'c' THEN 'composite type' WHEN 'f' THEN 'foreign table'
                  WHEN 'p' THEN 'partitioned table' WHEN 't' THEN 'TOAST table'
                  ELSE 'relation' END::text,
              c.relname::text, NULL::text
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = %(schema)s AND c.relkind NOT IN ('r', 'i', 'I', 'S')
         AND """ + _not_ext("pg_class", "c.oid"),
    # indexes in the schema whose table lives elsewhere
    """SELECT 'index'::text, ic.relname::text, ' (on a table outside the schema)'::text
       FROM pg_catalog.pg_class ic
       JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
       JOIN pg_catalog.pg_index i ON i.indexrelid = ic.oid
       JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
       WHERE n.nspname = %(schema)s AND c.relnamespace <> n.oid""",
    """SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
                  WHEN 'w' THEN 'window function' ELSE 'function' END::text,
              p.proname::text,
              pg_catalog.format('(%%s)', pg_catalog.pg_get_function_identity_arguments(p.oid))
       FROM pg_catalog.pg_proc p
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = %(schema)s AND """ + _not_ext("pg_proc", "p.oid"),
    # types: row/composite types are reported as relations, implicit arrays skipped
    """SELECT CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain'
                  WHEN 'r' THEN 'range type' WHEN 'm' THEN 'multirange type'
                  WHEN 'p' THEN 'pseudo type' ELSE 'base type' END::text,
              t.typname::text, NULL::text
       FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       WHERE n.nspname = %(schema)s AND t.typrelid = 0
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
         AND """ + _not_ext("pg_type", "t.oid"),
    """SELECT 'trigger'::text, tg.tgname::text, pg_catalog.format(' on %%s', c.relname)
       FROM pg_catalog.pg_trigger tg
       JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = %(schema)s AND NOT tg.tgisinternal""",
    """SELECT 'rule'::text, r.rulename::text, pg_catalog.format(' on %%s', c.relname)
       FROM pg_catalog.pg_rewrite r
       JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = %(schema)s AND r.rulename <> '_RETURN'::name""",
    """SELECT 'policy'::text, pol.polname::text, pg_catalog.format(' on %%s', c.relname)
       FROM pg_catalog.pg_policy pol
       JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = %(schema)s""",
    """SELECT 'table'::text, c.relname::text,
              pg_catalog.format(' inherits from %%I.%%I', pn.nspname, pc.relname)
       FROM pg_catalog.pg_inherits ih
       JOIN pg_catalog.pg_class c ON c.oid = ih.inhrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_class pc ON pc.oid = ih.inhparent
       JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
       WHERE n.nspname = %(schema)s""",
    """SELECT 'statistics object'::text, s.stxname::text, NULL::text
       FROM pg_catalog.pg_statistic_ext s
       JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
       WHERE n.nspname = %(schema)s""",
    """SELECT 'operator'::text, o.oprname::text,
              pg_catalog.format('(%%s, %%s)', pg_catalog.format_type(o.oprleft, NULL),
                                pg_catalog.format_type(o.oprright, NULL))
       FROM pg_catalog.pg_operator o
       JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
       WHERE n.nspname = %(schema)s AND """ + _not_ext("pg_operator", "o.oid"),
    """SELECT 'operator class'::text, oc.opcname::text, NULL::text
       FROM pg_catalog.pg_opclass oc
       JOIN pg_catalog.pg_namespace n ON n.oid = oc.opcnamespace
       WHERE n.nspname = %(schema)s AND """ + _not_ext("pg_opclass", "oc.oid"),
    """SELECT 'operator family'::text, ofam.opfname::text, NULL::text
       FROM pg_catalog.pg_opfamily ofam
       JOIN pg_catalog.pg_namespace n ON n.oid = ofam.opfnamespace
       WHERE n.nspname = %(schema)s AND """ + _not_ext("pg_opfamily", "ofam.oid"),
    """SELECT 'collation'::text, col.collname::text, NULL::text
       FROM pg_catalog.pg_collation col
       JOIN pg_catalog.pg_namespace n ON n.oid = col.collnamespace
       WHERE n.nspname = %(schema)s AND """ + _not_ext("pg_collation", "col.oid"),
    """SELECT 'conversion'::text, cv.conname::text, NULL::text
       FROM pg_catalog.pg_conversion cv
       JOIN pg_catalog.pg_namespace n ON n.oid = cv.connamespace
       WHERE n.nspname = %(schema)s AND """ + _not_ext("pg_conversion", "cv.oid"),
    """SELECT 'text search configuration'::text, cfg.cfgname::text, NULL::text
       FROM pg_catalog.pg_ts_config cfg
       JOIN pg_catalog.pg_namespace n ON n.oid = cfg.cfgnamespace
       WHERE n.nspname = %(schema)s AND """ + _not_ext("pg_ts_config", "cfg.oid"),
    """SELECT 'text search dictionary'::text, dict.dictname::text, NULL::text
       FROM pg_catalog.pg_ts_dict dict
       JOIN pg_catalog.pg_namespace n ON n.oid = dict.dictnamespace
       WHERE n.nspname = %(schema)s AND """ + _not_ext("pg_ts_dict", "dict.oid"),
)
_OTHER_OBJECTS_SQL = "\nUNION ALL\n".join(_OTHER_OBJECT_BRANCHES)


def _qualifier_re(schema: str) -> re.Pattern[str]:
    """Matches a ``<schema>.`` qualifier, quoted or not, at an identifier boundary."""
    quoted = '"' + schema.replace('"', '""') + '"'
    alternatives = [re.escape(quoted)]
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", schema):
        alternatives.append(re.escape(schema))
    return re.compile(r'(?<![\w$".])(?:' + "|".join(alternatives) + r")\.(?=[\w\"])")


def _strip(text: str | None, qualifier: re.Pattern[str]) -> str | None:
    if text is None:
        return None
    return qualifier.sub("", text)


def _one_line(text: str) -> str:
    r"""Collapse pg_get_constraintdef's line breaks the way the spec prints them.

    PostgreSQL lays a CASE out over several lines even in non-pretty mode
    (``CHECK (\nCASE\n    WHEN ... THEN true\n    ELSE (...)\nEND)``).  The spec
    prints that as ``CHECK (CASE WHEN ... THEN true ELSE (...) END)``: a line break and
    the indentation around it become one space, or nothing right after ``(`` and
    right before ``)``.
    """
    brk = r"[ \t]*(?:\r\n|\r|\n)\s*"
    text = re.sub(r"\(" + brk, "(", text)
    text = re.sub(brk + r"\)", ")", text)
    return re.sub(brk, " ", text)


def _quote_ident(name: str) -> str:
    """Client-side equivalent of quote_ident for the citext-schema qualifier."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _bare_type(ftype: str, type_schema: str) -> str:
    for prefix in (_quote_ident(type_schema) + ".", '"' + type_schema.replace('"', '""') + '".'):
        if ftype.startswith(prefix):
            return ftype[len(prefix):]
    return ftype


def introspect(conn: psycopg.Connection[Any], schema: str) -> dict[str, Any]:
    """Describe every object of ``schema`` that matters (see the module docstring)."""
    qualifier = _qualifier_re(schema)
    params = {"schema": schema}
    tables: dict[str, dict[str, Any]] = {}
    sequences: dict[str, list[Any]] = {}
    other: list[str] = []
    citext_schema: dict[str, str] = {}

    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        # search_path = the schema only (pg_catalog is implicitly first), so objects
        # of the schema print unqualified; anything elsewhere prints qualified.
        cur.execute(
            "SELECT pg_catalog.set_config('search_path', pg_catalog.quote_ident(%(schema)s), true)",
            params,
        )
        for name, value in _PINNED_SETTINGS:
            cur.execute("SELECT pg_catalog.set_config(%s, %s, true)", (name, value))

        cur.execute(_TABLES_SQL, params)
        for relname, comment, persistence, rowsecurity in cur.fetchall():
            tables[relname] = {"comment": comment, "columns": [], "constraints": {}, "indexes": {}}
            if persistence != "p":
                other.append(f"table {relname} is {'unlogged' if persistence == 'u' else 'temporary'}")
            if rowsecurity:
                other.append(f"table {relname} has row level security enabled")

        cur.execute(_COLUMNS_SQL, params)
        for (relname, position, attnum, attname, ftype, notnull, default, comment,
             base_typname, base_typschema, identity, generated, collation) in cur.fetchall():
            if base_typname == "citext":
                ftype = _bare_type(ftype, base_typschema)
                citext_schema[f"{relname}.{attname}"] = base_typschema
            tables[relname]["columns"].append([
                int(position),
                int(attnum),
                attname,
                ftype,
                "NOT NULL" if notnull else "NULL",
                _strip(default, qualifier),
                comment,
            ])
            if identity:
                kind = "ALWAYS" if identity == "a" else "BY DEFAULT"
                other.append(f"column {relname}.{attname} is an identity column (GENERATED {kind})")
            if generated:
                other.append(f"column {relname}.{attname} is a generated column")
            if collation:
                other.append(f"column {relname}.{attname} has collation {collation}")

        cur.execute(_CONSTRAINTS_SQL, params)
        for relname, conname, contype, definition in cur.fetchall():
            word = CONTYPE_WORDS.get(contype, f"contype {contype}")
            tables[relname]["constraints"][conname] = [word, _strip(_one_line(definition), qualifier)]

        cur.execute(_INDEXES_SQL, params)
        for relname, indexname, definition in cur.fetchall():
            tables[relname]["indexes"][indexname] = _strip(definition, qualifier)

        cur.execute(_SEQUENCES_SQL, params)
        for seqname, datatype, owner_table, owner_schema, owner_column in cur.fetchall():
            owner: str | None = None
            if owner_table is not None:
                owner = f"{owner_table}.{owner_column}"
                if owner_schema != schema:
                    owner = f"{owner_schema}.{owner}"
            else:
                other.append(f"sequence {seqname} (not owned by a column)")
            sequences[seqname] = [datatype, owner]

        cur.execute(_OTHER_OBJECTS_SQL, params)
        for kind, name, detail in cur.fetchall():
            other.append(f"{kind} {name}{detail or ''}")

    return {
        "tables": tables,
        "sequences": sequences,
        "other_objects": sorted(other),
        "citext_schema": citext_schema,
    }


def inventory(catalog: dict[str, Any]) -> dict[str, Any]:
    """The spec's §7 inventory counts for an ``introspect`` result (or expected JSON).

    Counts include primary keys and their indexes; constraints are every constraint
    listed (PK + FK + CHECK for PhoenixKit).  ``table_comment`` is the comment on
    ``phoenix_kit`` (None when that table is absent).
    """
    tables = catalog["tables"]
    return {
        "tables": len(tables),
        "columns": sum(len(t["columns"]) for t in tables.values()),
        "indexes": sum(len(t["indexes"]) for t in tables.values()),
        "constraints": sum(len(t["constraints"]) for t in tables.values()),
        "table_comment": tables.get("phoenix_kit", {}).get("comment"),
    }


def table_rows(
    conn: psycopg.Connection[Any], schema: str, table: str, columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM "schema"."table" ORDER BY id`` as a list of tuples."""
    if isinstance(columns, str) or not columns:
        raise ValueError("columns must be a non-empty sequence of column names")
    query = sql.SQL("SELECT {cols} FROM {table} ORDER BY {id}").format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        table=sql.Identifier(schema, table),
        id=sql.Identifier("id"),
    )
    with conn.cursor() as cur:
        cur.execute(query)
        return [tuple(row) for row in cur.fetchall()]


def load_expected(name: str) -> Any:
    """Load ``tests/expected/<name>.json`` (e.g. ``"v16"``, ``"inventory"``, ``"seeds"``)."""
    with open(EXPECTED_DIR / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)
