"""V08: optional username column, backfilled for existing users, then unique."""

from __future__ import annotations

from phoenix_kit.sqltext import do_block
from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "usernames with backfill"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_users", "column username dropped", "username IS NOT NULL"),
)



def _bases(users: str) -> str:
    """``SELECT id, base`` for every user, ``base`` = spec V08 derive(email).

    The e-mail is cast to text first (citext overloads split_part/translate/
    regexp_replace case-insensitively). Lower-casing is ``translate`` with the
    PL/pgSQL variables ``v_from``/``v_to``: A-Z plus U+0130 and U+212A, the only
    non-ASCII code points whose full lower case contains ASCII (i, k). Every
    other non-ASCII character is deleted by the filter anyway, so this equals
    full Unicode lower-casing followed by the ASCII filter. ``OFFSET 0`` keeps
    the planner from inlining each step into the next, so every step is
    evaluated once per row.
    """
    return (
        "SELECT id, CASE WHEN length(s) < 3 THEN s || '_1' ELSE s END AS base FROM ("
        "SELECT id, CASE WHEN s ~ '^[a-z]' THEN s ELSE 'user_' || left(s, 25) END AS s FROM ("
        "SELECT \"id\" AS id, left(regexp_replace(replace(translate("
        "split_part(\"email\"::text, '@', 1), v_from, v_to), '.', '_'), '[^a-z0-9_]', '', 'g'), 30) AS s "
        f"FROM {users} OFFSET 0) AS d1 OFFSET 0) AS d2"
    )


# Backfill, in one DO block:
# (a) Set-based: the n-th user (by id, from 0) with a given base gets base
#     (n = 0) or base_n. If these names are all distinct they equal the
#     sequential rule's: at the first user u where they would differ, the n
#     earlier users sharing u's base hold base, base_1 .. base_(n-1), so the
#     sequential rule picks u's set-based name unless an earlier user already
#     holds it, which would be a duplicate.
# (b) Otherwise redo exactly with the sequential rule, server-side: walk users
#     by id, taking base or the first free base_k. The search for k starts
#     after the largest k already given to that base: every base_j below it
#     was taken when that k was chosen, and the taken set only grows. The temp
#     table is append-only (no row is updated twice in the transaction).
def up(schema: str) -> list[str]:
    users = f'{schema}."phoenix_kit_users"'
    bases = _bases(users)
    taken = 'pg_temp."phoenix_kit_v08_taken"'
    backfill = f"""DECLARE
  v_from text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  v_to text := 'abcdefghijklmnopqrstuvwxyz';
  v_name text;
  v_k bigint;
  r record;
BEGIN
  IF pg_catalog.getdatabaseencoding() = 'UTF8' THEN
    v_from := v_from || chr(304) || chr(8490);
    v_to := v_to || 'ik';
  END IF;

  UPDATE {users} AS u SET "username" = n.name
    FROM (SELECT id, CASE WHEN rn = 1 THEN base ELSE base || '_' || (rn - 1) END AS name
            FROM (SELECT id, base, row_number() OVER (PARTITION BY base ORDER BY id) AS rn
                    FROM ({bases}) AS b) AS ranked) AS n
   WHERE u."id" = n.id;

  IF NOT EXISTS (SELECT 1 FROM {users} GROUP BY "username" HAVING count(*) > 1) THEN
    RETURN;
  END IF;

  CREATE TEMPORARY TABLE "phoenix_kit_v08_taken"
    ("name" text PRIMARY KEY, "id" bigint NOT NULL, "base" text NOT NULL, "k" bigint);
  CREATE INDEX ON {taken} ("base", "k");
  FOR r IN SELECT id, base FROM ({bases}) AS b ORDER BY id LOOP
    v_k := NULL;
    IF EXISTS (SELECT 1 FROM {taken} WHERE "name" = r.base) THEN
      SELECT "k" INTO v_k FROM {taken}
       WHERE "base" = r.base AND "k" IS NOT NULL ORDER BY "k" DESC LIMIT 1;
      v_k := coalesce(v_k, 0) + 1;
      WHILE EXISTS (SELECT 1 FROM {taken} WHERE "name" = r.base || '_' || v_k) LOOP
        v_k := v_k + 1;
      END LOOP;
    END IF;
    v_name := CASE WHEN v_k IS NULL THEN r.base ELSE r.base || '_' || v_k END;
    INSERT INTO {taken} ("name", "id", "base", "k") VALUES (v_name, r.id, r.base, v_k);
  END LOOP;

  UPDATE {users} AS u SET "username" = t."name"
    FROM {taken} AS t
   WHERE u."id" = t."id" AND u."username" IS DISTINCT FROM t."name";
  DROP TABLE {taken};
END;"""
    return [
        f'ALTER TABLE {users} ADD COLUMN "username" varchar(255) NULL',
        do_block(backfill),
        f'CREATE UNIQUE INDEX "phoenix_kit_users_username_uidx" ON {users} ("username") '
        f'WHERE "username" IS NOT NULL',
    ]


def down(schema: str) -> list[str]:
    # The partial unique index goes with the column.
    return [f'ALTER TABLE {schema}."phoenix_kit_users" DROP COLUMN "username"']
