"""Find and load submission folders, in either form, behind one interface.

A submission is a folder with ``submission.py``. AlgoPerf form: it defines the functions
of :class:`algoperf_lite.spec.Submission` (v0.6 passes ``train_state`` to
``update_params``, v0.5 does not). Native form: it defines ``make_optimizer`` (see
:mod:`algoperf_lite.native`). Either may have ``tuning_search_space.json`` and
``self_tuning.json`` (the point it gets under self-tuning).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from algoperf_lite import compat, spec
from algoperf_lite.errors import UserError
from algoperf_lite.json_files import read_json
from algoperf_lite.native import NativeAdapter
from algoperf_lite.paths import search_path
from algoperf_lite.trial.importing import exec_file, import_errors, import_from_package_root, package_root, path_digest
from algoperf_lite.trial.search_space import SearchSpace, load_search_space, parse_search_space

REQUIRED = ("init_optimizer_state", "update_params", "get_batch_size", "data_selection")
SEARCH_SPACE_FILES = ("tuning_search_space.json", "tuning_search_space.yaml", "tuning_search_space.yml")
SELF_TUNING_FILE = "self_tuning.json"


def requested_batch_size(name: str, get_batch_size: spec.GetBatchSizeFn, workload_name: str) -> int | None:
    """What submission ``name``'s ``get_batch_size`` asks for on ``workload_name``; None
    where it raises ValueError or KeyError (AlgoPerf's submissions key it on AlgoPerf's
    workload names): the workload's default then."""
    try:
        size = get_batch_size(workload_name)
    except (ValueError, KeyError):
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise UserError(f"submission {name}: get_batch_size returned {size!r}; it must return a positive int")
    return size


def _batch_size(requested: int | None, workload: spec.Workload) -> tuple[int, str]:
    return (workload.default_batch_size, "workload_default") if requested is None else (requested, "submission")


@dataclass(frozen=True)
class SubmissionFacts:
    """What a plan needs of a submission (a trial's record, but not its functions), found by
    loading it in a throwaway process: a study runs no submission code while it plans."""

    name: str
    path: Path
    form: str
    search_space: SearchSpace | None
    self_tuning_point: dict[str, Any] | None
    module_file: Path | None
    batch_sizes: dict[str, int | None]  # workload name -> requested_batch_size

    def batch_size_for(self, workload: spec.Workload) -> tuple[int, str]:
        return _batch_size(self.batch_sizes[workload.name], workload)


@dataclass
class LoadedSubmission:
    """A submission as the runner calls it, whatever its form: the functions of the
    contract (:class:`algoperf_lite.spec.Submission`), AlgoPerf's or the native adapter's,
    with its search space and where it came from."""

    name: str
    path: Path
    form: str  # "native", "algoperf-v0.6" or "algoperf-v0.5"
    search_space: SearchSpace | None
    init_optimizer_state: spec.InitOptimizerFn
    update_params: spec.UpdateParamsFn  # always called with train_state=...
    get_batch_size: spec.GetBatchSizeFn
    data_selection: spec.DataSelectionFn
    prepare_for_eval: spec.PrepareForEvalFn | None = None
    self_tuning_point: dict[str, Any] | None = field(default=None, repr=False)  # self_tuning.json
    module_file: Path | None = None  # the submission.py (or AlgoPerf baseline file) it was loaded from

    def batch_size_for(self, workload: spec.Workload) -> tuple[int, str]:
        """(batch size, source): :func:`requested_batch_size`, else the workload's default."""
        return _batch_size(requested_batch_size(self.name, self.get_batch_size, workload.name), workload)

    def facts(self, workload_names: Sequence[str]) -> SubmissionFacts:
        return SubmissionFacts(self.name, self.path, self.form, self.search_space, self.self_tuning_point,
                               self.module_file,
                               {w: requested_batch_size(self.name, self.get_batch_size, w) for w in workload_names})


