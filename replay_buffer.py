"""A uniform experience-replay ring buffer of joint transitions (both rackets at once), for MADDPG."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class ReplayBatch(NamedTuple):
    """B transitions drawn uniformly."""

    obs: torch.Tensor  # (B, A, obs)
    actions: torch.Tensor  # (B, A, act), as sent to the environment
    rewards: torch.Tensor  # (B, A), each racket's own reward
    next_obs: torch.Tensor  # (B, A, obs)
    terminated: torch.Tensor  # (B,) 1.0 where the rally ended by a ball event (no bootstrap)


class ReplayBuffer:
    """The last `capacity` transitions; `add` takes one step of E matches at once."""

    def __init__(self, capacity: int, num_agents: int = 2, obs_size: int = 24, action_size: int = 2) -> None:
        N, A = capacity, num_agents
        self.capacity = N
        self.obs = np.zeros((N, A, obs_size), dtype=np.float32)
        self.actions = np.zeros((N, A, action_size), dtype=np.float32)
        self.rewards = np.zeros((N, A), dtype=np.float32)
        self.next_obs = np.zeros((N, A, obs_size), dtype=np.float32)
        self.terminated = np.zeros(N, dtype=np.float32)
        self.pos, self.size = 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
            terminated: np.ndarray) -> None:  # fmt: skip
        """obs, next_obs (E, A, obs); actions (E, A, act); rewards (E, A); terminated (E,)."""
        idx = (self.pos + np.arange(len(obs))) % self.capacity
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.terminated[idx] = next_obs, terminated
        self.pos = int(idx[-1] + 1) % self.capacity
        self.size = min(self.size + len(obs), self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBatch:
        idx = rng.integers(0, self.size, batch_size)
        return ReplayBatch(*(torch.from_numpy(a[idx]) for a in (self.obs, self.actions, self.rewards, self.next_obs,
                                                                   self.terminated)))  # fmt: skip
