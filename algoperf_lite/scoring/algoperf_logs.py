"""AlgoPerf's logs as published, read into a trial table with one version's targets and rules.

The layout of github.com/mlcommons/submissions_algorithms (`previous_leaderboards/*/logs/`):

    [<ruleset>/]<submission>/study_<k>/<workload>_<framework>/trial_<i>/eval_measurements.csv

`<ruleset>` is `external_tuning` or `self_tuning`; DIR may be the folder above the rulesets, a
ruleset folder, or one submission. Read the way AlgoPerf's scoring code reads it: the time of
an eval is the `score` column (AlgoPerf's accumulated submission time); a trial reached the
target at its first eval whose validation metric is >= the target (<= for minimized metrics),
NaN never reaching; trial folders without eval_measurements.csv are not trials. Two things
AlgoPerf does not do (docs/rules.md): a target first reached after the budget does not count, and a
workload the targets name that no log has is left out of the benchmark (AlgoPerf's scorer
raises KeyError there) with a warning naming it.

Every irregularity goes to `TrialSet.notes` (scoring warns, strict refuses); logs of workloads
that the version knows but does not score (variants it did not draw) go to `TrialSet.info`.
"""

from __future__ import annotations

import contextlib
import csv
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from algoperf_lite.json_files import UnreadableFile, read_json
from algoperf_lite.results import RULESET_DIRS
from algoperf_lite.spec import Target

from .errors import ScoringError
from .trials import Benchmark, TrialSet, normalize_trials

TARGETS_FILE = Path(__file__).with_name("algoperf_targets.json")
VERSIONS = ("v0.5", "v0.6")
DEFAULT_VERSION = "v0.6"  # AlgoPerf's scorer defaults to its latest targets too
MEASUREMENTS = "eval_measurements.csv"
WORKLOAD_DIR = re.compile(r"(?P<workload>.+)_(?:jax|pytorch)")
TRIAL_DIR = re.compile(r"trial_(?P<index>\d+)")
STUDY_DIR = re.compile(r"study_(?P<index>\d+)")
# AlgoPerf scores `score`; older logs may only have accumulated_submission_time (equal in every published log).
TIME_COLUMNS = ("score", "accumulated_submission_time")
# AlgoPerf's minimized metrics (scoring/performance_profile.py); the rest are maximized.
MINIMIZED = frozenset({"ce_loss", "error_rate", "ctc_loss", "wer", "l1_loss", "loss", "ppl"})


@dataclass(frozen=True)
class AlgoPerfWorkload:
    """One workload of a version: its validation target, budget, and base workload if a variant."""

    target: Target  # compared on the eval_measurements.csv column ``column``
    budget_sec: float | None = None  # external tuning's; None: unknown, not enforced
    variant_of: str = ""

    @property
    def column(self) -> str:
        return f"validation/{self.target.metric}"


@dataclass(frozen=True)
class AlgoPerfRules:
    """One benchmark version: the targets of every workload it knows, which of them it scores
    (`base` and the drawn `held_out` variants), and the counts and budget multiplier it expects."""

    name: str
    workloads: dict[str, AlgoPerfWorkload]
    base: tuple[str, ...]
    held_out: tuple[str, ...] = ()
    num_studies: int | None = None
    num_trials: int | None = None
    self_tuning_budget_multiplier: float | None = None

    @property
    def scored(self) -> tuple[str, ...]:
        return (*self.base, *self.held_out)

    def budget(self, workload: str, ruleset: str) -> float | None:
        """Seconds a trial of `ruleset` may train on `workload`; None when unknown."""
        budget = self.workloads[workload].budget_sec
        if budget is None:
            return None
        return budget * (self.self_tuning_budget_multiplier or 1.0) if ruleset == "self_tuning" else budget

    def constants(self) -> dict[str, Any]:
        """The rule constants, as a leaderboard records them."""
        return {"targets": self.name, "num_studies": self.num_studies, "num_trials": self.num_trials,
                "self_tuning_budget_multiplier": self.self_tuning_budget_multiplier,
                "held_out_variants": list(self.held_out)}


