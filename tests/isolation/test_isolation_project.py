"""Test isolation for PhoenixKit's tables: every transactional test leaves every install pristine.

Each test runs the throwaway project of tests/isolation/project.py (pytest or
``manage.py test`` in a subprocess) on a database of its own. The project's
tests dirty the configured prefix (``public``) and two installs made by
migrations of the project's own app (``second`` at V16, ``legacy`` at V10) and
check, in a seeded random order, that later tests find each exactly as a fresh
install of its version (``PHOENIX_KIT_ISOLATION_SEED`` replays an order).
Between runs the harness dirties the kept test databases with psycopg, as an
interrupted run would; the control runs with ``PHOENIX_KIT_TEST_RESET = False``
must fail in an asserting test.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import phoenix_kit as pk
from tests.isolation import project
from tests.isolation.conftest import IsolationProject, database_exists

_SUMMARY = re.compile(r"^(FAILED|ERROR) [^\s:]+::(\w+)", re.MULTILINE)
_DJANGO_PROBLEM = re.compile(r"^(FAIL|ERROR): (\w+) \(", re.MULTILINE)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"--- stdout\n{result.stdout[-12000:]}\n--- stderr\n{result.stderr[-6000:]}"


def pytest_passed(iso: IsolationProject, result: subprocess.CompletedProcess[str], what: str) -> None:
    context = f"[seed {iso.seed}] {what}"
    assert result.returncode == 0, f"{context}: exit {result.returncode}\n{_output(result)}"
    assert re.search(rf"\b{project.PYTEST_COUNT} passed\b", result.stdout), f"{context}\n{_output(result)}"
    assert not re.search(r"\b(failed|errors?)\b", result.stdout.splitlines()[-1]), f"{context}\n{_output(result)}"


def pytest_problems(result: subprocess.CompletedProcess[str]) -> tuple[set[str], set[str]]:
    """The names of the failed tests and of the tests with errors, from the short summary (``-rfE``)."""
    failed = {name for kind, name in _SUMMARY.findall(result.stdout) if kind == "FAILED"}
    errors = {name for kind, name in _SUMMARY.findall(result.stdout) if kind == "ERROR"}
    return failed, errors


def django_passed(iso: IsolationProject, result: subprocess.CompletedProcess[str], what: str) -> None:
    context = f"[seed {iso.seed}] {what}"
    assert result.returncode == 0, f"{context}: exit {result.returncode}\n{_output(result)}"
    assert f"Ran {project.UNITTEST_COUNT} tests" in result.stderr, f"{context}\n{_output(result)}"
    assert re.search(r"^OK\b", result.stderr, re.MULTILINE), f"{context}\n{_output(result)}"


def assert_pristine(iso: IsolationProject, suffix: str, what: str) -> None:
    problems = iso.problems(suffix)
    assert not problems, f"[seed {iso.seed}] {what}: test_<db>{suffix} is not pristine:\n" + "\n".join(problems)


def test_the_fresh_install_compared_with_is_what_the_spec_describes(fresh: dict[str, Any]) -> None:
    """The reference itself: V16's three system roles, its seeded settings, every other table empty."""
    assert {prefix: fresh[prefix]["marker"] for prefix in project.PREFIXES} == {"public": "16", "second": "16", "legacy": "10"}
    assert pk.latest_version() == 16
    for prefix in ("public", "second"):
        state = fresh[prefix]
        roles = [(r["id"], r["name"], r["is_system_role"]) for r in state["rows"]["phoenix_kit_user_roles"]]
        assert roles == [(1, "Owner", True), (2, "Admin", True), (3, "User", True)]
        settings = state["rows"]["phoenix_kit_settings"]
        assert settings and [r["id"] for r in settings] == list(range(1, len(settings) + 1))
        seeded = {"phoenix_kit_user_roles", "phoenix_kit_settings"}
        assert len(state["rows"]) == 13
        assert all(not rows for table, rows in state["rows"].items() if table not in seeded)
        next_ids = state["next_ids"]
        assert next_ids["phoenix_kit_users_id_seq"] == 1
        assert next_ids["phoenix_kit_user_roles_id_seq"] == 4
        assert next_ids["phoenix_kit_settings_id_seq"] == len(settings) + 1
    assert fresh["public"] == fresh["second"]
    assert len(fresh["legacy"]["rows"]) < 13 and fresh["legacy"]["rows"]["phoenix_kit_user_roles"]


