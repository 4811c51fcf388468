"""Where a migration operation's progress goes: the output of the ``migrate`` running it.

Operations get no output stream from Django, but ``migrate`` sends its own
with the ``pre_migrate`` signal; it is kept per database alias until
``post_migrate``. Django has then written ``  Applying app.0001_name...`` and
leaves the line open for its `` OK``: the progress starts on a line of its
own and ends with a summary line left open, so that `` OK`` closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import OutputWrapper

from .plan import Direction

_outputs: dict[str, tuple[OutputWrapper, int]] = {}


def remember(using: str, verbosity: int, stdout: OutputWrapper | None = None, **kwargs: Any) -> None:
    """``pre_migrate`` receiver: ``migrate`` is about to run on ``using`` with this output."""
    if stdout is not None:
        _outputs[using] = (stdout, verbosity)


def forget(using: str, **kwargs: Any) -> None:
    """``post_migrate`` receiver: that ``migrate`` is done."""
    _outputs.pop(using, None)


class _Progress:
    """The core's progress lines, indented under Django's line for the migration."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out
        self.wrote = False
        self._line_start = True

    def write(self, text: str) -> int:
        if not self.wrote:
            self.out.write("", ending="\n")  # ends Django's "  Applying app.0001_name..."
            self.wrote = True
        pieces = []
        for line in text.splitlines(keepends=True):
            pieces.append(f"  {line}" if self._line_start else line)
            self._line_start = line.endswith("\n")
        self.out.write("".join(pieces), ending="")
        self.out.flush()
        return len(text)

    def flush(self) -> None:
        self.out.flush()


@contextmanager
def progress(alias: str, description: str, direction: Direction) -> Iterator[_Progress | bool]:
    """The ``log`` for an operation's move on ``alias``: migrate's output, or False outside ``migrate``."""
    found = _outputs.get(alias)
    if found is None or found[1] < 1:
        yield False
        return
    writer = _Progress(found[0])
    yield writer
    if writer.wrote:  # the summary Django's " OK" ends
        writer.out.write(f"  {'Undo ' if direction == 'down' else ''}{description}...", ending="")
