"""fresh_install: phoenix_kit.up() 0->16 on a fresh prefix vs the exported-SQL floor.

A: ``phoenix_kit.up(prefix=p, using=conn, log=False)`` on a bare autocommit psycopg
   connection (one transaction per step, each statement a round trip).
B (the floor): ``phoenix_kit.sql(0, 16, p)`` with its per-step ``BEGIN;``/``COMMIT;``
   lines removed, wrapped in one ``BEGIN;`` ... ``COMMIT;`` and sent as one
   simple-query message over the same kind of connection (one transaction, one
   round trip; the advisory locks, marker checks and marker writes stay).
Each run installs into a new prefix of one scratch database; the variants
alternate, the order rotating every round. Target: median of paired ratios
A/B <= 1.3. For the profile, the same two are also run on a connection with
synchronous_commit=off (commits do not wait for the WAL flush), the exported
script is also sent one step per message (16 transactions, 16 round trips:
what a runner sending each step whole would cost), and up()'s time is split by
what it sends.
"""

from __future__ import annotations

from collections import defaultdict

import benchlib as bl

import phoenix_kit
from phoenix_kit.marker import STATE_QUERY
from phoenix_kit.runner import RUN_QUERY

TARGET = 1.3
NO_FLUSH = "-c synchronous_commit=off"


def main() -> None:
    with bl.Bench("fresh_install", __doc__, pairs=bl.Option(30, 5, "runs of each variant")) as bench:
        pairs = bench.option("pairs")
        url = bench.database("db")
        names = bl.Names("fi")
        latest = phoenix_kit.latest_version()
        with bl.connect(url) as conn, bl.connect(url, options=NO_FLUSH) as no_flush:
            for c in (conn, no_flush):  # warm-up, not measured: creates citext, fills caches
                phoenix_kit.up(prefix=names.next(), using=c, log=False)
                bl.run_floor(c, bl.floor_script(0, latest, names.next()))

            def api(c: object) -> float:
                prefix = names.next()
                return bl.timed(lambda: phoenix_kit.up(prefix=prefix, using=c, log=False))

            def per_step(c: object) -> float:
                steps = bl.server_script(0, latest, names.next()).split("\nCOMMIT;\n")[:-1]  # one message per step
                steps = [f"{step}\nCOMMIT;\n" for step in steps]
                assert len(steps) == latest
                return bl.timed(lambda: [bl.run_floor(c, step) for step in steps])

            def floor(c: object) -> float:
                script = bl.floor_script(0, latest, names.next())  # built before the clock starts
                return bl.timed(lambda: bl.run_floor(c, script))

            results = bl.interleaved(
                {
                    "up()": lambda: api(conn),
                    "floor": lambda: floor(conn),
                    "up() no-flush": lambda: api(no_flush),
                    "floor no-flush": lambda: floor(no_flush),
                    "per-step": lambda: per_step(conn),
                },
                pairs,
            )
            breakdown, total, runs = profile(url, names, min(pairs, 10))
            installed = conn.execute(
                "SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'phoenix_kit' "
                "AND pg_catalog.obj_description(oid, 'pg_class') = %s",
                [str(latest)],
            ).fetchone()[0]

        labels = {
            "up()": "up() 0->16",
            "floor": "floor: sql(0, 16) as one transaction",
            "up() no-flush": "up() 0->16, synchronous_commit=off",
            "floor no-flush": "floor, synchronous_commit=off",
            "per-step": "sketch: sql(0, 16) sent one step per message (16 transactions)",
        }
        bl.table(
            ["variant", "runs", "median ms", "min ms", "max ms"],
            [[labels[k], len(v), bl.ms(bl.median(v)), bl.ms(min(v)), bl.ms(max(v))] for k, v in results.items()],
            title=f"Fresh install of one prefix, 0 -> {latest} (interleaved; {installed} prefixes in the database at the end)",
        )
        paired = bl.ratios(results["up()"], results["floor"])
        paired_nf = bl.ratios(results["up() no-flush"], results["floor no-flush"])
        bl.table(
            ["comparison", "median of paired ratios (min-max)", "target", "result"],
            [
                ["up() / floor", bl.ratio_summary(paired), f"<= {TARGET}x", bl.verdict(bl.median(paired) <= TARGET)],
                ["up() / floor, both synchronous_commit=off (profile)", bl.ratio_summary(paired_nf), "-", "-"],
                ["sketch one message per step / floor (profile)", bl.ratio_summary(bl.ratios(results["per-step"], results["floor"])), "-", "-"],
            ],
        )
        bl.table(
            ["what up() sends", "per install", "median ms per install"],
            [[k, f"{n / runs:.0f}", bl.ms(t / runs)] for k, (n, t) in breakdown.items()]
            + [["total (wall)", "", bl.ms(total / runs)]],
            title=f"Where up()'s time goes (profile: {runs} more installs, statements timed client-side, libpq trace)",
        )


def profile(url: str, names: bl.Names, runs: int) -> tuple[dict[str, tuple[int, float]], float, int]:
    """Split up()'s wall time by the kind of round trip, over ``runs`` installs."""
    kinds: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    total = 0.0
    with bl.recording_connection(url) as conn:
        for _ in range(runs):
            conn.log = []
            prefix = names.next()
            sent: list[str] = []
            total += bl.timed(lambda: sent.extend(bl.protocol_queries(conn, lambda: phoenix_kit.up(prefix=prefix, using=conn, log=False))))
            for sql, start, end in conn.log:
                kind = classify(sql)
                kinds[kind][0] += 1
                kinds[kind][1] += end - start
            others = len(sent) - len(conn.log)  # BEGIN/COMMIT psycopg sends itself
            kinds["BEGIN / COMMIT (psycopg's transaction(), includes the WAL flush)"][0] += others
    accounted = sum(t for _, t in kinds.values())
    key = "BEGIN / COMMIT (psycopg's transaction(), includes the WAL flush)"
    kinds[key][1] = total - accounted  # what is not a statement: transaction control and Python
    kinds[key] = kinds.pop(key)
    return {k: (int(n), t) for k, (n, t) in kinds.items()}, total, runs


def classify(sql: str) -> str:
    if sql == STATE_QUERY:
        return "marker read (marker.STATE_QUERY)"
    if sql == RUN_QUERY:
        return "checks before the first step: catalog, owners, session settings (runner.RUN_QUERY)"
    if "pg_advisory_xact_lock" in sql and "set_config('lock_timeout'" in sql:
        return "lock prelude (isolation, bounded lock wait, restore): one message per step"
    return "a step's statements and its marker write: one message per step"


if __name__ == "__main__":
    main()
