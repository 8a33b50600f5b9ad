"""``algoperf-lite data download [NAME] [data_dir=DIR]``: fetch a dataset's files into the
data directory (the same one every command reads: :func:`algoperf_lite.paths.data_dir`).
Trials fetch what they miss themselves, in their untimed set-up; this command does it
ahead of time, e.g. on a login node with a network before a cluster study."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from algoperf_lite.console import stdout_console
from algoperf_lite.data import DATASETS, DownloadError, fetch
from algoperf_lite.errors import UserError
from algoperf_lite.paths import data_dir as resolve_data_dir


def data_command(name: str | None, overrides: list[str], console: Console | None = None) -> int:
    """``data download [NAME] [data_dir=DIR]``: :func:`download_command` with the data
    directory an override gives (the only one it takes)."""
    data_dir = None
    for override in overrides:
        key, sep, value = override.partition("=")
        if key != "data_dir" or not sep:
            raise UserError(f"bad argument {override!r}: `data download NAME` takes only data_dir=DIR")
        data_dir = value
    return download_command(name, data_dir, console or stdout_console())


def download_command(name: str | None, data_dir: str | None, console: Console) -> int:
    """Download ``name`` (a key of :data:`algoperf_lite.data.DATASETS`); without a name,
    list them. Returns the exit code: 0 done, 1 the download failed; bad input raises."""
    root = resolve_data_dir(data_dir)
    if name is None:
        console.print(f"datasets (into {escape(str(root))}):")
        for known, layout in DATASETS.items():
            console.print(f"  {known:<16} {escape(layout)}")
        return 0
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    try:
        fetch(name, root)
    except DownloadError as e:
        console.print(f"[red]error:[/red] could not download {name} ({escape(str(e))}). Offline? Put "
                      f"{escape(DATASETS[name])} under {escape(str(root))} by hand (copied from a machine that "
                      f"has them), or run this again when online.")
        return 1
    console.print(f"{name}: ready under {escape(str(root))} ({escape(DATASETS[name])})")
    return 0
