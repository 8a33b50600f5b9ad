"""The results directory: its layout, every file name in it, and a trial's record
(docs/results.md).

One writer, the trial (:class:`TrialWriter`); many readers (resume, the executors, the
study summary, scoring, the report), all through this module. Every file is written
atomically and ``outcome.json`` last, and the outcome records the hash of the spec it
belongs to, so a trial is finished exactly when :func:`check_trial` finds its outcome,
spec and evals whole and bound together. No torch here: scoring reads results without it.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path
from typing import Any

from algoperf_lite.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic
from algoperf_lite.json_files import UnreadableFile, read_json

FORMAT_VERSION = 1
RULESET_DIRS = {"external": "external_tuning", "self": "self_tuning"}
CHOSEN_DIR = "chosen_points"  # trials of a chosen point (run hp.NAME=VALUE): not tuning trials, not scored
EVAL_COLUMNS = ("step", "submission_time", "eval_time", "checkpoint")
SPEC_FILE, ENVIRONMENT_FILE, EVALS_FILE, OUTCOME_FILE = "spec.json", "environment.json", "evals.csv", "outcome.json"
TENSORBOARD_DIR = "tensorboard"  # in a trial folder, with logger=tensorboard
# The model's state_dict (torch.save) after init and when training ended, when a trial saves weights.
WEIGHTS_MOMENTS = ("init", "final")


def weights_file(path: Path, moment: str) -> Path:
    """Where a trial keeps its weights at ``moment`` (one of WEIGHTS_MOMENTS)."""
    return Path(path) / f"weights_{moment}.pt"


# --- beside the trials: the study's files, the scores, the page --------------------------------
STUDY_FILE = "study.json"  # the plan and the resolved config, written by the study
LOCK_FILE = ".lock"  # while a study runs: its holder
LOGS_DIR = "logs"  # the output of the trials' processes
LAUNCHER_DIR = "launcher"  # the cluster jobs' folders (scripts, logs, results) and jobs.json
JOBS_FILE = f"{LAUNCHER_DIR}/jobs.json"  # trial folder (relative) -> its launcher job
# What scoring writes: the scores, and the tuning analyses (tuning_cost.csv; sensitivity.csv for a results dir).
OUTPUT_FILES = ("scores.csv", "time_to_target.csv", "performance_profiles.csv", "tuning_cost.csv", "sensitivity.csv")
LEADERBOARD_FILE = "leaderboard.html"
DIAGNOSTICS_FILE = "diagnostics.json"  # `algoperf-lite diagnose`'s output


def plots_dir_of(page: Path) -> Path:
    """The folder of a leaderboard page's figures (PNG and SVG), beside the page."""
    return Path(page).parent / f"{Path(page).stem}_plots"


# What a study writes besides the scores; overwrite=true deletes these and nothing else.
STUDY_OUTPUTS = (*RULESET_DIRS.values(), STUDY_FILE, LEADERBOARD_FILE, plots_dir_of(Path(LEADERBOARD_FILE)).name,
                 LAUNCHER_DIR, LOGS_DIR, DIAGNOSTICS_FILE)


def algoperf_output_dir(logs_dir: Path) -> Path:
    """Where scoring AlgoPerf logs writes: beside them, never inside (AlgoPerf's scorer takes every
    entry of a logs folder for a submission)."""
    logs_dir = Path(logs_dir).resolve()
    return logs_dir.parent / f"{logs_dir.name}_scores"


# --- layout: RESULTS_DIR/<ruleset>/<submission>/study_<k>/<workload>/trial_<i>/ ---------------

def trial_lock_file(trial_path: Path) -> Path:
    """The lock of whatever writes a trial folder: beside it (the folder is deleted and
    made anew by a rerun), hidden, so that no reader takes it for a trial."""
    return Path(trial_path).parent / f".{Path(trial_path).name}.lock"



