"""The attacker of the security tests, what it plants, and how its calls are counted.

The attacker is a login role with no special attribute and only what a less
trusted role (the application's, a tenant's) plausibly has: CREATE on the
database and, when asked, CREATE on ``public``. Everything it plants records
each call in the attacker's own schema, as a row of ``calls`` (committed with the
caller's transaction, so it names the call) and a tick of the sequence
``attempts`` (sequences are never rolled back, so a call inside a transaction
that failed still counts); each call also tries ``ALTER ROLE <attacker>
SUPERUSER``, which succeeds when the caller is a superuser.

Roles belong to the whole server: each attacker has a fresh name and is
dropped (with everything it owns in its database) when its test ends, so the
tests also pass on a shared server and in parallel.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from phoenix_kit import embedded

# The observer's connections see only pg_catalog, so no planted object runs in the test's own queries.
PINNED = "-c search_path=pg_catalog"

# Operators and functions of the kinds phoenix_kit's SQL uses, and the types it applies them to.
OPERATORS = ("=", "<>", "<", ">", "<=", ">=", "||", "~", "!~", "~~", "+", "-")
TYPES = (
    "name", "character varying", "text", "oid", "regclass", "regnamespace", "bigint", "integer",
    "smallint", "boolean", '"char"', "character",
)  # fmt: skip
FUNCTIONS = (
    "quote_ident", "quote_literal", "length", "left", "right", "split_part", "replace", "translate",
    "regexp_replace", "lower", "upper", "obj_description", "now", "chr", "getdatabaseencoding",
    "current_setting", "set_config", "pg_advisory_xact_lock", "to_regnamespace", "to_regclass", "nextval",
    "md5", "to_jsonb", "jsonb_agg", "jsonb_populate_recordset", "setval",  # the test-database reset (pristine)
    "format_type", "pg_get_indexdef", "pg_get_constraintdef", "pg_get_expr", "pg_get_triggerdef",  # the doctor
    "pg_get_userbyid", "col_description", "aclexplode", "acldefault", "string_agg", "array_agg",
)  # fmt: skip
# Types that phoenix_kit names in its DDL and PL/pgSQL without a keyword of the grammar (so looked up on the path).
DOMAINS = ("text", "name", "jsonb", "bytea", "uuid")
# The planted objects the issue found resolving to the attacker's on the default search_path.
FOUND_IN_THE_ISSUE = (
    "function quote_ident(name)",
    "operator = (character varying, character varying)",
    "operator = (oid, regclass)",
    "operator || (text, bigint)",
    "operator = (character varying, text)",
)


def unique(stem: str) -> str:
    """A fresh lower-case identifier (a valid prefix while ``stem`` is at most 9 bytes)."""
    return f"{stem}_{uuid.uuid4().hex[:10]}"


def connect(conninfo: str, **options: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo, autocommit=True, **options)


def observer(conninfo: str) -> psycopg.Connection[Any]:
    """A superuser connection whose own queries cannot reach a planted object."""
    return connect(conninfo, options=PINNED)


def ident(*names: str) -> sql.Identifier:
    return sql.Identifier(*names)


@dataclass
class Attacker:
    """A role that plants objects; ``calls()`` and ``attempts()`` tell whether any of them ran."""

    name: str
    conninfo: str  # to connect as the attacker
    conn: psycopg.Connection[Any]  # the attacker's session (search_path pg_catalog)
    admin: psycopg.Connection[Any]  # a superuser observer

    @property
    def schema(self) -> str:
        """The attacker's own schema: its journal, and its plants for a hostile search_path."""
        return self.name

    @property
    def recorder(self) -> str:
        """The attacker's recording function, qualified: ``recorder('what')`` records a call (returns true)."""
        return f"{_quoted(self.conn, self.schema)}.record"

    def calls(self) -> list[str]:
        """What ran and was committed, in order ("<what> as <role>")."""
        query = sql.SQL("SELECT what || ' as ' || who FROM {} ORDER BY id").format(ident(self.schema, "calls"))
        return [what for (what,) in self.admin.execute(query)]

    def attempts(self) -> int:
        """How many calls ran, committed or not."""
        query = sql.SQL("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {}")
        return int(self.admin.execute(query.format(ident(self.schema, "attempts"))).fetchone()[0])

    def is_superuser(self) -> bool:
        return bool(self.admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [self.name]).fetchone()[0])

    def plant(self, schema: str, *, citext: str | None = None) -> list[str]:
        """Plant the matrix in ``schema`` (which the attacker may create in); returns what was planted.

        Operators: each of ``OPERATORS`` between each two of ``TYPES`` (and citext,
        the regtype ``citext`` when given) that has a meaning in pg_catalog, planted
        with the type pg_catalog's resolution returns, whether or not pg_catalog has
        an exact match (a path with pg_catalog last prefers the planted one even
        then). Functions: each of ``FUNCTIONS`` at pg_catalog's own signatures and
        with its text arguments as name, varchar or citext. The aggregate
        ``count(*)``. Domains named as the types in ``DOMAINS``. Each returns what
        pg_catalog's would, so the caller goes on as if nothing happened.
        """
        types = [*TYPES, *([citext] if citext else [])]
        alternatives = ["text", "name", "character varying", *([citext] if citext else [])]
        values = {
            "target": _quoted(self.conn, schema), "record": self.recorder, "key": self.name,
            "journal": f"{_quoted(self.conn, self.schema)}.planted", "operators": _array(OPERATORS),
            "types": _array(types), "functions": _array(FUNCTIONS), "alternatives": _array(alternatives),
            "domains": _array(DOMAINS),
        }  # fmt: skip
        with self.conn.transaction():
            for script in (_GUARD, _PLANT):
                self.conn.execute(re.sub(r"@(\w+)@", lambda match: values[match.group(1)], script))
            self.conn.execute("DROP FUNCTION pg_temp.planted_guard(text, integer)")
        query = sql.SQL("SELECT what FROM {} ORDER BY what").format(ident(self.schema, "planted"))
        planted = [what for (what,) in self.admin.execute(query)]
        self.admin.execute(sql.SQL("TRUNCATE {}").format(ident(self.schema, "planted")))
        return planted


