"""Writers racing a step that reads rows (issue 9, items 4 and 5): no silent wrong result.

V02 deletes inactive role assignments, then drops the column: a revocation
committed while the step waits for its lock must not survive as an active
assignment. V08 backfills usernames: a sign-up committed while the step waits
must get one, also where transactions default to REPEATABLE READ, and the
exported script's marker assertion must not pass against a marker read before
the lock was granted. A step sees the data as of holding its locks.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import phoenix_kit as pk
from tests.security.common import (
    Background,
    connect,
    described,
    is_error,
    observer,
    outcome,
    pid_of,
    psql,
    unique,
)
from tests.reliability.common import wait_until, waiting_on_lock

LATEST = pk.latest_version()


def _users(prefix: str) -> sql.Identifier:
    return sql.Identifier(prefix, "phoenix_kit_users")


def _sign_up(conn: psycopg.Connection[Any], prefix: str, email: str) -> int:
    (user_id,) = conn.execute(
        sql.SQL(
            "INSERT INTO {} (email, hashed_password, inserted_at, updated_at) VALUES (%s, 'x', now(), now()) RETURNING id"
        ).format(_users(prefix)),
        [email],
    ).fetchone()
    return int(user_id)


def test_a_revocation_committed_while_v02_waits_is_not_resurrected(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str
) -> None:
    """The assignment revoked (is_active = false) by a transaction V02 waited for is deleted, not kept as active."""
    pk.up(version=1, prefix=prefix, using=conn, log=False)
    user = _sign_up(conn, prefix, "revoked@example.com")
    assignments = sql.Identifier(prefix, "phoenix_kit_user_role_assignments")
    roles = sql.Identifier(prefix, "phoenix_kit_user_roles")
    (assignment,) = conn.execute(
        sql.SQL(
            "INSERT INTO {} (user_id, role_id, inserted_at) SELECT %s, id, now() FROM {} WHERE name = 'Admin' RETURNING id"
        ).format(assignments, roles),
        [user],
    ).fetchone()

    with connect(shared_conninfo) as revoker, connect(shared_conninfo) as migrator:
        revoker.execute("BEGIN")
        revoker.execute(sql.SQL("UPDATE {} SET is_active = false WHERE id = %s").format(assignments), [assignment])
        running = Background(lambda: pk.up(version=2, prefix=prefix, using=migrator, log=False))
        wait_until(lambda: waiting_on_lock(conn, migrator.info.backend_pid), "V02 waits for a lock")
        revoker.execute("COMMIT")
        result = running.result()

    assert result == 2, described(result)
    kept = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE id = %s").format(assignments), [assignment]).fetchone()
    assert kept == (0,), "the revoked assignment survived V02 and now counts as active"


# Statements of an exported step, by position in its text.
_LOCK = re.compile(r"LOCK\s+TABLE\s+(?:ONLY\s+)?(.*?)\s+IN\s+[A-Z ]+MODE", re.S)
_WRITE = re.compile(r'\b(?:DELETE\s+FROM|UPDATE|INSERT\s+INTO)\s+"p"\."(\w+)"')
_SHAPE = re.compile(r'\b(?:ALTER\s+TABLE|CREATE\s+TABLE)\s+"p"\."(\w+)"')
_TOUCH = re.compile(r'"p"\."')


def _lock_problems(label: str, script: str) -> list[str]:
    """Why the step in ``script`` could let a concurrent write fall between its reads and its changes."""
    (step,) = re.findall(r"^BEGIN\b[^\n]*\n(.*?)^COMMIT;$", script, re.S | re.M)
    locks = [(m.start(), m.end(), re.findall(r'"p"\."(\w+)"', m.group(1))) for m in _LOCK.finditer(step)]
    inside_lock = lambda position: any(start <= position < end for start, end, _ in locks)  # noqa: E731
    first_touch = min((m.start() for m in _TOUCH.finditer(step) if not inside_lock(m.start())), default=len(step))
    problems = [f"{label}: LOCK TABLE after the step's first statement on the prefix" for start, _, _ in locks if start > first_touch]
    for write in _WRITE.finditer(step):
        table = write.group(1)
        held = any(start < write.start() and table in tables for start, _, tables in locks) or any(
            shape.start() < write.start() and shape.group(1) == table for shape in _SHAPE.finditer(step)
        )
        if not held:
            problems.append(f"{label}: writes {table} before locking it ({' '.join(write.group(0).split())})")
    return problems


def test_every_step_locks_the_tables_it_writes_before_it_reads_them() -> None:
    """In the exported script (the live runner's statements), LOCK TABLE comes first and precedes every write."""
    problems: list[str] = []
    for version in range(1, LATEST + 1):
        problems += _lock_problems(f"V{version:02d} up", pk.sql(version - 1, version, prefix="p"))
        problems += _lock_problems(f"V{version:02d} down", pk.sql(version, version - 1, prefix="p"))
    assert problems == [], "\n".join(problems)
    v02 = pk.sql(1, 2, prefix="p")
    delete = v02.index('DELETE FROM "p"."phoenix_kit_user_role_assignments"')
    assert re.search(r'LOCK\s+TABLE[^;]*"p"\."phoenix_kit_user_role_assignments"', v02[:delete]), "V02: no LOCK TABLE before its DELETE"


@pytest.fixture
def repeatable_read(make_database: Callable[[], str]) -> Iterator[tuple[str, psycopg.Connection[Any]]]:
    """A database whose transactions default to REPEATABLE READ, and an observer's connection to it."""
    conninfo = make_database()
    with observer(conninfo) as admin:
        name = conninfo_to_dict(conninfo)["dbname"]
        admin.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_isolation = 'repeatable read'").format(sql.Identifier(str(name))))
        yield conninfo, admin


def _script_in_background(conninfo: str, script: str) -> tuple[Background, str]:
    name = unique("psql")
    return Background(lambda: psql(conninfo, script, application_name=name)), name


def _psql_waits(admin: psycopg.Connection[Any], name: str) -> Callable[[], bool]:
    def check() -> bool:
        pid = pid_of(admin, name)
        return pid is not None and waiting_on_lock(admin, pid)

    return check


def test_the_script_backfills_a_sign_up_committed_while_v08_waits(repeatable_read: tuple[str, psycopg.Connection[Any]]) -> None:
    """sql(7, 8) through psql at a REPEATABLE READ default: the user committed during the lock wait gets a username."""
    conninfo, admin = repeatable_read
    pk.up(version=7, prefix="app", using=admin, log=False)
    _sign_up(admin, "app", "early@example.com")
    with connect(conninfo) as signup:
        signup.execute("BEGIN")
        _sign_up(signup, "app", "during@example.com")
        running, name = _script_in_background(conninfo, pk.sql(7, 8, prefix="app"))
        wait_until(_psql_waits(admin, name), "the script's V08 step waits for the sign-up's lock")
        signup.execute("COMMIT")
        result = running.result()

    assert isinstance(result, subprocess.CompletedProcess) and result.returncode == 0, described(result)
    missing = admin.execute(sql.SQL("SELECT email FROM {} WHERE username IS NULL ORDER BY id").format(_users("app"))).fetchall()
    assert missing == [], f"users left without a username by V08: {missing}"


@pytest.mark.parametrize(("start", "table"), [(5, "phoenix_kit_referral_codes"), (7, "phoenix_kit_users")])
def test_two_runs_of_one_script_apply_its_step_once(
    repeatable_read: tuple[str, psycopg.Connection[Any]], start: int, table: str
) -> None:
    """Two psql runs of sql(N, N+1) at once, REPEATABLE READ default: the one that waited fails on the marker assertion.

    A session holding ACCESS SHARE on the step's table keeps the first run inside
    its step (holding the prefix's lock) while the second queues for that lock.
    """
    conninfo, admin = repeatable_read
    pk.up(version=start, prefix="app", using=admin, log=False)
    script = pk.sql(start, start + 1, prefix="app")
    with connect(conninfo) as holder:
        holder.execute("BEGIN")
        holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier("app", table)))
        first, first_name = _script_in_background(conninfo, script)
        wait_until(_psql_waits(admin, first_name), "the first run waits inside its step")
        second, second_name = _script_in_background(conninfo, script)
        wait_until(_psql_waits(admin, second_name), "the second run waits for the prefix's lock")
        holder.execute("COMMIT")
        results = [first.result(), second.result()]

    codes = sorted(getattr(result, "returncode", -1) for result in results)
    errors = " | ".join(getattr(result, "stderr", described(result)).strip() for result in results)
    assert codes[0] == 0 and codes[1] != 0, f"return codes {codes}: {errors or 'both succeeded'}"
    assert f"must be at version {start}" in errors, f"the second run was not stopped by the marker assertion: {errors}"
    assert pk.migrated_version("app", using=admin) == start + 1


