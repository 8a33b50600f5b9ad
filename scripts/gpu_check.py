"""Every GPU figure of the full scale in one command (at most --minutes, default 8, on one
GPU): writes one JSON file and prints a table.

Per full-scale workload: the step time and the runner/bare-loop ratio (the method of
scripts/bench_overhead.py, scripts/overhead.py: interleaved repeats, median and
interquartile range of the paired ratios), the recorded submission time against a
per-step-synchronized clock, peak GPU memory, and the host synchronizations per
training step and per eval (torch.cuda.set_sync_debug_mode). bfloat16 autocast rows for
cifar10_cnn and shakespeare_char_lm. Then: cifar10_cnn's step against airbench94's (the
`airbench` package, on random CIFAR-shaped tensors: no CIFAR-10 is needed), a
torch.compile row, time to target of shakespeare_char_lm and modular_arithmetic with
the literature's AdamW points, and trials per hour with 1, 2 and 4 worker processes
sharing the GPU.

Data: each workload reads its real files when --data-dir (or $ALGOPERF_LITE_DATA_DIR)
has them; otherwise it trains on random tensors of the real shapes, and its rows say
so (step times do not depend on the values; times to target need real data, and
Tiny Shakespeare ships inside the package). Nothing is downloaded.

`--tiny --device cpu` runs the same code end to end on a CPU in under a minute (smoke
scale, a few steps, small stand-in data): tests/test_gpu_check.py runs it, so that the
script works when a GPU comes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python3 scripts/gpu_check.py` from a checkout, nothing installed
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
import torch._dynamo  # noqa: E402,F401  (a trial's first optimizer imports it, seconds: here, once, for the workers)

from overhead import (POINT, bare_loop, data_source, install_stand_ins, measure_overhead,  # noqa: E402
                      runner_loop, runner_record)
from algoperf_lite.spec import Target  # noqa: E402
from algoperf_lite.trial.environment import describe_environment  # noqa: E402
from algoperf_lite.trial.record import TrialRecord  # noqa: E402
from algoperf_lite.trial.runner import train  # noqa: E402
from algoperf_lite.trial.submissions import load_submission  # noqa: E402
from algoperf_lite.trial.workloads import build_workload  # noqa: E402

RECIPE = """\
The GPU machine has its own python3 with torch, torchvision and tensorboard, no network
and no Hydra. This script needs only those and two small packages, carried as wheels:

  # here, online, in the checkout (airbench ships as a source archive: build its wheel;
  # PyYAML has one binary wheel per Python version: fetch those the GPU's python3 may be)
  python -m pip wheel --no-deps -w gpu_wheels airbench==0.1.8
  for v in 3.10 3.11 3.12 3.13 3.14; do
    python -m pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \\
      --python-version $v -d gpu_wheels pyyaml
  done
  # optional, real data: MNIST, Fashion-MNIST, CIFAR-10 files under DIR (their README
  # layout); Tiny Shakespeare ships inside the package

  # there, in the same checkout with gpu_wheels/ (and DIR) copied along
  python3 -m pip install --no-index --find-links gpu_wheels --target /tmp/gpu_deps airbench pyyaml
  PYTHONPATH=/tmp/gpu_deps python3 scripts/gpu_check.py --out gpu_check.json [--data-dir DIR]

