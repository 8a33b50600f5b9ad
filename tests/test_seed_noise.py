"""scripts/seed_noise.py: times to candidate targets under two root seeds, read off curves
that never stop at a target."""

from __future__ import annotations

import argparse
import math

import pandas as pd
import pytest

from algoperf_lite.spec import Target
from conftest import load_script

seed_noise = load_script("seed_noise")


def test_targets_are_read_with_their_direction():
    assert seed_noise.parse_target("accuracy>=0.9445") == Target("accuracy", 0.9445, True)
    assert seed_noise.parse_target(" loss <= 0.4 ") == Target("loss", 0.4, False)
    with pytest.raises(argparse.ArgumentTypeError, match="METRIC>=VALUE"):
        seed_noise.parse_target("loss=0.4")


def test_the_first_eval_that_reaches_the_target_gives_the_time():
    evals = pd.DataFrame({"submission_time": [0.0, 1.0, 2.0, 3.0],
                          "validation/loss": [2.0, 0.5, 0.3, 0.35]})
    assert seed_noise.time_to_target(evals, Target("loss", 0.4, False)) == 2.0
    assert seed_noise.time_to_target(evals, Target("loss", 0.3, False)) == 2.0  # inclusive
    assert seed_noise.time_to_target(evals, Target("loss", 0.1, False)) == math.inf


def test_two_seeds_of_two_submissions_on_digits(capsys):
    assert seed_noise.main(["digits_logreg", "--steps", "20", "--eval-every", "10",
                            "--submissions", "adamw", "sgd_momentum",
                            "--targets", "loss<=100", "accuracy>=2"]) == 0
    easy, impossible = capsys.readouterr().out.splitlines()
    # Every run evaluates after step 1, so the easy target is reached there under both seeds.
    assert easy.startswith("digits_logreg validation loss <= 100: reached under both seeds by 2 of 2, "
                           "verdicts agree for 2; times differ by a median ")
    assert impossible == ("digits_logreg validation accuracy >= 2: reached under both seeds by 0 of 2, "
                          "verdicts agree for 2")
