"""tenants: a django-tenants project with phoenix_kit as a tenant app, 10 and 100 tenants.

The project is tests/tenants/dt_settings.py (PHOENIX_KIT_PREFIX = TENANT_SCHEMA).
Four ways to bring every tenant to the latest version, each a new process timed
from spawn to exit with its peak RSS (wait4):
  migrate_schemas (standard)         django-tenants' default executor
  migrate_schemas (multiprocessing)  its executor with 2 processes (the default)
  phoenixkit_migrate, jobs 1 / 2     --prefixes <every tenant> --install-missing
                                     (fresh), --all-prefixes (no-op)
A migrate_schemas run migrates every tenant of its database, so each variant
and round has a database of its own, made before anything is timed: N tenants
(Client rows, their schemas, and their other tenant app, contenttypes, migrated)
and no phoenix_kit. Fresh install: each variant on its own database, the order
rotating each round. No-op: then each variant once on every one of those
databases, now current. The system catalogs of a database are vacuumed before
each timed run (their bloat would otherwise slow the later rounds), and no
database is dropped before the end.
Targets at 100 tenants: fresh install >= 3x faster than the standard executor
with jobs 2, >= 2x with jobs 1; no-op >= 5x faster than either executor (every
phoenix_kit variant); peak RSS flat from 10 to 100 tenants.
"""

from __future__ import annotations

import sys

import benchlib as bl

import phoenix_kit

VARIANTS = ("migrate_schemas (standard)", "migrate_schemas (multiprocessing)", "phoenixkit_migrate, jobs 1",
            "phoenixkit_migrate, jobs 2")
EXECUTORS, OURS = VARIANTS[:2], VARIANTS[2:]
CATALOGS = ("pg_class", "pg_attribute", "pg_type", "pg_depend", "pg_index", "pg_constraint", "pg_description",
            "pg_namespace", "pg_attrdef", "pg_sequence", "pg_statistic")
FRESH_TARGETS = {"phoenixkit_migrate, jobs 2": 3.0, "phoenixkit_migrate, jobs 1": 2.0}
NOOP_TARGET, RSS_GROWTH = 5.0, 0.10
Run = tuple[float, float]  # seconds, peak RSS MiB


class Project:
    """One database of the tenant project, with ``n`` tenants and no phoenix_kit yet."""

    def __init__(self, url: str, n: int) -> None:
        self.url = url
        self.names = [f"tenant-{i:03d}" for i in range(n)]
        self.child(["migrate_schemas", "--shared", "-v", "0"], PK_PLACE="absent")
        with bl.connect(url) as conn:
            for name in self.names:
                conn.execute("INSERT INTO customers_client (schema_name, name) VALUES (%s, %s)", [name, name])
                conn.execute(f'CREATE SCHEMA "{name}"')
        self.child(["migrate_schemas", "--tenant", "-v", "0"], PK_PLACE="absent")

    def child(self, args: list[str], **env: str) -> bl.ChildRun:
        environment = bl.django_env(self.url, DJANGO_SETTINGS_MODULE="tests.tenants.dt_settings", **env)
        run = bl.run_child([sys.executable, "-m", "django", *args], environment)
        if run.returncode != 0:
            raise SystemExit(f"{' '.join(args[:3])} ... failed:\n{run.output[-3000:]}")
        return run

    def vacuum(self) -> None:
        with bl.connect(self.url) as conn:
            for catalog in CATALOGS:
                conn.execute(f"VACUUM pg_catalog.{catalog}")

    def migrate(self, variant: str, fresh: bool) -> Run:
        """Bring every tenant to the latest version the ``variant`` way; checks that it did."""
        self.vacuum()
        if variant in EXECUTORS:
            executor = variant.split("(")[1].rstrip(")")
            args = ["migrate_schemas", "--executor", executor, "-v", "0"]
        elif fresh:
            args = ["phoenixkit_migrate", "--prefixes", ",".join(self.names), "--install-missing", "--jobs", variant[-1]]
        else:
            args = ["phoenixkit_migrate", "--all-prefixes", "--jobs", variant[-1]]
        run = self.child(args)
        self.check_current()
        return run.seconds, run.max_rss_mib

    def check_current(self) -> None:
        with bl.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'phoenix_kit' AND n.nspname = ANY(%s) "
                "AND pg_catalog.obj_description(c.oid, 'pg_class') = %s",
                [self.names, str(phoenix_kit.latest_version())],
            ).fetchall()
        if rows != [(len(self.names),)]:
            raise SystemExit(f"not every tenant of {self.url} is current: {rows}")