(no pip there: a wheel is a zip file, `python3 -m zipfile -e WHEEL /tmp/gpu_deps` unpacks it).
"""

FULL_WORKLOADS = ("digits_logreg", "mnist_logreg", "mnist_cnn", "fashion_mnist_cnn", "cifar10_cnn",
                  "shakespeare_char_lm", "modular_arithmetic")
AUTOCAST_ROWS = ("cifar10_cnn", "shakespeare_char_lm")  # where bfloat16 matters: convolutions, matmuls
# --tiny: the same code on a CPU, small. bfloat16 on a CPU is slow: its row is the cheapest model's.
TINY_AUTOCAST_ROWS = ("digits_logreg",)

# nanoGPT's config/train_shakespeare_char.py (this model at full scale): AdamW lr 1e-3,
# betas (0.9, 0.99), weight decay 0.1 (train.py's default), 100 warmup iterations of 5,000
# (lr_decay_iters); it reaches validation loss 1.47 in about 3 minutes on an A100.
NANOGPT_POINT = {"learning_rate": 1e-3, "one_minus_beta1": 0.1, "beta2": 0.99, "weight_decay": 0.1,
                 "warmup_factor": 0.02}
NANOGPT_STEPS, NANOGPT_LOSS, NANOGPT_SEC = 5000, 1.47, 180.0
# Power et al. (2022), grokking a + b mod 97: AdamW lr 1e-3, betas (0.9, 0.98), weight
# decay 1, 10 warmup steps (of this workload's 20,000-step hint).
POWER_POINT = {"learning_rate": 1e-3, "one_minus_beta1": 0.1, "beta2": 0.98, "weight_decay": 1.0,
               "warmup_factor": 0.0005}

# ---------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------


class Deadline:
    def __init__(self, minutes: float):
        self.end = time.monotonic() + 60 * minutes

    def left(self) -> float:
        return self.end - time.monotonic()


def steps_for(step_sec: float, tiny: bool, seconds: float = 0.4) -> int:
    """K for a measurement of about ``seconds``: small steps need many to time well."""
    return 3 if tiny else int(min(2000, max(30, seconds / max(step_sec, 1e-6))))


def count_syncs(fn: Callable[[], Any], device: torch.device) -> int | None:
    """How many times ``fn`` synchronized the host with the GPU (None on a CPU)."""
    if device.type != "cuda":
        return None
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def peak_memory_mib(fn: Callable[[], Any], device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    return torch.cuda.max_memory_allocated(device) / 2**20


def step_row(name: str, scale: str, device: torch.device, data_dir: str | None, tiny: bool,
             autocast: bool) -> dict[str, Any]:
    adamw = load_submission("adamw")
    workload = build_workload(name, scale, device, data_dir)
    workload.prepare()
    batch = workload.default_batch_size
    workload.autocast = autocast
    estimate = bare_loop(workload, adamw, batch, 2 if tiny else 20)
    steps = steps_for(estimate, tiny)
    repeats = 1 if tiny else 5
    result = measure_overhead(workload, adamw, steps, repeats, sync_check=True, autocast=autocast,
                              warmup_steps=0 if tiny else 20)
    row = {"workload": name, "scale": scale, "autocast": autocast, "data": data_source(name, scale),
           "batch_size": batch, "steps": steps, **result.summary(),
           "per_repeat": {"bare_ms": [t * 1e3 for t in result.bare], "runner_ms": [t * 1e3 for t in result.runner],
                          "synced_ms": [t * 1e3 for t in result.synced]}}
    row["peak_memory_mib"] = peak_memory_mib(lambda: runner_loop(workload, adamw, batch, steps, autocast=autocast),
                                             device)
    k = min(steps, 50)
    short, long = (count_syncs(lambda n=n: runner_loop(workload, adamw, batch, n, autocast=autocast), device)
                   for n in (k, 2 * k))
    row["syncs_per_step"] = None if short is None else (long - short) / k
    model, _ = workload.init_model_fn(0)
    row["syncs_per_eval"] = count_syncs(lambda: workload.eval_model(model, None), device)
    return row


def airbench_row(device: torch.device, batch_size: int, tiny: bool) -> dict[str, Any]:
    """airbench94's network and optimizer step (float16, channels-last, SGD with Nesterov
    momentum, label smoothing 0.2) on random CIFAR-shaped tensors: airbench's per-step
    cost on this device, without its data loader or lookahead."""
    row: dict[str, Any] = {"what": "airbench94 step on random CIFAR-shaped tensors", "batch_size": batch_size}
    try:
        import airbench
    except Exception as e:  # noqa: BLE001 (any import failure is the row's answer)
        row["error"] = f"airbench cannot be imported: {type(e).__name__}: {e}"
        return row
    row["airbench_version"] = getattr(airbench, "__version__", None)
    row["cudnn_benchmark"] = torch.backends.cudnn.benchmark  # airbench sets it at import
    if device.type == "cuda":
        net, dtype = airbench.make_net94(), torch.half
    else:  # make_net94 moves its net to CUDA in half precision: on a CPU, its float32 twin
        saved = torch.nn.Module.cuda
        torch.nn.Module.cuda = lambda self, *args, **kwargs: self
        try:
            net, dtype = airbench.make_net94().float(), torch.float32
        finally:
            torch.nn.Module.cuda = saved
        row["note"] = "CPU: airbench's net in float32 (on a GPU it is float16)"
    g = torch.Generator(device=device).manual_seed(0)
    inputs = torch.randn(batch_size, 3, 32, 32, device=device, generator=g).to(dtype)
    inputs = inputs.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (batch_size,), device=device, generator=g)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.2, reduction="none")
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-3, momentum=0.85, nesterov=True, weight_decay=5e-4)

    def steps(n: int) -> float:
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        sync()
        started = time.perf_counter()
        for _ in range(n):
            loss = loss_fn(net(inputs), labels).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        sync()
        return (time.perf_counter() - started) / n

    net.train()
    steps(3 if tiny else 20)
    n = 3 if tiny else 100
    row["step_ms"] = statistics.median(steps(n) for _ in range(2 if tiny else 5)) * 1e3
    return row


def compile_row(device: torch.device, scale: str, tiny: bool) -> dict[str, Any]:
    """shakespeare_char_lm through the runner with torch.compile (and bfloat16 autocast
    on a GPU): the submission time at the eval after step 1 holds the compilation (on the
    clock, as in AlgoPerf); the steps after it are the compiled step."""
    name, autocast = "shakespeare_char_lm", device.type == "cuda"
    adamw = load_submission("adamw")
    workload = build_workload(name, scale, device)
    steps = 5 if tiny else 300
    record = runner_record(workload, adamw, workload.default_batch_size, steps, compile=True, autocast=autocast)
    result = train(workload, adamw, record)
    if result.status != "training_complete":
        raise RuntimeError(f"compiled trial: {result.status} {result.error}")
    first = result.evals[0]["submission_time"]
    return {"workload": name, "scale": scale, "autocast": autocast, "steps": steps,
            "first_step_sec": first, "compiled_step_ms": (result.submission_time - first) / (steps - 1) * 1e3}


def time_to_target_row(name: str, scale: str, device: torch.device, data_dir: str | None, tiny: bool,
                       budget_sec: float) -> dict[str, Any]:
    adamw = load_submission("adamw")
    workload = build_workload(name, scale, device, data_dir)
    workload.prepare()
    fields: dict[str, Any] = {}
    if name == "shakespeare_char_lm":  # nanoGPT's run: its schedule length, bfloat16, its target 1.47
        point, autocast = NANOGPT_POINT, device.type == "cuda"
        if not tiny:
            workload.override(step_hint=NANOGPT_STEPS)
            fields["target"] = Target("loss", NANOGPT_LOSS, maximize=False)
    else:
        point, autocast = POWER_POINT, False
    if tiny:
        fields["max_steps"] = 5
    record = TrialRecord.of(workload, adamw, hyperparameters=point, budget_sec=budget_sec, autocast=autocast,
                            stop_at_target=True, **fields)
    started = time.perf_counter()
    result = train(workload, adamw, record)
    wall = time.perf_counter() - started
    key = f"validation/{workload.target.metric}"
    reached = [e for e in result.evals if workload.target.reached(e[key])]
    best = (max if workload.target.maximize else min)(e[key] for e in result.evals) if result.evals else None
    row = {"workload": name, "scale": scale, "point": point, "autocast": autocast, "budget_sec": budget_sec,
           "status": result.status, "steps": result.steps, "submission_time": result.submission_time,
           "wall_sec": wall, "best_" + key: best, "workload_target": workload.target._asdict(),
           "time_to_workload_target": reached[0]["submission_time"] if reached else None,
           "error": result.error}
    if "target" in fields:
        row["time_to_nanogpt_1.47"] = result.time_to_target if result.reached else None
        row["nanogpt_reference"] = f"{NANOGPT_LOSS} in about {NANOGPT_SEC:.0f} s on an A100"
    return row


# --- trials per hour: worker processes sharing the device -------------------------------


def _tph_worker(conn: Any, device: str, threads: int, sizes: str) -> None:
    torch.set_num_threads(threads)
    install_stand_ins(sizes)
    adamw = load_submission("adamw")
    while True:
        job = conn.recv()
        if job is None:
            return
        name, scale, steps = job
        started = time.perf_counter()
        try:
            workload = build_workload(name, scale, torch.device(device))
            record = TrialRecord.of(workload, adamw, hyperparameters=POINT, max_steps=steps, budget_sec=1e9,
                                    stop_at_target=False)
            status = train(workload, adamw, record).status
        except Exception:  # noqa: BLE001 (reported in the row)
            status = traceback.format_exc(limit=-3)
        conn.send((status, time.perf_counter() - started))


def worker_context() -> Any:
    """Workers fork from a server process that has imported this module (torch included)
    but touched no device: each gets a fresh CUDA context, without importing anew."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__"])
    return ctx


