"""The consoles commands print to: tables on stdout, wide enough when piped to a log
(rich assumes 80 columns there), and one-line warnings on stderr. Both leave out the
control characters of what they print: names come from results directories and
submission folders that anyone may have written, and an escape sequence in one must not
move the cursor, recolour or retitle the terminal (what is left of it, ``[31m``, shows)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

# C0 controls but tab and newline, DEL, and C1 controls: rich measures them as zero
# cells wide, so leaving them out keeps every table's layout as measured.
CONTROLS = dict.fromkeys([*(c for c in range(0x20) if chr(c) not in "\t\n"), 0x7F, *range(0x80, 0xA0)])


class PrintableConsole(Console):
    """A rich Console that prints the text it renders without control characters (rich's
    own styling and cursor moves are segments of their own, and pass)."""

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Any:
        for segment in super().render(renderable, options):
            yield segment if segment.control else Segment(segment.text.translate(CONTROLS), segment.style)


def stdout_console(soft_wrap: bool = True) -> Console:
    return PrintableConsole(highlight=False, soft_wrap=soft_wrap, width=None if sys.stdout.isatty() else 160)


def stderr_console() -> Console:
    return PrintableConsole(stderr=True, highlight=False, soft_wrap=True)


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
