"""Drift: is an install exactly what its marker says? (the doctor)

Each install's catalog (:mod:`phoenix_kit.catalog`) is compared with the fresh
install of its marker's version (:mod:`phoenix_kit.expected`). An object of the
fresh install that the install lacks is *missing*, one defined otherwise is
*changed*; an extra object is *unexpected* when it is phoenix_kit's (some
version has it: the marker understates the install), else it is the
application's own and, when it hangs on a phoenix_kit table (a column, index,
trigger, grant), listed apart as *yours*, never as drift. Seeded rows are
looked for by their key; rows the application added are its data.

Reading is set-based: all the installs asked for cost three queries (markers
and owners, catalogs, seeded rows), whatever their number.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .catalog import (
    SCHEMA,
    Catalog,
    Creates,
    Entry,
    Key,
    pin_settings,
    read_catalogs,
    seeded_keys,
)
from .db import Database, connect, rolled_back
from .errors import MarkerError
from .expected import Expected, Seed, Versions, citext_schema, expected_versions
from .marker import PrefixState
from .migration import resolve_prefix
from .plan import latest_version
from .sqltext import quote_ident, quote_literal
from .status import states
from .trust import citext_owner_problem, foreign_install_error

Kind = Literal["missing", "changed", "unexpected"]
# Exit statuses: exact, drift found, could not check.
EXACT, DRIFT, UNCHECKED = 0, 1, 2


@dataclass(frozen=True)
class Difference:
    kind: Kind
    object: str  # "index phoenix_kit_users_email_index", "column phoenix_kit_users.email", "marker", ...
    expected: str | None
    found: str | None
    repair: Creates = ()  # what --repair runs to re-create it
    fix: str | None = None  # when --repair cannot: the manual fix

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "object": self.object, "expected": self.expected, "found": self.found,
                "repair": [statement for _, statement in self.repair], "fix": self.fix}  # fmt: skip


@dataclass(frozen=True)
class Diagnosis:
    """One install, checked."""

    prefix: str
    marker: int | None  # None: no readable marker
    differences: tuple[Difference, ...] = ()
    yours: tuple[tuple[str, str], ...] = ()  # the application's own objects: (object, definition)
    error: str | None = None  # why it could not be checked
    matches: int | None = None  # with drift: the version whose fresh install it is exactly, if one is
    foreign: bool = False  # not checked: owned by a role the checking role does not act for

    @property
    def status(self) -> int:
        return UNCHECKED if self.error is not None else DRIFT if self.differences else EXACT

    @property
    def repairs(self) -> list[str]:
        """What --repair runs, in order: the statements re-creating every missing object it can."""
        pairs = sorted((phase, n, statement) for n, d in enumerate(self.differences) for phase, statement in d.repair)
        return [statement for _, _, statement in pairs]

    def as_json(self) -> dict[str, object]:
        return {
            "prefix": self.prefix, "marker": self.marker, "status": ("exact", "drift", "error")[self.status],
            "error": self.error, "matches": self.matches,
            "differences": [d.as_json() for d in self.differences],
            "yours": [{"object": name, "definition": definition} for name, definition in self.yours],
        }  # fmt: skip


def doctor(prefix: str | None = None, *, using: object = "default") -> Diagnosis:
    """Check one install (default: the configured prefix) against its marker's version."""
    (diagnosis,) = doctor_many([resolve_prefix(prefix, using)], using=using)
    return diagnosis


def doctor_many(prefixes: Sequence[str] | None, *, using: object = "default") -> list[Diagnosis]:
    """Check the named (validated) prefixes, or every install (None), in a fixed number of catalog queries."""
    database = connect(using)
    found = states(database, None if prefixes is None else list(prefixes), relations=False)
    results = {state.prefix: _unchecked(state) for state in found}
    markers = {state.prefix: state.version for state in found if results[state.prefix] is None}
    if markers:
        versions = expected_versions(database)
        catalogs, citext = read_installs(database, versions, markers)
        for prefix, marker in markers.items():
            results[prefix] = diagnose(prefix, marker, catalogs[prefix], citext, versions)
    return [diagnosis for diagnosis in results.values() if diagnosis is not None]


def _unchecked(state: PrefixState) -> Diagnosis | None:
    """The diagnosis of an install that cannot be checked, saying why; None: it can be."""
    prefix = state.prefix
    try:
        marker = state.version
    except MarkerError as exc:
        return Diagnosis(prefix, None, error=f"{exc} `--adopt` finds the version: manage.py phoenixkit_migrate --adopt --prefix {prefix}")
    if marker == 0:
        return Diagnosis(prefix, 0, error=f"Prefix {prefix!r} has no PhoenixKit install (no phoenix_kit table).")
    if marker > latest_version():
        return Diagnosis(prefix, marker, error=f"Version {marker} is newer than this release of phoenix_kit knows (latest {latest_version()}).")
    if state.untrusted_owner is not None:
        return Diagnosis(prefix, marker, error=str(foreign_install_error(prefix, state.untrusted_owner)), foreign=True)
    if state.online_started:  # its half-built objects are neither a version's nor yours
        return Diagnosis(prefix, marker, error=(
            f"V{marker + 1:02d}'s online step was interrupted on prefix {prefix!r}: the next up resumes it, "
            f"a down to {marker} undoes it; check it after either."
        ))  # fmt: skip
    return None


