"""``budget_scale=auto`` for a study: each workload's speed here, measured once before the
first trial under the concurrency the trials will have, and kept in study.json so that a
resumed study measures nothing (:mod:`algoperf_lite.trial.speed` measures one workload).

- sequential: in this process, on the study's device;
- pool: every worker process measures every workload, all at once (a barrier before each
  workload), and a workload's speed is the median over the workers;
- launcher: one job on a node of the cluster, as a trial would run there.

A held-out variant without a calibration of its own takes its base workload's factor."""

from __future__ import annotations

import multiprocessing as mp
import statistics
from typing import Any

from algoperf_lite.paths import data_dir as resolve_data_dir
from algoperf_lite.study.config import StudyConfig
from algoperf_lite.trial import workloads
from algoperf_lite.workload_kit import calibration


def _measure_all(names: list[str], scale: str, device: str, threads: int | None, config: dict[str, Any],
                 concurrency: int = 1, barrier: Any = None, worker: int = 0) -> list[dict[str, Any]]:
    """Every workload's :class:`~algoperf_lite.trial.speed.Speed` in this process, as JSON."""
    import torch

    from algoperf_lite.console import stdout_console, warnings_as_lines
    from algoperf_lite.trial.environment import torch_threads
    from algoperf_lite.trial.speed import SharedCoreWarning, measure

    resolved = str(workloads.resolve_device(device))
    # Threads restored after: a sequential study measures in its own process. A measurement
    # on a busy core is a line on the output (a pool worker's, a job's too), not a traceback-like warning.
    with torch_threads(threads), warnings_as_lines(stdout_console(), SharedCoreWarning):
        return [measure(name, scale, resolved, torch.get_num_threads() if resolved == "cpu" else None,
                        resolve_data_dir(config["data_dir"]), tuple(config["workloads_path"]), concurrency,
                        config["refresh"], barrier, worker).to_json()
                for name in names]


def _pool_worker(conn: Any, *args: Any) -> None:
    try:
        conn.send(("ok", _measure_all(*args)))
    except BaseException as e:  # noqa: BLE001 (reported to the study, which stops)
        conn.send(("error", f"{type(e).__name__}: {e}"))


def _in_pool(names: list[str], scale: str, slots: list[tuple[str, str]], threads: int | None,
             config: dict[str, Any]) -> list[list[dict[str, Any]]]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(slots))
    jobs = []
    for worker, (_, device) in enumerate(slots):
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_pool_worker, args=(child, names, scale, device, threads, config, len(slots),
                                                         barrier, worker),
                              name="algoperf-lite speed")
        process.start()
        jobs.append((process, parent))
    results = []
    for process, conn in jobs:
        status, payload = conn.recv() if conn.poll(600) else ("error", "no answer within 600 s")
        process.join(10)
        if status != "ok":
            barrier.abort()
            raise RuntimeError(f"measuring this machine's speed failed in a pool worker: {payload}")
        results.append(payload)
    return results


def _combine(names: list[str], runs: list[list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One entry per workload: the median speed over the processes that measured it."""
    out = {}
    for i, name in enumerate(names):
        each = [run[i] for run in runs]
        first = each[0]
        if not first["calibrated"]:
            out[name] = first
            continue
        here = statistics.median(s["steps_per_sec"] for s in each)
        out[name] = {**first, "steps_per_sec": here, "factor": first["calibration_steps_per_sec"] / here,
                     "steps_per_sec_per_worker": [s["steps_per_sec"] for s in each],
                     "core_wait_share_per_worker": [s.get("core_wait_share") for s in each]}
    return out


def measure_budget_scale(settings: StudyConfig, names: tuple[str, ...], scale: str,
                         slots: list[tuple[str, str]], threads: int | None) -> dict[str, dict[str, Any]]:
    """The study's ``budget_scale`` mapping: workload -> measurement (``factor`` and how
    it was measured). ``slots`` are the (name, device) of the executor's workers."""
    registered = workloads.workload_classes(settings.workloads_path)
    base = {n: n if calibration(registered[n].cls, n, scale) else registered[n].cls.variant_of or n for n in names}
    measured = sorted(set(base.values()))
    config = {"data_dir": settings.data_dir, "workloads_path": list(settings.workloads_path),
              "refresh": settings.budget_scale == "measure"}
    kind = settings.executor_kind
    if kind == "pool":
        runs = _in_pool(measured, scale, slots, threads, config)
    elif kind == "launcher":
        from algoperf_lite.study.launcher import run_on_a_node

        runs = [run_on_a_node(settings, _measure_all, measured, scale, "auto", threads, config)]
    else:
        runs = [_measure_all(measured, scale, slots[0][1], threads, config)]
    speeds = _combine(measured, runs)
    return {n: speeds[n] if base[n] == n else {**speeds[base[n]], "from_base_workload": base[n]} for n in names}
