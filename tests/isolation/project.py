"""A throwaway Django project whose tests dirty PhoenixKit's tables and check they come back pristine.

Written into a temporary directory and run in subprocesses (``pytest`` and
``manage.py test``). Its settings read:

- ``DATABASE_URL``: the ``default`` alias (PostgreSQL);
- ``ISOLATION_TEST_RESET`` (:data:`RESET_ENV`): when set, ``PHOENIX_KIT_TEST_RESET``
  is ``True`` for ``"True"`` and ``False`` otherwise; unset, the setting is not
  defined at all (the default applies).

``PHOENIX_KIT_PREFIX`` is ``"public"``. The ``accounts`` app installs PhoenixKit
again from its own migrations: ``second`` at V16 (``0001_initial``) and ``legacy``
pinned at V10 (``0004_legacy``); it has a ``Profile`` model whose ``user_id`` is a
deferred foreign key to ``public.phoenix_kit_users`` (``0002_profile``) and a
``Plan`` model with one row made by a data migration (``0003_plan``), which
``serialized_rollback`` restores.

The test modules (``pt/test_isolation_pt.py`` for pytest, ``ut/test_ut.py`` for
``manage.py test``) are written in an order drawn from ``random.Random(seed)``:
tests that dirty and tests that assert the pristine state are shuffled, so the
assertions run after different dirtying tests from one run to the next. The seed
is in ``seed.txt`` and in every assertion message.

What a fresh install of each prefix looks like is read by the caller from a real
fresh install and written to ``fresh.json`` (:func:`write`); the project compares
against it, never against constants.
"""

from __future__ import annotations

import json
import random
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import MANAGE_PY

# Every install in the project's test databases, with its version: the configured
# prefix, and two made by migrations of the project's own app.
INSTALLS = {"public": 16, "second": 16, "legacy": 10}
PREFIXES = tuple(INSTALLS)
RESET_ENV = "ISOLATION_TEST_RESET"

