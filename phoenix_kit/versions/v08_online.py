"""V08's online form: the username backfill in short transactions, the unique index built concurrently.

The transactional V08 holds ACCESS EXCLUSIVE on ``phoenix_kit_users`` while it
names every user. Online, the names are computed beside the table and written
in small batches, while the application keeps reading and writing users:

1. one short transaction adds the column and the helpers below (so "V08 has
   started" is one fact: the helper table exists);
2. ``copy`` batches record each user's base (``derive(email)``) in the helper
   table ``phoenix_kit_v08_bases``, keyed by id; from then on triggers keep it
   exact as the application inserts, updates and deletes users;
3. ``rename`` batches name the users of the *families* listed in
   ``phoenix_kit_v08_marks``. A family is every base with the same root (the
   base without its trailing ``_<k>`` groups): a user's candidate names (base,
   base_1, ...) all have its base's root, so the sequential rule over all users
   equals the rule run family by family, and names of different families never
   collide. Copying and every application change mark the families they touch;
4. the unique index is built concurrently (usernames are unique in every
   committed state: a user who changes e-mail or id loses its name at once,
   and a batch writes a name only to a user still in the family it computed);
5. the final step transaction, under the step's brief lock, names the families
   still marked, drops the helpers and writes the marker.

Who waits for whom: the triggers only insert marks and write the helper row of
the user being changed, so application transactions never wait for each other
because of them. A batch holds row locks on the users it copies or renames
until it commits, and each of its own waits is bounded by the attempt timeout
(a timed-out batch rolls back and is retried), so an application write waits
at most one batch. Batches take the prefix's lock: two migrators never name the
same family at once.

A crash anywhere leaves the helpers (or nothing, before step 1 commits): the
next ``up`` resumes from the marks, the next ``down`` or a transactional up
undoes it (:func:`undo`).
"""

from __future__ import annotations

from phoenix_kit.sqltext import SAFE_SEARCH_PATH, do_block, quote_literal
from phoenix_kit.versions.v08 import (
    CHARACTER_DECLARATIONS,
    SEQUENTIAL_DECLARATIONS,
    SPECIAL_CHARACTERS,
    ranked_names,
    sequential_named,
    sequential_names,
    step5,
    step6,
    step7,
)

BASES = "phoenix_kit_v08_bases"
MARKS = "phoenix_kit_v08_marks"
FUNCTIONS = ("phoenix_kit_v08_base(text)", "phoenix_kit_v08_clear()", "phoenix_kit_v08_track()",
             "phoenix_kit_v08_copy(bigint, integer)", "phoenix_kit_v08_rename(integer)")
TRIGGERS = ("phoenix_kit_v08_clear", "phoenix_kit_v08_track", "phoenix_kit_v08_truncate")

# How many users one copy batch reads, and how many families one rename batch
# names: each batch stays well under the attempt timeout (measured in bench/).
COPY_BATCH = 5000
RENAME_BATCH = 2000

# The root of a base: without its trailing _<k> groups (k without leading zeros).
ROOT_PATTERN = "'(_[1-9][0-9]*)+$'"


def _root(base: str) -> str:
    return f"pg_catalog.regexp_replace({base}, {ROOT_PATTERN}, '')"


def _mark(schema: str, roots: str) -> str:
    """Mark the families of ``roots`` (a query) as to be named again.

    Marks are only ever inserted, never updated, so writers never wait for one
    another on them; a batch deletes the marks it can see, so a mark committed
    after its snapshot survives it.
    """
    return f"INSERT INTO {schema}.{MARKS} (root) SELECT DISTINCT r FROM ({roots}) AS m (r) WHERE r IS NOT NULL"


def _function(schema: str, signature: str, returns: str, body: str, *, definer: bool = False) -> str:
    security = "SECURITY DEFINER " if definer else ""
    return (
        f"CREATE FUNCTION {schema}.{signature} RETURNS {returns} LANGUAGE plpgsql {security}"
        f"SET search_path = {SAFE_SEARCH_PATH} AS {quote_literal(body)}"
    )


