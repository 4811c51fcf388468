"""The online forms of V08, V10, V13 and V16 (issue 10, item 2).

Each must end in exactly the version's catalog (and, for V08, the spec's
usernames) whether it runs in one go, is interrupted at any point (states
built deterministically here; ``kill -9`` and ``pg_terminate_backend`` at
random points below) and then resumed by ``up`` or undone by ``down``, or
runs while application writers insert, rename and delete users.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import phoenix_kit as pk
from phoenix_kit.online import IndexBuild, online_form
from phoenix_kit.script import PIN_SEARCH_PATH
from phoenix_kit.sqltext import quote_ident
from phoenix_kit.versions import v08_online
from tests.helpers import psql
from tests.reliability.children import spawn
from tests.reliability.common import SEED, connect, drop_schema, unique_name, wait_until
from tests.reliability.references import LATEST, References, assert_consistent
from tests.test_data_steps import VECTORS, reference_usernames

# Local parts that collide in every way the rule knows: equal bases, a base
# equal to another's suffixed name (the exact sequential path), rule 7's _1.
LOCALS = ["john.doe", "John_Doe", "john_doe_1", "jo", "jo_1", "ab_1", "AB", "x", "x_1", "X.1", "x_1_1", "9lives", "_u"]
ONLINE_VERSIONS = [8, 10, 13, 16]


def colliding_emails(count: int, tag: str = "") -> list[str]:
    return [f"{LOCALS[i % len(LOCALS)]}{'' if i % 4 else i % 7}@{tag}d{i}.io" for i in range(count)]


def insert_users(conn: psycopg.Connection[Any], prefix: str, emails: list[str]) -> None:
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {quote_ident(prefix)}.phoenix_kit_users (email, hashed_password, inserted_at, updated_at) "
            "SELECT e, 'x', now(), now() FROM unnest(%s::text[]) WITH ORDINALITY AS t (e, n) ORDER BY n",
            [emails],
        )


def assert_usernames_exact(conn: psycopg.Connection[Any], prefix: str) -> None:
    rows = conn.execute(f"SELECT email::text, username FROM {quote_ident(prefix)}.phoenix_kit_users ORDER BY id").fetchall()
    expected = reference_usernames([email for email, _ in rows])
    wrong = [(email, name, want) for (email, name), want in zip(rows, expected) if name != want]
    assert not wrong, f"{len(wrong)} of {len(rows)} usernames differ from the spec's rule, e.g. {wrong[:5]}"


def assert_indexes_valid(conn: psycopg.Connection[Any], prefix: str) -> None:
    """No index of the prefix is left invalid (a concurrent build a crash or a time-out interrupted)."""
    invalid = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT i.indisvalid",
        [prefix],
    ).fetchall()
    assert not invalid, f"invalid indexes left in {prefix}: {invalid}"


def at(conn: psycopg.Connection[Any], version: int, users: list[str]) -> str:
    prefix = unique_name("online")
    pk.up(version=version, prefix=prefix, using=conn, log=False)
    insert_users(conn, prefix, users)
    return prefix


def run_in_transaction(conn: psycopg.Connection[Any], statements: list[str] | tuple[str, ...]) -> None:
    with conn.transaction():
        conn.execute(PIN_SEARCH_PATH)
        for statement in statements:
            conn.execute(statement)


class Lines:
    """A progress writer that keeps what the core writes (``on_write`` sees each piece as it comes)."""

    def __init__(self, on_write: Callable[[str], None] | None = None) -> None:
        self.parts: list[str] = []
        self.on_write = on_write

    def write(self, text: str) -> None:
        self.parts.append(text)
        if self.on_write is not None:
            self.on_write(text)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(self.parts)


@pytest.fixture
def always(settings: Any) -> None:
    settings.PHOENIX_KIT_ONLINE = "always"


def test_the_online_forms_leave_each_versions_catalog_and_the_spec_usernames(
    conn: psycopg.Connection[Any], references: References, always: None
) -> None:
    emails = [email for _, email, _ in VECTORS] + colliding_emails(300)
    prefix = at(conn, 7, emails)
    log = Lines()
    assert pk.up(prefix=prefix, using=conn, log=log) == pk.latest_version()
    text = log.text
    for version in ONLINE_VERSIONS:
        assert f"{pk.plan(version - 1, version)[0].describe()} online (" in text, text
    assert_consistent(conn, prefix, references)
    assert_usernames_exact(conn, prefix)
    vectors = conn.execute(f'SELECT id, email::text, username FROM "{prefix}".phoenix_kit_users ORDER BY id LIMIT 17').fetchall()
    assert vectors == VECTORS
    drop_schema(conn, prefix)


def test_auto_takes_the_online_form_only_for_a_large_table(conn: psycopg.Connection[Any]) -> None:
    small, large = at(conn, 7, colliding_emails(100)), at(conn, 7, colliding_emails(20000))
    for prefix, online in ((small, False), (large, True)):
        log = Lines()
        pk.up(version=8, prefix=prefix, using=conn, log=log)
        assert (" online (phoenix_kit_users" in log.text) is online, log.text
        assert_usernames_exact(conn, prefix)
        drop_schema(conn, prefix)


def test_a_caller_transaction_gets_the_transactional_form(conn: psycopg.Connection[Any], always: None) -> None:
    prefix = at(conn, 7, colliding_emails(50))
    with conn.transaction():
        assert pk.up(version=8, prefix=prefix, using=conn, log=False) == 8
    assert_usernames_exact(conn, prefix)
    drop_schema(conn, prefix)


# Interrupted states, each built by running part of the form by hand.
def _v08_partial_copy(conn: psycopg.Connection[Any], prefix: str) -> None:
    conn.execute(f"SELECT {quote_ident(prefix)}.phoenix_kit_v08_copy(-9223372036854775808, 7)")


def _v08_partial_rename(conn: psycopg.Connection[Any], prefix: str) -> None:
    schema = quote_ident(prefix)
    conn.execute(f"SELECT {schema}.phoenix_kit_v08_copy(-9223372036854775808, 100000)")
    conn.execute(f"SELECT {schema}.phoenix_kit_v08_rename(5)")


def _invalid_index(version: int) -> Callable[[psycopg.Connection[Any], str], None]:
    def make(conn: psycopg.Connection[Any], prefix: str) -> None:
        form = online_form(version, prefix)
        assert form is not None
        if version == 8:
            _v08_partial_rename(conn, prefix)
            conn.execute(f"SELECT {quote_ident(prefix)}.phoenix_kit_v08_rename(100000)")
        build = next(work for work in form.work if isinstance(work, IndexBuild))
        conn.execute(build.sql)
        # What a build killed half-way leaves: the index, marked invalid.
        conn.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
            [f"{quote_ident(prefix)}.{quote_ident(build.name)}"],
        )

    return make


def _nothing_more(conn: psycopg.Connection[Any], prefix: str) -> None:
    pass


INTERRUPTIONS = [
    *((version, "after its first transaction", _nothing_more) for version in ONLINE_VERSIONS),
    (8, "during the copy", _v08_partial_copy),
    (8, "while naming users", _v08_partial_rename),
    *((version, "with an invalid index", _invalid_index(version)) for version in (8, 10, 13)),
]


@pytest.mark.parametrize("resume", [True, False], ids=["resumed by up", "undone by down"])
@pytest.mark.parametrize(("version", "when", "interrupt"), INTERRUPTIONS, ids=[f"V{v:02d} {w}" for v, w, _ in INTERRUPTIONS])
def test_an_interrupted_online_form_is_resumed_or_undone_exactly(
    conn: psycopg.Connection[Any],
    references: References,
    always: None,
    version: int,
    when: str,
    interrupt: Callable[[psycopg.Connection[Any], str], None],
    resume: bool,
) -> None:
    prefix = at(conn, version - 1, colliding_emails(60))
    form = online_form(version, prefix)
    assert form is not None
    run_in_transaction(conn, form.first)
    interrupt(conn, prefix)
    assert pk.migrated_version(prefix, using=conn) == version - 1
    if resume:
        assert pk.up(version=version, prefix=prefix, using=conn, log=False) == version
    else:
        assert pk.down(version=version - 1, prefix=prefix, using=conn, log=False) == version - 2
    assert_consistent(conn, prefix, references)
    assert_indexes_valid(conn, prefix)
    if version == 8 and resume:
        assert_usernames_exact(conn, prefix)
    diagnosis = pk.doctor(prefix, using=conn)  # resumed or undone, exactly a fresh install of where it is
    assert (diagnosis.status, [d.object for d in diagnosis.differences]) == (0, []), diagnosis
    assert pk.up(prefix=prefix, using=conn, log=False) == pk.latest_version()
    assert_consistent(conn, prefix, references)
    if version == 8:  # (users inserted after V08 are the application's to name)
        assert_usernames_exact(conn, prefix)
    drop_schema(conn, prefix)


def test_a_marker_one_behind_a_complete_version_is_not_taken_for_an_interrupted_form(
    conn: psycopg.Connection[Any], always: None
) -> None:
    """V10's columns and indexes with marker 9 look like an interrupted online V10, but carry no sign of one:
    nothing is undone (the step fails on the existing objects, as without online forms)."""
    prefix = at(conn, 10, colliding_emails(10))
    conn.execute(f"COMMENT ON TABLE {quote_ident(prefix)}.phoenix_kit IS '9'")
    with pytest.raises(pk.StepFailedError, match="already exists"):
        pk.up(prefix=prefix, using=conn, log=False)
    assert conn.execute(
        f"SELECT count(*) FROM pg_attribute WHERE attrelid = '{quote_ident(prefix)}.phoenix_kit_users'::regclass "
        "AND attname = 'registration_ip' AND NOT attisdropped"
    ).fetchone() == (1,)
    drop_schema(conn, prefix)


# Application writers during the online V08.
def _writer(conninfo: str, prefix: str, seed: int, stop: threading.Event, errors: list[BaseException]) -> None:
    rng = random.Random(seed)
    users = f"{quote_ident(prefix)}.phoenix_kit_users"
    try:
        with connect(conninfo) as conn:
            n = 0
            while not stop.is_set():
                n += 1
                email = f"{rng.choice(LOCALS)}{rng.choice(['', '1', '2'])}@w{seed}-{n}.io"
                (top,) = conn.execute(f"SELECT max(id) FROM {users}").fetchone()  # type: ignore[misc]
                target = rng.randint(1, top)
                op = rng.random()
                if op < 0.35:
                    conn.execute(
                        f"INSERT INTO {users} (email, hashed_password, inserted_at, updated_at) VALUES (%s, 'x', now(), now())",
                        [email],
                    )
                elif op < 0.7:
                    conn.execute(f"UPDATE {users} SET email = %s WHERE id = %s", [email, target])
                elif op < 0.8:
                    conn.execute(f"UPDATE {users} SET id = -id WHERE id = %s AND id > 0", [target])
                elif op < 0.9:
                    with conn.transaction():  # several changes in one transaction
                        conn.execute(f"UPDATE {users} SET email = %s WHERE id = %s", [email, target])
                        conn.execute(f"DELETE FROM {users} WHERE id = %s", [rng.randint(1, top)])
                else:
                    conn.execute(f"DELETE FROM {users} WHERE id = %s", [target])
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        errors.append(exc)


@pytest.mark.parametrize("trial", range(3))
def test_concurrent_writers_during_the_online_v08_all_end_with_correct_usernames(
    conn: psycopg.Connection[Any], shared_conninfo: str, references: References, always: None, trial: int
) -> None:
    prefix = at(conn, 7, colliding_emails(12000, f"t{trial}"))
    stop, errors = threading.Event(), []
    writers = [
        threading.Thread(target=_writer, args=(shared_conninfo, prefix, SEED + 10 * trial + i, stop, errors)) for i in range(3)
    ]
    # The writers stop once the index is built: the final transaction locks them out anyway,
    # and a row written after it commits is the application's to name.
    log = Lines(lambda text: stop.set() if "building index" in text else None)

    for writer in writers:
        writer.start()
    time.sleep(0.2)
    try:
        assert pk.up(version=8, prefix=prefix, using=conn, log=log) == 8
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert not errors, errors
    assert_consistent(conn, prefix, references)
    assert_usernames_exact(conn, prefix)
    drop_schema(conn, prefix)


@pytest.mark.parametrize("trial", range(2))
def test_four_migrators_on_one_prefix_take_turns_through_the_online_forms(
    conn: psycopg.Connection[Any], shared_conninfo: str, references: References, always: None, trial: int
) -> None:
    """The online forms span many transactions: a second migrator waits for the one running it, never joins in.

    Found by the PgBouncer work (issue 11): before, the others failed with deadlocks,
    "tuple concurrently updated" or a missing helper function, and one returned 9.
    """
    prefix = at(conn, 7, colliding_emails(8000, f"m{trial}"))
    barrier, outcomes = threading.Barrier(4), []

    def migrate() -> None:
        with connect(shared_conninfo) as own:
            barrier.wait()
            try:
                outcomes.append(pk.up(prefix=prefix, using=own, log=False))
            except Exception as exc:  # reported below, with the others
                outcomes.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [LATEST] * 4
    assert_consistent(conn, prefix, references)
    assert_usernames_exact(conn, prefix)
    assert_indexes_valid(conn, prefix)
    drop_schema(conn, prefix)


# kill -9 and pg_terminate_backend at random points of the online V08. Each
# trial waits (polling pg_stat_activity) until the migrator's session is at
# one chosen moment, then strikes within a few milliseconds.
COPY, NAMING = "SELECT %phoenix_kit_v08_copy(%", "SELECT %phoenix_kit_v08_rename(2000)%"
# (what, the states the session must pass through in order: (state, query pattern)).
MOMENTS: list[tuple[str, list[tuple[str, str]]]] = [
    ("in its first transaction", [("idle in transaction", "SELECT n.oid IS NOT NULL%")]),
    ("in a copy batch", [("active", COPY)]),
    ("between copy batches", [("active", COPY), ("idle", "COMMIT")]),
    ("in a naming batch", [("active", NAMING)]),
    ("between naming batches", [("active", NAMING), ("idle", "COMMIT")]),
    ("in the concurrent index build", [("active", "%CONCURRENTLY%")]),
    ("in the final transaction", [("active", "%CONCURRENTLY%"), ("idle in transaction", "SELECT n.oid IS NOT NULL%")]),
]


def _strike_at(conn: psycopg.Connection[Any], pid: int, path: list[tuple[str, str]], rng: random.Random) -> bool:
    """Wait until session ``pid`` has passed through ``path``; False if it never did (it finished first)."""
    deadline = time.monotonic() + 60
    for state, query in path:
        while True:
            row = conn.execute(
                "SELECT state = %s AND query LIKE %s FROM pg_stat_activity WHERE pid = %s", [state, query, pid]
            ).fetchone()
            if row is None or time.monotonic() > deadline:
                return False
            if row[0]:
                break
    time.sleep(rng.uniform(0, 0.003))
    return True


def _kill_trial(conninfo: str, conn: psycopg.Connection[Any], references: References, rng: random.Random, n: int) -> str:
    prefix = at(conn, 7, colliding_emails(20000, f"k{n}"))  # over 1 MiB: "auto" takes the online form
    what, path = MOMENTS[n % len(MOMENTS)]
    child = spawn("up", conninfo, prefix=prefix)
    child.go()
    hit = _strike_at(conn, child.backend_pid, path, rng)
    terminate = rng.random() < 0.5
    if terminate:  # the server session dies mid-statement too (a batch, the index build)
        conn.execute("SELECT pg_terminate_backend(%s)", [child.backend_pid])
    child.kill()
    wait_until(
        lambda: conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [child.backend_pid]).fetchone() == (0,),
        "the killed migrator's session to end",
    )
    found = pk.migrated_version(prefix, using=conn)
    started = conn.execute(v08_online.started(prefix)).fetchone() == (True,)
    assert found >= 7
    undo = found == 7 and rng.random() < 0.3
    if undo:
        assert pk.down(version=7, prefix=prefix, using=conn, log=False) == 6
        assert_consistent(conn, prefix, references)
    assert pk.up(prefix=prefix, using=conn, log=False) == pk.latest_version()
    assert_consistent(conn, prefix, references)
    assert_indexes_valid(conn, prefix)
    assert_usernames_exact(conn, prefix)
    drop_schema(conn, prefix)
    kill = f"kill -9{' and pg_terminate_backend' if terminate else ''}"
    return (
        f"{kill} {what if hit else 'later than ' + what}: marker {found}"
        f"{', online form started' if started else ''}; {'undone, then ' if undo else ''}resumed exactly"
    )


def _kill_trials(conninfo: str, references: References, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with connect(conninfo) as conn:
        outcomes = [_kill_trial(conninfo, conn, references, rng, n) for n in range(count)]
    print("\n" + "\n".join(outcomes))
    # The kills did interrupt the form, at the moments chosen.
    assert sum("started" in outcome for outcome in outcomes) >= count // 2, outcomes
    assert sum(" later than " not in outcome for outcome in outcomes) >= count * 3 // 4, outcomes


def test_kill_9_during_the_online_v08_is_always_recoverable(shared_conninfo: str, references: References) -> None:
    _kill_trials(shared_conninfo, references, len(MOMENTS), SEED)


@pytest.mark.slow
def test_kill_9_during_the_online_v08_is_always_recoverable_long(shared_conninfo: str, references: References) -> None:
    _kill_trials(shared_conninfo, references, 4 * len(MOMENTS), SEED + 1)


# An old snapshot during an online index build: the build waits for it without queueing anyone.
def _snapshot_holder(conninfo: str) -> psycopg.Connection[Any]:
    """An application transaction holding a snapshot (REPEATABLE READ, after a read of another table)."""
    holder = connect(conninfo)
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    holder.execute("SELECT count(*) FROM pg_class").fetchall()
    return holder


def test_an_online_index_build_waits_for_an_old_snapshot_without_blocking_queries_then_resumes(
    conn: psycopg.Connection[Any], shared_conninfo: str, references: References, always: None
) -> None:
    prefix = at(conn, 9, colliding_emails(200))
    holder = _snapshot_holder(shared_conninfo)
    outcome: dict[str, Any] = {}

    def migrate() -> None:
        with connect(shared_conninfo) as migrator:
            try:
                outcome["version"] = pk.up(version=10, prefix=prefix, using=migrator, log=False, lock_timeout=4)
            except Exception as exc:  # the test reads it
                outcome["error"] = exc

    thread = threading.Thread(target=migrate)
    thread.start()
    with connect(shared_conninfo) as observer:
        wait_until(
            lambda: observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%CREATE INDEX CONCURRENTLY%%' AND wait_event_type = 'Lock'"
            ).fetchone() != (0,),
            "the index build to wait for the old snapshot",
        )
        with connect(shared_conninfo, options="-c statement_timeout=20s") as app:  # reads and writes go on
            began = time.monotonic()
            app.execute(f'SELECT count(*) FROM "{prefix}".phoenix_kit_users').fetchall()
            app.execute(f"UPDATE \"{prefix}\".phoenix_kit_users SET updated_at = now() WHERE id = 1")
            assert time.monotonic() - began < 1.5
    thread.join(timeout=30)
    error = outcome.get("error")
    assert isinstance(error, pk.TablesLockedError), outcome
    assert f"pid {holder.info.backend_pid} (idle in transaction" in str(error) and "an older snapshot" in str(error)
    assert "run again to resume it" in str(error)
    assert pk.migrated_version(prefix, using=conn) == 9
    holder.execute("ROLLBACK")
    holder.close()
    assert pk.up(version=10, prefix=prefix, using=conn, log=False) == 10  # drops the invalid index, builds it again
    assert_consistent(conn, prefix, references)
    assert_indexes_valid(conn, prefix)
    drop_schema(conn, prefix)


def test_a_reader_holding_the_table_makes_the_online_form_retry_its_first_transaction(
    conn: psycopg.Connection[Any], shared_conninfo: str, references: References, always: None
) -> None:
    prefix = at(conn, 7, colliding_emails(200))
    with connect(shared_conninfo) as reader:
        pid = reader.info.backend_pid
        reader.execute("BEGIN")
        reader.execute(f'SELECT count(*) FROM "{prefix}".phoenix_kit_users').fetchall()
        log = Lines()
        threading.Timer(1.0, lambda: reader.execute("ROLLBACK")).start()
        assert pk.up(version=8, prefix=prefix, using=conn, log=log, lock_timeout=20) == 8
    assert f"held by pid {pid}" in log.text
    assert_consistent(conn, prefix, references)
    assert_usernames_exact(conn, prefix)
    drop_schema(conn, prefix)


def test_the_online_script_through_psql_ends_exact_and_resumes_after_an_interruption(
    conn: psycopg.Connection[Any], shared_conninfo: str, references: References
) -> None:
    """sql(7, 16, online=True) through psql: the V08 vectors and the catalog; run again on a state
    interrupted after V08's first transaction (with an invalid index left over), it resumes."""
    emails = [email for _, email, _ in VECTORS] + colliding_emails(300)
    prefix = at(conn, 7, emails)
    result = psql(shared_conninfo, pk.sql(7, 16, prefix=prefix, online=True))
    assert result.returncode == 0, result.stderr
    assert "CONCURRENTLY" in pk.sql(7, 16, prefix=prefix, online=True)
    assert_consistent(conn, prefix, references)
    assert_usernames_exact(conn, prefix)
    assert conn.execute(f'SELECT id, email::text, username FROM "{prefix}".phoenix_kit_users ORDER BY id LIMIT 17').fetchall() == VECTORS

    interrupted = at(conn, 7, emails)
    form = online_form(8, interrupted)
    assert form is not None
    run_in_transaction(conn, form.first)
    _invalid_index(8)(conn, interrupted)
    conn.execute(f'UPDATE "{interrupted}".phoenix_kit_users SET email = \'jo@moved.io\' WHERE id = 1')  # a write meanwhile
    result = psql(shared_conninfo, pk.sql(7, 8, prefix=interrupted, online=True))
    assert result.returncode == 0, result.stderr
    assert_consistent(conn, interrupted, references)
    assert_indexes_valid(conn, interrupted)
    assert_usernames_exact(conn, interrupted)
    drop_schema(conn, prefix)
    drop_schema(conn, interrupted)


