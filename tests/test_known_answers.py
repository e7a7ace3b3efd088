"""Known answers, small enough to check on paper, for what the learning rests on: HAPPO's loss, GAE with a fault and
with a timeout, the agent's advantages and critic targets, the value normaliser, KL early stopping, the Polyak steps,
the rollout's log-probabilities and MADDPG's target. Each expected number is worked out in the comment beside it."""

import copy

import numpy as np
import pytest
import torch
from rollout import play
from torch import nn

from buffer import RolloutBuffer, compute_gae
from happo_agent import HAPPOAgent, HAPPOConfig, ValueNormalizer, happo_surrogate_loss, rollout_batch
from maddpg_agent import MADDPGAgent, MADDPGConfig
from replay_buffer import ReplayBatch
from tennis_sim.environment import BRAIN_NAME, TennisEnvironment

SMALL = dict(num_matches=4, update_every=8, buffer_steps=8, minibatch_size=16, epochs=5, critic_hidden=(32,))
UNLEARNT = dict(SMALL, update_every=16, buffer_steps=16)  # a buffer to fill without a learning step


def store(agent: HAPPOAgent, steps: int, seed: int = 0) -> None:
    """Store `steps` steps of the simulator in the agent's buffer (fewer than update_every: no learning step)."""
    env = TennisEnvironment(num_matches=agent.config.num_matches, seed=seed)
    play(agent, env, env.reset()[BRAIN_NAME].vector_observations, steps)
    assert agent.learn_steps == 0 and agent.buffer.size == steps


def learn_once(agent: HAPPOAgent, seed: int = 0) -> dict:
    """Play the simulator until the agent's first learning step; return its metrics."""
    env = TennisEnvironment(num_matches=agent.config.num_matches, seed=seed)
    states = env.reset()[BRAIN_NAME].vector_observations
    while True:
        actions = agent.act(states)
        info = env.step(actions)[BRAIN_NAME]
        metrics = agent.step(states, actions, info.rewards, info.vector_observations, info.local_done, info.max_reached)
        states = info.vector_observations
        if metrics:
            return metrics


# ---------------------------------------------------------------------------------------------- HAPPO's loss
# Four samples, clip 0.2 (ratios clipped to [0.8, 1.2]):
#   ratio  advantage  M    min(r A, clip(r) A)             M x that
#   1.5     1         2    min(1.5, 1.2)   =  1.2 (clipped)   2.4
#   0.5    -1         1    min(-0.5, -0.8) = -0.8 (clipped)  -0.8
#   1.1     2         0.5  min(2.2, 2.2)   =  2.2             1.1
#   0.5     1         1    min(0.5, 0.8)   =  0.5 (own)       0.5
# loss = -(2.4 - 0.8 + 1.1 + 0.5) / 4 = -0.8. The gradient with respect to each log-probability (d ratio = ratio):
# 0 where the clipped term is the minimum, -M r A / 4 elsewhere: -0.5 * 1.1 * 2 / 4 = -0.275 and -0.5 / 4 = -0.125.
RATIOS, ADVANTAGES, FACTORS = [1.5, 0.5, 1.1, 0.5], [1.0, -1.0, 2.0, 1.0], [2.0, 1.0, 0.5, 1.0]


def test_happos_loss_clips_both_sides_and_m_weights_the_whole_clipped_surrogate():
    log_prob = torch.tensor(RATIOS).log().requires_grad_()
    loss = happo_surrogate_loss(log_prob, torch.zeros(4), torch.tensor(ADVANTAGES), torch.tensor(FACTORS), clip=0.2)
    assert loss.item() == pytest.approx(-0.8, abs=1e-6)
    loss.backward()
    assert log_prob.grad.tolist() == pytest.approx([0.0, 0.0, -0.275, -0.125], abs=1e-6)


def test_without_m_the_loss_is_ppos():
    # M = 1: -(1.2 - 0.8 + 2.2 + 0.5) / 4 = -0.775
    loss = happo_surrogate_loss(torch.tensor(RATIOS).log(), torch.zeros(4), torch.tensor(ADVANTAGES), torch.ones(4), 0.2)
    assert loss.item() == pytest.approx(-0.775, abs=1e-6)


