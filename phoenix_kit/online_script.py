"""The exported script with the online forms (``sql(..., online=True)``), for psql.

The same pieces as the live runner (``online``): each online step's first
transaction (skipped once it has committed), its work outside any exclusive
lock, and its final transaction with the marker; other steps as in
:func:`phoenix_kit.script.export`. It needs a tool that runs statements outside
a transaction (``CREATE INDEX CONCURRENTLY``) and a DO block's ``COMMIT``
(PostgreSQL 11 or later): psql does. Run again after a failure, it resumes:
every piece can be repeated.
"""

from __future__ import annotations

from .blocking import FIRST_DELAY, MAX_DELAY
from .lock import lock_key, timeout_setting
from .marker import write_marker
from .online import Batches, IndexBuild, OnlineForm, Validation, Work, invalid_index, online_form
from .plan import Step, plan
from .script import PIN_SEARCH_PATH, header, locked_transaction, step_body
from .sqltext import SAFE_SEARCH_PATH, do_block, quote_ident, quote_literal

Timeouts = tuple[float, float]


def _first(form: OnlineForm) -> str:
    """The first transaction's statements, run only if it has not committed before."""
    statements = "\n    ".join(f"EXECUTE {quote_literal(statement)};" for statement in form.first)
    return do_block(f"""
BEGIN
  IF NOT ({form.started}) THEN
    {statements}
  END IF;
END""")


def _batches(work: Batches, prefix: str, timeouts: Timeouts) -> str:
    """A DO block committing after each batch; a batch that waits too long for a lock is retried after a pause."""
    bound, attempt = timeouts
    caught_up = "v_last IS NULL" if work.cursor else f"v_last IS NULL OR v_last < {work.full}"
    advance = "v_first := v_last + 1;" if work.cursor else ""
    failure = f"phoenix_kit: {work.what} waited more than {bound:g}s for locks; run the script again to resume"
    return do_block(f"""
DECLARE
  v_first bigint := -9223372036854775808;
  v_last bigint;
  v_busy boolean;
  v_pause double precision := {FIRST_DELAY!r};
  v_deadline timestamptz := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => {bound!r});
BEGIN
  LOOP
    PERFORM pg_catalog.set_config('search_path', {quote_literal(SAFE_SEARCH_PATH)}, true);
    PERFORM pg_catalog.set_config('lock_timeout', {quote_literal(timeout_setting(attempt))}, true);
    v_busy := false;
    BEGIN
      PERFORM pg_catalog.pg_advisory_xact_lock({lock_key(prefix)});
      {work.sql("v_first")} INTO v_last;
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
      v_busy := true;
    END;
    COMMIT;
    IF v_busy THEN
      IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) v_deadline THEN
        RAISE EXCEPTION USING ERRCODE = 'lock_not_available', MESSAGE = {quote_literal(failure)};
      END IF;
      PERFORM pg_catalog.pg_sleep(v_pause OPERATOR(pg_catalog.*) (0.5::double precision OPERATOR(pg_catalog.+) pg_catalog.random()));
      v_pause := least(v_pause OPERATOR(pg_catalog.*) 2, {MAX_DELAY!r});
      CONTINUE;
    END IF;
    v_deadline := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => {bound!r});
    EXIT WHEN {caught_up};
    {advance}
  END LOOP;
END""")


def _work(work: Work, prefix: str, timeouts: Timeouts) -> list[str]:
    bound = quote_literal(timeout_setting(timeouts[0]))
    if isinstance(work, IndexBuild):
        # A build that was interrupted left the index invalid: psql runs the DROP this query writes, if any.
        drop = quote_literal(f"DROP INDEX CONCURRENTLY {quote_ident(prefix)}.{quote_ident(work.name)}")
        schema, name = (f"{quote_literal(value)}::pg_catalog.name" for value in (prefix, work.name))
        invalid = f"SELECT {drop} {invalid_index(schema, name)}"
        return [f"{invalid} \\gexec", f"SET lock_timeout = {bound};", f"{work.sql};", "RESET lock_timeout;"]
    if isinstance(work, Validation):
        return ["BEGIN;", f"{PIN_SEARCH_PATH};", f"SET LOCAL lock_timeout = {bound};", f"{work.sql};", "COMMIT;"]
    return [f"{_batches(work, prefix, timeouts)};"]


def _online_step(step: Step, form: OnlineForm, prefix: str, timeouts: Timeouts) -> list[str]:
    lines = [f"-- {step.describe()}, online: first transaction (skipped once done)"]
    lines += locked_transaction(step, prefix, [_first(form)], timeouts)
    lines += ["-- work outside the exclusive lock; repeatable", f"SET search_path = {SAFE_SEARCH_PATH};"]
    for work in form.work:
        lines += _work(work, prefix, timeouts)
    lines += ["RESET search_path;", "-- the final transaction, with the marker"]
    return lines + locked_transaction(step, prefix, [*form.last, write_marker(prefix, step.target)], timeouts)


def export_online(from_version: int, to_version: int, prefix: str, create_schema: bool, timeouts: Timeouts) -> str:
    """Like :func:`phoenix_kit.script.export`, with the online form of each up step that has one."""
    lines = header(
        from_version, to_version, prefix,
        "Steps that scan a table run online: work outside the exclusive lock, resumable by running the script again.",
    )  # fmt: skip
    for step in plan(from_version, to_version):
        form = online_form(step.version.number, prefix) if step.direction == "up" else None
        lines.append("")
        if form is None:
            lines += [f"-- {step.describe()}", *locked_transaction(step, prefix, step_body(step, prefix, create_schema), timeouts)]
        else:
            lines += _online_step(step, form, prefix, timeouts)
    return "\n".join(lines) + "\n"