def start_worker_server(ctx: Any) -> None:
    """Start the fork server now, so that its imports overlap the measurements before
    the trials-per-hour part (on a GPU, those are device-bound)."""
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def trials_per_hour(device: torch.device, scale: str, steps: int, tiny: bool,
                    counts: tuple[int, ...] = (1, 2, 4), trials_per_worker: int = 2,
                    ctx: Any = None) -> list[dict[str, Any]]:
    """Trials of ``steps`` steps of modular_arithmetic (evals on the workload's period,
    set-up included, as in a study) run by 1, 2 and 4 worker processes on one device.
    The workers are started and warmed up once, as a study's pool keeps them."""
    ctx = ctx or worker_context()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = []
    for _ in range(max(counts)):
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_tph_worker, args=(child, str(device), max(1, cores // max(counts)),
                                                        "tiny" if tiny else "full"), daemon=True)
        process.start()
        workers.append((process, parent))
    job = ("modular_arithmetic", scale, steps)
    rows = []
    try:
        for _, conn in workers:  # warm-up: imports, CUDA context, kernels
            conn.send(("modular_arithmetic", scale, 2))
        for _, conn in workers:
            conn.recv()
        for k in counts:
            started = time.perf_counter()
            pending = {i: trials_per_worker for i in range(k)}
            for i in range(k):
                workers[i][1].send(job)
            statuses = []
            while pending:
                for i in list(pending):
                    conn = workers[i][1]
                    if conn.poll(0.01):
                        statuses.append(conn.recv()[0])
                        pending[i] -= 1
                        if pending[i]:
                            conn.send(job)
                        else:
                            del pending[i]
            wall = time.perf_counter() - started
            done = sum(s == "training_complete" for s in statuses)
            rows.append({"workers": k, "trials": len(statuses), "completed": done, "wall_sec": wall,
                         "trials_per_hour": done / wall * 3600, "steps_per_trial": steps,
                         "errors": [s for s in statuses if s != "training_complete"][:1]})
    finally:
        for process, conn in workers:
            with contextlib.suppress(OSError):
                conn.send(None)
            process.join(10)
            if process.is_alive():
                process.kill()
    return rows


