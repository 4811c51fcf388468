"""Helpers of ``manage.py phoenixkit_migrate`` that are not about its output.

Parsing the flags into one request (validated before any SQL), and relaying
progress and fan-out results to the output. What a move loses is found by the
core (``phoenix_kit.losses``); the command only prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any, Iterable, Literal, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser, DjangoHelpFormatter, OutputWrapper
from django.core.management.color import Style

from ..fanout import Move, PrefixResult
from ..plan import Step, latest_version
from ..progress import Silent
from ..prefix import PREFIX_RULE, prefix_problem

Mode = Literal["move", "plan", "sql", "status", "check", "mark", "doctor", "repair", "adopt"]
TargetKind = Literal["up", "down", "to"]

_TARGET_FLAGS = ("version", "down", "to", "mark")
_MODE_FLAGS = ("plan", "sql", "status", "check", "doctor", "repair", "adopt")


_KINDS: dict[str, TargetKind] = {"version": "up", "down": "down", "to": "to", "mark": "to"}
_FLAGS = {
    "from_version": "--from",
    "no_create_schema": "--no-create-schema",
    "all_prefixes": "--all-prefixes",
    "install_missing": "--install-missing",
}
# The modes that can work on many prefixes at once.
_FAN_OUT_MODES = ("move", "status", "doctor", "repair")
# The modes that compare with a version of their own finding and take no target.
_UNTARGETED_MODES = ("status", "check", "doctor", "repair", "adopt")


class _HelpFormatter(DjangoHelpFormatter):
    show_last = DjangoHelpFormatter.show_last - {"--version"}  # ours is a target, listed with the others


class VersionTargetCommand(BaseCommand):
    """A command whose ``--version N`` is a PhoenixKit version, replacing BaseCommand's (Django's version)."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)


def _flag(dest: str) -> str:
    return _FLAGS.get(dest, f"--{dest}")


def _conflict(a: str, b: str, why: str) -> CommandError:
    return CommandError(f"{_flag(a)} cannot be combined with {_flag(b)}: {why}.")


def checked_prefix(value: object, source: str) -> str:
    """``value`` if it is a valid prefix, else a CommandError naming ``source`` and the reason."""
    problem = prefix_problem(value)
    if problem is not None:
        raise CommandError(f"Invalid {source} {value!r}: {problem}; {PREFIX_RULE}.")
    return cast(str, value)


def parse_version(value: object, flag: str, lowest: int) -> int:
    """An int from ``lowest`` to latest, given as an int (call_command) or a string (command line)."""
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value)
    if number is None or not lowest <= number <= latest_version():
        raise CommandError(f"{flag} must be a version number from {lowest} to {latest_version()}, got {value!r}.")
    return number


@dataclass(frozen=True)
class Request:
    """What the flags ask for: a mode, and for moves a target."""

    mode: Mode
    kind: TargetKind = "up"
    number: int = 0  # the N of --version/--down/--to/--mark (latest for a bare run)
    from_version: int | None = None

    @property
    def move(self) -> Move:
        return Move(self.kind, self.number)

    def target(self, current: int) -> int:
        """The marker the move ends at: --version never downgrades, --down never upgrades."""
        return self.move.target(current)


