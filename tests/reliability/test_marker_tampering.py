"""A tampered marker (issue 5, item 6).

``tests/test_markers.py`` checks that unreadable and too-new markers are
refused by the core. Here each tampering is applied to a populated install
really at the latest version, every moving entry point must refuse with the
repair (``--mark``) in its message and drop nothing, and
``manage.py phoenixkit_migrate --mark N`` must then recover the install as it
was. That includes a marker that *understates* the install (5 on a prefix at
16), which looks valid and which ``up``/``down`` would otherwise act on, and
which they refuse even when they would have nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command

import phoenix_kit as pk
from tests.helpers import snapshot
from tests.reliability.common import connect, django_conninfo, drop_schema, set_marker, unique_name
from tests.reliability.references import LATEST, References, assert_consistent

pytestmark = pytest.mark.django_db(transaction=True)

TAMPERED = [None, "", "garbage", " 16", "16.0", "99", "17", "5", "1", "0"]


@pytest.fixture
def installed() -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A prefix at the latest version with users, settings and e-mail logs, in the Django test database."""
    prefix = unique_name("tamper")
    with connect(django_conninfo()) as conn:
        pk.up(prefix=prefix, log=False)
        conn.execute(f"""
            INSERT INTO "{prefix}".phoenix_kit_users (email, hashed_password, inserted_at, updated_at, username)
              SELECT 'user' || i || '@example.com', 'x', now(), now(), 'user' || i FROM generate_series(1, 200) AS i;
            INSERT INTO "{prefix}".phoenix_kit_settings (key, value) SELECT 'k' || i, 'v' FROM generate_series(1, 50) AS i;
            INSERT INTO "{prefix}".phoenix_kit_email_logs (message_id, "to", "from", inserted_at, updated_at)
              SELECT 'm' || i, 'a@x.io', 'b@x.io', now(), now() FROM generate_series(1, 100) AS i;
        """)
        try:
            yield conn, prefix
        finally:
            drop_schema(conn, prefix)


def _moves(prefix: str) -> dict[str, tuple[Callable[[], Any], Callable[[int], bool]]]:
    """Each move, and for which (readable) marker it has nothing to do."""
    return {
        "up": (lambda: pk.up(prefix=prefix, log=False), lambda v: v >= LATEST),
        "up to 8": (lambda: pk.up(version=8, prefix=prefix, log=False), lambda v: v >= 8),
        "down": (lambda: pk.down(prefix=prefix, log=False), lambda v: v == 0),
        "down to 5": (lambda: pk.down(version=5, prefix=prefix, log=False), lambda v: v < 5),
        "down to 12": (lambda: pk.down(version=12, prefix=prefix, log=False), lambda v: v < 12),
        "ensure_current": (lambda: pk.ensure_current(prefix=prefix), lambda v: v >= LATEST),
    }


def _readable(comment: str | None) -> int | None:
    return int(comment) if comment is not None and comment.isdigit() else None


@pytest.mark.parametrize("comment", TAMPERED, ids=repr)
def test_a_tampered_marker_is_refused_and_mark_recovers(
    installed: tuple[psycopg.Connection[Any], str], references: References, comment: str | None
) -> None:
    conn, prefix = installed
    pristine = snapshot(conn, prefix)
    set_marker(conn, prefix, comment)
    tampered = snapshot(conn, prefix)

    version = _readable(comment)
    for name, (move, no_op) in _moves(prefix).items():
        if version is not None and version <= LATEST and no_op(version) and name == "ensure_current":
            # Nothing to do: one cheap marker read, no catalog check, nothing changed.
            # up and down check the catalog even then, so they refuse below.
            assert move() == version
        else:
            with pytest.raises(pk.MarkerError, match=f"phoenixkit_migrate --prefix {prefix} --mark N"):
                move()
        assert snapshot(conn, prefix) == tampered, f"{name} changed the install (marker {comment!r})"
    with pytest.raises(CommandError, match="--mark"):
        call_command("phoenixkit_migrate", "--prefix", prefix, "--noinput", verbosity=0)
    assert snapshot(conn, prefix) == tampered

    call_command("phoenixkit_migrate", "--mark", str(LATEST), "--prefix", prefix, "--noinput", verbosity=0)

    assert snapshot(conn, prefix) == pristine  # nothing was dropped, the marker is right again
    assert pk.up(prefix=prefix, log=False) == LATEST
    assert pk.down(version=LATEST, prefix=prefix, log=False) == LATEST - 1
    assert assert_consistent(conn, prefix, references) == LATEST - 1


def test_a_marker_one_behind_is_left_to_the_next_step(installed: tuple[psycopg.Connection[Any], str]) -> None:
    """15 on a prefix at 16: indistinguishable from an object of the application named like
    one of V16's, so no refusal up front; V16's step fails on the existing objects,
    atomically, and its error tells how to repair."""
    conn, prefix = installed
    set_marker(conn, prefix, str(LATEST - 1))
    tampered = snapshot(conn, prefix)
    with pytest.raises(pk.StepFailedError, match=f"already exists(.|\n)*--prefix {prefix} --mark N"):
        pk.up(prefix=prefix, log=False)
    assert snapshot(conn, prefix) == tampered
