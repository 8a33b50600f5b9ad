"""One writer at a time: a study holds its results directory's lock, and whatever writes a
trial folder (a `run`, a study's trial, the study recording a killed trial) holds that
folder's lock, from before it writes anything to its end.

A lock is a lease on a small file (filelock's ``SoftFileLease``): the file names its
holder by host, process id and that process's start time, and a thread of the holder
renews it every third of its lease (``STUDY_LEASE_SEC``, ``TRIAL_LEASE_SEC``). A second
writer is refused at once with the holder's name, except where the holder is gone:

- a holder on this host that no longer runs (a process killed with SIGKILL; a process id
  the system has since given to another process does not count: its start time differs)
  is taken over at once;
- a holder on another host (a cluster node) cannot be checked from here: its lock is
  taken over once it has not been renewed for a whole lease. A writer that finds a lock
  that old watches it for up to a lease (a live holder renews it meanwhile) before it
  takes it over.

A lock left in the format of earlier versions (JSON) is taken over once it has not
changed for 2 seconds. Pool workers and launcher jobs write under their study's lock.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import LeaseSettingsMismatch, SoftFileLease, Timeout

from algoperf_lite.errors import UserError
from algoperf_lite.results import LOCK_FILE, trial_lock_file

STUDY_LEASE_SEC = 120.0  # longer than a shared filesystem's attribute cache may hide a renewal
# A trial's: short enough that a trial rerun on another node after its first node died
# waits for it within its set-up allowance; two nodes never run one trial at once anyway
# (a study leaves the trials of live jobs alone).
TRIAL_LEASE_SEC = 30.0


class StaleLockWarning(UserWarning):
    """A lock whose holder is gone was taken over."""


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    renewed_sec: float  # since its lease was last renewed

    @property
    def name(self) -> str:
        return f"host {self.host}, pid {self.pid}"

    def __str__(self) -> str:
        return f"{self.name}, its lease renewed {self.renewed_sec:.0f} s ago"


def _lease(path: Path, lease_sec: float) -> SoftFileLease:
    return SoftFileLease(path, lease_duration=lease_sec, timeout=0)


def _describe(lease: SoftFileLease, path: Path) -> Holder | None:
    owner = lease.owner
    with contextlib.suppress(OSError):
        if owner is not None:
            return Holder(owner.hostname, owner.pid, max(0.0, time.time() - path.stat().st_mtime))
    return None


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def holder(path: Path, lease_sec: float) -> Holder | None:
    """Who holds the lock at ``path`` now (None: nobody, or a holder that is gone)."""
    path = Path(path)
    if not path.exists():
        return None
    lease = _lease(path, lease_sec)
    try:
        lease.acquire()
    except (Timeout, LeaseSettingsMismatch):
        return _describe(lease, path) or Holder("?", 0, _age(path))
    lease.release()
    return None


@contextlib.contextmanager
def hold(path: Path, lease_sec: float, refusal: Callable[[str], str],
         warn: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock at ``path`` for the block; if another holds it, raise UserError with
    ``refusal(holder)``. ``warn`` says that it watches a lock not renewed for a lease, and
    that a lock whose holder is gone was taken over (None: silently)."""
    path = Path(path)
    missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    lease = _lease(path, lease_sec)
    before = _describe(lease, path)
    try:
        try:
            lease.acquire()
        except Timeout:
            if _age(path) < lease_sec:
                raise
            if warn is not None:
                warn(f"the lock {path} has not been renewed for {_age(path):.0f} s ({before}): watching it for up "
                     f"to {lease_sec:g} s to see that its holder is gone")
            lease.acquire(timeout=lease_sec * 4 / 3)  # unchanged for a lease: its holder is gone
    except (Timeout, LeaseSettingsMismatch):
        found = _describe(lease, path)
        raise UserError(refusal(str(found) if found else "a holder whose lock file cannot be read")) from None
    if before is not None and warn is not None:
        warn(f"took over the lock {path} from a holder that is no longer running ({before.name})")
    try:
        yield
    finally:
        lease.release()
        for folder in missing:  # made for the lock, and left empty by the block: gone with it
            with contextlib.suppress(OSError):
                folder.rmdir()


def _warning(message: str) -> None:
    warnings.warn(message, StaleLockWarning, stacklevel=4)


def results_lock(results_dir: Path, warn: Callable[[str], None] | None = _warning) -> contextlib.AbstractContextManager:
    """A study's hold on its results directory."""
    return hold(Path(results_dir) / LOCK_FILE, STUDY_LEASE_SEC, lambda who: (
        f"{results_dir} is in use by another study ({who}); wait for it to end or use another results_dir"), warn)


def study_holder(results_dir: Path) -> Holder | None:
    """The study that holds ``results_dir`` now, if any."""
    return holder(Path(results_dir) / LOCK_FILE, STUDY_LEASE_SEC)


def check_free(results_dir: Path) -> None:
    """Refuse to write into ``results_dir`` while a study holds it."""
    found = study_holder(results_dir)
    if found is not None:
        raise UserError(f"{results_dir} is in use by a study ({found}): writing into it would mix results; "
                        f"wait for it to end or use another results_dir")


def trial_lock(trial_path: Path, warn: Callable[[str], None] | None = _warning) -> contextlib.AbstractContextManager:
    """The hold of whatever writes a trial folder."""
    return hold(trial_lock_file(trial_path), TRIAL_LEASE_SEC, lambda who: (
        f"{trial_path} is being written by another process ({who}); wait for it to end, or give another "
        f"results_dir"), warn)
