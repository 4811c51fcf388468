"""Where a move's progress goes: the ``phoenix_kit`` logger (the default), a text stream, or nowhere.

A library logs: by default each step is one INFO record of the ``phoenix_kit``
logger (version, direction, prefix, outcome and duration, also as the record's
``phoenix_kit`` attribute), its statements DEBUG records, and nothing is printed.
A text stream (``log=sys.stdout``, the command's output) gets the lines
``manage.py migrate`` users know: ``  Applying phoenix_kit V01 (...)... OK 0.01s``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from .plan import Step

LOGGER = logging.getLogger("phoenix_kit")


class Writer(Protocol):
    """A text stream, or anything with ``write`` and ``flush``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class Progress(Protocol):
    def step(self, step: Step, ok: bool, seconds: float | None) -> None:
        """``step`` ended (``seconds``: how long it took, when it succeeded)."""

    def note(self, text: str) -> None:
        """Something worth saying while a step runs (waiting for locks, an online form's phases).

        ``text`` is a line as a stream shows it: indented, ending in a newline.
        """

    def statements(self, step: Step, statements: Sequence[str]) -> None:
        """The statements ``step`` is about to send."""


class Silent:
    def step(self, step: Step, ok: bool, seconds: float | None) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def statements(self, step: Step, statements: Sequence[str]) -> None:
        pass


class StreamProgress(Silent):
    def __init__(self, stream: Writer) -> None:
        self.stream = stream

    def step(self, step: Step, ok: bool, seconds: float | None) -> None:
        outcome = f" OK {seconds:.2f}s" if ok and seconds is not None else " OK" if ok else " FAILED"
        self._write(f"  {step.describe()}...", f"{outcome}\n")  # two writes: the command styles the outcome

    def note(self, text: str) -> None:
        self._write(text)

    def _write(self, *parts: str) -> None:
        for part in parts:
            self.stream.write(part)
        self.stream.flush()


class LoggerProgress:
    def __init__(self, logger: logging.Logger, prefix: str) -> None:
        self.logger = logger
        self.prefix = prefix

    def step(self, step: Step, ok: bool, seconds: float | None) -> None:
        facts = {
            "version": step.version.number, "direction": step.direction, "prefix": self.prefix,
            "ok": ok, "seconds": seconds,
        }  # fmt: skip
        took = "" if seconds is None else f" in {seconds:.2f}s"
        self.logger.log(
            logging.INFO if ok else logging.ERROR, "phoenix_kit %s %s on prefix %r %s%s",
            step.version.label, step.direction, self.prefix, "done" if ok else "failed", took,
            extra={"phoenix_kit": facts},
        )  # fmt: skip

    def note(self, text: str) -> None:
        self.logger.info("%s", text.strip(), extra={"phoenix_kit": {"prefix": self.prefix}})

    def statements(self, step: Step, statements: Sequence[str]) -> None:
        if self.logger.isEnabledFor(logging.DEBUG):
            for statement in statements:
                self.logger.debug("phoenix_kit %s %s on prefix %r: %s", step.version.label, step.direction, self.prefix, statement)


def progress_for(log: object, prefix: str) -> Progress:
    """``log`` as the API takes it: None (the ``phoenix_kit`` logger), a logger, a text stream, True (stdout),
    False, or a :class:`Progress` of the caller's."""
    if log is None:
        return LoggerProgress(LOGGER, prefix)
    if all(callable(getattr(log, name, None)) for name in ("step", "note", "statements")):
        return log  # type: ignore[return-value]  # a Progress of the caller's (the command's)
    if log is False:
        return Silent()
    if isinstance(log, logging.Logger):
        return LoggerProgress(log, prefix)
    if log is True:
        import sys

        return StreamProgress(sys.stdout)
    if callable(getattr(log, "write", None)) and callable(getattr(log, "flush", None)):
        return StreamProgress(log)  # type: ignore[arg-type]
    raise TypeError(
        f"log must be a logging.Logger, a writable text stream, False, True (stdout) or None "
        f"(the 'phoenix_kit' logger), got {log!r}"
    )
