"""A server-side record of every DDL command that commits, kept by an event trigger.

Installed in a database before migrators run, it shows what really happened
without trusting any client: each row is one DDL command (CREATE TABLE,
COMMENT, ALTER TABLE, …) of a committed transaction, with that transaction's
id and the backend that ran it. A rolled-back step leaves no rows, exactly as
it leaves no objects. Event triggers need a superuser, which the suite has.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

INSTALL = """
CREATE SCHEMA phoenix_kit_audit;
CREATE TABLE phoenix_kit_audit.ddl (
  id bigserial PRIMARY KEY,
  command_tag text NOT NULL,
  object_type text,
  object_identity text,
  txid bigint NOT NULL,
  pid integer NOT NULL
);
CREATE FUNCTION phoenix_kit_audit.record() RETURNS event_trigger LANGUAGE plpgsql AS $audit$
BEGIN
  INSERT INTO phoenix_kit_audit.ddl (command_tag, object_type, object_identity, txid, pid)
  SELECT command_tag, object_type, object_identity, pg_catalog.txid_current(), pg_catalog.pg_backend_pid()
    FROM pg_catalog.pg_event_trigger_ddl_commands()
   WHERE schema_name IS DISTINCT FROM 'phoenix_kit_audit';
END
$audit$;
CREATE EVENT TRIGGER phoenix_kit_audit ON ddl_command_end EXECUTE FUNCTION phoenix_kit_audit.record();
"""


@dataclass(frozen=True)
class Command:
    tag: str
    object_type: str | None
    identity: str | None
    txid: int
    pid: int


def install(conn: psycopg.Connection[Any]) -> None:
    conn.execute(INSTALL)


def commands(conn: psycopg.Connection[Any]) -> list[Command]:
    query = "SELECT command_tag, object_type, object_identity, txid, pid FROM phoenix_kit_audit.ddl ORDER BY id"
    return [Command(*row) for row in conn.execute(query).fetchall()]


def what(log: list[Command]) -> Counter[tuple[str, str | None, str | None]]:
    """How many times each (command, object type, object) committed."""
    return Counter((c.tag, c.object_type, c.identity) for c in log)


def creations(log: list[Command], tag: str) -> Counter[str | None]:
    """How many times each object was created by ``tag`` (e.g. ``CREATE TABLE``)."""
    return Counter(c.identity for c in log if c.tag == tag)
