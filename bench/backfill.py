"""backfill: the V07 -> V08 step (username column, backfilled, unique) on many users.

Each run gets a new prefix installed at V07 with the exported SQL, then N users
(generate_series; e-mail ``First.Last<i>@Example.com``: ASCII, mixed case, a
dot, and collision-free: every derived username is distinct, so V08's
set-based pass is the whole backfill and its sequential fallback never runs),
then VACUUM ANALYZE and CHECKPOINT, all unmeasured. Then, timed:
  V08        ``phoenix_kit.up(version=8)`` on a bare autocommit psycopg connection:
             one transaction: advisory lock, marker read, ALTER TABLE ADD COLUMN,
             the backfill DO block, CREATE UNIQUE INDEX, marker, COMMIT;
  UPDATE     the same ALTER TABLE and CREATE UNIQUE INDEX around a hand-written
             single UPDATE computing V08's derivation for ASCII e-mails (lower
             case, '.' -> '_', drop what is not [a-z0-9_], 30 characters,
             'user_' when not starting with a letter, '_1' when shorter than 3),
             in one transaction.
The usernames of both are compared on the first pair of each size (must be equal).
Lock: ALTER TABLE ... ADD COLUMN takes ACCESS EXCLUSIVE on phoenix_kit_users
and keeps it to COMMIT, so the lock hold is measured as the time from sending
the ALTER to the end of the COMMIT. Runs alternate (order swapped each pair).
Target: V08 within 2x the UPDATE at 1,000,000 users.
"""

from __future__ import annotations

import time
from typing import Any

import benchlib as bl

import phoenix_kit
from phoenix_kit.versions import v08

TARGET = 2.0

USERS = (
    'INSERT INTO {users} ("email", "hashed_password", "first_name", "last_name", "inserted_at", "updated_at") '
    "SELECT 'First.Last' || i || '@Example.com', 'x', 'First', 'Last', now(), now() "
    "FROM pg_catalog.generate_series(1, {n}) AS i"
)

HAND_WRITTEN = (
    'UPDATE {users} AS u SET "username" = ('
    "SELECT CASE WHEN length(t) < 3 THEN t || '_1' ELSE t END FROM ("
    "SELECT CASE WHEN s ~ '^[a-z]' THEN s ELSE 'user_' || left(s, 25) END AS t FROM ("
    "SELECT left(regexp_replace(replace(lower(split_part(u.\"email\"::text, '@', 1)), '.', '_'), "
    "'[^a-z0-9_]', '', 'g'), 30) AS s) AS a) AS b)"
)


def main() -> None:
    options = {
        "sizes": bl.Option([100_000, 1_000_000], [10_000, 100_000], "user counts"),
        "pairs": bl.Option(3, 2, "V08/UPDATE pairs per size"),
    }
    with bl.Bench("backfill", __doc__, **options) as bench:
        sizes, pairs = bench.option("sizes"), bench.option("pairs")
        url = bench.database("db")
        names = bl.Names("bf")
        results: dict[int, dict[str, list[dict[str, float]]]] = {}
        with bl.recording_connection(url) as conn:
            for n in sizes:
                print(f"{n} users, {pairs} pairs; load {bl.load()}", flush=True)
                made: dict[str, list[str]] = {"V08": [], "UPDATE": []}

                def run(kind: str) -> dict[str, float]:
                    prefix = names.next()
                    setup(conn, prefix, n)
                    made[kind].append(prefix)
                    return v08_step(conn, prefix) if kind == "V08" else update_step(conn, prefix)

                results[n] = bl.interleaved({"V08": lambda: run("V08"), "UPDATE": lambda: run("UPDATE")}, pairs)
                check_same(conn, made["V08"][0], made["UPDATE"][0], n)
        report(sizes, results)


def setup(conn: Any, prefix: str, n: int) -> None:
    bl.run_floor(conn, bl.floor_script(0, 7, prefix))
    users = f'"{prefix}"."phoenix_kit_users"'
    conn.execute(USERS.format(users=users, n=int(n)))
    conn.execute(f"VACUUM (ANALYZE) {users}")
    try:
        conn.execute("CHECKPOINT")  # every timed run starts with no dirty pages to write
    except Exception as exc:  # not allowed for this role: go on without
        print(f"  (no CHECKPOINT: {str(exc).strip()})")


