"""The course's scoring helpers against hand-worked numbers, and evaluate() on policies whose outcome is known."""

import numpy as np
import pytest

from evaluation import evaluate, first_solved, moving_average
from tennis_core import TennisParams
from tennis_env import TennisEnvironment


def idle(states):  # rackets stand still: the serve falls, or at most bounces off a racket once
    return np.zeros((len(states), 2))


def test_moving_average_and_first_solved_by_hand():
    scores = [0.0, 1.0, 0.5, 0.5]
    assert moving_average(scores, window=2).tolist() == [0.0, 0.5, 0.75, 0.5]
    assert first_solved(scores, target=0.5, window=2) == 2  # the first full window reaching the target
    assert first_solved(scores, target=0.8, window=2) is None


def test_idle_rackets_get_short_rallies_and_never_reach_the_ceiling():
    result = evaluate(idle, TennisEnvironment(num_matches=3, seed=1), episodes_per_match=2)
    assert result.scores.shape == (6,) and result.full_length.shape == (6,)
    assert np.all((result.scores >= 0.0) & (result.scores < 0.1))  # the max over rackets: a dropped serve scores 0
    assert not result.full_length.any() and not result.in_flight.any()


@pytest.mark.parametrize("max_ticks", [20, 50])
def test_an_episode_cut_by_the_step_limit_counts_as_at_the_ceiling(max_ticks):
    # The serve needs 14 or more decisions to fall: a limit of 4 or 10 decisions ends every first rally.
    env = TennisEnvironment(num_matches=4, seed=2, params=TennisParams(max_ticks=max_ticks))
    result = evaluate(idle, env, episodes_per_match=1)
    assert result.full_length.all() and len(result.scores) == 4
    assert "4 of 4 at the ceiling" in result.summary()


def test_a_rally_after_a_timeout_is_flagged_as_begun_in_flight():
    # Every rally times out after 4 decisions, and the next one goes on with the same ball (no new serve).
    env = TennisEnvironment(num_matches=2, seed=3, params=TennisParams(max_ticks=20))
    result = evaluate(idle, env, episodes_per_match=3)
    assert result.in_flight.tolist() == [False, True, True] * 2
    assert "2 of 2 that began with a serve" in result.summary()
    assert result.ceiling_by_start() == ((2, 2), (4, 4))
    with pytest.raises(ValueError, match="episodes_per_match"):
        evaluate(idle, env, episodes_per_match=0)


def test_bench_evaluate_reports_every_rally_of_a_saved_agent(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from happo_agent import HAPPOAgent, HAPPOConfig

    HAPPOAgent(HAPPOConfig(seed=1)).save(tmp_path / "agent")  # untrained: short rallies, none at the ceiling
    script = Path(__file__).resolve().parents[1] / "bench" / "evaluate.py"
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "agent"), "--matches", "3", "--rallies", "2"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    row = next(line for line in out.splitlines() if line.startswith(str(tmp_path / "agent"))).split()
    assert row[2:] == ["0/6", "0/6", "0/0"]  # 6 rallies, all began with a serve (none reached the step limit)
