"""phoenix_kit's Django side on psycopg2: the project keeps its driver, and everything works on it.

The scenarios are those of tests/your_migrations, tests/plugin and tests/isolation
(their projects run in the psycopg2 environment of conftest.py), and two of this
module: a failing step and a lock wait, which the runner tells apart by SQLSTATE.
The harness reads the catalog with psycopg 3, as there.
"""

from __future__ import annotations

import subprocess
import time

import psycopg

import phoenix_kit as pk
from tests.drivers.conftest import drivers
from tests.isolation import test_isolation_project as isolation
from tests.isolation.conftest import IsolationProject
from tests.plugin import test_plugin as plugin
from tests.plugin.test_plugin import UserProject
from tests.your_migrations import test_your_migrations as yours
from tests.your_migrations.conftest import Database, Project


def test_the_project_keeps_psycopg2(project_python: str) -> None:
    """What the rest rests on (the environment's fixture checks it too): phoenix_kit's wheel, with its
    dependencies, leaves Django on psycopg2; with psycopg 3 among them, Django would take that."""
    assert drivers(project_python) == ("psycopg2", False)


def test_your_migrations_install_and_roll_back(
    proj: Project, default_db: Database
) -> None:
    yours.test_install_patterns_generate_migrate_and_roll_back_exactly(proj, default_db)


def test_an_online_upgrade_and_its_checks(proj: Project, default_db: Database) -> None:
    """Non-atomic: the concurrent index builds run alone, under the watchdog, on psycopg2 connections."""
    yours.test_upgrade_pattern_moves_exactly_and_w004_names_the_next_step(
        proj, default_db
    )


def test_sqlmigrate_and_progress(proj: Project, default_db: Database) -> None:
    yours.test_sqlmigrate_plan_and_progress_lines(proj, default_db)


def test_a_failing_migration_is_rolled_back(
    proj: Project, default_db: Database
) -> None:
    yours.test_failing_migration_is_rolled_back_and_not_recorded(proj, default_db)


def test_a_clashing_object_gets_the_catalog_hint(proj: Project) -> None:
    """42P07 (duplicate_table) read from psycopg2's ``pgcode``: the hint for a catalog mismatch."""
    with psycopg.connect(proj.conninfo, autocommit=True) as conn:
        pk.up(version=3, prefix="clash", using=conn, log=False)
        conn.execute('CREATE TABLE clash."phoenix_kit_referral_codes" (id int)')
    failed = proj.manage("phoenixkit_migrate", "--prefix", "clash", "--noinput")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert (
        'PostgreSQL said: relation "phoenix_kit_referral_codes" already exists'
        in failed.stderr
    ), failed.stderr
    assert "Hint: the objects this step creates or expects" in failed.stderr, (
        failed.stderr
    )
    with psycopg.connect(proj.conninfo, autocommit=True) as conn:
        assert pk.migrated_version("clash", using=conn) == 3


def test_a_busy_table_is_waited_for(proj: Project) -> None:
    """55P03 (lock_not_available) read from psycopg2: the step retries until the holder lets go, then runs."""
    with psycopg.connect(proj.conninfo, autocommit=True) as conn:
        pk.up(version=3, prefix="busy", using=conn, log=False)
    with psycopg.connect(proj.conninfo) as holder:
        holder.execute(
            'LOCK TABLE busy."phoenix_kit_settings" IN ACCESS SHARE MODE'
        )  # V04 alters it
        running = _start(proj, "phoenixkit_migrate", "--prefix", "busy", "--noinput")
        time.sleep(1.5)
        assert running.poll() is None, running.communicate()
    stdout, stderr = running.communicate(timeout=120)
    assert running.returncode == 0, stdout + stderr
    with psycopg.connect(proj.conninfo, autocommit=True) as conn:
        assert pk.migrated_version("busy", using=conn) == pk.latest_version()


def _start(proj: Project, *args: str) -> subprocess.Popen[str]:
    """``manage.py *args`` in the project, left running."""
    return subprocess.Popen(
        [proj.python, "manage.py", *args], cwd=proj.directory, env=proj.environment(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_the_plugin(user: UserProject) -> None:
    plugin.test_plain_run(user)


def test_the_plugin_brings_a_rewound_reused_database_current(user: UserProject) -> None:
    plugin.test_reuse_db_brings_a_rewound_database_current(user)


def test_isolation_with_pytest(iso: IsolationProject) -> None:
    isolation.test_plain_pytest(iso)


def test_isolation_with_manage_py_test_parallel_clones(
    iso: IsolationProject, server_conninfo: str
) -> None:
    isolation.test_manage_py_test_keepdb_parallel_resets_kept_clones(
        iso, server_conninfo
    )


def test_isolation_control_without_reset_fails(iso: IsolationProject) -> None:
    """The control: on psycopg2 too, the projects' tests see a dirty install when the reset is off."""
    isolation.test_control_pytest_without_reset_fails_in_the_asserting_tests(iso)
