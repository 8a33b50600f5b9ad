"""`score_command`: the ranked table on stdout, the three CSVs next to the input."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_scoring_fakes import make_results_dir

from algoperf_lite.scoring import ScoringError
from algoperf_lite.commands.score import score_command
from algoperf_lite.results import OUTPUT_FILES

INF = math.inf


def results(tmp_path: Path) -> Path:
    # 2 studies x 2 trials. Per study fastest: A (10, 20) -> median 15 on w1, (50, 40) -> 45 on w2;
    # B (30, 30) -> 30 on w1, w2 never reached -> inf.
    return make_results_dir(tmp_path, {
        ("A", "w1"): [[10.0, 12.0], [20.0, INF]], ("A", "w2"): [[50.0, 60.0], [INF, 40.0]],
        ("B", "w1"): [[30.0, 35.0], [30.0, INF]], ("B", "w2"): [[INF, INF], [INF, INF]],
    })


def test_score_results_dir_writes_tables(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert score_command(results(tmp_path), None, integral="exact", reference="B") == 0
    for name in OUTPUT_FILES:
        assert (tmp_path / name).is_file()
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert {"submission", "score", "rank", "score_low", "score_high", "metric"} <= set(scores.columns)
    # A: ratio 1 on both workloads -> 1. B: ratio 30/15 = 2 on w1 -> (4-2)/3/2 = 1/3, fails w2.
    assert dict(zip(scores["submission"], scores["score"])) == pytest.approx({"A": 1.0, "B": 1 / 3})
    # Speedup of A against B: only w1 reached by both, 30/15 = 2.
    assert scores.set_index("submission").loc["A", ["speedup", "speedup_workloads"]].tolist() == [2.0, 1]
    times = pd.read_csv(tmp_path / "time_to_target.csv").set_index(["submission", "workload"])
    assert times.loc[("A", "w1"), "time_to_target"] == 15 and times.loc[("B", "w2"), "time_to_target"] == INF
    profiles = pd.read_csv(tmp_path / "performance_profiles.csv")
    assert len(profiles) == 2 * 100
    out = capsys.readouterr().out
    assert "1.0000" in out and "0.3333" in out and "scores.csv" in out


def test_score_csv_writes_next_to_it(tmp_path: Path) -> None:
    csv = tmp_path / "sub" / "times.csv"
    csv.parent.mkdir()
    csv.write_text("submission,workload,study,trial,time_to_target,steps_to_target\nA,w,0,0,10,100\nB,w,0,0,20,50\n")
    assert score_command(None, csv, metric="steps") == 0
    scores = pd.read_csv(csv.parent / "scores.csv")
    assert scores["submission"].tolist() == ["B", "A"] and set(scores["metric"]) == {"steps"}


def test_names_are_not_rich_markup(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    csv = tmp_path / "times.csv"
    csv.write_text("submission,workload,study,trial,time_to_target\n[bold]x[/bold],w,0,0,10\n")
    score_command(None, csv)
    assert "[bold]x[/bold]" in capsys.readouterr().out


def test_bad_input_raises_scoring_error(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ScoringError, match="empty"):
        score_command(None, tmp_path / "empty.csv")
    own = tmp_path / "time_to_target.csv"  # a name the outputs use: never overwrite the input
    own.write_text("submission,workload,study,trial,time_to_target\nA,w,0,0,1\n")
    with pytest.raises(ScoringError, match="overwrite"):
        score_command(None, own)
    assert own.read_text().startswith("submission,")
    with pytest.raises(ScoringError, match="no finished trials"):
        score_command(tmp_path, None)


def test_warnings_print_and_strict_fails(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    csv = tmp_path / "times.csv"
    csv.write_text("submission,workload,study,trial,time_to_target\nA,w1,0,0,10\nA,w2,0,0,10\nB,w1,0,0,20\n")
    assert score_command(None, csv) == 0  # B never ran w2: warned, scored as a failure
    err = capsys.readouterr().err
    assert "warning: external_tuning: 1 submission(s) have no trials on some workloads" in err and "B: w2" in err
    with pytest.raises(ScoringError, match="B: w2"):
        score_command(None, csv, strict=True)


def test_scoring_and_report_need_no_torch() -> None:
    # Rescoring old results must work where torch is not installed.
    code = ("import sys, algoperf_lite.commands.score, algoperf_lite.commands.report; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