@dataclass(frozen=True)
class Citext:
    """The database's citext: its schema (None: not installed), and why it cannot be trusted (None: it can)."""

    schema: str | None
    problem: str | None


def read_installs(database: Database, versions: Versions, markers: dict[str, int]) -> tuple[dict[str, Catalog], Citext]:
    """The catalogs of the installs in ``markers`` (each with the seeded rows its version needs), and citext."""

    def read() -> tuple[dict[str, Catalog], Citext]:
        pin_settings(database)
        schema = citext_schema(database)
        ((problem,),) = database.fetchall(f"SELECT {citext_owner_problem()}")
        catalogs = read_catalogs(database, list(markers), schema)
        _read_seeds(database, [(prefix, seed) for prefix, m in markers.items() for seed in versions.by_version[m].seeds], catalogs)
        return catalogs, Citext(schema, problem)

    return rolled_back(database, read)


def _read_seeds(database: Database, seeds: list[tuple[str, Seed]], catalogs: dict[str, Catalog]) -> None:
    """Add each seeded row found to its install's catalog as a ``("row", seed.name)`` object.

    Only from plain tables holding the key columns: whatever else carries the
    name is reported by the catalog comparison, and never read.
    """
    tables = {
        (prefix, seed.table, seed.columns) for prefix, seed in seeds
        if _definition(catalogs[prefix], ("table", seed.table)) == "table"
        and all(("column", f"{seed.table}.{column}") in catalogs[prefix].objects for column in seed.columns)
    }  # fmt: skip
    for prefix, table, key in seeded_keys(database, sorted(tables)):
        catalogs[prefix].objects[("row", f"{table} {key}")] = Entry("present", table)


def _definition(catalog: Catalog, key: Key) -> str | None:
    entry = catalog.objects.get(key)
    return None if entry is None else entry.definition


def _seed_key(seed: Seed) -> Key:
    return ("row", f"{seed.table} {seed.key}")


# Comparing


@dataclass(frozen=True)
class _Gap:
    kind: Kind
    key: Key
    expected: Entry | None
    found: Entry | None


def _gaps(fresh: Expected, catalog: Catalog, ours: frozenset[Key]) -> list[_Gap]:
    """Every difference between ``catalog`` and the fresh install, seeded rows included."""
    found = catalog.objects
    gaps = []
    for key, entry in fresh.catalog.objects.items():
        have = found.get(key)
        if have is None and entry.part_of is not None and entry.part_of not in found:
            continue  # missing with what it is part of, and re-created with it
        if have is None or have.definition != entry.definition:
            gaps.append(_Gap("missing" if have is None else "changed", key, entry, have))
    gaps += [_Gap("missing", _seed_key(seed), None, None) for seed in fresh.seeds if _seed_key(seed) not in found]
    gaps += [_Gap("unexpected", key, None, have) for key, have in found.items() if key in ours and key not in fresh.catalog.objects]
    return gaps


def closest(catalog: Catalog, versions: Versions) -> tuple[int, list[_Gap]]:
    """The version whose fresh install ``catalog`` is nearest (the newest of a tie), and the differences."""
    gaps = {version: _gaps(fresh, catalog, versions.ours) for version, fresh in versions.by_version.items()}
    nearest = min(gaps, key=lambda version: (len(gaps[version]), -version))
    return nearest, gaps[nearest]


def diagnose(prefix: str, marker: int, catalog: Catalog, citext: Citext, versions: Versions) -> Diagnosis:
    """Compare one install's catalog with its marker's version."""
    fresh = versions.by_version[marker]
    gaps = _gaps(fresh, catalog, versions.ours)
    tables = {name for kind, name in fresh.catalog.objects if kind == "table"}
    yours = tuple(sorted(  # on phoenix_kit's tables: the rest of the schema is the application's, not ours to list
        (_describe(key), entry.definition) for key, entry in catalog.objects.items()
        if entry.table in tables and key not in fresh.catalog.objects and key not in versions.ours and key[0] != "row"
    ))  # fmt: skip
    matches = None
    if gaps:
        nearest, left = closest(catalog, versions)
        matches = nearest if not left else None
    differences = explain(prefix, fresh, catalog, gaps, matches)
    differences += _citext_differences(citext)
    return Diagnosis(prefix, marker, tuple(differences), yours, None, matches)


def _describe(key: Key) -> str:
    return f"{key[0]} {key[1]}"


def _citext_differences(citext: Citext) -> list[Difference]:
    if citext.schema is None:
        fix = ("a superuser runs CREATE EXTENSION citext SCHEMA public; the e-mail columns dropped with it are lost: "
               "restore them, and their indexes, from a backup")  # fmt: skip
        return [Difference("missing", "extension citext", "installed", None, fix=fix)]
    if citext.problem is not None:
        fix = "see docs/security.md, \"citext\": a superuser recreates it in a schema a superuser owns"
        return [Difference("changed", "extension citext", "controlled by trusted roles", f"it {citext.problem}", fix=fix)]
    return []


