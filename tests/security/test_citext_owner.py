"""A citext extension the attacker controls (issue 9, item 3).

citext is a trusted extension: with CREATE on the database a role without any
attribute installs it, and owns it. V01 would then give every install's
``email`` column a type the attacker can ``DROP EXTENSION citext CASCADE``
(deleting the column) or, in a schema the attacker owns, replace. phoenix_kit must
refuse, before any change, a citext owned by, or living in a schema owned by, a
role other than a superuser, the migrating role or the database owner, with an
error (``UnsafeDatabaseError``) that names that role and says how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from psycopg import sql

import phoenix_kit as pk
from tests.security.common import attacker, connect, described, is_error, observer, outcome

CASES = (
    "the attacker's citext in the attacker's schema",
    "the attacker's citext in public",
    "the superuser's citext in the attacker's schema",
)


@pytest.mark.parametrize("case", CASES)
def test_an_install_refuses_a_citext_the_attacker_controls(make_database: Callable[[], str], case: str) -> None:
    """up(prefix="app") raises UnsafeDatabaseError naming the attacker, and "app" is not even created."""
    conninfo = make_database()
    with observer(conninfo) as admin, attacker(conninfo, create_on_public="public" in case) as evil:
        schema = "public" if "public" in case else f"{evil.name}_ext"
        if schema != "public":
            evil.conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        installer = evil.conn if case.startswith("the attacker's citext") else admin
        installer.execute(sql.SQL("CREATE EXTENSION citext SCHEMA {}").format(sql.Identifier(schema)))

        with connect(conninfo) as conn:
            result = outcome(lambda: pk.up(prefix="app", using=conn, log=False))

        created = admin.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'app'").fetchone()
        assert created == (0,), f"the install went ahead ({described(result)})"
        assert is_error(result, "UnsafeDatabaseError"), f"expected phoenix_kit.errors.UnsafeDatabaseError, got {described(result)}"
        assert evil.name in str(result) and "citext" in str(result), str(result)
