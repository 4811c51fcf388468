"""Who is running a prefix's online form, told by the session's ``application_name``.

An online form spans many transactions (and, for CREATE INDEX CONCURRENTLY,
none), so the prefix's transaction-scoped lock cannot keep a second migrator
out of it. While a migrator runs one, its session's ``application_name`` says
so (``phoenix_kit online <prefix's lock key> <token>``), visible to every
session in ``pg_stat_activity``. The claim is taken in the transaction that
starts the form, or decides to resume it, under the prefix's lock: a migrator
that finds the form started by a live claimant waits for it (unclaimed, so
waiters never wait for each other) instead of joining in; one that finds no
claimant resumes it, a crash having interrupted it. PgBouncer re-sends a client's
``application_name`` to each server connection it lends it, so this holds
under transaction pooling too, where a session-level lock would not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from .db import Database
from .lock import lock_key

# A claimant is live while its session works, or idled within the last few
# seconds (between two batches, in a retry's back-off). Behind a transaction
# pooler a server connection keeps the last client's application_name while it
# sits idle in the pool: such a stale claim stops counting after those seconds.
# Another role's session may hide its state (NULL): counted as live, to be safe.
LIVE_IDLE_SECONDS = 5
_OTHERS = f"""SELECT pid FROM pg_catalog.pg_stat_activity
WHERE pg_catalog.starts_with(application_name, %(mark)s) AND application_name OPERATOR(pg_catalog.<>) %(name)s
  AND COALESCE(state OPERATOR(pg_catalog.<>) 'idle' OR state_change OPERATOR(pg_catalog.>)
      (pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) '{LIVE_IDLE_SECONDS} seconds'::pg_catalog.interval), true)
ORDER BY pid LIMIT 1"""


class OnlineClaim:
    def __init__(self, db: Database, prefix: str) -> None:
        self.db = db
        self.mark = f"phoenix_kit online {lock_key(prefix) & 0xFFFFFFFFFFFFFFFF:016x} "
        self.name = self.mark + uuid.uuid4().hex[:8]  # 44 bytes: application_name keeps 63

    @contextmanager
    def kept(self) -> Iterator[None]:
        """The session's ``application_name`` as it was before the block, whatever :meth:`take` did in it."""
        ((previous,),) = self.db.fetchall("SELECT pg_catalog.current_setting('application_name')")
        # Set, even unchanged, so that a transaction pooler tracks it for this client and
        # re-sends it to each server connection it lends us: that clears a stale claim a
        # client before us left on one, as soon as we use it.
        self._set(previous)
        try:
            yield
        except BaseException:
            with suppress(Exception):  # the session may be gone: the error that ended the form is the one to raise
                self._set(previous)
            raise
        self._set(previous)

    def take(self) -> None:
        """Claim the form (call it under the prefix's lock, in the transaction that starts or resumes it)."""
        self._set(self.name)

    def other(self) -> int | None:
        """The backend pid of another session running the prefix's online form, or None."""
        rows = self.db.fetchall(_OTHERS, {"mark": self.mark, "name": self.name})
        return rows[0][0] if rows else None

    def _set(self, value: str) -> None:
        self.db.fetchall("SELECT pg_catalog.set_config('application_name', %s, false)", [value])