# Shared by the project (as its module ``pkstate``) and by the harness (through
# :func:`state_module`): reads and dirties an install through any DB-API cursor,
# Django's or psycopg's.
STATE = r'''
"""Reads and dirties PhoenixKit installs through a DB-API cursor (Django's or psycopg's)."""

from __future__ import annotations

import json
from typing import Any

# Filled with now(): they may differ between two otherwise equal installs.
CLOCK_COLUMNS = ["inserted_at", "updated_at", "date_added", "date_updated"]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relations(cursor: Any, prefix: str, kinds: str) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind::text = ANY(%s::text[]) AND c.relname LIKE 'phoenix\\_kit%%' "
        "ORDER BY 1",
        [prefix, list(kinds)],
    )
    return [name for (name,) in cursor.fetchall()]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # Django's cursor leaves jsonb as text


def state(cursor: Any, prefix: str) -> dict[str, Any]:
    """The marker, every phoenix_kit table's rows (without clock columns) and each sequence's next value."""
    cursor.execute(
        "SELECT pg_catalog.obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = 'phoenix_kit' AND c.relkind IN ('r', 'p')",
        [prefix],
    )
    found = cursor.fetchone()
    rows: dict[str, list[Any]] = {}
    for table in _relations(cursor, prefix, "rp"):
        cursor.execute(
            f"SELECT to_jsonb(t) - %s::text[] FROM {_q(prefix)}.{_q(table)} AS t ORDER BY t.id", [CLOCK_COLUMNS]
        )
        rows[table] = [_json(row) for (row,) in cursor.fetchall()]
    next_ids: dict[str, int] = {}
    for sequence in _relations(cursor, prefix, "S"):
        qualified = f"{_q(prefix)}.{_q(sequence)}"
        cursor.execute(
            f"SELECT s.last_value, s.is_called, p.seqincrement FROM {qualified} AS s, pg_catalog.pg_sequence p "
            "WHERE p.seqrelid = %s::regclass",
            [qualified],
        )
        last, called, increment = cursor.fetchone()
        next_ids[sequence] = last + increment if called else last  # what nextval would return, without calling it
    return {"marker": None if found is None else found[0], "rows": rows, "next_ids": next_ids}


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 400 else text[:400] + "..."


def differences(actual: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """What differs between an install's :func:`state` and a fresh install's, one line each."""
    found = []
    if actual["marker"] != fresh["marker"]:
        found.append(f"marker {actual['marker']!r}, a fresh install has {fresh['marker']!r}")
    for kind in ("rows", "next_ids"):
        for name in sorted(set(actual[kind]) | set(fresh[kind])):
            if name not in actual[kind]:
                found.append(f"{kind}: {name} is missing")
            elif name not in fresh[kind]:
                found.append(f"{kind}: {name} is not in a fresh install")
            elif actual[kind][name] != fresh[kind][name]:
                mine, theirs = actual[kind][name], fresh[kind][name]
                if kind == "rows":
                    found.append(f"{name}: {len(mine)} rows {_short(mine)}; a fresh install has {len(theirs)} rows {_short(theirs)}")
                else:
                    found.append(f"{name}: next value {mine}, a fresh install's is {theirs}")
    return found


def _one(cursor: Any, statement: str, params: list[Any]) -> Any:
    cursor.execute(statement, params)
    return cursor.fetchone()[0]


def dirty(cursor: Any, prefix: str, tag: str, *, seeds: bool = True, rows: bool = True) -> int | None:
    """Insert, update and delete in ``prefix``'s tables; ``tag`` keeps the values unique. Returns the new user's id.

    ``seeds``: change the seeded rows (a setting updated, one deleted, a key added,
    a system role renamed, one deleted). ``rows``: a user with a token and a role
    assignment, a new role, a referral code, a blocklist entry.
    """
    p = _q(prefix)
    if seeds:
        cursor.execute(f"UPDATE {p}.phoenix_kit_settings SET value = %s, date_updated = now() WHERE key = 'time_zone'", [tag[:200]])
        cursor.execute(f"DELETE FROM {p}.phoenix_kit_settings WHERE key = 'date_format'")
        cursor.execute(
            f"INSERT INTO {p}.phoenix_kit_settings (key, value, module, date_added, date_updated) "
            "VALUES (%s, 'added by a test', 'tests', now(), now())",
            [f"test.{tag}"],
        )
        cursor.execute(f"UPDATE {p}.phoenix_kit_user_roles SET name = %s, updated_at = now() WHERE id = 1", [f"Owner {tag}"[:50]])
        cursor.execute(f"DELETE FROM {p}.phoenix_kit_user_roles WHERE id = 3")
    if not rows:
        return None
    user_id = _one(
        cursor,
        f"INSERT INTO {p}.phoenix_kit_users (email, hashed_password, first_name, inserted_at, updated_at) "
        "VALUES (%s, 'not a hash', %s, now(), now()) RETURNING id",
        [f"{tag}@example.com", tag[:100]],
    )
    cursor.execute(
        f"INSERT INTO {p}.phoenix_kit_users_tokens (user_id, token, context, inserted_at) VALUES (%s, %s, 'session', now())",
        [user_id, tag.encode()],
    )
    role_id = _one(
        cursor,
        f"INSERT INTO {p}.phoenix_kit_user_roles (name, description, is_system_role, inserted_at, updated_at) "
        "VALUES (%s, 'added by a test', false, now(), now()) RETURNING id",
        [f"role {tag}"[:50]],
    )
    for role in (2, role_id):
        cursor.execute(
            f"INSERT INTO {p}.phoenix_kit_user_role_assignments (user_id, role_id, assigned_at, inserted_at) "
            "VALUES (%s, %s, now(), now())",
            [user_id, role],
        )
    cursor.execute(
        f"INSERT INTO {p}.phoenix_kit_referral_codes (code, description, max_uses, created_by) VALUES (%s, 'test', 1, %s)",
        [tag[:200], user_id],
    )
    cursor.execute(f"INSERT INTO {p}.phoenix_kit_email_blocklist (email, reason) VALUES (%s, 'test')", [f"{tag}@blocked.example"])
    return int(user_id)


def has_user(cursor: Any, prefix: str, tag: str) -> bool:
    return bool(_one(cursor, f"SELECT count(*) FROM {_q(prefix)}.phoenix_kit_users WHERE email = %s", [f"{tag}@example.com"]))


# Per table: its sequence, the columns and values of one new row ({user}: the probe user's id).
PROBES = [
    ("phoenix_kit_users_tokens", "user_id, token, context, inserted_at", "{user}, 'probe'::bytea, 'session', now()"),
    ("phoenix_kit_user_roles", "name, is_system_role, inserted_at, updated_at", "'probe', false, now(), now()"),
    ("phoenix_kit_user_role_assignments", "user_id, role_id, assigned_at, inserted_at", "{user}, 1, now(), now()"),
    ("phoenix_kit_settings", "key, value, date_added, date_updated", "'probe', 'x', now(), now()"),
    ("phoenix_kit_referral_codes", "code, description, max_uses, created_by", "'probe', 'x', 1, {user}"),
]


def probe(cursor: Any, prefix: str) -> dict[str, int]:
    """Insert one row in several tables and return the id each got, by sequence (roll it back afterwards)."""
    p = _q(prefix)
    user = int(_one(
        cursor,
        f"INSERT INTO {p}.phoenix_kit_users (email, hashed_password, inserted_at, updated_at) "
        "VALUES ('probe@example.com', 'x', now(), now()) RETURNING id",
        [],
    ))
    got = {"phoenix_kit_users_id_seq": user}
    for table, columns, values in PROBES:
        statement = f"INSERT INTO {p}.{table} ({columns}) VALUES ({values.format(user=user)}) RETURNING id"
        got[f"{table}_id_seq"] = int(_one(cursor, statement, []))
    return got
'''

