"""docs/troubleshooting.md lists every exception phoenix_kit raises and every system check it reports.

The command's messages are checked where they are produced (tests/django/test_command_errors.py).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import phoenix_kit.checks
import phoenix_kit.errors
from phoenix_kit.pristine import PristineError
from tests.troubleshooting import documented, text


def test_every_exception_class_is_listed() -> None:
    classes = [c for _, c in inspect.getmembers(phoenix_kit.errors, inspect.isclass) if issubclass(c, Exception)]
    missing = [c.__name__ for c in [*classes, PristineError] if f"| `{c.__name__}` |" not in text()]
    assert missing == []


def test_every_system_check_is_listed() -> None:
    source = Path(inspect.getfile(phoenix_kit.checks)).read_text()
    ids = sorted(set(re.findall(r'"phoenix_kit\.([EW]\d{3})"|phoenix_kit\.\{code\}', source)) - {""})
    ids += [f"E00{n}" for n in (2, 3, 4, 8)]  # the settings checks build their ids from a table
    missing = [i for i in sorted(set(ids)) if f"| `phoenix_kit.{i}` |" not in text()]
    assert len(set(ids)) >= 13 and missing == []


def test_a_message_is_found_by_its_start_and_placeholders() -> None:
    assert documented("CommandError: Schema 'tenant_b' does not exist: create it first, or run without --no-create-schema.")
    assert not documented("CommandError: something phoenix_kit never says")
