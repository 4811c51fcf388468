"""What a move destroys, found before it runs: declared rows, objects of yours, a kept schema.

Three kinds of loss, all framework-free (a :class:`~phoenix_kit.db.Database`):

- **Declared rows.** Each version declares what its ``down`` (``DOWN_LOSES``) and
  its ``up`` (``UP_LOSES``) destroy; :func:`assess` counts the affected rows.
- **Objects of yours.** A step that drops a table or a column takes with it, without
  ``CASCADE``, every object that PostgreSQL made *auto*-dependent on it: indexes,
  constraints and extended statistics that use a dropped column (even together with
  kept ones), and the triggers, rules, policies, owned sequences and publication
  memberships of a dropped table. :func:`assess` finds those that are not
  phoenix_kit's own in ``pg_depend``. Objects that only *normally* depend on what is
  dropped (views, column triggers, foreign keys of your tables) are not lost: the
  step fails on them, atomically, and PostgreSQL names them.
- **The schema.** Down to 0 drops a schema phoenix_kit created only if it is still
  exactly as created; :func:`kept_schema` says why one was kept.

Every query here is independent of the session's ``search_path``: functions and
operators are ``pg_catalog``-qualified, values cast to exact types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from .db import Database
from .driver import database_error
from .errors import MarkerError
from .fanout import Move
from .marker import CREATED_SCHEMA_COMMENT, PrefixState
from .plan import Step, get_step, latest_version
from .sqltext import quote_ident
from .versions import VERSIONS, Loss

__all__ = ["CountedLoss", "KeptSchema", "LostObject", "Losses", "assess", "kept_schema", "losing_ups", "step_drops"]

# What a version's statements drop and create, read from the statements
# themselves (like marker.CREATED_BY), so a new version needs no list here.
_SCHEMA = '"s"'
_DROP_TABLE = re.compile(r'DROP TABLE "s"\."([^"]+)"')
_ALTER_TABLE = re.compile(r'ALTER TABLE "s"\."([^"]+)" ')
_DROP_COLUMN = re.compile(r'DROP COLUMN "([^"]+)"')
_CREATE_TABLE = re.compile(r'CREATE TABLE "s"\."([^"]+)"')
_CREATE_INDEX = re.compile(r'CREATE (?:UNIQUE )?INDEX "([^"]+)" ON "s"\."([^"]+)"')
_CONSTRAINT = re.compile(r'CONSTRAINT "([^"]+)"')
_SERIAL = re.compile(r'"([^"]+)" (?:small|big)?serial\b')

# undefined_column, undefined_table: what a count meets when the catalog is not as the marker says.
_CATALOG_MISMATCH = frozenset({"42703", "42P01"})

Drop = tuple[str, "str | None"]  # (table, column); column None: the whole table


def step_drops(step: Step) -> tuple[Drop, ...]:
    """The tables (column None) and columns the step's statements drop, in order."""
    version = step.version
    drops: list[Drop] = []
    for statement in (version.up if step.direction == "up" else version.down)(_SCHEMA):
        drops += [(table, None) for table in _DROP_TABLE.findall(statement)]
        altered = _ALTER_TABLE.match(statement)
        if altered is not None:
            drops += [(altered[1], column) for column in _DROP_COLUMN.findall(statement)]
    return tuple(drops)


def _own_objects() -> frozenset[tuple[str, str, str]]:
    """(kind, table, name) of every index, constraint and sequence phoenix_kit's statements create.

    Kinds: ``index``, ``constraint`` (a primary key is both, named
    ``<table>_pkey``), ``sequence`` (``<table>_<column>_seq`` of a serial column).
    """
    own: set[tuple[str, str, str]] = set()
    for version in VERSIONS:
        for statement in [*version.up(_SCHEMA), *version.down(_SCHEMA)]:
            own.update(("index", table, index) for index, table in _CREATE_INDEX.findall(statement))
            created, altered = _CREATE_TABLE.findall(statement), _ALTER_TABLE.match(statement)
            tables = created or ([altered[1]] if altered is not None else [])
            if len(tables) != 1:  # DO blocks and the like: only their CREATE INDEX is read
                continue
            table = tables[0]
            own.update(("constraint", table, name) for name in _CONSTRAINT.findall(statement))
            own.update(("sequence", table, f"{table}_{column}_seq") for column in _SERIAL.findall(statement))
            if "PRIMARY KEY" in statement:
                own.update({("constraint", table, f"{table}_pkey"), ("index", table, f"{table}_pkey")})
    return frozenset(own)


OWN_OBJECTS = _own_objects()


