"""The exact catalog each version produces, learned from the version modules themselves.

Never a generated manifest that can go stale: every version is installed into
a scratch schema inside a transaction that is rolled back, and the catalog is
read after each version. Nothing is left behind; the scratch schema's name is
random, so its prefix lock never collides with a real install's. Learned once
per server, role and database for the process.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import partial

from .catalog import Catalog, Key, pin_settings, read_catalogs, seeded_rows_query
from .db import Database, rolled_back
from .migration import up
from .plan import latest_version

# The facts the expected catalogs depend on: server version, role, database.
_IDENTITY = (
    "SELECT pg_catalog.current_setting('server_version_num'), CURRENT_USER::pg_catalog.text, "
    "pg_catalog.current_database()::pg_catalog.text"
)
# Where citext lives (no row: not installed); catalogs are normalized with it.
CITEXT_SCHEMA = (
    "SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_extension AS e JOIN pg_catalog.pg_namespace AS n "
    "ON n.oid OPERATOR(pg_catalog.=) e.extnamespace WHERE e.extname OPERATOR(pg_catalog.=) 'citext'"
)


@dataclass(frozen=True)
class Seed:
    """A row a version seeds, known by the columns of a unique index (else the primary key)."""

    table: str
    columns: tuple[str, ...]  # the key columns
    key: str  # their values, as ``row(...)::text`` prints them
    row: dict[str, object]  # the whole row, for the manual fix
    primary_key: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.table} ({', '.join(self.columns)})={self.key}"


@dataclass(frozen=True)
class Expected:
    """What a fresh install of ``version`` holds."""

    version: int
    catalog: Catalog
    seeds: tuple[Seed, ...]


@dataclass(frozen=True)
class Versions:
    """Every version's fresh install, and every key some version has: what is phoenix_kit's."""

    by_version: dict[int, Expected]
    ours: frozenset[Key]


_cache: dict[tuple[str, ...], Versions] = {}


def citext_schema(database: Database) -> str | None:
    rows = database.fetchall(CITEXT_SCHEMA)
    return rows[0][0] if rows else None


def expected_versions(database: Database) -> Versions:
    """The fresh install of every version, on this server for this role (learned once per process)."""
    ((*identity,),) = database.fetchall(_IDENTITY)
    key = tuple(identity)
    if key not in _cache:
        _cache[key] = _learn(database)
    return _cache[key]


def _learn(database: Database) -> Versions:
    scratch = f"pkt_doctor_{uuid.uuid4().hex[:12]}"

    def install_and_read() -> dict[int, Expected]:
        learned = {}
        for version in range(1, latest_version() + 1):
            up(version=version, prefix=scratch, using=database, log=False)
            learned[version] = rolled_back(database, partial(_read, database, scratch, version))
        return learned

    by_version = rolled_back(database, install_and_read)
    return Versions(by_version, frozenset(key for fresh in by_version.values() for key in fresh.catalog.objects))


def _read(database: Database, schema: str, version: int) -> Expected:
    pin_settings(database)
    catalog = read_catalogs(database, [schema], citext_schema(database))[schema]
    tables = [name for kind, name in catalog.objects if kind == "table"]
    keyed = {table: key_columns(catalog, table) for table in tables}
    seeds = [
        Seed(table, keyed[table][0], key, json.loads(row), keyed[table][1])
        for _, table, key, row in database.fetchall(
            seeded_rows_query(((schema, t, keyed[t][0]) for t in tables), whole_rows=True)
        )
    ]
    return Expected(version, catalog, tuple(sorted(seeds, key=lambda seed: seed.name)))


def key_columns(catalog: Catalog, table: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns a seeded row of ``table`` is known by (a full unique index's, else the primary key's), and the key's."""
    entries = [(name, entry) for (kind, name), entry in catalog.objects.items() if entry.table == table]
    primary = next((e.columns for (name, e) in entries if e.definition.startswith("PRIMARY KEY")), ())
    unique = sorted(
        (name, e.columns) for name, e in entries
        if e.definition.startswith("CREATE UNIQUE INDEX") and " WHERE " not in e.definition and e.columns != primary
    )  # fmt: skip
    return (unique[0][1] if unique else primary), primary
