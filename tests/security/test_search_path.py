"""search_path shadowing (CVE-2018-1058 class; issue 9, item 1).

An attacker plants, where the superuser's session looks them up, functions,
operators, an aggregate and domains with the names phoenix_kit's SQL uses: the
ones the issue found (``quote_ident(name)``, ``=`` between varchar values, ``=``
between oid and regclass, ``||`` between text and bigint, ``=`` between varchar
and text) and a generated matrix (``common.Attacker.plant``). Three places:

* ``user schema``: a schema named after the migrating role, which the attacker
  may create with CREATE on the database; ``"$user"`` comes first on the default path;
* ``public``, with CREATE on it;
* ``hostile search_path``: the migrator's session has ``search_path = <attacker's
  schema>, public, pg_catalog``, so even pg_catalog's exact matches lose.

The superuser then runs every path of phoenix_kit; nothing planted may run, the
attacker must not become superuser, and what phoenix_kit leaves in the catalog
(the V16 CHECK, the column defaults and types) must depend only on pg_catalog
and on the citext extension.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from phoenix_kit.fanout import Move, migrate_prefixes
from phoenix_kit.db import OwnDatabase
from phoenix_kit.pristine import Pristine
from phoenix_kit.drift import doctor, doctor_many
from phoenix_kit.remedies import adopt, repair
from phoenix_kit.status import installed, named, prefix_status
from tests.security.common import Planted, Tally, seed_users, write_tokens


def _fan_out(move: Move, prefixes: list[str] | None, conn: psycopg.Connection[Any]) -> list[tuple[str, str, int | None]]:
    results = [(r.prefix, r.outcome, r.version) for r in migrate_prefixes(move, prefixes, using=conn)]
    bad = [result for result in results if result[1] not in ("ok", "already current")]
    if bad:
        raise AssertionError(f"fan-out results {results}")
    return results


def test_nothing_planted_runs_on_any_path(planted: Planted) -> None:
    """Live up/down, marker and status reads, fan-out and the exported script run nothing of the attacker's."""
    admin, tally = planted.admin, Tally(planted.evil)
    with planted.migrator() as conn:
        tally.run("up 0->7", lambda: pk.up(version=7, prefix="live", using=conn, log=False))
        seed_users(admin, "live")
        tally.run("up 7->16 (V08 backfills colliding usernames)", lambda: pk.up(prefix="live", using=conn, log=False))
        tally.run("the application writes tokens (V16's CHECK constraint)", lambda: write_tokens(admin, "live"))
        tally.run("migrated_version", lambda: pk.migrated_version("live", using=conn))
        tally.run("ensure_current, nothing to do (the marker alone)", lambda: pk.ensure_current(using=conn, prefix="live"))
        tally.run("status.prefix_status", lambda: prefix_status("live", using=conn))
        tally.run("status.installed", lambda: installed(using=conn))
        tally.run("status.named", lambda: named(["live", "absent"], using=conn))
        tally.run("fan-out down to 7 (prefixes=None)", lambda: _fan_out(Move("down", 8), None, conn))
        tally.run("fan-out up to 16 (prefixes=None)", lambda: _fan_out(Move("up", 16), None, conn))
        tally.run("the application writes tokens again", lambda: write_tokens(admin, "live", "2"))
        tally.run("down 16->0", lambda: pk.down(prefix="live", using=conn, log=False))
    tally.run("script 0->16", lambda: planted.script(pk.sql(0, 16, prefix="whole")))
    tally.run("script 0->7", lambda: planted.script(pk.sql(0, 7, prefix="scripted")))
    seed_users(admin, "scripted")
    tally.run("script 7->16", lambda: planted.script(pk.sql(7, 16, prefix="scripted")))
    tally.run("the application writes tokens (scripted install)", lambda: write_tokens(admin, "scripted"))
    tally.run("script 16->0", lambda: planted.script(pk.sql(16, 0, prefix="scripted")))

    if tally.found:
        pytest.fail(tally.report())
    assert not planted.evil.is_superuser(), "the attacker became superuser"


def test_the_test_database_reset_runs_nothing_planted(planted: Planted) -> None:
    """phoenix_kit.pristine (the reset after transactional tests) learns, checks and puts back without running a plant."""
    admin, tally = planted.admin, Tally(planted.evil)
    with planted.migrator() as conn:
        pk.up(prefix="live", using=conn, log=False)
        reset = Pristine(OwnDatabase(conn))  # as the test plugin runs it
        tally.run("reset: learning a fresh install, and its first check", reset.reset)
        seed_users(admin, "live")
        write_tokens(admin, "live")
        admin.execute('UPDATE live.phoenix_kit_user_roles SET name = \'Boss\' WHERE id = 1')
        tally.run("reset after users, tokens and a seeded role were written", reset.reset)
        tally.run("reset with nothing to do", reset.reset)
    assert admin.execute("SELECT count(*) FROM live.phoenix_kit_users").fetchone() == (0,)
    assert admin.execute("SELECT name FROM live.phoenix_kit_user_roles WHERE id = 1").fetchone() == ("Owner",)
    if tally.found:
        pytest.fail(tally.report())
    assert not planted.evil.is_superuser(), "the attacker became superuser"