def _quoted(conn: psycopg.Connection[Any], name: str) -> str:
    return sql.Identifier(name).as_string(conn)


def _array(items: tuple[str, ...] | list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]::text[]"


# Run by the attacker (search_path pg_catalog). @target@ is the schema planted in,
# @record@ the attacker's recording function and @key@ the prefix of the settings
# it uses to record each planted object once per transaction (the catalog scans
# of a hostile path call some of them thousands of times). Planted bodies name
# everything with its schema, so they never reach another planted object.
_PLANT = r"""
DO $plant$
DECLARE
  v_target text := '@target@';
  v_op text; v_l text; v_r text; v_ret text; v_label text; v_fn text; v_n integer := 0;
  v_alt text; v_call text[]; v_variant text[]; v_done text[] := '{}';
  p record; i integer;
BEGIN
  CREATE TEMPORARY TABLE planted_now (what text);
  -- Operators.
  FOREACH v_op IN ARRAY @operators@ LOOP
    FOREACH v_l IN ARRAY @types@ LOOP
      FOREACH v_r IN ARRAY @types@ LOOP
        BEGIN
          EXECUTE format('SELECT pg_typeof(NULL::%s OPERATOR(pg_catalog.%s) NULL::%s)::text', v_l, v_op, v_r) INTO v_ret;
        EXCEPTION WHEN OTHERS THEN
          CONTINUE;  -- no meaning in pg_catalog: phoenix_kit cannot be using it
        END;
        v_n := v_n + 1;
        v_fn := 'planted_' || v_n;
        v_label := format('operator %s (%s, %s)', v_op, format_type(v_l::regtype, NULL), format_type(v_r::regtype, NULL));
        EXECUTE format('CREATE FUNCTION %s.%I(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L', v_target, v_fn, v_l, v_r, v_ret,
                       format('BEGIN %s RETURN $1 OPERATOR(pg_catalog.%s) $2; END', pg_temp.planted_guard(v_label, v_n), v_op));
        BEGIN
          EXECUTE format('CREATE OPERATOR %s.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s.%I)', v_target, v_op, v_l, v_r, v_target, v_fn);
          INSERT INTO planted_now VALUES (v_label);
        EXCEPTION WHEN duplicate_function OR duplicate_object THEN
          NULL;  -- already there (citext's own, in its schema)
        END;
      END LOOP;
    END LOOP;
  END LOOP;
  -- Functions, at pg_catalog's signatures and with other text-like types.
  FOR p IN SELECT f.proname, f.prorettype, ARRAY(SELECT unnest(f.proargtypes::oid[])) AS args
             FROM pg_proc AS f
            WHERE f.pronamespace = 'pg_catalog'::regnamespace AND f.proname = ANY (@functions@)
              AND f.prokind = 'f' AND NOT f.proretset AND f.provariadic = 0
              AND NOT EXISTS (SELECT FROM unnest(f.proargtypes::oid[]) AS a(t) JOIN pg_type AS y ON y.oid = a.t WHERE y.typtype = 'p')
              AND NOT EXISTS (SELECT FROM pg_type AS y WHERE y.oid = f.prorettype AND y.typtype = 'p') LOOP
    FOREACH v_alt IN ARRAY @alternatives@ LOOP
      v_variant := '{}'; v_call := '{}';
      FOR i IN 1 .. coalesce(array_length(p.args, 1), 0) LOOP
        v_variant := v_variant || CASE WHEN p.args[i] = 'text'::regtype THEN v_alt ELSE format_type(p.args[i], NULL) END;
        v_call := v_call || format('$%s::%s', i, format_type(p.args[i], NULL));
      END LOOP;
      v_label := format('function %s(%s)', p.proname, array_to_string(ARRAY(SELECT format_type(t::regtype, NULL) FROM unnest(v_variant) AS t), ', '));
      CONTINUE WHEN v_label = ANY (v_done);
      v_done := v_done || v_label;
      v_n := v_n + 1;
      BEGIN
        EXECUTE format('CREATE FUNCTION %s.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
                       v_target, p.proname, array_to_string(v_variant, ', '), format_type(p.prorettype, NULL),
                       format('BEGIN %s RETURN pg_catalog.%I(%s); END', pg_temp.planted_guard(v_label, v_n), p.proname, array_to_string(v_call, ', ')));
        INSERT INTO planted_now VALUES (v_label);
      EXCEPTION WHEN duplicate_function THEN
        NULL;
      END;
    END LOOP;
  END LOOP;
  -- count(*).
  v_n := v_n + 1;
  EXECUTE format('CREATE FUNCTION %s.planted_count_step(bigint) RETURNS bigint LANGUAGE plpgsql AS %L',
                 v_target, format('BEGIN %s RETURN $1 OPERATOR(pg_catalog.+) 1; END', pg_temp.planted_guard('aggregate count(*)', v_n)));
  EXECUTE format('CREATE AGGREGATE %s.count(*) (SFUNC = %s.planted_count_step, STYPE = bigint, INITCOND = %L)', v_target, v_target, '0');
  INSERT INTO planted_now VALUES ('aggregate count(*)');
  -- Domains shadowing the types phoenix_kit names.
  FOREACH v_alt IN ARRAY @domains@ LOOP
    v_n := v_n + 1;
    EXECUTE format('CREATE DOMAIN %s.%I AS pg_catalog.%I CHECK (@record@(%L, %L))', v_target, v_alt, v_alt, 'domain ' || v_alt, '@key@.c' || v_n);
    INSERT INTO planted_now VALUES ('domain ' || v_alt);
  END LOOP;
  INSERT INTO @journal@ SELECT what FROM planted_now;
  DROP TABLE planted_now;
END
$plant$
"""

