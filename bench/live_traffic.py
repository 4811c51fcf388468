"""live_traffic: what the application experiences while phoenix_kit moves a prefix.

Per size, two prefixes get the same data (N users, N/2 tokens, N/2 role
assignments, at V16). While each is moved 16 -> 7 -> 16, one step at a time,
application threads query it by primary key (a reader and a writer, each about
``--rate`` queries a second on users, tokens and role assignments, each on its
own autocommit connection). The first prefix is moved by ``phoenix_kit``'s
runner; the second, the baseline, by each step's exported SQL sent as one plain
transaction (what a tool applying the script would do). For each step: its wall
time, and of the application queries in flight while it ran, the longest and
p99 wait and how many waited more than 100 ms. (Unlike the issue's plan, the
0 -> 16 install is not under traffic: there is nothing to query before V01;
``fresh_install.py`` measures it.)

A step that takes its online form (PHOENIX_KIT_ONLINE, default "auto": when
the table it scans holds 1 MiB or more) is several transactions: it is shown
with "(online)", and a second table splits it into its phases, read from the
statements the runner's connection sent: the first short locked transaction,
each piece of work (V08's copy and naming batches, each CREATE INDEX
CONCURRENTLY, a VALIDATE CONSTRAINT) with its calls' median and longest time,
and the last locked transaction with the marker; with, per phase, the
application's longest and p99 wait and which query waited longest.

Held: a prefix at V07; an application transaction reads phoenix_kit_users and
stays open ``--held`` seconds; V08 starts half a second later, with the
application threads running. phoenix_kit retries its short lock attempts and
completes once the holder ends; the plain transaction waits for its lock with
every later query on the table queued behind it.
Target: no application query waits more than 250 ms behind phoenix_kit.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import benchlib as bl

import phoenix_kit
from phoenix_kit.plan import plan
from phoenix_kit.script import table_locks

TARGET_MS = 250.0
SLOW_MS = 100.0

LOAD = """
INSERT INTO {s}."phoenix_kit_users" ("email", "hashed_password", "inserted_at", "updated_at", "username")
  SELECT 'user' || i || '@example.com', 'x', now(), now(), 'user' || i FROM pg_catalog.generate_series(1, {n}) AS i;
INSERT INTO {s}."phoenix_kit_users_tokens" ("user_id", "token", "context", "inserted_at")
  SELECT i, pg_catalog.convert_to(i::text, 'UTF8'), 'session', now() FROM pg_catalog.generate_series(1, {n} / 2) AS i;
INSERT INTO {s}."phoenix_kit_user_role_assignments" ("user_id", "role_id", "assigned_at", "inserted_at")
  SELECT i, 3, now(), now() FROM pg_catalog.generate_series(1, {n} / 2) AS i;