def _base_function(schema: str) -> str:
    """A DO block creating ``phoenix_kit_v08_base(email)``, with U+0130 and U+212A spelt as the encoding does.

    They are found once, here (finding them costs a subtransaction), and
    written into the function as literals.
    """
    body = f"""DECLARE
  s text := {step5("email", "<<idot>>", "<<kelvin>>")};
BEGIN
  s := {step6("s")};
  RETURN {step7("s")};
END"""
    create = f"CREATE FUNCTION {schema}.phoenix_kit_v08_base(email text) RETURNS text LANGUAGE plpgsql IMMUTABLE " \
             f"SET search_path = {SAFE_SEARCH_PATH} AS "
    return do_block(f"""DECLARE{CHARACTER_DECLARATIONS}
BEGIN{SPECIAL_CHARACTERS}
  EXECUTE {quote_literal(create)} || pg_catalog.quote_literal(pg_catalog.replace(pg_catalog.replace(
    {quote_literal(body)}, '<<idot>>', pg_catalog.quote_literal(v_idot)), '<<kelvin>>', pg_catalog.quote_literal(v_kelvin)));
END""")


def _rename_body(schema: str, users: str) -> str:
    # The families as one snapshot read them, in id order; every name below is computed from it.
    family = "SELECT id, base FROM ROWS FROM (pg_catalog.unnest(v_fids), pg_catalog.unnest(v_fbases)) AS f (id, base)"
    return f"""DECLARE
  v_roots text[];
  v_fids bigint[];
  v_fbases text[];
  v_names text[];{SEQUENTIAL_DECLARATIONS}
BEGIN
  WITH taken AS (
    DELETE FROM {schema}.{MARKS} WHERE root = ANY (ARRAY(
      SELECT DISTINCT root FROM {schema}.{MARKS} ORDER BY root LIMIT p_limit))
    RETURNING root)
  SELECT pg_catalog.array_agg(DISTINCT root) INTO v_roots FROM taken;
  IF v_roots IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT pg_catalog.array_agg(id ORDER BY id), pg_catalog.array_agg(base ORDER BY id)
    INTO v_fids, v_fbases FROM {schema}.{BASES} WHERE root = ANY (v_roots);

  SELECT pg_catalog.array_agg(name ORDER BY id) INTO v_names FROM ({ranked_names(family)}) AS n;
  IF EXISTS (SELECT FROM pg_catalog.unnest(v_names) AS x (name) GROUP BY name HAVING pg_catalog.count(*) > 1) THEN
{sequential_names(family)}
    SELECT pg_catalog.array_agg(name ORDER BY id) INTO v_names FROM ({sequential_named(family)}) AS n;
  END IF;

  -- Names move within the family only: clear the ones that change first, so
  -- the unique index (once built) never sees two users holding one name. A
  -- user whose e-mail changed since the snapshot is left alone (its trigger
  -- cleared its name and marked both families).
  UPDATE {users} AS u SET "username" = NULL
    FROM ROWS FROM (pg_catalog.unnest(v_fids), pg_catalog.unnest(v_names)) AS n (id, name)
   WHERE u."id" = n.id AND u."username" IS NOT NULL AND u."username"::text IS DISTINCT FROM n.name;
  UPDATE {users} AS u SET "username" = n.name
    FROM ROWS FROM (pg_catalog.unnest(v_fids), pg_catalog.unnest(v_names), pg_catalog.unnest(v_fbases)) AS n (id, name, base)
   WHERE u."id" = n.id AND u."username"::text IS DISTINCT FROM n.name
     AND {schema}.phoenix_kit_v08_base(u."email"::text) = n.base;
  RETURN pg_catalog.cardinality(v_roots);
END"""


