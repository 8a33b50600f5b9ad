"""Importing code from files: the workload families' ``workload.py`` and the submissions
(``submission.py``, an AlgoPerf baseline file, a module inside a package tree). Each file
runs once per process under a module name of its own, registered in ``sys.modules`` (so
that what it defines pickles to a pool worker), with the folders it imports from on
``sys.path`` during the import only."""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from algoperf_lite.errors import UserError


def path_digest(file: Path) -> str:
    """8 hex digits of a file's path, for its module name: two folders may hold files of one name."""
    return hashlib.sha256(str(file).encode()).hexdigest()[:8]


def exec_file(file: Path, module_name: str, search: Sequence[Path] = ()) -> ModuleType:
    """Execute ``file`` as the module ``module_name``, with ``search`` on sys.path during the
    import; a file that raises leaves no module behind."""
    module_spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    entries = [str(p) for p in search]
    sys.path[:0] = entries
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    finally:
        for entry in entries:
            sys.path.remove(entry)
    return module


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


def import_from_package_root(file: Path, root: Path) -> ModuleType:
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
    with import_errors(file, root, top):
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
def import_errors(file: Path, root: Path | None = None, top: str | None = None) -> Iterator[None]:
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
