"""A PettingZoo `ParallelEnv` view of one Tennis match, for TorchRL / BenchMARL / skrl users (needs `pettingzoo`).

Agents "player_0" (the right racket, the course's agent 0) and "player_1"; observations (24,) float32, actions (2,)
in [-1, 1]; `state()` joins both observations (48,) for a centralised critic. An episode is one rally: both agents
terminate when the ball touches the floor, the net or a wall, and are truncated at the 1001-decision limit.
As in Unity, the observation returned with the end of a rally is already the first of the next point.
"""

from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from tennis_sim.core import ACTION_SIZE, OBS_SIZE, TennisCore, TennisParams


class TennisParallelEnv(ParallelEnv):
    metadata = {"name": "tennis_v0", "render_modes": []}

    def __init__(self, seed: int = 0, params: TennisParams | None = None) -> None:
        self.possible_agents = ["player_0", "player_1"]
        self.agents: list[str] = []
        self._params = params
        self._core = TennisCore(1, seed=seed, params=params)

    @functools.cache  # noqa: B019 (PettingZoo's documented pattern: one space object per agent)
    def observation_space(self, agent: str) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, (OBS_SIZE,), np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (ACTION_SIZE,), np.float32)

    def _observations(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        return {a: obs[0, k].astype(np.float32) for k, a in enumerate(self.possible_agents)}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._core = TennisCore(1, seed=seed, params=self._params)
        self.agents = list(self.possible_agents)
        self._obs = self._core.reset()
        return self._observations(self._obs), {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("the episode has ended: call reset()")
        missing = set(self.agents) - set(actions)
        if missing:
            raise ValueError(f"actions missing for {sorted(missing)}; expected one (2,) array per agent")
        rows = []
        for a in self.possible_agents:
            try:
                row = np.asarray(actions[a], dtype=np.float64).reshape(-1)
            except (TypeError, ValueError) as err:
                raise ValueError(f"the action of {a} is not numbers: {actions[a]!r} ({err})") from None
            if row.shape != (ACTION_SIZE,) or not np.isfinite(row).all():
                raise ValueError(f"the action of {a} must be {ACTION_SIZE} finite numbers, got {actions[a]!r}")
            rows.append(row)
        joint = np.stack(rows)[None]
        obs, reward, done, max_reached = self._core.step(joint)
        self._obs = obs
        truncated, terminated = bool(max_reached[0]), bool(done[0] and not max_reached[0])
        result = (
            self._observations(obs),
            {a: float(reward[0, k]) for k, a in enumerate(self.possible_agents)},
            {a: terminated for a in self.possible_agents},
            {a: truncated for a in self.possible_agents},
            {a: {} for a in self.possible_agents},
        )
        if done[0]:
            self.agents = []
        return result

    def state(self) -> np.ndarray:
        """Both observations joined: (48,)."""
        return self._obs[0].reshape(-1).astype(np.float32)

    def close(self) -> None:
        self.agents = []