SETTINGS = f'''
import os

import environ

DATABASES = {{"default": environ.Env.db_url_config(os.environ["DATABASE_URL"])}}
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "phoenix_kit", "accounts"]
PHOENIX_KIT_PREFIX = "public"
if "{RESET_ENV}" in os.environ:
    PHOENIX_KIT_TEST_RESET = os.environ["{RESET_ENV}"] == "True"
TEST_RUNNER = "phoenix_kit.test_runner.PhoenixKitDiscoverRunner"
# Django's own remedy for serialized_rollback after other transactional tests: their
# flush re-creates content types and permissions under new ids, which restoring the
# serialized ones would then collide with. (Plain Django behaviour, reset or not.)
TEST_NON_SERIALIZED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
ROOT_URLCONF = "urls"
ALLOWED_HOSTS = ["*"]
STATIC_URL = "/static/"
SECRET_KEY = "isolation project"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
'''


URLS = '''
from django.db import connection
from django.http import HttpResponse
from django.urls import path

import pkstate
from pkhelpers import PREFIXES


def dirty(request, tag):
    """The live-server tests' dirt, written by the server thread's own connection."""
    with connection.cursor() as cursor:
        for prefix in PREFIXES:
            pkstate.dirty(cursor, prefix, tag)
    return HttpResponse("dirty")


urlpatterns = [path("dirty/<str:tag>/", dirty)]
'''

PYTEST_INI = """
[pytest]
DJANGO_SETTINGS_MODULE = project_settings
pythonpath = .
testpaths = pt
addopts = -rfE
filterwarnings = ignore:XDG_RUNTIME_DIR is not set
"""

