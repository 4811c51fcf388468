"""Every user mistake ends in a one-line CommandError with the fix, and changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

import phoenix_kit as pk
from phoenix_kit.lock import lock_key
from tests.django.conftest import ROOT, Fresh, django_alias, run
from tests.helpers import database_url
from tests.troubleshooting import documented

pytestmark = pytest.mark.django_db(transaction=True)

MISTAKES: list[tuple[dict[str, Any], str]] = [
    ({"prefix": "Bad name"}, "Invalid --prefix 'Bad name': character 4 is whitespace (U+0020 SPACE); a prefix is 1 to 63"),
    ({"version": "17"}, "--version must be a version number from 1 to 16, got '17'."),
    ({"version": "abc"}, "--version must be a version number from 1 to 16, got 'abc'."),
    ({"down": "0"}, "--down must be a version number from 1 to 16"),
    ({"to": "-1"}, "--to must be a version number from 0 to 16"),
    ({"mark": "99"}, "--mark must be a version number from 1 to 16"),
    ({"prefix": "nowhere", "no_create_schema": True}, "Schema 'nowhere' does not exist: create it first, or run without --no-create-schema."),
    ({"prefix": "junk"}, "Cannot read the PhoenixKit version of prefix 'junk'"),
    ({"prefix": "junk", "plan": True}, "--prefix junk --mark N"),
    ({"prefix": "junk", "check": True}, "Cannot read the PhoenixKit version of prefix 'junk'"),
    ({"prefix": "newer"}, "Prefix 'newer' is at version 99, newer than this release"),
    ({"prefix": "newer", "down": "3"}, "Upgrade phoenix_kit; refusing to change it."),
    ({"prefix": "nothere", "mark": "3"}, "Prefix 'nothere' has no phoenix_kit table, so there is no marker to record"),
    ({"to": "3", "down": "2"}, "--down cannot be combined with --to: give one target."),
    ({"plan": True, "status": True}, "--plan cannot be combined with --status"),
    ({"mark": "3", "sql": True}, "--mark cannot be combined with --sql: --mark only records a version."),
    ({"status": True, "version": "3"}, "--version cannot be combined with --status"),
    ({"from_version": "3"}, "--from only applies to --sql"),
    ({"online": True}, "--online only applies to --sql"),
    ({"all_prefixes": True, "plan": True}, "--all-prefixes applies to moves, --status, --doctor and --repair only."),
    ({"all_prefixes": True, "adopt": True}, "--all-prefixes applies to moves, --status, --doctor and --repair only."),
    ({"status": True, "format": "json"}, "--format applies to --doctor only (its report for CI)."),
    ({"doctor": True, "mark": "3"}, "--mark cannot be combined with --doctor"),
    ({"repair": True, "doctor": True}, "--doctor cannot be combined with --repair"),
    ({"prefix": "nowhere", "adopt": True}, "Prefix 'nowhere' has no schema: there is no install to adopt."),
    ({"repair": True, "no_create_schema": True}, "--no-create-schema cannot be combined with --repair"),
    ({"prefixes": "a,b", "prefix": "auth"}, "--prefixes cannot be combined with --prefix"),
    ({"prefixes": "typo,b c"}, "2 of 2 prefixes failed"),  # one not installed, one invalid: nothing created
    ({"prefixes": " , "}, "--prefixes names no prefix"),
    ({"prefixes": ""}, "--prefixes names no prefix"),  # an empty tenant list once moved PHOENIX_KIT_PREFIX
    ({"prefixes": "", "down": "1"}, "--prefixes names no prefix"),
    ({"install_missing": True}, "--install-missing applies to moves of --prefixes"),
    ({"prefixes": "a", "status": True, "install_missing": True}, "--install-missing applies to moves of --prefixes"),
    ({"jobs": 2}, "--jobs applies to moves of several prefixes"),
    ({"all_prefixes": True, "jobs": 0}, "--jobs must be a positive number of connections, got 0."),
    ({"all_prefixes": True, "status": True, "prefix": "auth"}, "--all-prefixes cannot be combined with --prefix"),
    ({"down": "2", "no_create_schema": True}, "--no-create-schema cannot be combined with --down"),
]


@pytest.fixture(scope="module")
def _installed_conninfo(make_database: Callable[[], str]) -> str:
    """public at V08, an unreadable marker in "junk", a newer PhoenixKit's in "newer".

    Shared by the module: every test asserts that it changed nothing.
    """
    conninfo = make_database()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for prefix, version in (("public", 8), ("junk", 2), ("newer", 2)):
            pk.up(version=version, prefix=prefix, using=conn, log=False)
        conn.execute("COMMENT ON TABLE junk.phoenix_kit IS 'eight'")
        conn.execute("COMMENT ON TABLE newer.phoenix_kit IS '99'")
    return conninfo


@pytest.fixture
def installed(transactional_db: None, _installed_conninfo: str) -> Iterator[Fresh]:
    with django_alias(_installed_conninfo) as alias, psycopg.connect(_installed_conninfo, autocommit=True) as conn:
        yield Fresh(alias, _installed_conninfo, conn)


def _fails(fresh: Fresh, match: str, **options: Any) -> str:
    before = fresh.state()
    with pytest.raises(CommandError) as raised:
        fresh.command(**options)
    message = str(raised.value)
    assert match in message
    assert "\n" not in message
    assert fresh.state() == before
    return message


@pytest.mark.parametrize(("options", "match"), MISTAKES, ids=[" ".join(map(str, o.items())) for o, _ in MISTAKES])
def test_mistake(installed: Fresh, options: dict[str, Any], match: str) -> None:
    message = _fails(installed, match, **options)
    assert documented(message), f"not in docs/troubleshooting.md: {message}"


def test_invalid_prefix_setting(installed: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_PREFIX = "Bad.Prefix"
    assert documented(_fails(installed, "Invalid settings.PHOENIX_KIT_PREFIX 'Bad.Prefix': character 4 is '.' (U+002E)"))


def test_invalid_lock_timeout_setting(installed: Fresh, settings: Any) -> None:
    settings.PHOENIX_KIT_LOCK_TIMEOUT = "soon"
    assert documented(_fails(installed, "PHOENIX_KIT_LOCK_TIMEOUT must be a positive number of seconds, got 'soon'"))


def test_unknown_database_alias(installed: Fresh) -> None:
    before = installed.state()
    with pytest.raises(CommandError, match=r"Unknown database alias 'nope': --database must be one of settings.DATABASES \('default'"):
        run("phoenixkit_migrate", database="nope")
    assert installed.state() == before


@pytest.mark.parametrize("options", [{}, {"mark": "8", "interactive": False}, {"to": "3", "interactive": False}])
def test_lock_time_out_names_the_holder(installed: Fresh, settings: Any, options: dict[str, Any]) -> None:
    settings.PHOENIX_KIT_LOCK_TIMEOUT = 0.1
    with installed.conn.transaction():  # another migrator holds public's lock
        installed.conn.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key("public")])
        pid = installed.conn.info.backend_pid
        message = _fails(installed, f"Timed out after 0.1s waiting for the migration lock of prefix 'public', held by backend pid {pid}.", **options)
    assert "Raise PHOENIX_KIT_LOCK_TIMEOUT" in message and documented(message)


def test_from_the_command_line_exit_status_1_and_no_traceback(installed: Fresh) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url(installed.conninfo)}
    for args, message in [
        (["--prefix", "Bad;"], "CommandError: Invalid --prefix 'Bad;': "),
        (["--database", "nope"], "CommandError: Unknown database alias 'nope'"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "django", "phoenixkit_migrate", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )
        assert result.returncode == 1
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr


def test_check_says_behind_with_1_and_an_error_with_2(installed: Fresh) -> None:
    """public is at V08: --check exits 1 and its fix names the prefix it was given; an unreadable marker is 2."""
    out = StringIO()
    with pytest.raises(SystemExit) as behind:
        call_command("phoenixkit_migrate", check=True, prefix="public", database=installed.alias, stdout=out)
    assert behind.value.code == 1
    assert f"run `manage.py phoenixkit_migrate --database {installed.alias} --prefix public`." in out.getvalue()
    with pytest.raises(CommandError) as error:
        call_command("phoenixkit_migrate", check=True, prefix="junk", database=installed.alias, stdout=StringIO())
    assert error.value.returncode == 2 and "Cannot read the PhoenixKit version of prefix 'junk'" in str(error.value)


def test_ctrl_d_or_ctrl_c_at_the_prompt_cancels_with_exit_status_1(installed: Fresh) -> None:
    """The prompt before a move that loses data, answered with end-of-file or an interrupt, on a real terminal."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": database_url(installed.conninfo)}
    for key in (b"\x04", b"\x03"):  # Ctrl-D, Ctrl-C
        before = installed.state()
        output, status = _on_a_terminal([sys.executable, "-m", "django", "phoenixkit_migrate", "--to", "0"], env, key)
        assert "Cancelled; nothing was changed." in output and "Traceback" not in output, output
        assert status == 1
        assert installed.state() == before


