"""What the benchmarks share: server and scratch database, fresh prefix names,
the exported-SQL floor, timing, medians and paired ratios, query counting,
child processes with their peak RSS, the load average, and table printing.

Hygiene (see docs/benchmarks.md): every benchmark creates ONE scratch
database, uses a never-reused prefix for every run, and drops the scratch
database only at the very end. Dropping databases or many tables between runs
makes DDL markedly slower for minutes while the disk reclaims space.
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


# ---------------------------------------------------------------- the run


@dataclass(frozen=True)
class Option:
    """A benchmark's own ``--name`` option: an int, or a comma list of ints; smaller with ``--quick``."""

    default: int | list[int]
    quick: int | list[int]
    help: str

    def parse(self, text: str) -> int | list[int]:
        return [int(part) for part in text.split(",")] if isinstance(self.default, list) else int(text)


class Bench:
    """One benchmark invocation: arguments, server, scratch databases, header and footer.

    Use as ``with Bench("name", __doc__, pairs=Option(30, 5, "...")) as bench:``,
    then ``bench.option("pairs")``.
    """

    def __init__(self, name: str, description: str | None, **options: Option) -> None:
        parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument(
            "--database-url",
            default=os.environ.get("DATABASE_URL"),
            help="server to use (default: $DATABASE_URL, else an embedded PostgreSQL in a temporary directory)",
        )
        parser.add_argument("--quick", action="store_true", help="a smoke run: smaller sizes, fewer repetitions")
        for key, option in options.items():
            shown = lambda v: ",".join(map(str, v)) if isinstance(v, list) else v  # noqa: E731
            parser.add_argument(
                f"--{key}", type=option.parse, default=None,
                help=f"{option.help} (default {shown(option.default)}, --quick {shown(option.quick)})",
            )
        self.args = parser.parse_args()
        self.quick: bool = self.args.quick
        self._options = options
        self.name = name
        self._stack = ExitStack()
        self._server_url = ""
        self._databases: list[str] = []
        self.started = 0.0

    def __enter__(self) -> Bench:
        self.started = time.perf_counter()
        self._server_url = self.args.database_url or _embedded_server()
        self._stack.callback(self._drop_databases)
        self._print_header()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        print(f"\nload average at end: {load()}; wall time {time.perf_counter() - self.started:.0f} s")

    def option(self, key: str) -> Any:
        given = getattr(self.args, key)
        if given is not None:
            return given
        return self._options[key].quick if self.quick else self._options[key].default

    def database(self, label: str) -> str:
        """A new scratch database (dropped at the very end of the run); returns its URL."""
        name = f"pkbench_{self.name}_{label}_{os.getpid()}"
        with admin_connection(self._server_url) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self._databases.append(name)
        return with_dbname(self._server_url, name)

    def _drop_databases(self) -> None:
        with admin_connection(self._server_url) as admin:
            for name in self._databases:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _print_header(self) -> None:
        with admin_connection(self._server_url) as admin:
            version = admin.execute("SHOW server_version").fetchone()[0]
            settings = [
                (name, admin.execute(f"SHOW {name}").fetchone()[0])
                for name in ("fsync", "synchronous_commit", "shared_buffers", "max_wal_size")
            ]
        where = "embedded (temporary)" if not self.args.database_url else _redact(self.args.database_url)
        print(f"# bench/{self.name}.py{' --quick' if self.quick else ''}")
        print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; code: {code_version()}")
        print(f"machine: {os.cpu_count()} CPUs, {memory_gib():.1f} GiB RAM, Python {platform.python_version()}, "
              f"psycopg {psycopg.__version__}")
        print(f"PostgreSQL {version} ({where}); " + ", ".join(f"{n}={s}" for n, s in settings))
        start = load()
        print(f"load average at start: {start}")
        if os.getloadavg()[0] > 0.75 * (os.cpu_count() or 1):
            print("WARNING: the machine is busy (1-minute load above 0.75 per CPU): prefer re-running later.")


def _embedded_server() -> str:
    from phoenix_kit import embedded

    parent = Path(tempfile.mkdtemp(prefix="phoenix_kit_bench_"))
    # Registered first, so it runs after the server's own exit handler has deleted pgdata.
    atexit.register(lambda: parent.rmdir() if parent.exists() and not any(parent.iterdir()) else None)
    return embedded.start(parent / "pgdata", keep=False)


