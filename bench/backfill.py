"""backfill: the V07 -> V08 step (username column, backfilled, unique) on many users.

Each run gets a new prefix installed at V07 with the exported SQL, then N users
(generate_series; e-mail ``First.Last<i>@Example.com``: ASCII, mixed case, a
dot, and collision-free: every derived username is distinct, so V08's
set-based pass is the whole backfill and its sequential fallback never runs),
then VACUUM ANALYZE and CHECKPOINT, all unmeasured. Then, timed:
  V08        ``phoenix_kit.up(version=8)`` on a bare autocommit psycopg connection
             with PHOENIX_KIT_ONLINE="never": the transactional step, one
             transaction: advisory lock, marker read, ALTER TABLE ADD COLUMN,
             the backfill DO block, CREATE UNIQUE INDEX, marker, COMMIT;
  online     the same call with PHOENIX_KIT_ONLINE="auto" (the default; every
             size here is above its 1 MiB threshold, and the run checks that it
             went online): a short locked transaction (column, helper tables,
             triggers), batches outside any exclusive lock (copy the e-mails'
             bases, 5000 users a batch; name users, 2000 families a batch),
             CREATE UNIQUE INDEX CONCURRENTLY, naming again, and a short locked
             transaction with the marker. Its phases are timed from the
             statements the connection sent; "lock held" is its two locked
             transactions (the first one includes the run's checks before it);
             ``--online 0`` leaves it out;
  UPDATE     the same ALTER TABLE and CREATE UNIQUE INDEX around a hand-written
             single UPDATE computing V08's derivation for ASCII e-mails (lower
             case, '.' -> '_', drop what is not [a-z0-9_], 30 characters,
             'user_' when not starting with a letter, '_1' when shorter than 3),
             in one transaction.
The usernames of all variants are compared on the first round of each size (must be equal).
Lock: ALTER TABLE ... ADD COLUMN takes ACCESS EXCLUSIVE on phoenix_kit_users
and keeps it to COMMIT, so the lock hold is measured as the time from sending
the ALTER to the end of the COMMIT. Runs alternate (order rotating each round).
Targets at 1,000,000 users: V08 within 2x the UPDATE; online within 3x V08.
"""

from __future__ import annotations

import time
from typing import Any

import benchlib as bl
from django.conf import settings

import phoenix_kit
from phoenix_kit.versions import v08

TARGET = 2.0
ONLINE_TARGET = 3.0

settings.configure(PHOENIX_KIT_ONLINE="auto")  # each run sets its own mode

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
        "pairs": bl.Option(3, 2, "rounds per size (each round runs every variant once)"),
        "online": bl.Option(1, 1, "1: also V08's online form; 0: only V08 and the UPDATE"),
    }
    with bl.Bench("backfill", __doc__, **options) as bench:
        sizes, pairs = bench.option("sizes"), bench.option("pairs")
        kinds = ["V08", "UPDATE"] + (["online"] if bench.option("online") else [])
        url = bench.database("db")
        names = bl.Names("bf")
        results: dict[int, dict[str, list[dict[str, float]]]] = {}
        batches: dict[int, dict[str, list[float]]] = {}
        with bl.recording_connection(url) as conn:
            for n in sizes:
                print(f"{n} users, {pairs} rounds of {', '.join(kinds)}; load {bl.load()}", flush=True)
                made: dict[str, list[str]] = {kind: [] for kind in kinds}
                batches[n] = {}

                def run(kind: str) -> dict[str, float]:
                    prefix = names.next()
                    setup(conn, prefix, n)
                    made[kind].append(prefix)
                    if kind == "V08":
                        return v08_step(conn, prefix, "never")
                    if kind == "online":
                        return online_step(conn, prefix, batches[n])
                    return update_step(conn, prefix)

                results[n] = bl.interleaved({kind: (lambda kind=kind: run(kind)) for kind in kinds}, pairs)
                for kind in kinds[1:]:
                    check_same(conn, made["V08"][0], made[kind][0], n, kind)
        report(sizes, results, batches)


def setup(conn: Any, prefix: str, n: int) -> None:
    bl.run_floor(conn, bl.floor_script(0, 7, prefix))
    users = f'"{prefix}"."phoenix_kit_users"'
    conn.execute(USERS.format(users=users, n=int(n)))
    conn.execute(f"VACUUM (ANALYZE) {users}")
    try:
        conn.execute("CHECKPOINT")  # every timed run starts with no dirty pages to write
    except Exception as exc:  # not allowed for this role: go on without
        print(f"  (no CHECKPOINT: {str(exc).strip()})")


def v08_step(conn: Any, prefix: str, mode: str) -> dict[str, float]:
    """The transactional step. Its statements go in one pipelined round trip, so only the whole
    step is timed; its LOCK TABLE comes first, so the lock is held for all of it but
    the advisory lock and marker read before it (an upper bound)."""
    settings.PHOENIX_KIT_ONLINE = mode
    start = time.perf_counter()
    phoenix_kit.up(version=8, prefix=prefix, using=conn, log=False)
    step = time.perf_counter() - start
    return {"step": step, "lock": step, "ADD COLUMN": NOT_TIMED, "backfill": NOT_TIMED, "index": NOT_TIMED}


