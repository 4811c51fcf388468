"""The doctor (issue 15): clean installs are exact by every path, injected drift is found and repaired where additive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from phoenix_kit.db import connect
from phoenix_kit.drift import DRIFT, EXACT, UNCHECKED, Diagnosis, doctor, doctor_many
from phoenix_kit.expected import expected_versions
from phoenix_kit.remedies import adopt, repair
from tests.helpers import psql

LATEST = pk.latest_version()
VERSIONS = range(1, LATEST + 1)


def _kinds(diagnosis: Diagnosis) -> set[tuple[str, str]]:
    return {(d.kind, d.object) for d in diagnosis.differences}


def _exact(diagnosis: Diagnosis, where: str) -> None:
    assert (diagnosis.status, diagnosis.error, [d.as_json() for d in diagnosis.differences]) == (EXACT, None, []), where


def test_every_version_learned_differs_from_every_other(conn: psycopg.Connection[Any]) -> None:
    """What makes --adopt and the marker check possible: no two versions leave the same catalog."""
    fresh = expected_versions(connect(conn)).by_version
    shapes = {version: ({k: e.definition for k, e in f.catalog.objects.items()}, f.seeds) for version, f in fresh.items()}
    assert sorted(fresh) == list(VERSIONS)
    assert [(a, b) for a in VERSIONS for b in VERSIONS if a < b and shapes[a][0] == shapes[b][0]] == []


def test_fresh_installs_at_every_version_in_a_prefix(conn: psycopg.Connection[Any], prefix: str) -> None:
    names = [f"{prefix}_{version}" for version in VERSIONS]
    try:
        for name, version in zip(names, VERSIONS):
            pk.up(version=version, prefix=name, using=conn, log=False)
        for diagnosis, version in zip(doctor_many(names, using=conn), VERSIONS):
            assert diagnosis.marker == version
            _exact(diagnosis, f"fresh V{version:02d}")
    finally:
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_public_up_in_steps_down_in_steps_and_up_after_down(fresh_conn: psycopg.Connection[Any]) -> None:
    for version in VERSIONS:
        pk.up(version=version, prefix="public", using=fresh_conn, log=False)
        _exact(doctor("public", using=fresh_conn), f"up to V{version:02d}")
    for version in reversed(range(1, LATEST)):
        pk.down(version=version + 1, prefix="public", using=fresh_conn, log=False)
        _exact(doctor("public", using=fresh_conn), f"down to V{version:02d}")
        pk.up(version=version + 1, prefix="public", using=fresh_conn, log=False)
        _exact(doctor("public", using=fresh_conn), f"up to V{version + 1:02d} after down")
        pk.down(version=version + 1, prefix="public", using=fresh_conn, log=False)


@pytest.mark.parametrize("target", ["public", "prefix"])
def test_installs_through_the_exported_sql(
    target: str, make_database: Callable[[], str], shared_conninfo: str, prefix: str
) -> None:
    conninfo = make_database() if target == "public" else shared_conninfo
    name = "public" if target == "public" else prefix
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for start, end in [(0, 3), (3, 8), (8, 12), (12, LATEST)]:
            assert psql(conninfo, pk.sql(start, end, prefix=name)).returncode == 0
            _exact(doctor(name, using=conn), f"script to V{end:02d}")


# Injected drift: (statements on the install at V16, what the doctor must report, whether --repair fixes it)


@dataclass(frozen=True)
class Drift:
    name: str
    inject: Callable[[psycopg.Connection[Any], str], None]
    found: set[tuple[str, str]]
    repaired: bool
    version: int = LATEST


def _sql(*statements: str) -> Callable[[psycopg.Connection[Any], str], None]:
    def inject(conn: psycopg.Connection[Any], schema: str) -> None:
        for statement in statements:
            conn.execute(statement.replace("S.", f'"{schema}".'))

    return inject


def _invalid_index(conn: psycopg.Connection[Any], schema: str) -> None:
    """A failed CREATE UNIQUE INDEX CONCURRENTLY: the way a real index is left INVALID."""
    settings = f'"{schema}".phoenix_kit_settings'
    conn.execute(f'DROP INDEX "{schema}".phoenix_kit_settings_key_uidx')
    conn.execute(f"INSERT INTO {settings} (key, value, date_added, date_updated) VALUES ('time_zone', '1', now(), now())")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(f"CREATE UNIQUE INDEX CONCURRENTLY phoenix_kit_settings_key_uidx ON {settings} (key)")
    conn.execute(f"DELETE FROM {settings} WHERE value = '1'")


TOKENS_FK = "constraint phoenix_kit_users_tokens.phoenix_kit_users_tokens_user_id_fkey"
CHECK = "constraint phoenix_kit_users_tokens.user_id_required_for_non_registration_tokens"
CHECK_SQL = "CHECK (CASE WHEN context = 'magic_link_registration' THEN true ELSE user_id IS NOT NULL END)"
DRIFTS = [
    Drift("drop an index", _sql("DROP INDEX S.phoenix_kit_users_tokens_user_id_index"),
          {("missing", "index phoenix_kit_users_tokens_user_id_index")}, True),
    Drift("change a default", _sql("ALTER TABLE S.phoenix_kit_users ALTER COLUMN is_active SET DEFAULT false"),
          {("changed", "column phoenix_kit_users.is_active")}, False),
    Drift("drop NOT NULL", _sql("ALTER TABLE S.phoenix_kit_users ALTER COLUMN hashed_password DROP NOT NULL"),
          {("changed", "column phoenix_kit_users.hashed_password")}, False),
    Drift("drop a foreign key", _sql("ALTER TABLE S.phoenix_kit_users_tokens DROP CONSTRAINT phoenix_kit_users_tokens_user_id_fkey"),
          {("missing", TOKENS_FK)}, True),
    Drift("change an ON DELETE action", _sql(
        "ALTER TABLE S.phoenix_kit_users_tokens DROP CONSTRAINT phoenix_kit_users_tokens_user_id_fkey",
        "ALTER TABLE S.phoenix_kit_users_tokens ADD CONSTRAINT phoenix_kit_users_tokens_user_id_fkey "
        "FOREIGN KEY (user_id) REFERENCES S.phoenix_kit_users (id) ON DELETE SET NULL",
    ), {("changed", TOKENS_FK)}, False),
    Drift("make an index invalid", _invalid_index, {("changed", "index phoenix_kit_settings_key_uidx")}, False),
    Drift("mark a constraint NOT VALID", _sql(
        "ALTER TABLE S.phoenix_kit_users_tokens DROP CONSTRAINT user_id_required_for_non_registration_tokens",
        f"ALTER TABLE S.phoenix_kit_users_tokens ADD CONSTRAINT user_id_required_for_non_registration_tokens {CHECK_SQL} NOT VALID",
    ), {("changed", CHECK)}, False),
    Drift("delete a seeded row", _sql("DELETE FROM S.phoenix_kit_user_roles WHERE name = 'User'"),
          {("missing", "row phoenix_kit_user_roles (name)=(User)")}, False),
    Drift("drop the citext-typed column", _sql("ALTER TABLE S.phoenix_kit_users DROP COLUMN email"),
          {("missing", "column phoenix_kit_users.email"), ("missing", "index phoenix_kit_users_email_index")}, False),
    Drift("drop a sequence (its default goes with it)", _sql("DROP SEQUENCE S.phoenix_kit_email_blocklist_id_seq CASCADE"),
          {("missing", "sequence phoenix_kit_email_blocklist_id_seq"), ("changed", "column phoenix_kit_email_blocklist.id")}, False),
    Drift("revoke the owner's privileges", _sql("REVOKE DELETE ON S.phoenix_kit_users_tokens FROM CURRENT_USER"),
          {("changed", "grant phoenix_kit_users_tokens TO owner")}, False),
    Drift("drop a table", _sql("DROP TABLE S.phoenix_kit_email_blocklist"), set(), True),  # found: checked below
]  # fmt: skip


@pytest.mark.parametrize("drift", DRIFTS, ids=[d.name for d in DRIFTS])
def test_injected_drift_is_found_and_repaired_only_where_additive(
    conn: psycopg.Connection[Any], prefix: str, drift: Drift
) -> None:
    pk.up(version=drift.version, prefix=prefix, using=conn, log=False)
    drift.inject(conn, prefix)

    found = doctor(prefix, using=conn)
    assert found.status == DRIFT
    if drift.found:
        assert _kinds(found) == drift.found
    else:  # a whole table: every object of it is missing, nothing else
        assert {kind for kind, _ in _kinds(found)} == {"missing"}
        assert all("blocklist" in name for _, name in _kinds(found))
    assert bool(found.repairs) == drift.repaired
    repairable = {(d.kind, d.object) for d in found.differences if d.repair}
    assert all(d.fix for d in found.differences if not d.repair), "every difference says how to fix it"

    repaired = repair(prefix, using=conn, confirmed=found.repairs)

    assert list(repaired.ran) == found.repairs
    assert _kinds(repaired.after) == _kinds(found) - repairable
    if drift.repaired:
        _exact(repaired.after, drift.name)


def test_the_fix_for_a_deleted_seeded_row_puts_it_back(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(prefix=prefix, using=conn, log=False)
    conn.execute(f"DELETE FROM \"{prefix}\".phoenix_kit_settings WHERE key = 'date_format'")
    (difference,) = doctor(prefix, using=conn).differences
    assert difference.fix is not None and difference.fix.startswith("INSERT INTO")
    conn.execute(difference.fix)
    _exact(doctor(prefix, using=conn), "after the INSERT")


def test_objects_of_your_own_are_listed_apart_not_as_drift(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(prefix=prefix, using=conn, log=False)
    users = f'"{prefix}".phoenix_kit_users'
    conn.execute(f"ALTER TABLE {users} ADD COLUMN nickname text")
    conn.execute(f"CREATE INDEX my_users_nickname ON {users} (nickname)")
    conn.execute(f"CREATE FUNCTION \"{prefix}\".touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'")
    conn.execute(f'CREATE TRIGGER my_touch BEFORE UPDATE ON {users} FOR EACH ROW EXECUTE FUNCTION "{prefix}".touch()')
    conn.execute(f'CREATE TABLE "{prefix}".my_table (id int)')  # the schema's other tables are not listed at all
    conn.execute(f"GRANT SELECT ON {users} TO PUBLIC")
    conn.execute(f"INSERT INTO \"{prefix}\".phoenix_kit_settings (key, value, date_added, date_updated) VALUES ('mine', 'x', now(), now())")

    diagnosis = doctor(prefix, using=conn)

    _exact(diagnosis, "with objects of the application's own")
    assert [name for name, _ in diagnosis.yours] == [
        "column phoenix_kit_users.nickname", "grant phoenix_kit_users TO PUBLIC", "index my_users_nickname",
        "trigger phoenix_kit_users.my_touch",
    ]  # fmt: skip


def test_a_table_moved_into_the_schema_is_seen(conn: psycopg.Connection[Any], prefix: str) -> None:
    """The catalog is read through the schema's dependencies in pg_depend: SET SCHEMA must move them."""
    fresh = expected_versions(connect(conn)).by_version
    later = fresh[LATEST].catalog.objects.keys() - fresh[1].catalog.objects.keys()
    added = min(name for kind, name in later if kind == "table")
    pk.up(version=1, prefix=prefix, using=conn, log=False)
    pk.up(prefix=f"{prefix}_src", using=conn, log=False)
    try:
        conn.execute(f'ALTER TABLE "{prefix}_src".{added} SET SCHEMA "{prefix}"')
        assert ("unexpected", f"table {added}") in _kinds(doctor(prefix, using=conn))
    finally:
        conn.execute(f'DROP SCHEMA "{prefix}_src" CASCADE')


