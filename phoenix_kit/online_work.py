"""The work of an online form that runs outside any exclusive lock: index builds, validations, batches.

The runner (``runner.py``) runs an online form's short locked transactions like
steps; between them it hands each piece of ``OnlineForm.work`` to
:class:`OnlineWork`, which bounds every wait: a batch that meets a locked row for
longer than one attempt rolls back and is retried after a pause, and a
concurrent index build or a validation may wait at most ``PHOENIX_KIT_LOCK_TIMEOUT``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from .blocking import Retry, describe_all, read_blockers, read_snapshot_holders
from .db import Database, Params, WaitBoundExceeded
from .driver import database_error
from .errors import TablesLockedError
from .lock import acquire_statement, set_lock_timeout, timeout_setting
from .online import INVALID_INDEX_QUERY, Batches, IndexBuild, OnlineForm, Validation, Work
from .script import PIN_SEARCH_PATH
from .sqltext import quote_ident

MIN_BIGINT, MAX_BIGINT = -(2**63), 2**63 - 1


class _Busy(Exception):
    """A batch timed out waiting for a lock (or was chosen as a deadlock's victim); it was rolled back."""


@dataclass
class OnlineWork:
    db: Database
    prefix: str
    lock_timeout: float  # seconds any one piece may wait in all
    ddl_lock_timeout: float  # seconds one batch may wait for one lock
    say: Callable[[str], None]

    def run(self, form: OnlineForm, work: Work) -> None:
        """One piece of an online form's work, outside any exclusive lock, within ``PHOENIX_KIT_LOCK_TIMEOUT``."""
        began = time.monotonic()
        if isinstance(work, IndexBuild):
            rows = self.db.fetchall(INVALID_INDEX_QUERY, {"prefix": self.prefix, "name": work.name})
            if rows:  # a build that was interrupted left it invalid
                self._alone(form, f"DROP INDEX CONCURRENTLY IF EXISTS {quote_ident(self.prefix)}.{quote_ident(work.name)}")
            self._alone(form, work.sql)
            done = f"building index {work.name} concurrently..."
        elif isinstance(work, Validation):
            try:  # SHARE UPDATE EXCLUSIVE: application reads and writes never queue behind its wait
                self._in_short_transaction(work.sql, None, self.lock_timeout)
            except _Busy:
                raise self._blocked_error(form, "validating its constraint") from None
            done = "validating its constraint..."
        else:
            batches = self._batches(form, work)
            done = f"{work.what}... " + (f"{batches} batch{'' if batches == 1 else 'es'}," if batches else "nothing left,")
        self.say(f"    {done} {time.monotonic() - began:.2f}s\n")

    def _batches(self, form: OnlineForm, work: Batches) -> int:
        """Run ``work`` until it returns NULL; a batch that waits too long for a lock is rolled back and retried."""
        cursor: int | None = MIN_BIGINT if work.cursor else None
        count = 0
        retry = Retry(time.monotonic() + self.lock_timeout)
        while True:
            params = {"from": cursor} if work.cursor else None
            try:  # under the prefix's lock too: two migrators never run batches at once
                result = self._in_short_transaction(work.sql("%(from)s"), params, self.ddl_lock_timeout, locked=True)
            except _Busy:
                delay = retry.next_delay()
                if delay is None:
                    raise self._blocked_error(form, f"{work.what} (batches of a few thousand rows)") from None
                time.sleep(delay)
                continue
            retry = Retry(time.monotonic() + self.lock_timeout)  # progress: the bound starts again
            if result is None:
                return count
            count += 1
            if not work.cursor and result < work.full:
                return count
            if work.cursor:
                if result >= MAX_BIGINT:
                    return count
                cursor = result + 1

    def _in_short_transaction(self, sql: str, params: Params, timeout: float, *, locked: bool = False) -> Any:
        """``sql`` in a transaction of its own (``locked``: holding the prefix's lock), its lock waits
        bounded by ``timeout``; its one value."""
        prelude = [PIN_SEARCH_PATH, set_lock_timeout(timeout_setting(timeout)), *([acquire_statement(self.prefix)] if locked else [])]
        try:
            with self.db.atomic():
                self.db.fetchall(";\n".join(prelude))
                rows = self.db.fetchall(sql, params)
        except Exception as exc:
            error = database_error(exc)
            if error is not None and error.sqlstate in ("55P03", "40P01"):  # lock_not_available, deadlock
                raise _Busy() from exc
            raise
        return rows[0][0] if rows else None

    def _alone(self, form: OnlineForm, sql: str) -> None:
        try:
            self.db.run_alone(sql, self.lock_timeout)
        except WaitBoundExceeded as exc:
            raise self._blocked_error(form, "building its index concurrently", snapshots=True) from exc

    def _blocked_error(self, form: OnlineForm, doing: str, *, snapshots: bool = False) -> TablesLockedError:
        """``snapshots``: an index build, which also waits out every older transaction of the database."""
        step = form.step
        blockers = read_blockers(self.db, self.prefix, [form.table])
        if snapshots:
            blockers += [holder for holder in read_snapshot_holders(self.db) if holder.pid not in {b.pid for b in blockers}]
        return TablesLockedError(
            f"phoenix_kit {step.version.label} up (online) could not finish {doing} on prefix {self.prefix!r} "
            f"within {self.lock_timeout:g}s: it waits for other transactions, never holding a lock that "
            f"application queries queue behind. Blocking: {describe_all(blockers)}. The prefix stays at version "
            f"{step.source} with {step.version.label}'s online form started: run again to resume it "
            f"(a down undoes it); raise PHOENIX_KIT_LOCK_TIMEOUT to wait longer.",
            blockers[0].pid if blockers else None,
            blockers,
        )
