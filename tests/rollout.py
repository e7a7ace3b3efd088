"""The course's interaction loop for tests: an agent plays a number of decisions in a TennisEnvironment."""

from __future__ import annotations

import numpy as np

from tennis_sim.environment import BRAIN_NAME


def play(agent, env, states: np.ndarray, steps: int, rewards: list | None = None) -> np.ndarray:
    """Act, step and store `steps` times from `states`; append each step's rewards to `rewards` if given. Returns the
    last observations: states (2E, 24)."""
    for _ in range(steps):
        actions = agent.act(states)
        info = env.step(actions)[BRAIN_NAME]
        agent.step(states, actions, info.rewards, info.vector_observations, info.local_done, info.max_reached)
        if rewards is not None:
            rewards.append(info.rewards)
        states = info.vector_observations
    return states
