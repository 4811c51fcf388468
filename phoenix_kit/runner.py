"""Runs version steps against one prefix of one database.

A run is a short list of phases:

1. read the marker (one cheap query; a no-op of ``ensure_current`` ends here);
2. check, once, that the catalog agrees with the marker and that the install
   belongs to roles we act for (``trust``), and that the caller's transaction
   (if any) is READ COMMITTED;
3. each step in its own transaction (a savepoint inside the caller's): pin the
   search_path, take the prefix's lock, re-read the marker, then in one round
   trip lock the step's tables, run its statements and write the new marker;
   every lock wait of an attempt is short, and an attempt that times out is
   rolled back and retried after a pause (``blocking``);
4. report the step, once its transaction has ended (a blocked stdout must
   never keep locks).

A step with an online form (``online``) that goes online runs phase 3 as the
form's short transactions, its first (unless a crash left it started) and its
last with the marker, and between them the work outside any exclusive lock
(``online_work``). Before moving, a form a crash interrupted is resumed if the
next step is its own online step, and undone otherwise.

After a crash or a failing statement the prefix is exactly at the last
completed version; a concurrent migrator that got there first turns our
remaining steps into no-ops, and one moving the other way stops us (rather
than the two undoing each other's steps for ever).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

from .blocking import Retry, describe_all, read_blockers
from .db import Database
from .driver import ServerError, StatementFailed, database_error
from .errors import (
    ConcurrentMigrationError,
    ConnectionLostError,
    IsolationError,
    LockTimeoutError,
    PhoenixKitError,
    SchemaMissingError,
    StepFailedError,
    TablesLockedError,
    UnsafeDatabaseError,
)
from .lock import HOLDER_QUERY, acquire_statement, holder_params, lock_key, set_lock_timeout, timeout_setting
from .marker import (
    OUR_TABLES,
    STATE_COLUMNS,
    STATE_FROM,
    PrefixState,
    no_marker_table,
    read_marker,
    read_state,
    relations_array,
    write_marker,
)
from .online import ONLINE_MIN_BYTES, OnlineFacts, OnlineForm, online_form, read_online_facts
from .online_claim import OnlineClaim
from .online_work import OnlineWork
from .plan import Step, get_step, latest_version
from .progress import Progress, Silent
from .script import PIN_SEARCH_PATH, lock_tables, step_statements, table_locks
from .sqltext import quote_ident, set_local
from .trust import ACTING, UNSAFE_SQLSTATE, foreign_install_error, untrusted_owner

NextStep = Callable[[int], "Step | None"]




# Failures that mean the objects a step creates or expects are not as the
# marker says: duplicate_table, duplicate_object, duplicate_column,
# undefined_table, undefined_object, undefined_column.
_CATALOG_MISMATCH = frozenset({"42P07", "42710", "42701", "42P01", "42704", "42703"})

# lock_not_available (lock_timeout), query_canceled (statement_timeout).
_WAIT_ENDED = frozenset({"55P03", "57014"})

# What a run reads once before its first step, in one statement so that it is
# one snapshot: the marker, the prefix's tables and indexes (for the catalog
# check), a role we do not act for that owns the install, and the session
# settings steps restore or depend on.
RUN_QUERY = f"""{ACTING}
SELECT {STATE_COLUMNS}, {relations_array("n")}, {untrusted_owner("n")},
       pg_catalog.current_setting('lock_timeout'), pg_catalog.current_setting('search_path'),
       pg_catalog.current_setting('transaction_isolation')
{STATE_FROM}
"""


@dataclass(frozen=True)
class Body:
    """One locked transaction of an online form: what it runs once the step's marker is confirmed.

    ``statements`` is called under the lock and returns None when there is
    nothing left to do (another migrator did it); ``moves_marker``: it ends the
    step (and is reported like one).
    """

    statements: Callable[[Step], "list[str] | None"]
    moves_marker: bool
    since: float | None = None  # when the step began, for its report (default: this transaction's first attempt)


@dataclass(frozen=True)
class _Course:
    """Where a run's next locked transaction goes: ``direction`` (1: up, -1: down), the step it
    takes from a marker, and ``body``: one phase of an online form instead of the whole step."""

    direction: int
    next_step: NextStep
    create_schema: bool
    session: "_Session"
    body: Body | None = None


class _LockWaitTimedOut(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        self.sqlstate = sqlstate


class _TablesBusy(Exception):
    """An attempt of ``step`` timed out waiting for a table lock; it was rolled back."""

    def __init__(self, step: Step) -> None:
        self.step = step


@dataclass(frozen=True)
class _Session:
    """What a run restores after each step when it works inside the caller's transaction."""

    lock_timeout: str
    search_path: str
    callers_transaction: bool