def online_step(conn: Any, prefix: str, batches: dict[str, list[float]]) -> dict[str, float]:
    """The online form (PHOENIX_KIT_ONLINE="auto"), split into its phases; every batch's time goes to ``batches``."""
    settings.PHOENIX_KIT_ONLINE = "auto"
    conn.log = []
    start = time.perf_counter()
    phoenix_kit.up(version=8, prefix=prefix, using=conn, log=False)
    end = time.perf_counter()
    phases = bl.online_phases(8, prefix, conn.log, start, end)
    conn.log = None
    if phases is None:
        raise SystemExit(f"V08 on {prefix} did not take its online form under PHOENIX_KIT_ONLINE='auto'")
    timings = {"step": end - start, "lock": phases[0].end - phases[0].start + phases[-1].end - phases[-1].start}
    for phase in phases:
        timings[phase.name] = phase.end - phase.start
        if phase.durations:
            batches.setdefault(phase.name, []).extend(phase.durations)
    timings.update({"ADD COLUMN": NOT_TIMED, "backfill": NOT_TIMED, "index": NOT_TIMED})
    return timings


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


def check_same(conn: Any, a: str, b: str, n: int, kind: str) -> None:
    differ = bl.username_differences(conn, a, b)
    if differ != (0, n, n):
        raise SystemExit(f"V08 and {kind} disagree on {a}/{b}: (differing, rows, distinct) = {differ}")
    print(f"  usernames of V08 and {kind} are identical on {n} users (all distinct)")


PARTS = (("ADD COLUMN", bl.ms), ("backfill", lambda v: f"{v:.2f}"), ("index", lambda v: f"{v:.2f}"))


def report(sizes: list[int], results: dict[int, dict[str, list[dict[str, float]]]], batches: dict[int, dict[str, list[float]]]) -> None:
    rows, ratio_rows, phase_rows, batch_rows = [], [], [], []
    online = "online" in results[sizes[0]]
    for n in sizes:
        for kind, runs in results[n].items():
            med = {key: bl.median([r[key] for r in runs]) for key in ("step", "lock", "ADD COLUMN", "backfill", "index")}
            parts = [("-" if med[k] != med[k] else fmt(med[k])) for k, fmt in PARTS]  # NaN: not timed
            label = {"V08": "V08 (transactional)", "online": "V08 online"}.get(kind, kind)
            rows.append([f"{n:,}", label, len(runs), f"{med['step']:.2f}", f"{med['lock']:.2f}", *parts])
        v, u = results[n]["V08"], results[n]["UPDATE"]
        step = bl.ratios([r["step"] for r in v], [r["step"] for r in u])
        lock = bl.ratios([r["lock"] for r in v], [r["lock"] for r in u])
        row = [f"{n:,}", bl.ratio_summary(step), bl.ratio_summary(lock)]
        if online:
            o = results[n]["online"]
            row.append(bl.ratio_summary(bl.ratios([r["step"] for r in o], [r["step"] for r in v])))
            row.append(bl.ratio_summary(bl.ratios([r["lock"] for r in o], [r["lock"] for r in v])))
            for name in [k for k in o[0] if k not in ("step", "lock", "ADD COLUMN", "backfill", "index")]:
                phase_rows.append([f"{n:,}", name, f"{bl.median([r[name] for r in o]):.2f}", f"{min(r[name] for r in o):.2f}", f"{max(r[name] for r in o):.2f}"])
            for name, times in batches[n].items():
                batch_rows.append([f"{n:,}", name, len(times), bl.ms(bl.median(times)), bl.ms(sorted(times)[int(len(times) * 0.99)]), bl.ms(max(times))])
        ratio_rows.append(row)
    bl.table(
        ["users", "variant", "runs", "step s", "lock held s", "ADD COLUMN ms", "backfill s", "unique index s"],
        rows,
        title="V07 -> V08 (medians; lock held = ALTER TABLE sent to COMMIT done, ACCESS EXCLUSIVE on phoenix_kit_users; "
        "online: its two locked transactions)",
    )
    headers = ["users", "V08 / UPDATE, whole step", "lock held (V08: upper bound)"]
    if online:
        headers += ["online / V08, whole step", "online / V08, lock held"]
    bl.table(headers, ratio_rows, title="Paired ratios, median (min-max)")
    if online:
        bl.table(["users", "online phase", "median s", "min s", "max s"], phase_rows, title="V08 online, by phase (all runs)")
        bl.table(
            ["users", "batches of", "calls", "median ms", "p99 ms", "max ms"],
            batch_rows,
            title="V08 online, one call each (statement time on the client; the last call of a batched phase finds nothing left)",
        )
    big = max(sizes)
    v, u = results[big]["V08"], results[big]["UPDATE"]
    whole = bl.median(bl.ratios([r["step"] for r in v], [r["step"] for r in u]))
    verdicts = [
        [f"V08 within {TARGET}x the hand-written UPDATE at {big:,} users (whole step)", f"{whole:.2f}x", bl.verdict(whole <= TARGET)],
    ]
    if online:
        o = results[big]["online"]
        slower = bl.median(bl.ratios([r["step"] for r in o], [r["step"] for r in v]))
        verdicts.append([f"V08 online within {ONLINE_TARGET}x the transactional V08 at {big:,} users (whole step)",
                         f"{slower:.2f}x", bl.verdict(slower <= ONLINE_TARGET)])
    bl.table(["target", "measured", "result"], verdicts)


if __name__ == "__main__":
    main()
