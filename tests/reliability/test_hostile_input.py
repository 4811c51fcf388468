"""Hostile arguments never reach the server (issue 5, item 5).

A property-based test drives every public call with arbitrary prefixes (any
text, SQL injection, quotes, backslashes, NUL, newlines, unicode look-alikes,
64-byte strings, ``pg_*`` and ``information_schema`` in any case, non-strings) and arbitrary objects as versions,
``create_schema``, ``lock_timeout`` and ``log``. Each call must either succeed
with arguments that are valid by the documented rules, or raise ``ValueError``
or ``TypeError`` before sending anything.

"Before sending anything" is not taken on trust, twice over:

* the connection is a logging wrapper: a psycopg ``cursor_factory`` whose cursors
  record every statement the core executes;
* the server is asked: right before each call the test runs a sentinel
  statement on that connection, and after a rejected call
  ``pg_stat_activity`` (read from another session) must still show the
  sentinel as that backend's last statement, with the session idle, not in a
  transaction. This also catches what no cursor sees (psycopg's own BEGIN).

Valid calls are really run, in a scratch database: reads must only read, and
moves must leave a prefix whose catalog matches its marker.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import phoenix_kit as pk
from tests.reliability.common import connect
from tests.reliability.references import LATEST, References, assert_consistent

ATTACKS = [
    "public; DROP SCHEMA public CASCADE; --", 'auth"; DROP TABLE x; --', "auth' OR '1'='1", "x'); DROP TABLE t; --",
    "auth$$; DROP TABLE x; $$", "$phoenix_kit$", "auth\\", "auth\\'", "'; SELECT pg_sleep(10); --", "auth/*", "*/",
    "%s", "%(prefix)s", "{prefix}", "auth\x00", "\x00", "auth\n", "\nauth", "auth\r\nDROP", "au th", "auth\t",
    "аuth", "ａuth", "auth\u200b", "pub\u0131ic", "\u212auth", "\ufb01le", "public\u00a0", "PUBLIC", "Auth", "ǅ",
    "a" * 63, "a" * 64, "_" * 64, "-" * 64, "é" * 10, "é" * 32, "pg_auth", "pg_catalog", "pg_toast", "PG_toast",
    "Pg_x", "information_schema", "INFORMATION_SCHEMA", "auth-", "acme‐corp", "acme‑corp", "acme−corp",
    "select", "user", "1auth", "Tenant5", "acme-corp", "", " ", "-", "'", '"', "\\", ";", "public", "auth", "_",
]
POOL = [None, "public", "auth", "hostile_a", "_h", "Tenant-5", "h" * 63]  # valid prefixes that moves may use
MAX_LOCK_TIMEOUT = (2**31 - 1) / 1000
_sentinels = itertools.count(1)


class IntSubclass(int):
    pass


class TracingCursor(psycopg.Cursor[Any]):
    """Records every statement before psycopg sends it."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self.connection.traced.append(query if isinstance(query, str) else query.as_string(self.connection))  # type: ignore[attr-defined]
        return super().execute(query, params, **kwargs)


class TracingConnection(psycopg.Connection[Any]):
    traced: list[str]


@dataclass(frozen=True)
class Call:
    name: str
    kwargs: dict[str, Any]

    def __call__(self, conn: psycopg.Connection[Any]) -> Any:
        function: Callable[..., Any] = getattr(pk, self.name)
        if self.name in ("plan", "sql"):
            return function(**self.kwargs)
        return function(using=conn, **self.kwargs)


def _anything() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=8), st.booleans(),
        st.lists(st.integers(0, 20), max_size=2), st.text(max_size=4),
        st.sampled_from([Decimal(3), Fraction(3, 1), 3 + 0j, (3,), frozenset({3}), object(), b"16", "16", 16.0]),
    )


HOSTILE_PREFIX = st.one_of(
    st.text(),  # arbitrary unicode, NUL and newlines included
    st.sampled_from(ATTACKS),
    st.builds(lambda a, b: a + b, st.sampled_from([p for p in POOL if p] + ATTACKS), st.sampled_from(ATTACKS)),
    st.from_regex(r"[A-Za-z0-9_-]{64,90}", fullmatch=True),  # too long
    st.from_regex(r"[pP][gG]_[A-Za-z0-9_-]{0,10}", fullmatch=True),
    _anything(),
)
HOSTILE_VERSION = st.one_of(
    st.integers(-3, LATEST + 3).flatmap(lambda n: st.sampled_from([n, IntSubclass(n)])), st.integers(), _anything()
)
HOSTILE_CREATE_SCHEMA = st.sampled_from([0, 1, "yes", "", 1.0, [], object()])
HOSTILE_LOCK_TIMEOUT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**12),
    st.sampled_from([True, False, "5", Decimal(1), 0, -1.0, MAX_LOCK_TIMEOUT * 1.01, float("nan"), float("inf")]),
)
HOSTILE_LOG = st.sampled_from(["yes", 1, object(), b"log"])

