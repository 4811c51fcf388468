"""Read-only status of installs: one prefix, or every install in a database.

Framework-free like the core (``using`` is a Django alias or a psycopg
connection). Unlike ``up``/``down`` it never raises for an unreadable or
too-new marker: reporting those is its job.
"""

from __future__ import annotations

from dataclasses import dataclass

from .db import Database, connect
from .errors import MarkerError
from .marker import PrefixState, read_state
from .plan import Step, latest_version, plan

# Every schema holding a ``phoenix_kit`` version table, with its marker: one
# catalog query whatever the number of installs.
INSTALLS_QUERY = """
SELECT n.nspname, true, true, pg_catalog.obj_description(c.oid, 'pg_class')
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relname = 'phoenix_kit' AND c.relkind IN ('r', 'p')
ORDER BY n.nspname
"""

# The same for the named prefixes, installed or not, in the order given.
NAMED_QUERY = """
SELECT wanted.nspname, n.oid IS NOT NULL, c.oid IS NOT NULL, pg_catalog.obj_description(c.oid, 'pg_class')
FROM pg_catalog.unnest(%s::pg_catalog.name[]) WITH ORDINALITY AS wanted(nspname, position)
LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = wanted.nspname
LEFT JOIN pg_catalog.pg_class AS c
       ON c.relnamespace = n.oid AND c.relname = 'phoenix_kit' AND c.relkind IN ('r', 'p')
ORDER BY wanted.position
"""


def states(db: Database, prefixes: list[str] | None) -> list[PrefixState]:
    """The catalog facts of ``prefixes`` (None: every install), in one query."""
    rows = db.fetchall(INSTALLS_QUERY) if prefixes is None else db.fetchall(NAMED_QUERY, [prefixes])
    return [PrefixState(prefix, schema, table, comment) for prefix, schema, table, comment in rows]


@dataclass(frozen=True)
class Status:
    """What one prefix's marker says, and what would bring it to the latest version."""

    prefix: str
    version: int | None  # None: the marker cannot be read
    problem: str | None  # why the marker cannot be used, if it cannot
    latest: int
    schema_exists: bool = True

    @property
    def pending(self) -> list[Step]:
        if self.problem is not None or self.version is None:
            return []
        return plan(self.version, self.latest)

    @property
    def summary(self) -> str:
        """One line: ``version 8, 8 pending (V09-V16)`` and the like."""
        if self.version is None:
            return "marker unreadable"
        if self.version > self.latest:
            return f"version {self.version}, newer than this release (latest {self.latest})"
        if self.version == 0:
            return f"not installed, {self.latest} pending"
        pending = self.pending
        if not pending:
            return f"version {self.version}, up to date"
        span = f"{pending[0].version.label}-{pending[-1].version.label}"
        return f"version {self.version}, {len(pending)} pending ({span})"


def from_state(state: PrefixState) -> Status:
    latest, exists = latest_version(), state.schema_exists
    try:
        version = state.version
    except MarkerError as exc:
        return Status(state.prefix, None, str(exc), latest, exists)
    try:
        state.version_for_change()
    except MarkerError as exc:
        return Status(state.prefix, version, str(exc), latest, exists)
    return Status(state.prefix, version, None, latest, exists)


def prefix_status(prefix: str, using: object = "default") -> Status:
    """The status of one (validated) prefix."""
    return from_state(read_state(connect(using), prefix))


def installed(using: object = "default") -> list[Status]:
    """The status of every install in the database, by schema name."""
    return [from_state(state) for state in states(connect(using), None)]


def named(prefixes: list[str], using: object = "default") -> list[Status]:
    """The status of each of ``prefixes`` (validated), installed or not, in one query."""
    return [from_state(state) for state in states(connect(using), prefixes)]