@pytest.mark.parametrize("recorded, installed", [(LATEST, LATEST - 1), (LATEST - 1, LATEST)], ids=["one too high", "one too low"])
def test_a_marker_one_version_off_is_found_with_the_version_the_objects_are(
    conn: psycopg.Connection[Any], prefix: str, recorded: int, installed: int
) -> None:
    pk.up(version=installed, prefix=prefix, using=conn, log=False)
    conn.execute(f"COMMENT ON TABLE \"{prefix}\".phoenix_kit IS '{recorded}'")

    diagnosis = doctor(prefix, using=conn)

    assert (diagnosis.status, diagnosis.marker, diagnosis.matches) == (DRIFT, recorded, installed)
    marker = diagnosis.differences[0]
    assert (marker.kind, marker.object, marker.expected, marker.found) == ("changed", "marker", str(installed), str(recorded))
    assert marker.fix is not None and f"--mark {installed}" in marker.fix
    kinds = {d.kind for d in diagnosis.differences[1:]}
    assert "unexpected" in kinds if recorded < installed else "missing" in kinds
    assert diagnosis.repairs == []  # the objects are a version's exactly: nothing to re-create


def test_citext_dropped_with_its_columns(fresh_conn: psycopg.Connection[Any]) -> None:
    pk.up(prefix="public", using=fresh_conn, log=False)
    pk.up(version=3, prefix="other", using=fresh_conn, log=False)
    fresh_conn.execute("DROP EXTENSION citext CASCADE")

    public, other = doctor_many(["public", "other"], using=fresh_conn)

    for diagnosis in (public, other):
        assert {("missing", "extension citext"), ("missing", "column phoenix_kit_users.email")} <= _kinds(diagnosis)
        assert diagnosis.repairs == []


