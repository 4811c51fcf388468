"""Online forms: the steps whose work grows with the data, without holding exclusive locks while they do it.

A step that builds an index, validates a constraint or backfills rows on an
existing table holds its ACCESS EXCLUSIVE lock for as long as that takes: a
second on a million rows, while every application query on the table waits.
Its online form splits it into

1. ``first``: one short transaction, under the step's bounded lock, creating
   what the work needs (columns, a constraint ``NOT VALID``, V08's helpers);
   once it has committed the form has *started* (``started``, one boolean);
2. ``work``, outside any exclusive lock: ``CREATE INDEX CONCURRENTLY``,
   ``VALIDATE CONSTRAINT`` (SHARE UPDATE EXCLUSIVE: reads and writes go on),
   and V08's batches, each in a short transaction;
3. ``last``: the rest of the step, in the step's own transaction with the
   marker, so the marker moves only when the version is complete.

Every piece of work can be run again: an index left invalid by a crash is
dropped and built again, a validation or a batch repeats harmlessly. So after a
crash the next ``up`` resumes a started form, and anything else (a down, a
transactional up) first runs ``undo``, one short transaction back to the
version before.

The forms are derived from the versions' own statements (V08 aside), so the
final catalog is exactly the version's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Union

from .db import Database
from .marker import TABLES_AT
from .plan import Step, get_step, latest_version
from .sqltext import quote_ident, quote_literal
from .versions import v08_online

# "auto" takes the online form when the scanned table's heap is this large:
# about 6,000 users, which the transactional V08 names in some 100 ms.
ONLINE_MIN_BYTES = 1 << 20

def invalid_index(prefix: str, name: str) -> str:
    """SQL FROM and WHERE: the invalid index ``name`` of schema ``prefix`` (expressions of type name),
    left by an interrupted concurrent build."""
    return f"""FROM pg_catalog.pg_index AS i
JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE n.nspname OPERATOR(pg_catalog.=) {prefix} AND c.relname OPERATOR(pg_catalog.=) {name} AND NOT i.indisvalid"""


# A column, not ``SELECT FROM``: a row without columns reads as no row at all.
INVALID_INDEX_QUERY = f"SELECT true {invalid_index('%(prefix)s::pg_catalog.name', '%(name)s::pg_catalog.name')}"

# An index on an existing table, an added CHECK constraint, an added column.
_INDEX = re.compile(r'^CREATE (UNIQUE )?INDEX "([^"]+)" ON "s"\."([a-z0-9_]+)"')
_CHECK = re.compile(r'^ALTER TABLE "s"\."([a-z0-9_]+)" ADD CONSTRAINT "([^"]+)" CHECK ')
_ADD_COLUMNS = re.compile(r'^ALTER TABLE "s"\."([a-z0-9_]+)" ADD COLUMN ')
_COLUMN = re.compile(r'ADD COLUMN "([^"]+)"')


@dataclass(frozen=True)
class IndexBuild:
    """``CREATE INDEX CONCURRENTLY``; an invalid index of that name (a crashed build) is dropped first."""

    name: str
    sql: str


@dataclass(frozen=True)
class Validation:
    sql: str


@dataclass(frozen=True)
class Batches:
    """A function called in short transactions until it has caught up.

    ``cursor``: ``call`` takes ``{first}``, the first id of its batch, and returns
    the last id it did (the next batch starts after it), NULL when none is left.
    Otherwise it returns how many items it did, and a batch short of ``full``
    means it has caught up: under steady application writes there is always a
    little more, which the step's final transaction takes.
    """

    what: str
    call: str
    cursor: bool
    full: int = 0

    def sql(self, first: str) -> str:
        """The batch's statement, ``first`` an SQL expression (a placeholder, a PL/pgSQL variable)."""
        return f"SELECT {self.call.replace('{first}', first)}"


Work = Union[IndexBuild, Validation, Batches]


@dataclass(frozen=True)
class OnlineForm:
    step: Step
    table: str  # the table the work scans: its size decides whether "auto" goes online
    started: str  # SQL returning one boolean
    first: tuple[str, ...]
    work: tuple[Work, ...]
    last: tuple[str, ...]
    undo: tuple[str, ...]


def _index_build(statement: str, match: re.Match[str]) -> IndexBuild:
    unique, name = match.group(1) or "", match.group(2)
    return IndexBuild(name, statement.replace(f"CREATE {unique}INDEX ", f"CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS ", 1))


