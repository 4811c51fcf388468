"""noop: phoenix_kit.ensure_current() on a prefix that is already current.

Counts what it sends (libpq protocol trace: one entry per client round trip,
so BEGIN/COMMIT or anything psycopg sends by itself counts too; the recording
cursor gives the SQL), and times it against a bare ``SELECT 1`` round trip on
the same bare autocommit psycopg connection, the calls alternating one by one.

The headline connection never prepares (``prepare_threshold=None``): nothing
phoenix_kit sends may rely on server-side prepared statements (behind a
transaction-pooling PgBouncer), Django's client-side binding never prepares,
so the marker query is parsed and planned on every call. The interleaved
measurement is repeated; the spread is that of the repeats' medians. Profile
rows, interleaved with the headline: the marker query alone, the full state
read the no-op used before (``marker.STATE_QUERY``), and ``SELECT $1``: one
bound parameter, the extended protocol's floor for any query that has one.
Then psycopg's defaults (a query run 5 times becomes a prepared statement).
Targets: exactly 1 query; median of paired ratios <= 2x on the unprepared
connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import benchlib as bl

import phoenix_kit
from phoenix_kit.marker import MARKER_QUERY, STATE_QUERY

TARGET = 2.0
HEADLINE = "ensure_current"
BASE = "SELECT 1"


def main() -> None:
    options = {
        "calls": bl.Option(2000, 300, "calls of each variant per repeat"),
        "repeats": bl.Option(5, 2, "interleaved measurements of the unprepared connection"),
    }
    with bl.Bench("noop", __doc__, **options) as bench:
        calls, repeats = bench.option("calls"), bench.option("repeats")
        url = bench.database("db")
        prefix = bl.Names("noop").next()
        with bl.connect(url) as setup:
            phoenix_kit.up(prefix=prefix, using=setup, log=False)
        with bl.recording_connection(url) as conn:
            conn.log = []
            sent = bl.protocol_queries(conn, lambda: phoenix_kit.ensure_current(using=conn, prefix=prefix))
            recorded = [sql for sql, _, _ in conn.log]
            conn.log = None
        with bl.connect(url, prepare_threshold=None) as conn:
            unprepared = [bl.interleaved(variants(conn, prefix, profile=True), calls) for _ in range(repeats)]
            plan = server_side(conn, prefix, calls)
        with bl.connect(url) as conn:
            defaults = bl.interleaved(variants(conn, prefix, profile=False), calls)

        bl.table(
            ["what", "count", "statements"],
            [
                ["round trips (libpq trace)", len(sent), "; ".join(short(q) for q in sent)],
                ["statements (recording cursor)", len(recorded), "; ".join(short(q) for q in recorded)],
            ],
            title="What ensure_current() sends on a current prefix",
        )
        rows = [latency_row("prepare_threshold=None", name, unprepared) for name in unprepared[0]]
        rows += [latency_row("psycopg defaults (profile)", name, [defaults]) for name in defaults]
        bl.table(
            ["connection", "call", "calls", "median us", "paired ratio to SELECT 1: median (min-max of the repeats' medians)"],
            rows,
            title=f"Latency (a connection's calls interleaved, order rotating; unprepared: {repeats} repeats of {calls} calls)",
        )
        bl.table(
            ["query", "server planning us (median)", "server execution us (median)"],
            plan,
            title="Server side (EXPLAIN (ANALYZE, SUMMARY), unprepared; profile)",
        )
        ratio = bl.median(all_ratios(unprepared, HEADLINE))
        bl.table(
            ["target", "measured", "result"],
            [
                ["exactly 1 query", str(len(sent)), bl.verdict(len(sent) == 1)],
                [f"<= {TARGET}x SELECT 1 (prepare_threshold=None)", f"{ratio:.2f}x", bl.verdict(ratio <= TARGET)],
            ],
        )


def variants(conn: Any, prefix: str, *, profile: bool) -> dict[str, Callable[[], float]]:
    """ensure_current and SELECT 1 on ``conn`` (and, for the profile, the queries alone), warmed up."""
    params = {"prefix": prefix}
    runs = {
        HEADLINE: lambda: bl.timed(lambda: phoenix_kit.ensure_current(using=conn, prefix=prefix)),
        BASE: lambda: bl.timed(lambda: conn.execute("SELECT 1").fetchall()),
    }
    if profile:
        for name, query, args in (
            ("query alone: marker.MARKER_QUERY", MARKER_QUERY, params),
            ("before: the full read, marker.STATE_QUERY, alone", STATE_QUERY, params),
            ("SELECT $1 (one bound parameter)", "SELECT %(prefix)s::pg_catalog.text", params),
        ):
            runs[name] = lambda q=query, a=args: bl.timed(lambda: conn.execute(q, a).fetchall())
    for _ in range(20):  # warm-up: connection, caches, psycopg's prepare threshold
        for run in runs.values():
            run()
    return runs


def all_ratios(results: list[dict[str, list[float]]], name: str) -> list[float]:
    """Every paired ratio of ``name`` to SELECT 1, over all repeats."""
    return [r for res in results for r in bl.ratios(res[name], res[BASE])]


def latency_row(label: str, name: str, results: list[dict[str, list[float]]]) -> list[object]:
    values = [v for res in results for v in res[name]]
    medians = [bl.median(bl.ratios(res[name], res[BASE])) for res in results]
    spread = f" ({min(medians):.2f}-{max(medians):.2f})" if len(medians) > 1 else ""
    ratio = f"{bl.median(all_ratios(results, name)):.2f}x{spread}"
    return [label, name, len(values), f"{bl.median(values) * 1e6:.0f}", ratio]


def server_side(conn: Any, prefix: str, calls: int) -> list[list[str]]:
    """Median planning and execution time of the marker queries and of SELECT 1, as the server reports them."""
    rows = []
    for label, query, params in (
        ("ensure_current's query (marker.MARKER_QUERY)", MARKER_QUERY, {"prefix": prefix}),
        ("before: marker.STATE_QUERY", STATE_QUERY, {"prefix": prefix}),
        ("SELECT 1", "SELECT 1", None),
    ):
        planning, execution = [], []
        for _ in range(min(calls, 200)):
            (doc,) = conn.execute(f"EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) {query}", params).fetchone()
            planning.append(doc[0]["Planning Time"] / 1000)
            execution.append(doc[0]["Execution Time"] / 1000)
        rows.append([label, f"{bl.median(planning) * 1e6:.0f}", f"{bl.median(execution) * 1e6:.0f}"])
    return rows


def short(sql: str) -> str:
    return " ".join(sql.split())[:70] + ("..." if len(" ".join(sql.split())) > 70 else "")


if __name__ == "__main__":
    main()
