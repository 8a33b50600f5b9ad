"""Find and load submission folders, in either form, behind one interface.

A submission is a folder with ``submission.py``. AlgoPerf form: it defines the functions
of :class:`algoperf_lite.spec.Submission` (v0.6 passes ``train_state`` to
``update_params``, v0.5 does not). Native form: it defines ``make_optimizer`` (see
:mod:`algoperf_lite.native`). Either may have ``tuning_search_space.json`` and
``self_tuning.json`` (the point it gets under self-tuning).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import importlib.util
import inspect
import json
import re
import sys
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from algoperf_lite import compat, spec
from algoperf_lite.errors import UserError
from algoperf_lite.native import NativeAdapter
from algoperf_lite.paths import search_path
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
class Submission:
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


def _identifiers(parts: Sequence[str]) -> bool:
    return all(p.isidentifier() for p in parts)


def _imported_names(file: Path) -> list[list[str]]:
    """The absolute dotted imports of ``file`` with at least two parts (``a.b``, ``a.b.c``)."""
    try:
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except (SyntaxError, ValueError):  # reported when the file is executed
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split("."))
    return [n for n in names if len(n) >= 2]


def package_root(file: Path) -> Path | None:
    """The folder a submission inside a package tree is imported from, as AlgoPerf imports
    it from its repository root (``python submission_runner.py
    --submission_path=submissions/<track>/<name>/submission.py`` imports
    ``submissions.<track>.<name>.submission``); None for a submission outside one.

    The root is where the submission's own imports of its tree resolve: for an import
    ``a.b...`` whose ``a`` is a folder above the file, the parent of that folder if
    ``a/b...`` is there (namespace packages, folders without ``__init__.py``, count:
    AlgoPerf's rolling-queue submissions sit in such folders). Failing that, the parent of
    the top of the chain of folders with ``__init__.py`` above the file."""
    file = file.resolve()
    folder = file.parent
    if not file.stem.isidentifier():
        return None
    roots = []
    for dotted in _imported_names(file):
        for above in (folder, *folder.parents):
            root = above.parent
            if (above.name == dotted[0] and _identifiers(dotted) and _identifiers(file.relative_to(root).parts[:-1])
                    and ((root.joinpath(*dotted)).is_dir() or root.joinpath(*dotted).with_suffix(".py").is_file())):
                roots.append(root)
    if roots:
        return min(roots, key=lambda r: len(r.parts))  # the highest: the whole tree resolves from it
    if not (folder / "__init__.py").is_file() or not folder.name.isidentifier():
        return None
    top = folder
    while (top.parent / "__init__.py").is_file() and top.parent.name.isidentifier() and top.parent != top:
        top = top.parent
    return top.parent


# A submission file is executed once per process; a package tree's modules by file, since
# another tree may later take the same package names in sys.modules.
_TREE_MODULES: dict[Path, ModuleType] = {}
_TREE_ROOTS: dict[str, Path] = {}  # top package name -> the root it was last imported from


def _package_in(module: ModuleType, folder: Path) -> bool:
    """Whether ``module``, already imported, is the package in ``folder`` (an installed
    copy's built-in submissions import ``algoperf_lite...`` from where it is installed)."""
    paths = list(getattr(module, "__path__", None) or [])
    return any(Path(p).resolve() == folder.resolve() for p in paths)


def _import_from_package_root(file: Path, root: Path) -> ModuleType:
    """``file`` imported under its package name from ``root``, with ``root`` on sys.path
    during the import, as AlgoPerf imports it from its repository root."""
    file = file.resolve()
    if file in _TREE_MODULES:
        return _TREE_MODULES[file]
    module_name = ".".join(file.relative_to(root).with_suffix("").parts)
    top = module_name.split(".")[0]
    if top in sys.modules and _TREE_ROOTS.get(top) != root and not _package_in(sys.modules[top], root / top):
        if top not in _TREE_ROOTS:  # an installed or built-in module, not a submission's tree
            raise UserError(f"submission {file} sits in a package tree named {top!r} (imported from {root}), "
                            f"which is also the name of the module {sys.modules[top]!r} already imported here; "
                            f"rename the tree's top folder")
        # Another tree of the same name (two checkouts): its submissions keep what they imported.
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]
    _TREE_ROOTS[top] = root
    # The root first, as AlgoPerf has it; then the submission's folder, as for any
    # submission here (some import their folder's modules by their bare names).
    entries = [str(root), str(file.parent)]
    with _import_errors(file, root, top):
        sys.path[:0] = entries
        try:
            module = importlib.import_module(module_name)
        finally:
            for entry in entries:
                sys.path.remove(entry)
    if Path(module.__file__).resolve() != file:  # cannot happen unless the tree shadows itself
        raise UserError(f"submission {file}: importing {module_name} from {root} gave {module.__file__}")
    _TREE_MODULES[file] = module
    return module


@contextmanager
def _import_errors(file: Path, root: Path | None = None, top: str | None = None) -> Iterator[None]:
    """The errors of importing a submission, as one UserError each."""
    try:
        yield
    except SyntaxError as e:
        raise UserError(f"submission {file}: syntax error in {e.filename}, line {e.lineno}: {e.msg}; fix the file") from e
    except ModuleNotFoundError as e:
        if top is not None and e.name and e.name.split(".")[0] == top:
            raise UserError(
                f"submission {file} imports {e.name!r}, which is not in its package tree: it is imported "
                f"from {root} (as from AlgoPerf's repository root), where there is no {e.name.replace('.', '/')}; "
                f"the submission expects another repository layout"
            ) from e
        raise UserError(
            f"submission {file} imports {e.name!r}, which is not installed; "
            f"install it (see the submission's requirements) and retry"
        ) from e


def _import_module(file: Path) -> ModuleType:
    compat.install()
    root = package_root(file)
    if root is not None:
        return _import_from_package_root(file, root)
    path = file.parent
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:8]
    module_name = f"algoperf_lite_submission_{path.name}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    module_spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(path))  # so that a submission can import its own helper files
    try:
        with _import_errors(file):
            module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path))
    sys.modules[module_name] = module
    return module


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
    try:
        point = json.loads(file.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"{file} is not valid JSON: {e}") from e
    if not isinstance(point, dict) or not point:
        raise UserError(f"{file} must hold one non-empty mapping of hyperparameters")
    return point


