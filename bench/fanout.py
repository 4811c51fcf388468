"""fanout: one move on 1, 10, 100 and 1000 prefixes through the real command.

Every phoenix_kit run is a new process, timed from spawn to exit (process start
included), with its own peak RSS (wait4):
    python -m django phoenixkit_migrate --prefixes a,b,... --install-missing --jobs N   (fresh install)
    python -m django phoenixkit_migrate --all-prefixes --jobs N       (no-op)
with DJANGO_SETTINGS_MODULE=bench_settings (bench/bench_settings.py, reading
DATABASE_URL). 1000 names are about 12 kB: they fit in one argv entry (Linux
allows 128 kB per entry), so --prefixes is used as is.

Fresh install, in one scratch database, on new prefixes every run:
  floor      sql(0, 16, p) as one transaction per prefix (bench/benchlib.py
             floor_script), prefixes one after the other over one psycopg
             connection in this process (no process start);
  jobs 1/2   the command above;
  Django     bench/django_per_schema.py: Django's `migrate phoenix_kit` once
             per prefix in ONE process with search_path set to the prefix (the
             django-tenants way), at 10 and 100 prefixes only; 1000 is a
             LINEAR EXTRAPOLATION from those two.
No-op, in a second scratch database holding exactly N installs (topped up with
the floor script): the command with --all-prefixes (jobs 1 and 2) and with
--prefixes, and Django's loop over the same N prefixes (after one unmeasured
pass that records them in each schema's django_migrations).
Variants alternate with the order rotating each round; at 1000 prefixes each
runs once and the floor is split in two halves run before and after the
command (it brackets any drift).
"""

from __future__ import annotations

import ast
import re
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import benchlib as bl

import phoenix_kit

SUMMARY = re.compile(r"(\d+) prefixes: (\d+) migrated, (\d+) already current, (\d+) failed\.")
DJANGO_SIZES = (10, 100)
FRESH_TARGET, DJANGO_TARGET, NOOP_SECONDS, NOOP_TARGET, RSS_GROWTH = 1.3, 3.0, 2.0, 10.0, 0.10