def available_submissions(submissions_path: Sequence[str] = ()) -> dict[str, Path]:
    """Name -> folder of every submission on the search path (the built-in ``submissions/``,
    then the user's folders: :func:`algoperf_lite.paths.search_path`)."""
    found: dict[str, Path] = {}
    for root in search_path("submissions", submissions_path):
        for file in sorted(root.glob("*/submission.py")):
            name = file.parent.name
            if name in found:
                raise UserError(f"submission {name!r} is on the search path twice ({found[name]} and {file.parent}); "
                                f"rename one: a folder on the search path may add submissions, not replace them")
            found[name] = file.parent
    return found


def resolve_submission_path(name_or_path: str, submissions_path: Sequence[str] = ()) -> Path:
    """The submission's module file, from a name on the search path, a path to a folder
    with submission.py, or a path to a .py file (AlgoPerf lays out its baselines as
    ``pytorch_<name>.py`` beside ``tuning_search_space.json``)."""
    known = available_submissions(submissions_path)
    if "/" not in name_or_path and name_or_path in known:
        return (known[name_or_path] / "submission.py").resolve()
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        candidate = candidate / "submission.py"
    if candidate.suffix == ".py" and candidate.is_file():
        return candidate.resolve()
    close = difflib.get_close_matches(name_or_path, known, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UserError(
        f"unknown submission {name_or_path!r}: {hint}give a name from `algoperf-lite list` "
        f"({', '.join(known) or 'none found'}) or a path to a folder with submission.py"
    )


def _import_module(file: Path) -> ModuleType:
    """The submission's module, executed once per process: under its package name from its
    tree's root, else under a name of its own with its folder on sys.path (a submission may
    import its own helper files)."""
    compat.install()
    root = package_root(file)
    if root is not None:
        return import_from_package_root(file, root)
    module_name = f"algoperf_lite_submission_{file.parent.name}_{path_digest(file)}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    with import_errors(file):
        return exec_file(file, module_name, search=[file.parent])


def _check_functions(name: str, module: ModuleType, required: tuple[str, ...]) -> None:
    defined = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
    for fn in required:
        if not callable(getattr(module, fn, None)):
            close = difflib.get_close_matches(fn, defined, n=1)
            hint = f" (found {close[0]!r}: a typo?)" if close else ""
            raise UserError(f"submission {name}: submission.py does not define {fn}(){hint}; define it")


def _load_search_space(path: Path) -> SearchSpace | None:
    for filename in SEARCH_SPACE_FILES:
        if (path / filename).is_file():
            return load_search_space(path / filename)
    return None


def _load_self_tuning_point(path: Path) -> dict[str, Any] | None:
    file = path / SELF_TUNING_FILE
    if not file.is_file():
        return None
    point = read_json(file)  # UnreadableFile (a UserError) for a damaged one
    if not isinstance(point, dict) or not point:
        raise UserError(f"{file} must hold one non-empty mapping of hyperparameters")
    return point


def _accepts_train_state(fn: Any) -> bool:
    try:
        return "train_state" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True


def native_submission(name: str, path: Path, source: Any, space: SearchSpace | None,
                      self_tuning_point: dict[str, Any] | None, module_file: Path | None = None) -> LoadedSubmission:
    """A native submission as a :class:`LoadedSubmission`, through the native adapter; ``source``
    is its module, or any object with ``make_optimizer`` (and optional ``schedule``,
    ``batch_size``)."""
    adapter = NativeAdapter(source)
    return LoadedSubmission(
        name, path, "native", space,
        adapter.init_optimizer_state, adapter.update_params, adapter.get_batch_size,
        adapter.data_selection, None, self_tuning_point, module_file,
    )


# Submissions built from Python objects (algoperf_lite.api), by name: a config names one
# as "python:<name>". They live in this process only.
PYTHON_PREFIX = "python:"
_PYTHON_SUBMISSIONS: dict[str, LoadedSubmission] = {}


def python_submission(make_optimizer: Any, name: str, search_space: Any = None, schedule: Any = None,
                      batch_size: int | None = None, self_tuning_point: dict[str, Any] | None = None) -> LoadedSubmission:
    """A native submission from Python objects: ``make_optimizer(model, hp, workload)``, a
    search space (AlgoPerf's format as a mapping or list of points, or a file), an optional
    schedule and batch size, and the point it gets under self-tuning."""
    if not callable(make_optimizer):
        raise UserError(f"the optimizer of submission {name!r} must be callable as make_optimizer(model, hp, "
                        f"workload), got {make_optimizer!r}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name or ""):
        raise UserError(f"submission name {name!r} is not valid: it names the results folder, so use letters, "
                        f"digits, '_', '-' and '.'")
    if isinstance(search_space, (str, Path)):
        space = load_search_space(Path(search_space).expanduser())
    else:
        space = None if search_space is None else parse_search_space(search_space, f"search space of {name}")
    if self_tuning_point is not None and (not isinstance(self_tuning_point, dict) or not self_tuning_point):
        raise UserError(f"the self-tuning point of submission {name!r} must be one non-empty mapping")
    try:
        source_file = inspect.getsourcefile(make_optimizer)
    except TypeError:  # a builtin or a C type
        source_file = None
    origin = f"{getattr(make_optimizer, '__module__', None)}.{getattr(make_optimizer, '__qualname__', name)}"
    namespace = types.SimpleNamespace(make_optimizer=make_optimizer, schedule=schedule, batch_size=batch_size)
    return native_submission(name, Path(PYTHON_PREFIX + origin), namespace, space, self_tuning_point,
                             Path(source_file) if source_file and Path(source_file).is_file() else None)


def register_python_submission(submission: LoadedSubmission) -> str:
    """Make ``submission`` loadable in this process under the name a config gives it,
    ``python:<name>`` (returned); one registered later under the same name replaces it."""
    _PYTHON_SUBMISSIONS[submission.name] = submission
    return PYTHON_PREFIX + submission.name


def _registered(name: str, search_space: str | None) -> LoadedSubmission:
    try:
        submission = _PYTHON_SUBMISSIONS[name]
    except KeyError:
        raise UserError(f"no submission {PYTHON_PREFIX}{name} in this process: a submission given as Python "
                        f"objects (algoperf_lite.run, algoperf_lite.run_study) runs in the process that built it, "
                        f"with executor=sequential; give a folder to run it elsewhere") from None
    if search_space:
        return dataclasses.replace(submission, search_space=load_search_space(Path(search_space).expanduser()))
    return submission


def submission_facts(name_or_path: str, submissions_path: Sequence[str], search_space: str | None,
                     workload_names: Sequence[str]) -> SubmissionFacts:
    """:class:`SubmissionFacts` of a submission: it is loaded (its code runs), so call this
    in a process of its own."""
    return load_submission(name_or_path, submissions_path, search_space).facts(workload_names)


def load_submission(name_or_path: str, submissions_path: Sequence[str] = (),
                    search_space: str | None = None) -> LoadedSubmission:
    """Load a submission by name or path (or ``python:<name>``, one registered in this
    process); ``search_space`` (a file) replaces its own tuning search space (AlgoPerf's
    ``--tuning_search_space``)."""
    if name_or_path.startswith(PYTHON_PREFIX):
        return _registered(name_or_path[len(PYTHON_PREFIX):], search_space)
    file = resolve_submission_path(name_or_path, submissions_path)
    path = file.parent
    name = path.name if file.name == "submission.py" else file.stem
    module = _import_module(file)
    space = load_search_space(Path(search_space).expanduser()) if search_space else _load_search_space(path)
    self_tuning_point = _load_self_tuning_point(path)
    if callable(getattr(module, "make_optimizer", None)):
        return native_submission(name, path, module, space, self_tuning_point, file)
    _check_functions(name, module, REQUIRED)
    update = module.update_params
    if _accepts_train_state(update):
        form, update_params = "algoperf-v0.6", update
    else:
        form = "algoperf-v0.5"

        def update_params(*args: Any, train_state: Any = None, **kwargs: Any) -> spec.UpdateReturn:
            return update(*args, **kwargs)

    return LoadedSubmission(
        name, path, form, space, module.init_optimizer_state, update_params,
        module.get_batch_size, module.data_selection, getattr(module, "prepare_for_eval", None),
        self_tuning_point, file,
    )