def v08_step(conn: Any, prefix: str) -> dict[str, float]:
    """The live step. Its statements go in one pipelined round trip, so only the whole
    step is timed; its LOCK TABLE comes first, so the lock is held for all of it but
    the advisory lock and marker read before it (an upper bound)."""
    start = time.perf_counter()
    phoenix_kit.up(version=8, prefix=prefix, using=conn, log=False)
    step = time.perf_counter() - start
    return {"step": step, "lock": step, "ADD COLUMN": NOT_TIMED, "backfill": NOT_TIMED, "index": NOT_TIMED}


NOT_TIMED = float("nan")


def update_step(conn: Any, prefix: str) -> dict[str, float]:
    alter, _, index = v08.up(f'"{prefix}"')
    update = HAND_WRITTEN.format(users=f'"{prefix}"."phoenix_kit_users"')
    timings = {}
    start = time.perf_counter()
    with conn.transaction():
        timings["ADD COLUMN"] = bl.timed(lambda: conn.execute(alter))
        timings["backfill"] = bl.timed(lambda: conn.execute(update))
        timings["index"] = bl.timed(lambda: conn.execute(index))
    timings["step"] = timings["lock"] = time.perf_counter() - start
    return timings


def check_same(conn: Any, a: str, b: str, n: int) -> None:
    differ = conn.execute(
        f'SELECT count(*) FILTER (WHERE x."username" IS DISTINCT FROM y."username"), count(*), '
        f'count(DISTINCT x."username") FROM "{a}"."phoenix_kit_users" AS x '
        f'FULL JOIN "{b}"."phoenix_kit_users" AS y ON x."id" = y."id"'
    ).fetchone()
    if differ != (0, n, n):
        raise SystemExit(f"V08 and the hand-written UPDATE disagree on {a}/{b}: (differing, rows, distinct) = {differ}")
    print(f"  usernames of V08 and the UPDATE are identical on {n} users (all distinct)")


PARTS = (("ADD COLUMN", bl.ms), ("backfill", lambda v: f"{v:.2f}"), ("index", lambda v: f"{v:.2f}"))


def report(sizes: list[int], results: dict[int, dict[str, list[dict[str, float]]]]) -> None:
    rows, ratio_rows = [], []
    for n in sizes:
        for kind, runs in results[n].items():
            med = {key: bl.median([r[key] for r in runs]) for key in ("step", "lock", "ADD COLUMN", "backfill", "index")}
            parts = [("-" if med[k] != med[k] else fmt(med[k])) for k, fmt in PARTS]  # NaN: not timed
            rows.append([f"{n:,}", kind, len(runs), f"{med['step']:.2f}", f"{med['lock']:.2f}", *parts])
        v, u = results[n]["V08"], results[n]["UPDATE"]
        step = bl.ratios([r["step"] for r in v], [r["step"] for r in u])
        lock = bl.ratios([r["lock"] for r in v], [r["lock"] for r in u])
        ratio_rows.append([f"{n:,}", bl.ratio_summary(step), bl.ratio_summary(lock)])
    bl.table(
        ["users", "variant", "runs", "step s", "lock held s", "ADD COLUMN ms", "backfill s", "unique index s"],
        rows,
        title="V07 -> V08 (medians; lock held = ALTER TABLE sent to COMMIT done, ACCESS EXCLUSIVE on phoenix_kit_users)",
    )
    bl.table(
        ["users", "V08 / UPDATE, whole step", "lock held (V08: upper bound)"],
        ratio_rows,
        title="Paired ratios, median (min-max)",
    )
    big = max(sizes)
    v, u = results[big]["V08"], results[big]["UPDATE"]
    whole = bl.median(bl.ratios([r["step"] for r in v], [r["step"] for r in u]))
    bl.table(
        ["target", "measured", "result"],
        [
            [f"V08 within {TARGET}x the hand-written UPDATE at {big:,} users (whole step)", f"{whole:.2f}x", bl.verdict(whole <= TARGET)],
        ],
    )


if __name__ == "__main__":
    main()