def first(schema: str) -> list[str]:
    """The column and the helpers, in one short transaction under the step's lock."""
    users = f'{schema}."phoenix_kit_users"'
    base = f"{schema}.phoenix_kit_v08_base"
    track = f"""DECLARE
  v_old text;
  v_new text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM {schema}.{BASES};
    DELETE FROM {schema}.{MARKS};
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    v_old := {_root(f'{base}(OLD."email"::text)')};
    DELETE FROM {schema}.{BASES} WHERE id = OLD."id";
  END IF;
  IF TG_OP <> 'DELETE' THEN
    v_new := {base}(NEW."email"::text);
    INSERT INTO {schema}.{BASES} (id, base, root) VALUES (NEW."id", v_new, {_root("v_new")})
      ON CONFLICT (id) DO UPDATE SET base = EXCLUDED.base, root = EXCLUDED.root;
    v_new := {_root("v_new")};
  END IF;
  {_mark(schema, "VALUES (v_old), (v_new)")};
  RETURN NULL;
END"""
    clear = """BEGIN
  IF NEW."email"::text IS DISTINCT FROM OLD."email"::text OR NEW."id" IS DISTINCT FROM OLD."id" THEN
    NEW."username" := NULL;  -- its name belonged to its old family
  END IF;
  RETURN NEW;
END"""
    copy = f"""DECLARE
  v_last bigint;
BEGIN
  WITH batch AS (
    SELECT "id" AS id, {base}("email"::text) AS base FROM {users}
     WHERE "id" >= p_from ORDER BY "id" LIMIT p_limit FOR KEY SHARE),
  copied AS (
    INSERT INTO {schema}.{BASES} (id, base, root) SELECT id, base, {_root("base")} FROM batch
      ON CONFLICT (id) DO NOTHING  -- a trigger got there first, with the e-mail as it is now
    RETURNING root),
  marked AS ({_mark(schema, "SELECT root FROM copied")})
  SELECT pg_catalog.max(id) INTO v_last FROM batch;
  RETURN v_last;
END"""
    return [
        f'ALTER TABLE {users} ADD COLUMN "username" varchar(255) NULL',
        f"CREATE TABLE {schema}.{BASES} (id bigint PRIMARY KEY, base text COLLATE pg_catalog.\"C\" NOT NULL, "
        f"root text COLLATE pg_catalog.\"C\" NOT NULL)",
        f"CREATE INDEX {BASES}_root ON {schema}.{BASES} (root)",
        f"CREATE TABLE {schema}.{MARKS} (root text COLLATE pg_catalog.\"C\" NOT NULL)",
        f"CREATE INDEX {MARKS}_root ON {schema}.{MARKS} (root)",
        _base_function(schema),
        # The application's role runs the trigger and cannot write the helpers: it runs as ours.
        _function(schema, "phoenix_kit_v08_track()", "trigger", track, definer=True),
        _function(schema, "phoenix_kit_v08_clear()", "trigger", clear),
        _function(schema, "phoenix_kit_v08_copy(p_from bigint, p_limit integer)", "bigint", copy),
        _function(schema, "phoenix_kit_v08_rename(p_limit integer)", "integer", _rename_body(schema, users)),
        *(f"REVOKE ALL ON FUNCTION {schema}.{function} FROM PUBLIC" for function in FUNCTIONS),
        f'CREATE TRIGGER phoenix_kit_v08_clear BEFORE UPDATE OF "id", "email" ON {users} '
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.phoenix_kit_v08_clear()",
        f'CREATE TRIGGER phoenix_kit_v08_track AFTER INSERT OR DELETE OR UPDATE OF "id", "email" ON {users} '
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.phoenix_kit_v08_track()",
        f"CREATE TRIGGER phoenix_kit_v08_truncate AFTER TRUNCATE ON {users} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {schema}.phoenix_kit_v08_track()",
    ]


def started(schema_name: str) -> str:
    """SQL, one boolean: the first transaction has committed (the helper table exists)."""
    return (
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n "
        "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
        f"WHERE n.nspname OPERATOR(pg_catalog.=) {quote_literal(schema_name)}::pg_catalog.name "
        f"AND c.relname OPERATOR(pg_catalog.=) {quote_literal(BASES)}::pg_catalog.name)"
    )


def copy_call(schema: str) -> str:
    """One batch of step 2, from the id ``{first}``: returns the last id copied, NULL when no user is left."""
    return f"{schema}.phoenix_kit_v08_copy({{first}}, {COPY_BATCH})"


def rename_call(schema: str) -> str:
    """One batch of step 3: returns how many families it named, NULL when none is marked."""
    return f"{schema}.phoenix_kit_v08_rename({RENAME_BATCH})"


def _drop_helpers(schema: str) -> list[str]:
    users = f'{schema}."phoenix_kit_users"'
    return [
        *(f"DROP TRIGGER {trigger} ON {users}" for trigger in TRIGGERS),
        *(f"DROP FUNCTION {schema}.{function}" for function in FUNCTIONS),
        f"DROP TABLE {schema}.{MARKS}, {schema}.{BASES}",
    ]


def last(schema: str) -> list[str]:
    """Step 5, under the step's lock: the families still marked, then the helpers go."""
    finish = do_block(f"""
BEGIN
  LOOP
    EXIT WHEN {schema}.phoenix_kit_v08_rename({RENAME_BATCH}) IS NULL;
  END LOOP;
END""")
    return [finish, *_drop_helpers(schema)]


def undo(schema: str) -> list[str]:
    """Back to V07 from any interrupted state: the helpers, then the column (its index goes with it)."""
    return [*_drop_helpers(schema), f'ALTER TABLE {schema}."phoenix_kit_users" DROP COLUMN "username"']
