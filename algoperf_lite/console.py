"""The consoles commands print to: tables on stdout, wide enough when piped to a log
(rich assumes 80 columns there), and one-line warnings on stderr."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text


def stdout_console(soft_wrap: bool = True) -> Console:
    return Console(highlight=False, soft_wrap=soft_wrap, width=None if sys.stdout.isatty() else 160)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def warnings_as_lines(console: Console, category: type[Warning]) -> Iterator[None]:
    """Show the warnings of ``category`` raised in the block as readable lines on ``console``
    (``warning: ...``) instead of Python's warning format; others pass on as they are."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        yield
    for w in caught:
        if issubclass(w.category, category):
            console.print(Text(f"warning: {w.message}", style="yellow"))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
