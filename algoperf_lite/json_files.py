"""Reading JSON (and YAML) files that may come from anyone: a results directory someone
shared, a search space, AlgoPerf's logs, a rule file. Every such file is read here, and
only what is safe to walk comes back: at most ``MAX_BYTES`` of UTF-8 text, nested at most
``MAX_DEPTH`` deep, standard JSON (no NaN or Infinity, and no number so large that it
reads as infinite). Anything else is one :class:`UnreadableFile` naming the file and what
is wrong with it: no RecursionError, MemoryError or UnicodeDecodeError reaches a command,
and no caller needs a guard of its own. Callers decide what an unreadable file means (a
damaged record is rerun or skipped with a warning; bad input is one message, exit 2).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from algoperf_lite.errors import UserError

MAX_BYTES = 64 * 2**20  # far above any record this project writes (a 25 MB spec.json reads)
MAX_DEPTH = 64  # records nest under 10 deep; deeper is damage, or an attack on recursive readers
MAX_YAML_VALUES = 1_000_000  # YAML's aliases can make a small file a very large tree


class UnreadableFile(UserError):
    """A file that cannot be read as what it should be: its message names it and why."""

    def __init__(self, source: str | Path, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source, self.reason = str(source), reason


def _text(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise UnreadableFile(path, f"cannot be read ({e.strerror or e})") from None
    if len(data) > MAX_BYTES:
        raise UnreadableFile(path, f"larger than {MAX_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableFile(path, "not UTF-8 text (a binary file?)") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_values(value: Any, source: str, max_values: int | None = None) -> Any:
    """``value`` as is, if it nests at most MAX_DEPTH deep and holds no infinite or NaN
    number (and at most ``max_values`` values); else UnreadableFile naming ``source``.
    Iterative: a tree too deep for Python's recursion is refused, not crashed on."""
    stack, seen = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if max_values is not None and seen > max_values:
            raise UnreadableFile(source, f"more than {max_values:,} values")
        if isinstance(item, float) and not math.isfinite(item):
            raise UnreadableFile(source, f"holds {item!r}, not a finite number")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, (list, tuple)) else ()
        if children and depth >= MAX_DEPTH:
            raise UnreadableFile(source, f"nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)
    return value


def parse_json(text: str, source: str) -> Any:
    """``text`` as JSON (see the module's docstring); ``source`` names it in errors."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise UnreadableFile(source, f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:  # JSONDecodeError included
        raise UnreadableFile(source, f"not valid JSON ({e})") from None
    return check_values(value, source)


def read_json(path: Path) -> Any:
    """The JSON value in ``path`` (see the module's docstring)."""
    return parse_json(_text(Path(path)), str(path))


def read_yaml(path: Path) -> Any:
    """The YAML value in ``path``, bounded as JSON is (and in how many values its aliases make)."""
    text = _text(Path(path))
    try:
        value = yaml.safe_load(text)
    except RecursionError:
        raise UnreadableFile(path, f"nested deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError as e:
        raise UnreadableFile(path, f"not valid YAML ({e})") from None
    return check_values(value, str(path), MAX_YAML_VALUES)


def read_json_or_yaml(path: Path) -> Any:
    """``.json`` files as JSON, others (``.yaml``, ``.yml``) as YAML."""
    return read_json(path) if Path(path).suffix == ".json" else read_yaml(path)
