#!/usr/bin/env python
"""The example project's command-line utility: ``python example_project/manage.py migrate``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Run against this checkout's phoenix_kit even when it is not pip-installed.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