# (valid, hostile) values of each argument
ARGUMENTS: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "move_prefix": (st.sampled_from(POOL), HOSTILE_PREFIX),
    "read_prefix": (st.from_regex(r"[A-Za-z0-9_-]{1,63}", fullmatch=True) | st.sampled_from(POOL), HOSTILE_PREFIX),
    "version": (st.none() | st.integers(1, LATEST), HOSTILE_VERSION),
    "from_version": (st.integers(0, LATEST), HOSTILE_VERSION | st.none()),
    "to_version": (st.integers(0, LATEST), HOSTILE_VERSION | st.none()),
    "create_schema": (st.sampled_from([None, True, False]), HOSTILE_CREATE_SCHEMA),
    "lock_timeout": (st.none() | st.floats(0.001, 3600) | st.integers(1, 3600) | st.just(MAX_LOCK_TIMEOUT), HOSTILE_LOCK_TIMEOUT),
    "log": (st.sampled_from([False, None, io.StringIO()]), HOSTILE_LOG),
}
SIGNATURES = {
    "up": ["version", "move_prefix", "create_schema", "lock_timeout", "log"],
    "down": ["version", "move_prefix", "lock_timeout", "log"],
    "ensure_current": ["move_prefix", "log"],
    "migrated_version": ["read_prefix"],
    "sql": ["from_version", "to_version", "read_prefix", "create_schema"],
    "plan": ["from_version", "to_version"],
}


@st.composite
def calls(draw: st.DrawFn) -> Call:
    """A call whose arguments are valid except a random subset (possibly none), drawn hostile."""
    name = draw(st.sampled_from(sorted(SIGNATURES)))
    arguments = SIGNATURES[name]
    # Mostly one bad argument among valid ones, so each check is reached on its own.
    hostile = draw(st.permutations(arguments))[: draw(st.sampled_from([0, 1, 1, 1, 2, len(arguments)]))]
    kwargs = {}
    for argument in arguments:
        valid, bad = ARGUMENTS[argument]
        kwargs[argument.replace("move_", "").replace("read_", "")] = draw(bad if argument in hostile else valid)
    return Call(name, kwargs)


# The documented rules, written out independently of the code under test.


def _valid_prefix(value: Any) -> bool:
    if value is None:  # settings.PHOENIX_KIT_PREFIX, unset in the test settings: "public"
        return True
    return (
        isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,63}", value) is not None
        and not value.lower().startswith("pg_") and value.lower() != "information_schema"
    )


def _valid_version(value: Any, lowest: int, none_ok: bool) -> bool:
    if value is None:
        return none_ok
    return isinstance(value, int) and not isinstance(value, bool) and lowest <= value <= LATEST


def _valid(call: Call) -> bool:
    k = call.kwargs
    checks = [_valid_prefix(k.get("prefix"))]
    if call.name in ("plan", "sql"):
        checks += [_valid_version(k["from_version"], 0, False), _valid_version(k["to_version"], 0, False)]
    if call.name in ("up", "down"):
        checks.append(_valid_version(k["version"], 1, True))
        timeout = k["lock_timeout"]
        checks.append(timeout is None or (
            isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout <= MAX_LOCK_TIMEOUT
        ))
    if "create_schema" in k:
        checks.append(k["create_schema"] is None or isinstance(k["create_schema"], bool))
    if "log" in k:
        checks.append(k["log"] is True or k["log"] is False or k["log"] is None or hasattr(k["log"], "write"))
    return all(checks)


