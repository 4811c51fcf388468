"""noop: phoenix_kit.ensure_current() on a prefix that is already current.

Counts what it sends (libpq protocol trace: one entry per client round trip,
so BEGIN/COMMIT or anything psycopg sends by itself counts too; the recording
cursor gives the SQL), and times it against a bare ``SELECT 1`` round trip on
the same bare autocommit psycopg connection, the two alternating call by call.
Run on two connections: psycopg's defaults (a query run 5 times becomes a
server-side prepared statement) and ``prepare_threshold=None`` (never
prepared, as behind a transaction-pooling PgBouncer, or the first calls of a
process). Targets: exactly 1 query; median of paired ratios <= 2x.
"""

from __future__ import annotations


import benchlib as bl

import phoenix_kit
from phoenix_kit.marker import STATE_QUERY

TARGET = 2.0


def main() -> None:
    with bl.Bench("noop", __doc__, calls=bl.Option(3000, 300, "calls of each")) as bench:
        calls = bench.option("calls")
        url = bench.database("db")
        prefix = bl.Names("noop").next()
        with bl.connect(url) as setup:
            phoenix_kit.up(prefix=prefix, using=setup, log=False)
        results = {}
        with bl.recording_connection(url) as conn:
            conn.log = []
            sent = bl.protocol_queries(conn, lambda: phoenix_kit.ensure_current(using=conn, prefix=prefix))
            recorded = [sql for sql, _, _ in conn.log]
            conn.log = None
        for label, options in (("psycopg defaults", {}), ("prepare_threshold=None", {"prepare_threshold": None})):
            with bl.connect(url, **options) as conn:
                variants = {
                    "ensure_current": lambda: bl.timed(lambda: phoenix_kit.ensure_current(using=conn, prefix=prefix)),
                    "SELECT 1": lambda: bl.timed(lambda: conn.execute("SELECT 1").fetchall()),
                }
                if not options:  # the profile: the query alone, and two candidates
                    variants.update(
                        {name: (lambda q=q, p=p: bl.timed(lambda: conn.execute(q, p).fetchall()))
                         for name, (q, p) in candidates(prefix).items()}
                    )
                for _ in range(20):  # warm-up: connection, caches, psycopg's prepare threshold
                    for run in variants.values():
                        run()
                results[label] = bl.interleaved(variants, calls)
        with bl.connect(url, prepare_threshold=None) as conn:
            plan = server_side(conn, prefix, calls)

        bl.table(
            ["what", "count", "statements"],
            [
                ["round trips (libpq trace)", len(sent), "; ".join(short(q) for q in sent)],
                ["statements (recording cursor)", len(recorded), "; ".join(short(q) for q in recorded)],
            ],
            title="What ensure_current() sends on a current prefix",
        )
        rows, verdicts = [], []
        for label, res in results.items():
            base = res["SELECT 1"]
            for name, values in res.items():
                paired = bl.ratios(values, base)
                rows.append([label, name, len(values), f"{bl.median(values) * 1e6:.0f}", bl.ratio_summary(paired)])
            verdicts.append(bl.median(bl.ratios(res["ensure_current"], base)))
        bl.table(
            ["connection", "call", "calls", "median us", "paired ratio to SELECT 1, median (min-max)"],
            rows,
            title="Latency (all calls of a connection interleaved, order rotating)",
        )
        bl.table(
            ["query", "server planning us (median)", "server execution us (median)"],
            plan,
            title="Server side (EXPLAIN ANALYZE, unprepared; profile)",
        )
        default_ratio, unprepared_ratio = verdicts
        bl.table(
            ["target", "measured", "result"],
            [
                ["exactly 1 query", str(len(sent)), bl.verdict(len(sent) == 1)],
                [f"<= {TARGET}x SELECT 1 (psycopg defaults)", f"{default_ratio:.2f}x", bl.verdict(default_ratio <= TARGET)],
                [f"<= {TARGET}x SELECT 1 (prepare_threshold=None)", f"{unprepared_ratio:.2f}x", bl.verdict(unprepared_ratio <= TARGET)],
            ],
        )


def server_side(conn: object, prefix: str, calls: int) -> list[list[str]]:
    """Median planning and execution time of the marker query and of SELECT 1, as the server reports them."""
    rows = []
    for label, query, params in (
        ("ensure_current's query (marker.STATE_QUERY)", STATE_QUERY, {"prefix": prefix}),
        ("SELECT 1", "SELECT 1", None),
    ):
        planning, execution = [], []
        for _ in range(min(calls, 200)):
            (doc,) = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", params).fetchone()
            planning.append(doc[0]["Planning Time"] / 1000)
            execution.append(doc[0]["Execution Time"] / 1000)
        rows.append([label, f"{bl.median(planning) * 1e6:.0f}", f"{bl.median(execution) * 1e6:.0f}"])
    return rows


def candidates(prefix: str) -> dict[str, tuple[str, list[object]]]:
    """The marker query alone, and sketches of cheaper ones (for the profile only, not product code)."""
    return {
        "query alone: STATE_QUERY, same params": (STATE_QUERY, {"prefix": prefix}),
        "sketch: marker only (obj_description of <prefix>.phoenix_kit)": (MARKER_ONLY, [prefix]),
    }


MARKER_ONLY = (
    "SELECT pg_catalog.obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class AS c "
    "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relname = 'phoenix_kit' AND c.relkind IN ('r', 'p')"
)


def short(sql: str) -> str:
    return " ".join(sql.split())[:70] + ("..." if len(" ".join(sql.split())) > 70 else "")


if __name__ == "__main__":
    main()
