"""Round trips keep every row the spec does not declare lost (issue 5, item 8).

A prefix at the latest version is filled with realistic rows in every table
(``dataset.py``), then goes up → down(N) → up for several N. Every step of
every down is checked on its own: what it really did to the data (``effects.py``)
must be exactly the losses its version declares, counted with their own
``where`` just before the step. The up that follows must leave everything the
down kept untouched, and give back the dropped tables as a fresh install has
them. Through Django, the confirmation prompt of ``phoenixkit_migrate`` must
announce, line for line, what each step then does.
"""

from __future__ import annotations

import io
import re
from typing import Any

import psycopg
import pytest
from django.core.management import call_command

import phoenix_kit as pk
from phoenix_kit.plan import get_step
from tests.helpers import rows
from tests.reliability import effects
from tests.reliability.common import connect, django_conninfo, drop_schema, unique_name
from tests.reliability.dataset import Scale, populate
from tests.reliability.references import LATEST, References, assert_consistent

ROUND_TRIPS = (LATEST, 12, 6, 1)  # down(N) then up, in this order, on the same data


def down_step_by_step(
    conn: psycopg.Connection[Any], prefix: str, version: int, data: effects.Data
) -> tuple[effects.Data, list[tuple[int, Any, effects.Effect]]]:
    """Roll back to ``version - 1`` one step at a time, checking each step's data effects.

    Returns the data at the end and (version, loss, effect) for every declared loss.
    """
    announced_all = []
    for number in range(pk.migrated_version(prefix, using=conn), version - 1, -1):
        announced = effects.declared(conn, prefix, get_step(number, "down"))
        pk.down(version=number, prefix=prefix, using=conn, log=False)
        after = effects.read(conn, prefix)
        problems = effects.mismatches(announced, effects.diff(data, after))
        assert not problems, f"V{number:02d} down: " + "; ".join(problems)
        announced_all += [(number, loss, effect) for loss, effect in announced]
        data = after
    return data, announced_all


def test_round_trips_lose_exactly_what_is_declared(
    conn: psycopg.Connection[Any], prefix: str, references: References
) -> None:
    pk.up(prefix=prefix, using=conn, log=False)
    populate(conn, prefix)
    data = effects.read(conn, prefix)
    total = sum(len(table) for table in data.rows.values())
    assert total > 15_000 and all(data.rows[t] for t in data.rows if t != "phoenix_kit")

    for version in ROUND_TRIPS:
        kept, announced = down_step_by_step(conn, prefix, version, data)
        assert any(effect.rows for _, _, effect in announced)  # the data made the losses real
        assert pk.up(prefix=prefix, using=conn, log=False) == LATEST
        data = effects.read(conn, prefix)
        for table, kept_rows in kept.rows.items():  # the up touched nothing the down kept
            assert data.project(table, kept.columns[table]) == kept_rows, table
        for table in data.rows.keys() - kept.rows.keys():  # dropped tables come back as in a fresh install
            assert rows(conn, prefix, table) == references.up[LATEST]["rows"][table], table
        assert assert_consistent(conn, prefix, references) == LATEST


_LOSS_LINE = re.compile(r"^  (V\d\d) (\w+): (.+) \((\d+) rows?\)$")


@pytest.mark.django_db(transaction=True)
def test_the_prompt_announces_what_each_step_then_loses() -> None:
    """The command's list of losses, against the same move measured step by step on a twin prefix."""
    commanded, measured = unique_name("cmd"), unique_name("twin")
    target = 4  # 16 -> 3: every step from V16 to V04 declares something
    with connect(django_conninfo()) as conn:
        try:
            for prefix in (commanded, measured):
                pk.up(prefix=prefix, using=conn, log=False)
                populate(conn, prefix, Scale(users=400))  # the counts matter here, not the volume
            end, announced = down_step_by_step(conn, measured, target, effects.read(conn, measured))

            out = io.StringIO()
            call_command("phoenixkit_migrate", "--down", str(target), "--prefix", commanded, "--noinput", stdout=out)

            lines = [m.groups() for m in map(_LOSS_LINE.match, out.getvalue().splitlines()) if m]
            assert lines == [(f"V{n:02d}", loss.table, loss.what, str(e.rows)) for n, loss, e in announced]
            for table in end.rows:  # and the command did the same as the steps (seed timestamps aside)
                assert rows(conn, commanded, table) == rows(conn, measured, table), table
        finally:
            drop_schema(conn, commanded)
            drop_schema(conn, measured)