def trial_dir(results_dir: Path, ruleset: str, submission: str, study: int, workload: str, trial: int,
              chosen: bool = False) -> Path:
    """A trial's folder; a chosen point's goes under chosen_points/ in place of the ruleset."""
    top = CHOSEN_DIR if chosen else RULESET_DIRS[ruleset]
    return Path(results_dir) / top / submission / f"study_{study}" / workload / f"trial_{trial}"


def trial_dirs(results_dir: Path) -> list[Path]:
    """Every trial folder under a results directory, finished or not (but none that a
    link leads outside it)."""
    return sorted(p for ruleset in RULESET_DIRS.values()
                  for p in (Path(results_dir) / ruleset).glob("*/study_*/*/trial_*")
                  if p.is_dir() and inside(results_dir, p))


def _index(name: str) -> int:
    return int(re.sub(r"\D", "", name) or 0)


TRIAL_DEPTH = 5  # <ruleset>/<submission>/study_<k>/<workload>/trial_<i>


def results_dir_of(trial_path: Path) -> Path:
    """The results directory a trial folder lies in (the inverse of :func:`trial_dir`)."""
    return Path(trial_path).resolve().parents[TRIAL_DEPTH - 1]


def relative_trial_path(trial_path: Path) -> Path:
    """A trial folder's path below its results directory."""
    return Path(*Path(trial_path).parts[-TRIAL_DEPTH:])


def trial_dir_parts(path: Path) -> dict[str, Any]:
    """What a trial folder's path says (the inverse of :func:`trial_dir`): ruleset folder,
    submission, study, workload, trial. The spec names them too; this is the fallback."""
    ruleset, submission, study, workload, trial = relative_trial_path(path).parts
    return {"ruleset": ruleset, "submission": submission, "study": _index(study), "workload": workload,
            "trial": _index(trial)}


# --- what readers may trust of a record ----------------------------------------------------------
# A results directory may come from anyone: each record is checked for the types its
# readers rely on (``.get`` on its objects, arithmetic on its numbers) before they see it.

NONE = type(None)
NUMBER = (int, float)
OUTCOME_TYPES = {"status": str, "reached": bool, "time_to_target": (*NUMBER, NONE), "steps_to_target": (int, NONE),
                 "submission_time": NUMBER, "steps": int, "num_evals": int, "wall_time": NUMBER, "error": (str, NONE),
                 "spec_hash": (str, NONE), "mean_step_sec": (*NUMBER, NONE), "optimizer_state_bytes": (int, NONE),
                 "peak_memory_bytes": (int, NONE), "retry": bool}
SPEC_TYPES = {"ruleset": str, "submission": str, "workload": str, "study": int, "trial": int, "variant_of": (str, NONE),
              "rules": dict, "target": (dict, NONE), "budget_sec": NUMBER, "hyperparameters": (dict, NONE),
              "submission_form": str, "submission_path": str, "budget_scale_source": (dict, NONE)}
TARGET_TYPES = {"metric": str, "value": NUMBER, "maximize": bool}
RULES_TYPES = {"num_studies": (int, NONE), "num_trials": (int, NONE)}


def _is(value: Any, types: type | tuple[type, ...]) -> bool:
    types = types if isinstance(types, tuple) else (types,)
    return bool in types if isinstance(value, bool) else isinstance(value, types)  # JSON's true is no number


def wrong_type(data: Any, expected: dict[str, type | tuple[type, ...]]) -> str | None:
    """What in the JSON object ``data`` is not of the type ``expected`` gives for its key
    (absent keys are fine), or None."""
    if not isinstance(data, dict):
        return f"not a JSON object but {type(data).__name__}"
    for key, types in expected.items():
        if key in data and not _is(data[key], types):
            names = " or ".join("null" if t is NONE else t.__name__ for t in (types if isinstance(types, tuple)
                                                                              else (types,)))
            return f"{key} is {type(data[key]).__name__}, not {names}"
    return None