@dataclass
class Runner:
    """Moves one prefix; its arguments are already validated (``migration`` does that)."""

    db: Database
    prefix: str
    lock_timeout: float  # seconds a step may wait for its locks in all
    ddl_lock_timeout: float  # seconds one attempt may wait for one lock
    log: Progress = field(default_factory=Silent)
    online: str = "auto"  # PHOENIX_KIT_ONLINE: when a step that scans a table takes its online form
    # Whether this run works inside a transaction the caller opened (set when it starts).
    _callers_transaction: bool = field(default=False, init=False)

    def up(self, target: int, create_schema: bool, *, verify: bool = True) -> int:
        """``verify=False`` (``ensure_current``): a current marker is trusted without checking the catalog."""
        return self._run(1, lambda current: get_step(current + 1, "up") if current < target else None, create_schema, verify)

    def down(self, target: int) -> int:
        return self._run(-1, lambda current: get_step(current, "down") if current > target else None, False, True)

    def mark(self, version: int) -> str | None:
        """Write marker ``version`` under the lock without running a step; returns the old comment.

        The old marker is not parsed: repairing an unreadable one is the point.
        """
        self._callers_transaction = self.db.transaction_state() == "open"
        with self._connection_kept(None):
            _, session = self._check_run(check_marker=False)
        with self._connection_kept(None), self._locked(session, self.lock_timeout):
            state = read_state(self.db, self.prefix)
            if not state.table_exists:
                raise PhoenixKitError(no_marker_table(self.prefix))
            self.db.execute_batch([write_marker(self.prefix, version), *self._restore(session)])
        return state.comment

    def _run(self, direction: int, next_step: NextStep, create_schema: bool, verify: bool) -> int:
        self._callers_transaction = self.db.transaction_state() == "open"
        with self._connection_kept(None):
            if not verify:  # ensure_current: one cheap marker read, and a no-op ends here
                marker = read_marker(self.db, self.prefix)
                if marker is not None and marker <= latest_version() and next_step(marker) is None:
                    return marker
                # Anything else (not installed, behind, an unreadable or too new marker) is
                # read in full and judged exactly as without the shortcut.
                state = read_state(self.db, self.prefix)
                if next_step(state.version_for_change()) is None:
                    return state.version
            state, session = self._check_run(check_marker=True)
            current = state.version
            if next_step(current) is None:
                return current
            if current == 0 and not state.schema_exists and (not create_schema or self.prefix == "public"):
                raise self._schema_missing_error()
            facts = self._online_facts(current, next_step)
        while True:
            step = next_step(current)
            assert step is not None
            interrupted = facts.interrupted(current)
            with self._connection_kept(current):
                # A form a crash interrupted is resumed by its own online step, undone before anything else.
                resumed = interrupted is not None and step.version == interrupted.step.version
                if interrupted is not None and not (resumed and self._goes_online(interrupted, facts)):
                    current = self._undo(interrupted, session)
                    facts = facts.undone(interrupted)
                    continue
                form = online_form(step.version.number, self.prefix) if step.direction == "up" else None
                if form is not None and self._goes_online(form, facts):
                    current, done = self._run_online(form, facts.sizes.get(form.table, 0), current, create_schema, session)
                else:
                    current, done = self._run_one(_Course(direction, next_step, create_schema, session), current)
            if done or next_step(current) is None:  # no need to lock again to learn we are there
                return current

    def _online_facts(self, current: int, next_step: NextStep) -> OnlineFacts:
        """Read only when they can matter: an install whose next version, or a version this run
        applies, has an online form (a fresh install's tables are new and empty)."""
        numbers, marker = [current + 1], current
        while (step := next_step(marker)) is not None:
            numbers.append(step.version.number)
            marker = step.target
        if current == 0 or not any(online_form(number, self.prefix) for number in numbers if number <= latest_version()):
            return OnlineFacts(self.prefix, frozenset(), {})
        return read_online_facts(self.db, self.prefix)

    def _goes_online(self, form: OnlineForm, facts: OnlineFacts) -> bool:
        """Online outside the caller's transaction (CREATE INDEX CONCURRENTLY cannot run in one), as configured."""
        if self._callers_transaction or self.online == "never":
            return False
        return self.online == "always" or facts.sizes.get(form.table, 0) >= ONLINE_MIN_BYTES

    def _check_run(self, *, check_marker: bool) -> tuple[PrefixState, _Session]:
        """Read and check what a run needs once (the re-reads under the lock stay one cheap query each).

        Refuses a foreign install, then (``check_marker``) an unusable marker
        or one its catalog contradicts, then a caller's transaction stricter
        than READ COMMITTED.
        """
        ((schema, table, comment, relations, owner, lock_timeout, search_path, isolation),) = self.db.fetchall(
            RUN_QUERY, {"prefix": self.prefix, "tables": sorted(OUR_TABLES)}
        )
        state = PrefixState(self.prefix, schema, table, comment)
        if owner is not None:  # first: a foreign install's catalog is its owner's to explain
            raise foreign_install_error(self.prefix, owner)
        if check_marker:
            state.version_for_change()
            state.check_catalog(set(relations or ()))
        if self._callers_transaction and isolation != "read committed":
            raise IsolationError(
                f"phoenix_kit steps must run at READ COMMITTED, but the transaction they would join is "
                f"{isolation.upper()}: its snapshot predates the locks a step takes, so the step would miss "
                f"rows committed meanwhile. Nothing was changed. Call it outside your transaction, or begin "
                f"that transaction at READ COMMITTED (Django's migrate does so for phoenix_kit's own "
                f"migrations whatever OPTIONS['isolation_level'] says)."
            )
        return state, _Session(lock_timeout, search_path, self._callers_transaction)

    def _schema_missing_error(self) -> SchemaMissingError:
        if self.prefix == "public":
            fix = "create it first (CREATE SCHEMA public); phoenix_kit never creates the public schema"
        else:
            fix = (
                "create the schema first (CREATE SCHEMA ...), or run with create_schema=True "
                "(manage.py phoenixkit_migrate without --no-create-schema)"
            )
        return SchemaMissingError(f"Schema {quote_ident(self.prefix)} does not exist and create_schema is False: {fix}.")

    def _run_one(self, course: _Course, seen: int) -> tuple[int, bool]:
        """Run the next step of ``course`` under the lock, retrying while its tables are busy.

        Returns (marker now, whether the goal was already met); ``seen`` is the
        marker as this run last saw it.
        """
        started = time.monotonic()
        retry = Retry(started + self.lock_timeout)
        while True:
            try:
                return self._attempt(course, seen, retry, started)
            except _TablesBusy as busy:
                tables = [table for table, _ in table_locks(busy.step.version.number, busy.step.direction)]
                blockers = read_blockers(self.db, self.prefix, tables)
                delay = retry.next_delay()
                if delay is None:
                    self.log.step(busy.step, False, None)
                    raise TablesLockedError(
                        f"phoenix_kit {busy.step.version.label} {busy.step.direction} could not lock its tables on "
                        f"prefix {self.prefix!r} within {self.lock_timeout:g}s ({retry.attempts} attempts, each "
                        f"waiting at most {self.ddl_lock_timeout:g}s so that application queries are never queued "
                        f"behind it for longer); the prefix is unchanged at version {busy.step.source}. Blocking: "
                        f"{describe_all(blockers)}. End those transactions (or wait for them) and run again; "
                        f"raise PHOENIX_KIT_LOCK_TIMEOUT to keep retrying longer.",
                        blockers[0].pid if blockers else None,
                        blockers,
                    ) from None
                if retry.attempts == 1:
                    self._say(
                        f"  {busy.step.describe()}: waiting for its table locks, held by {describe_all(blockers)}; "
                        f"retrying for up to {max(retry.remaining(), 0):.0f}s\n"
                    )
                time.sleep(delay)

    def _attempt(self, course: _Course, seen: int, retry: Retry, started: float) -> tuple[int, bool]:
        step, body, session = None, course.body, course.session
        try:
            with self._connection_kept(seen), self._locked(session, retry.remaining()):
                current = read_state(self.db, self.prefix).version_for_change()
                if (current - seen) * course.direction < 0:
                    raise self._moved_back_error(course.direction, seen, current)
                step = course.next_step(current)
                statements = None
                if step is not None:
                    if body is None:
                        statements = step_statements(step, self.prefix, course.create_schema)
                    else:  # one phase of an online form
                        statements = body.statements(step)
                if step is None or statements is None:
                    self.db.execute_batch(self._restore(session))
                    return current, step is None
                self._execute_step(step, statements, session)
        except _TablesBusy:
            raise
        except BaseException:
            if step is not None:
                self.log.step(step, False, None)
            raise
        if body is not None and not body.moves_marker:
            return current, False
        began = started if body is None or body.since is None else body.since
        self.log.step(step, True, time.monotonic() - began)
        return step.target, False

    def _execute_step(self, step: Step, statements: list[str], session: _Session) -> None:
        """The step's statements in one round trip; a failure names its statement without running it again."""
        self.log.statements(step, statements)
        try:
            self.db.execute_batch([*statements, *self._restore(session)])
        except StatementFailed as failed:
            if failed.error.sqlstate == "55P03":  # lock_not_available: this attempt waited long enough
                raise _TablesBusy(step) from failed.exception
            if failed.error.sqlstate == UNSAFE_SQLSTATE:
                raise UnsafeDatabaseError(
                    f"phoenix_kit {step.version.label} refused prefix {self.prefix!r}: "
                    f"{failed.error.message} Nothing was changed."
                ) from failed.exception
            if failed.index >= len(statements):  # restoring the caller's settings: not the step's fault
                raise failed.exception
            raise self._step_failed(step, statements[failed.index], failed.error) from failed.exception

    def _run_online(
        self, form: OnlineForm, size: int, seen: int, create_schema: bool, session: _Session
    ) -> tuple[int, bool]:
        """The step as its online form: ``first`` (unless started), the work, then ``last`` with the marker.

        A form another live migrator is running is waited for, not joined
        (``online_claim``); the main loop then goes on from where it left the prefix.
        """
        step = form.step
        only = lambda current: step if current == step.source else None  # noqa: E731
        self._say(f"  {step.describe()} online ({form.table}: {size / 2**20:.1f} MiB):\n")
        started, claim = time.monotonic(), OnlineClaim(self.db, self.prefix)
        running: list[int | None] = []
        with claim.kept():
            first = Body(self._first(form, claim, running), False)
            current, _ = self._run_one(_Course(1, only, create_schema, session, first), seen)
            if current != step.source:  # another migrator moved the prefix: the main loop decides again
                return current, False
            if (holder := running[-1]) is not None:  # a live migrator is running it
                return self._wait_for(holder, claim, form), False
            outside = OnlineWork(self.db, self.prefix, self.lock_timeout, self.ddl_lock_timeout, self._say)
            for work in form.work:
                outside.run(form, work)
            locks = lock_tables(step, self.prefix)
            final = Body(lambda _: [*locks, *form.last, write_marker(self.prefix, step.target)], True, started)
            current, _ = self._run_one(_Course(1, only, create_schema, session, final), current)
        return current, False  # where this step ended; the main loop goes on from there

    def _first(self, form: OnlineForm, claim: OnlineClaim, running: list[int | None]) -> Callable[[Step], "list[str] | None"]:
        """The form's first transaction: start it, or resume it if no live migrator is at it, and claim it.

        ``running`` ends with None when this run claimed the form, else with the pid of the one running it.
        """

        def statements(step: Step) -> list[str] | None:
            started = self._started(form)
            holder = claim.other() if started else None
            running.append(holder)  # per attempt: the last one counts
            if holder is not None:
                return None
            claim.take()  # in this locked transaction: the next migrator to look sees it
            return None if started else [*lock_tables(step, self.prefix), *form.first]

        return statements

    def _wait_for(self, holder: int, claim: OnlineClaim, form: OnlineForm) -> int:
        """Wait (bounded) while a live session runs the prefix's online form; the marker it leaves."""
        self._say(f"  {form.step.describe()}: backend pid {holder} is running its online form; waiting for it\n")
        deadline, pause = time.monotonic() + self.lock_timeout, 0.05
        while (other := claim.other()) is not None:
            if time.monotonic() + pause > deadline:
                raise LockTimeoutError(
                    f"Timed out after {self.lock_timeout:g}s waiting for another migrator (backend pid {other}) to "
                    f"finish {form.step.version.label}'s online form on prefix {self.prefix!r}. Wait for it, or "
                    f"inspect it with SELECT * FROM pg_stat_activity WHERE pid = {other}. "
                    f"Raise PHOENIX_KIT_LOCK_TIMEOUT to wait longer.",
                    other,
                )
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        return read_state(self.db, self.prefix).version_for_change()

    def _started(self, form: OnlineForm) -> bool:
        ((started,),) = self.db.fetchall(form.started)
        return bool(started)

    def _undo(self, form: OnlineForm, session: _Session) -> int:
        """Undo an online form a crash interrupted, in one locked transaction; returns the marker.

        A form a live migrator is running is not interrupted: it is waited for instead.
        """
        step, claim = form.step, OnlineClaim(self.db, self.prefix)
        running: list[int | None] = [claim.other()]  # looked at again under the lock
        if running[-1] is None:
            self._say(f"  Undoing the interrupted online {step.version.label} on prefix {self.prefix!r}\n")

            def statements(_: Step) -> list[str] | None:
                if not self._started(form):
                    return None
                running.append(holder := claim.other())  # per attempt: the last one counts
                return None if holder is not None else [*lock_tables(step, self.prefix), *form.undo]

            only = lambda current: step if current == step.source else None  # noqa: E731
            current, _ = self._run_one(_Course(1, only, False, session, Body(statements, False)), step.source)
        if (holder := running[-1]) is not None:
            return self._wait_for(holder, claim, form)
        return current

    @contextmanager
    def _locked(self, session: _Session, remaining: float) -> Iterator[None]:
        """A transaction (savepoint in the caller's) with a safe search_path, holding the prefix's lock.

        The wait for our lock is bounded by what is left of ``remaining``
        seconds; every lock the step then waits for, by the short DDL bound.
        """
        # A snapshot taken before the lock is granted would hide the marker the
        # previous holder committed: READ COMMITTED when we open the transaction.
        isolation = [] if session.callers_transaction else ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED"]
        # One message: every value in it is ours (timeout strings, an integer key).
        prelude = [
            *isolation,
            PIN_SEARCH_PATH,
            set_lock_timeout(timeout_setting(max(remaining, 0.001))),
            acquire_statement(self.prefix),
            set_lock_timeout(timeout_setting(self.ddl_lock_timeout)),
        ]
        waited = time.monotonic()
        try:
            with self.db.atomic():
                try:
                    self.db.fetchall(";\n".join(prelude))
                except Exception as exc:
                    error = database_error(exc)
                    if error is not None and error.sqlstate in _WAIT_ENDED:
                        raise _LockWaitTimedOut(error.sqlstate) from exc
                    raise
                yield
        except _LockWaitTimedOut as timed_out:
            raise self._lock_timeout_error(timed_out.sqlstate, time.monotonic() - waited) from None

    def _restore(self, session: _Session) -> list[str]:
        """Inside the caller's transaction our SET LOCALs would outlive the savepoint: undo them."""
        if not session.callers_transaction:
            return []
        return [set_local("search_path", session.search_path), set_lock_timeout(session.lock_timeout)]

    @contextmanager
    def _connection_kept(self, committed: int | None) -> Iterator[None]:
        """Turn the server ending the session into an error that says where the prefix stands.

        ``committed``: the marker as last committed by or before this run (None: not read yet).
        """
        try:
            yield
        except PhoenixKitError:
            raise
        except Exception as exc:
            error = database_error(exc)
            if error is None or not error.session_ended:
                raise
            if self._callers_transaction:
                where = "the transaction this run was in was rolled back: the prefix is at the version it had before it"
            elif committed is None:
                where = "this run had changed nothing: the prefix is at the version it had before"
            else:
                where = f"prefix {self.prefix!r} is at version {committed}, as the last committed step left it"
            raise ConnectionLostError(
                f"The server, or a pooler in front of it, ended the session while phoenix_kit was migrating "
                f"prefix {self.prefix!r} ({error.message}); steps are atomic, so {where}. Reconnect and "
                f"run again; if a timeout ended it, raise it for the migrating role: the server's "
                f"idle_in_transaction_session_timeout or statement_timeout, or PgBouncer's query_timeout, "
                f"query_wait_timeout or idle_transaction_timeout."
            ) from exc

    def _lock_timeout_error(self, sqlstate: str | None, waited: float) -> LockTimeoutError:
        try:
            rows = self.db.fetchall(HOLDER_QUERY, list(holder_params(lock_key(self.prefix))))
        except Exception:  # e.g. an outer transaction that is now aborted
            rows = []
        pid = rows[0][0] if rows else None
        holder = f"backend pid {pid}" if pid is not None else "another session (it has since released it)"
        if sqlstate == "57014":
            bound = f"after {waited:.1f}s, when the session's statement_timeout cancelled the wait"
            longer = "Raise statement_timeout for the migrating role, or wait for the other migrator."
        else:
            bound = f"after {self.lock_timeout:g}s"
            longer = "Raise PHOENIX_KIT_LOCK_TIMEOUT to wait longer."
        return LockTimeoutError(
            f"Timed out {bound} waiting for the migration lock of prefix {self.prefix!r}, held by {holder}. "
            f"Another migrator is running: wait for it, or inspect it with "
            f"SELECT * FROM pg_stat_activity WHERE pid = {pid if pid is not None else '<pid>'}. {longer}",
            pid,
        )

    def _moved_back_error(self, direction: int, seen: int, current: int) -> ConcurrentMigrationError:
        ours, theirs = ("up", "down") if direction > 0 else ("down", "up")
        return ConcurrentMigrationError(
            f"Another migrator moved prefix {self.prefix!r} {theirs} from version {seen} to {current} "
            f"while this {ours} was running. Stopped at version {current} rather than undo its work "
            f"(each step is atomic, so the prefix is consistent): run again once it has finished."
        )

    def _step_failed(self, step: Step, statement: str, error: ServerError) -> StepFailedError:
        hint = ""
        if error.sqlstate in _CATALOG_MISMATCH:
            hint = (
                f"\nHint: the objects this step creates or expects are not as version {step.source} "
                f"leaves them. If an object of yours clashes, rename or remove it and run again; "
                f"if the marker is wrong, inspect the schema and record the version really installed "
                f"with `manage.py phoenixkit_migrate --prefix {self.prefix} --mark N`."
            )
        return StepFailedError(
            f"phoenix_kit {step.version.label} {step.direction} failed on prefix {self.prefix!r} "
            f"and was rolled back; the prefix stays at version {step.source}.\n"
            f"PostgreSQL said: {error.text}\nStatement: {statement}{hint}",
            step.version.number,
            statement,
        )

    def _say(self, text: str) -> None:
        self.log.note(text)