VACUUM ANALYZE {s}."phoenix_kit_users";
"""

# What the application does, by primary key, on tables that exist from V01 to V16.
READS = (
    'SELECT "email" FROM {s}."phoenix_kit_users" WHERE "id" = %s',
    'SELECT "context" FROM {s}."phoenix_kit_users_tokens" WHERE "id" = %s',
    'SELECT "role_id" FROM {s}."phoenix_kit_user_role_assignments" WHERE "id" = %s',
)
WRITES = (
    'UPDATE {s}."phoenix_kit_users" SET "updated_at" = now() WHERE "id" = %s',
    'UPDATE {s}."phoenix_kit_users_tokens" SET "sent_to" = NULL WHERE "id" = %s',
    'UPDATE {s}."phoenix_kit_user_role_assignments" SET "assigned_at" = now() WHERE "id" = %s',
)


@dataclass
class Traffic:
    """Application threads querying one prefix; every query's start time and wait, in seconds."""

    url: str
    prefix: str
    rows: int
    rate: float
    samples: list[tuple[float, float, str]] = field(default_factory=list)  # start, wait, which query ("UPDATE users")
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Traffic:
        for queries in (READS, WRITES):
            thread = threading.Thread(target=self._run, args=[queries], daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, queries: tuple[str, ...]) -> None:
        schema = f'"{self.prefix}"'
        statements = [q.format(s=schema) for q in queries]
        chooser = random.Random(hash((self.prefix, queries)))
        with bl.connect(self.url, prepare_threshold=None, options="-c statement_timeout=60s") as conn:
            next_at = time.perf_counter()
            while not self._stop.is_set():
                next_at += 1 / self.rate
                which = chooser.randrange(len(statements))
                statement = statements[which]
                started = time.perf_counter()
                try:
                    conn.execute(statement, [chooser.randint(1, max(1, self.rows // 2))])
                except Exception as exc:  # a step changed the table under us: count it, go on
                    self.errors.append(type(exc).__name__)
                self.samples.append((started, time.perf_counter() - started, short(queries[which])))
                time.sleep(max(0.0, next_at - time.perf_counter()))

    def during(self, start: float, end: float, outside: frozenset[str] = frozenset()) -> list[float]:
        """The waits of the queries that were in flight at some point between ``start`` and ``end``
        (``outside``: only those on tables not in it)."""
        return [
            wait for began, wait, what in self.samples
            if began < end and began + wait > start and (not outside or what.split()[1] not in outside)
        ]

    def slowest(self, start: float, end: float) -> str:
        """Which query waited longest among those in flight between ``start`` and ``end``."""
        during = [(wait, what) for began, wait, what in self.samples if began < end and began + wait > start]
        return max(during)[1] if during else "-"


def short(query: str) -> str:
    """'SELECT users', 'UPDATE users_tokens', ...: the kind of an application query and its table, less phoenix_kit_."""
    table = query.split('"phoenix_kit_', 1)[1].split('"', 1)[0]
    return f"{query.split()[0]} {table}"


def summary(waits: list[float]) -> list[object]:
    """Longest and p99 wait, and how many waited more than SLOW_MS."""
    if not waits:
        return ["-", "-", 0]
    ordered = sorted(waits)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return [bl.ms(ordered[-1]), bl.ms(p99), sum(w * 1000 > SLOW_MS for w in waits)]


def verdict(what: str, waits: list[float]) -> list[object]:
    longest = max(waits, default=0.0)
    return [what, bl.ms(longest), bl.verdict(longest * 1000 <= TARGET_MS)]


def prepare(url: str, prefix: str, rows: int) -> None:
    with bl.connect(url) as conn:
        bl.run_floor(conn, bl.floor_script(0, phoenix_kit.latest_version(), prefix))
        for statement in LOAD.format(s=f'"{prefix}"', n=rows).strip().split(";\n"):
            conn.execute(statement.encode())


Window = tuple[str, float, float, "list[bl.Phase] | None"]  # step, start, end, its online phases


def move_live(url: str, prefix: str, target: int) -> list[Window]:
    """Each step of the move by phoenix_kit, one call per step: (step, start, end, online phases).

    The connection records what the runner sends (perf_counter, the clock of
    the application's samples), so an online step can be split into its phases.
    """
    windows: list[Window] = []
    with bl.recording_connection(url) as conn:
        current = phoenix_kit.migrated_version(prefix, using=conn)
        for step in plan(current, target):
            conn.log = []
            start = time.perf_counter()
            if step.direction == "up":
                phoenix_kit.up(version=step.target, prefix=prefix, using=conn, log=False)
            else:
                phoenix_kit.down(version=step.version.number, prefix=prefix, using=conn, log=False)
            end = time.perf_counter()
            phases = bl.online_phases(step.target, prefix, conn.log, start, end) if step.direction == "up" else None
            windows.append((step.describe() + (" (online)" if phases else ""), start, end, phases))
            conn.log = None
    return windows


def move_plain(url: str, prefix: str, target: int) -> list[Window]:
    """Each step of the move as its exported SQL in one plain transaction."""
    windows = []
    with bl.connect(url) as conn:
        current = phoenix_kit.migrated_version(prefix, using=conn)
        for step in plan(current, target):
            script = bl.server_script(step.source, step.target, prefix)
            start = time.perf_counter()
            bl.run_floor(conn, script)
            windows.append((step.describe(), start, time.perf_counter(), None))
    return windows


def version_of(step: str) -> int:
    """The version number in a step's description ("Applying phoenix_kit V08 (...)")."""
    return int(step.split(" V", 1)[1][:2])


Mover = Callable[[str, str, int], list[Window]]


def moves(url: str, prefix: str, rows: int, rate: float, mover: Mover) -> tuple[list[list[object]], list[float], int, dict[str, list[list[object]]]]:
    """The rows of the per-step table, every wait during a step, the application's errors,
    and for each online step the rows of its phase table."""
    with Traffic(url, prefix, rows, rate) as traffic:
        time.sleep(1)  # traffic settled
        windows = mover(url, prefix, 7) + mover(url, prefix, phoenix_kit.latest_version())
        time.sleep(0.5)
    table, waits, phased = [], [], {}
    for name, start, end, phases in windows:
        during = traffic.during(start, end)
        waits += during
        direction = "down" if name.startswith("Unapplying") else "up"
        others = traffic.during(start, end, touched(version_of(name), direction))
        table.append([name, f"{end - start:.2f}", *summary(during), traffic.slowest(start, end), control(others)])
        if phases:
            phased[name] = phase_rows(phases, traffic, version_of(name))
    return table, waits, len(traffic.errors), phased


PHASE_HEADERS = [
    "phase", "wall s", "calls", "per call: median ms", "max ms",
    "longest app wait", "p99 app wait", f"app queries > {SLOW_MS:g} ms", "longest: query",
    "control: longest on a table the step does not lock",
]


def touched(version: int, direction: str = "up") -> frozenset[str]:
    """The tables step V<version> locks, as :func:`short` names them ("users", "users_tokens")."""
    return frozenset(table.removeprefix("phoenix_kit_") for table, _ in table_locks(version, direction))


def control(waits: list[float]) -> str:
    return bl.ms(max(waits)) if waits else "-"


def phase_rows(phases: list[bl.Phase], traffic: Traffic, version: int) -> list[list[object]]:
    """One row per phase of an online step: its time, its batches, the application's waits during it,
    and (a control) the longest wait of a query on a table the step does not touch."""
    rows = []
    for phase in phases:
        per_call = [bl.ms(bl.median(phase.durations)), bl.ms(max(phase.durations))] if phase.durations else ["-", "-"]
        rows.append([
            phase.name, f"{phase.end - phase.start:.2f}", phase.calls, *per_call,
            *summary(traffic.during(phase.start, phase.end)), traffic.slowest(phase.start, phase.end),
            control(traffic.during(phase.start, phase.end, touched(version))),
        ])
    return rows


def held(url: str, prefix: str, rows: int, rate: float, seconds: float, plain: bool) -> tuple[list[object], list[float], list[list[object]]]:
    """V07 -> V08 while an application transaction that read the users table stays open."""
    with bl.connect(url) as conn:
        phoenix_kit.down(version=8, prefix=prefix, using=conn, log=False)
    with Traffic(url, prefix, rows, rate) as traffic, bl.connect(url) as holder:
        holder.execute("BEGIN")
        holder.execute(f'SELECT count(*) FROM "{prefix}"."phoenix_kit_users" WHERE "id" = 1').fetchall()
        release = threading.Timer(seconds, lambda: holder.execute("COMMIT"))
        time.sleep(0.5)
        start = time.perf_counter()
        release.start()
        windows = move_plain(url, prefix, 8) if plain else move_live(url, prefix, 8)
        end = time.perf_counter()
        release.join()
        time.sleep(0.5)
    during = traffic.during(start, end)
    name = "plain transaction" if plain else "phoenix_kit" + (" (online)" if windows[0][3] else "")
    row = [name, f"{end - start:.2f}", *summary(during), len(traffic.errors)]
    phases = phase_rows(windows[0][3], traffic, 8) if windows[0][3] else []
    return row, during, phases


def same_usernames(url: str, live: str, plain: str, n: int) -> None:
    """After the moves, phoenix_kit's usernames (online V08, under traffic) must equal the plain transaction's."""
    with bl.connect(url) as conn:
        differ = bl.username_differences(conn, live, plain)
    if differ != (0, n, n):
        raise SystemExit(f"usernames of {live} (phoenix_kit) and {plain} (plain) differ: (differing, rows, distinct) = {differ}")
    print(f"\nusernames after the moves: identical on both prefixes ({n:,} users, all distinct)")


def main() -> None:
    options = {
        "sizes": bl.Option([100_000, 1_000_000], [20_000], "user counts"),
        "rate": bl.Option(100, 50, "queries per second of each application thread"),
        "held": bl.Option(10, 3, "seconds the application transaction stays open"),
    }
    with bl.Bench("live_traffic", __doc__, **options) as bench:
        url = bench.database("db")
        names = bl.Names("lt")
        rate, seconds = float(bench.option("rate")), float(bench.option("held"))
        headers = [
            "step", "wall s", "longest app wait", "p99 app wait", f"app queries > {SLOW_MS:g} ms", "longest: query",
            "control: longest on a table the step does not lock",
        ]
        verdicts: list[list[object]] = []
        for n in bench.option("sizes"):
            live, plain = names.next(), names.next()
            for prefix in (live, plain):
                prepare(url, prefix, n)
            for label, prefix, mover in (("phoenix_kit", live, move_live), ("plain transaction", plain, move_plain)):
                table, waits, errors, phased = moves(url, prefix, n, rate, mover)
                bl.table(headers, table, title=f"{n:,} users, 16 -> 7 -> 16, {label} ({errors} application errors)")
                for step, rows in phased.items():
                    bl.table(PHASE_HEADERS, rows, title=f"{n:,} users, {step}, by phase ({label})")
                if label == "phoenix_kit":
                    verdicts.append(verdict(f"{n:,} users, 16 -> 7 -> 16: longest application wait", waits))
            same_usernames(url, live, plain, n)
            (live_row, live_waits, live_phases), (plain_row, _, _) = (
                held(url, prefix, n, rate, seconds, plain=prefix == plain) for prefix in (live, plain)
            )
            bl.table(
                ["V07 -> V08 by", "wall s", "longest app wait", "p99 app wait", f"app queries > {SLOW_MS:g} ms", "app errors"],
                [live_row, plain_row],
                title=f"{n:,} users, an application transaction holding ACCESS SHARE on phoenix_kit_users for {seconds:g} s",
            )
            if live_phases:
                bl.table(PHASE_HEADERS, live_phases, title=f"{n:,} users, held transaction: phoenix_kit's V08 by phase")
            verdicts.append(verdict(f"{n:,} users, held transaction: longest application wait", live_waits))
        bl.table(["target", "measured", "result"], verdicts)


if __name__ == "__main__":
    main()