@pytest.mark.parametrize("version", [1, 7, 8, 12, LATEST])
def test_adopt_recovers_the_version_of_an_unmarked_install(conn: psycopg.Connection[Any], prefix: str, version: int) -> None:
    pk.up(version=version, prefix=prefix, using=conn, log=False)
    conn.execute(f'COMMENT ON TABLE "{prefix}".phoenix_kit IS NULL')
    assert doctor(prefix, using=conn).status == UNCHECKED

    adoption = adopt(prefix, using=conn)

    assert (adoption.version, adoption.exact) == (version, True)


def test_adopt_names_the_nearest_version_and_the_differences(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(version=10, prefix=prefix, using=conn, log=False)
    conn.execute(f'COMMENT ON TABLE "{prefix}".phoenix_kit IS \'garbage\'')
    conn.execute(f'DROP INDEX "{prefix}".phoenix_kit_email_blocklist_expires_at_idx')

    adoption = adopt(prefix, using=conn)

    assert adoption.version == 10 and not adoption.exact
    assert [(d.kind, d.object) for d in adoption.differences] == [("missing", "index phoenix_kit_email_blocklist_expires_at_idx")]


def test_installs_that_cannot_be_checked_say_why(conn: psycopg.Connection[Any], prefix: str) -> None:
    pk.up(version=2, prefix=prefix, using=conn, log=False)
    conn.execute(f"COMMENT ON TABLE \"{prefix}\".phoenix_kit IS '99'")
    newer, absent = doctor_many([prefix, f"{prefix}_absent"], using=conn)
    assert newer.status == absent.status == UNCHECKED
    assert newer.error is not None and "newer than this release" in newer.error
    assert absent.error is not None and "no PhoenixKit install" in absent.error


class _Counting:
    """A Database that counts the round trips the doctor makes (each statement of a batch counts)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.inner, self.queries = connect(conn), 0

    def fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        self.queries += 1
        return self.inner.fetchall(sql, params)

    def execute_batch(self, statements: Any) -> None:
        self.queries += len(statements)
        self.inner.execute_batch(statements)

    def atomic(self) -> Any:
        self.queries += 2  # BEGIN or SAVEPOINT, and its end
        return self.inner.atomic()

    def run_alone(self, sql: str, wait_bound: float) -> None:
        raise AssertionError("the doctor never runs a statement outside a transaction")

    def transaction_state(self) -> Any:
        return self.inner.transaction_state()

    def close(self) -> None:
        self.inner.close()


def test_a_fleet_costs_the_same_queries_as_one_install(conn: psycopg.Connection[Any], prefix: str) -> None:
    names = [f"{prefix}_{n}" for n in range(12)]
    try:
        for n, name in enumerate(names):
            pk.up(version=n % LATEST + 1, prefix=name, using=conn, log=False)
        doctor_many(names[:1], using=conn)  # the expected catalogs, learned once
        counts = []
        for some in (names[:1], names[:3], names):
            counting = _Counting(conn)
            diagnoses = doctor_many(some, using=counting)
            assert [d.status for d in diagnoses] == [EXACT] * len(some)
            counts.append(counting.queries)
        assert counts[0] == counts[1] == counts[2], counts
    finally:
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


class _LockWatching(_Counting):
    """A Database that notes, after each statement, how many relations of ``schemas`` it holds locked."""

    def __init__(self, conn: psycopg.Connection[Any], schemas: list[str]) -> None:
        super().__init__(conn)
        self.schemas, self.most = schemas, 0

    def fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        found = super().fetchall(sql, params)
        ((held,),) = self.inner.fetchall(
            "SELECT count(*) FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE l.pid = pg_backend_pid() AND n.nspname = ANY (%s)",
            [self.schemas],
        )
        self.most = max(self.most, held)
        return found


def test_a_fleet_s_seeded_rows_are_read_without_holding_every_table_locked(
    conn: psycopg.Connection[Any], prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a table locks it and its indexes to the end of the transaction: a fleet's at once overflow the lock table."""
    names = [f"{prefix}_{n}" for n in range(6)]
    try:
        for name in names:
            pk.up(prefix=name, using=conn, log=False)
        doctor_many(names[:1], using=conn)  # the expected catalogs, learned once
        one = _LockWatching(conn, names)
        doctor_many(names[:1], using=one)
        monkeypatch.setattr("phoenix_kit.catalog._TABLES_PER_READ", 2)
        fleet = _LockWatching(conn, names)
        diagnoses = doctor_many(names, using=fleet)
        assert [d.status for d in diagnoses] == [EXACT] * len(names)
        assert 0 < fleet.most <= one.most, (fleet.most, one.most)
    finally:
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
