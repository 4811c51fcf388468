"""The SQL of a step, shared by live runs, ``sqlmigrate`` and offline export.

A step's statements are its version's ``up``/``down`` for the prefix, the
schema handling that belongs to the runner (create or assert the schema
before V01, drop a schema we created after V01's down) and the new marker.
``export`` wraps each step in a transaction that first takes the prefix's
lock and asserts the marker, so a script run against the wrong database state
fails before it changes anything.
"""

from __future__ import annotations

import re
from functools import cache

from .blocking import FIRST_DELAY, MAX_DELAY, held_locks
from .lock import EXTENSION_LOCK_KEY, acquire_statement, timeout_setting
from .marker import CREATED_SCHEMA_COMMENT, write_marker
from .plan import Direction, Step, plan
from .sqltext import SAFE_SEARCH_PATH, do_block, quote_ident, quote_literal, set_local
from .versions import get

PIN_SEARCH_PATH = set_local("search_path", SAFE_SEARCH_PATH)

def _schema_exists(prefix: str) -> str:
    return f"EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = {quote_literal(prefix)})"


def ensure_schema(prefix: str, create_schema: bool) -> str:
    """Create the prefix's schema if missing (checked first, so no CREATE privilege is needed when it exists)."""
    schema = quote_ident(prefix)
    if create_schema:
        return do_block(
            f"""
BEGIN
  IF NOT {_schema_exists(prefix)} THEN
    CREATE SCHEMA {schema};
    COMMENT ON SCHEMA {schema} IS {quote_literal(CREATED_SCHEMA_COMMENT)};
  END IF;
END"""
        )
    message = f"schema {schema} does not exist and create_schema is false: create it first, or allow phoenix_kit to create it"
    return do_block(
        f"""
BEGIN
  IF NOT {_schema_exists(prefix)} THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_schema_name', MESSAGE = {quote_literal(message)};
  END IF;
END"""
    )


def wait_for_extension_creators() -> str:
    """Serialise the first installs of a database on the creation of citext (V01 creates it when absent).

    Without this, installs into two prefixes of a fresh database both find citext
    missing and one fails on pg_extension's unique index. Once citext exists this
    takes no lock, so different prefixes never wait on each other.
    """
    return do_block(
        f"""
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citext') THEN
    PERFORM pg_catalog.pg_advisory_xact_lock({EXTENSION_LOCK_KEY});
  END IF;
END"""
    )


def drop_created_schema(prefix: str) -> str:
    """Drop the prefix's schema if it is still exactly as phoenix_kit created it, and empty (never CASCADE).

    Exactly as created: it carries phoenix_kit's comment, is owned by the role
    running the down (``CURRENT_USER``), has no grants (``nspacl`` NULL), no
    default privileges and is in no publication. Anything a DBA added keeps it,
    and so does anything still in it; ``phoenix_kit.losses.kept_schema`` says why.
    """
    schema = quote_ident(prefix)
    return do_block(
        f"""
BEGIN
  IF EXISTS (
    SELECT FROM pg_catalog.pg_namespace AS n
      JOIN pg_catalog.pg_description AS d
        ON d.objoid OPERATOR(pg_catalog.=) n.oid
       AND d.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass::pg_catalog.oid
       AND d.objsubid OPERATOR(pg_catalog.=) 0
     WHERE n.nspname OPERATOR(pg_catalog.=) {quote_literal(prefix)}::pg_catalog.name
       AND d.description OPERATOR(pg_catalog.=) {quote_literal(CREATED_SCHEMA_COMMENT)}::pg_catalog.text
       AND n.nspowner OPERATOR(pg_catalog.=)
           (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
       AND n.nspacl IS NULL
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_default_acl AS a
                        WHERE a.defaclnamespace OPERATOR(pg_catalog.=) n.oid)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_publication_namespace AS p
                        WHERE p.pnnspid OPERATOR(pg_catalog.=) n.oid)
  ) THEN
    DROP SCHEMA {schema};
  END IF;
EXCEPTION WHEN dependent_objects_still_exist THEN
  NULL;  -- something else lives there now: keep it
END"""
    )


_TABLE = re.compile(r'"s"\."(phoenix_kit[a-z0-9_]*)"')
_FOREIGN_KEY_TARGET = re.compile(r'REFERENCES "s"\."(phoenix_kit[a-z0-9_]*)"')
_CREATED_TABLE = re.compile(r'CREATE (?:UNLOGGED )?TABLE "s"\."(phoenix_kit[a-z0-9_]*)"')


