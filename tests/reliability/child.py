"""A migrator in a process of its own, driven by the reliability tests (see ``children.py``).

``python -m tests.reliability.child '<json>'`` connects, prints ``@ready <backend pid>``,
waits for a line on stdin (the start barrier), runs one action and prints
``@done <json>``. Progress written by the core arrives as ``@log <json string>``
lines, one per write, so the parent can act at a chosen point of the run.

Actions: ``up``, ``down``, ``ensure_current`` (the core on a bare psycopg
connection), ``migrate`` (Django's ``migrate phoenix_kit``, in-process, with
``DATABASE_URL`` pointing at the database) and ``recorder`` (Django creates its
``django_migrations`` table, nothing else).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any


class _LineLog:
    """The core's progress writer: every write becomes one ``@log`` line at once."""

    def write(self, text: str) -> int:
        sys.stdout.write(f"@log {json.dumps(text)}\n")
        sys.stdout.flush()
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _prepare(spec: dict[str, Any]) -> tuple[int, Any]:
    """Connect before the barrier; returns (backend pid, the action to run)."""
    if spec["action"] in ("migrate", "recorder"):
        import django
        from django.core.management import call_command
        from django.db import connection
        from django.db.migrations.recorder import MigrationRecorder

        django.setup()
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        if spec["action"] == "recorder":
            return pid, lambda: MigrationRecorder(connection).ensure_schema()
        return pid, lambda: call_command("migrate", "phoenix_kit", verbosity=0)

    import psycopg

    import phoenix_kit as pk

    conn = psycopg.connect(spec["conninfo"], autocommit=True)
    options: dict[str, Any] = {"using": conn, "prefix": spec.get("prefix")}
    if spec["action"] in ("up", "down"):
        options["log"] = _LineLog()
        if spec.get("lock_timeout") is not None:
            options["lock_timeout"] = spec["lock_timeout"]
    actions: dict[str, Callable[..., int]] = {"up": pk.up, "down": pk.down, "ensure_current": pk.ensure_current}
    action = actions[spec["action"]]
    return conn.info.backend_pid, lambda: action(**options)


def main() -> None:
    spec = json.loads(sys.argv[1])
    pid, action = _prepare(spec)
    print(f"@ready {pid}", flush=True)
    sys.stdin.readline()
    start = time.monotonic()  # CLOCK_MONOTONIC: comparable between processes on Linux
    outcome: dict[str, Any]
    try:
        outcome = {"ok": True, "result": action()}
    except Exception as exc:  # reported to the parent, which decides
        outcome = {"ok": False, "error": type(exc).__name__, "message": str(exc)}
    outcome.update(start=start, end=time.monotonic())
    print(f"@done {json.dumps(outcome)}", flush=True)


if __name__ == "__main__":
    main()