@dataclass(frozen=True)
class CountedLoss:
    """A loss a step declares, with the number of rows it affects now."""

    step: Step
    table: str
    what: str
    rows: int

    @property
    def needs_confirmation(self) -> bool:
        """A down's declared loss drops or rewrites structure even when no row is affected;
        an up's (rows it deletes) is nothing when it affects no row."""
        return self.step.direction == "down" or self.rows > 0

    def line(self) -> str:
        return f"{self.table}: {self.what} ({self.rows} row{'' if self.rows == 1 else 's'})"


@dataclass(frozen=True)
class LostObject:
    """An object that is not phoenix_kit's and that a step drops with a table or column of ours."""

    step: Step
    table: str  # the phoenix_kit table it belongs to
    description: str  # pg_describe_object(): "index app_users_username_lower", "trigger t on table auth.x"
    columns: tuple[str, ...]  # the dropped columns it uses; () when it goes with the dropped table

    def line(self) -> str:
        if not self.columns:
            why = "goes with the table"
        else:
            why = f"uses column{'s' if len(self.columns) > 1 else ''} {', '.join(self.columns)}"
        return f"{self.table}: {self.description} (not phoenix_kit's; {why})"


@dataclass(frozen=True)
class Losses:
    """What a move's steps would destroy, found before they run."""

    steps: tuple[Step, ...]
    rows: tuple[CountedLoss, ...]
    objects: tuple[LostObject, ...]

    @property
    def need_confirmation(self) -> bool:
        """Whether the move destroys anything: any object of yours, a down's declared loss, an up's lost row."""
        return bool(self.objects) or any(loss.needs_confirmation for loss in self.rows)

    def of(self, step: Step, *, confirming: bool = False) -> list[str]:
        """One line per thing ``step`` loses, declared rows first, then objects of yours.

        ``confirming``: leave out an up's declared losses that affect no row.
        """
        rows = [loss for loss in self.rows if loss.step == step and (loss.needs_confirmation or not confirming)]
        return [loss.line() for loss in rows] + [lost.line() for lost in self.objects if lost.step == step]


_TABLES_QUERY = """
SELECT c.relname::pg_catalog.text
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE n.nspname OPERATOR(pg_catalog.=) %s::pg_catalog.name
  AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog."char"[])
"""

# Objects with an auto ('a') dependency on a dropped table (any of its columns)
# or column: exactly what PostgreSQL drops with it without CASCADE. Column
# defaults and NOT NULL constraints (PostgreSQL 18) are properties of the
# column, not objects of their own; internal ('i') dependents are parts of the
# table (its row type, TOAST table) or of a listed object (a constraint's index).
_DEPENDENTS_QUERY = """
SELECT w.position, d.classid, d.objid, d.objsubid,
       pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid),
       t.relname::pg_catalog.text, w.col,
       COALESCE(c.relname::pg_catalog.text, k.conname::pg_catalog.text),
       c.relkind::pg_catalog.text
FROM ROWS FROM (pg_catalog.unnest(%(positions)s::pg_catalog.int4[]), pg_catalog.unnest(%(tables)s::pg_catalog.text[]),
               pg_catalog.unnest(%(columns)s::pg_catalog.text[])) AS w(position, tbl, col)
JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) %(prefix)s::pg_catalog.name
JOIN pg_catalog.pg_class AS t
  ON t.relnamespace OPERATOR(pg_catalog.=) n.oid AND t.relname OPERATOR(pg_catalog.=) w.tbl::pg_catalog.name
LEFT JOIN pg_catalog.pg_attribute AS a
  ON a.attrelid OPERATOR(pg_catalog.=) t.oid AND a.attname OPERATOR(pg_catalog.=) w.col::pg_catalog.name
JOIN pg_catalog.pg_depend AS d
  ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
 AND d.refobjid OPERATOR(pg_catalog.=) t.oid
 AND (w.col IS NULL OR d.refobjsubid OPERATOR(pg_catalog.=) a.attnum::pg_catalog.int4)
 AND d.deptype OPERATOR(pg_catalog.=) 'a'::pg_catalog."char"
LEFT JOIN pg_catalog.pg_class AS c
  ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
 AND c.oid OPERATOR(pg_catalog.=) d.objid
LEFT JOIN pg_catalog.pg_constraint AS k
  ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid
 AND k.oid OPERATOR(pg_catalog.=) d.objid
WHERE d.classid OPERATOR(pg_catalog.<>) 'pg_catalog.pg_attrdef'::pg_catalog.regclass::pg_catalog.oid
  AND (k.oid IS NULL OR k.contype OPERATOR(pg_catalog.<>) 'n'::pg_catalog."char")
ORDER BY w.position, 5
"""


def _kind(relkind: str | None, name: str | None) -> str | None:
    if relkind in ("i", "I"):
        return "index"
    if relkind == "S":
        return "sequence"
    return "constraint" if relkind is None and name is not None else None