def measure(bench: bl.Bench, n: int, rounds: int) -> tuple[dict[str, list[Run]], dict[str, list[Run]]]:
    projects = {(variant, r): Project(bench.database(f"{n}_{i}_{r}"), n)
                for i, variant in enumerate(VARIANTS) for r in range(rounds)}
    print(f"  {n} tenants: {len(projects)} databases ready; load {bl.load()}", flush=True)
    fresh: dict[str, list[Run]] = {variant: [] for variant in VARIANTS}
    for r in range(rounds):
        for variant in VARIANTS[r % 4:] + VARIANTS[: r % 4]:
            fresh[variant].append(projects[variant, r].migrate(variant, fresh=True))
    noop: dict[str, list[Run]] = {variant: [] for variant in VARIANTS}
    for r, project in enumerate(projects.values()):
        for variant in VARIANTS[r % 4:] + VARIANTS[: r % 4]:
            noop[variant].append(project.migrate(variant, fresh=False))
    return fresh, noop


def report(sizes: list[int], results: dict[tuple[int, str], dict[str, list[Run]]]) -> None:
    rows = []
    for n in sizes:
        for kind in ("fresh", "no-op"):
            runs = results[n, kind]
            for variant in VARIANTS:
                secs = [s for s, _ in runs[variant]]
                versus = [
                    f"{bl.ratio_summary(bl.ratios([s for s, _ in runs[e]], secs))} {e.split('(')[1].rstrip(')')}"
                    for e in EXECUTORS
                ] if variant in OURS else ["-"]
                rows.append([n, kind, variant, len(secs), f"{bl.median(secs):.2f}", bl.ms(bl.median(secs) / n),
                             "; ".join(versus), f"{max(m for _, m in runs[variant]):.0f}"])
    bl.table(["tenants", "move", "variant", "runs", "total s (median)", "ms per tenant",
              "executor time / this (paired)", "peak RSS MiB"], rows,
             title="Every tenant to the latest version (each run a new process, start included)")
    largest, smallest = max(sizes), min(sizes)
    checks = []
    for variant, target in FRESH_TARGETS.items():
        runs = results[largest, "fresh"]
        ratio = bl.median(bl.ratios([s for s, _ in runs[EXECUTORS[0]]], [s for s, _ in runs[variant]]))
        checks.append([f"fresh, {largest} tenants: standard executor / {variant}", f">= {target}x", f"{ratio:.2f}x",
                       bl.verdict(ratio >= target)])
    for variant in OURS:
        for executor in EXECUTORS:
            runs = results[largest, "no-op"]
            ratio = bl.median(bl.ratios([s for s, _ in runs[executor]], [s for s, _ in runs[variant]]))
            checks.append([f"no-op, {largest} tenants: {executor} / {variant}", f">= {NOOP_TARGET}x", f"{ratio:.2f}x",
                           bl.verdict(ratio >= NOOP_TARGET)])
    for variant in OURS:
        small, large = _peak(results, smallest, variant), _peak(results, largest, variant)
        growth = large / small - 1
        checks.append([f"{variant}: peak RSS {smallest} -> {largest} tenants", f"<= +{RSS_GROWTH:.0%}",
                       f"{small:.0f} -> {large:.0f} MiB ({growth:+.0%})", bl.verdict(growth <= RSS_GROWTH)])
    bl.table(["target", "wanted", "measured", "verdict"], checks, title="Targets")


def _peak(results: dict[tuple[int, str], dict[str, list[Run]]], n: int, variant: str) -> float:
    return max(m for kind in ("fresh", "no-op") for _, m in results[n, kind][variant])


def main() -> None:
    options = {"sizes": bl.Option([10, 100], [10], "tenant counts"), "rounds": bl.Option(3, 1, "rounds")}
    with bl.Bench("tenants", __doc__, **options) as bench:
        sizes, rounds = bench.option("sizes"), bench.option("rounds")
        results = {}
        for n in sizes:
            fresh, noop = measure(bench, n, rounds)
            results[n, "fresh"], results[n, "no-op"] = fresh, noop
        report(sizes, results)


if __name__ == "__main__":
    main()
