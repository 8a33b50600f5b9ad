"""One writer per results directory: a study holds ``RESULTS_DIR/.lock``, a small JSON file
naming its holder (host, pid, start time), from before it writes anything to its end.

A second study on the same directory is refused with the holder's name. A lock whose
holder is gone (a process of this host that no longer runs: a study killed with SIGKILL)
is taken over with a warning. A lock held from another host cannot be checked from here:
the message says which file to delete once that study is known to be over. Pool workers
and launcher jobs write under their study's lock and take none."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from algoperf_lite.errors import UserError
from algoperf_lite.results import LOCK_FILE


class StaleLockWarning(UserWarning):
    """A lock left by a study that is no longer running was taken over."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def holder(results_dir: Path) -> dict[str, Any] | None:
    """Who holds the lock of ``results_dir`` now (None: nobody, or a holder that is gone)."""
    try:
        data = json.loads((Path(results_dir) / LOCK_FILE).read_text())
    except (OSError, ValueError):
        return None
    if data.get("host") == socket.gethostname() and not _alive(int(data.get("pid", -1))):
        return None
    return data


def _describe(data: dict[str, Any]) -> str:
    return f"host {data.get('host')}, pid {data.get('pid')}, started {data.get('started')}"


def check_free(results_dir: Path) -> None:
    """Refuse to write into ``results_dir`` while a study holds it."""
    data = holder(results_dir)
    if data is not None:
        raise UserError(f"{results_dir} is in use by a study ({_describe(data)}): writing into it would mix "
                        f"results; wait for it to end or use another results_dir")


def _create(path: Path, data: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    return True


@contextlib.contextmanager
def results_lock(results_dir: Path, warn: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``results_dir``'s lock for the block (see the module's docstring); ``warn``
    says that a stale lock was taken over (default: a :class:`StaleLockWarning`)."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / LOCK_FILE
    me = {"host": socket.gethostname(), "pid": os.getpid(),
          "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    for _ in range(2):  # a second try after removing a stale lock
        if _create(path, me):
            break
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):  # being written this instant, or damaged
            old = {}
        if holder(results_dir) is not None or not old:
            what = _describe(old) if old else "a holder whose lock file cannot be read"
            raise UserError(f"{results_dir} is in use by another study ({what}); wait for it to end, use another "
                            f"results_dir, or, if that study is known to be over, delete {path}")
        message = (f"took over the lock of {results_dir} from a study that is no longer running "
                   f"({_describe(old)})")
        if warn is None:
            warnings.warn(message, StaleLockWarning, stacklevel=3)
        else:
            warn(message)
        path.unlink(missing_ok=True)
    else:
        raise UserError(f"{results_dir}: another study took the lock at the same moment; try again")
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("pid") == me["pid"]:
                path.unlink()
