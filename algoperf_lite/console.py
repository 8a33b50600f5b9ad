"""The consoles commands print to: tables on stdout, wide enough when piped to a log
(rich assumes 80 columns there), and one-line warnings on stderr."""

from __future__ import annotations

import sys

from rich.console import Console


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)
