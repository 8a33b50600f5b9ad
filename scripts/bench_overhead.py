"""What the runner costs per step: K steps of a bare PyTorch loop (written here: the same
model, device-resident data, optimizer and batch size) against K steps through the
runner with evaluation off between the mandatory ones (after step 1 and at the end),
interleaved over several repeats in one process, so that a noisy machine affects both
(the method is in scripts/overhead.py, shared with scripts/gpu_check.py).

    python scripts/bench_overhead.py digits_logreg modular_arithmetic shakespeare_char_lm
    python scripts/bench_overhead.py --device cuda --scale full shakespeare_char_lm

prints one line per workload: the median step time of each, and the median over repeats
of each repeat's ratio runner/bare with its interquartile range (the spread says whether
a 2% difference stands out from this machine's noise). The submission is a native one
(default adamw), whose step the bare loop reproduces. ``--sync-check`` adds the runner
with a clock that synchronizes the device at every step: the submission time it records
should match the default clock's (which synchronizes only at eval and stop boundaries)
within 1%. Both are timed on the trials' clock (CPU seconds of the process on a CPU,
synchronized wall time on a GPU), or the one ``--clock`` names.
``--stand-ins`` times a workload whose files are absent on random tensors of the real
shapes (its line says so). ``--bookkeeping`` adds what the runner's own code costs per
step, measured apart from the model (a step that computes a one-element loss, 100,000
times): microseconds that a noisy machine barely moves.

``--instructions`` (a CPU with valgrind and a C compiler) counts instead the machine
instructions a step executes, bare and through the runner, under callgrind: exact and
the same on every run, however busy the machine, so a 2% difference is plain. It does
not see what instructions do not show (cache misses, page faults, the allocator's
state), which the timed figures include. About 3 minutes for digits_logreg at K=300.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from overhead import bare_loop, data_source, install_stand_ins, measure_overhead, runner_bookkeeping, runner_loop
from algoperf_lite.paths import data_dir
from algoperf_lite.trial.clock import default_clock
from algoperf_lite.trial.submissions import load_submission
from algoperf_lite.trial.workloads import build_workload, resolve_device, resolve_scale


# Callgrind's client requests, for the child process to bracket each measured loop.
SHIM = """#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); CALLGRIND_STOP_INSTRUMENTATION; }
"""


def count_instructions(argv: list[str], name: str, steps: int) -> tuple[float, float]:
    """(bare, runner) instructions per step of ``name``, from a child process run under
    callgrind: each loop runs K and 2K steps, and the difference is K steps (set-up,
    evals and warm-up cancel)."""
    if not shutil.which("valgrind") or not shutil.which("cc"):
        raise SystemExit("--instructions needs valgrind (with its headers) and a C compiler (cc)")
    with tempfile.TemporaryDirectory() as tmp:
        shim = Path(tmp) / "libcgshim.so"
        (Path(tmp) / "shim.c").write_text(SHIM)
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(shim), str(Path(tmp) / "shim.c")], check=True)
        child = [sys.executable, __file__, name, *argv, "--instructions-child", str(shim)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts, so the same counts, every run
        subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/out.%p",
                        *child], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        counts = {}
        for dump in Path(tmp).glob("out.*.*"):
            text = dump.read_text()
            part = re.search(r"Client Request: (\S+)", text)
            if part:
                counts[part.group(1)] = int(re.search(r"^summary: (\d+)", text, re.M).group(1))
    per_step = {arm: (counts[f"{arm}_{2 * steps}"] - counts[f"{arm}_{steps}"]) / steps for arm in ("bare", "runner")}
    return per_step["bare"], per_step["runner"]


def instructions_child(shim: str, workload, submission, steps: int, autocast: bool) -> None:
    """Under callgrind: each loop at K and 2K steps, bracketed by client requests."""
    cg = ctypes.CDLL(shim)
    workload.prepare()
    batch = workload.default_batch_size
    workload.autocast = autocast
    arms = {"bare": lambda n: bare_loop(workload, submission, batch, n),
            "runner": lambda n: runner_loop(workload, submission, batch, n, autocast=autocast)}
    for run in arms.values():
        run(min(steps, 20))  # lazy initializations, outside the counts
    for arm, run in arms.items():
        for n in (steps, 2 * steps):
            cg.cg_start()
            run(n)
            cg.cg_dump(f"{arm}_{n}".encode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--submission", default="adamw", help="a native submission")
    parser.add_argument("--steps", type=int, default=300, help="K: steps per measurement")
    parser.add_argument("--repeats", type=int, default=15, help="interleaved repeats (their ratios' spread is shown)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--scale", default="auto")
    parser.add_argument("--data-dir", help="default: $ALGOPERF_LITE_DATA_DIR")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (trials run on 1 by default)")
    parser.add_argument("--autocast", action="store_true", help="bfloat16 autocast in both loops")
    parser.add_argument("--sync-check", action="store_true", help="also time a per-step-synchronized clock")
    parser.add_argument("--clock", choices=("auto", "cpu", "wall"), default="auto",
                        help="the clock both loops are timed on (auto: the trials', cpu on a CPU, wall on a GPU)")
    parser.add_argument("--stand-ins", action="store_true",
                        help="random tensors of the real shapes where a dataset's files are absent")
    parser.add_argument("--bookkeeping", action="store_true",
                        help="also the runner's own per-step cost, apart from the model's")
    parser.add_argument("--instructions", action="store_true",
                        help="count each loop's instructions per step under callgrind instead of timing it")
    parser.add_argument("--instructions-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    scale = resolve_scale(args.scale, device)
    clock = default_clock(device, args.threads) if args.clock == "auto" else args.clock
    if clock == "cpu" and device.type != "cpu":
        parser.error("--clock cpu times CPU work: on a GPU the step is the device's, use wall")
    if args.stand_ins:
        install_stand_ins("full" if scale == "full" else "tiny")
    submission = load_submission(args.submission)
    if submission.form != "native":
        parser.error("the bare loop reproduces the native form's step; give a native submission")
    if args.instructions_child:
        (name,) = args.workloads
        instructions_child(args.instructions_child, build_workload(name, scale, device, data_dir(args.data_dir)),
                           submission, args.steps, args.autocast)
        return 0
    if args.instructions:
        if device.type != "cpu":
            parser.error("--instructions counts CPU instructions: give --device cpu")
        print(f"device cpu (1 thread), scale {scale}, K={args.steps}, submission {submission.name}: "
              f"instructions per step under callgrind (exact; cache and memory effects not included)")
        passed = [a for a in (argv if argv is not None else sys.argv[1:])
                  if a not in args.workloads and a != "--instructions"]
        for name in args.workloads:
            bare, runner = count_instructions(passed, name, args.steps)
            print(f"{name:<24} bare {bare:12,.0f}  runner {runner:12,.0f}  ratio {runner / bare:.4f}  "
                  f"({runner - bare:+,.0f} per step)", flush=True)
        return 0
    print(f"device {device} ({torch.get_num_threads()} threads), scale {scale}, "
          f"{args.steps} steps x {args.repeats} repeats, submission {submission.name}"
          f"{', bfloat16 autocast' if args.autocast else ''}, {clock} clock")
    for name in args.workloads:
        workload = build_workload(name, scale, device, data_dir(args.data_dir))
        result = measure_overhead(workload, submission, args.steps, args.repeats, sync_check=args.sync_check,
                                  autocast=args.autocast, clock=clock)
        source = data_source(name, scale)
        print(result.line(name) + ("" if source in ("real", "generated") else f"  [{source}]"), flush=True)
        if args.bookkeeping:
            own = runner_bookkeeping(workload, submission)
            print(f"{'':<24} the runner's own code: {own * 1e6:.2f} us per step, "
                  f"{own / result.summary()['bare_ms'] * 1e3:.2%} of the bare step", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
