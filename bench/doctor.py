"""doctor: checking installs against a fresh install of their version (issue 15).

One scratch database gets 1000 installs at versions cycling 1..16 (each from the
exported SQL as one transaction, bench/benchlib.py floor_script). Then:

  build     the expected catalogs of every version (a scratch install rolled
            back), the first call of a process; timed alone, several times with
            the cache cleared;
  doctor    doctor_many() on the first N installs, N = 1, 10, 100, 1000, with the
            expected catalogs built;
  baseline  phoenix_kit.named() on the same N installs: the status listing, one
            catalog query for all of them (what reading the markers costs).

Doctor and baseline alternate, the order rotating each round. Reported: the
medians, the doctor per install, its ratio to the baseline, the statements it
sent, as round trips (the catalog queries do not grow with N; the seeded rows
take one statement per 200 tables), and every install that was not exact (a false positive: all
are clean). Targets: one install <= 50 ms once built, 1000 in <= 10 s,
no false positive.
"""

from __future__ import annotations

import benchlib as bl
from django.conf import settings

ONE_TARGET_S, FLEET_TARGET_S, FLEET = 0.050, 10.0, 1000


def main() -> None:
    options = {
        "sizes": bl.Option([1, 10, 100, FLEET], [1, 10], "numbers of installs checked"),
        "rounds": bl.Option(7, 3, "rounds at each size (one at 1000)"),
        "builds": bl.Option(5, 2, "times the expected catalogs are built"),
    }
    settings.configure()
    import phoenix_kit as pk
    from phoenix_kit import expected
    from phoenix_kit.db import PsycopgDatabase

    with bl.Bench("doctor", __doc__, **options) as bench:
        sizes: list[int] = bench.option("sizes")
        url = bench.database("fleet")
        names = bl.Names("dr").take(max(sizes))
        with bl.connect(url) as conn:
            for n, name in enumerate(names):
                bl.run_floor(conn, bl.floor_script(0, n % pk.latest_version() + 1, name))
            database = PsycopgDatabase(conn)

            builds = []
            for _ in range(bench.option("builds")):
                expected._cache.clear()
                builds.append(bl.timed(lambda: expected.expected_versions(database)))
            bl.table(["expected catalogs of V01-V16", "median ms", "min", "max"],
                     [["build (scratch install, rolled back)", bl.ms(bl.median(builds)), bl.ms(min(builds)), bl.ms(max(builds))]])

            rows, not_exact = [], 0
            for size in sizes:
                some = names[:size]
                rounds = 1 if size >= FLEET else bench.option("rounds")
                found = bl.interleaved({
                    "doctor": lambda some=some: bl.timed(lambda: pk.doctor_many(some, using=conn)),
                    "baseline": lambda some=some: bl.timed(lambda: pk.named(some, using=conn)),
                }, rounds)  # fmt: skip
                sent = bl.protocol_queries(conn, lambda some=some: pk.doctor_many(some, using=conn))
                not_exact += sum(d.status != 0 for d in pk.doctor_many(some, using=conn))
                doctor = bl.median(found["doctor"])
                target = ONE_TARGET_S if size == 1 else FLEET_TARGET_S if size == FLEET else None
                rows.append([
                    size, bl.ms(doctor), bl.ms(doctor / size), bl.ms(bl.median(found["baseline"])),
                    bl.ratio_summary(bl.ratios(found["doctor"], found["baseline"])), len(sent),
                    "" if target is None else f"<= {bl.ms(target)} ms: {bl.verdict(doctor <= target)}",
                ])  # fmt: skip
            bl.table(["installs", "doctor ms", "per install ms", "baseline ms", "doctor/baseline", "round trips", "target"], rows)
            print(f"\nfalse positives (installs not exact, all clean): {not_exact}: {bl.verdict(not_exact == 0)}")


if __name__ == "__main__":
    main()
