"""MADDPG's pieces against hand computation, and a smoke run through the course API."""

import json

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
    states = np.arange(48, dtype=np.float64).reshape(2, 24) / 7  # not float32 numbers: the cast must come first
    agent.step(states, np.zeros((2, 2)), [0.0, 0.0], states + 10, [False, False], [False, False])
    scale = np.float32(0.1)  # in float32, as the networks compute: the exact numbers stored
    assert np.array_equal(agent.memory.obs[0], states.astype(np.float32) * scale)
    assert np.array_equal(agent.memory.next_obs[0], (states + 10).astype(np.float32) * scale)
    with torch.no_grad():
        expected = agent.actors[1](torch.tensor(states[1] * 0.1, dtype=torch.float32)).numpy()
    assert np.allclose(agent.act(states, deterministic=True)[1], expected, atol=1e-6)


def weighted(critic: nn.Module) -> None:
    """Make `critic` a stand-in, Q(joint) = joint . w with fixed, distinct weights (the order of its inputs shows in
    Q); its parameters stay in the graph, at no weight, so that its optimiser's step still runs."""
    w = torch.linspace(0.1, 1.0, 52)
    critic.forward = lambda joint: (joint @ w)[:, None] + 0.0 * sum(p.sum() for p in critic.parameters())


def small_batch(seed: int = 0):
    from replay_buffer import ReplayBatch

    g = torch.Generator().manual_seed(seed)
    return ReplayBatch(obs=torch.randn(3, 2, 24, generator=g), actions=torch.rand(3, 2, 2, generator=g) * 2 - 1,
                       rewards=torch.tensor([[0.1, 0.0], [0.0, -0.01], [0.1, 0.1]]),
                       next_obs=torch.randn(3, 2, 24, generator=g), terminated=torch.tensor([0.0, 1.0, 0.0]))  # fmt: skip


def test_each_actor_climbs_its_own_critic_with_its_own_action_and_the_others_stored_one():
    """actor_loss_i = -mean Q_i(s, a) where a holds actor i's action for racket i and the stored action for the other;
    with Q_i the stand-in above, each number is computed here from the actors before the step."""
    agent = MADDPGAgent(MADDPGConfig(num_matches=1, critic_hidden=(8,)))
    for critic in agent.critics:
        weighted(critic)
    batch = small_batch()
    expected = []
    with torch.no_grad():
        for i in range(2):
            actions = batch.actions.clone()
            actions[:, i] = agent.actors[i](batch.obs[:, i])
            joint = torch.cat([batch.obs.flatten(1), actions.flatten(1)], dim=1)
            expected.append(-float(agent.critics[i](joint).mean()))
    metrics = agent.gradient_step(batch)
    assert [metrics["actor_loss_0"], metrics["actor_loss_1"]] == pytest.approx(expected, rel=1e-5)


def test_the_config_reaches_the_networks_optimisers_and_noise_and_targets_are_separate_copies():
    cfg = MADDPGConfig(num_matches=2, critic_hidden=(16, 8), actor_lr=1e-4, critic_lr=2e-3, ou_theta=0.3, ou_sigma=0.05)
    agent = MADDPGAgent(cfg)
    assert [m.out_features for m in agent.critics[1].body if isinstance(m, nn.Linear)] == [16, 8, 1]
    assert agent.critics[1](torch.zeros(3, 52)).shape == (3, 1)
    assert [o.param_groups[0]["lr"] for o in agent.actor_optims + agent.critic_optims] == [1e-4, 1e-4, 2e-3, 2e-3]
    for online, target in ((agent.actors, agent.target_actors), (agent.critics, agent.target_critics)):
        assert all(o is not t and not t.requires_grad for o, t in zip(online.parameters(), target.parameters()))
    agent.act(np.zeros((4, 24)))
    assert (agent.noise.theta, agent.noise.sigma) == (0.3, 0.05)
    assert MADDPGAgent().config == MADDPGConfig()


def test_a_training_action_is_the_actors_plus_the_scaled_ou_noise_which_carries_on_and_restarts_with_a_rally():
    agent = MADDPGAgent(MADDPGConfig(num_matches=2, noise_start=0.5, seed=3))
    states = np.random.default_rng(0).normal(size=(4, 24))
    deterministic = agent.act(states, deterministic=True)
    actions = agent.act(states)
    noise = agent.noise
    assert np.allclose(actions, np.clip(deterministic + 0.5 * agent.noise.state.reshape(4, 2), -1, 1))
    agent.act(states)
    assert agent.noise is noise  # the same process goes on from step to step
    before = noise.state.copy()
    agent.step(states, actions, [0.0, -0.01, 0.0, 0.0], states, [True, True, False, False], [False] * 4)
    assert np.array_equal(noise.state[0], np.zeros((2, 2))) and np.array_equal(noise.state[1], before[1])
    again = MADDPGAgent(MADDPGConfig(num_matches=2, noise_start=0.5, seed=3))
    again.act(states, deterministic=True)
    assert np.array_equal(again.act(states), actions)  # the same seed, the same noise


