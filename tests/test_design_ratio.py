"""bench/design_ratio.py measures how far a stored sample's ratio has moved, grouped by its age in learning steps."""

import importlib.util
from pathlib import Path

import numpy as np
from rollout import play

from happo_agent import HAPPOAgent, HAPPOConfig
from tennis_sim.environment import BRAIN_NAME, make_env

spec = importlib.util.spec_from_file_location("design_ratio", Path(__file__).resolve().parents[1] / "bench/design_ratio.py")
design_ratio = importlib.util.module_from_spec(spec)
spec.loader.exec_module(design_ratio)


def test_ratios_are_one_until_the_policy_learns_then_move_only_for_samples_older_than_the_update():
    # the design's sliding buffer in miniature: 3 matches, 12 steps kept, learning every 4 (each sample seen 3 times)
    cfg = HAPPOConfig.named("seed_design_big_std", num_matches=3, buffer_steps=12, update_every=4, minibatch_size=12,
                            actor_lr=1e-3, seed=4)  # fmt: skip
    agent, env = HAPPOAgent(cfg), make_env(num_matches=3, seed=4)
    states = play(agent, env, env.reset(train_mode=True)[BRAIN_NAME].vector_observations, 3)
    (fresh,) = design_ratio.ratios_by_age(agent)  # 3 steps x 3 matches x 2 rackets, all played by today's policy
    assert fresh.shape == (18,) and np.abs(fresh).max() < 1e-5  # the stored log-prob is the stored action's
    play(agent, env, states, 8)  # two learning steps; the third round lacks its last decision
    newest, middle, oldest = design_ratio.ratios_by_age(agent)
    assert newest.shape == (18,) and middle.shape == oldest.shape == (24,)
    assert np.abs(newest).max() < 1e-5  # collected since the last update: nothing moved
    assert np.median(middle) > 1e-3 and np.median(oldest) > 1e-3  # played before one and two updates