def _accepts_train_state(fn: Any) -> bool:
    try:
        return "train_state" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True


def native_submission(name: str, path: Path, source: Any, space: SearchSpace | None,
                      self_tuning_point: dict[str, Any] | None, module_file: Path | None = None) -> Submission:
    """A native submission as a :class:`Submission`, through the native adapter; ``source``
    is its module, or any object with ``make_optimizer`` (and optional ``schedule``,
    ``batch_size``)."""
    adapter = NativeAdapter(source)
    return Submission(
        name, path, "native", space,
        adapter.init_optimizer_state, adapter.update_params, adapter.get_batch_size,
        adapter.data_selection, None, self_tuning_point, module_file,
    )


# Submissions built from Python objects (algoperf_lite.api), by name: a config names one
# as "python:<name>". They live in this process only.
PYTHON_PREFIX = "python:"
_PYTHON_SUBMISSIONS: dict[str, Submission] = {}


def python_submission(make_optimizer: Any, name: str, search_space: Any = None, schedule: Any = None,
                      batch_size: int | None = None, self_tuning_point: dict[str, Any] | None = None) -> Submission:
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


def register_python_submission(submission: Submission) -> str:
    """Make ``submission`` loadable in this process under the name a config gives it,
    ``python:<name>`` (returned); one registered later under the same name replaces it."""
    _PYTHON_SUBMISSIONS[submission.name] = submission
    return PYTHON_PREFIX + submission.name


def _registered(name: str, search_space: str | None) -> Submission:
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
                    search_space: str | None = None) -> Submission:
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

    return Submission(
        name, path, form, space, module.init_optimizer_state, update_params,
        module.get_batch_size, module.data_selection, getattr(module, "prepare_for_eval", None),
        self_tuning_point, file,
    )
