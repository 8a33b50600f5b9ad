"""The Python API, for notebooks and scripts: run a trial, run a study, score results
(``algoperf_lite.run``, ``algoperf_lite.run_study``, ``algoperf_lite.score``; the study function
is not ``algoperf_lite.study``, which is the package of the study machinery).

    import algoperf_lite, torch
    result = algoperf_lite.run(
        workload="digits_logreg",
        optimizer=lambda model, hp, workload: torch.optim.AdamW(model.parameters(), lr=hp.learning_rate),
        search_space={"learning_rate": {"min": 1e-3, "max": 1e-1, "scaling": "log"}})

Each function is a command (``run``, ``study``, ``score``): keyword settings are the keys of
``algoperf-lite run`` (:class:`~algoperf_lite.trial.config.TrialConfig`) and ``algoperf-lite
study`` (:class:`~algoperf_lite.study.config.StudyConfig`), composed with the configs of
``configs/`` exactly as the command line composes them (into Hydra overrides, so that a
launcher's jobs compose the same config), and run by the commands' own functions
(:mod:`algoperf_lite.commands`), with their checks. A submission is a
name or path as on the command line, an imported submission module, or Python objects: an
optimizer factory ``(model, hp, workload) -> torch.optim.Optimizer`` with its search space,
adapted as a native submission (:func:`submission`). Bad input raises
:class:`~algoperf_lite.errors.UserError` before anything trains.

Importing this module imports neither torch nor Hydra: they come with the first call, and
:func:`score` never needs torch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from algoperf_lite.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from algoperf_lite.results import Outcome
    from algoperf_lite.trial.record import TrialRecord
    from algoperf_lite.trial.submissions import LoadedSubmission

GROUPS = ("rules", "executor")  # config groups: a string picks a file of configs/<group>/, a mapping sets keys


@dataclass(frozen=True)
class TrialResult:
    """What :func:`run` returns: how the trial ended, where its record is, and what ran."""

    outcome: Outcome
    path: Path  # the trial's folder: spec.json, environment.json, evals.csv, outcome.json
    record: TrialRecord  # what spec.json holds

    def evals(self) -> pd.DataFrame:
        """evals.csv: one row per eval (step, submission_time, eval_time, metrics)."""
        import pandas as pd

        from algoperf_lite.results import EVALS_FILE

        return pd.read_csv(self.path / EVALS_FILE)

    def __repr__(self) -> str:
        o = self.outcome
        when = f", time_to_target={o.time_to_target:.3f} s, step {o.steps_to_target}" if o.reached else ""
        return f"TrialResult({o.status}{when}, path={str(self.path)!r})"


# --- values into Hydra overrides --------------------------------------------------------------------

def _quoted(text: str) -> str:
    """A string as a quoted Hydra value that reads back as itself: backslashes before a
    quote or the end doubled, quotes and interpolations (``${``) escaped."""
    out = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text)
    out = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, out)
    return "'" + out.replace("${", "\\${") + "'"


def hydra_value(value: Any) -> str:
    """A Python value as the text of a Hydra override's value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return _quoted(str(value))
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_key(k)}:{hydra_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    raise UserError(f"{value!r} ({type(value).__name__}) cannot be a config value: give a number, string, bool, "
                    f"None, list or dict")


def _key(key: Any) -> str:
    if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", key):
        raise UserError(f"config key {key!r} is not valid: keys are names like budget_scale or digits_logreg")
    return key


def overrides_of(settings: Mapping[str, Any]) -> list[str]:
    """Keyword settings as Hydra overrides: ``key=value``; ``hp={...}`` as ``hp.NAME=VALUE``
    (the chosen point); a group (``rules``, ``executor``) as a choice when a string and as
    its keys (``rules.num_trials=2``) when a mapping."""
    out = []
    for key, value in settings.items():
        if value is None and key in GROUPS:
            continue
        if key == "hp" or (key in GROUPS and isinstance(value, Mapping)):
            if not isinstance(value, Mapping):
                raise UserError(f"{key} must be a mapping of names to values, got {value!r}")
            out += [f"{_key(key)}.{_key(k)}={hydra_value(v)}" for k, v in value.items()]
        elif key in GROUPS:
            out.append(f"{key}={value}")  # the name of a file: configs/<group>/<value>.yaml
        else:
            out.append(f"{_key(key)}={hydra_value(value)}")
    return out


# --- submissions ---------------------------------------------------------------------------------

def submission(optimizer: Callable[..., Any], *, search_space: Any = None, schedule: Callable[..., float] | None = None,
               batch_size: int | None = None, self_tuning: Mapping[str, Any] | None = None,
               name: str | None = None) -> LoadedSubmission:
    """A native submission from Python objects, for :func:`run` and :func:`run_study`.

    ``optimizer(model, hp, workload)`` returns a torch optimizer (``hp`` has the point's
    values as attributes: ``hp.learning_rate``); ``search_space`` is AlgoPerf's format (a
    mapping of names to ``{"min", "max", "scaling"}`` or ``{"feasible_points"}``, or a list
    of points) or a file; ``schedule(step, step_hint, hp)`` multiplies the learning rate
    (:func:`algoperf_lite.native.warmup_cosine`); ``batch_size`` None uses each workload's;
    ``self_tuning`` is the point under ``ruleset="self"``. ``name`` names its results folder
    (default: the factory's name)."""
    return _python_submission(optimizer, search_space, schedule, batch_size, self_tuning, name)


def _python_submission(optimizer: Callable[..., Any], search_space: Any, schedule: Callable[..., float] | None,
                       batch_size: int | None, self_tuning: Mapping[str, Any] | None, name: str | None) -> LoadedSubmission:
    from algoperf_lite.trial.submissions import python_submission

    if name is None:
        own = getattr(optimizer, "__name__", "")
        name = own if own.isidentifier() else "python_submission"
    return python_submission(optimizer, name, search_space, schedule, batch_size,
                             dict(self_tuning) if self_tuning is not None else None)


def _submission_name(given: Any) -> str:
    """What a config names a submission by: a name or path as given; a module by its file;
    Python objects by ``python:<name>``, registered in this process."""
    from algoperf_lite.trial.submissions import LoadedSubmission, register_python_submission

    if isinstance(given, (str, Path)):
        return str(given)
    if isinstance(given, ModuleType):
        file = getattr(given, "__file__", None)
        if not file:
            raise UserError(f"module {given.__name__} has no file to load as a submission")
        return file
    if isinstance(given, LoadedSubmission):
        return register_python_submission(given)
    raise UserError(f"a submission is a name, a path, a module or algoperf_lite.submission(...), got {given!r}")


# --- the three functions -------------------------------------------------------------------------

def run(workload: str = "digits_logreg", submission: Any = None, *, optimizer: Callable[..., Any] | None = None,
        search_space: Any = None, schedule: Callable[..., float] | None = None, batch_size: int | None = None,
        self_tuning: Mapping[str, Any] | None = None, name: str | None = None, rules: str | Mapping[str, Any] | None = None,
        overrides: Sequence[str] = (), **settings: Any) -> TrialResult:
    """One trial of a submission on a workload (``algoperf-lite run``); its outcome and record.

    The submission is ``submission`` (a name, a path, a module, or :func:`submission`'s
    result; default ``adamw``) or, with ``optimizer=``, the native submission that
    :func:`submission` builds from ``optimizer``, ``search_space``, ``schedule``,
    ``batch_size``, ``self_tuning`` and ``name``. ``settings`` are ``run``'s keys
    (``device="cpu"``, ``results_dir=...``, ``ruleset="self"``, ``hp={...}``, ``quiet=True``,
    ``logger="tensorboard"``, ...), ``rules`` a preset (``"v0.5"``) or constants;
    ``overrides`` are more, as command-line text. It prints what ``algoperf-lite run``
    prints (nothing with ``quiet=True``)."""
    from algoperf_lite.commands.run import run_trial
    from algoperf_lite.configs import load_config
    from algoperf_lite.console import stdout_console

    if optimizer is not None:
        if submission is not None:
            raise UserError("give a submission or an optimizer, not both")
        submission = _python_submission(optimizer, search_space, schedule, batch_size, self_tuning, name)
    elif any(v is not None for v in (schedule, batch_size, self_tuning, name)) or isinstance(search_space, Mapping):
        raise UserError("schedule, batch_size, self_tuning, name and a search space mapping describe a submission "
                        "given as optimizer=...; for a named submission, search_space is a file")
    elif search_space is not None:
        settings["search_space"] = str(search_space)  # the file that replaces the submission's own
    named = {"workload": workload, "submission": _submission_name(submission if submission is not None else "adamw"),
             "rules": rules, **settings}
    config = load_config("run", [*overrides_of(named), *overrides])
    console = stdout_console()
    console.quiet = config.quiet
    trial, outcome = run_trial(config, console)
    return TrialResult(outcome, trial.path, trial.record)


def run_study(submissions: Sequence[Any], workloads: Sequence[str], *, preset: str = "smoke", name: str | None = None,
          rules: str | Mapping[str, Any] | None = None, executor: str | Mapping[str, Any] | None = None,
          dry_run: bool = False, overrides: Sequence[str] = (), **settings: Any) -> Path:
    """A study (``algoperf-lite study``): every submission on every workload under the
    ruleset, resumable, then scored (``score=False`` skips it); its results dir.

    ``submissions`` are names, paths, modules or :func:`submission`'s results; ``preset``
    (``configs/study/``) gives what is not given here (``smoke``: 2 trials, 1 study, smoke
    scale); ``name`` names the study (and its default results dir). ``settings`` are
    ``study``'s keys (``results_dir``, ``ruleset``, ``devices``, ``workers``, ``quiet``,
    ``logger``, ...). Submissions given as Python objects run in this process, so they
    need the sequential executor (the default); every other trial runs in a fresh
    process, so a script calling this needs ``if __name__ == "__main__":``."""
    from algoperf_lite.commands.study import run_configured_study
    from algoperf_lite.configs import load_config
    from algoperf_lite.console import stdout_console

    names = [_submission_name(s) for s in submissions]
    chosen = [f"study={preset}", *overrides_of({"rules": rules, "executor": executor})]
    study_keys = {"study.workloads": list(workloads), "study.submissions": names}
    if name is not None:
        study_keys["study.name"] = name
    args = [*chosen, *(f"{k}={hydra_value(v)}" for k, v in study_keys.items()), *overrides_of(settings), *overrides]
    config = load_config("study", args)
    run_configured_study(config, dry_run, stdout_console())
    return config.results_path


def score(results: str | Path, *, algoperf: bool = False, targets: str | Path | None = None, strict: bool = False,
          **settings: Any) -> pd.DataFrame:
    """The score table (``algoperf-lite score``) of a results directory, a CSV of trial
    outcomes (``submission, workload, study, trial, time_to_target``) or, with
    ``algoperf=True``, a directory of AlgoPerf's logs (``targets``: ``"v0.5"``, ``"v0.6"``,
    the default, or a targets file; scored with AlgoPerf's first-eval pick unless
    ``trial_selection`` says otherwise): one row per submission and ruleset, ranked, with
    score, interval, ranks and workloads reached. ``settings`` are
    :class:`~algoperf_lite.scoring.ScoreSettings`' (``metric="steps"``, ``max_tau``,
    ``integral``, ``reference``, ``n_boot``, ...). Writes nothing."""
    from algoperf_lite.scoring import ScoreSettings, compute_scores, load_trials

    path = Path(results)
    kind = "algoperf_dir" if algoperf else "times_csv" if path.suffix == ".csv" else "results_dir"
    trials = load_trials(**{kind: path}, targets=targets)
    settings.setdefault("trial_selection", trials.trial_selection)
    return compute_scores(trials, ScoreSettings(**settings), strict).scores