def test_an_agent_whose_m_is_zero_does_not_move():
    """M enters the actor's step: with M = 0 on every sample the surrogate is flat, so Adam leaves the actor as it was
    (a loss without M, or with M on the unclipped term only, moves it)."""
    agent = HAPPOAgent(HAPPOConfig(**UNLEARNT))
    store(agent, 10)
    batch, _ = rollout_batch(agent)
    before = copy.deepcopy(agent.actors[0].state_dict())
    agent._update_actor(0, batch._replace(factor=torch.zeros_like(batch.factor)), epochs=1)
    assert all(torch.equal(before[k], v) for k, v in agent.actors[0].state_dict().items())
    agent._update_actor(0, batch, epochs=1)  # the same step with M = 1 moves it
    assert not all(torch.equal(before[k], v) for k, v in agent.actors[0].state_dict().items())


def test_the_entropy_bonus_widens_the_policy():
    """With M = 0 the only gradient is the entropy bonus's: a learnt log-std grows."""
    agent = HAPPOAgent(HAPPOConfig(**UNLEARNT, std_end=0.0, entropy_coef=0.1))
    store(agent, 10)
    batch, _ = rollout_batch(agent)
    before = agent.actors[0].log_std.detach().clone()
    agent._update_actor(0, batch._replace(factor=torch.zeros_like(batch.factor)), epochs=1)
    assert torch.all(agent.actors[0].log_std.detach() > before)


def test_the_clip_fraction_counts_the_ratios_beyond_the_clip():
    """Old log-probabilities log(1.5) below the current ones on half the samples: ratios 1.5 and 1, so half are past
    the clip of 0.2 at the first (and only) minibatch, measured before its step."""
    agent = HAPPOAgent(HAPPOConfig(**dict(UNLEARNT, minibatch_size=64)))
    store(agent, 10)
    batch, _ = rollout_batch(agent)
    old = torch.stack([agent._log_prob(k, batch.obs, batch.actions) for k in range(2)], dim=1)
    old[::2, 0] -= float(np.log(1.5))
    stats, _ = agent._update_actor(0, batch._replace(old_log_prob=old), epochs=1)
    assert stats["clip_frac"] == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------- GAE
# One match, three steps, gamma 0.9, lambda 0.5; values V = [1, 2, 3], next values [2, 3, 4], rewards [0, 0.1, -0.01].
#   the rally ends at step 2 by a fault (terminated): no bootstrap
#     A2 = -0.01 - 3 = -3.01; A1 = 0.1 + 0.9 * 3 - 2 + 0.45 * A2 = 0.8 - 1.3545 = -0.5545; A0 = 0.8 + 0.45 * A1 = 0.550475
#   it ends at step 2 by the step limit (truncated): bootstrap from next value 4
#     A2 = -0.01 + 0.9 * 4 - 3 = 0.59; A1 = 0.8 + 0.45 * 0.59 = 1.0655; A0 = 0.8 + 0.45 * 1.0655 = 1.279475
@pytest.mark.parametrize(("terminated", "truncated", "expected"), [
    ([0, 0, 1], [0, 0, 0], [0.550475, -0.5545, -3.01]),
    ([0, 0, 0], [0, 0, 1], [1.279475, 1.0655, 0.59]),
])  # fmt: skip
def test_gae_by_hand_for_a_fault_and_a_timeout(terminated, truncated, expected):
    values, next_values = np.array([[1.0], [2.0], [3.0]]), np.array([[2.0], [3.0], [4.0]])
    ends = np.array(terminated, bool)[:, None], np.array(truncated, bool)[:, None]
    advantages, returns = compute_gae(np.array([[0.0], [0.1], [-0.01]]), values, next_values, *ends, 0.9, 0.5)
    assert advantages[:, 0].tolist() == pytest.approx(expected, abs=1e-9)
    assert returns[:, 0].tolist() == pytest.approx((np.array(expected) + [1, 2, 3]).tolist(), abs=1e-9)