def with_dbname(url: str, dbname: str) -> str:
    """``url`` (a libpq URI) pointing at database ``dbname`` instead."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"--database-url must be a postgres:// URI, got {_redact(url)!r}")
    return parts._replace(path=f"/{dbname}").geturl()


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


@contextmanager
def admin_connection(url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A bare autocommit psycopg connection (what the core API gets as ``using``)."""
    return psycopg.connect(url, autocommit=True, **kwargs)


def code_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "phoenix_kit")
    return f"{commit}{' + uncommitted changes in phoenix_kit/' if dirty else ''}"


def memory_gib() -> float:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return 0.0


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


class Names:
    """Never-reused prefix names: ``<tag><n>``, at most 20 bytes (the prefix rule)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.count = 0

    def next(self) -> str:
        self.count += 1
        name = f"{self.tag}{self.count:05d}"
        assert len(name) <= 20, name
        return name

    def take(self, n: int) -> list[str]:
        return [self.next() for _ in range(n)]


# ---------------------------------------------------------------- the floor


def sql(from_version: int, to_version: int, prefix: str) -> str:
    """``phoenix_kit.sql()``: the exported script, one ``BEGIN;`` ... ``COMMIT;`` block per step."""
    from phoenix_kit import sql as export

    return export(from_version, to_version, prefix=prefix)


def server_script(from_version: int, to_version: int, prefix: str) -> str:
    """The exported script without its two psql guards (``\\set ON_ERROR_STOP on`` and
    the refusal to run inside a transaction): what the server runs, one
    ``BEGIN ISOLATION LEVEL READ COMMITTED;`` … ``COMMIT;`` block per step."""
    from phoenix_kit.script import REFUSE_OUTER_TRANSACTION

    script = sql(from_version, to_version, prefix).replace(f"{REFUSE_OUTER_TRANSACTION};\n", "", 1)
    return "\n".join(line for line in script.split("\n") if not line.startswith("\\"))


def floor_script(from_version: int, to_version: int, prefix: str) -> str:
    """The exported SQL for the move as ONE transaction.

    The floor removes the per-step ``BEGIN …;``/``COMMIT;`` lines of
    :func:`server_script` and wraps the whole script in a single ``BEGIN;`` …
    ``COMMIT;``; everything else (search_path, advisory locks, marker checks,
    marker writes) stays. It is sent as one simple-query message: one round trip.
    """
    lines = server_script(from_version, to_version, prefix).split("\n")
    kept = [line for line in lines if line not in ("BEGIN ISOLATION LEVEL READ COMMITTED;", "COMMIT;")]
    steps = abs(to_version - from_version)
    assert len(lines) - len(kept) == 2 * steps, "the export's layout changed: fix floor_script"
    return "BEGIN;\n" + "\n".join(kept) + "\nCOMMIT;\n"


def run_floor(conn: psycopg.Connection[Any], script: str) -> None:
    conn.execute(script.encode())  # bytes: psycopg sends it as is, no parameter parsing


# ---------------------------------------------------------------- timing and statistics


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run every variant once per round, the order rotating each round (A B C, B C A, …).

    Each callable returns its own measurement (seconds). Results are in round order,
    so index i of two variants are a pair measured next to each other.
    """
    names = list(variants)
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            results[name].append(variants[name]())
    return results


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Paired ratios a[i] / b[i]."""
    return [x / y for x, y in zip(a, b, strict=True)]


def ratio_summary(values: Sequence[float]) -> str:
    """``median (min–max)`` of ratios."""
    if len(values) == 1:
        return f"{values[0]:.2f}x"
    return f"{median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}" if seconds < 0.1 else f"{seconds * 1000:.0f}"


def verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> None:
    """Print a Markdown table (pasted as is into docs/benchmarks.md)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if title:
        print(f"\n{title}\n")
    else:
        print()
    line = lambda row: "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    sys.stdout.flush()


# ---------------------------------------------------------------- what a connection sends


class RecordingCursor(psycopg.Cursor):  # type: ignore[type-arg]
    """Records each statement executed through it, with its duration, on ``connection.log``."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return super().execute(query, params, **kwargs)
        finally:
            log = getattr(self.connection, "log", None)
            if log is not None:
                text = query.decode() if isinstance(query, bytes) else str(query)
                log.append((text, start, time.perf_counter()))


def recording_connection(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A bare autocommit connection whose ``log`` (list or None) collects (sql, start, end)."""
    conn = connect(url, cursor_factory=RecordingCursor, **kwargs)
    conn.log = None  # type: ignore[attr-defined]
    return conn