# Records a planted object's call, the first time in a transaction (the check is
# inlined, so the calls after the first cost next to nothing).
_GUARD = r"""
CREATE FUNCTION pg_temp.planted_guard(p_label text, p_n integer) RETURNS text LANGUAGE sql AS $guard$
  SELECT format('IF COALESCE(pg_catalog.current_setting(%L, true), %L) OPERATOR(pg_catalog.=) %L THEN PERFORM @record@(%L, %L); END IF;',
                '@key@.c' || p_n, '', '', p_label, '@key@.c' || p_n)
$guard$
"""


@contextmanager
def attacker(conninfo: str, *, create_on_public: bool = False) -> Iterator[Attacker]:
    """A new attacker on the database at ``conninfo``, with CREATE on it (and on ``public`` if asked)."""
    name = unique("evil")
    role = ident(name)
    database = conninfo_to_dict(conninfo)["dbname"]
    with observer(conninfo) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(role))
        try:
            admin.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(ident(str(database)), role))
            if create_on_public:
                admin.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(role))
            evil_conninfo = make_conninfo(conninfo, user=name)
            with connect(evil_conninfo, options=PINNED) as conn:
                assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
                _journal(conn, name)
                yield Attacker(name, evil_conninfo, conn, admin)
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s AND pid <> pg_backend_pid()", [name]
            )
            admin.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(role))
            admin.execute(sql.SQL("DROP ROLE {}").format(role))