HELPERS = '''
"""The project's test helpers, on Django's connection."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from django.db import connection

import pkstate

HERE = Path(__file__).resolve().parent
FRESH: dict[str, Any] = json.loads((HERE / "fresh.json").read_text())
SEED = (HERE / "seed.txt").read_text().strip()
PREFIXES = __PREFIXES__  # every install, the configured prefix first


def assert_pristine(where: str) -> None:
    """Every install exactly as a fresh one (clock columns aside), and the application's own table flushed."""
    from accounts.models import Profile

    problems = []
    with connection.cursor() as cursor:
        for prefix in PREFIXES:
            problems += [f"{prefix}: {p}" for p in pkstate.differences(pkstate.state(cursor, prefix), FRESH[prefix])]
    profiles = Profile.objects.count()
    if profiles:
        problems.append(f"accounts_profile has {profiles} rows")
    assert not problems, f"[seed {SEED}] not pristine in {where}:\\n" + "\\n".join(problems)


def dirty(prefix: str, tag: str, *, seeds: bool = True, rows: bool = True) -> int | None:
    with connection.cursor() as cursor:
        user_id = pkstate.dirty(cursor, prefix, tag, seeds=seeds, rows=rows)
        if rows:
            assert pkstate.has_user(cursor, prefix, tag), f"[seed {SEED}] the dirt did not land in {prefix}"
    return user_id


def dirty_all(tag: str) -> int:
    """Dirty every install; returns the new user's id in the configured prefix, ``public``."""
    user_ids = [dirty(prefix, tag) for prefix in PREFIXES]
    assert user_ids[0] is not None
    return user_ids[0]


def dirty_through(base_url: str, tag: str) -> None:
    """Dirty every install through the live server's view, then check its rows are there."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base_url}/dirty/{tag}/", timeout=60) as response:
        assert response.read() == b"dirty"
    with connection.cursor() as cursor:
        for prefix in PREFIXES:
            assert pkstate.has_user(cursor, prefix, tag), f"[seed {SEED}] the live server's rows are not in {prefix}"


def assert_next_ids(where: str) -> None:
    """Insert a row in several tables of each prefix: each gets the id it would get in a fresh install.

    Inside a ``db`` test these rows are rolled back, but the sequences stay advanced.
    """
    with connection.cursor() as cursor:
        for prefix in PREFIXES:
            got = pkstate.probe(cursor, prefix)
            expected = {name: FRESH[prefix]["next_ids"][name] for name in got}
            assert got == expected, f"[seed {SEED}] {prefix} in {where}: new rows got ids {got}, a fresh install gives {expected}"


def assert_plan_restored(where: str) -> None:
    """serialized_rollback at work: the plans serialized when the test database was set up are back.

    That is the accounts migration's "free" plan on a new test database; a kept one
    (--reuse-db, --keepdb) is serialized as the last run left it, flushed.
    """
    from django.core import serializers

    from accounts.models import Plan

    contents = getattr(connection, "_test_serialized_contents", None)
    assert contents is not None, f"[seed {SEED}] nothing was serialized for {where}"
    serialized = sorted(o.object.name for o in serializers.deserialize("json", contents) if isinstance(o.object, Plan))
    plans = sorted(Plan.objects.values_list("name", flat=True))
    assert plans == serialized, f"[seed {SEED}] serialized_rollback in {where}: plans {plans}, serialized {serialized}"


def late_db(request: Any) -> None:
    """The ``db`` fixture, requested at run time: pytest-django then runs the test after every transactional one."""
    request.getfixturevalue("db")
'''

ACCOUNTS_MODELS = '''
from django.db import models


class Profile(models.Model):
    user_id = models.BigIntegerField()


class Plan(models.Model):
    """One row made by a data migration: what serialized_rollback restores."""

    name = models.CharField(max_length=50, unique=True)
'''

ACCOUNTS_0001 = '''
from django.db import migrations

from phoenix_kit.operations import MigratePhoenixKit


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [MigratePhoenixKit(version=16, prefix="second", from_version=0)]
'''

ACCOUNTS_0002 = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("phoenix_kit", "0016_v16")]

    operations = [
        migrations.CreateModel(
            name="Profile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(
            "ALTER TABLE accounts_profile ADD CONSTRAINT profile_user_fk FOREIGN KEY (user_id) "
            "REFERENCES public.phoenix_kit_users (id) DEFERRABLE INITIALLY DEFERRED",
            migrations.RunSQL.noop,
        ),
    ]
'''


ACCOUNTS_0003 = '''
from django.db import migrations, models


def free_plan(apps, schema_editor):
    apps.get_model("accounts", "Plan").objects.using(schema_editor.connection.alias).create(name="free")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_profile")]

    operations = [
        migrations.CreateModel(
            name="Plan",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=50, unique=True)),
            ],
        ),
        migrations.RunPython(free_plan, migrations.RunPython.noop),
    ]
'''

ACCOUNTS_0004 = '''
from django.db import migrations

from phoenix_kit.operations import MigratePhoenixKit


class Migration(migrations.Migration):
    """An install pinned at an older version: pristine means as a fresh V10 install leaves it."""

    dependencies = [("accounts", "0003_plan")]

    operations = [MigratePhoenixKit(version=10, prefix="legacy", from_version=0)]
