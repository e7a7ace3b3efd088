"""The course's scoring helpers against hand-worked numbers, and evaluate() on policies whose outcome is known."""

from types import SimpleNamespace

import numpy as np
import pytest

from evaluation import Evaluation, evaluate, evaluation_matches, first_solved, moving_average, timeout_recovery
from tennis_sim.core import TennisParams
from tennis_sim.environment import TennisEnvironment


def idle(states):  # rackets stand still: the serve falls, or at most bounces off a racket once
    return np.zeros((len(states), 2))


def test_moving_average_and_first_solved_by_hand():
    scores = [0.0, 1.0, 0.5, 0.5]
    assert moving_average(scores, window=2).tolist() == [0.0, 0.5, 0.75, 0.5]
    assert first_solved(scores, target=0.5, window=2) == 2  # the first full window reaching the target
    assert first_solved(scores, target=0.8, window=2) is None
    assert first_solved([0.0, 1.0, 1.0], target=1.0, window=2) == 3  # the window asked for, not the course's 100
    assert [evaluation_matches(n) for n in (100, 21, 7, 1)] == [20, 7, 7, 1]


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


def test_timeout_recovery_cuts_only_rallies_still_on_and_counts_those_that_reach_the_limit():
    # The serve needs 14 or more decisions to fall on idle rackets: cut after 2 decisions, every rally is still on.
    E = 5
    # After the cut the ball falls on (no new serve) and the idle rackets let it drop or bounce it once: no recovery.
    assert timeout_recovery(idle, TennisEnvironment(num_matches=E, seed=4), cut_after=2) == (0, E)
    # With a step limit of 4 decisions the resumed rally times out before the ball lands: all recovered.
    env = TennisEnvironment(num_matches=E, seed=4, params=TennisParams(max_ticks=20))
    assert timeout_recovery(idle, env, cut_after=2) == (E, E)
    # Cut after 60 decisions, when every idle rally has long ended: nothing to cut.
    assert timeout_recovery(idle, TennisEnvironment(num_matches=E, seed=4), cut_after=60) == (0, 0)


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
    assert row[2:] == ["0/6", "0/6", "0/0", "0/0"]  # 6 rallies, all began with a serve (none reached the step limit);
    # no first rally lasts to the earliest cut (150 decisions), so none is cut


def test_savable_search_finds_returns_of_a_serve_and_none_for_a_ball_about_to_land_out_of_reach():
    import importlib.util
    from pathlib import Path

    from tennis_sim.core import TennisCore

    spec = importlib.util.spec_from_file_location("savable", Path(__file__).resolve().parents[1] / "bench" / "savable.py")
    savable = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(savable)
    rng = np.random.default_rng(0)
    serve = TennisCore(1, seed=0)  # the ball falls from 6 m onto one racket's start zone: easy to return
    state = {name: value[0] for name, value in serve.state_dict().items()}
    assert savable.returns_found(state, tries=300, horizon=40, rng=rng) > 10  # 40-61 on seeds 0-2
    lost = TennisCore(1, seed=0)
    lost.ball[0] = (11.0, -2.6, 9.0, -9.0)  # touches the right floor at the next tick, next to the back wall
    state = {name: value[0] for name, value in lost.state_dict().items()}
    assert savable.returns_found(state, tries=300, horizon=40, rng=rng) == 0


class ScriptedEnv:
    """An environment that plays a script: per decision each match's (reward of racket 0, of racket 1, done, timeout),
    and whether the academy's limit ends every match. Its observations say when they were made: the decision's
    number, or 100 + the count of resets."""

    brain_names = ["B"]

    def __init__(self, script: list[list[tuple]], global_done_at: int | None = None) -> None:
        self.script, self.global_done_at, self.t, self.resets, self.global_done = script, global_done_at, 0, 0, False

    def _info(self, obs: float, rows: list[tuple]) -> dict:
        info = SimpleNamespace(vector_observations=np.full((2 * len(rows), 24), obs),
                               rewards=[r for row in rows for r in row[:2]],
                               local_done=[row[2] for row in rows for _ in range(2)],
                               max_reached=[row[3] for row in rows for _ in range(2)])  # fmt: skip
        return {"B": info}

    def reset(self, train_mode: bool = True) -> dict:
        self.resets += 1
        return self._info(100.0 + self.resets, [(0.0, 0.0, False, False)] * len(self.script[0]))

    def step(self, actions: np.ndarray) -> dict:
        rows = self.script[self.t]
        self.t += 1
        self.global_done = self.t == self.global_done_at
        return self._info(float(self.t), rows)