def _variant_base(name: str, base: tuple[str, ...]) -> str:
    """The base workload a variant belongs to: the longest base name it extends with '_'."""
    return max((b for b in base if name.startswith(b + "_")), key=len, default="")


def _rules_from_ours(name: str, raw: dict) -> AlgoPerfRules:
    """Our format (one version of algoperf_targets.json): workloads with metric, target, maximize,
    budget_sec and, for variants, variant_of; `held_out` lists the variants that count."""
    try:
        workloads = {
            w: AlgoPerfWorkload(Target(str(e["metric"]).removeprefix("validation/"), float(e["target"]),
                                       bool(e["maximize"])),
                                None if e.get("budget_sec") is None else float(e["budget_sec"]),
                                str(e.get("variant_of") or ""))
            for w, e in raw["workloads"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ScoringError(f"{name}: a workload entry needs metric, target and maximize ({e!r})") from None
    base = tuple(w for w, t in workloads.items() if not t.variant_of)
    held_out = tuple(raw.get("held_out") or ())
    bad = [v for v in held_out if v not in workloads or not workloads[v].variant_of]
    if bad:
        raise ScoringError(f"{name}: held_out names {bad}, which are not variants with a target in the file")
    return AlgoPerfRules(name, workloads, base, held_out, raw.get("num_studies"), raw.get("num_trials"),
                         raw.get("self_tuning_budget_multiplier"))


def _rules_from_algoperf(name: str, raw: dict) -> AlgoPerfRules:
    """AlgoPerf's own workload_targets*.json (base_workloads, held_out_workloads, workloads with
    target_metric_name and validation_target_value). Its version's constants come from ours."""
    try:
        base = tuple(raw["base_workloads"])
        held_out = tuple(raw.get("held_out_workloads") or ())
        entries = {w: (str(e["target_metric_name"]), float(e["validation_target_value"]))
                   for w, e in raw["workloads"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ScoringError(f"{name}: not a readable AlgoPerf targets file ({e!r})") from None
    missing = [w for w in (*base, *held_out) if w not in entries]
    if missing:
        raise ScoringError(f"{name}: base or held-out workloads without a target: {missing}")
    version = f"v{raw.get('benchmark_version', '')}"
    known = load_rules(version) if version in VERSIONS else None
    workloads = {}
    for w, (metric, value) in entries.items():
        variant_of = "" if w in base else _variant_base(w, base)
        budget = known.workloads[w].budget_sec if known and w in known.workloads else None
        workloads[w] = AlgoPerfWorkload(Target(metric, value, metric not in MINIMIZED), budget, variant_of)
    return AlgoPerfRules(name, workloads, base, held_out,
                         known.num_studies if known else None, known.num_trials if known else None,
                         known.self_tuning_budget_multiplier if known else None)


def load_rules(targets: str | Path = DEFAULT_VERSION) -> AlgoPerfRules:
    """A version's rules by name (`v0.5`, `v0.6`), or from a JSON file in our format (one version of
    algoperf_targets.json) or AlgoPerf's (scoring/workload_targets*.json)."""
    name = str(targets)
    version = name if name.startswith("v") else f"v{name}"
    if version in VERSIONS and not Path(name).is_file():
        return _rules_from_ours(version, read_json(TARGETS_FILE)[version])
    path = Path(name)
    if not path.is_file():
        raise ScoringError(f"targets {name!r}: neither a version ({', '.join(VERSIONS)}) nor a file")
    raw = read_json(path)  # UnreadableFile, a UserError, for a damaged file
    if not isinstance(raw, dict) or not isinstance(raw.get("workloads"), dict):
        raise ScoringError(f"{path}: expected a JSON object with a 'workloads' object")
    return (_rules_from_algoperf if "base_workloads" in raw else _rules_from_ours)(str(path), raw)


def first_reach(path: Path, workload: AlgoPerfWorkload) -> tuple[float, float, int, str]:
    """(time, step, 0-based eval index) of the first eval reaching the target, inf/inf/-1 if none,
    and a problem ("" if none): the file has no time column or no column for the target's metric."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        time_col = next((header.index(c) for c in TIME_COLUMNS if c in header), None)
        if time_col is None or workload.column not in header:
            missing = "time column (score)" if time_col is None else f"{workload.column} column"
            return math.inf, math.inf, -1, f"no {missing}" if header else "empty file"
        metric_col = header.index(workload.column)
        step_col = header.index("global_step") if "global_step" in header else None
        for i, row in enumerate(reader):
            value, time = _number(row, metric_col), _number(row, time_col)
            if workload.target.reached(value) and math.isfinite(time):  # NaN: False either way
                return time, _number(row, step_col) if step_col is not None else math.nan, i, ""
    return math.inf, math.inf, -1, ""


def _number(row: list[str], i: int) -> float:
    try:
        return float(row[i])
    except (IndexError, ValueError):
        return math.nan


def read_evals(path: Path) -> pd.DataFrame | None:
    """A trial's eval_measurements.csv with `submission_time` (the `score` column) added, as the
    leaderboard's curves read evals.csv; None if unreadable."""
    try:
        evals = pd.read_csv(Path(path) / MEASUREMENTS)
    except (FileNotFoundError, pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    time = next((c for c in TIME_COLUMNS if c in evals.columns), None)
    if time is not None:
        evals["submission_time"] = pd.to_numeric(evals[time], errors="coerce")
    return evals


def _dirs(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if p.is_dir()), key=lambda p: p.name)


def _looks_like_submission(path: Path) -> bool:
    """A folder holding study folders: some child holds a <workload>_<framework> folder."""
    return any(STUDY_DIR.fullmatch(c.name) or any(WORKLOAD_DIR.fullmatch(w.name) for w in _dirs(c))
               for c in _dirs(path))


def _ruleset_of(submission: Path, above: Path) -> str:
    """A ruleset folder on the way down, else the runs' flags_0.json (`tuning_ruleset`), else external."""
    for folder in (submission, above):
        if folder.name in RULESET_DIRS.values():
            return folder.name
    flags = next(submission.glob("*/*/trial_*/flags_0.json"), None)
    if flags is not None:
        with contextlib.suppress(UnreadableFile, AttributeError):
            if read_json(flags).get("tuning_ruleset") == "self":
                return "self_tuning"
    return "external_tuning"


def submission_dirs(root: Path) -> list[tuple[str, Path]]:
    """(ruleset, folder) of every submission under an AlgoPerf logs directory."""
    root = Path(root)
    if not root.is_dir():
        raise ScoringError(f"{root}: no such directory")
    if (root / "logs").is_dir() and not _looks_like_submission(root):
        root = root / "logs"  # a leaderboard folder: previous_leaderboards/algoperf_v05
    rulesets = [d for d in _dirs(root) if d.name in RULESET_DIRS.values()]
    if rulesets:
        return [(r.name, s) for r in rulesets for s in _dirs(r)]
    resolved = root.resolve()
    if _looks_like_submission(root):
        return [(_ruleset_of(resolved, resolved.parent), root)]
    return [(_ruleset_of(s, resolved), s) for s in _dirs(root)]


def _examples(items: list[str], shown: int = 3) -> str:
    more = f", and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _counted(counter: Counter) -> str:
    return ", ".join(f"{name} ({n})" for name, n in sorted(counter.items()))


def _check_meta(trial_dir: Path, workload: str, entry: AlgoPerfWorkload, found: dict) -> bool:
    """Record the target and budget a run says it had (meta_data_0.json) where they differ from
    ours (the budget before any self-tuning multiplier, as AlgoPerf records it). False: no file."""
    try:
        meta = read_json(trial_dir / "meta_data_0.json")
    except UnreadableFile:
        return False
    if not isinstance(meta, dict):
        return False
    for key, ours, what in (("workload.validation_target_value", entry.target.value, "target"),
                            ("workload.max_allowed_runtime_sec", entry.budget_sec, "budget")):
        theirs = meta.get(key)
        if ours is not None and isinstance(theirs, (int, float)) and not math.isclose(theirs, ours, rel_tol=1e-9):
            found[(workload, what)] = (theirs, ours)
    return True


@dataclass
class _Found:
    """What walking a logs directory turned up besides the trials."""

    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # kind -> folders
    unscored: Counter = field(default_factory=Counter)  # known workload the version does not score -> trials
    unknown: Counter = field(default_factory=Counter)  # workload without a target -> trials
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # file problem -> trials
    late: list[str] = field(default_factory=list)  # reached only after the budget
    meta: dict = field(default_factory=dict)  # (workload, what) -> (the run's value, ours)


def _walk(root: Path, rules: AlgoPerfRules) -> tuple[list[dict], _Found]:
    """One row per trial of a scored workload, in folder order, and everything else found."""
    rows: list[dict] = []
    found = _Found()
    frameworks: dict[tuple, str] = {}
    for ruleset, sub_dir in submission_dirs(root):
        for study_dir in _dirs(sub_dir):
            m = STUDY_DIR.fullmatch(study_dir.name)
            study: int | str = int(m["index"]) if m else study_dir.name
            for w_dir in _dirs(study_dir):
                m = WORKLOAD_DIR.fullmatch(w_dir.name)
                if not m:
                    kind = ("trial folders directly under a study (no workload folder)" if TRIAL_DIR.fullmatch(w_dir.name)
                            else "folders not named <workload>_<jax|pytorch>")
                    found.skipped[kind].append(str(w_dir.relative_to(root)))
                    continue
                workload = m["workload"]
                trial_dirs = [t for t in _dirs(w_dir) if TRIAL_DIR.fullmatch(t.name)]
                if workload not in rules.scored:
                    (found.unscored if workload in rules.workloads else found.unknown)[workload] += len(trial_dirs)
                    continue
                key = (ruleset, sub_dir.name, workload, study)
                if frameworks.setdefault(key, w_dir.name) != w_dir.name:
                    raise ScoringError(f"{sub_dir / study_dir.name}: {workload} is logged twice, as "
                                       f"{frameworks[key]} and {w_dir.name}; keep one")
                target, budget = rules.workloads[workload], rules.budget(workload, ruleset)
                checked_meta = False  # one run per workload folder says what it ran with
                for t_dir in trial_dirs:
                    rel = str(t_dir.relative_to(root))
                    if not (t_dir / MEASUREMENTS).is_file():
                        found.skipped[f"trial folders without {MEASUREMENTS}"].append(rel)
                        continue
                    if not checked_meta:
                        checked_meta = _check_meta(t_dir, workload, target, found.meta)
                    time, step, index, problem = first_reach(t_dir / MEASUREMENTS, target)
                    if problem:
                        found.problems[problem].append(rel)
                    if budget is not None and math.isfinite(time) and time > budget:
                        found.late.append(f"{rel} at {time:.0f} s > {budget:.0f} s")
                        time, step, index = math.inf, math.inf, -1
                    rows.append({
                        "ruleset": ruleset, "submission": sub_dir.name, "workload": workload,
                        "variant_of": target.variant_of, "study": study,
                        "trial": int(TRIAL_DIR.fullmatch(t_dir.name)["index"]),
                        "time_to_target": time, "steps_to_target": step, "eval_index": index,
                        "status": "reached" if math.isfinite(time) else "not reached", "path": str(t_dir),
                    })
    return rows, found


def _messages(found: _Found, rules: AlgoPerfRules) -> tuple[list[str], list[str]]:
    """(irregularities, what was left out by rule) as one line each."""
    notes = [f"{len(items)} {kind} skipped, as AlgoPerf's reader skips them (e.g. {_examples(items, 2)})"
             for kind, items in found.skipped.items()]
    if found.unknown:
        notes.append(f"workloads without a {rules.name} target ignored: {_counted(found.unknown)} trial folders")
    notes += [f"{len(items)} {MEASUREMENTS} with {problem}, scored as not reached (e.g. {_examples(items, 2)})"
              for problem, items in found.problems.items()]
    if found.late:
        notes.append(f"{len(found.late)} trials first reached the target after their budget; not counted "
                     f"(e.g. {_examples(found.late, 2)})")
    if found.meta:
        items = [f"{w} {what} {theirs:g} ({rules.name}: {ours:g})" for (w, what), (theirs, ours) in sorted(found.meta.items())]
        notes.append(f"the runs' meta_data_0.json records other targets or budgets than {rules.name}'s: "
                     f"{_examples(items, 4)}; are these logs of another version?")
    info = []
    if found.unscored:
        info.append(f"{rules.name} does not score these workloads (variants it did not draw); their trial "
                    f"folders are ignored, as AlgoPerf ignores them: {_counted(found.unscored)}")
    return notes, info


def read_algoperf_logs(root: Path, targets: str | Path | AlgoPerfRules = DEFAULT_VERSION) -> TrialSet:
    """The trials under an AlgoPerf logs directory, scored against one version's targets and rules."""
    root = Path(root)
    rules = targets if isinstance(targets, AlgoPerfRules) else load_rules(targets)
    rows, found = _walk(root, rules)
    if not rows:
        raise ScoringError(
            f"{root}: no AlgoPerf trials with {rules.name} targets found; expected "
            f"[<ruleset>/]<submission>/study_<k>/<workload>_<jax|pytorch>/trial_<i>/{MEASUREMENTS}"
            + (f" (workloads without a target: {_counted(found.unknown)})" if found.unknown else "")
        )
    notes, info = _messages(found, rules)

    df = pd.DataFrame(rows)
    present = set(df["workload"])
    base = tuple(sorted(w for w in rules.base if w in present))
    variants = {v: rules.workloads[v].variant_of for v in rules.held_out
                if v in present and rules.workloads[v].variant_of in present}
    absent = [w for w in rules.scored if w not in present]
    if absent:  # AlgoPerf's scorer raises KeyError here; the denominator becomes the workloads present
        gate = " (a held-out variant without logs gates nothing)" if set(absent) & set(rules.held_out) else ""
        notes.append(f"the {rules.name} targets name workloads that no log here has: {', '.join(absent)}; "
                     f"scored over the {len(base)} base workloads present{gate}")
    orphans = sorted(v for v in rules.held_out if v in present and v not in variants)
    if orphans:
        notes.append(f"held-out variants whose base workload has no log, ignored: {', '.join(orphans)}")
        df = df[~df["workload"].isin(orphans)]
    bench = Benchmark(base, dict(sorted(variants.items())), rules.num_studies, rules.num_trials)
    return TrialSet(normalize_trials(df, str(root)), bench, root, notes, info, trial_selection="first_eval")


def trial_spec_reader(rules: AlgoPerfRules, trials: pd.DataFrame) -> Callable[[str], dict]:
    """For the leaderboard: a trial's spec as a results directory's spec.json gives it (target,
    budget, hyperparameters from its hparams.json, the rule constants, and the submission's search
    space where the leaderboard repository has it: <leaderboard>/submissions/<ruleset>/<submission>)."""
    where = {p: (r, w) for p, r, w in trials[["path", "ruleset", "workload"]].itertuples(index=False)}

    def spec(path: str) -> dict:
        out: dict[str, Any] = {"rules": rules.constants()}
        if path in where:
            ruleset, workload = where[path]
            out["target"] = rules.workloads[workload].target._asdict()
            out["budget_sec"] = rules.budget(workload, ruleset)
            sub_dir = Path(path).resolve().parents[2]
            if sub_dir.parent.name == ruleset and sub_dir.parents[1].name == "logs":
                space = sub_dir.parents[2] / "submissions" / ruleset / sub_dir.name / "tuning_search_space.json"
                with contextlib.suppress(UnreadableFile):  # the submission's own file, where the leaderboard has it
                    out["search_space"] = read_json(space)
        with contextlib.suppress(UnreadableFile):
            hp = read_json(Path(path) / "hparams.json")
            out["hyperparameters"] = hp if isinstance(hp, dict) else {}
        return out

    return spec
