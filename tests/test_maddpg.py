"""MADDPG's pieces against hand computation, and a smoke run through the course API."""

import numpy as np
import pytest
import torch
from torch import nn

from maddpg_agent import MADDPGAgent, MADDPGConfig, td_target
from networks import OUNoise, soft_update
from replay_buffer import ReplayBuffer
from tennis_sim.environment import BRAIN_NAME, TennisEnvironment


def test_soft_update_moves_tau_of_the_way():
    target, source = nn.Linear(1, 1), nn.Linear(1, 1)
    with torch.no_grad():
        target.weight.fill_(2.0), target.bias.fill_(0.0), source.weight.fill_(6.0), source.bias.fill_(4.0)
    soft_update(target, source, 0.25)
    assert target.weight.item() == pytest.approx(3.0) and target.bias.item() == pytest.approx(1.0)


def test_td_target_bootstraps_unless_terminated():
    y = td_target(torch.tensor([1.0, 0.0]), torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0]), 0.5)
    assert y.tolist() == [2.0, 0.0]


def test_replay_buffer_wraps_and_samples_joint_transitions():
    buf = ReplayBuffer(capacity=5)
    for t in range(3):
        obs = np.full((2, 2, 24), t, np.float32)  # two matches per step
        buf.add(obs, np.zeros((2, 2, 2)), np.full((2, 2), t), obs + 1, np.array([0.0, 1.0]))
    assert len(buf) == 5 and buf.pos == 1
    assert buf.obs[:, 0, 0].tolist() == [2, 0, 1, 1, 2]  # slot 0 (t=0) was overwritten by t=2
    batch = buf.sample(7, np.random.default_rng(0))
    assert batch.obs.shape == (7, 2, 24) and batch.actions.shape == (7, 2, 2) and batch.rewards.shape == (7, 2)
    assert batch.next_obs.shape == (7, 2, 24) and batch.terminated.shape == (7,)
    assert torch.equal(batch.next_obs, batch.obs + 1)


def test_ou_noise_has_the_stationary_mean_and_variance_of_its_process():
    theta, sigma = 0.15, 0.2
    noise = OUNoise((20000,), np.random.default_rng(0), theta=theta, sigma=sigma)
    for _ in range(200):  # burn in: (1 - theta)^200 is negligible
        x = noise.sample()
    assert abs(x.mean()) < 0.01
    assert x.var() == pytest.approx(sigma**2 / (1 - (1 - theta) ** 2), rel=0.05)
    lagged = noise.sample()
    assert np.corrcoef(x, lagged)[0, 1] == pytest.approx(1 - theta, abs=0.03)  # temporally correlated


def test_maddpg_runs_through_the_course_api_and_round_trips(tmp_path):
    cfg = MADDPGConfig(num_matches=3, practice_matches=0, batch_size=32, buffer_size=1000, critic_hidden=(32,),
                       learn_start=0, update_every=2, gradient_steps=3)  # fmt: skip
    agent, env = MADDPGAgent(cfg), TennisEnvironment(num_matches=3, seed=0)
    states = env.reset()[BRAIN_NAME].vector_observations
    metrics = []
    for _ in range(60):
        actions = agent.act(states)
        assert actions.shape == (6, 2) and np.all(np.abs(actions) <= 1)
        info = env.step(actions)[BRAIN_NAME]
        m = agent.step(states, actions, info.rewards, info.vector_observations, info.local_done, info.max_reached)
        metrics += [m] if m else []
        states = info.vector_observations
    assert metrics and all(np.isfinite(v) for m in metrics for v in m.values())
    assert agent.noise_scale < 1.0
    assert agent.learn_steps == len(metrics) and len(metrics) == (60 - 11) // 2 + 1  # from 32 transitions, every 2nd
    adam_steps = agent.critic_optims[0].state[next(agent.critics[0].parameters())]["step"]
    assert int(adam_steps) == 3 * len(metrics)  # gradient_steps per learning step
    for bad in (np.zeros((3, 24)), np.full((2, 24), np.inf)):
        with pytest.raises(ValueError, match="24|NaN"):
            agent.act(bad)
    agent.save(tmp_path)
    loaded = MADDPGAgent.load(tmp_path)
    assert np.array_equal(agent.act(states, deterministic=True), loaded.act(states, deterministic=True))


def test_a_timed_out_step_is_not_stored_with_the_next_points_observation():
    agent = MADDPGAgent(MADDPGConfig(num_matches=2, batch_size=4, critic_hidden=(8,), obs_scale=1.0))
    states = np.zeros((4, 24))
    agent.step(states, np.zeros((4, 2)), [0.0] * 4, np.ones((4, 24)), [False, False, True, True], [False, False, True, True])
    assert len(agent.memory) == 1 and np.all(agent.memory.next_obs[0] == 1.0) and agent.memory.terminated[0] == 0.0


def test_the_noise_falls_linearly_over_its_match_steps_then_stays():
    agent = MADDPGAgent(MADDPGConfig(num_matches=2, noise_start=2.0, noise_end=0.5, noise_decay_steps=100))
    seen = []
    for _ in range(60):  # 2 match steps per vector step
        seen.append(agent.noise_scale)
        agent.step(np.zeros((4, 24)), np.zeros((4, 2)), [0.0] * 4, np.zeros((4, 24)), [False] * 4, [False] * 4)
    assert seen[0] == 2.0 and seen[25] == pytest.approx(2.0 - 1.5 * 50 / 100) and seen[50:] == [0.5] * 10


def test_observations_are_stored_and_seen_scaled():
    agent = MADDPGAgent(MADDPGConfig(num_matches=1, obs_scale=0.1, critic_hidden=(8,)))
    states = np.arange(48, dtype=np.float64).reshape(2, 24)
    agent.step(states, np.zeros((2, 2)), [0.0, 0.0], states + 10, [False, False], [False, False])
    assert np.allclose(agent.memory.obs[0], states * 0.1) and np.allclose(agent.memory.next_obs[0], (states + 10) * 0.1)
    with torch.no_grad():
        expected = agent.actors[1](torch.tensor(states[1] * 0.1, dtype=torch.float32)).numpy()
    assert np.allclose(agent.act(states, deterministic=True)[1], expected, atol=1e-6)
