"""A submission inside a package tree (AlgoPerf's repository layout,
``submissions/<track>/<name>/submission.py``) loads as AlgoPerf loads it from the
repository root: under its package name, its imports of the tree resolving."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from algoperf_lite.configs import load_config
from algoperf_lite.errors import UserError
from algoperf_lite.trial import importing as submissions_module
from algoperf_lite.trial.run import prepare_trial, run_prepared
from algoperf_lite.trial.submissions import load_submission, package_root

HELPERS = """
import torch

LEARNING_RATE = {lr}


def make(model, hp, workload):
    return torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
"""


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def tree(repo: Path, packages: tuple[str, ...], name: str = "my_algo", lr: float = 0.1,
         imports: str = "from submissions.external_tuning.my_algo.helpers import make") -> Path:
    """``repo/submissions/external_tuning/<name>/`` with ``__init__.py`` in the folders of
    ``packages`` (paths relative to repo), a helper module, and a native submission.py
    that imports it by the package path."""
    folder = repo / "submissions" / "external_tuning" / name
    for package in packages:
        write(repo / package / "__init__.py")
    write(folder / "helpers.py", HELPERS.format(lr=lr))
    write(folder / "tuning_search_space.json", '{"learning_rate": {"feasible_points": [0.1]}}')
    return write(folder / "submission.py", f"""
        {imports}
        from . import helpers  # a relative import works too: the module has its package


        def make_optimizer(model, hp, workload):
            assert helpers.make is make  # one helpers module, whichever way it was imported
            return make(model, hp, workload)
        """)


@pytest.fixture(autouse=True)
def forget_trees():
    """Each test imports its own trees: drop what it imported under the package names."""
    yield
    for name in [n for n in sys.modules if n == "submissions" or n.startswith("submissions.")]:
        del sys.modules[name]
    submissions_module._TREE_MODULES.clear()
    submissions_module._TREE_ROOTS.clear()


def test_a_submission_in_a_package_tree_imports_its_modules_by_the_package_path_and_trains(tmp_path):
    repo = tmp_path / "repo"
    file = tree(repo, ("submissions", "submissions/external_tuning", "submissions/external_tuning/my_algo"))
    path_before = list(sys.path)
    assert package_root(file) == repo.resolve()

    submission = load_submission(str(file.parent))
    module = sys.modules["submissions.external_tuning.my_algo.submission"]  # its name from the root
    assert Path(module.__file__) == file.resolve() and submission.name == "my_algo"
    assert sys.modules["submissions.external_tuning.my_algo.helpers"].LEARNING_RATE == 0.1
    assert sys.path == path_before  # the root was on sys.path only during the import

    trial = prepare_trial(load_config("run", ["device=cpu", f"submission={file.parent}", "budget_scale=1",
                                              "max_steps=5", "quiet=true", f"results_dir={tmp_path / 'results'}"]))
    outcome = run_prepared(trial)
    assert outcome.status == "training_complete" and outcome.steps == 5


def test_namespace_folders_above_the_submission_count_as_in_algoperfs_rolling_queue(tmp_path):
    # submissions_algorithms/submissions/self_tuning/<name>/ has __init__.py, the folders above it none.
    repo = tmp_path / "submissions_algorithms"
    file = tree(repo, ("submissions/external_tuning/my_algo",))
    assert package_root(file) == repo.resolve()  # found from the submission's own import
    load_submission(str(file))
    assert "submissions.external_tuning.my_algo.submission" in sys.modules


def test_without_an_import_of_the_tree_the_top_of_the_init_chain_decides(tmp_path):
    repo = tmp_path / "repo"
    file = tree(repo, ("submissions/external_tuning", "submissions/external_tuning/my_algo"),
                imports="from submissions_elsewhere.helpers import make  # not in this tree")
    assert package_root(file) == (repo / "submissions").resolve()
    flat = write(tmp_path / "flat" / "submission.py", "import torch.nn.functional\n")
    assert package_root(flat) is None  # outside any package tree: loaded as before


def test_an_import_of_the_tree_that_is_not_there_names_the_module_and_the_root(tmp_path):
    repo = tmp_path / "repo"
    file = tree(repo, ("submissions", "submissions/external_tuning", "submissions/external_tuning/my_algo"),
                imports="from submissions.v0_5.team_21.my_algo.helpers import make  # another layout")
    with pytest.raises(UserError) as e:
        load_submission(str(file))
    message = str(e.value)
    assert "imports 'submissions.v0_5', which is not in its package tree" in message
    assert f"imported from {repo.resolve()}" in message


def test_two_trees_with_the_same_package_names_each_load_their_own_modules(tmp_path):
    packages = ("submissions", "submissions/external_tuning", "submissions/external_tuning/my_algo")
    first = load_submission(str(tree(tmp_path / "one", packages, lr=0.1)))
    second = load_submission(str(tree(tmp_path / "two", packages, lr=0.2)))
    again = load_submission(str(tmp_path / "one" / "submissions" / "external_tuning" / "my_algo"))

    def lr(submission):
        import types

        import torch

        model = torch.nn.Linear(2, 2)
        state = submission.init_optimizer_state(types.SimpleNamespace(step_hint=10), model, None, None, None)
        return state["optimizer"].param_groups[0]["lr"]

    assert (lr(first), lr(second), lr(again)) == (0.1, 0.2, 0.1)


def test_a_tree_whose_top_package_is_imported_already_from_there_loads_through_it(tmp_path, monkeypatch):
    # As an installed copy's built-in submissions: site-packages/algoperf_lite/builtin/submissions/
    # adamw/submission.py imports algoperf_lite.native, and algoperf_lite is imported from there.
    site = tmp_path / "site"
    write(site / "pkgtree_lib" / "__init__.py")
    write(site / "pkgtree_lib" / "native.py", HELPERS.format(lr=0.3))
    file = write(site / "pkgtree_lib" / "builtin" / "submissions" / "my_algo" / "submission.py",
                 "from pkgtree_lib.native import make as make_optimizer\n")
    monkeypatch.syspath_prepend(str(site))
    import pkgtree_lib  # noqa: F401

    try:
        load_submission(str(file))
        assert "pkgtree_lib.builtin.submissions.my_algo.submission" in sys.modules
    finally:
        for name in [n for n in sys.modules if n.startswith("pkgtree_lib")]:
            del sys.modules[name]


def test_a_tree_named_as_a_module_imported_from_elsewhere_is_refused(tmp_path):
    repo = tmp_path / "repo"
    write(repo / "json" / "__init__.py")
    file = write(repo / "json" / "my_algo" / "__init__.py").parent / "submission.py"
    write(file, "def make_optimizer(model, hp, workload):\n    raise AssertionError\n")
    with pytest.raises(UserError, match="package tree named 'json' .* rename the tree's top folder"):
        load_submission(str(file))
    import json

    assert json.dumps([1]) == "[1]"  # the real one is untouched