def _count_rows(db: Database, prefix: str, steps: Sequence[Step]) -> list[CountedLoss]:
    existing = {name for (name,) in db.fetchall(_TABLES_QUERY, [prefix])}
    counted = []
    for step in steps:
        for loss in step.losses:
            rows = 0
            if loss.table in existing:  # absent (dropped by hand, or created by this move): nothing to lose
                rows = _count(db, prefix, loss)
            counted.append(CountedLoss(step, loss.table, loss.what, rows))
    return counted


def _count(db: Database, prefix: str, loss: Loss) -> int:
    # The predicate is the version module's own SQL, never user input.
    query = f"SELECT pg_catalog.count(*) FROM {quote_ident(prefix)}.{quote_ident(loss.table)}"
    try:
        with db.atomic():  # a savepoint when the caller has a transaction open
            ((rows,),) = db.fetchall(query + (f" WHERE {loss.where}" if loss.where else ""))
    except Exception as exc:
        error = database_error(exc)
        if error is None or error.sqlstate not in _CATALOG_MISMATCH:
            raise
        # A column the predicate names is missing: the catalog is not what the
        # marker says. Nothing of it can be lost; the move refuses or fails on it.
        return 0
    return int(rows)


def _lost_objects(db: Database, prefix: str, steps: Sequence[Step]) -> list[LostObject]:
    positions, tables, columns = [], [], []
    for position, step in enumerate(steps):
        for table, column in step_drops(step):
            positions.append(position)
            tables.append(table)
            columns.append(column)
    if not positions:
        return []
    rows = db.fetchall(
        _DEPENDENTS_QUERY, {"positions": positions, "tables": tables, "columns": columns, "prefix": prefix}
    )
    found: dict[tuple[int, int, int], tuple[int, str, str, list[str]]] = {}
    for position, classid, objid, objsubid, description, table, column, name, relkind in rows:
        kind = _kind(relkind, name)
        if kind is not None and (kind, table, name) in OWN_OBJECTS:
            continue
        key = (int(classid), int(objid), int(objsubid))
        if key not in found:  # the first step that drops something it uses takes it
            found[key] = (position, table, description, [])
        first, _, _, used = found[key]
        if first == position and column is not None and column not in used:
            used.append(column)
    objects = [
        LostObject(steps[position], table, description, tuple(used))
        for position, table, description, used in found.values()
    ]
    return sorted(objects, key=lambda o: (steps.index(o.step), o.table, o.description))


def assess(db: Database, prefix: str, steps: Sequence[Step]) -> Losses:
    """What ``steps`` (a plan, in order) would destroy on ``prefix``, as the database is now.

    Declared losses with their row counts (a table the move has not created yet
    counts 0), and the objects that are not phoenix_kit's and that the steps'
    ``DROP TABLE``/``DROP COLUMN`` would take with them, each attributed to the
    first step that drops it. Reads only; a few catalog queries and one count
    per declared loss.
    """
    steps = list(steps)
    return Losses(tuple(steps), tuple(_count_rows(db, prefix, steps)), tuple(_lost_objects(db, prefix, steps)))


def losing_ups(db: Database, move: Move, installs: Sequence[PrefixState]) -> list[tuple[str, Losses]]:
    """For a fan-out: the installs whose up steps under ``move`` would destroy something, with what.

    ``installs`` as :func:`~phoenix_kit.fanout.read_installs` read them (hand
    the same list to ``migrate_prefixes``). Only the up steps that declare a
    loss or drop something (today V02's) are assessed, only on the prefixes that
    would run them (:func:`assess`). Unreadable markers are skipped (the
    fan-out reports them as failed).
    """
    risky = [number for number in range(1, latest_version() + 1) if _risky(get_step(number, "up"))]
    if move.kind == "down" or not risky or move.number < risky[0]:
        return []
    result = []
    for state in installs:
        if state.untrusted_owner is not None:  # migrate_prefixes() skips or refuses it: nothing is lost there
            continue
        try:
            current = state.version_for_change()
        except MarkerError:
            continue
        steps = [get_step(n, "up") for n in risky if current < n <= move.target(current)]
        if steps:
            losses = assess(db, state.prefix, steps)
            if losses.need_confirmation:
                result.append((state.prefix, losses))
    return result


def _risky(step: Step) -> bool:
    return bool(step.losses or step_drops(step))


@dataclass(frozen=True)
class KeptSchema:
    """A schema phoenix_kit created that still exists, and why it was not dropped."""

    prefix: str
    reasons: tuple[str, ...]

    def message(self) -> str:
        schema = quote_ident(self.prefix)
        return (
            f"Kept schema {schema}, which phoenix_kit created: {'; '.join(self.reasons)}. "
            f"Nothing of PhoenixKit is left in it; drop it yourself (DROP SCHEMA {schema}) "
            f"if you no longer need it."
        )