def test_the_doctor_repair_and_adopt_run_nothing_planted(planted: Planted) -> None:
    """Learning the expected catalogs, checking one install and all, repairing and adopting run no plant."""
    admin, tally = planted.admin, Tally(planted.evil)
    with planted.migrator() as conn:
        pk.up(prefix="live", using=conn, log=False)
        pk.up(version=8, prefix="older", using=conn, log=False)
        seed_users(admin, "live")
        tally.run("doctor: learning every version, checking one install", lambda: doctor("live", using=conn))
        tally.run("doctor of every install", lambda: doctor_many(None, using=conn))
        admin.execute("DROP TABLE live.phoenix_kit_email_blocklist")
        admin.execute("ALTER TABLE live.phoenix_kit_users_tokens DROP CONSTRAINT phoenix_kit_users_tokens_user_id_fkey")
        found = doctor("live", using=conn)
        assert found.repairs, found
        repaired = tally.run("repair: a table, its sequence, columns, keys, indexes", lambda: repair("live", using=conn))
        admin.execute("COMMENT ON TABLE older.phoenix_kit IS NULL")
        adoption = tally.run("adopt", lambda: adopt("older", using=conn))
    if tally.found:
        pytest.fail(tally.report())
    assert not planted.evil.is_superuser(), "the attacker became superuser"
    assert repaired.after.status == 0, repaired.after  # type: ignore[attr-defined]
    assert (adoption.version, adoption.exact) == (8, True)  # type: ignore[attr-defined]


# Everything a prefix's objects depend on, outside pg_catalog (pinned objects are not
# recorded), the prefix itself and the members of the citext extension.
FOREIGN_DEPENDENCIES = """
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = %(prefix)s),
ours(classid, objid) AS (
  SELECT 'pg_class'::regclass, c.oid FROM pg_class AS c WHERE c.relnamespace IN (SELECT oid FROM ns)
  UNION ALL SELECT 'pg_constraint'::regclass, k.oid FROM pg_constraint AS k WHERE k.connamespace IN (SELECT oid FROM ns)
  UNION ALL SELECT 'pg_attrdef'::regclass, d.oid
              FROM pg_attrdef AS d JOIN pg_class AS c ON c.oid = d.adrelid WHERE c.relnamespace IN (SELECT oid FROM ns)
  UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type AS t WHERE t.typnamespace IN (SELECT oid FROM ns)
)
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object,
       pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS depends_on
  FROM pg_depend AS d
  JOIN ours AS o ON o.classid = d.classid AND o.objid = d.objid
  CROSS JOIN LATERAL pg_identify_object(d.refclassid, d.refobjid, d.refobjsubid) AS r
 WHERE NOT (d.refclassid = 'pg_namespace'::regclass AND d.refobjid IN (SELECT oid FROM ns))
   AND r.schema IS DISTINCT FROM 'pg_catalog'
   AND r.schema IS DISTINCT FROM %(prefix)s
   AND NOT EXISTS (SELECT FROM pg_depend AS e JOIN pg_extension AS x ON x.oid = e.refobjid
                    WHERE e.classid = d.refclassid AND e.objid = d.refobjid AND e.deptype = 'e'
                      AND e.refclassid = 'pg_extension'::regclass AND x.extname = 'citext')
 ORDER BY 1, 2
"""


def foreign_dependencies(admin: psycopg.Connection[Any], prefix: str) -> list[str]:
    return [f"{what} -> {on}" for what, on in admin.execute(FOREIGN_DEPENDENCIES, {"prefix": prefix})]


def test_what_stays_in_the_catalog_depends_only_on_pg_catalog_and_citext(planted: Planted) -> None:
    """The V16 CHECK, the column defaults and types of a live and of a scripted install bind nothing planted."""
    with planted.migrator() as conn:
        pk.up(prefix="live", using=conn, log=False)
    planted.script(pk.sql(0, 16, prefix="scripted"))
    check = planted.admin.execute(
        "SELECT count(*) FROM pg_constraint WHERE conname = 'user_id_required_for_non_registration_tokens'"
    ).fetchone()
    assert check == (2,)

    found = {prefix: foreign_dependencies(planted.admin, prefix) for prefix in ("live", "scripted")}

    assert found == {"live": [], "scripted": []}
