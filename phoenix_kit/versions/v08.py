"""V08: optional username column, backfilled for existing users, then unique."""

from __future__ import annotations

from phoenix_kit.sqltext import do_block
from phoenix_kit.versions._base import Loss

DESCRIPTION: str = "usernames with backfill"

DOWN_LOSES: tuple[Loss, ...] = (
    Loss("phoenix_kit_users", "column username dropped", "username IS NOT NULL"),
)



def step5(email: str, idot: str, kelvin: str) -> str:
    """SQL: steps 1-5 of spec V08 ``derive`` on the text expression ``email``.

    Lower-casing: ``idot`` and ``kelvin`` hold U+0130 and U+212A as the server
    encoding spells them (one character, or in SQL_ASCII their UTF-8 bytes; ''
    where the encoding has no such character: replace() then changes nothing),
    replaced by 'i' and 'k' first, then A-Z by ``translate``. Those two are the
    only non-ASCII code points whose full lower case contains ASCII; every other
    non-ASCII character is deleted by the filter anyway, so this equals full
    Unicode lower-casing followed by the ASCII filter. The filter works on
    characters, and every byte of a multibyte character is >= 0x80 in all
    server encodings (in SQL_ASCII each byte is a character), so no stray ASCII
    can come out of one. Every function is pg_catalog-qualified.
    """
    return (
        "pg_catalog.left(pg_catalog.regexp_replace(pg_catalog.replace(pg_catalog.translate("
        f"pg_catalog.replace(pg_catalog.replace(pg_catalog.split_part({email}, '@', 1), {idot}, 'i'), "
        f"{kelvin}, 'k'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '.', '_'), "
        "'[^a-z0-9_]', '', 'g'), 30)"
    )


def step6(s: str) -> str:
    """SQL: step 6 of ``derive`` on the step-5 result ``s`` (named twice: a column or variable)."""
    return f"CASE WHEN {s} ~ '^[a-z]' THEN {s} ELSE 'user_' || pg_catalog.left({s}, 25) END"


def step7(s: str) -> str:
    """SQL: step 7 of ``derive`` on the step-6 result ``s``."""
    return f"CASE WHEN pg_catalog.length({s}) < 3 THEN {s} || '_1' ELSE {s} END"


EMAIL = '"email"::text'


def _bases(users: str) -> str:
    """``SELECT id, base`` for every user, ``base`` = spec V08 derive(email).

    The e-mail is cast to text first (citext overloads split_part/translate/
    regexp_replace case-insensitively); ``v_idot`` and ``v_kelvin`` are the
    PL/pgSQL variables of :func:`backfill_declarations`. ``OFFSET 0`` keeps the
    planner from inlining each step into the next, so every step is evaluated
    once per row. Operators resolve in pg_catalog: steps run with the
    search_path pinned to it.
    """
    return (
        f"SELECT id, {step7('s')} AS base FROM ("
        f"SELECT id, {step6('s')} AS s FROM ("
        f'SELECT "id" AS id, {step5(EMAIL, "v_idot", "v_kelvin")} AS s '

        f"FROM {users} OFFSET 0) AS d1 OFFSET 0) AS d2"
    )


# Backfill, in one DO block:
# (a) Set-based: the n-th user (by id, from 0) with a given base gets base
#     (n = 0) or base_n. If these names are all distinct they equal the
#     sequential rule's: at the first user u where they would differ, the n
#     earlier users sharing u's base hold base, base_1 .. base_(n-1), so the
#     sequential rule picks u's set-based name unless an earlier user already
#     holds it, which would be a duplicate. Only a suffixed name equal to
#     another user's base can do that (x, x, x_1: x_1 twice).
# (b) Otherwise redo exactly with the sequential rule, in PL/pgSQL arrays
#     (no table, so no TEMPORARY or CREATE privilege is needed; every step is
#     O(1) amortized, after one O(n log n) query). Each distinct base is a node
#     numbered 1..m. A name base_k (k written without leading zeros, k >= 1)
#     splits back into (base, k) in exactly one way, at its last '_'. So name
#     X can be taken only by the first user whose base is X ("own") or by a
#     user of base P as its P_k when X = P_k ("child" k of node P).
#     Walking users by id: a user of node P takes P if nobody took it
#     (v_taken); otherwise the first free P_k, k > v_last[P]: every P_j below
#     v_last[P] was taken when v_last[P] was chosen, and the taken set only
#     grows. Such a P_k is taken iff it is a child node already taken (its own
#     user came first, or a user of P took it: then k <= v_last[P]); a P_k that
#     is nobody's base is free. P's children, sorted by k, are scanned with a
#     pointer (v_ptr) that only moves forward, so each child is passed once.
#     A k of 19 digits or more cannot be reached (k <= number of users).
CHARACTER_DECLARATIONS = """
  v_idot text := '';
  v_kelvin text := '';"""

SEQUENTIAL_DECLARATIONS = """
  v_ids bigint[];
  v_nodes integer[];
  v_child_k bigint[];
  v_child integer[];
  v_ptr integer[];
  v_end integer[];
  v_taken boolean[];
  v_last bigint[];
  v_ks bigint[];
  v_p integer;
  v_j integer;
  v_k bigint;"""