def test_status_says_when_an_online_form_was_interrupted(conn: psycopg.Connection[Any], always: None) -> None:
    from phoenix_kit.status import prefix_status

    prefix = at(conn, 9, colliding_emails(10))
    assert "interrupted" not in prefix_status(prefix, using=conn).summary
    form = online_form(10, prefix)
    assert form is not None
    run_in_transaction(conn, form.first)
    summary = prefix_status(prefix, using=conn).summary
    assert summary == (
        "version 9, 7 pending (V10-V16); V10's online step was interrupted: the next up resumes it, a down undoes it"
    )
    interrupted = pk.doctor(prefix, using=conn)  # its half-built objects are not drift: it is not checked
    assert interrupted.status == 2 and "V10's online step was interrupted" in (interrupted.error or "")
    assert pk.up(prefix=prefix, using=conn, log=False) == pk.latest_version()
    assert prefix_status(prefix, using=conn).summary == f"version {pk.latest_version()}, up to date"
    assert pk.doctor(prefix, using=conn).status == 0
    drop_schema(conn, prefix)


def test_the_bound_limits_how_long_an_index_build_waits_not_how_long_it_works(
    conn: psycopg.Connection[Any], references: References, always: None
) -> None:
    """With nothing in its way, a build that takes longer than PHOENIX_KIT_LOCK_TIMEOUT completes."""
    prefix = at(conn, 9, colliding_emails(40000))
    assert pk.up(version=10, prefix=prefix, using=conn, log=False, lock_timeout=0.005) == 10
    assert_consistent(conn, prefix, references)
    assert_indexes_valid(conn, prefix)
    drop_schema(conn, prefix)