def parse_request(options: dict[str, Any]) -> Request:
    """Check the flags together, before anything touches a database."""
    targets = [name for name in _TARGET_FLAGS if options[name] is not None]
    modes = [name for name in _MODE_FLAGS if options[name]]
    if len(targets) > 1:
        raise _conflict(targets[0], targets[1], "give one target")
    if len(modes) > 1:
        raise _conflict(modes[0], modes[1], "give one of --plan, --sql, --status, --check, --doctor, --repair, --adopt")
    if targets == ["mark"] and modes:
        raise _conflict("mark", modes[0], "--mark only records a version")
    if targets and modes and modes[0] in ("status", "check"):
        raise _conflict(targets[0], modes[0], f"--{modes[0]} compares with the latest version and takes no target")
    if targets and modes and modes[0] in _UNTARGETED_MODES:
        raise _conflict(targets[0], modes[0], f"--{modes[0]} compares with the install's own version and takes no target")
    mode = cast(Mode, "mark" if targets == ["mark"] else modes[0] if modes else "move")
    if options["from_version"] is not None and mode != "sql":
        raise CommandError("--from only applies to --sql (the version the script starts from).")
    if options.get("online") and mode != "sql":
        raise CommandError("--online only applies to --sql (live moves take the online form by PHOENIX_KIT_ONLINE).")
    many = [name for name in ("all_prefixes", "prefixes") if options[name] not in (None, False)]
    if len(many) > 1:
        raise _conflict("all_prefixes", "prefixes", "give one set of prefixes")
    if many and mode not in _FAN_OUT_MODES:
        raise CommandError(f"{_flag(many[0])} applies to moves, --status, --doctor and --repair only.")
    if many and options["prefix"] is not None:
        raise _conflict(many[0], "prefix", "give either one prefix or many")
    if isinstance(options["jobs"], bool) or not isinstance(options["jobs"], int) or options["jobs"] < 1:
        raise CommandError(f"--jobs must be a positive number of connections, got {options['jobs']!r}.")
    if options["jobs"] != 1 and (not many or mode != "move"):
        raise CommandError("--jobs applies to moves of several prefixes (--all-prefixes or --prefixes).")
    if options["install_missing"] and (options["prefixes"] is None or mode != "move"):
        raise CommandError("--install-missing applies to moves of --prefixes (a list of prefixes to install).")
    if options.get("format", "text") != "text" and mode != "doctor":
        raise CommandError("--format applies to --doctor only (its report for CI).")
    if options["no_create_schema"] and (mode in ("mark", *_UNTARGETED_MODES) or targets == ["down"]):
        raise _conflict("no_create_schema", targets[0] if targets == ["down"] else mode, "nothing is created")
    from_version = None if options["from_version"] is None else parse_version(options["from_version"], "--from", 0)
    if not targets:
        return Request(mode, "up", latest_version(), from_version)
    name = targets[0]
    number = parse_version(options[name], f"--{name}", 0 if name == "to" else 1)
    return Request(mode, _KINDS[name], number, from_version)


class CommandProgress(Silent):
    """The core's progress in ``migrate``'s style: each step and its outcome; its time from
    ``-v 2``, its SQL from ``-v 3`` (as ``migrate -v 3`` shows SQL)."""

    def __init__(self, out: OutputWrapper, style: Style, verbosity: int) -> None:
        self.out = out
        self.style = style
        self.verbosity = verbosity

    def step(self, step: Step, ok: bool, seconds: float | None) -> None:
        self.out.write(f"  {step.describe()}...", ending="")
        took = f" ({seconds:.3f}s)" if ok and seconds is not None and self.verbosity >= 2 else ""
        self.out.write(f" OK{took}" if ok else " FAILED", style_func=self.style.SUCCESS if ok else self.style.ERROR)

    def note(self, text: str) -> None:
        self.out.write(text, ending="")

    def statements(self, step: Step, statements: Sequence[str]) -> None:
        if self.verbosity >= 3:
            self.out.write(f"  SQL of {step.describe().lower()}:", self.style.MIGRATE_LABEL)
            for statement in statements:
                self.out.write(f"    {statement};")


@dataclass
class FanOutSummary:
    total: int = 0
    failed: int = 0
    ok: int = 0
    current: int = 0
    skipped: int = 0

    def line(self) -> str:
        skipped = f"{self.skipped} skipped (not owned by roles the migrating role acts for), " if self.skipped else ""
        return f"{self.total} prefixes: {self.ok} migrated, {self.current} already current, {skipped}{self.failed} failed."


def report_results(out: OutputWrapper, style: Style, results: Iterable[PrefixResult]) -> FanOutSummary:
    """Print one line per prefix as results arrive; keep only counts, so memory stays flat."""
    summary = FanOutSummary()
    for result in results:
        summary.total += 1
        if result.outcome == "failed":
            summary.failed += 1
            out.write(f"  {result.prefix}: failed: {result.detail}", style.ERROR)
        elif result.outcome == "skipped":
            summary.skipped += 1
            out.write(f"  {result.prefix}: skipped: {result.detail}", style.WARNING)
        else:
            summary.ok += result.outcome == "ok"
            summary.current += result.outcome == "already current"
            out.write(f"  {result.prefix}: {result.outcome} (version {result.version})")
    return summary