def test_learning_starts_once_learn_start_transitions_are_stored_on_the_update_cadence(monkeypatch):
    """One match, a transition per step: learn_start 6 and update_every 2 give the first learning step at step 6; the
    critics' gradients are clipped to max_grad_norm."""
    clipped = []
    monkeypatch.setattr(nn.utils, "clip_grad_norm_", lambda params, max_norm: clipped.append(max_norm))
    agent = MADDPGAgent(MADDPGConfig(num_matches=1, batch_size=4, learn_start=6, update_every=2, gradient_steps=1,
                                     critic_hidden=(8,), max_grad_norm=1.0))  # fmt: skip
    learnt = []
    for step in range(1, 9):
        states = np.full((2, 24), 0.1 * step)
        agent.act(states)
        metrics = agent.step(states, np.zeros((2, 2)), [0.0, 0.0], states, [False, False], [False, False])
        learnt += [step] if metrics else []
    assert learnt == [6, 8] and agent.steps == 8 and agent.learn_steps == 2
    assert set(metrics) == {"critic_loss_0", "actor_loss_0", "critic_loss_1", "actor_loss_1", "noise_scale"}
    assert clipped == [1.0, 1.0] * 2
    clipped.clear()
    unclipped = MADDPGAgent(MADDPGConfig(num_matches=1, batch_size=4, learn_start=0, update_every=1, gradient_steps=1,
                                         critic_hidden=(8,), max_grad_norm=0.0))  # fmt: skip
    for _ in range(4):
        unclipped.act(states)
        unclipped.step(states, np.zeros((2, 2)), [0.0, 0.0], states, [False, False], [False, False])
    assert unclipped.learn_steps == 1 and clipped == []  # 0: no clipping at all


def test_a_maddpg_checkpoint_loads_with_overrides_and_refuses_other_networks_by_name(tmp_path):
    MADDPGAgent(MADDPGConfig(num_matches=1, critic_hidden=(8,))).save(tmp_path)
    assert MADDPGAgent.load(tmp_path, seed=5).config.seed == 5
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'maddpg.pt'} does not fit this agent's networks: "):
        MADDPGAgent.load(tmp_path, critic_hidden=(16,))
    state = torch.load(tmp_path / "maddpg.pt", weights_only=True)
    state.pop("sha256")  # written so on purpose, without a checksum
    state["config_json"] = json.dumps(dict(json.loads(state["config_json"]), tau=5.0))
    torch.save(state, tmp_path / "maddpg.pt")
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'maddpg.pt'}: .*tau=5.0"):
        MADDPGAgent.load(tmp_path)


def test_the_replay_buffer_stores_float32_and_samples_even_its_one_transition():
    buf = ReplayBuffer(4, 2, 24, 2)
    buf.add(np.ones((1, 2, 24)), np.ones((1, 2, 2)), np.array([[0.1, -0.01]]), np.ones((1, 2, 24)), np.array([1.0]))
    batch = buf.sample(3, np.random.default_rng(0))
    assert all(t.dtype == torch.float32 for t in batch)
    assert np.allclose(batch.rewards.numpy(), [[0.1, -0.01]] * 3) and batch.terminated.tolist() == [1.0] * 3


def test_ou_noise_by_hand_from_its_defaults():
    """theta 0.15 and sigma 0.2 by default (DDPG's values): from x = 1, x' = 1 + 0.15 (0 - 1) + 0.2 z."""
    noise, z = OUNoise((3,), np.random.default_rng(5)), np.random.default_rng(5).standard_normal(3)
    noise.state = np.ones(3)
    assert noise.sample() == pytest.approx(1 - 0.15 + 0.2 * z)


def test_a_replay_buffer_too_small_to_ever_learn_is_refused():
    """buffer_size 100 under batch_size 128 trained a whole budget with no learning step and said only "did not
    learn": refused when the config is built, naming the fields."""
    with pytest.raises(ValueError, match="buffer_size=100 must hold at least batch_size=128 and learn_start=10000"):
        MADDPGConfig(buffer_size=100)
    assert MADDPGConfig(buffer_size=128, learn_start=128).buffer_size == 128