@cache
def table_locks(number: int, direction: Direction) -> tuple[tuple[str, str], ...]:
    """The existing tables a step touches, each with the lock it needs, in one fixed order (by name).

    Taken before the step reads or writes a row, so no concurrent write can
    fall between what it reads and the shape it then changes (V02 deletes
    inactive assignments, then drops the column saying so). A table only
    referenced by a new foreign key needs SHARE ROW EXCLUSIVE; every other
    one is changed, so ACCESS EXCLUSIVE, the lock its DDL takes anyway.
    """
    version = get(number)
    statements = (version.up if direction == "up" else version.down)('"s"')
    text = "\n".join(statements)
    created = set(_CREATED_TABLE.findall(text))
    referenced = set(_TABLE.findall(text)) - created
    by_key_only = set(_FOREIGN_KEY_TARGET.findall(text)) - set(_TABLE.findall(_FOREIGN_KEY_TARGET.sub("", text)))
    return tuple(
        (table, "SHARE ROW EXCLUSIVE" if table in by_key_only else "ACCESS EXCLUSIVE") for table in sorted(referenced)
    )


def lock_tables(step: Step, prefix: str) -> list[str]:
    schema = quote_ident(prefix)
    return [
        f"LOCK TABLE {schema}.{quote_ident(table)} IN {mode} MODE"
        for table, mode in table_locks(step.version.number, step.direction)
    ]


def retrying_lock_tables(step: Step, prefix: str, bound: float, attempt: float) -> list[str]:
    """For the exported script: the step's table locks, each attempt waiting at most ``attempt``
    seconds, retried with jittered pauses until ``bound`` seconds have passed (a script cannot
    roll its transaction back and start again, so the attempts are subtransactions).

    Nothing but our advisory lock is held between attempts, so application queries
    are never queued behind the step for longer than one attempt. The rest of the
    step's statements wait at most one attempt too: if one cannot get a lock then,
    the step fails and changes nothing.
    """
    locks = lock_tables(step, prefix)
    if not locks:
        return []
    tables = "'{" + ",".join(table for table, _ in table_locks(step.version.number, step.direction)) + "}'::pg_catalog.name[]"
    failure = (
        f"phoenix_kit {step.version.label} {step.direction} could not lock its tables on prefix {prefix!r} "
        f"within {bound:g}s (attempts of {attempt:g}s each); the prefix is unchanged at version {step.source}"
    )
    attempt_locks = ";\n      ".join(locks)
    body = f"""
DECLARE
  deadline timestamptz := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => {bound!r});
  pause double precision := {FIRST_DELAY!r};
BEGIN
  PERFORM pg_catalog.set_config('lock_timeout', {quote_literal(timeout_setting(attempt))}, true);
  LOOP
    BEGIN
      {attempt_locks};
      RETURN;
    EXCEPTION WHEN lock_not_available THEN
      IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => pause) OPERATOR(pg_catalog.>) deadline THEN
        RAISE EXCEPTION USING ERRCODE = 'lock_not_available', MESSAGE = {quote_literal(failure)},
          HINT = 'Holding them: ' OPERATOR(pg_catalog.||) coalesce((SELECT pg_catalog.string_agg(DISTINCT 'pid ' OPERATOR(pg_catalog.||)
                   l.pid::pg_catalog.text OPERATOR(pg_catalog.||) ' (' OPERATOR(pg_catalog.||) coalesce(a.state, 'state hidden')
                   OPERATOR(pg_catalog.||) ')', ', ')
                 {held_locks(quote_literal(prefix) + "::pg_catalog.name", tables)}), 'no session any more')
            OPERATOR(pg_catalog.||) '. End their transactions, or run the script again when they are done.';
      END IF;
      PERFORM pg_catalog.pg_sleep(pause OPERATOR(pg_catalog.*) (0.5::double precision OPERATOR(pg_catalog.+) pg_catalog.random()));
      pause := least(pause OPERATOR(pg_catalog.*) 2, {MAX_DELAY!r});
    END;
  END LOOP;
END"""
    return [do_block(body)]


def step_statements(step: Step, prefix: str, create_schema: bool) -> list[str]:
    """The step's statements, first its table locks, last the new marker."""
    return [*lock_tables(step, prefix), *step_body(step, prefix, create_schema)]