# --- the outcome ----------------------------------------------------------------------------

# A trial that waited for a core more than this share of its time shared its core with other programs.
SHARED_CORE = 0.05


@dataclass(frozen=True)
class Outcome:
    """How a trial ended: ``outcome.json``."""

    status: str  # reached | budget_exhausted | training_complete | diverged | failed
    reached: bool
    time_to_target: float | None  # None: not reached
    steps_to_target: int | None
    submission_time: float
    steps: int
    num_evals: int
    wall_time: float
    error: str | None = None
    spec_hash: str | None = None  # of the spec.json it belongs to (None: written before outcomes were bound)
    mean_step_sec: float | None = None  # submission time per step (machine-dependent)
    optimizer_state_bytes: int | None = None  # tensors the submission's state holds beyond the model
    peak_memory_bytes: int | None = None  # on a GPU: peak device allocation (machine-dependent)
    retry: bool = False  # failed because its process was killed: a rerun of the study trains it again
    num_checkpoints: int = 0  # model copies kept between evals, to resolve the time to target
    # On the cpu clock, CPU seconds counted beyond the process's own while running: those of
    # the processes the trial started, and those of its threads while an eval ran.
    child_cpu_sec: float | None = None
    paused_thread_cpu_sec: float | None = None
    # The share of the trial's time its threads were ready to run but waited for a core that
    # other programs held (0 on a quiet machine): a trial that shares its core reads higher.
    core_wait_share: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def problem(cls, data: Any) -> str | None:
        """Why ``data`` (outcome.json's content) is not an outcome this code wrote, or None."""
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and isinstance(data, dict) and f.name not in data]
        return f"{', '.join(missing)} missing" if missing else wrong_type(data, OUTCOME_TYPES)

    @classmethod
    def failed(cls, reason: str, wall_time: float, last_eval: dict[str, str] | None = None,
               num_evals: int = 0, retry: bool = False) -> Outcome:
        """A trial its executor had to end (its process died or hung), after the evals it wrote."""
        last = last_eval or {}
        return cls(status="failed", reached=False, time_to_target=None, steps_to_target=None,
                   submission_time=float(last.get("submission_time") or 0.0), steps=int(last.get("step") or 0),
                   num_evals=num_evals, wall_time=wall_time, error=reason, retry=retry)


def spec_problem(spec: Any) -> str | None:
    """Why ``spec`` (spec.json's content) is not one readers can trust, or None."""
    return (wrong_type(spec, SPEC_TYPES) or wrong_type(spec.get("rules") or {}, RULES_TYPES)
            or wrong_type(spec.get("target") or {}, TARGET_TYPES))


def _read_record(path: Path, problem: Callable[[Any], str | None]) -> Any:
    """A record file's JSON, or UnreadableFile: unreadable, or ``problem`` finds one."""
    data = read_json(path)
    why = problem(data)
    if why:
        raise UnreadableFile(path, why)
    return data


def spec_hash(spec: dict[str, Any]) -> str:
    """The hash that binds an outcome to its spec: of spec.json's content, canonical."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _evals_damage(path: Path, expected_rows: int) -> str | None:
    """Why evals.csv does not hold ``expected_rows`` whole rows, or None."""
    file = Path(path) / EVALS_FILE
    if not file.is_file():
        return None if expected_rows == 0 else f"{EVALS_FILE} is missing"
    try:
        with open(file, newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            int(row["step"]), float(row["submission_time"])  # noqa: B018 (parse or fail)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, csv.Error):
        return f"{EVALS_FILE} is unreadable"
    if len(rows) != expected_rows:
        return f"{EVALS_FILE} has {len(rows)} rows where outcome.json counts {expected_rows}"
    return None


def check_trial(path: Path) -> tuple[Outcome | None, str | None]:
    """(outcome, None) for a finished trial; else (None, why not): no outcome yet, or a
    record that is truncated, unparsable, not what this code writes, or whose outcome
    belongs to another spec."""
    path = Path(path)
    if not (path / OUTCOME_FILE).exists():
        return None, f"no {OUTCOME_FILE}"
    try:
        outcome = Outcome.from_json(_read_record(path / OUTCOME_FILE, Outcome.problem))
        spec = _read_record(path / SPEC_FILE, spec_problem)
    except UnreadableFile as e:
        return None, f"{Path(e.source).name} is unreadable: {e.reason}"
    if outcome.spec_hash is not None and outcome.spec_hash != spec_hash(spec):
        return None, f"{OUTCOME_FILE} belongs to another {SPEC_FILE} (a rerun was interrupted)"
    damage = _evals_damage(path, outcome.num_evals)
    return (None, damage) if damage else (outcome, None)


def read_outcome(path: Path) -> Outcome | None:
    """The trial's outcome, or None if it is not finished (:func:`check_trial`)."""
    return check_trial(path)[0]