'''


@dataclass(frozen=True)
class Case:
    """One test function (pytest) or method (unittest): its name, whether it dirties, its source."""

    name: str
    dirties: bool
    source: str


def _case(name: str, dirties: bool, source: str, decorator: str = "") -> Case:
    return Case(name, dirties, decorator + textwrap.dedent(source).strip("\n") + "\n")


# ---------------------------------------------------------------- pytest

_TX = "@pytest.mark.django_db(transaction=True)\n"

PYTEST_HEADER = '''
"""Written by tests/isolation/project.py in an order drawn from the seed in seed.txt."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Profile
from pkhelpers import assert_next_ids, assert_plan_restored, assert_pristine, dirty, dirty_all, dirty_through, late_db
'''


def _pytest_shuffled() -> list[Case]:
    cases = [
        _case("test_dirty_everything", True, '''
            def test_dirty_everything():
                dirty_all("everything")
        ''', _TX),
        _case("test_dirty_other_installs_only_with_transactional_db", True, '''
            def test_dirty_other_installs_only_with_transactional_db(transactional_db):
                dirty("second", "others-only")
                dirty("legacy", "others-only")
        '''),
        _case("test_dirty_seeded_rows_of_public_only", True, '''
            def test_dirty_seeded_rows_of_public_only():
                dirty("public", "seeds", rows=False)
        ''', _TX),
        _case("test_dirty_profile_with_fk_to_a_new_user", True, '''
            def test_dirty_profile_with_fk_to_a_new_user():
                user_id = dirty("public", "profile")
                Profile.objects.create(user_id=user_id)
                with pytest.raises(IntegrityError):  # the foreign key is real: a profile of no user fails at commit
                    with transaction.atomic():
                        Profile.objects.create(user_id=10**12)
                assert list(Profile.objects.values_list("user_id", flat=True)) == [user_id]
        ''', _TX),
        _case("test_dirty_with_serialized_rollback", True, '''
            @pytest.mark.django_db(transaction=True, serialized_rollback=True)
            def test_dirty_with_serialized_rollback():
                assert_plan_restored("test_dirty_with_serialized_rollback")
                Profile.objects.create(user_id=dirty_all("serialized"))
        '''),
        _case("test_dirty_with_available_apps", True, '''
            @pytest.mark.django_db(transaction=True, available_apps=["accounts"])
            def test_dirty_with_available_apps():
                Profile.objects.create(user_id=dirty_all("apps"))
        '''),
        _case("test_dirty_through_the_live_server", True, '''
            def test_dirty_through_the_live_server(live_server):
                dirty_through(live_server.url, "live")
        '''),
        _case("test_pristine_with_serialized_rollback", False, '''
            @pytest.mark.django_db(transaction=True, serialized_rollback=True)
            def test_pristine_with_serialized_rollback():
                assert_pristine("test_pristine_with_serialized_rollback")
                assert_plan_restored("test_pristine_with_serialized_rollback")
        '''),
        _case("test_pristine_with_available_apps", False, '''
            @pytest.mark.django_db(transaction=True, available_apps=["accounts"])
            def test_pristine_with_available_apps():
                assert_pristine("test_pristine_with_available_apps")
        '''),
    ]
    for i in (1, 2, 3, 4):
        cases.append(_case(f"test_pristine_transactional_{i}", False, f'''
            def test_pristine_transactional_{i}():
                assert_pristine("test_pristine_transactional_{i}")
        ''', _TX))
    for i in (1, 2):
        cases.append(_case(f"test_pristine_db_{i}", False, f'''
            @pytest.mark.django_db
            def test_pristine_db_{i}():
                assert_pristine("test_pristine_db_{i}")
        '''))
        cases.append(_case(f"test_pristine_late_{i}", False, f'''
            def test_pristine_late_{i}(request):
                late_db(request)
                assert_pristine("test_pristine_late_{i}")
        '''))
    return cases


# Fixed at the end of the file. pytest-django runs ``db`` tests, then transactional
# ones, then the rest (the ``late`` ones), each group in file order: so
# test_dirty_last is the last transactional test to run and
# test_pristine_late_next_ids the very last test. It is the only test that uses
# sequences without a transactional reset after it, so a kept (--reuse-db)
# database ends with advanced sequences.
PYTEST_TAIL = [
    _case("test_pristine_late_next_ids", False, '''
        def test_pristine_late_next_ids(request):
            late_db(request)
            assert_pristine("test_pristine_late_next_ids")
            assert_next_ids("test_pristine_late_next_ids")
    '''),
    _case("test_dirty_last", True, '''
        def test_dirty_last():
            """The file's last test: the last transactional test of the session."""
            dirty_all("last")
    ''', _TX),
]

# The tests that run before any transactional one: they see what the session start left.
PYTEST_EARLY = ("test_pristine_db_1", "test_pristine_db_2")
# The tests that run after every transactional one.
PYTEST_LATE = ("test_pristine_late_1", "test_pristine_late_2", "test_pristine_late_next_ids")


def pytest_cases(seed: int) -> list[Case]:
    cases = _pytest_shuffled()
    random.Random(seed).shuffle(cases)
    return cases + PYTEST_TAIL


# ---------------------------------------------------------------- manage.py test

UNITTEST_HEADER = '''
"""Written by tests/isolation/project.py in an order drawn from the seed in seed.txt."""

