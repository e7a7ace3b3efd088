"""bench/solve.py's summary of a run: which evaluation misses came where no check looks."""

import importlib.util
from pathlib import Path

import numpy as np

from evaluation import evaluate
from tennis_sim.core import TennisParams
from tennis_sim.environment import TennisEnvironment

spec = importlib.util.spec_from_file_location("solve", Path(__file__).resolve().parents[1] / "bench/solve.py")
solve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(solve)


def test_late_misses_are_those_of_a_matchs_third_and_later_rallies_in_the_notebooks_order():
    # As the notebook evaluates 60 episodes: 20 matches, 3 episodes each. Every rally times out after 4 decisions,
    # before the ball falls, so every rally but a match's first begins in flight: evaluate()'s order, match by match.
    env = TennisEnvironment(num_matches=20, seed=3, params=TennisParams(max_ticks=20))
    result = evaluate(lambda s: np.zeros((len(s), 2)), env, episodes_per_match=3)
    assert result.full_length.all() and result.in_flight.tolist() == [k % 3 >= 1 for k in range(60)]
    missed_in_flight = dict(scores=result.scores.tolist(), full_length=(~result.in_flight).tolist())
    assert solve._late_fails(missed_in_flight) == 20  # the third rally of each match; not the second
    assert solve._late_fails(dict(scores=[0.0] * 100, full_length=[True] * 100)) == 0
    assert solve._late_fails(dict(scores=[0.0] * 23, full_length=[False] * 23)) == 21  # 23 (prime): one match


def test_epochs_to_solve_averages_the_learning_steps_before_the_solve():
    h = {"config": {"update_every": 10, "num_matches": 3, "practice_matches": 1}, "epochs": [5, 3, 1, 1, 1]}
    assert solve.epochs_to_solve(h, 80) == 4.0  # 40 match steps per learning step: the first two came before the solve
    assert solve.epochs_to_solve(h, None) is None and solve.epochs_to_solve({"config": {}, "epochs": []}, 80) is None