def _journal(conn: psycopg.Connection[Any], name: str) -> None:
    schema = ident(name)
    escalate = sql.Literal(sql.SQL("ALTER ROLE {} SUPERUSER").format(ident(name)).as_string(conn))
    body = sql.SQL(
        """BEGIN
  IF COALESCE(current_setting(p_key, true), '') <> '' THEN
    RETURN true;  -- already recorded in this transaction
  END IF;
  PERFORM set_config(p_key, 'seen', true);
  PERFORM nextval({attempts});
  INSERT INTO {calls} (what, who) VALUES (p_what, current_user);
  BEGIN
    EXECUTE {escalate};
  EXCEPTION WHEN OTHERS THEN
    NULL;
  END;
  RETURN true;
END"""
    ).format(
        attempts=sql.Literal(f"{_quoted(conn, name)}.attempts"), calls=ident(name, "calls"), escalate=escalate
    )
    for statement in [
        sql.SQL("CREATE SCHEMA {}").format(schema),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO PUBLIC").format(schema),
        sql.SQL("CREATE TABLE {} (id bigserial PRIMARY KEY, what text NOT NULL, who text NOT NULL)").format(ident(name, "calls")),
        sql.SQL("GRANT SELECT, INSERT ON {} TO PUBLIC").format(ident(name, "calls")),
        sql.SQL("GRANT USAGE ON SEQUENCE {} TO PUBLIC").format(ident(name, "calls_id_seq")),
        sql.SQL("CREATE SEQUENCE {}").format(ident(name, "attempts")),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON SEQUENCE {} TO PUBLIC").format(ident(name, "attempts")),
        sql.SQL("CREATE TABLE {} (what text)").format(ident(name, "planted")),
        sql.SQL(
            "CREATE FUNCTION {}(p_what pg_catalog.text, p_key pg_catalog.text) RETURNS pg_catalog.bool LANGUAGE plpgsql "
            "SET search_path = pg_catalog, pg_temp AS {}"
        ).format(ident(name, "record"), sql.Literal(body.as_string(conn))),
    ]:
        conn.execute(statement)


