"""What a trial is configured with: the schema of ``configs/run/run.yaml`` and of the trial
part of ``configs/study.yaml`` (Hydra structured configs).

A knob is one field here, with its default, type and a comment; OmegaConf checks names
and types, ``__post_init__`` the values (:func:`check_values`), and the code that uses
the knob reads it from the object. :class:`TrialSettings` holds what a study gives each
of its trials, so a field added there is a key of both commands.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from algoperf_lite.errors import UserError
from algoperf_lite.rules import Rules, check_ruleset, load_rules

# Field metadata: "positive" (a number > 0, or null), "minimum" (a number >= it), and
# "results": False for a knob that says where or how to run, not what a trial's result is.
POSITIVE = {"positive": True}
WHERE = {"results": False}
CLOCKS = ("cpu", "wall")  # the submission clocks (algoperf_lite/trial/clock.py)
MEASURED_SCALES = ("auto", "measure")  # budget_scale values that measure this machine (trial/speed.py)


def positive(default: Any = None) -> Any:
    return field(default=default, metadata=POSITIVE)


def check_values(config: Any) -> None:
    """The value checks the field metadata asks for; a UserError naming the key."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        integer = isinstance(value, int)  # OmegaConf makes a float field's value a float
        if f.metadata.get("positive") and value <= 0:
            what = "positive or null (an integer)" if integer else "a positive number or null"
            raise UserError(f"{f.name}={value!r} is not valid: {f.name} must be {what}")
        if "minimum" in f.metadata and value < f.metadata["minimum"]:
            what = "an integer" if integer else "a number"
            raise UserError(f"{f.name}={value!r} is not valid: {f.name} must be {what} >= {f.metadata['minimum']:g}")


@dataclass
class TrialSettings:
    """The settings a study gives each of its trials, and ``run`` takes."""

    ruleset: str = "external"  # external (the trial gets a point of the search space) | self
    seed: int = 0  # root seed: hyperparameter points and every trial's seed derive from it
    scale: str = "auto"  # auto (smoke on CPU, full on GPU) | smoke | full
    data_dir: Optional[str] = field(default=None, metadata=WHERE)  # null: $ALGOPERF_LITE_DATA_DIR
    stop_at_target: bool = True  # end the trial at the first eval that reaches the target
    budget_sec: Optional[float] = positive()  # null: the workload's (x the self-tuning multiplier)
    eval_period_sec: Optional[float] = positive()  # null: the workload's
    # This machine's slowness against the machine that calibrated each target: multiplies
    # each workload's budget and eval period. auto: this machine's kept measurement, else
    # measured before the first trial (recorded either way); measure: measured again and
    # kept; or a number, or {workload: number, ...}.
    budget_scale: Any = "auto"
    # The submission clock: auto (cpu for a one-thread CPU trial, else wall) | cpu (CPU
    # seconds of the trial's processes: other programs' turns on the cores are not charged) | wall.
    clock: str = "auto"
    # Time to target to within this fraction: checkpoints between evals, evaluated by
    # bisection once an eval reaches the target (algoperf_lite/trial/checkpoints.py); 0: at evals only.
    time_resolution: float = field(default=0.02, metadata={"minimum": 0})
    # Common random numbers: every submission's trial i of study j on a workload gets the same
    # seed (initial weights, data order), so that submissions are compared on the same draws.
    common_random_numbers: bool = True
    compile: bool = False  # torch.compile the model; compile time counts, as in AlgoPerf
    autocast: bool = False  # bfloat16 autocast of the model's forward passes (for GPUs); its time counts
    threads: Optional[int] = positive(1)  # torch threads of a CPU trial (targets were calibrated on 1)
    # A tuning search space file that replaces the submissions' own (AlgoPerf's --tuning_search_space).
    search_space: Optional[str] = None
    # The user's own folders of workload families and of submissions, added to the built-in
    # ones (as are $ALGOPERF_LITE_WORKLOADS_PATH and $ALGOPERF_LITE_SUBMISSIONS_PATH).
    workloads_path: list[str] = field(default_factory=list, metadata=WHERE)
    submissions_path: list[str] = field(default_factory=list, metadata=WHERE)
    # A tracker that also gets every eval and the trial's settings: null | tensorboard | wandb
    # (algoperf_lite/trial/loggers.py). Its logs go in the trial's folder, or under logger_dir.
    logger: Optional[str] = field(default=None, metadata=WHERE)
    logger_dir: Optional[str] = field(default=None, metadata=WHERE)
    # Keep the model's weights after init and at the end (weights_init.pt, weights_final.pt in the
    # trial's folder), for `algoperf-lite diagnose`; untimed. Sizes: docs/analysis.md.
    save_weights: bool = field(default=False, metadata=WHERE)
    rules: Rules = field(default_factory=lambda: load_rules("v0.6"))  # configs/rules/

    def __post_init__(self) -> None:
        check_ruleset(self.ruleset)
        check_values(self)
        if self.clock not in ("auto", *CLOCKS):
            raise UserError(f"clock={self.clock!r} is not valid: use auto, {' or '.join(CLOCKS)}")
        if self.time_resolution >= 1:
            raise UserError(f"time_resolution={self.time_resolution!r} is not valid: a fraction of the time so far, "
                            f"below 1 (0.02: to within 2%), or 0 for evals only")


@dataclass
class TrialConfig(TrialSettings):
    """One trial of one submission on one workload (``algoperf-lite run``)."""

    workload: str = "digits_logreg"  # a name from `algoperf-lite list`
    submission: str = "adamw"  # a name under submissions/, or a path to a folder or a .py file
    study: int = 0  # study index (0-based): seeds the study's hyperparameter points
    trial: int = 0  # trial index within the study (0-based)
    device: str = field(default="auto", metadata=WHERE)  # auto | cpu | cuda | cuda:N
    results_dir: str = field(default="results", metadata=WHERE)
    eval_every_steps: Optional[int] = positive()  # evals by step count (reproducibility checks)
    max_steps: Optional[int] = positive()  # end training after N steps (tests; AlgoPerf's max_global_steps)
    # A chosen point: hp.NAME=VALUE sets NAME in the point the trial would get (recorded as
    # chosen, and kept apart from tuning trials: docs/results.md).
    hp: dict[str, Any] = field(default_factory=dict)
    quiet: bool = field(default=False, metadata=WHERE)  # no live table
    overwrite: bool = field(default=False, metadata=WHERE)  # replace a record already in the trial's folder

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.study < 0 or self.trial < 0:
            raise UserError("study and trial are 0-based indices: give study>=0 and trial>=0")


def settings_of(config: TrialSettings) -> dict[str, Any]:
    """The :class:`TrialSettings` fields of ``config`` (a study's), to build its trials'."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(TrialSettings)}


def result_keys(cls: type) -> list[str]:
    """The fields of a config class that decide what its trials' results are."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("results", True)]
