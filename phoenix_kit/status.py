"""Read-only status of installs: one prefix, or every install in a database.

Framework-free like the core (``using`` is a Django alias or a psycopg
connection). Unlike ``up``/``down`` it never raises for an unreadable or
too-new marker: reporting those is its job.
"""

from __future__ import annotations

from dataclasses import dataclass

from .db import Database, connect
from .errors import MarkerError
from .marker import OUR_TABLES, VERSION_TABLE_JOIN, PrefixState, relations_array
from .trust import ACTING, foreign_install_error, untrusted_owner
from .online import started_in
from .plan import Step, latest_version, plan

# The columns every listing reads for a schema ``n``, its version table ``c``
# and marker ``d``: enough to report a marker, check it against the tables it
# claims and see who owns the install, in one query whatever the number of installs.
_COLUMNS = f"""d.description, {relations_array("n")}, {untrusted_owner("n")}, {started_in("n")}"""

# Every schema holding a ``phoenix_kit`` version table. Temporary schemas
# (any session can create a table named phoenix_kit there) are never installs.
INSTALLS_QUERY = f"""{ACTING}
SELECT n.nspname, true, true, {_COLUMNS}
FROM pg_catalog.pg_namespace AS n
{VERSION_TABLE_JOIN}
WHERE c.oid IS NOT NULL
  AND NOT pg_catalog.pg_is_other_temp_schema(n.oid) AND n.oid OPERATOR(pg_catalog.<>) pg_catalog.pg_my_temp_schema()
ORDER BY n.nspname
"""

# The same for the named prefixes, installed or not, in the order given.
NAMED_QUERY = f"""{ACTING}
SELECT wanted.nspname, n.oid IS NOT NULL, c.oid IS NOT NULL, {_COLUMNS}
FROM pg_catalog.unnest(%(prefixes)s::pg_catalog.name[]) WITH ORDINALITY AS wanted(nspname, position)
LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname OPERATOR(pg_catalog.=) wanted.nspname
{VERSION_TABLE_JOIN}
ORDER BY wanted.position
"""


# Without the schemas' relations: listing them costs a scan of pg_class per schema
# (no index leads with relnamespace), which grows with the square of the installs.
_WITHOUT_RELATIONS = {
    query: query.replace(relations_array("n"), "NULL::pg_catalog.name[]") for query in (INSTALLS_QUERY, NAMED_QUERY)
}


def states(db: Database, prefixes: list[str] | None, *, relations: bool = True) -> list[PrefixState]:
    """The catalog facts of ``prefixes`` (None: every install), in one query; ``relations``: with their tables and indexes."""
    tables = sorted(OUR_TABLES)
    query = INSTALLS_QUERY if prefixes is None else NAMED_QUERY
    query = query if relations else _WITHOUT_RELATIONS[query]
    if prefixes is None:
        rows = db.fetchall(query, {"tables": tables})
    else:
        rows = db.fetchall(query, {"tables": tables, "prefixes": prefixes})
    return [
        PrefixState(prefix, schema, table, comment, frozenset(listed or ()), owner, bool(started))
        for prefix, schema, table, comment, listed, owner, started in rows
    ]


@dataclass(frozen=True)
class Status:
    """What one prefix's marker says, and what would bring it to the latest version."""

    prefix: str
    version: int | None  # None: the marker cannot be read
    problem: str | None  # why the marker cannot be used, if it cannot
    latest: int
    schema_exists: bool = True
    online_started: bool = False  # a crash interrupted the online form of the version after ``version``

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
        started = f"; {pending[0].version.label}'s online step was interrupted: the next up resumes it, a down undoes it"
        return f"version {self.version}, {len(pending)} pending ({span}){started if self.online_started else ''}"


def from_state(state: PrefixState) -> Status:
    """What ``state`` says; a marker its catalog contradicts, or a foreign owner, is a problem."""
    latest, exists = latest_version(), state.schema_exists
    try:
        version = state.version
    except MarkerError as exc:
        return Status(state.prefix, None, str(exc), latest, exists)
    if state.untrusted_owner is not None:
        return Status(state.prefix, version, str(foreign_install_error(state.prefix, state.untrusted_owner)), latest, exists)
    try:
        state.version_for_change()
        if state.relations is not None:
            state.check_catalog(set(state.relations))
    except MarkerError as exc:
        return Status(state.prefix, version, str(exc), latest, exists)
    return Status(state.prefix, version, None, latest, exists, state.online_started)


def prefix_status(prefix: str, *, using: object = "default") -> Status:
    """The status of one (validated) prefix, its marker checked against its tables."""
    (state,) = states(connect(using), [prefix])
    return from_state(state)


def installed(*, using: object = "default") -> list[Status]:
    """The status of every install in the database, by schema name."""
    return [from_state(state) for state in states(connect(using), None)]


def named(prefixes: list[str], *, using: object = "default") -> list[Status]:
    """The status of each of ``prefixes`` (validated), installed or not, in one query."""
    return [from_state(state) for state in states(connect(using), prefixes)]