# Written on the first object ``first`` adds and removed by ``last``: only an
# interrupted online form leaves it, so a marker one behind a complete version
# (whose objects look the same) is never taken for one, and never undone.
IN_PROGRESS = "phoenix_kit: this version's online step is in progress; the next up resumes it, a down undoes it"


def _described(prefix: str, joins: str, where: str) -> str:
    """SQL, one boolean: an object of schema ``prefix`` carrying :data:`IN_PROGRESS`."""
    return (
        f"SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace AS n {joins} "
        f"WHERE n.nspname OPERATOR(pg_catalog.=) {quote_literal(prefix)}::pg_catalog.name AND {where} "
        f"AND d.description OPERATOR(pg_catalog.=) {quote_literal(IN_PROGRESS)}::pg_catalog.text)"
    )


def started_in(namespace: str) -> str:
    """SQL, one boolean: some online form has started in schema ``namespace`` (a ``pg_namespace`` alias)."""
    eq, sign = "OPERATOR(pg_catalog.=)", f"{quote_literal(IN_PROGRESS)}::pg_catalog.text"
    return f"""(EXISTS (SELECT FROM pg_catalog.pg_class AS r WHERE r.relnamespace {eq} {namespace}.oid
                  AND r.relname {eq} {quote_literal(v08_online.BASES)}::pg_catalog.name)
    OR EXISTS (SELECT FROM pg_catalog.pg_description AS d JOIN pg_catalog.pg_class AS r ON r.oid {eq} d.objoid
                WHERE d.classoid {eq} 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
                  AND r.relnamespace {eq} {namespace}.oid AND d.description {eq} {sign})
    OR EXISTS (SELECT FROM pg_catalog.pg_description AS d JOIN pg_catalog.pg_constraint AS k ON k.oid {eq} d.objoid
                WHERE d.classoid {eq} 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid
                  AND k.connamespace {eq} {namespace}.oid AND d.description {eq} {sign}))"""


def _column_in_progress(prefix: str, table: str, column: str) -> str:
    return _described(
        prefix,
        "JOIN pg_catalog.pg_class AS c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid "
        "JOIN pg_catalog.pg_attribute AS a ON a.attrelid OPERATOR(pg_catalog.=) c.oid "
        "JOIN pg_catalog.pg_description AS d ON d.objoid OPERATOR(pg_catalog.=) c.oid "
        "AND d.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid "
        "AND d.objsubid OPERATOR(pg_catalog.=) a.attnum",
        f"c.relname OPERATOR(pg_catalog.=) {quote_literal(table)}::pg_catalog.name "
        f"AND a.attname OPERATOR(pg_catalog.=) {quote_literal(column)}::pg_catalog.name",
    )


def _constraint_in_progress(prefix: str, name: str) -> str:
    return _described(
        prefix,
        "JOIN pg_catalog.pg_constraint AS k ON k.connamespace OPERATOR(pg_catalog.=) n.oid "
        "JOIN pg_catalog.pg_description AS d ON d.objoid OPERATOR(pg_catalog.=) k.oid "
        "AND d.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid "
        "AND d.objsubid OPERATOR(pg_catalog.=) 0",
        f"k.conname OPERATOR(pg_catalog.=) {quote_literal(name)}::pg_catalog.name",
    )


def _statements(number: int, prefix: str) -> list[tuple[str, str]]:
    """Each statement of the version's up twice: for the placeholder schema (to classify), for ``prefix``."""
    version = get_step(number, "up").version
    return list(zip(version.up('"s"'), version.up(quote_ident(prefix))))