class Fanout:
    def __init__(self, bench: bl.Bench) -> None:
        self.fresh_url = bench.database("fresh")
        self.current_url = bench.database("current")
        self.names = bl.Names("fo")
        self.latest = phoenix_kit.latest_version()
        self.fresh_conn = bl.connect(self.fresh_url)
        self.current_conn = bl.connect(self.current_url)
        self.installed: list[str] = []  # the installs of the no-op database
        self.adopted = 0  # how many of them Django's loop has recorded

    # -- one run of each variant; each returns (seconds, peak RSS MiB or None)

    def floor(self, conn: Any, names: list[str]) -> tuple[float, None]:
        scripts = [bl.floor_script(0, self.latest, name) for name in names]  # built before the clock starts
        return bl.timed(lambda: [bl.run_floor(conn, script) for script in scripts]), None

    def command(self, url: str, names: list[str] | None, jobs: int, expect: tuple[int, int], **env: str) -> bl.ChildRun:
        argv = [sys.executable, "-m", "django", "phoenixkit_migrate", "--jobs", str(jobs)]
        argv += ["--all-prefixes"] if names is None else ["--prefixes", ",".join(names), "--install-missing"]
        run = bl.run_child(argv, bl.django_env(url, **env))
        found = SUMMARY.search(run.output)
        counts = (int(found.group(2)), int(found.group(3))) if found and found.group(4) == "0" else None
        if run.returncode != 0 or counts != expect:
            raise SystemExit(f"{' '.join(argv[:6])} ... failed or did not do what was expected {expect}:\n{run.output[-3000:]}")
        return run

    def django(self, url: str, names: list[str], create: bool) -> bl.ChildRun:
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
            listing.write("\n".join(names))
            listing.flush()
            argv = [sys.executable, str(bl.BENCH_DIR / "django_per_schema.py"), listing.name]
            run = bl.run_child(argv + (["--create-schemas"] if create else []), bl.django_env(url))
        if run.returncode != 0:
            raise SystemExit(f"django_per_schema.py failed:\n{run.output[-3000:]}")
        return run

    # -- fresh install

    def fresh(self, n: int, rounds: int) -> dict[str, list[tuple[float, float | None]]]:
        def cmd(jobs: int) -> Callable[[], tuple[float, float]]:
            def run() -> tuple[float, float]:
                child = self.command(self.fresh_url, self.names.take(n), jobs, (n, 0))
                return child.seconds, child.max_rss_mib
            return run

        def django() -> tuple[float, float]:
            child = self.django(self.fresh_url, self.names.take(n), create=True)
            return child.seconds, child.max_rss_mib

        variants: dict[str, Callable[[], Any]] = {"jobs 1": cmd(1), "jobs 2": cmd(2)}
        if n in DJANGO_SIZES:
            variants["Django per schema"] = django
        if rounds > 1:
            variants = {"floor": lambda: self.floor(self.fresh_conn, self.names.take(n)), **variants}
            return bl.interleaved(variants, rounds)
        first = self.floor(self.fresh_conn, self.names.take(n // 2))[0]
        results = {name: [run()] for name, run in variants.items()}
        second = self.floor(self.fresh_conn, self.names.take(n - n // 2))[0]
        print(f"  floor halves at {n} prefixes: {first:.1f} s before, {second:.1f} s after the commands")
        return {"floor": [(first + second, None)], **results}

    # -- no-op

    def top_up(self, n: int) -> None:
        """Install into the no-op database until it holds exactly ``n`` prefixes."""
        more = self.names.take(n - len(self.installed))
        self.floor(self.current_conn, more)
        self.installed += more

    def noop(self, n: int, rounds: int) -> dict[str, list[tuple[float, float | None]]]:
        self.top_up(n)
        if n in DJANGO_SIZES:  # record the installs in each schema's django_migrations, unmeasured
            self.django(self.current_url, self.installed[self.adopted:], create=False)
            self.adopted = n

        def cmd(names: list[str] | None, jobs: int) -> Callable[[], tuple[float, float]]:
            def run() -> tuple[float, float]:
                child = self.command(self.current_url, names, jobs, (0, n))
                return child.seconds, child.max_rss_mib
            return run

        def django() -> tuple[float, float]:
            child = self.django(self.current_url, self.installed, create=False)
            return child.seconds, child.max_rss_mib

        variants: dict[str, Callable[[], Any]] = {
            "--all-prefixes, jobs 1": cmd(None, 1),
            "--all-prefixes, jobs 2": cmd(None, 2),
            "--prefixes (list), jobs 1": cmd(self.installed, 1),
        }
        if n in DJANGO_SIZES:
            variants["Django per schema"] = django
        return bl.interleaved(variants, rounds)

    def noop_queries(self) -> list[str]:
        """What the no-op --all-prefixes command sends through Django (DEBUG query log)."""
        run = self.command(self.current_url, None, 1, (0, len(self.installed)), BENCH_LOG_SQL="1")
        return [ast.literal_eval(line.split("\t", 2)[2]) for line in run.output.splitlines() if line.startswith("SQL\t")]

    def relations(self, conn: Any) -> int:
        return conn.execute("SELECT count(*) FROM pg_catalog.pg_class").fetchone()[0]


def main() -> None:
    options = {
        "sizes": bl.Option([1, 10, 100, 1000], [1, 10, 100], "prefix counts"),
        "rounds": bl.Option(3, 1, "rounds below 1000 prefixes"),
    }
    with bl.Bench("fanout", __doc__, **options) as bench:
        sizes, rounds = bench.option("sizes"), bench.option("rounds")
        run = Fanout(bench)
        run.top_up(1)  # creates citext in the no-op database
        run.floor(run.fresh_conn, run.names.take(1))  # ... and in the other
        run.command(run.fresh_url, run.names.take(1), 1, (1, 0))  # warm-up: .pyc files, page cache
        fresh, noop, rels = {}, {}, {}
        for n in sizes:
            r = 1 if n >= 1000 else rounds
            rels[n] = (run.relations(run.fresh_conn), None)
            print(f"fresh install, {n} prefixes, {r} round(s); load {bl.load()}", flush=True)
            fresh[n] = run.fresh(n, r)
            print(f"no-op, {n} prefixes; load {bl.load()}", flush=True)
            noop[n] = run.noop(n, max(r, 2 if bench.quick else 5))
            rels[n] = (rels[n][0], run.relations(run.current_conn))
        queries = run.noop_queries()
        report(sizes, fresh, noop, rels, queries)


def report(sizes: list[int], fresh: dict, noop: dict, rels: dict, queries: list[str]) -> None:
    def rss(values: list) -> str:
        peaks = [m for _, m in values if m is not None]
        return f"{max(peaks):.0f}" if peaks else "-"

    rows = []
    for n in sizes:
        res = fresh[n]
        floor = [s for s, _ in res["floor"]]
        for name, values in res.items():
            secs = [s for s, _ in values]
            ratio = "1.00x" if name == "floor" else bl.ratio_summary(bl.ratios(secs, floor))
            rows.append([n, name, len(secs), f"{bl.median(secs):.2f}", bl.ms(bl.median(secs) / n), ratio, rss(values), rels[n][0]])
    django_fit = extrapolate(fresh)
    if django_fit and 1000 in fresh:
        rows.append([1000, "Django per schema (EXTRAPOLATED linearly from 10 and 100)", "-", f"{django_fit(1000):.2f}",
                     bl.ms(django_fit(1000) / 1000), f"{django_fit(1000) / med(fresh[1000]['floor']):.2f}x", "-", "-"])
    bl.table(
        ["prefixes", "fresh install", "runs", "total s (median)", "ms per prefix", "ratio to floor (paired)",
         "peak RSS MiB", "relations in db before"],
        rows,
        title="Fresh install 0 -> latest (command runs include process start; floor is in-process)",
    )
    rows = []
    for n in sizes:
        for name, values in noop[n].items():
            secs = [s for s, _ in values]
            rows.append([n, name, len(secs), f"{bl.median(secs):.3f}", bl.ms(bl.median(secs) / n), rss(values), rels[n][1]])
    noop_fit = extrapolate(noop)
    if noop_fit:
        rows.append([1000, "Django per schema (EXTRAPOLATED linearly from 10 and 100)", "-", f"{noop_fit(1000):.2f}",
                     bl.ms(noop_fit(1000) / 1000), "-", "-"])
    bl.table(
        ["prefixes", "no-op (all current)", "runs", "total s (median)", "ms per prefix", "peak RSS MiB", "relations in db"],
        rows,
        title="No-op over N current prefixes (whole command, process start included)",
    )
    bl.table(["#", "query"], [[i + 1, " ".join(q.split())[:110]] for i, q in enumerate(queries)],
             title=f"Queries of the no-op --all-prefixes command on {sizes[-1]} prefixes (Django's query log)")
    targets(sizes, fresh, noop, django_fit, noop_fit)


def med(values: list) -> float:
    return bl.median([s for s, _ in values])


def extrapolate(results: dict) -> Callable[[int], float] | None:
    """The line through Django's medians at 10 and 100 prefixes."""
    if not all(n in results and "Django per schema" in results[n] for n in DJANGO_SIZES):
        return None
    (x1, x2) = DJANGO_SIZES
    y1, y2 = med(results[x1]["Django per schema"]), med(results[x2]["Django per schema"])
    slope = (y2 - y1) / (x2 - x1)
    return lambda n: y1 + slope * (n - x1)


def targets(sizes: list[int], fresh: dict, noop: dict, django_fit: Any, noop_fit: Any) -> None:
    big = max(sizes)
    mid = 100 if 100 in sizes and big > 100 else None
    rows = []
    all1 = med(noop[big]["--all-prefixes, jobs 1"])
    rows.append([f"no-op --all-prefixes, {big} prefixes, whole command < {NOOP_SECONDS} s", f"{all1:.3f} s", bl.verdict(all1 < NOOP_SECONDS)])
    where = "measured" if big in DJANGO_SIZES else "extrapolated"
    if noop_fit:
        factor = noop_fit(big) / all1
        rows.append([f"... >= {NOOP_TARGET:.0f}x faster than Django's per-schema no-op loop ({where} at {big})",
                     f"{factor:.1f}x", bl.verdict(factor >= NOOP_TARGET)])
    f = fresh[big]
    j1, j2, floor = med(f["jobs 1"]), med(f["jobs 2"]), med(f["floor"])
    rows.append([f"fresh install {big} prefixes, jobs 1 per prefix <= {FRESH_TARGET}x the floor",
                 f"{bl.ms(j1 / big)} vs {bl.ms(floor / big)} ms: {j1 / floor:.2f}x", bl.verdict(j1 / floor <= FRESH_TARGET)])
    rows.append([f"... jobs 2 faster than jobs 1 ({big} prefixes)", f"speed-up {j1 / j2:.2f}x", bl.verdict(j2 < j1)])
    if django_fit:
        for jobs, seconds in (("jobs 1", j1), ("jobs 2", j2)):
            factor = django_fit(big) / seconds
            rows.append([f"... {jobs} >= {DJANGO_TARGET:.0f}x faster than Django per schema ({where} at {big})",
                         f"{factor:.1f}x", bl.verdict(factor >= DJANGO_TARGET)])
    if mid:
        r100, r_big = max(m for _, m in fresh[mid]["jobs 1"]), f["jobs 1"][0][1]
        growth = r_big / r100 - 1
        rows.append([f"... RSS flat from {mid} to {big} prefixes (jobs 1; growth < {RSS_GROWTH:.0%})",
                     f"{r100:.0f} -> {r_big:.0f} MiB ({growth:+.1%})", bl.verdict(growth < RSS_GROWTH)])
    bl.table(["target", "measured", "result"], rows)


if __name__ == "__main__":
    main()
