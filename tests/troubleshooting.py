"""docs/troubleshooting.md as the tests read it: the messages its tables list, as patterns."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md"


@cache
def text() -> str:
    return PAGE.read_text()


@cache
def patterns() -> tuple[re.Pattern[str], ...]:
    """The first-column code spans of the page's tables; ``…`` matches anything."""
    spans = re.findall(r"^\| `([^`]+)` \|", text(), flags=re.MULTILINE)
    return tuple(re.compile(".*?".join(map(re.escape, span.split("…")))) for span in spans)


def documented(message: str) -> bool:
    """Whether some listed message is how ``message`` starts (``CommandError: `` aside)."""
    message = message.removeprefix("CommandError: ")
    return any(pattern.match(message) for pattern in patterns())