_SCHEMA_QUERY = """
SELECT pg_catalog.pg_get_userbyid(n.nspowner)::pg_catalog.text,
       CURRENT_USER::pg_catalog.text,
       n.nspacl IS NOT NULL,
       ARRAY(SELECT pg_catalog.string_agg(x.privilege_type, ', ' ORDER BY x.privilege_type)
               FROM pg_catalog.aclexplode(n.nspacl) AS x
              WHERE x.grantee OPERATOR(pg_catalog.<>) n.nspowner
              GROUP BY x.grantee ORDER BY x.grantee),
       ARRAY(SELECT CASE WHEN x.grantee OPERATOR(pg_catalog.<>) 0::pg_catalog.oid  -- NULL: PUBLIC
                         THEN pg_catalog.pg_get_userbyid(x.grantee)::pg_catalog.text END
               FROM pg_catalog.aclexplode(n.nspacl) AS x
              WHERE x.grantee OPERATOR(pg_catalog.<>) n.nspowner
              GROUP BY x.grantee ORDER BY x.grantee),
       ARRAY(SELECT pg_catalog.pg_describe_object(
                      'pg_catalog.pg_default_acl'::pg_catalog.regclass::pg_catalog.oid, a.oid, 0)
               FROM pg_catalog.pg_default_acl AS a
              WHERE a.defaclnamespace OPERATOR(pg_catalog.=) n.oid ORDER BY 1),
       ARRAY(SELECT p.pubname::pg_catalog.text
               FROM pg_catalog.pg_publication_namespace AS pn
               JOIN pg_catalog.pg_publication AS p ON p.oid OPERATOR(pg_catalog.=) pn.pnpubid
              WHERE pn.pnnspid OPERATOR(pg_catalog.=) n.oid ORDER BY 1),
       ARRAY(SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
               FROM pg_catalog.pg_depend AS d
              WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid
                AND d.refobjid OPERATOR(pg_catalog.=) n.oid
                AND d.deptype OPERATOR(pg_catalog.=) 'n'::pg_catalog."char"
              ORDER BY 1 LIMIT 4),
       (SELECT pg_catalog.count(*)
          FROM pg_catalog.pg_depend AS d
         WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid
           AND d.refobjid OPERATOR(pg_catalog.=) n.oid
           AND d.deptype OPERATOR(pg_catalog.=) 'n'::pg_catalog."char")
FROM pg_catalog.pg_namespace AS n
JOIN pg_catalog.pg_description AS c
  ON c.objoid OPERATOR(pg_catalog.=) n.oid
 AND c.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid
 AND c.objsubid OPERATOR(pg_catalog.=) 0
WHERE n.nspname OPERATOR(pg_catalog.=) %(prefix)s::pg_catalog.name
  AND c.description OPERATOR(pg_catalog.=) %(comment)s::pg_catalog.text
"""


def kept_schema(db: Database, prefix: str) -> KeptSchema | None:
    """Whether a schema phoenix_kit created for ``prefix`` still exists, and why it is kept.

    None when there is no such schema (it was dropped, or phoenix_kit did not
    create it: one without phoenix_kit's comment is never dropped nor reported).
    Call it after a move to 0. Down to 0 drops the schema it created only if it
    is still exactly as created: phoenix_kit's comment, owned by the role running
    the down, no grants, no default privileges, in no publication, and empty.
    """
    rows = db.fetchall(_SCHEMA_QUERY, {"prefix": prefix, "comment": CREATED_SCHEMA_COMMENT})
    if not rows:
        return None
    owner, me, has_acl, privileges, grantees, default_acls, publications, contents, count = rows[0]
    schema = quote_ident(prefix)
    grants = [
        f"GRANT {what} ON SCHEMA {schema} TO {'PUBLIC' if grantee is None else quote_ident(grantee)}"
        for what, grantee in zip(privileges, grantees)
    ]
    reasons = []
    if owner != me:
        reasons.append(f"it is owned by {quote_ident(owner)}, not by {quote_ident(me)}, the role running the down")
    if grants:
        reasons.append(f"it has grants ({'; '.join(grants)})")
    elif has_acl:
        reasons.append("its privileges were changed from the default (see \\dn+ in psql)")
    if default_acls:
        reasons.append(f"it has default privileges ({'; '.join(default_acls)})")
    if publications:
        plural = "s" if len(publications) > 1 else ""
        reasons.append(f"it is in publication{plural} {', '.join(map(quote_ident, publications))}")
    if count:
        more = f" and {count - len(contents)} more" if count > len(contents) else ""
        reasons.append(f"it is not empty ({', '.join(contents)}{more})")
    if not reasons:
        reasons.append("it could not be dropped")
    return KeptSchema(prefix, tuple(reasons))
