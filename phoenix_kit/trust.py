"""Whose objects phoenix_kit may work on with the migrating role's rights.

Changing a table's rows or shape runs code attached to it (triggers, rules,
index expressions, constraint functions) with the rights of whoever makes the
change: the migrator, often a superuser. So phoenix_kit works only on installs
whose schema and tables belong to roles it acts for: the migrating role, the
roles it is a member of (not through superuser rights, which make every role
look like its own) and superusers. An install owned by anyone else is refused
(and left out of fan-out discovery), never migrated with our rights.

citext is shared by every install: its owner could drop it, and every e-mail
column with it, or replace its functions. V01 refuses a citext that is not
owned by a superuser, the migrating role or the database owner, or that lives
in a schema such a role does not own.
"""

from __future__ import annotations

from .errors import UnsafeDatabaseError
from .sqltext import quote_ident

# The roles the migrating role acts for: itself and, recursively, every role
# granted to it. Queries using :func:`trusted` start with it.
ACTING = """
WITH RECURSIVE acting(oid) AS (
    SELECT oid FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER
  UNION
    SELECT m.roleid FROM pg_catalog.pg_auth_members AS m
    JOIN acting AS a ON m.member OPERATOR(pg_catalog.=) a.oid
)"""


def trusted(owner: str) -> str:
    """SQL: whether the role whose oid is the expression ``owner`` is one we act for."""
    return (
        f"({owner} OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT oid FROM acting))"
        f" OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid OPERATOR(pg_catalog.=) {owner}))"
    )


def untrusted_owner(namespace: str) -> str:
    """SQL: the name of a role we do not act for that owns the schema (unless public) or one of our tables.

    ``namespace`` is an expression for the schema's ``pg_namespace`` row alias;
    ``%(tables)s`` must be bound to the names of phoenix_kit's tables
    (``marker.OUR_TABLES``). NULL when all are ours.
    """
    return f"""(SELECT r.rolname FROM pg_catalog.pg_roles AS r
    WHERE r.oid OPERATOR(pg_catalog.=) ANY (
            SELECT {namespace}.nspowner WHERE {namespace}.nspname OPERATOR(pg_catalog.<>) 'public'::pg_catalog.name
            UNION ALL
            SELECT t.relowner FROM pg_catalog.pg_class AS t
             WHERE t.relnamespace OPERATOR(pg_catalog.=) {namespace}.oid
               AND t.relname OPERATOR(pg_catalog.=) ANY (%(tables)s::pg_catalog.name[]))
      AND NOT {trusted("r.oid")}
    ORDER BY r.rolname LIMIT 1)"""


def foreign_install_error(prefix: str, owner: str) -> UnsafeDatabaseError:
    return UnsafeDatabaseError(
        f"Prefix {prefix!r} (schema or tables) is owned by role {quote_ident(owner)}, which the migrating "
        f"role does not act for: code that role attached to its tables would run with your rights. "
        f"Refusing to change it. Migrate it as that role (a connection that logs in as {quote_ident(owner)}), "
        f"or, if the install is yours, give it back: ALTER SCHEMA {quote_ident(prefix)} OWNER TO CURRENT_USER "
        f"and ALTER TABLE … OWNER TO CURRENT_USER for each phoenix_kit table."
    )


# Raised (SQLSTATE PKU01) from inside a step by the citext check below.
UNSAFE_SQLSTATE = "PKU01"


def citext_owner_problem() -> str:
    """SQL: NULL if the database's citext is trusted, else a sentence saying who controls it."""
    database_owner = (
        "(SELECT datdba FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"
    )

    def ok(role: str) -> str:
        return (
            f"({role} OPERATOR(pg_catalog.=) {database_owner}"
            # public's owner on PostgreSQL 15+ is pg_database_owner, i.e. the database owner
            f" OR (SELECT rolname OPERATOR(pg_catalog.=) CURRENT_USER OR rolsuper"
            f" OR rolname OPERATOR(pg_catalog.=) 'pg_database_owner'::pg_catalog.name"
            f" FROM pg_catalog.pg_roles WHERE oid OPERATOR(pg_catalog.=) {role}))"
        )

    return f"""(SELECT CASE
      WHEN NOT {ok("e.extowner")} THEN 'is owned by role ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(eo.rolname::pg_catalog.text)
      WHEN NOT {ok("n.nspowner")} THEN 'lives in schema ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(n.nspname::pg_catalog.text)
           OPERATOR(pg_catalog.||) ', owned by role ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(no.rolname::pg_catalog.text)
    END
    FROM pg_catalog.pg_extension AS e
    JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
    JOIN pg_catalog.pg_roles AS eo ON eo.oid OPERATOR(pg_catalog.=) e.extowner
    JOIN pg_catalog.pg_roles AS no ON no.oid OPERATOR(pg_catalog.=) n.nspowner
    WHERE e.extname OPERATOR(pg_catalog.=) 'citext'::pg_catalog.name)"""


CITEXT_FIX = (
    "that role could drop it, and every install's e-mail column with it, or replace its functions. "
    "Ask a superuser to check what uses it, DROP EXTENSION citext, and run phoenix_kit again "
    "(it installs citext itself), or to recreate it in a schema a superuser or the database owner owns"
)