from django.test import LiveServerTestCase, TestCase, TransactionTestCase

from accounts.models import Profile
from phoenix_kit.testcases import PhoenixKitTransactionTestCase, ResetPhoenixKitMixin
from pkhelpers import assert_plan_restored, assert_pristine, dirty, dirty_all, dirty_through
'''


@dataclass(frozen=True)
class UnitClass:
    name: str
    bases: str
    body: str  # class attributes, indented by 4
    methods: list[Case]
    shuffled: bool = True


def _method(name: str, dirties: bool, body: str) -> Case:
    return Case(name, dirties, textwrap.dedent(body).strip("\n") + "\n")


def _pristine(where: str) -> Case:
    return _method("pristine", False, f'assert_pristine("{where}")')


def _unit_classes() -> list[UnitClass]:
    return [
        UnitClass("StartsPristine", "TestCase", "", [_pristine("StartsPristine 1"), _pristine("StartsPristine 2")]),
        UnitClass("StartsPristineToo", "TestCase", "", [_pristine("StartsPristineToo")]),
        # Not shuffled: dirty, then check, whatever the seed (the control relies on it).
        UnitClass(
            "DirtyThenCheck", "PhoenixKitTransactionTestCase", "",
            [_method("a_dirty", True, 'dirty_all("ut-then")'), _method("b_pristine", False, 'assert_pristine("DirtyThenCheck")')],
            shuffled=False,
        ),
        UnitClass(
            "WithMixin", "ResetPhoenixKitMixin, TransactionTestCase", "",
            [
                _method("dirty_everything", True, 'dirty_all("ut-mixin")'),
                _method("dirty_other_installs_only", True, 'dirty("second", "ut-others"); dirty("legacy", "ut-others")'),
                _method("dirty_seeds_only", True, 'dirty("public", "ut-seeds", rows=False)'),
                _pristine("WithMixin 1"),
                _pristine("WithMixin 2"),
            ],
        ),
        UnitClass(
            "SerializedRollback", "PhoenixKitTransactionTestCase", "    serialized_rollback = True\n",
            [_method("dirty_profile", True, '''
                assert_plan_restored("SerializedRollback dirty")
                Profile.objects.create(user_id=dirty_all("ut-serialized"))
            '''),
             _method("pristine", False, '''
                assert_pristine("SerializedRollback")
                assert_plan_restored("SerializedRollback")
            ''')],
        ),
        UnitClass(
            "AvailableApps", "PhoenixKitTransactionTestCase", '    available_apps = ["accounts"]\n',
            [_method("dirty_profile", True, 'Profile.objects.create(user_id=dirty_all("ut-apps"))'),
             _pristine("AvailableApps")],
        ),
        UnitClass(
            "LiveServer", "ResetPhoenixKitMixin, LiveServerTestCase", "",
            [_method("dirty_through_the_server", True, 'dirty_through(self.live_server_url, "ut-live")'),
             _pristine("LiveServer")],
        ),
    ]


def unittest_source(seed: int) -> str:
    """The unittest module. Methods are numbered in a seeded order (unittest sorts by name)."""
    rng = random.Random(seed)
    parts = [textwrap.dedent(UNITTEST_HEADER).strip("\n") + "\n"]
    for unit in _unit_classes():
        methods = list(unit.methods)
        if unit.shuffled:
            rng.shuffle(methods)
        lines = [f"\n\nclass {unit.name}({unit.bases}):\n", unit.body + ("\n" if unit.body else "")]
        for index, method in enumerate(methods):
            name = f"test_{index}_{method.name}" if unit.shuffled else f"test_{method.name}"
            lines.append(("\n" if index else "") + f"    def {name}(self):\n" + textwrap.indent(method.source, "        "))
        parts.append("".join(lines))
    return "".join(parts)


UNITTEST_COUNT = sum(len(unit.methods) for unit in _unit_classes())


# ---------------------------------------------------------------- writing it

def pytest_source(seed: int) -> str:
    parts = [textwrap.dedent(PYTEST_HEADER).strip("\n") + "\n"]
    parts += ["\n\n" + case.source for case in pytest_cases(seed)]
    return "".join(parts)


PYTEST_COUNT = len(_pytest_shuffled()) + len(PYTEST_TAIL)
PYTEST_PRISTINE = frozenset(case.name for case in _pytest_shuffled() + PYTEST_TAIL if not case.dirties)


def _text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


def write(directory: Path, seed: int, fresh: dict[str, Any]) -> Path:
    """The project in ``directory``; ``fresh``: :func:`read_state` of a fresh install, by prefix."""
    assert sorted(fresh) == sorted(PREFIXES), f"a fresh install of each of {PREFIXES}"
    _text(directory / "manage.py", MANAGE_PY)
    _text(directory / "project_settings.py", SETTINGS)
    _text(directory / "urls.py", URLS)
    _text(directory / "pytest.ini", PYTEST_INI)
    _text(directory / "conftest.py", "")
    _text(directory / "pkstate.py", STATE)
    _text(directory / "pkhelpers.py", HELPERS.replace("__PREFIXES__", repr(PREFIXES)))
    _text(directory / "fresh.json", json.dumps(fresh, indent=1, sort_keys=True))
    _text(directory / "seed.txt", f"{seed}\n")
    _text(directory / "accounts" / "__init__.py", "")
    _text(directory / "accounts" / "models.py", ACCOUNTS_MODELS)
    _text(directory / "accounts" / "migrations" / "__init__.py", "")
    _text(directory / "accounts" / "migrations" / "0001_initial.py", ACCOUNTS_0001)
    _text(directory / "accounts" / "migrations" / "0002_profile.py", ACCOUNTS_0002)
    _text(directory / "accounts" / "migrations" / "0003_plan.py", ACCOUNTS_0003)
    _text(directory / "accounts" / "migrations" / "0004_legacy.py", ACCOUNTS_0004)
    _text(directory / "pt" / "test_isolation_pt.py", pytest_source(seed))
    _text(directory / "ut" / "__init__.py", "")
    _text(directory / "ut" / "test_ut.py", unittest_source(seed))
    return directory


def state_module() -> types.ModuleType:
    """The project's ``pkstate`` module, for the harness's own psycopg connections."""
    module = types.ModuleType("isolation_pkstate")
    exec(compile(STATE, "pkstate.py", "exec"), module.__dict__)  # noqa: S102 - our own source
    return module


_PKSTATE = state_module()


def read_state(conn: Any, prefix: str) -> dict[str, Any]:
    """:func:`pkstate.state` of ``prefix`` on a psycopg connection."""
    with conn.cursor() as cursor:
        return dict(_PKSTATE.state(cursor, prefix))


def differences(actual: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    return list(_PKSTATE.differences(actual, fresh))


def dirty(conn: Any, prefix: str, tag: str) -> None:
    """:func:`pkstate.dirty` of ``prefix`` on a psycopg connection (autocommit: the dirt is committed)."""
    with conn.cursor() as cursor:
        _PKSTATE.dirty(cursor, prefix, tag)