@pytest.fixture(scope="module")
def scratch(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest.fixture(scope="module")
def traced(scratch: str) -> Iterator[TracingConnection]:
    with TracingConnection.connect(scratch, autocommit=True, cursor_factory=TracingCursor) as conn:
        conn.traced = []
        yield conn


@pytest.fixture(scope="module")
def observer(scratch: str) -> Iterator[psycopg.Connection[Any]]:
    with connect(scratch) as conn:
        yield conn


def _note(text: str) -> None:
    """Count outcomes in hypothesis' statistics (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        event(text)


class Checker:
    def __init__(self, conn: TracingConnection, observer: psycopg.Connection[Any], references: References):
        self.conn, self.observer, self.references = conn, observer, references

    def _last_statement(self) -> tuple[str, str]:
        row = self.observer.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s", [self.conn.info.backend_pid]).fetchone()
        assert row is not None
        return row[0], row[1]

    def check(self, call: Call) -> None:
        sentinel = f"SELECT 'phoenix_kit hostile input sentinel {next(_sentinels)}'"
        self.conn.execute(sentinel)
        self.conn.traced.clear()
        try:
            result = call(self.conn)
        except (ValueError, TypeError) as exc:
            assert self.conn.traced == [], f"{call} sent {self.conn.traced} before raising {exc!r}"
            assert self._last_statement() == ("idle", sentinel), f"{call}: the server saw SQL before {exc!r}"
            assert not _valid(call), f"{call} was refused: {exc!r}"
            _note(f"{call.name}: refused")
            return
        except pk.SchemaMissingError:  # documented: create_schema=False and no schema; decided on a read
            assert call.name == "up" and call.kwargs["create_schema"] is False
            assert all(_is_read(s) for s in self.conn.traced), self.conn.traced
            _note("up: schema missing")
            return
        assert _valid(call), f"{call} was accepted and returned {result!r}"
        _note(f"{call.name}: ran")
        self._check_success(call, result)

    def _check_success(self, call: Call, result: Any) -> None:
        assert self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if call.name in ("plan", "sql"):
            assert self.conn.traced == [] and self._last_statement()[1].startswith("SELECT 'phoenix_kit hostile")
            return
        if call.name == "migrated_version":
            assert isinstance(result, int) and all(_is_read(s) for s in self.conn.traced)
            return
        prefix = call.kwargs["prefix"] or "public"
        assert result == pk.migrated_version(prefix, using=self.conn)
        assert assert_consistent(self.conn, prefix, self.references, ours=prefix != "public") == result


def _check(traced: TracingConnection, observer: psycopg.Connection[Any], references: References) -> Checker:
    return Checker(traced, observer, references)


COMMON = settings(
    deadline=None, database=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@settings(COMMON, max_examples=200)
@given(call=calls())
def test_hostile_arguments_are_refused_before_any_sql(
    traced: TracingConnection, observer: psycopg.Connection[Any], references: References, call: Call
) -> None:
    _check(traced, observer, references).check(call)


@pytest.mark.slow
@settings(COMMON, max_examples=3000)
@given(call=calls())
def test_hostile_arguments_are_refused_before_any_sql_long(
    traced: TracingConnection, observer: psycopg.Connection[Any], references: References, call: Call
) -> None:
    _check(traced, observer, references).check(call)


@pytest.mark.parametrize("prefix", ATTACKS)
def test_every_listed_attack_on_every_call(
    traced: TracingConnection, observer: psycopg.Connection[Any], references: References, prefix: str
) -> None:
    """The hand-written hostile prefixes, each on every call (hypothesis samples them; this is exhaustive)."""
    checker = _check(traced, observer, references)
    for call in (
        Call("migrated_version", {"prefix": prefix}),
        Call("sql", {"from_version": 0, "to_version": LATEST, "prefix": prefix, "create_schema": None}),
        Call("up", {"version": 2, "prefix": prefix, "log": False, "lock_timeout": None}),
        Call("down", {"version": None, "prefix": prefix, "log": False, "lock_timeout": None}),
        Call("ensure_current", {"prefix": prefix, "log": False}),
    ):
        checker.check(call)


@pytest.mark.parametrize("using", [None, 42, object(), b"default", ["default"]])
def test_a_bad_connection_is_a_type_error(using: Any) -> None:
    with pytest.raises(TypeError, match="using"):
        pk.up(prefix="auth", using=using)


def test_an_unknown_alias_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Unknown database alias 'no_such_alias'"):
        pk.migrated_version("auth", using="no_such_alias")


def _is_read(statement: str) -> bool:
    """A query (the runner's one-query check before a run starts WITH its roles CTE)."""
    return statement.lstrip().upper().startswith(("SELECT", "WITH"))
