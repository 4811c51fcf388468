"""Many prefixes at once: --all-prefixes / --prefixes with --jobs, and the Python API."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

import phoenix_kit as pk
from phoenix_kit.fanout import Move, migrate_prefixes

LATEST = pk.latest_version()


@pytest.fixture
def tenants(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[list[str]]:
    """Prefixes at mixed versions (number i at version i % 17) in the test database; removed afterwards.

    50 of them, or as many as ``@pytest.mark.parametrize("tenants", [n], indirect=True)`` says.
    """
    tag = uuid.uuid4().hex[:6]
    names = [f"fo{tag}_{i:02d}" for i in range(getattr(request, "param", 50))]
    for i, name in enumerate(names):
        if i % 17:
            pk.up(version=i % 17, prefix=name, log=False)
    yield names
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


few = pytest.mark.parametrize("tenants", [18], indirect=True)


def _command(*args: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("phoenixkit_migrate", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_fifty_prefixes_with_two_jobs_one_broken_on_purpose(tenants: list[str]) -> None:
    broken = tenants[9]  # at V09: an index of ours with V10's name makes V10 fail there
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE INDEX phoenix_kit_users_reg_geo_idx ON "{broken}".phoenix_kit_users (email)')

    output, error = _command("--prefixes", ",".join(tenants), "--jobs", "2", "--install-missing")

    assert error is not None and "1 of 50 prefixes failed" in str(error)
    lines = {line.split(":")[0].strip(): line for line in output.splitlines() if line.startswith("  ")}
    assert set(lines) == set(tenants)
    assert "failed: phoenix_kit V10 up failed" in lines[broken]
    for name in tenants:
        expected = 9 if name == broken else LATEST
        assert pk.migrated_version(name) == expected
        if name != broken:
            assert lines[name].endswith(f"(version {LATEST})")
    assert "already current" in lines[tenants[16]] and "already current" in lines[tenants[33]]  # at 16 before
    assert "50 prefixes: 47 migrated, 2 already current, 1 failed." in output


@few
def test_status_of_all_prefixes_agrees_with_each_marker(tenants: list[str]) -> None:
    output, error = _command("--status", "--all-prefixes")
    assert error is None
    listed = {line.split()[0]: line for line in output.splitlines()[1:]}
    for name in tenants:
        version = pk.migrated_version(name)
        if version == 0:
            assert name not in listed  # not installed: no phoenix_kit table
        else:
            assert listed[name].split()[2].rstrip(",") == str(version), listed[name]


@few
def test_python_api_reads_all_markers_in_one_query(tenants: list[str]) -> None:
    from django.test.utils import CaptureQueriesContext

    current = [name for name in tenants if pk.migrated_version(name) == LATEST]
    with CaptureQueriesContext(connection) as queries:
        results = list(migrate_prefixes(Move("up", LATEST), current))
    assert [r.outcome for r in results] == ["already current"] * len(current)
    assert len(queries) == 1


@few
def test_python_api_moves_down_and_reports_each_prefix(tenants: list[str]) -> None:
    results = {r.prefix: r for r in migrate_prefixes(Move("to", 3), tenants, jobs=2, install_missing=True)}
    assert set(results) == set(tenants)
    for i, name in enumerate(tenants):
        before = i % 17
        outcome = "already current" if before == 3 else "ok"
        assert (results[name].outcome, results[name].version) == (outcome, 3), name
        assert pk.migrated_version(name) == 3


@pytest.mark.parametrize("tenants", [3], indirect=True)
def test_a_prefixes_list_migrates_what_it_can_and_names_the_rest(tenants: list[str]) -> None:
    """Tenant-style names work; an invalid one, or one not installed (a typo), fails alone and creates nothing."""
    uninstalled, at_one, at_two = tenants  # versions 0, 1, 2
    names = ["Tenant-Caps", "acme-corp", at_one, "bad name", uninstalled, "pg_tenant", at_two, "a" * 64]
    for name in names[:2]:
        pk.up(version=3, prefix=name, log=False)
    try:
        output, error = _command("--prefixes", ",".join(names), "--jobs", "2")
        assert error is not None and str(error) == "4 of 8 prefixes failed; the others were migrated."
        lines = {line.split(": ")[0].strip(): line for line in output.splitlines() if line.startswith("  ")}
        assert set(lines) == set(names)
        for name in ("Tenant-Caps", "acme-corp", at_one, at_two):
            assert lines[name].endswith(f"ok (version {LATEST})") and pk.migrated_version(name) == LATEST
        assert "failed: invalid prefix: character 4 is whitespace (U+0020 SPACE)" in lines["bad name"]
        assert "failed: invalid prefix: names starting with 'pg_' are reserved" in lines["pg_tenant"]
        assert "failed: invalid prefix: it is 64 bytes long" in lines["a" * 64]
        assert "failed: not installed (its schema does not exist): check the name" in lines[uninstalled]
        assert pk.migrated_version(uninstalled) == 0 and not _schema_exists(uninstalled)

        output, error = _command("--prefixes", f"{uninstalled},acme-corp", "--install-missing")
        assert error is None and f"{uninstalled}: ok (version {LATEST})" in output
        assert "acme-corp: already current" in output
    finally:
        with connection.cursor() as cursor:
            for name in names[:2]:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() == (1,)


@few
def test_python_api_refuses_named_prefixes_that_are_not_installed(tenants: list[str]) -> None:
    results = {r.prefix: r for r in migrate_prefixes(Move("up", 2), tenants[:3])}
    assert results[tenants[0]].outcome == "failed" and "install_missing=True" in results[tenants[0]].detail
    assert (results[tenants[1]].outcome, results[tenants[2]].outcome) == ("ok", "already current")
    assert not _schema_exists(tenants[0])
    (result,) = migrate_prefixes(Move("up", 2), tenants[:1], install_missing=True)
    assert (result.outcome, result.version) == ("ok", 2)


@few
def test_bad_arguments_fail_before_sql(tenants: list[str]) -> None:
    with pytest.raises(ValueError, match="Invalid prefix 'Bad Name': character 4 is whitespace"):
        migrate_prefixes(Move("up", LATEST), ["ok_name", "Bad Name"])
    with pytest.raises(ValueError, match="jobs"):
        migrate_prefixes(Move("up", LATEST), tenants, jobs=0)
    with pytest.raises(ValueError, match="install_missing"):
        migrate_prefixes(Move("up", LATEST), tenants, install_missing="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="version"):
        Move("down", 0)
    _, error = _command("--jobs", "2")
    assert error is not None and "--jobs applies to" in str(error)
