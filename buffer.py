"""Rollout buffer with explicit axes (steps T, matches E, agents A, ...), GAE, and random minibatches."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class Minibatch(NamedTuple):
    """One random minibatch of B samples (a sample = one match at one step, both agents)."""

    states: torch.Tensor  # (B, A * obs) joint state for the critic
    obs: torch.Tensor  # (B, A, obs)
    actions: torch.Tensor  # (B, A, act), as sampled (before clipping to [-1, 1])
    old_log_prob: torch.Tensor  # (B, A), behaviour policy, joint over action dimensions
    advantages: torch.Tensor  # (B,) team advantage
    returns: torch.Tensor  # (B,) critic targets
    factor: torch.Tensor  # (B,) HAPPO's M for the agent being updated (1 for the first)


class EnvStep(NamedTuple):
    """One step of E matches, per match, from the environment's per-racket lists."""

    rewards: np.ndarray  # (E, A) float32
    next_obs: np.ndarray  # (E, A, obs) float32
    terminated: np.ndarray  # (E,) bool: the ball ended the rally (no bootstrap)
    truncated: np.ndarray  # (E,) bool: the decision limit ended it (bootstrap)


def split_env_step(rewards: list, next_states: np.ndarray, dones: list, max_reached: list, num_matches: int,
                   num_agents: int = 2, obs_size: int = 24) -> EnvStep:  # fmt: skip
    """rewards, dones, max_reached: 2E values, rows 2k and 2k+1 for match k (both rackets of a match agree).
    Raises ValueError for rewards or next states that are not finite numbers of the right count: one NaN would turn
    the critic and every later update into NaN."""
    E, A = num_matches, num_agents
    if max_reached is None:  # without it every timeout would be learnt as a lost ball, and none bootstrapped
        raise ValueError("max_reached is required: pass env_info.max_reached (the step limit's flags; all False for an "
                         "environment without one)")
    done = np.asarray(dones, dtype=bool).reshape(E, A).any(axis=1)
    timeout = np.asarray(max_reached, dtype=bool).reshape(E, A).any(1)
    with np.errstate(over="ignore"):
        rewards = np.asarray(rewards, dtype=np.float32)
        next_states = np.asarray(next_states, dtype=np.float32)
    if rewards.size != E * A or not np.isfinite(rewards).all():
        raise ValueError(f"rewards must be {E * A} finite numbers (2 per match), got {rewards.tolist()}")
    if next_states.size != E * A * obs_size or not np.isfinite(next_states).all():
        raise ValueError(f"next_states must be ({E * A}, {obs_size}) finite numbers, got shape {next_states.shape}"
                         f"{'' if not next_states.size else ' with NaN or inf' if not np.isfinite(next_states).all() else ''}")
    return EnvStep(rewards.reshape(E, A), next_states.reshape(E, A, obs_size), done & ~timeout, done & timeout)