class FirstFeature(nn.Module):
    """A stand-in critic whose output is the joint state's first number (racket 0's first observation)."""

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return states[..., :1]


# Team rewards [0, 0.1, -0.01] divided by their std, sqrt(((-0.03)^2 + 0.07^2 + (-0.04)^2) / 3) = 0.0496655: [0, 2.013468,
# -0.201347]; then A2 = -0.201347 + 13.5 - 5 = 8.298653, A1 = 2.013468 - 0.3 = 1.713468, A0 = 1.7 + 0.45 * A1 = 2.471061.
@pytest.mark.parametrize(("normalize_rewards", "advantages"), [(False, [1.61, -0.2, 8.49]),
                                                               (True, [2.471061, 1.713468, 8.298653])])  # fmt: skip
def test_the_agents_advantages_and_critic_targets_by_hand(normalize_rewards, advantages):
    """One match, three stored steps, a timeout at step 1. The critic outputs the first number it sees, which is the
    first observation x scaled by 0.5, standardised by the value normaliser (mean 1, variance 4), so the agent's values
    are 2 (x / 2) + 1: x = 0, 2, 4 and the state after the last step x = 14 give V = [1, 3, 5] and 15. The timeout's
    next state is the next point's first (the environment reset itself), so step 1 bootstraps from its own value, 3,
    not from 5. Team rewards [0, 0.1, -0.01], gamma 0.9, lambda 0.5: A2 = -0.01 + 0.9 * 15 - 5 = 8.49; A1 = 0.1 + 0.9
    * 3 - 3 = -0.2 (the timeout stops the recursion); A0 = 0 + 0.9 * 3 - 1 + 0.45 * A1 = 1.61. Returns are A + V."""
    agent = HAPPOAgent(HAPPOConfig(num_matches=1, update_every=3, buffer_steps=3, gamma=0.9, gae_lambda=0.5,
                                   obs_scale=0.5, critic_hidden=(4,), normalize_rewards=normalize_rewards))  # fmt: skip
    agent.critic = FirstFeature()
    agent.value_norm.mean, agent.value_norm.var, agent.value_norm.count = 1.0, 4.0, 1e-4
    buf = agent.buffer = RolloutBuffer(3, 1)
    rewards = [[0.0, 0.0], [0.1, 0.0], [0.0, -0.01]]
    for t, x_next in enumerate([2.0, 4.0, 14.0]):
        obs, next_obs = np.zeros((1, 2, 24), np.float32), np.zeros((1, 2, 24), np.float32)
        obs[0, 0, 0], next_obs[0, 0, 0] = 2 * t, x_next
        buf.add(obs, np.zeros((1, 2, 2)), np.zeros((1, 2)), np.array([rewards[t]]), np.array([False]),
                np.array([t == 1]), next_obs)  # fmt: skip
    batch, metrics = rollout_batch(agent)
    values, returns = np.array([1.0, 3.0, 5.0]), np.array(advantages) + [1.0, 3.0, 5.0]
    assert batch.returns.tolist() == pytest.approx(returns.tolist(), abs=1e-5)
    raw = torch.tensor(advantages)
    assert batch.advantages.tolist() == pytest.approx(((raw - raw.mean()) / (raw.std() + 1e-5)).tolist(), abs=1e-6)
    assert batch.advantages.dtype == batch.returns.dtype == torch.float32  # as the networks compute
    assert buf.values[:3, 0].tolist() == pytest.approx(values.tolist())
    assert metrics["explained_variance"] == pytest.approx(1 - np.var(returns - values) / np.var(returns), abs=1e-5)
    # the normaliser has taken in the returns: from (mean 1, variance 4, count 1e-4) to about their own statistics
    assert agent.value_norm.mean == pytest.approx(np.mean(returns), abs=1e-3)
    assert agent.value_norm.var == pytest.approx(np.var(returns), abs=1e-2)