def step_body(step: Step, prefix: str, create_schema: bool) -> list[str]:
    """The step's statements after its table locks: the version's, the schema's, the new marker."""
    schema = quote_ident(prefix)
    version = step.version
    if step.direction == "up":
        statements = version.up(schema)
        if version.number == 1:
            statements = [wait_for_extension_creators(), *statements]
        if version.number == 1 and prefix != "public":
            statements = [ensure_schema(prefix, create_schema), *statements]
    else:
        statements = version.down(schema)
        if step.target == 0 and prefix != "public":
            statements = [*statements, drop_created_schema(prefix)]
    if step.target > 0:
        statements = [*statements, write_marker(prefix, step.target)]
    return statements


def assert_marker(prefix: str, expected: int) -> str:
    """A DO block that fails unless the prefix's marker reads ``expected`` (0: not installed)."""
    message = f"phoenix_kit: prefix {quote_ident(prefix)} must be at version {expected} for this step, found %"
    return do_block(
        f"""
DECLARE
  found text;
BEGIN
  SELECT CASE WHEN c.oid IS NULL THEN '0'
              ELSE coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), 'no marker') END
    INTO found
    FROM (SELECT {quote_literal(prefix)}::pg_catalog.name AS nspname) AS wanted
    LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = wanted.nspname
    LEFT JOIN pg_catalog.pg_class AS c
           ON c.relnamespace = n.oid AND c.relname = 'phoenix_kit' AND c.relkind IN ('r', 'p');
  -- a number, as the live runner reads it ('015' is 15)
  IF found !~ '^[0-9]{{1,9}}$' OR found::integer <> {int(expected)} THEN
    RAISE EXCEPTION {quote_literal(message)}, found;
  END IF;
END"""
    )


# Each step commits, so the script must not run inside a transaction (psql
# --single-transaction, or a BEGIN before it): that would make it look
# all-or-nothing while its COMMITs end the outer transaction half-way. A
# statement that starts its own transaction starts it when the statement does.
REFUSE_OUTER_TRANSACTION = do_block(
    """
BEGIN
  IF pg_catalog.transaction_timestamp() OPERATOR(pg_catalog.<>) pg_catalog.statement_timestamp() THEN
    RAISE EXCEPTION USING ERRCODE = 'active_sql_transaction',
      MESSAGE = 'phoenix_kit: this script commits each step and cannot run inside a transaction',
      HINT = 'Run it with psql -f, without --single-transaction and without a BEGIN before it.';
  END IF;
END"""
)


def header(from_version: int, to_version: int, prefix: str, how: str) -> list[str]:
    """The script's first lines: what it does, how to apply it, and the refusal to run inside a transaction."""
    return [
        f"-- phoenix_kit: prefix {quote_ident(prefix)} from version {from_version} to {to_version}.",
        f"-- {how}",
        "-- Apply with: psql -f <this file>  (it stops at the first error; not with --single-transaction)",
        "\\set ON_ERROR_STOP on",
        f"{REFUSE_OUTER_TRANSACTION};",
    ]


def locked_transaction(step: Step, prefix: str, statements: list[str], timeouts: tuple[float, float]) -> list[str]:
    """One transaction of ``step``: pinned, holding the prefix's lock, the marker asserted, the tables
    locked in bounded attempts, then ``statements``."""
    lines = [
        "BEGIN ISOLATION LEVEL READ COMMITTED;",
        f"{PIN_SEARCH_PATH};",
        f"{acquire_statement(prefix)};",
        f"{assert_marker(prefix, step.source)};",
    ]
    lines += [f"{statement};" for statement in [*retrying_lock_tables(step, prefix, *timeouts), *statements]]
    return [*lines, "COMMIT;"]


def export(
    from_version: int, to_version: int, prefix: str, create_schema: bool, timeouts: tuple[float, float]
) -> str:
    """The script moving ``prefix`` from ``from_version`` to ``to_version``, for psql.

    ``timeouts``: how long a step may wait for its table locks in all, and one attempt
    (``PHOENIX_KIT_LOCK_TIMEOUT`` and ``PHOENIX_KIT_DDL_LOCK_TIMEOUT`` when generated).
    """
    lines = header(from_version, to_version, prefix, "One transaction per step (READ COMMITTED, search_path pinned); each step checks the marker first.")
    for step in plan(from_version, to_version):
        lines += ["", f"-- {step.describe()}", *locked_transaction(step, prefix, step_body(step, prefix, create_schema), timeouts)]
    return "\n".join(lines) + "\n"
