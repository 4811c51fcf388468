"""A real PgBouncer in front of the suite's server, in transaction or in session pooling mode.

Each is a ``pgbouncer`` process of this test session (its own directory, ini and
port), stopped at the end. In transaction mode its pools keep 2 server
connections per database open (``min_pool_size``), fewer than the 4 migrators
of a test, and hand them out in turn (``server_round_robin``), so consecutive
transactions of even a lone client land on different server sessions: what
breaks a client relying on session state such as server-side prepared statements. In
session mode a client keeps its server connection until it disconnects, so the
pool holds one per migrator, and the next client gets a used one (reset with
``DISCARD ALL``).

Without the binary these tests skip on a developer's machine (the README's
test command must pass with nothing but Python) and fail in CI (``CI`` set),
which must run them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.reliability.common import connect

Mode = Literal["transaction", "session"]

# Debian installs it in /usr/sbin, which an unprivileged user's PATH often lacks.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
MIGRATORS = 4  # concurrent migrators of a test
# Server connections per database and user.
POOL_SIZES: dict[Mode, int] = {"transaction": 2, "session": MIGRATORS}
_STARTUP_SECONDS = 15.0


@dataclass(frozen=True)
class Bouncer:
    mode: Mode
    port: int
    pool_size: int

    def conninfo(self, conninfo: str) -> str:
        """The database of ``conninfo`` (on the suite's server), reached through this PgBouncer."""
        return make_conninfo(conninfo, host="127.0.0.1", port=str(self.port))


def binary() -> str:
    """The pgbouncer binary; skips (fails in CI) when it is not installed."""
    found = shutil.which("pgbouncer", path=_SEARCH_PATH)
    if found is not None:
        return found
    how = "pgbouncer is not installed; install it with `apt-get install pgbouncer` (Debian/Ubuntu)"
    if os.environ.get("CI"):
        pytest.fail(f"{how}: CI must run the PgBouncer tests (.ci/run installs it).", pytrace=False)
    pytest.skip(f"{how} to run the PgBouncer tests")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ini(bouncer: Bouncer, directory: Path, server: dict[str, str], settings: dict[str, object]) -> str:
    # ``*``: every database of the server, so the tests' throw-away databases need no entry.
    # The server's host may be a Unix socket directory (the embedded server listens on no port).
    pgbouncer: dict[str, object] = {
        "listen_addr": "127.0.0.1",
        "listen_port": bouncer.port,
        "unix_socket_dir": "",
        "auth_type": "trust",
        "auth_file": directory / "users.txt",
        "pool_mode": bouncer.mode,
        "server_round_robin": 1,
        "max_client_conn": 100,
        "default_pool_size": bouncer.pool_size,
        "min_pool_size": bouncer.pool_size if bouncer.mode == "transaction" else 0,
        "reserve_pool_size": 0,
        "logfile": directory / "pgbouncer.log",
        "pidfile": directory / "pgbouncer.pid",
        **settings,
    }
    lines = [f"{name} = {value}" for name, value in pgbouncer.items()]
    database = f"* = host={server.get('host') or '127.0.0.1'} port={server.get('port') or '5432'}"
    return "\n".join(["[databases]", database, "", "[pgbouncer]", *lines, ""])


@contextmanager
def running(mode: Mode, server_conninfo: str, *, pool_size: int | None = None, **settings: object) -> Iterator[Bouncer]:
    """A PgBouncer in ``mode`` in front of the server of ``server_conninfo``, answering; stopped at the end.

    ``settings``: more of its ``[pgbouncer]`` settings (``query_timeout=1``).
    """
    server = {key: str(value) for key, value in conninfo_to_dict(server_conninfo).items()}
    directory = Path(tempfile.mkdtemp(prefix=f"phoenix_kit_pgbouncer_{mode}_"))
    try:
        bouncer = Bouncer(mode, _free_port(), pool_size or POOL_SIZES[mode])
        user = server.get("user") or pwd.getpwuid(os.getuid()).pw_name
        # trust: pgbouncer checks no client password, but still wants the user listed; it
        # logs in to the server with the password given here (if the server asks for one).
        (directory / "users.txt").write_text(f'"{user}" "{server.get("password", "")}"\n')
        (directory / "pgbouncer.ini").write_text(_ini(bouncer, directory, server, settings))
        command = [binary(), str(directory / "pgbouncer.ini")]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            runs_as = _unprivileged(server.get("host", ""))
            for path in [directory, *directory.iterdir()]:
                os.chown(path, runs_as.pw_uid, runs_as.pw_gid)
            command += ["-u", runs_as.pw_name]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_until_it_answers(process, bouncer.conninfo(server_conninfo), directory)
            yield bouncer
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _unprivileged(host: str) -> pwd.struct_passwd:
    """Whom pgbouncer runs as instead of root: the owner of the server's socket directory
    (the embedded server's is its data directory, which only that user may enter), else nobody."""
    if host.startswith("/"):
        return pwd.getpwuid(os.stat(host).st_uid)
    return pwd.getpwnam("nobody")


def _wait_until_it_answers(process: subprocess.Popen[bytes], probe: str, directory: Path) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while True:
        try:
            connect(probe, connect_timeout=2).close()
            return
        except psycopg.OperationalError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                log = directory / "pgbouncer.log"
                tail = log.read_text()[-2000:] if log.exists() else "(no log)"
                raise RuntimeError(f"pgbouncer did not start: {exc}\n{tail}") from exc
            time.sleep(0.05)