def _derived(number: int, prefix: str) -> OnlineForm | None:
    """The online form of a version whose up indexes or checks a table an earlier version made.

    ``first`` takes the columns the indexes need and the constraints, ``NOT
    VALID``; the undo drops what ``first`` added (an index goes with its column).
    """
    step = get_step(number, "up")
    existing = TABLES_AT[number - 1]
    statements = _statements(number, prefix)
    generic = [g for g, _ in statements]
    scanned = {m.group(3) for s in generic if (m := _INDEX.match(s)) and m.group(3) in existing}
    checked = {m.group(1) for s in generic if (m := _CHECK.match(s)) and m.group(1) in existing}
    if not scanned and not checked:
        return None
    schema = quote_ident(prefix)
    first: list[str] = []
    work: list[Work] = []
    last: list[str] = []
    undo: list[str] = []
    probe: tuple[str, str] | None = None  # what carries the IN_PROGRESS comment, and its probe
    for generic_statement, statement in statements:
        if (m := _INDEX.match(generic_statement)) and m.group(3) in existing:
            work.append(_index_build(statement, m))
            undo.insert(0, f"DROP INDEX IF EXISTS {schema}.{quote_ident(m.group(2))}")
        elif m := _CHECK.match(generic_statement):
            table, name = m.group(1), m.group(2)
            first.append(f"{statement} NOT VALID")
            work.append(Validation(f"ALTER TABLE {schema}.{quote_ident(table)} VALIDATE CONSTRAINT {quote_ident(name)}"))
            undo.append(f"ALTER TABLE {schema}.{quote_ident(table)} DROP CONSTRAINT {quote_ident(name)}")
            target = f"CONSTRAINT {quote_ident(name)} ON {schema}.{quote_ident(table)}"
            probe = probe or (target, _constraint_in_progress(prefix, name))
        elif (m := _ADD_COLUMNS.match(generic_statement)) and m.group(1) in scanned:
            table, columns = m.group(1), _COLUMN.findall(generic_statement)
            first.append(statement)
            drops = ", ".join(f"DROP COLUMN {quote_ident(column)}" for column in columns)
            undo.append(f"ALTER TABLE {schema}.{quote_ident(table)} {drops}")
            target = f"COLUMN {schema}.{quote_ident(table)}.{quote_ident(columns[0])}"
            probe = probe or (target, _column_in_progress(prefix, table, columns[0]))
        else:
            last.append(statement)
    assert probe is not None, f"V{number:02d}: its online form must start by adding something"
    target, started = probe
    first.append(f"COMMENT ON {target} IS {quote_literal(IN_PROGRESS)}")
    last.insert(0, f"COMMENT ON {target} IS NULL")
    table = sorted(scanned | checked)[0]
    return OnlineForm(step, table, started, tuple(first), tuple(work), tuple(last), tuple(undo))


def _v08(prefix: str) -> OnlineForm:
    schema = quote_ident(prefix)
    build = next(_index_build(statement, m) for generic, statement in _statements(8, prefix) if (m := _INDEX.match(generic)))
    rename = Batches("naming users", v08_online.rename_call(schema), cursor=False, full=v08_online.RENAME_BATCH)
    return OnlineForm(
        get_step(8, "up"),
        "phoenix_kit_users",
        v08_online.started(prefix),
        tuple(v08_online.first(schema)),
        # Named before the index (building it checks them), and again for what changed meanwhile.
        (Batches("copying e-mails", v08_online.copy_call(schema), cursor=True), rename, build, rename),
        tuple(v08_online.last(schema)),
        tuple(v08_online.undo(schema)),
    )


@cache
def online_form(number: int, prefix: str) -> OnlineForm | None:
    """Version ``number``'s up as an online form, or None when it has no work that grows with the data."""
    return _v08(prefix) if number == 8 else _derived(number, prefix)


@dataclass(frozen=True)
class OnlineFacts:
    """Read once per run: which online forms have started, and the size of the tables they scan."""

    prefix: str
    started: frozenset[int]  # version numbers
    sizes: dict[str, int]  # table -> heap bytes

    def interrupted(self, marker: int) -> OnlineForm | None:
        """The started form of the version after ``marker``: a crash interrupted it."""
        return online_form(marker + 1, self.prefix) if marker + 1 in self.started else None

    def undone(self, form: OnlineForm) -> OnlineFacts:
        return OnlineFacts(self.prefix, self.started - {form.step.version.number}, self.sizes)


def read_online_facts(db: Database, prefix: str) -> OnlineFacts:
    forms = [form for number in range(1, latest_version() + 1) if (form := online_form(number, prefix))]
    tables = sorted({form.table for form in forms})
    ((started, sizes),) = db.fetchall(
        f"""SELECT ARRAY[{", ".join(f"({form.started})" for form in forms)}],
       ARRAY(SELECT pg_catalog.pg_relation_size(c.oid) FROM pg_catalog.unnest(%(tables)s::pg_catalog.name[]) AS t (name)
               LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) %(prefix)s::pg_catalog.name
               LEFT JOIN pg_catalog.pg_class AS c ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
                     AND c.relname OPERATOR(pg_catalog.=) t.name
              ORDER BY t.name)""",
        {"prefix": prefix, "tables": tables},
    )
    return OnlineFacts(
        prefix,
        frozenset(form.step.version.number for form, flag in zip(forms, started) if flag),
        {table: size or 0 for table, size in zip(tables, sizes)},
    )