def is_finished(path: Path) -> bool:
    return read_outcome(path) is not None


def read_spec(path: Path) -> dict[str, Any]:
    """The trial's spec.json as written ({} if absent, unreadable or not a spec)."""
    try:
        return _read_record(Path(path) / SPEC_FILE, spec_problem)
    except UnreadableFile:
        return {}


def read_evals(path: Path) -> list[dict[str, str]]:
    """The rows of the trial's evals.csv, as text ([] if none)."""
    try:
        with open(Path(path) / EVALS_FILE, newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


# --- study.json ---------------------------------------------------------------------------------

STUDY_TYPES = {"name": str, "trials": list, "workloads": (list, dict), "submissions": list, "rules": dict,
               "config": dict, "code": dict, "reference_submission": (str, NONE), "plan_hash": str,
               "format_version": int, "num_trials_planned": int}


def inside(results_dir: Path, path: Path) -> bool:
    """Whether ``path`` lies inside ``results_dir`` (links followed): nothing else is read."""
    return Path(path).resolve().is_relative_to(Path(results_dir).resolve())


def planned_trial_path(results_dir: Path, entry: Any) -> Path | None:
    """A trial folder that study.json's ``trials`` lists, if ``entry`` names one inside
    ``results_dir`` as the layout does (<ruleset>/<submission>/study_<k>/<workload>/trial_<i>)."""
    if not isinstance(entry, str):
        return None
    relative = Path(entry)
    parts = relative.parts
    if (relative.is_absolute() or len(parts) != TRIAL_DEPTH or parts[0] not in RULESET_DIRS.values()
            or any(p in (".", "..") for p in parts) or not parts[-1].startswith("trial_")):
        return None
    path = Path(results_dir) / relative
    return path if inside(results_dir, path) else None


def _study_problem(study: Any, results_dir: Path) -> str | None:
    why = wrong_type(study, STUDY_TYPES) or wrong_type(study.get("rules") or {}, RULES_TYPES)
    if why:
        return why
    for i, entry in enumerate(study.get("trials") or []):
        if planned_trial_path(results_dir, entry) is None:
            return (f"trials[{i}] ({entry!r:.80}) is not a trial folder inside the results directory "
                    f"(<ruleset>/<submission>/study_<k>/<workload>/trial_<i>)")
    workloads = study.get("workloads") or []
    if not all(isinstance(w, str) or isinstance(w, dict) and isinstance(w.get("name"), str) for w in workloads):
        return "workloads holds something that is not a name"
    if not all(isinstance(s, str) for s in study.get("submissions") or []):
        return "submissions holds something that is not a name"
    code = study.get("code") or {}
    why = wrong_type(code, {"submissions": dict, "workloads": dict, "project": (dict, NONE)})
    if why or not all(isinstance(files, (dict, NONE)) for kind in ("submissions", "workloads")
                      for files in (code.get(kind) or {}).values()):
        return f"code: {why or 'a file list is not a JSON object'}"
    return None


def read_study(results_dir: Path) -> dict[str, Any]:
    """study.json, checked ({} if there is none); UnreadableFile for one that cannot be read
    or that lists anything but trial folders inside ``results_dir``."""
    path = Path(results_dir) / STUDY_FILE
    if not path.exists():
        return {}
    return _read_record(path, lambda study: _study_problem(study, results_dir))


def _numbers(value: Any, nullable: bool = True) -> bool:
    """A list of numbers (None allowed where a value was not finite)."""
    return isinstance(value, list) and all(
        (v is None and nullable) or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value)


def _diagnostics_problem(data: Any) -> str | None:
    """What makes a diagnostics.json unusable by its readers, or None."""
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, dict) or not isinstance(data.get("settings", {}), dict):
        return "not a diagnostics file (no mapping of settings and cells)"
    for key, cell in cells.items():
        line = cell.get("line") if isinstance(cell, dict) else None
        plane = cell.get("plane") if isinstance(cell, dict) else None
        tokens = cell.get("token_frequency") if isinstance(cell, dict) else None
        whole = (isinstance(cell.get("trial"), str) and isinstance(line, dict) and isinstance(plane, dict)
                 and _numbers(line.get("alpha"), False) and _numbers(line.get("loss"))
                 and len(line["alpha"]) == len(line["loss"]) and _numbers(plane.get("coordinates"), False)
                 and isinstance(plane.get("loss"), list) and len(plane["loss"]) == len(plane["coordinates"])
                 and all(_numbers(row) and len(row) == len(plane["coordinates"]) for row in plane["loss"])
                 and _numbers([cell.get(k) for k in ("sharpness", "loss_init", "loss_final", "time_to_target")])
                 and (tokens is None or (isinstance(tokens, list) and all(
                     isinstance(b, dict) and _numbers([b.get("share"), b.get("loss")]) for b in tokens))))
        if not whole:
            return f"cell {str(key)[:80]!r} is not a whole diagnosis"
    return None


