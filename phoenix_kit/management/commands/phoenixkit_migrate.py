"""``manage.py phoenixkit_migrate``: move, inspect or export one PhoenixKit install.

Conventions are Django's ``migrate``: output through ``self.stdout`` gated on
verbosity, and user mistakes as a one-line ``CommandError`` raised before any
change. Moving the configured prefix keeps ``django_migrations`` in step.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from itertools import chain
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.utils.connection import ConnectionDoesNotExist

from ... import conf, records
from ...db import connect
from ...errors import PhoenixKitError, StepFailedError
from ...marker import VERSION_TABLE, no_marker_table, read_relations, suggested_versions
from ...losses import Losses, assess, kept_schema, losing_ups, step_drops
from ...migration import down, latest_version, mark, migrated_version, sql, up
from ...plan import Step, plan
from ...prefix import prefix_problem
from ...status import Status, installed, named, prefix_status
from ...fanout import PrefixResult, migrate_prefixes, read_installs
from ...drift import DRIFT, EXACT, UNCHECKED, Diagnosis, doctor_many
from ...remedies import adopt, repair
from .. import doctor_output
from ..migrate_support import CommandProgress, Request, VersionTargetCommand, checked_prefix, parse_request, report_results


class Command(VersionTargetCommand):
    help = "Move a PhoenixKit install (a prefix) to a version, by default the latest, or report or export the move."

    def add_arguments(self, parser: CommandParser) -> None:
        add = parser.add_argument
        add(
            "--version", metavar="N",
            help="Apply every version above the installed one up to N; never downgrades. "
            "(Django's version: python -m django --version.)",
        )
        add("--down", metavar="N", help="Roll back every applied version from N upwards, leaving version N-1.")
        add("--to", metavar="N", help="Move to exactly version N, up or down (0 removes PhoenixKit).")
        add("--mark", metavar="N", help="Record version N in the marker without running any SQL (adopt or repair).")
        add("--prefix", help="The PostgreSQL schema of the install (default: settings.PHOENIX_KIT_PREFIX).")
        add("--database", default=DEFAULT_DB_ALIAS, help='The database alias to use (default: "default").')
        add("--no-create-schema", action="store_true", help="Fail instead of creating the prefix's schema if missing.")
        add("--plan", action="store_true", help="Print the steps the move would run and what they lose.")
        add("--sql", action="store_true", help="Print the move as a psql script instead of running it.")
        add("--online", action="store_true", help="With --sql: steps that scan a table take their online form.")
        add("--from", dest="from_version", metavar="N", help="With --sql: the starting version, so no database is read.")
        add("--status", action="store_true", help="Print the installed version and the pending steps.")
        add("--all-prefixes", action="store_true", help="Apply the move to (or with --status, report) every install.")
        add("--prefixes", metavar="A,B,C", help="Apply the move to (or with --status, report) these prefixes.")
        add(
            "--install-missing", action="store_true",
            help="With --prefixes: install the listed prefixes that have no install (else each is an error).",
        )
        add("--jobs", type=int, default=1, metavar="N", help="With several prefixes: migrate them on N connections.")
        add("--check", action="store_true", help="Exit with status 1 if the prefix is behind the latest version.")
        add(
            "--doctor", action="store_true",
            help="Compare the install with a fresh install of its version: exit 0 exact, 1 drift, 2 could not check.",
        )
        add("--format", choices=("text", "json"), default="text", help="With --doctor: the report's format.")
        add("--repair", action="store_true", help="Re-create the missing phoenix_kit objects --doctor finds (additive only).")
        add("--adopt", action="store_true", help="Find the version of an install whose marker is lost, and offer to record it.")
        add(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="Do not ask for confirmation before a move that loses data.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity: int = options["verbosity"]
        if not options["check"]:
            self._handle(options)
            return
        try:
            self._handle(options)
        except CommandError as exc:  # --check: exit status 1 says "behind"; what kept it from checking is 2
            raise CommandError(str(exc), returncode=2) from exc

    def _handle(self, options: dict[str, Any]) -> None:
        request = parse_request(options)
        create_schema = False if options["no_create_schema"] else None
        if request.mode in ("move", "mark"):
            self._lock_timeout()

        if request.mode == "sql" and request.from_version is not None:  # offline: no database
            prefix = self._prefix(options["prefix"], None)
            start = request.from_version
            self.stdout.write(sql(start, request.target(start), prefix=prefix, create_schema=create_schema, online=options["online"]), ending="")
            return

        alias = self._database(options["database"])
        if request.mode in ("doctor", "repair", "adopt"):
            if request.mode == "repair":
                self._lock_timeout()
            self._doctor(alias, request.mode, options)
            return
        if options["all_prefixes"] or options["prefixes"] is not None:  # "" is an empty list, not none
            self._many(alias, request, create_schema, options)
            return
        prefix = self._prefix(options["prefix"], alias)
        track = not conf.per_tenant() and prefix == conf.prefix() and records.applies(alias)
        if request.mode == "mark":
            self._mark(alias, prefix, request.number, options["interactive"])
            return

        status = prefix_status(prefix, using=alias)
        if request.mode == "status":
            self._print_status(alias, status, track)
            return
        if status.problem is not None or status.version is None:
            raise CommandError(status.problem)
        current = status.version
        if request.mode == "check":
            self._check(alias, status, options["prefix"])
            return
        target = request.target(current)
        steps = plan(current, target)
        if request.mode == "sql":
            self.stdout.write(sql(current, target, prefix=prefix, create_schema=create_schema, online=options["online"]), ending="")
            return
        if current == 0 and steps and create_schema is False and not status.schema_exists:
            raise CommandError(
                f"Schema {prefix!r} does not exist: create it first, or run without --no-create-schema."
            )
        losses = assess(connect(alias), prefix, steps)  # counted before anything runs
        if request.mode == "plan":
            self._print_plan(alias, prefix, current, target, steps, losses)
            return

        where = f"prefix {prefix!r} on database {alias!r}"
        if not steps:
            self._say(f"PhoenixKit {where} is at version {current}: no migrations to apply.")
            if request.kind == "up" and current > request.number:
                self._say(f"  --version never downgrades: use --to {request.number} to move down.")
        elif losses.need_confirmation and not self._confirm(where, current, target, losses, options["interactive"]):
            return
        else:
            self._say("Operations to perform:", self.style.MIGRATE_HEADING)
            self._say(f"  Move PhoenixKit {where} from version {current} to {target}")
            if self.verbosity >= 2:  # the plan, as --plan prints it
                for step in steps:
                    self._say(f"    {step.describe()}")
            self._say("Running migrations:", self.style.MIGRATE_HEADING)
            current = self._move(alias, prefix, current, target, create_schema)
            if current == 0:
                self._say_if_schema_kept(alias, prefix)
        records.keep(alias, prefix, current)

    # Resolving the arguments (no SQL)

    def _prefix(self, given: str | None, alias: str | None) -> str:
        """--prefix, else the configured prefix (with TENANT_SCHEMA: the tenant the connection is on)."""
        if given is None and conf.per_tenant():
            try:
                return conf.valid_prefix(alias)
            except (ValueError, ImproperlyConfigured) as exc:
                raise CommandError(f"{exc} With --prefix, --prefixes or --all-prefixes no tenant is needed.") from None
        value, source = (conf.prefix(), "settings.PHOENIX_KIT_PREFIX") if given is None else (given, "--prefix")
        return checked_prefix(value, source)

    def _prefix_list(self, given: str) -> tuple[list[str], list[PrefixResult]]:
        """The valid names of a --prefixes list, and a failed result for each invalid one."""
        names = list(dict.fromkeys(name.strip() for name in given.split(",") if name.strip()))
        if not names:
            raise CommandError(f"--prefixes names no prefix: got {given!r}; give them separated by commas.")
        problems = {name: prefix_problem(name) for name in names}
        valid = [name for name, problem in problems.items() if problem is None]
        invalid = [PrefixResult(name, "failed", None, f"invalid prefix: {problem}") for name, problem in problems.items() if problem]
        return valid, invalid

    def _lock_timeout(self) -> None:
        try:
            conf.lock_timeout()
            conf.ddl_lock_timeout()
        except ValueError as exc:
            raise CommandError(f"{exc}: fix it in your settings.") from None

    def _database(self, alias: str) -> str:
        try:
            connection = connections[alias]
        except ConnectionDoesNotExist:
            known = ", ".join(map(repr, connections))
            raise CommandError(
                f"Unknown database alias {alias!r}: --database must be one of settings.DATABASES ({known})."
            ) from None
        if connection.vendor != "postgresql":
            raise CommandError(f"Database {alias!r} is {connection.vendor}: PhoenixKit needs PostgreSQL.")
        try:
            connection.ensure_connection()
        except OperationalError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CommandError(f"Cannot connect to database {alias!r}: {first}") from None
        return alias

    # The doctor

    def _doctor(self, alias: str, mode: str, options: dict[str, Any]) -> None:
        """--doctor, --repair, --adopt; exits with the doctor's status (0 exact, 1 drift, 2 could not check)."""
        invalid: list[PrefixResult] = []
        prefixes: list[str] | None = None
        if options["prefixes"] is not None:
            prefixes, invalid = self._prefix_list(options["prefixes"])
        elif not options["all_prefixes"]:
            prefixes = [self._prefix(options["prefix"], alias)]
        if mode == "adopt":
            assert prefixes is not None
            self._adopt(alias, prefixes[0], options["interactive"])
            return
        try:
            diagnoses = [Diagnosis(r.prefix, None, error=r.detail) for r in invalid] + doctor_many(prefixes, using=alias)
        except (PhoenixKitError, ValueError) as exc:
            raise CommandError(f"Cannot check: {exc}", returncode=UNCHECKED) from None
        skipped = [d.prefix for d in diagnoses if d.foreign] if prefixes is None else []
        diagnoses = [d for d in diagnoses if d.prefix not in skipped]
        if mode == "repair":
            status = self._repair(alias, diagnoses, options["interactive"])
        elif options["format"] == "json":
            doctor_output.write_json(self.stdout, alias, diagnoses, skipped)
            status = doctor_output.exit_status(diagnoses)
        else:
            for diagnosis in diagnoses:
                doctor_output.write_diagnosis(self.stdout, self.style, alias, diagnosis, self.verbosity)
            if skipped:
                self.stdout.write(f"Skipped (owned by roles the migrating role does not act for): {', '.join(skipped)}",
                                  self.style.WARNING)  # fmt: skip
            if prefixes is None or len(diagnoses) > 1:
                self.stdout.write(doctor_output.summary_line(diagnoses))
            status = doctor_output.exit_status(diagnoses)
        if status:
            sys.exit(status)

    def _repair(self, alias: str, diagnoses: list[Diagnosis], interactive: bool) -> int:
        """Repair each install in turn, asking first; the doctor's status after."""
        status = EXACT
        for diagnosis in diagnoses:
            doctor_output.write_diagnosis(self.stdout, self.style, alias, diagnosis, self.verbosity)
            statements = diagnosis.repairs
            if not statements:
                if diagnosis.status == DRIFT:
                    self.stdout.write("  Nothing here is for --repair (it only re-creates missing objects): see each fix.")
                status = max(status, diagnosis.status)
                continue
            self.stdout.write(f"--repair runs on prefix {diagnosis.prefix!r}, in one transaction under its lock:")
            for statement in statements:
                self.stdout.write(f"  {statement};")
            if not self._ask(interactive, "Repairing runs the statements listed above"):
                status = max(status, DRIFT)
                continue
            try:
                repaired = repair(diagnosis.prefix, using=alias, confirmed=statements)
            except (PhoenixKitError, ValueError) as exc:
                self.stdout.write(f"  {exc}", self.style.ERROR)
                status = UNCHECKED
                continue
            count = len(repaired.ran)
            self.stdout.write(f"Ran {count} statement{'s' * (count != 1)} on prefix {diagnosis.prefix!r}; checked again:")
            doctor_output.write_diagnosis(self.stdout, self.style, alias, repaired.after, self.verbosity)
            status = max(status, repaired.after.status)
        return status

    def _adopt(self, alias: str, prefix: str, interactive: bool) -> None:
        """Say which version the install's objects are; record it when they are one exactly."""
        try:
            adoption = adopt(prefix, using=alias)
        except (PhoenixKitError, ValueError) as exc:
            raise CommandError(str(exc), returncode=UNCHECKED) from None
        if adoption.exact:
            self._say(f"The objects of prefix {prefix!r} are exactly those of a fresh install of version {adoption.version}.")
            self._mark(alias, prefix, adoption.version, interactive)
            return
        self.stdout.write(
            f"No version matches prefix {prefix!r} exactly; the nearest is version {adoption.version}, "
            f"with {len(adoption.differences)} differences:", self.style.WARNING,
        )
        for difference in adoption.differences:
            doctor_output.write_difference(self.stdout, difference)
        self.stdout.write(
            f"Fix them, or if you accept them record that version with `manage.py phoenixkit_migrate --prefix {prefix} "
            f"--mark {adoption.version}` and use --doctor and --repair."
        )
        sys.exit(DRIFT)

    # Changing the database

    def _move(self, alias: str, prefix: str, current: int, target: int, create_schema: bool | None) -> int:
        """Run the steps; returns the version reached."""
        log = CommandProgress(self.stdout, self.style, self.verbosity) if self.verbosity >= 1 else False
        try:
            if target > current:
                return up(version=target, prefix=prefix, create_schema=create_schema, using=alias, log=log)
            return down(version=target + 1, prefix=prefix, using=alias, log=log)
        except StepFailedError as exc:  # the steps before the failing one are committed: record them
            records.keep(alias, prefix, migrated_version(prefix, using=alias))
            raise CommandError(str(exc)) from exc
        except (PhoenixKitError, ValueError) as exc:
            raise CommandError(str(exc)) from None

    def _many(self, alias: str, request: Request, create_schema: bool | None, options: dict[str, Any]) -> None:
        """--all-prefixes or --prefixes: report them, or move them; an invalid name fails alone."""
        prefixes, invalid = (None, []) if options["all_prefixes"] else self._prefix_list(options["prefixes"])
        if request.mode == "status":
            self._print_installs(alias, installed(using=alias) if prefixes is None else named(prefixes, using=alias))
            summary = report_results(self.stdout, self.style, invalid)
            if summary.failed:
                raise CommandError(f"{summary.failed} of the prefixes named are invalid; the others are listed above.")
            return
        self._fan_out(alias, request, prefixes, invalid, create_schema, options)

    def _fan_out(
        self,
        alias: str,
        request: Request,
        prefixes: list[str] | None,
        invalid: list[PrefixResult],
        create_schema: bool | None,
        options: dict[str, Any],
    ) -> None:
        """The same move on many prefixes: one line per prefix, exit 1 if any failed."""
        move = request.move
        rolled_back = [step for step in plan(latest_version(), 0) if move.target(step.version.number) < step.version.number]
        losses = [(step, loss) for step in rolled_back for loss in step.losses]
        if losses:  # not counted: that would cost a query per table per prefix
            self.stdout.write("On every prefix that has them, this move rolls back and loses:", self.style.WARNING)
            for step, loss in losses:
                self.stdout.write(f"  {step.version.label} {loss.table}: {loss.what}")
            if any(step_drops(step) for step in rolled_back):
                self.stdout.write(
                    "  and every object of yours (index, constraint, statistics, trigger, ...) that uses the "
                    "columns and tables they drop: --plan --prefix P lists them for one prefix"
                )
        installs = read_installs(prefixes, using=alias)  # one query, shared with the move itself
        upgrades = losing_ups(connect(alias), move, installs)  # counted, on the few prefixes they concern
        for name, found in upgrades:
            self.stdout.write(f"On prefix {name!r} this move loses:", self.style.WARNING)
            for step in found.steps:
                for line in found.of(step, confirming=True):
                    self.stdout.write(f"  {step.version.label} {line}")
        if (losses or upgrades) and not self._ask(options["interactive"]):
            return
        results: Iterator[PrefixResult] = chain(invalid, migrate_prefixes(
            move, prefixes, using=alias, jobs=options["jobs"], create_schema=create_schema, installs=installs,
            install_missing=options["install_missing"],
        ))
        if move.target(latest_version()) == 0:
            results = self._noting_kept_schemas(alias, results)
        summary = report_results(self.stdout, self.style, self._recording(alias, results))
        self._say(summary.line())
        if summary.failed:
            raise CommandError(f"{summary.failed} of {summary.total} prefixes failed; the others were migrated.")

    def _mark(self, alias: str, prefix: str, version: int, interactive: bool) -> None:
        """Record ``version`` after saying what the schema's tables suggest; ask unless --noinput."""
        relations = read_relations(connect(alias), prefix)
        if VERSION_TABLE not in relations:
            raise CommandError(no_marker_table(prefix))
        suggested = suggested_versions(relations)
        if suggested is None:
            seen = f"The tables of prefix {prefix!r} are those of no PhoenixKit version"
        else:
            low, high = suggested
            seen = f"The tables and indexes of prefix {prefix!r} are those of version {low}" + (
                f" to {high} (V{low + 1:02d}-V{high:02d} change only columns)" if high > low else ""
            )
        agrees = suggested is not None and suggested[0] <= version <= suggested[1]
        self._say(f"{seen}; recording version {version}{'' if agrees else ', which they do not suggest'}.",
                  None if agrees else self.style.WARNING)  # fmt: skip
        if not self._ask(interactive, "Recording a version runs no step and trusts you"):
            return
        try:
            with transaction.atomic(using=alias):  # the marker and its records together
                old = mark(version, prefix=prefix, using=alias)
                records.keep(alias, prefix, version)
        except (PhoenixKitError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        where = f"PhoenixKit prefix {prefix!r} on database {alias!r}"
        self._say(f"Recorded version {version} for {where} (the marker was {old!r}); no SQL ran.")

    def _confirm(self, where: str, current: int, target: int, losses: Losses, interactive: bool) -> bool:
        """List what the move loses; ask unless --noinput. False: the user said no."""
        if interactive or self.verbosity >= 1:
            self.stdout.write(f"Moving {where} from version {current} to {target} loses data:", self.style.WARNING)
            for step in losses.steps:
                for line in losses.of(step, confirming=True):
                    self.stdout.write(f"  {step.version.label} {line}")
        return self._ask(interactive)

    def _say_if_schema_kept(self, alias: str, prefix: str) -> None:
        """After a move to 0: say why a schema phoenix_kit created was not dropped."""
        kept = kept_schema(connect(alias), prefix)
        if kept is not None:
            self._say(kept.message(), self.style.WARNING)

    def _recording(self, alias: str, results: Iterator[PrefixResult]) -> Iterator[PrefixResult]:
        """Each result, after the django_migrations describing its prefix are brought in step with it."""
        for result in results:
            if result.version is not None:
                records.keep(alias, result.prefix, result.version, changed=result.outcome == "ok")
            yield result

    def _noting_kept_schemas(self, alias: str, results: Iterator[PrefixResult]) -> Iterator[PrefixResult]:
        for result in results:
            yield result  # printed by report_results before we resume
            if result.outcome == "ok" and result.version == 0:
                self._say_if_schema_kept(alias, result.prefix)

    def _ask(self, interactive: bool, why: str = "This move loses the data listed above") -> bool:
        """Confirm what was just listed; False: the user said no."""
        if not interactive:
            return True
        if not sys.stdin.isatty():
            raise CommandError(f"{why} and there is no terminal to confirm it: re-run with --noinput to proceed.")
        try:
            answer = input("Type 'yes' to continue, or 'no' to cancel: ")
        except (EOFError, KeyboardInterrupt):  # Ctrl-D, Ctrl-C: cancelled, and the exit status says so
            self.stdout.write("\nCancelled; nothing was changed.")
            sys.exit(1)
        if answer.strip().lower() != "yes":
            self.stdout.write("Cancelled; nothing was changed.")
            return False
        return True

    # Reporting

    def _check(self, alias: str, status: Status, given_prefix: str | None) -> None:
        where = f"PhoenixKit prefix {status.prefix!r} on database {alias!r}"
        if status.pending:
            fix = f"manage.py phoenixkit_migrate --database {alias}" + (f" --prefix {status.prefix}" if given_prefix else "")
            self._say(f"{where}: {status.summary}; run `{fix}`.")
            sys.exit(1)
        self._say(f"{where}: {status.summary}.")

    def _print_status(self, alias: str, status: Status, track: bool) -> None:
        self.stdout.write(f"PhoenixKit prefix {status.prefix!r} on database {alias!r}: {status.summary}")
        if status.problem is not None:
            self.stdout.write(f"  {status.problem}", self.style.WARNING)
            return
        for step in status.pending:
            self.stdout.write(f"  [ ] {step.version.label} {step.version.description}")
        problem = records.disagreement(alias, status.version or 0) if track else None
        if problem is not None:
            hint = records.fix_hint(alias, status.version or 0)
            self.stdout.write(f"  Warning: {problem}. {hint}", self.style.WARNING)

    def _print_installs(self, alias: str, statuses: list[Status]) -> None:
        if not statuses:
            self.stdout.write(f"No PhoenixKit install on database {alias!r}.")
            return
        self.stdout.write(f"PhoenixKit installs on database {alias!r} (latest version {latest_version()}):")
        width = max(len(status.prefix) for status in statuses)
        configured = None if conf.per_tenant() else conf.prefix()
        for status in statuses:
            note = "  (PHOENIX_KIT_PREFIX)" if status.prefix == configured else ""
            self.stdout.write(f"  {status.prefix:<{width}}  {status.summary}{note}")
            if status.problem is not None:
                self.stdout.write(f"    {status.problem}", self.style.WARNING)

    def _print_plan(
        self, alias: str, prefix: str, current: int, target: int, steps: list[Step], losses: Losses
    ) -> None:
        heading = f"Planned operations for prefix {prefix!r} on database {alias!r}, version {current} to {target}:"
        self.stdout.write(heading, self.style.MIGRATE_HEADING)
        if not steps:
            self.stdout.write("  No planned migration operations.")
        for step in steps:
            self.stdout.write(f"  {step.describe()}")
            for line in losses.of(step):
                self.stdout.write(f"    loses {line}")

    def _say(self, text: str, style: Any = None) -> None:
        if self.verbosity >= 1:
            self.stdout.write(text, style)