# U+0130 and U+212A in the server encoding, where it has them; a database
# that has no conversion from UTF8 (MULE_INTERNAL) cannot spell them either.
SPECIAL_CHARACTERS = """
  BEGIN
    v_idot := pg_catalog.convert_from(pg_catalog.decode('c4b0', 'hex'), 'UTF8');
  EXCEPTION WHEN untranslatable_character OR character_not_in_repertoire OR undefined_function THEN
    v_idot := '';
  END;
  BEGIN
    v_kelvin := pg_catalog.convert_from(pg_catalog.decode('e284aa', 'hex'), 'UTF8');
  EXCEPTION WHEN untranslatable_character OR character_not_in_repertoire OR undefined_function THEN
    v_kelvin := '';
  END;"""


def ranked_names(bases: str) -> str:
    """``SELECT id, name``: the set-based names (a) of the users of ``bases``."""
    return (
        "SELECT id, CASE WHEN rn = 1 THEN base ELSE base || '_' || (rn - 1)::text END AS name "
        "FROM (SELECT id, base, pg_catalog.row_number() OVER (PARTITION BY base ORDER BY id) AS rn "
        f"FROM ({bases}) AS b) AS ranked"
    )


def sequential_names(bases: str) -> str:
    """PL/pgSQL: the exact sequential rule (b) over ``bases``; leaves ids in ``v_ids``, suffixes in ``v_ks``."""
    return f"""
  WITH b AS MATERIALIZED ({bases}),
  node AS (SELECT base, pg_catalog.row_number() OVER (ORDER BY base COLLATE pg_catalog."C")::integer AS no
             FROM b GROUP BY base),
  split AS (SELECT no, base, pg_catalog.substring(base, '_([1-9][0-9]{{0,17}})$') AS digits FROM node),
  child AS (SELECT parent.no AS parent, s.digits::bigint AS k, s.no AS no,
                   pg_catalog.row_number() OVER (ORDER BY parent.no, s.digits::bigint)::integer AS j
              FROM split AS s
              JOIN node AS parent
                ON parent.base = pg_catalog.left(s.base, -(pg_catalog.length(s.digits) + 1))
             WHERE s.digits IS NOT NULL),
  span AS (SELECT parent, pg_catalog.min(j) AS lo, pg_catalog.max(j) AS hi FROM child GROUP BY parent)
  SELECT (SELECT pg_catalog.array_agg(b.id ORDER BY b.id) FROM b),
         (SELECT pg_catalog.array_agg(node.no ORDER BY b.id) FROM b JOIN node ON node.base = b.base),
         (SELECT pg_catalog.array_agg(k ORDER BY j) FROM child),
         (SELECT pg_catalog.array_agg(no ORDER BY j) FROM child),
         (SELECT pg_catalog.array_agg(coalesce(span.lo, 1) ORDER BY node.no)
            FROM node LEFT JOIN span ON span.parent = node.no),
         (SELECT pg_catalog.array_agg(coalesce(span.hi, 0) ORDER BY node.no)
            FROM node LEFT JOIN span ON span.parent = node.no)
    INTO v_ids, v_nodes, v_child_k, v_child, v_ptr, v_end;

  v_taken := pg_catalog.array_fill(false, ARRAY[pg_catalog.cardinality(v_ptr)]);
  v_last := pg_catalog.array_fill(0::bigint, ARRAY[pg_catalog.cardinality(v_ptr)]);
  v_ks := pg_catalog.array_fill(0::bigint, ARRAY[pg_catalog.cardinality(v_ids)]);
  FOR i IN 1 .. coalesce(pg_catalog.cardinality(v_ids), 0) LOOP
    v_p := v_nodes[i];
    IF NOT v_taken[v_p] THEN
      v_taken[v_p] := true;  -- the base itself (k = 0)
    ELSE
      v_k := v_last[v_p] + 1;
      v_j := v_ptr[v_p];  -- P's first child with a k above v_last[P], if any
      LOOP
        EXIT WHEN v_j > v_end[v_p] OR v_child_k[v_j] > v_k;  -- P_k is nobody's base: free
        v_j := v_j + 1;  -- P_k is the base of node v_child[v_j - 1]
        IF NOT v_taken[v_child[v_j - 1]] THEN
          v_taken[v_child[v_j - 1]] := true;
          EXIT;
        END IF;
        v_k := v_k + 1;
      END LOOP;
      v_ptr[v_p] := v_j;
      v_last[v_p] := v_k;
      v_ks[i] := v_k;
    END IF;
  END LOOP;"""


def sequential_named(bases: str) -> str:
    """``SELECT id, name`` from the sequential rule's ``v_ids`` and ``v_ks`` and the users of ``bases``."""
    return (
        "SELECT b.id, CASE WHEN x.k = 0 THEN b.base ELSE b.base || '_' || x.k::text END AS name "
        f"FROM ({bases}) AS b "
        "JOIN ROWS FROM (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_ks)) AS x (id, k) ON x.id = b.id"
    )


def up(schema: str) -> list[str]:
    users = f'{schema}."phoenix_kit_users"'
    bases = _bases(users)
    backfill = f"""DECLARE{CHARACTER_DECLARATIONS}{SEQUENTIAL_DECLARATIONS}
BEGIN{SPECIAL_CHARACTERS}

  UPDATE {users} AS u SET "username" = n.name FROM ({ranked_names(bases)}) AS n WHERE u."id" = n.id;

  IF NOT EXISTS (SELECT 1 FROM {users} GROUP BY "username" HAVING pg_catalog.count(*) > 1) THEN
    RETURN;
  END IF;
{sequential_names(bases)}

  UPDATE {users} AS u SET "username" = n.name FROM ({sequential_named(bases)}) AS n
   WHERE u."id" = n.id AND u."username"::text IS DISTINCT FROM n.name;
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