def compute_gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray, terminated: np.ndarray,
                truncated: np.ndarray, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Generalised advantage estimation (Schulman et al. 2015), backward over the leading time axis.

    All inputs (T, ...). `next_values[t]` is the critic's value of the state after step t. A termination cuts the
    return (no bootstrap); a truncation and the end of the rollout bootstrap from `next_values` but stop the
    recursion. lam = 0 gives TD(0) advantages, lam = 1 Monte-Carlo returns minus the baseline.
    Returns (advantages, returns), each (T, ...), with returns = advantages + values.
    """
    alive = 1.0 - terminated.astype(np.float64)
    continues = alive * (1.0 - truncated.astype(np.float64))
    advantages = np.zeros(values.shape, dtype=np.float64)
    last = np.zeros(values.shape[1:], dtype=np.float64)
    for t in reversed(range(values.shape[0])):
        delta = rewards[t] + gamma * alive[t] * next_values[t] - values[t]
        last = delta + gamma * lam * continues[t] * last
        advantages[t] = last
    return advantages, advantages + values


class RolloutBuffer:
    """The last `capacity` steps of E matches, in time order.

    | array      | shape           |
    |------------|-----------------|
    | obs        | (T, E, A, obs)  |
    | actions    | (T, E, A, act)  |
    | log_prob   | (T, E, A)       |
    | values     | (T, E)          |  filled by the agent at learning time, from the current critic
    | rewards    | (T, E, A)       |
    | terminated | (T, E)          |
    | truncated  | (T, E)          |
    """

    ARRAYS = ("obs", "actions", "log_prob", "values", "rewards", "terminated", "truncated", "last_next_obs")

    def __init__(self, capacity: int, num_matches: int, num_agents: int = 2, obs_size: int = 24,
                 action_size: int = 2) -> None:  # fmt: skip
        T, E, A = capacity, num_matches, num_agents
        self.capacity, self.num_matches, self.num_agents = T, E, A
        self.obs = np.zeros((T, E, A, obs_size), dtype=np.float32)
        self.actions = np.zeros((T, E, A, action_size), dtype=np.float32)
        self.log_prob = np.zeros((T, E, A), dtype=np.float32)
        self.values = np.zeros((T, E), dtype=np.float32)
        self.rewards = np.zeros((T, E, A), dtype=np.float32)
        self.terminated = np.zeros((T, E), dtype=bool)
        self.truncated = np.zeros((T, E), dtype=bool)
        self.last_next_obs = np.zeros((E, A, obs_size), dtype=np.float32)  # the state after the newest step
        self.size = 0

    def add(self, obs: np.ndarray, actions: np.ndarray, log_prob: np.ndarray, rewards: np.ndarray,
            terminated: np.ndarray, truncated: np.ndarray, next_obs: np.ndarray) -> None:  # fmt: skip
        """Append one step of every match: obs (E, A, obs), actions (E, A, act), log_prob (E, A), rewards (E, A),
        terminated and truncated (E,), next_obs (E, A, obs)."""
        if self.size == self.capacity:
            raise RuntimeError(f"rollout buffer full ({self.capacity} steps): learn() or drop_oldest() first")
        t = self.size
        self.obs[t], self.actions[t], self.log_prob[t] = obs, actions, log_prob
        self.rewards[t], self.terminated[t], self.truncated[t] = rewards, terminated, truncated
        self.last_next_obs[:] = next_obs
        self.size += 1

    def drop_oldest(self, n: int) -> None:
        """Forget the oldest n steps (a sliding window over the stream of steps)."""
        n = min(n, self.size)
        keep = self.size - n
        for name in self.ARRAYS:
            if name != "last_next_obs":  # per match, not per step
                array = getattr(self, name)
                array[:keep] = array[n : self.size].copy()
        self.size = keep

    def next_obs(self) -> np.ndarray:
        """(T, E, A, obs): the state after each stored step (after a `done` it is already the next point's)."""
        return np.concatenate([self.obs[1 : self.size], self.last_next_obs[None]], axis=0)

    def team_rewards(self, normalize: bool) -> np.ndarray:
        """(T, E): the sum of both rackets' rewards (HAPPO assumes a shared reward), optionally divided by the std of
        the team rewards now in the buffer (a per-buffer scale, not a running one).

        Scaled, never centred: in an episodic task a subtracted mean becomes a constant reward on every step until the
        rally ends, which (with mostly-zero rewards) turns each quiet step of a long rally into a small penalty."""
        team = self.rewards[: self.size].sum(axis=2, dtype=np.float64)
        if normalize:
            team = team / (team.std() + 1e-8)
        return team


def minibatch_indices(num_samples: int, minibatch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A random split of range(num_samples) into minibatches of `minibatch_size` (the last may be shorter)."""
    order = rng.permutation(num_samples)
    return [order[i : i + minibatch_size] for i in range(0, num_samples, minibatch_size)]