def _on_a_terminal(argv: list[str], env: dict[str, str], key: bytes) -> tuple[str, int]:
    """Run ``argv`` on a pseudo-terminal, type ``key`` at its prompt; (what it printed, its exit status).

    The terminal's other end stays open here until the child has exited and all it
    wrote is read: were the child's close the end, a busy machine could report the end
    of the terminal before its last output.
    """
    import fcntl
    import select
    import termios

    main, terminal = os.openpty()
    with warnings.catch_warnings():  # "multi-threaded, fork() may deadlock": the child only calls execve
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: the terminal is its controlling terminal, stdin, stdout and stderr
        os.setsid()
        fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(terminal, fd)
        os.chdir(ROOT)
        os.execve(argv[0], argv, env)
    seen, typed, status, waited = b"", False, None, 0.0
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                seen += os.read(main, 4096)
                waited = 0.0
                if not typed and b"Type 'yes'" in seen:
                    os.write(main, key)
                    typed = True
                continue
            if status is not None:
                break  # exited, and nothing more to read
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
            waited += 0.1
            if typed and status is None and waited >= 1 and round(waited * 10) % 10 == 0:
                # A Ctrl-C that lands between the prompt's write and the read after it only
                # trips Python's signal flag, and the read then waits (CPython checks the
                # flag when a read is interrupted): type it again, as a person would.
                os.write(main, key)
            if waited > 60:
                os.kill(pid, 9)
                raise AssertionError(f"no output for 60 s:\n{seen.decode(errors='replace')}")
    finally:
        os.close(main)
        os.close(terminal)
    return seen.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def test_a_database_check_on_a_server_that_does_not_answer_is_a_warning(transactional_db: None) -> None:
    from phoenix_kit.checks import check_installs_current, check_migrations_recorded

    with django_alias("host=127.0.0.1 port=1 dbname=nowhere") as alias:
        connections[alias].settings_dict.update(HOST="127.0.0.1", PORT="1")
        (warning,) = check_migrations_recorded(databases=[alias])
        assert warning.id == "phoenix_kit.W005" and f"Cannot connect to database {alias!r}" in warning.msg
        assert check_installs_current(databases=[alias]) == []


def test_migrate_with_an_unreadable_marker_is_one_line(installed: Fresh) -> None:
    """The checks are skipped; the migration itself says what is wrong, as the command would."""
    installed.conn.execute("COMMENT ON TABLE public.phoenix_kit IS 'eight'")
    try:
        with pytest.raises(CommandError) as raised:
            call_command("migrate", "phoenix_kit", database=installed.alias, verbosity=0, skip_checks=True)
        assert "Cannot read the PhoenixKit version of prefix 'public'" in str(raised.value)
        assert "\n" not in str(raised.value)
    finally:
        installed.conn.execute("COMMENT ON TABLE public.phoenix_kit IS '8'")