def test_plain_pytest(iso: IsolationProject) -> None:
    pytest_passed(iso, iso.pytest(), "pytest")


def test_reuse_db_twice_starts_pristine_whatever_the_last_run_left(iso: IsolationProject) -> None:
    pytest_passed(iso, iso.pytest("--reuse-db"), "pytest --reuse-db (first)")
    # The last transactional test (test_dirty_last) was reset after it. The very last
    # test, a `db` one, inserts rows: rolled back, but their sequences stay advanced
    # (`db` tests are not reset), so the kept database is left dirty.
    left = iso.problems()
    assert left, f"[seed {iso.seed}] the last (db) test advanced sequences: nothing reset them, the kept db shows it"
    assert all("next value" in line for line in left), (
        f"[seed {iso.seed}] rows left after the last transactional test:\n" + "\n".join(left)
    )

    iso.dirty("", "outside")  # what an interrupted run would leave, committed
    control = iso.pytest("--reuse-db", "-k", " or ".join(project.PYTEST_EARLY), reset=False)
    assert control.returncode == 1, f"[seed {iso.seed}] the control must fail\n{_output(control)}"
    assert pytest_problems(control) == (set(project.PYTEST_EARLY), set()), _output(control)

    pytest_passed(iso, iso.pytest("--reuse-db"), "pytest --reuse-db (second, on a dirtied kept database)")


def test_xdist_workers_each_start_pristine_and_stay_so(iso: IsolationProject) -> None:
    pytest_passed(iso, iso.pytest("-n", "2", "--reuse-db"), "pytest -n 2 --reuse-db (first)")
    for suffix in ("_gw0", "_gw1"):
        iso.dirty(suffix, f"outside{suffix}")
    pytest_passed(iso, iso.pytest("-n", "2", "--reuse-db"), "pytest -n 2 --reuse-db (second, on dirtied workers' databases)")


def test_manage_py_test_keepdb_parallel_resets_kept_clones(iso: IsolationProject, server_conninfo: str) -> None:
    args = ("test", "ut", "--keepdb", "--parallel", "2", "--shuffle", str(iso.seed), "--noinput")
    django_passed(iso, iso.manage(*args), "manage.py test --keepdb --parallel 2 (first)")
    for suffix in ("_1", "_2"):
        assert database_exists(server_conninfo, iso.dbname(suffix)), f"no clone {iso.dbname(suffix)} was kept"

    for suffix in ("", "_1", "_2"):  # the template and both clones
        iso.dirty(suffix, f"outside{suffix}")
    with iso.connect("_1") as conn:  # and one clone rewound to V09
        pk.down(version=10, prefix="public", using=conn, log=False)
        assert pk.migrated_version("public", using=conn) == 9

    django_passed(iso, iso.manage(*args), "manage.py test --keepdb --parallel 2 (second, on dirtied clones)")
    for suffix in ("", "_1", "_2"):
        assert_pristine(iso, suffix, "after the second manage.py test --keepdb --parallel 2")


def test_control_pytest_without_reset_fails_in_the_asserting_tests(iso: IsolationProject) -> None:
    result = iso.pytest(reset=False)
    assert result.returncode == 1, f"[seed {iso.seed}] PHOENIX_KIT_TEST_RESET = False must fail\n{_output(result)}"
    failed, errors = pytest_problems(result)
    assert not errors, _output(result)
    # Only asserting tests fail; those that run after every transactional test always do.
    assert set(project.PYTEST_LATE) <= failed <= project.PYTEST_PRISTINE, f"[seed {iso.seed}] {failed}\n{_output(result)}"


def test_control_manage_py_test_without_reset_fails_in_the_asserting_tests(iso: IsolationProject) -> None:
    result = iso.manage("test", "ut", "--noinput", reset=False)
    assert result.returncode == 1, f"[seed {iso.seed}] PHOENIX_KIT_TEST_RESET = False must fail\n{_output(result)}"
    problems = _DJANGO_PROBLEM.findall(result.stderr)
    assert problems and all(kind == "FAIL" and "pristine" in name for kind, name in problems), _output(result)
    assert ("FAIL", "test_b_pristine") in problems, _output(result)  # DirtyThenCheck: dirty, then check
