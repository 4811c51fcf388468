"""Migrators in separate OS processes: start them together, watch them, kill them.

Each child (``child.py``) connects first and reports its backend pid, then waits
on stdin: writing one line to every child is the start barrier, so all of them
call the core within microseconds of each other with their connections ready.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import database_url

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0  # seconds a child may take before the test gives up on it


@dataclass(frozen=True)
class Outcome:
    """What a child reported when its action returned or raised."""

    ok: bool
    result: Any = None
    error: str | None = None
    message: str = ""
    start: float = 0.0
    end: float = 0.0


@dataclass
class Child:
    process: subprocess.Popen[str]
    backend_pid: int
    log: list[str] = field(default_factory=list)

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def next_line(self) -> str | None:
        """The next protocol line (``@log`` text is also kept in ``log``); None at exit."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            return None
        if line.startswith("@log "):
            self.log.append(json.loads(line[5:]))
        return line.rstrip("\n")

    def wait_for_log(self, text: str) -> bool:
        """Read until a progress write contains ``text``; False if the child finished first."""
        while (line := self.next_line()) is not None:
            if line.startswith("@log ") and text in self.log[-1]:
                return True
            if line.startswith("@done "):
                return False
        return False

    def outcome(self) -> Outcome:
        """Wait for the child's report (it must finish within ``TIMEOUT``)."""
        assert self.process.stdout is not None
        try:
            out, err = self.process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"migrator pid {self.process.pid} did not finish within {TIMEOUT}s") from None
        for line in out.splitlines():
            if line.startswith("@log "):
                self.log.append(json.loads(line[5:]))
            elif line.startswith("@done "):
                return Outcome(**json.loads(line[6:]))
        raise AssertionError(f"migrator exited with {self.process.returncode} without a report:\n{err}")

    def kill(self) -> None:
        """``kill -9``: no clean-up of any kind runs in the child."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def spawn(action: str, conninfo: str, *, prefix: str | None = None, lock_timeout: float | None = None) -> Child:
    """Start a migrator and wait until it is connected and waiting for ``go``."""
    return _ready(_start(action, conninfo, prefix, lock_timeout))


def spawn_many(specs: Iterable[tuple[str, str, str | None]]) -> list[Child]:
    """Start several migrators ((action, conninfo, prefix) each) in parallel, all connected on return."""
    return [_ready(process) for process in [_start(action, conninfo, prefix, None) for action, conninfo, prefix in specs]]


def _start(action: str, conninfo: str, prefix: str | None, lock_timeout: float | None) -> subprocess.Popen[str]:
    spec = {"action": action, "conninfo": conninfo, "prefix": prefix, "lock_timeout": lock_timeout}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url(conninfo)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.child", json.dumps(spec)],
        cwd=ROOT, env=env, text=True, bufsize=1,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _ready(process: subprocess.Popen[str]) -> Child:
    assert process.stdout is not None
    ready = process.stdout.readline()
    if not ready.startswith("@ready "):
        _, err = process.communicate(timeout=TIMEOUT)
        raise AssertionError(f"migrator failed to start: {ready!r}\n{err}")
    return Child(process, int(ready.split()[1]))


def run_together(children: Sequence[Child]) -> list[Outcome]:
    """Release every child at once and collect their reports."""
    for child in children:
        child.go()
    return [child.outcome() for child in children]