@dataclass
class Tally:
    """Runs the superuser's paths one by one and keeps, per path, what of the attacker's ran."""

    attacker: Attacker
    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    _rows: int = 0
    _attempts: int = 0

    def run(self, label: str, action: Callable[[], object]) -> object:
        """Run ``action``; a raised exception is kept as the result (and reported)."""
        try:
            result: object = action()
        except Exception as exc:  # reported below: a path must work with the plants in place
            result = exc
        self.note(label, error=result if isinstance(result, BaseException) else None)
        return result

    def aside(self, action: Callable[[], object]) -> None:
        """Run a set-up step whose calls are another test's business: they are not reported."""
        action()
        self._rows, self._attempts = len(self.attacker.calls()), self.attacker.attempts()

    def report(self) -> str:
        """One line per path that ran something of the attacker's (or failed)."""
        lines = ["the attacker's objects ran (or a path failed with them planted):"]
        for label, entry in self.found.items():
            parts = [f"{what} x{n}" for what, n in entry.get("ran", {}).items()]
            if "ran in rolled-back transactions" in entry:
                parts.append(f"{entry['ran in rolled-back transactions']} more call(s) in rolled-back transactions")
            if "error" in entry:
                parts.append(f"failed: {entry['error']}")
            lines.append(f"  {label}: " + "; ".join(parts))
        return "\n".join(lines)

    def note(self, label: str, *, error: BaseException | str | None = None) -> None:
        calls, attempts = self.attacker.calls(), self.attacker.attempts()
        new, tries = calls[self._rows :], attempts - self._attempts
        self._rows, self._attempts = len(calls), attempts
        entry: dict[str, Any] = {}
        if new:
            entry["ran"] = dict(Counter(new))
        if tries > len(new):
            entry["ran in rolled-back transactions"] = tries - len(new)
        if error is not None:
            entry["error"] = error if isinstance(error, str) else described(error)
        if entry:
            self.found.setdefault(label, {}).update(entry)


