"""test_reset: the reset of phoenix_kit's tables after a transactional test, against Django's own flush.

A scratch database is migrated with the example project's apps (admin, auth,
contenttypes, sessions, messages, staticfiles) and phoenix_kit in "public".
Each round runs, in rotating order: Django's flush as ``TransactionTestCase``
does it after a test that wrote one ``auth_user`` row (``flush`` with the
``post_migrate`` signal, which recreates content types and permissions), and the
reset (``phoenix_kit.pristine``, on a connection of its own as the test plugin
keeps it) after a test that wrote into 0, 1, 3 or all phoenix_kit tables. Only
the reset or the flush is timed, not the writes before it. Targets: reset <= 5
ms median and <= 20 ms p95 for up to 3 tables, <= 1 ms for none, never slower
than the flush.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import benchlib as bl
import django
import environ
import psycopg
from django.conf import settings

from phoenix_kit.db import OwnDatabase, PsycopgDatabase
from phoenix_kit.pristine import Pristine, read_fresh

USER = "INSERT INTO public.phoenix_kit_users (email, hashed_password, inserted_at, updated_at) VALUES ('b@example.com', 'x', now(), now())"
THREE = [
    USER,
    "INSERT INTO public.phoenix_kit_users_tokens (user_id, token, context, inserted_at) "
    "SELECT id, 'tok'::bytea, 'session', now() FROM public.phoenix_kit_users",
    "UPDATE public.phoenix_kit_settings SET value = 'changed' WHERE key = 'time_zone'",
]


def main() -> None:
    options = {"rounds": bl.Option(300, 30, "rounds; each runs every variant once")}
    with bl.Bench("test_reset", __doc__, **options) as bench:
        url = bench.database("db")
        _django(url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        with bl.connect(url) as writer, bl.connect(url) as own:
            reset = Pristine(OwnDatabase(own))
            reset.reset()  # learns the fresh state once, as at the start of a test run
            every = _every_table(writer)

            def after(statements: list[str]) -> Callable[[], float]:
                def run() -> float:
                    for statement in statements:
                        writer.execute(statement)
                    return bl.timed(reset.reset)

                return run

            def flush() -> float:
                connection.cursor().execute("INSERT INTO auth_user (password, is_superuser, username, first_name, "
                                            "last_name, email, is_staff, is_active, date_joined) "
                                            "VALUES ('x', false, 'u', '', '', '', false, true, now())")  # fmt: skip
                return bl.timed(lambda: call_command(
                    "flush", verbosity=0, interactive=False, database="default", reset_sequences=False,
                    allow_cascade=False, inhibit_post_migrate=False,
                ))  # fmt: skip

            variants = {
                "Django's flush (example project's apps)": flush,
                "reset, 0 tables written": after([]),
                "reset, 1 table": after([USER]),
                "reset, 3 tables": after(THREE),
                f"reset, all {len(every)} tables": after(every),
            }
            results = bl.interleaved(variants, bench.option("rounds"))
        base = results["Django's flush (example project's apps)"]
        rows = []
        for name, times in results.items():
            ordered = sorted(times)
            p95 = ordered[int(len(ordered) * 0.95) - 1]
            vs = "" if times is base else bl.ratio_summary(bl.ratios(times, base))
            rows.append([name, bl.ms(bl.median(times)), bl.ms(p95), vs])
        bl.table(["what", "median ms", "p95 ms", "paired ratio to the flush"], rows)
        within = lambda name, median, p95: bl.median(results[name]) <= median and sorted(results[name])[int(len(results[name]) * 0.95) - 1] <= p95  # noqa: E731
        print(f"\nreset of up to 3 tables <= 5 ms median, <= 20 ms p95: "
              f"{bl.verdict(within('reset, 1 table', 0.005, 0.020) and within('reset, 3 tables', 0.005, 0.020))}")
        print(f"reset of 0 tables <= 1 ms median: {bl.verdict(bl.median(results['reset, 0 tables written']) <= 0.001)}")
        slowest = max(bl.median(bl.ratios(times, base)) for times in results.values() if times is not base)
        print(f"never slower than the flush (largest median paired ratio {slowest:.2f}x): {bl.verdict(slowest <= 1.0)}")


def _django(url: str) -> None:
    settings.configure(
        DATABASES={"default": environ.Env.db_url_config(url)},
        INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
            "django.contrib.messages", "django.contrib.staticfiles", "phoenix_kit",
        ],
        SECRET_KEY="phoenix_kit benchmarks", USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )  # fmt: skip
    django.setup()


def _every_table(conn: psycopg.Connection[Any]) -> list[str]:
    """One row into each phoenix_kit table of "public", referenced tables first: every NOT NULL or foreign-key column filled."""
    statements = []
    for table in read_fresh(PsycopgDatabase(conn), "public", 16).tables:
        if not table.name.startswith("phoenix_kit"):
            continue  # Django's tables share "public"
        columns = conn.execute(
            """SELECT a.attname, t.typname, (SELECT f.relname FROM pg_constraint AS k JOIN pg_class AS f ON f.oid = k.confrelid
                      WHERE k.conrelid = a.attrelid AND k.contype = 'f' AND a.attnum = ANY (k.conkey) LIMIT 1)
                 FROM pg_attribute AS a JOIN pg_type AS t ON t.oid = a.atttypid
                WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
            [f"public.{table.name}"],
        ).fetchall()
        needed = [(name, kind, target) for name, kind, target in columns if target or _required(conn, table.name, name)]
        if not needed:
            statements.append(f'INSERT INTO public."{table.name}" DEFAULT VALUES')
            continue
        names = ", ".join(f'"{name}"' for name, _, _ in needed)
        values = ", ".join(_value(table.name, name, kind, target) for name, kind, target in needed)
        statements.append(f'INSERT INTO public."{table.name}" ({names}) VALUES ({values})')
    return statements


def _required(conn: psycopg.Connection[Any], table: str, column: str) -> bool:
    (required,) = conn.execute(
        "SELECT attnotnull AND NOT atthasdef FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
        [f"public.{table}", column],
    ).fetchone() or (False,)
    return bool(required)


def _value(table: str, column: str, kind: str, target: str | None) -> str:
    if target:
        return f'(SELECT min(id) FROM public."{target}")'
    literal = {"bool": "false", "bytea": "'\\x00'::bytea", "jsonb": "'{}'", "json": "'{}'", "uuid": "gen_random_uuid()"}
    if kind in literal:
        return literal[kind]
    if kind.startswith(("int", "float", "numeric")):
        return "1"
    if kind.startswith("timestamp") or kind == "date":
        return "now()"
    return f"'{table[12:16]}-{column}@example.com'"  # text, varchar, citext: unique per table and column


if __name__ == "__main__":
    main()