QUIET = (0.0, 0.0, False, False)


def test_evaluate_by_hand_on_a_scripted_match():
    """Match 0: a rally of two hits and a fault (racket sums 0.09 and 0.1: score 0.1), then one that times out
    (0.1, at the ceiling). Match 1 ends three rallies in a row with faults (scores 0, 0, 0); only its first two
    count. The academy's limit comes after decision 3: the next decision sees the reset's
    observations."""
    script = [[(0.1, 0.0, False, False), (0.0, -0.01, True, False)],
              [(0.0, 0.1, False, False), (0.0, -0.01, True, False)],
              [(-0.01, 0.0, True, False), (0.0, -0.01, True, False)],
              [(0.1, 0.0, False, False), QUIET],
              [(0.0, 0.0, True, True), QUIET],
              [QUIET, QUIET]]  # fmt: skip
    seen = []
    env = ScriptedEnv(script, global_done_at=3)
    result = evaluate(lambda s: seen.append(s[0, 0]) or np.zeros((4, 2)), env, episodes_per_match=2)
    assert result.scores.tolist() == pytest.approx([0.1, 0.1, 0.0, 0.0])
    assert result.full_length.tolist() == [False, True, False, False]
    assert result.in_flight.tolist() == [False, False, False, False]
    assert seen == [101.0, 1.0, 2.0, 102.0, 4.0] and env.resets == 2


def test_a_cut_rally_counts_once_it_reaches_the_step_limit_even_if_its_match_plays_on():
    """Two matches cut after one decision: match 0 reaches the limit at the next decision and keeps playing; match 1
    faults at the third. One of two cut rallies recovered; every decision asked the policy."""
    script = [[QUIET, QUIET], [(0.0, 0.0, True, True), QUIET], [QUIET, QUIET], [QUIET, (0.0, -0.01, True, False)]]
    seen = []
    recovered = timeout_recovery(lambda s: seen.append(s[0, 0]) or np.zeros((4, 2)), ScriptedEnv(script), cut_after=1)
    assert recovered == (1, 2) and seen == [101.0, 102.0, 2.0, 3.0]


def test_the_summary_names_both_kinds_of_start():
    result = Evaluation(np.array([2.7, 0.1, 2.6]), np.array([True, False, True]), np.array([False, False, True]))
    assert result.summary() == ("average 1.800 over 3 episodes (min 0.10, max 2.70); 2 of 3 at the ceiling (1 of 2 "
                                "that began with a serve, 1 of 1 that began with the ball in flight)")


def test_practice_matches_play_along_unscored():
    def reach(states):  # rackets that chase the ball: rallies of different lengths in different matches
        return np.clip(np.stack([states[:, -4] - states[:, -8], np.ones(len(states))], axis=1), -1, 1)

    with_practice = evaluate(reach, TennisEnvironment(num_matches=5, seed=4, practice_matches=2), episodes_per_match=3)
    without = evaluate(reach, TennisEnvironment(num_matches=3, seed=4), episodes_per_match=3)
    assert len(with_practice.scores) == 9
    for field in Evaluation._fields:  # the practice matches leave the scored ones as they were, and are not counted
        assert np.array_equal(getattr(with_practice, field), getattr(without, field)), field
    with pytest.raises(ValueError, match="all 2 matches of this environment are practice matches"):
        evaluate(reach, TennisEnvironment(num_matches=2, seed=4, practice_matches=2), episodes_per_match=1)