def protocol_queries(conn: psycopg.Connection[Any], fn: Callable[[], object]) -> list[str]:
    """The queries ``fn`` sends on ``conn``, read from libpq's protocol trace.

    One entry per client round trip: a simple ``Query`` message or an extended
    query ending in ``Sync`` (so BEGIN/COMMIT sent by psycopg itself count too).
    """
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            fn()
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        queries, kinds = [], []
        for line in trace:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3 or fields[0] != "F":
                continue  # a server message, or a continuation line of a multi-line statement
            kind = fields[2].strip()
            if kind == "Query":  # simple protocol: the text is on this line (its first line)
                queries.append(f"Query {fields[3].strip()[:40]}")
            elif kind == "Sync":
                queries.append("+".join(kinds + ["Sync"]))
                kinds = []
            else:
                kinds.append(kind)
        return queries


# ---------------------------------------------------------------- child processes


@dataclass(frozen=True)
class ChildRun:
    seconds: float  # wall time, process start included
    max_rss_mib: float  # the child's own peak RSS (getrusage of that child, via wait4)
    returncode: int
    output: str


def run_child(argv: Sequence[str], env: dict[str, str]) -> ChildRun:
    """Run ``argv`` to completion; its time from spawn to exit and its peak RSS."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return ChildRun(seconds, usage.ru_maxrss / 1024, process.returncode, out.read())


def django_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a child running Django with ``bench/bench_settings.py`` on ``database_url``."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


# ---------------------------------------------------------------- online forms


@dataclass(frozen=True)
class Phase:
    """One phase of an online step, from the statements a recording connection logged.

    ``calls``: the statements that made it (a batch each; the last batch of a
    batched phase is the one finding nothing left); ``durations``: each one's
    time on the client, statement only (its transaction's BEGIN and COMMIT,
    sent by psycopg itself, are not in the log).
    """

    name: str
    start: float
    end: float
    calls: int
    durations: tuple[float, ...]


def online_phases(version: int, prefix: str, log: Sequence[tuple[str, float, float]], start: float, end: float) -> list[Phase] | None:
    """Split one ``up`` of ``version`` (from ``start`` to ``end``) into its online form's phases.

    ``log``: the (sql, start, end) a :func:`recording_connection` collected
    during that call. The phases: ``first`` (the short locked transaction, up
    to the first statement of the work), each piece of work in order (the
    statements equal to its SQL), and ``last`` (the locked transaction with
    the marker: from the end of the work to ``end``). None when the step did
    not run online (no statement of its work was sent).
    """
    from phoenix_kit.online import Batches, IndexBuild, online_form

    form = online_form(version, prefix)
    if form is None:
        return None
    names = []
    for work in form.work:
        if isinstance(work, Batches):
            label = work.what
        elif isinstance(work, IndexBuild):
            label = f"CREATE INDEX CONCURRENTLY {work.name}"
        else:
            label = "VALIDATE CONSTRAINT"
        names.append(label if label not in names else f"{label} (again)")
    texts = [work.sql("%(from)s") if isinstance(work, Batches) else work.sql for work in form.work]  # as the runner sends them
    spans: list[list[tuple[float, float]]] = [[] for _ in form.work]
    index = 0
    for sql_text, began, ended in log:
        if began < start or ended > end:
            continue
        for i in range(index, len(form.work)):
            if sql_text == texts[i]:
                index = i
                spans[i].append((began, ended))
                break
    if not any(spans):
        return None
    phases = []
    cursor = start
    for name, span in zip(names, spans):
        if not span:
            continue
        if not phases:
            phases.append(Phase("first: locked transaction", start, span[0][0], 1, ()))
        phases.append(Phase(name, span[0][0], span[-1][1], len(span), tuple(e - b for b, e in span)))
        cursor = span[-1][1]
    phases.append(Phase("last: locked transaction, with the marker", cursor, end, 1, ()))
    return phases


def username_differences(conn: Any, a: str, b: str) -> tuple[int, int, int]:
    """(users whose usernames differ, rows, distinct usernames) between prefixes ``a`` and ``b``, matched by id."""
    row = conn.execute(
        f'SELECT count(*) FILTER (WHERE x."username" IS DISTINCT FROM y."username"), count(*), '
        f'count(DISTINCT x."username") FROM "{a}"."phoenix_kit_users" AS x '
        f'FULL JOIN "{b}"."phoenix_kit_users" AS y ON x."id" = y."id"'
    ).fetchone()
    return tuple(row)