# ---------------------------------------------------------------------------------------
# The run, the table, the file
# ---------------------------------------------------------------------------------------


def fmt(value: Any, spec: str = ".3f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else format(value, spec)
    return str(value)


def print_table(report: dict[str, Any]) -> None:
    print(f"\n{report['device_name']} ({report['device']}), torch {report['torch']}, "
          f"{report['wall_sec']:.0f} s{' (tiny: smoke scale, a few steps)' if report['tiny'] else ''}")
    print(f"{'workload':<22} {'bf16':<4} {'step ms':>8} {'runner/bare (IQR)':>22} {'runner/sync':>11} "
          f"{'peak MiB':>9} {'syncs/step':>10} {'syncs/eval':>10}  data")
    for r in report["steps"]:
        if "error" in r:
            print(f"{r['workload']:<22} {'y' if r['autocast'] else '':<4} error: {r['error'].splitlines()[-1]}")
            continue
        iqr = f"{r['ratio']:.3f} ({r['ratio_q1']:.3f}-{r['ratio_q3']:.3f})"
        print(f"{r['workload']:<22} {'y' if r['autocast'] else '':<4} {r['runner_ms']:8.3f} {iqr:>22} "
              f"{fmt(r.get('sync_ratio')):>11} {fmt(r['peak_memory_mib'], '.0f'):>9} "
              f"{fmt(r['syncs_per_step'], '.2f'):>10} {fmt(r['syncs_per_eval']):>10}  {r['data']}")
    a = report.get("airbench")
    if a:
        if "error" in a:
            print(f"airbench: {a['error']}")
        else:
            ours = a.get("cifar10_cnn_step_ms")
            print(f"airbench94 step (random CIFAR-shaped tensors, batch {a['batch_size']}): {a['step_ms']:.3f} ms; "
                  f"cifar10_cnn {fmt(ours)} ms ({a.get('cifar10_cnn_setting', '')}), ratio {fmt(a.get('ratio'))}"
                  f"{'; ' + a['note'] if a.get('note') else ''}")
    c = report.get("compile")
    if c and "error" not in c:
        print(f"torch.compile {c['workload']} (bf16 {c['autocast']}): compiled step {c['compiled_step_ms']:.3f} ms; "
              f"the first step, compiling included (on the clock), {c['first_step_sec']:.1f} s")
    elif c:
        print(f"torch.compile: {c['error'].splitlines()[-1]}")
    for t in report.get("time_to_target", []):
        if "error" in t and t.get("status") is None:
            print(f"time to target {t['workload']}: {t['error'].splitlines()[-1]}")
            continue
        extra = (f", to nanoGPT's 1.47: {fmt(t.get('time_to_nanogpt_1.47'), '.1f')} s"
                 if "time_to_nanogpt_1.47" in t else "")
        print(f"time to target {t['workload']}: {fmt(t['time_to_workload_target'], '.1f')} s to "
              f"{t['workload_target']['metric']} {t['workload_target']['value']}{extra} "
              f"({t['status']}, {t['steps']} steps, bf16 {t['autocast']})")
    for t in report.get("trials_per_hour", []):
        print(f"trials per hour, {t['workers']} worker(s): {t['trials_per_hour']:.0f} "
              f"({t['completed']}/{t['trials']} trials of {t['steps_per_trial']} steps in {t['wall_sec']:.1f} s)")
    for s in report["skipped"]:
        print(f"skipped: {s}")


def guarded(report: dict[str, Any], what: str, fn: Callable[[], Any]) -> Any:
    """Run one measurement, timed; its failure is recorded and the others still run."""
    started = time.perf_counter()
    try:
        return fn()
    except Exception:  # noqa: BLE001
        report["errors"].append(f"{what}: {traceback.format_exc(limit=-4)}")
        return {"error": traceback.format_exc(limit=-4)}
    finally:
        report["wall_sec_of"][what] = time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RECIPE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (with --tiny)")
    parser.add_argument("--out", default="gpu_check.json", help="the JSON file written")
    parser.add_argument("--data-dir", help="real MNIST / Fashion-MNIST / CIFAR-10 files (default $ALGOPERF_LITE_DATA_DIR)")
    parser.add_argument("--minutes", type=float, default=8.0, help="wall-time budget; later parts are skipped past it")
    parser.add_argument("--tiny", action="store_true", help="smoke scale, a few steps: the code end to end in a minute")
    parser.add_argument("--workloads", nargs="+", default=list(FULL_WORKLOADS))
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4],
                        help="worker-process counts of the trials-per-hour part")
    args = parser.parse_args(argv)

    started, deadline = time.perf_counter(), Deadline(args.minutes)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here; on a CPU run --tiny --device cpu")
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)  # airbench builds its net on the current device
    scale = "smoke" if args.tiny else "full"
    torch.set_num_threads(1 if args.tiny else torch.get_num_threads())
    install_stand_ins("tiny" if args.tiny else "full")
    data_dir = args.data_dir or os.environ.get("ALGOPERF_LITE_DATA_DIR")
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "tiny": args.tiny, "scale": scale,
        "device": str(device), "device_name": describe_environment(device)["device_name"],
        "torch": torch.__version__, "environment": describe_environment(device),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "steps": [], "time_to_target": [], "trials_per_hour": [], "skipped": [], "errors": [], "wall_sec_of": {},
    }

    def note(message: str) -> None:
        print(message, flush=True)

    # 1. Step time, overhead, clocks, memory, syncs; bfloat16 rows.
    for name in args.workloads:
        for autocast in (False, True) if name in (TINY_AUTOCAST_ROWS if args.tiny else AUTOCAST_ROWS) else (False,):
            if deadline.left() < (60 if not args.tiny else 0):
                report["skipped"].append(f"{name} (bf16 {autocast}): out of time")
                continue
            row = guarded(report, f"{name}{' bf16' if autocast else ''} step",
                          lambda: step_row(name, scale, device, data_dir, args.tiny, autocast))
            row.setdefault("workload", name)
            row.setdefault("autocast", autocast)
            report["steps"].append(row)
            note(f"{name}{' bf16' if autocast else ''}: " +
                 (f"{row['runner_ms']:.3f} ms/step, runner/bare {row['ratio']:.3f}" if "error" not in row
                  else "error"))

    workers_ctx = worker_context()
    start_worker_server(workers_ctx)

    # 2. airbench, against the fastest cifar10_cnn setting measured above.
    cifar = [r for r in report["steps"] if r["workload"] == "cifar10_cnn" and "error" not in r]
    batch = cifar[0]["batch_size"] if cifar else 512
    a = guarded(report, "airbench", lambda: airbench_row(device, 8 if args.tiny else batch, args.tiny))
    if cifar and "step_ms" in a and not args.tiny:
        best = min(cifar, key=lambda r: r["runner_ms"])
        a.update(cifar10_cnn_step_ms=best["runner_ms"], ratio=best["runner_ms"] / a["step_ms"],
                 cifar10_cnn_setting=f"bf16 {best['autocast']}, cudnn.benchmark off")
    report["airbench"] = a

    # 3. Time to target (the budget: what is left, less the trials-per-hour part).
    reserve = 5 if args.tiny else 75
    for name, budget in (("modular_arithmetic", 60.0), ("shakespeare_char_lm", NANOGPT_SEC)):
        budget = min(budget, deadline.left() - reserve) if not args.tiny else 1e9
        if budget < 20 and not args.tiny:
            report["skipped"].append(f"time to target {name}: {budget:.0f} s left")
            continue
        row = guarded(report, f"time to target {name}",
                      lambda: time_to_target_row(name, scale, device, data_dir, args.tiny, budget))
        row.setdefault("workload", name)
        report["time_to_target"].append(row)
        note(f"time to target {name}: {row.get('time_to_workload_target')} ({row.get('status')})")

    # 4. Trials per hour with 1, 2 and 4 workers on the device.
    modular = [r for r in report["steps"] if r["workload"] == "modular_arithmetic" and "error" not in r]
    step_sec = modular[0]["runner_ms"] / 1e3 if modular else 0.005
    tph_steps = 10 if args.tiny else int(min(5000, max(200, 4.0 / step_sec)))  # about 4 s of training each
    if deadline.left() > (0 if args.tiny else 30):
        report["trials_per_hour"] = guarded(report, "trials per hour",
                                            lambda: trials_per_hour(device, scale, tph_steps, args.tiny,
                                                                    tuple(args.workers), ctx=workers_ctx)) or []
        if isinstance(report["trials_per_hour"], dict):
            report["trials_per_hour"] = []
    else:
        report["skipped"].append("trials per hour: out of time")

    # 5. torch.compile, last: the part most likely to run long.
    if args.no_compile or args.tiny:
        report["skipped"].append("torch.compile row: " + ("--no-compile" if args.no_compile else
                                                          "--tiny (compiling takes a minute on a CPU; "
                                                          "tests/test_gpu_design.py covers compile)"))
    elif deadline.left() < 60:
        report["skipped"].append(f"torch.compile row: {deadline.left():.0f} s left")
    else:
        report["compile"] = guarded(report, "compile", lambda: compile_row(device, scale, args.tiny))

    report["wall_sec"] = time.perf_counter() - started
    report["imports_hydra"] = any(sys.modules.get(m) is not None for m in ("hydra", "omegaconf"))
    Path(args.out).write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_table(report)
    print(f"\nwrote {args.out}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