# Explaining: each gap with what --repair does for it, or the manual fix


def explain(prefix: str, fresh: Expected, catalog: Catalog, gaps: list[_Gap], matches: int | None) -> list[Difference]:
    if matches is not None:  # the objects are a version's exactly: the marker is what is wrong
        fix = f"manage.py phoenixkit_migrate --prefix {prefix} --mark {matches}"
        marker = Difference("changed", "marker", str(matches), str(fresh.version), fix=f"record the version the objects are: {fix}")
        return [marker] + [_difference(gap, (), f"the marker is wrong: {fix}") for gap in gaps]
    creatable = _creatable(fresh, catalog, gaps)
    schema = quote_ident(prefix)
    seeds = {_seed_key(seed): seed for seed in fresh.seeds}
    explained = []
    for gap in gaps:
        if gap.key in creatable and gap.expected is not None:
            create = tuple((phase, statement.replace(SCHEMA, schema)) for phase, statement in gap.expected.create)
            explained.append(_difference(gap, create, None))
        elif gap.key in seeds:
            explained.append(Difference("missing", f"row {seeds[gap.key].name}", "seeded", None, fix=_insert(schema, seeds[gap.key])))
        else:
            explained.append(_difference(gap, (), _manual_fix(schema, gap)))
    return explained


def _difference(gap: _Gap, create: Creates, fix: str | None) -> Difference:
    name = f"row {gap.key[1]}" if gap.key[0] == "row" else _describe(gap.key)
    expected = None if gap.expected is None else gap.expected.definition
    found = None if gap.found is None else gap.found.definition
    return Difference(gap.kind, name, expected, found, create, fix)


def _creatable(fresh: Expected, catalog: Catalog, gaps: list[_Gap]) -> set[Key]:
    """The missing objects --repair can re-create: additively, without touching rows.

    A NOT NULL column without a default can only be added to a table being
    created (an existing one may have rows), and so can a sequence (a new one
    starts at 1, below the ids an existing table holds); a constraint or index
    only on columns that exist or are created.
    """
    missing = {gap.key for gap in gaps if gap.kind == "missing" and gap.expected is not None and gap.expected.create}
    new_tables = {name for kind, name in missing if kind == "table"}

    def column_ok(key: Key) -> bool:
        entry = fresh.catalog.objects[key]
        bare = entry.definition.split(" COMMENT ")[0]
        return entry.table in new_tables or " NOT NULL" not in bare or " DEFAULT " in bare

    columns = {key for key in missing if key[0] == "column" and column_ok(key)}

    def present(table: str | None, column: str) -> bool:
        key = ("column", f"{table}.{column}")
        return key in catalog.objects or key in columns

    return {
        key for key in missing
        if key[0] == "table" or key in columns
        or (key[0] == "sequence" and fresh.catalog.objects[key].table in new_tables)
        or (key[0] in ("constraint", "index") and all(present(fresh.catalog.objects[key].table, c) for c in fresh.catalog.objects[key].columns))
    }  # fmt: skip


def _manual_fix(schema: str, gap: _Gap) -> str:
    kind, name = gap.key
    expected = None if gap.expected is None else gap.expected.definition
    found = "" if gap.found is None else gap.found.definition
    if gap.kind == "unexpected":
        return "phoenix_kit's, from another version: check the marker (`--adopt` finds the version the objects are)"
    if kind == "index" and found.endswith(" (INVALID)") and expected == found[: -len(" (INVALID)")]:
        return f"REINDEX INDEX CONCURRENTLY {schema}.{quote_ident(name)}"
    if kind == "constraint" and found == f"{expected} NOT VALID":
        table, _, constraint = name.partition(".")
        return f"ALTER TABLE {schema}.{quote_ident(table)} VALIDATE CONSTRAINT {quote_ident(constraint)}"
    if gap.kind == "missing" and kind == "sequence" and gap.expected is not None:
        statements = "; ".join(statement.replace(SCHEMA, schema) for _, statement in gap.expected.create)
        return f"{statements}; then setval it past the highest id of its table before a default uses it"
    if gap.kind == "missing" and kind == "column":
        return "add it by hand, with values for the existing rows (it is NOT NULL without a default)"
    if gap.kind == "missing":
        return "re-create it by hand once what it depends on exists"
    return f"alter it back to the expected definition (with search_path = {schema}): {expected}"


def _insert(schema: str, seed: Seed) -> str:
    """The statement that re-inserts a seeded row as a fresh install has it (the primary key left to its default)."""
    table = f"{schema}.{quote_ident(seed.table)}"
    columns = ", ".join(quote_ident(c) for c in seed.row if c not in seed.primary_key)
    row = {c: v for c, v in seed.row.items() if c not in seed.primary_key}
    literal = quote_literal(json.dumps(row, sort_keys=True))
    return f"INSERT INTO {table} ({columns}) SELECT {columns} FROM pg_catalog.jsonb_populate_record(NULL::{table}, {literal})"