def test_a_live_run_inside_a_repeatable_read_transaction_is_refused(
    conn: psycopg.Connection[Any], shared_conninfo: str, prefix: str
) -> None:
    """up() in a caller's REPEATABLE READ transaction raises IsolationError and changes nothing (caller commits)."""
    pk.up(version=7, prefix=prefix, using=conn, log=False)
    caught: object = None
    with psycopg.connect(shared_conninfo) as caller:
        caller.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        try:
            with caller.transaction():
                caller.execute("SELECT 1")
                caught = outcome(lambda: pk.up(version=8, prefix=prefix, using=caller, log=False))
        except psycopg.Error:
            pass  # the transaction could not commit: nothing of it stays either

    assert is_error(caught, "IsolationError"), f"expected phoenix_kit.errors.IsolationError, got {described(caught)}"
    assert pk.migrated_version(prefix, using=conn) == 7


def test_django_migrate_backfills_a_sign_up_committed_while_v08_waits(
    repeatable_read: tuple[str, psycopg.Connection[Any]], django_db_blocker: Any
) -> None:
    """``manage.py migrate phoenix_kit 0008`` on an alias whose transactions are REPEATABLE READ:
    its migration's transaction is made READ COMMITTED, so a user who signed up while V08
    waited for its lock gets a username."""
    from django.core.management import call_command

    from tests.django.conftest import django_alias

    conninfo, admin = repeatable_read
    with django_db_blocker.unblock(), django_alias(conninfo, options="-c application_name=pk_migrate") as alias:
        call_command("migrate", "phoenix_kit", "0007", database=alias, verbosity=0)
        _sign_up(admin, "public", "early@example.com")
        with connect(conninfo) as signup:
            signup.execute("BEGIN")
            _sign_up(signup, "public", "during@example.com")

            def commit_once_migrate_waits() -> None:
                wait_until(lambda: (pid := pid_of(admin, "pk_migrate")) is not None and waiting_on_lock(admin, pid),
                           "migrate's V08 waits for the sign-up's lock")
                signup.execute("COMMIT")

            committer = Background(commit_once_migrate_waits)
            result = outcome(lambda: call_command("migrate", "phoenix_kit", "0008", database=alias, verbosity=0))
            committer.result()

    assert not isinstance(result, BaseException), described(result)
    missing = admin.execute(sql.SQL("SELECT email FROM {} WHERE username IS NULL ORDER BY id").format(_users("public"))).fetchall()
    assert missing == [], f"users left without a username by V08: {missing}"
