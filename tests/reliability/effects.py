"""What a step really did to the data of a prefix, next to what it declared it would.

``read`` takes every row of every table (all columns, by id). ``diff`` turns two
reads into effects: tables dropped, columns dropped (counting the rows whose
value in them was not the column default, i.e. that lost information), rows
deleted, rows inserted, rows whose surviving values changed. ``declared`` turns a
step's ``Step.losses`` into the effects they announce, counted with their own
``Loss.where`` just before the step, as the confirmation prompt counts them.
A step is honest when the two lists are equal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg import sql

from phoenix_kit.plan import Step
from phoenix_kit.versions import Loss
from tests.catalog import introspect

Kind = Literal["table dropped", "columns dropped", "rows deleted", "rows inserted", "values changed", "table created"]
VERSION_TABLE = "phoenix_kit"  # bookkeeping, no user data: its drop is V01's down itself


@dataclass(frozen=True)
class Data:
    columns: dict[str, tuple[str, ...]]  # table -> its columns, in order
    rows: dict[str, dict[int, tuple[Any, ...]]]  # table -> id -> values
    defaults: dict[str, dict[str, str | None]]  # table -> column -> default expression

    def project(self, table: str, columns: tuple[str, ...]) -> dict[int, tuple[Any, ...]]:
        """The rows of ``table`` reduced to ``columns``, by id."""
        where = [self.columns[table].index(c) for c in columns]
        return {i: tuple(row[n] for n in where) for i, row in self.rows[table].items()}


@dataclass(frozen=True, order=True)
class Effect:
    table: str
    kind: Kind
    rows: int
    columns: tuple[str, ...] = field(default=(), compare=False)


def read(conn: psycopg.Connection[Any], schema: str) -> Data:
    catalog = introspect(conn, schema)
    columns, rows, defaults = {}, {}, {}
    for table, spec in catalog["tables"].items():
        columns[table] = tuple(column[2] for column in spec["columns"])
        defaults[table] = {column[2]: column[5] for column in spec["columns"]}
        select = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns[table])), sql.Identifier(schema, table)
        )
        rows[table] = {row[columns[table].index("id")]: row for row in conn.execute(select).fetchall()}
    return Data(columns, rows, defaults)


def _default_value(expression: str | None) -> Any:
    """The value of a literal column default (what a re-added column holds)."""
    if expression is None:
        return None
    if expression in ("true", "false"):
        return expression == "true"
    if re.fullmatch(r"-?\d+", expression):
        return int(expression)
    literal = re.fullmatch(r"'(.*)'::([a-z ]+)", expression)
    if literal is None:
        raise ValueError(f"not a literal default: {expression}")
    return json.loads(literal[1]) if literal[2] == "jsonb" else literal[1]


def diff(before: Data, after: Data) -> list[Effect]:
    effects = []
    for table in before.rows.keys() - after.rows.keys() - {VERSION_TABLE}:
        effects.append(Effect(table, "table dropped", len(before.rows[table])))
    for table in after.rows.keys() - before.rows.keys() - {VERSION_TABLE}:
        effects.append(Effect(table, "table created", len(after.rows[table])))
    for table in before.rows.keys() & after.rows.keys():
        dropped = tuple(c for c in before.columns[table] if c not in after.columns[table])
        if dropped:
            defaults = tuple(_default_value(before.defaults[table][c]) for c in dropped)
            lost = sum(values != defaults for values in before.project(table, dropped).values())
            effects.append(Effect(table, "columns dropped", lost, dropped))
        kept = tuple(c for c in before.columns[table] if c in after.columns[table])
        old, new = before.project(table, kept), after.project(table, kept)
        if old.keys() - new.keys():
            effects.append(Effect(table, "rows deleted", len(old.keys() - new.keys())))
        if new.keys() - old.keys():
            effects.append(Effect(table, "rows inserted", len(new.keys() - old.keys())))
        changed = [i for i in old.keys() & new.keys() if old[i] != new[i]]
        if changed:
            columns = tuple(c for n, c in enumerate(kept) if any(old[i][n] != new[i][n] for i in changed))
            effects.append(Effect(table, "values changed", len(changed), columns))
    return sorted(effects)


def kind(loss: Loss) -> Kind:
    """The effect a declared loss stands for."""
    if loss.where is None:
        return "table dropped"
    if loss.what.startswith("column"):
        return "columns dropped"
    if "deleted" in loss.what:
        return "rows deleted"
    return "values changed"


def count(conn: psycopg.Connection[Any], schema: str, loss: Loss) -> int:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, loss.table))
    if loss.where is not None:
        query = sql.SQL("{} WHERE {}").format(query, sql.SQL(loss.where))  # the version module's own SQL
    (rows,) = conn.execute(query).fetchone() or (0,)
    return int(rows)


def declared(conn: psycopg.Connection[Any], schema: str, step: Step) -> list[tuple[Loss, Effect]]:
    """Each loss the step declares, with the effect it announces, counted now."""
    return [(loss, Effect(loss.table, kind(loss), count(conn, schema, loss))) for loss in step.losses]


def mismatches(announced: list[tuple[Loss, Effect]], actual: list[Effect]) -> list[str]:
    """Why ``actual`` is not exactly what was ``announced`` ([] when it is)."""
    problems = []
    # Structural losses happen whatever the rows; a row loss of 0 rows is no effect.
    expected = sorted(e for _, e in announced if e.rows or e.kind in ("table dropped", "columns dropped"))
    if expected != actual:
        problems.append(f"announced {expected}, happened {actual}")
    by_key = {(e.table, e.kind): e for e in actual}
    for loss, effect in announced:
        happened = by_key.get((effect.table, effect.kind))
        if effect.kind == "columns dropped" and happened is not None:
            unnamed = [c for c in happened.columns if c not in loss.what]
            if unnamed:
                problems.append(f"{loss.table}: {loss.what!r} does not name dropped column(s) {unnamed}")
    return problems