def test_the_critics_loss_is_half_the_mean_squared_error_to_the_normalised_returns():
    """value_loss is measured before each step: with one minibatch and one epoch it is 0.5 mean((V - z)^2), z the
    returns standardised by the value normaliser. The explained variance is 1 - var(returns - values) / var(returns),
    here with returns small enough (variance below 1) that its guard against a zero variance must not show."""
    agent = HAPPOAgent(HAPPOConfig(**dict(UNLEARNT, minibatch_size=64)))
    store(agent, 10)
    batch, metrics = rollout_batch(agent)
    returns, values = batch.returns.double().numpy(), agent.buffer.values[:10].reshape(-1).astype(np.float64)
    assert np.var(returns) < 1
    assert metrics["explained_variance"] == pytest.approx(1 - np.var(returns - values) / np.var(returns), rel=1e-3)
    agent.value_norm.mean, agent.value_norm.var = 0.5, 0.25  # a scale the loss must use
    with torch.no_grad():
        expected = 0.5 * float((agent.critic(batch.states).squeeze(-1) - (batch.returns - 0.5) / 0.5).pow(2).mean())
    assert agent._update_critic(batch, epochs=1)["value_loss"] == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------------------------------------- value normaliser
def test_value_normaliser_by_hand():
    """[1, 3] then [5, 7]: the running statistics of all four, mean 4 and variance (9 + 1 + 1 + 9) / 4 = 5 (the prior
    count 1e-4 moves them by less than 1e-3)."""
    norm = ValueNormalizer()
    assert norm.normalize(torch.tensor([0.3])).item() == pytest.approx(0.3)  # the identity until it has seen data
    norm.update(np.array([1.0, 3.0]))
    assert (norm.mean, norm.var) == pytest.approx((2.0, 1.0), abs=1e-3)
    norm.update(np.array([5.0, 7.0]))
    assert (norm.mean, norm.var, norm.count) == pytest.approx((4.0, 5.0, 4.0), abs=1e-3)
    x = torch.tensor([4.0, 4.0 + 5**0.5])
    assert norm.normalize(x).tolist() == pytest.approx([0.0, 1.0], abs=1e-3)
    assert norm.denormalize(norm.normalize(x)).tolist() == pytest.approx(x.tolist(), abs=1e-5)
    small = ValueNormalizer()
    small.mean, small.var = 1.0, 0.25  # a std of 0.5: the floor of 1e-8 on the variance must not reach it
    assert small.normalize(torch.tensor([2.0])).item() == pytest.approx(2.0)
    assert small.denormalize(torch.tensor([2.0])).item() == pytest.approx(2.0)


# ---------------------------------------------------------------------------------------------- KL early stopping
@pytest.mark.parametrize(("target_kl", "epochs"), [(1e-12, 1), (0.0, 5), (1e9, 5)])
def test_kl_early_stopping_stops_after_the_first_epoch_past_the_target(target_kl, epochs):
    """Any update has a KL above 1e-12, so each actor stops after its first epoch; 0 disables the stop; no update of
    a few samples reaches a KL of 1e9."""
    metrics = learn_once(HAPPOAgent(HAPPOConfig(**SMALL, target_kl=target_kl)))
    assert (metrics["epochs_0"], metrics["epochs_1"]) == (epochs, epochs)


# ---------------------------------------------------------------------------------------------- Polyak steps
def test_the_target_critic_moves_tau_of_the_way_to_the_trained_critic():
    agent = HAPPOAgent(HAPPOConfig(**SMALL, target_critic=True, target_tau=0.25))
    with torch.no_grad():  # a target that differs from the critic, so that the step is visible
        for p in agent.target.parameters():
            p.add_(0.5)
    before = copy.deepcopy(agent.target.state_dict())
    learn_once(agent)
    for name, trained in agent.critic.state_dict().items():
        assert torch.allclose(agent.target.state_dict()[name], before[name] + 0.25 * (trained - before[name]), atol=1e-6)