def command(*args: str, **options: Any) -> str:
    """``call_command("phoenixkit_migrate", ...)`` (or another command as ``args[0]`` with ``name=``); its stdout."""
    from io import StringIO

    from django.core.management import call_command

    name = options.pop("name", "phoenixkit_migrate")
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def psql(
    conninfo: str,
    script: str,
    *,
    options: str | None = None,
    on_error_stop: bool = True,
    extra: tuple[str, ...] = (),
    application_name: str | None = None,
    file: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with psql as a user of the SQL export would (``options``: PGOPTIONS, e.g. a search_path)."""
    env = dict(os.environ)
    env.pop("PGOPTIONS", None)
    if options:
        env["PGOPTIONS"] = options
    if application_name:
        env["PGAPPNAME"] = application_name
    stop = ["-v", "ON_ERROR_STOP=1"] if on_error_stop else []
    command = [str(embedded.psql_path()), "-X", "-q", *stop, *extra, "-d", conninfo]
    if file is not None:
        with open(file, "w") as handle:
            handle.write(script)
        return subprocess.run([*command, "-f", file], capture_output=True, text=True, check=False, env=env)
    return subprocess.run(command, input=script, capture_output=True, text=True, check=False, env=env)


def pid_of(observer: psycopg.Connection[Any], application_name: str) -> int | None:
    row = observer.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name]).fetchone()
    return None if row is None else int(row[0])


class Background:
    """``action`` in a thread; ``result()`` joins it and returns its value or the exception it raised."""

    def __init__(self, action: Callable[[], object]) -> None:
        self._outcome: list[object] = []
        self._thread = threading.Thread(target=self._run, args=[action], daemon=True)
        self._thread.start()

    def _run(self, action: Callable[[], object]) -> None:
        try:
            self._outcome.append(action())
        except BaseException as exc:  # handed to the test
            self._outcome.append(exc)

    def result(self, timeout: float = 60.0) -> object:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the background action did not finish within {timeout}s"
        return self._outcome[0]


def outcome(action: Callable[[], object]) -> object:
    """The value ``action`` returns, or the exception it raises (so a test fails on an assertion)."""
    try:
        return action()
    except Exception as exc:
        return exc


def described(value: object) -> str:
    if isinstance(value, BaseException):
        return f"{type(value).__module__}.{type(value).__name__}: {' '.join(str(value).split())[:400]}"
    return repr(value)


def error_class(name: str) -> type[BaseException] | None:
    """``phoenix_kit.errors.<name>``, or None while this release does not define it."""
    from phoenix_kit import errors

    found = getattr(errors, name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def is_error(value: object, name: str) -> bool:
    """Whether ``value`` is an instance of ``phoenix_kit.errors.<name>``, a PhoenixKitError."""
    from phoenix_kit.errors import PhoenixKitError

    cls = error_class(name)
    return cls is not None and issubclass(cls, PhoenixKitError) and isinstance(value, cls)


@dataclass
class Planted:
    """A database where the attacker has planted, and how the superuser's sessions are opened there."""

    conninfo: str
    admin: psycopg.Connection[Any]  # superuser, search_path pg_catalog: sees, never runs, the plants
    evil: Attacker
    options: str | None  # the migrator's session options (None: the server's default search_path)

    def migrator(self) -> psycopg.Connection[Any]:
        """A superuser session as a deploy pipeline opens it."""
        return connect(self.conninfo, **({"options": self.options} if self.options else {}))

    def script(self, text: str) -> None:
        """Apply an exported script with psql in such a session; raise if psql fails."""
        result = psql(self.conninfo, text, options=self.options)
        if result.returncode != 0:
            raise AssertionError(f"psql failed: {result.stderr.strip()}")


# Where the attacker plants (see tests/security/test_search_path.py).
PLACES = ("user schema", "public", "hostile search_path")


@contextmanager
def planted_database(conninfo: str, place: str) -> Iterator[Planted]:
    """The empty database at ``conninfo`` with citext (installed by the superuser) and the attacker's plants at ``place``."""
    with observer(conninfo) as admin:
        admin.execute("CREATE EXTENSION citext SCHEMA public")
        with attacker(conninfo, create_on_public=place == "public") as evil:
            options = None
            if place == "user schema":
                (me,) = admin.execute("SELECT current_user").fetchone()
                evil.conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(me)))
                target = me
            elif place == "public":
                target = "public"
            else:
                target = evil.schema
                options = f"-c search_path={evil.schema},public,pg_catalog"
            found = evil.plant(target, citext="public.citext")
            assert [what for what in FOUND_IN_THE_ISSUE if what not in found] == []  # the test's own sanity
            yield Planted(conninfo, admin, evil, options)


def seed_users(admin: psycopg.Connection[Any], prefix: str) -> None:
    """Users whose set-based usernames collide (abc, abc_1, abc_1), so V08's sequential pass runs too."""
    admin.execute(
        sql.SQL(
            "INSERT INTO {} (email, hashed_password, inserted_at, updated_at) VALUES "
            "('abc@example.com', 'x', now(), now()), ('abc@example.org', 'x', now(), now()), "
            "('abc_1@example.com', 'x', now(), now())"
        ).format(sql.Identifier(prefix, "phoenix_kit_users"))
    )


def write_tokens(admin: psycopg.Connection[Any], prefix: str, tag: str = "") -> None:
    """What the application does once V16 is in: a session token and a pending registration."""
    tokens = sql.Identifier(prefix, "phoenix_kit_users_tokens")
    users = sql.Identifier(prefix, "phoenix_kit_users")
    admin.execute(
        sql.SQL(
            "INSERT INTO {} (user_id, token, context, inserted_at) VALUES "
            "((SELECT min(id) FROM {}), %s, 'session', now()), (NULL, %s, 'magic_link_registration', now())"
        ).format(tokens, users),
        [f"session{tag}".encode(), f"registration{tag}".encode()],
    )
