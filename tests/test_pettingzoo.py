"""The PettingZoo adapter passes PettingZoo's own API and seed tests."""

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the PettingZoo adapter is optional: pip install pettingzoo")
from pettingzoo.test import parallel_api_test, parallel_seed_test  # noqa: E402

from tennis_sim.pettingzoo_env import TennisParallelEnv  # noqa: E402


def test_parallel_api():
    parallel_api_test(TennisParallelEnv(seed=0), num_cycles=300)


def test_parallel_seed():
    parallel_seed_test(TennisParallelEnv, num_cycles=100)


def test_state_joins_both_observations_and_a_rally_ends_for_both():
    env = TennisParallelEnv(seed=1)
    obs, _ = env.reset(seed=1)
    assert np.array_equal(env.state(), np.concatenate([obs["player_0"], obs["player_1"]]))
    for _ in range(30):
        obs, rewards, terms, truncs, _ = env.step({a: np.array([-1.0, 0.0]) for a in env.agents})
        if not env.agents:
            break
    assert all(terms.values()) and not any(truncs.values()) and sorted(rewards.values())[0] == pytest.approx(-0.01)


@pytest.mark.parametrize(("action", "says"), [(np.array([0.0, np.nan]), "finite"), (np.zeros(3), "2 finite"),
                                              ("left", "not numbers")])  # fmt: skip
def test_a_bad_action_names_its_agent(action, says):
    env = TennisParallelEnv(seed=1)
    env.reset(seed=1)
    with pytest.raises(ValueError, match=f"action of player_1 .*{says}"):
        env.step({"player_0": np.zeros(2), "player_1": action})