def read_diagnostics(results_dir: Path) -> dict[str, Any]:
    """diagnostics.json (`algoperf-lite diagnose`), checked ({} if there is none); UnreadableFile
    for one that cannot be read or whose cells are not whole."""
    path = Path(results_dir) / DIAGNOSTICS_FILE
    if not path.exists():
        return {}
    return _read_record(path, _diagnostics_problem)


# --- the writer -------------------------------------------------------------------------------

class TrialWriter:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._rows: list[dict[str, Any]] = []

    def write_spec(self, spec: dict[str, Any]) -> None:
        write_json_atomic(self.path / SPEC_FILE, {"format_version": FORMAT_VERSION, **spec})

    def write_environment(self, env: dict[str, Any]) -> None:
        write_json_atomic(self.path / ENVIRONMENT_FILE, env)

    def append_eval(self, row: dict[str, Any]) -> None:
        """Add one eval row and rewrite evals.csv (small: one row per eval)."""
        self._rows.append(row)
        metrics = sorted({k for r in self._rows for k in r} - set(EVAL_COLUMNS))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*EVAL_COLUMNS, *metrics], lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._rows)
        write_text_atomic(self.path / EVALS_FILE, out.getvalue())

    def write_weights(self, moment: str, data: bytes) -> None:
        """The model's serialized state_dict at ``moment`` (init or final)."""
        write_bytes_atomic(weights_file(self.path, moment), data)

    def write_outcome(self, outcome: Outcome) -> None:
        """Last, bound to the spec.json beside it (read back: the one on disk is what counts)."""
        try:
            spec = _read_record(self.path / SPEC_FILE, spec_problem)
        except UnreadableFile as e:
            raise OSError(f"{e}: no outcome can be bound to it") from None
        write_json_atomic(self.path / OUTCOME_FILE, dataclasses.replace(outcome, spec_hash=spec_hash(spec)).to_json())
