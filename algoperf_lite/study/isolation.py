"""Each trial, and each look at a submission's code, in a fresh process whose whole
process tree ends with it.

Fresh: forked from a server process that has imported torch and the trial machinery and
run nothing else (multiprocessing's forkserver), so that a trial starts from the same
state whatever earlier trials did to theirs (torch's default dtype and flags, grad mode,
patched library classes), in tens of milliseconds rather than the seconds a new
interpreter takes to import torch. The study's own process is not forked: it has run
torch (OpenMP's threads do not survive a fork: a child's first parallel op hangs) and it
runs threads of its own (the live display, the lock's heartbeat).

Whole tree: the forked process is a supervisor. It starts a session (a process group of
its own), becomes the subreaper of everything below it (Linux: a process orphaned below
it, by a double fork or a daemon, is reparented to it rather than to init), forks the
trial, and when the trial ends, however it ends, kills every process left below it and
exits as the trial did (its exit code, or the signal that killed it). When the study
process dies, the server exits and the supervisor, told by the kernel, ends the trial
too. The study ends a supervisor's tree itself (:func:`end_tree`) when a trial runs past
its deadline or the study stops.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

import psutil

from algoperf_lite.errors import UserError

# What the server imports before it forks anything: the trial machinery, and what a
# trial would otherwise import in its first seconds, every time (torch.optim imports
# torch._dynamo at the first optimizer: 4 s; the data loaders import their libraries).
PRELOAD = ["torch", "torch._dynamo", "torch.distributed", "sklearn.datasets", "torchvision", "mlxtend.data",
           "algoperf_lite.study.worker"]
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 1, 36, 37


def context() -> mp.context.BaseContext:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)  # read when the server starts (once per study process)
    return ctx


def warm_up() -> None:
    """Start the server now (it imports for a few seconds while the caller goes on)."""
    from multiprocessing import forkserver

    context()
    forkserver.ensure_running()


def _prctl(option: int, value: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(ctypes.c_int(option), *map(ctypes.c_ulong, (value, 0, 0, 0)))


def _log_to(path: str) -> None:
    """Send this process's stdout and stderr (Python's and C's) to ``path``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _run(fn: Callable[..., Any], args: tuple[Any, ...]) -> int:
    """``fn(*args)`` in the forked trial process; its exit code."""
    try:
        fn(*args)
        return 0
    except SystemExit as e:
        return 0 if e.code is None else e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 (printed to the log; the caller learns it from the code)
        traceback.print_exc()
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()


def end_descendants(keep: frozenset[int] = frozenset()) -> None:
    """Kill every process below this one but those below the children in ``keep``
    (orphans adopted as their subreaper included), and reap them."""
    me = psutil.Process()
    for _ in range(20):  # each round kills what the last one's processes had forked meanwhile
        below = [q for c in me.children() if c.pid not in keep for q in (c, *c.children(recursive=True))]
        if not below:
            return
        for p in below:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(below, timeout=5)


@contextlib.contextmanager
def ends_what_it_starts() -> Iterator[None]:
    """Every process started below this one during the block ends with it, orphans
    included: for the block this process is their subreaper (Linux), so that a process
    orphaned below it (a double fork, a daemon) is reparented to it, not to init."""
    keep = frozenset(c.pid for c in psutil.Process().children())
    was = ctypes.c_int(0)
    _prctl(_PR_GET_CHILD_SUBREAPER, ctypes.addressof(was))
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    try:
        yield
    finally:
        end_descendants(keep)
        _prctl(_PR_SET_CHILD_SUBREAPER, was.value)


def _exit_as(status: int) -> None:
    """Exit with the code the trial exited with, or die of the signal that killed it."""
    code = os.waitstatus_to_exitcode(status)  # -N: killed by signal N
    if code < 0:
        with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if code >= 0 else 1)  # a signal that did not end it


def _supervise(environ: dict[str, str], log: str | None, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """The supervisor: the process the server forks (see the module's docstring)."""
    server = os.getppid()
    os.setsid()
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # see ends_what_it_starts
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # the server exits with the study
    # The caller's environment now (multiprocessing gives the caller's directory and
    # sys.path; the server has the environment it was started with, perhaps long ago).
    os.environ.clear()
    os.environ.update(environ)
    if log is not None:
        _log_to(log)
    trial = os.fork()
    if trial == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os._exit(_run(fn, args))
    # The study is gone: end the trial (its tree follows below).
    signal.signal(signal.SIGTERM, lambda *_: os.kill(trial, signal.SIGKILL))
    if os.getppid() != server:  # gone before the signal was asked for
        os.kill(trial, signal.SIGKILL)
    _, status = os.waitpid(trial, 0)
    end_descendants()
    _exit_as(status)


def start(fn: Callable[..., Any], args: tuple[Any, ...], log: str | None = None, name: str = "algoperf-lite") -> Any:
    """Run ``fn(*args)`` in a fresh supervised process (its output to ``log``, if given);
    the process (multiprocessing's: ``sentinel``, ``exitcode``, ``pid``)."""
    process = context().Process(target=_supervise, args=(dict(os.environ), log, fn, args), name=name)
    process.start()
    return process


def end_tree(process: Any, timeout: float = 10.0) -> None:
    """Kill every process below a supervised process, let it reap them and exit (as the
    trial it ran did), and wait for it; kill it too if it does not exit within
    ``timeout``. Each is stopped first, so that none forks a process the kill would miss;
    the supervisor reaps, since a process killed after its parent is left a zombie where
    init reaps nothing (some containers), and a zombie looks alive to the locks."""
    if process.exitcode is None:  # else its pid may be another process's by now
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(process.pid)
            seen: dict[int, psutil.Process] = {}
            for _ in range(20):  # until a round finds no process it had not stopped
                new = [p for p in [root, *root.children(recursive=True)] if p.pid not in seen]
                if not new:
                    break
                for p in new:
                    seen[p.pid] = p
                    with contextlib.suppress(psutil.Error):
                        p.suspend()
            for p in seen.values():
                with contextlib.suppress(psutil.Error):
                    (p.resume if p.pid == root.pid else p.kill)()
    process.join(timeout)
    with contextlib.suppress(OSError):  # what is left of its session's process group, and itself
        os.killpg(process.pid, signal.SIGKILL)
    process.join(timeout)


def _answer(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except UserError as e:
        conn.send(("user error", str(e)))
    except Exception as e:  # noqa: BLE001 (sent to the caller, who raises it as one message)
        conn.send(("error", f"{type(e).__name__}: {e}"))


def call(fn: Callable[..., Any], *args: Any, timeout: float = 600.0, what: str = "a fresh process") -> Any:
    """``fn(*args)`` in a fresh supervised process, and its value (which must pickle).
    A UserError it raises is raised here; any other error, or no answer within
    ``timeout`` seconds, is a UserError naming ``what`` ran."""
    ctx = context()
    mine, theirs = ctx.Pipe(duplex=False)
    process = start(_answer, (theirs, fn, args), name="algoperf-lite probe")
    theirs.close()
    try:
        if not wait([mine, process.sentinel], timeout) or not mine.poll():
            raise UserError(f"{what} gave no answer" + (f" within {timeout:g} s" if process.is_alive() else
                                                        f": its process exited with code {process.exitcode}"))
        kind, value = mine.recv()
    except EOFError:
        raise UserError(f"{what} gave no answer: its process exited with code {process.exitcode}") from None
    finally:
        end_tree(process)
        mine.close()
    if kind == "ok":
        return value
    raise UserError(value if kind == "user error" else f"{what} raised {value}")