def test_the_critic_is_trained_toward_the_normalised_returns():
    agent = HAPPOAgent(HAPPOConfig(**UNLEARNT))
    store(agent, 10)
    batch, _ = rollout_batch(agent)
    targets = agent.value_norm.normalize(batch.returns)

    def loss() -> float:
        with torch.no_grad():
            return float(0.5 * (agent.critic(batch.states).squeeze(-1) - targets).pow(2).mean())

    first = loss()
    agent._update_critic(batch, epochs=5)
    assert loss() < 0.9 * first


# ---------------------------------------------------------------------------------------------- the rollout
def test_the_stored_log_probability_is_the_acting_actors_density_of_the_action():
    """With policy averaging the mean action plays the average, but training samples from the trained actors: the
    stored log-probability must be theirs, or PPO's ratio compares two different policies."""
    agent = HAPPOAgent(HAPPOConfig(**SMALL, policy_average=0.5))
    with torch.no_grad():
        for p in agent.averaged.parameters():
            p.add_(0.3)
    states = TennisEnvironment(num_matches=4, seed=0).reset()[BRAIN_NAME].vector_observations
    agent.act(states)
    obs, sampled, log_prob = agent._pending
    net_obs = torch.from_numpy(obs) * agent.config.obs_scale
    for k, actor in enumerate(agent.actors):
        with torch.no_grad():
            expected = actor.distribution(net_obs[:, k]).log_prob(torch.from_numpy(sampled[:, k]))
        assert np.allclose(log_prob[:, k], expected.numpy(), atol=1e-4)


# ---------------------------------------------------------------------------------------------- MADDPG's target
WEIGHTS = torch.linspace(0.1, 1.0, 52)  # distinct weights: the order of a critic's inputs shows in its output


class WeightedInputs(nn.Module):
    """A stand-in target critic: Q'(s', a') = joint . WEIGHTS, so the target actors' actions show in y."""

    def forward(self, joint: torch.Tensor) -> torch.Tensor:
        return (joint @ WEIGHTS)[:, None]


def test_maddpgs_critic_target_uses_the_target_actors_and_each_rackets_own_reward():
    """y_i = r_i + gamma (1 - terminated) Q'_i(s', mu'_0(s'_0), mu'_1(s'_1)) with the target actors mu'; the critic's
    loss is mean (Q_i(s, a) - y_i)^2, compared here with the number computed from the networks before the step."""
    agent = MADDPGAgent(MADDPGConfig(num_matches=1, critic_hidden=(8,), gamma=0.5))
    with torch.no_grad():
        for p in agent.target_actors.parameters():  # target actors that differ from the online ones
            p.mul_(-1.0)
    for critic in agent.target_critics:  # keeps its parameters, which the soft update still moves
        critic.forward = WeightedInputs().forward
    g = torch.Generator().manual_seed(0)
    batch = ReplayBatch(obs=torch.randn(3, 2, 24, generator=g), actions=torch.rand(3, 2, 2, generator=g) * 2 - 1,
                        rewards=torch.tensor([[0.1, 0.0], [0.0, -0.01], [0.1, 0.1]]),
                        next_obs=torch.randn(3, 2, 24, generator=g), terminated=torch.tensor([0.0, 1.0, 0.0]))  # fmt: skip
    with torch.no_grad():
        next_actions = torch.stack([agent.target_actors[k](batch.next_obs[:, k]) for k in range(2)], dim=1)
        next_q = torch.cat([batch.next_obs.flatten(1), next_actions.flatten(1)], dim=1) @ WEIGHTS  # (3,)
        joint = torch.cat([batch.obs.flatten(1), batch.actions.flatten(1)], dim=1)
        expected = [float((agent.critics[i](joint).squeeze(-1) - (batch.rewards[:, i] + 0.5 * (1 - batch.terminated)
                                                                  * next_q)).pow(2).mean()) for i in range(2)]  # fmt: skip
    metrics = agent.gradient_step(batch)
    assert [metrics["critic_loss_0"], metrics["critic_loss_1"]] == pytest.approx(expected, rel=1e-5)
