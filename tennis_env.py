"""The embedded Tennis simulator behind the course's `unityagents.UnityEnvironment` API.

Environment card (Unity ML-Agents 0.4 Tennis as the course used it; `tennis_spec.md`):

| item         | value                                                                                     |
|--------------|-------------------------------------------------------------------------------------------|
| agents       | 2 rackets per match; rows 2k and 2k+1 of every array belong to match k                   |
| observation  | 24 floats = 3 stacked frames of 8 (racket x, y, vx, vy, ball x, y, and the racket vx, vy  |
|              | again, the 0.4 bug; x mirrored so that each racket's own side is negative), oldest first |
| action       | 2 floats in [-1, 1]: move toward (+) or away from the net, jump when > 0.5               |
| reward       | +0.1 to the hitter when the ball crosses the net, -0.01 for floor, net or wall            |
| termination  | `local_done` when the ball touches the floor, the net or a wall (one rally = one episode) |
| truncation   | `local_done` and `max_reached` at the 1001st decision after a reset                       |
| start        | rackets at own x ~ -U(6, 8), y -1.5; after a point the ball falls from y 6 above a side   |

Matches that end reset themselves, as Unity does: the observation returned with `done` is already the first
of the next point. `make_env(file_name)` returns the real Unity build instead when a file name is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from tennis_core import ACTION_SIZE, FRAME_SIZE, NUM_STACKED, TennisCore, TennisParams

BRAIN_NAME = "TennisBrain"
UNITY_INSTALL_HINT = (
    "pip install --no-deps unityagents==0.4.0 && pip install grpcio protobuf==3.20.3 pillow 'numpy<2'"
)


@dataclass(frozen=True)
class BrainParameters:
    """What `env.brains[brain_name]` tells about the task (same attribute names as unityagents 0.4)."""

    brain_name: str = BRAIN_NAME
    vector_observation_space_size: int = FRAME_SIZE
    num_stacked_vector_observations: int = NUM_STACKED
    vector_action_space_size: int = ACTION_SIZE
    vector_observation_space_type: str = "continuous"
    vector_action_space_type: str = "continuous"
    number_visual_observations: int = 0

    def __str__(self) -> str:
        return (
            f"Unity brain name: {self.brain_name}\n"
            f"        Vector Observation space size (per agent): {self.vector_observation_space_size}\n"
            f"        Number of stacked Vector Observation: {self.num_stacked_vector_observations}\n"
            f"        Vector Action space type: {self.vector_action_space_type}\n"
            f"        Vector Action space size (per agent): {self.vector_action_space_size}"
        )


@dataclass
class BrainInfo:
    """What `reset()[brain_name]` and `step()[brain_name]` return (unityagents 0.4 names and types)."""

    vector_observations: np.ndarray  # (2E, 24)
    rewards: list  # 2E floats
    local_done: list  # 2E bools
    max_reached: list  # 2E bools
    agents: list  # 2E ids


class TennisEnvironment:
    """E Tennis matches with the calls course notebooks make on `unityagents.UnityEnvironment`."""

    def __init__(self, num_matches: int = 1, seed: int = 0, params: TennisParams | None = None,
                 practice_matches: int = 0, **unity_kwargs: object) -> None:  # fmt: skip
        # unity_kwargs (worker_id, no_graphics, ...) are accepted so course code runs unchanged; they mean nothing here.
        # practice_matches: the last matches of num_matches cut their rallies at random (TennisCore), for training only
        self.core = TennisCore(num_matches=num_matches, seed=seed, params=params, practice_matches=practice_matches)
        self.num_matches = self.core.num_matches
        self.brain_names = [BRAIN_NAME]
        self.external_brain_names = [BRAIN_NAME]
        self.brains = {BRAIN_NAME: BrainParameters()}
        self.number_brains = 1
        self.academy_name = "TennisAcademy (embedded simulator)"
        self._agent_ids = list(range(2 * self.num_matches))
        self._closed = False

    def __str__(self) -> str:
        return f"{self.academy_name}, {self.num_matches} match(es)\n{self.brains[BRAIN_NAME]}"

    def _info(self, obs: np.ndarray, reward: np.ndarray, done: np.ndarray, max_reached: np.ndarray) -> dict:
        return {
            BRAIN_NAME: BrainInfo(
                vector_observations=obs.reshape(2 * self.num_matches, -1),  # (E, 2, 24) -> (2E, 24)
                rewards=reward.astype(np.float32).reshape(-1).tolist(),  # Unity sends float32
                local_done=np.repeat(done, 2).tolist(),
                max_reached=np.repeat(max_reached, 2).tolist(),
                agents=list(self._agent_ids),
            )
        }

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this TennisEnvironment was closed; create a new one")

    def reset(self, train_mode: bool = True, config: object = None, lesson: object = None) -> dict:
        """New racket starts in every match; the ball carries on unless `clean_serve_on_reset` (spec section 7)."""
        self._check_open()
        obs = self.core.reset()
        E = self.num_matches
        return self._info(obs, np.zeros((E, 2)), np.zeros(E, dtype=bool), np.zeros(E, dtype=bool))

    def step(self, vector_action: np.ndarray | list | None = None, memory: object = None,
             text_action: object = None) -> dict:  # fmt: skip
        """One decision: actions (2E, 2), rows 2k and 2k+1 for match k's rackets."""
        self._check_open()
        expected = (2 * self.num_matches, ACTION_SIZE)
        try:
            actions = np.asarray(vector_action, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"actions must be numbers of shape {expected}: {err}") from None
        if actions.shape != expected:
            raise ValueError(f"actions must have shape {expected} (2 rackets x {self.num_matches} matches, "
                             f"{ACTION_SIZE} actions), got {actions.shape}")  # fmt: skip
        if not np.isfinite(actions).all():
            raise ValueError(f"actions of shape {expected} contain NaN or inf")
        return self._info(*self.core.step(actions.reshape(self.num_matches, 2, ACTION_SIZE)))

    def close(self) -> None:
        self._closed = True


def make_env(file_name: str | None = None, num_matches: int = 1, seed: int = 0, **kwargs: object):
    """The embedded simulator, or the real Unity build when `file_name` names one.

    `file_name` defaults to the environment variable TENNIS_UNITY_PATH; empty means the simulator.
    The real build runs one match; `unityagents` is imported only here, and only when asked for.
    """
    file_name = file_name or os.environ.get("TENNIS_UNITY_PATH") or None
    if file_name is None:
        return TennisEnvironment(num_matches=num_matches, seed=seed, **kwargs)
    stem = file_name
    for suffix in (".app", ".exe", ".x86_64", ".x86"):
        stem = stem.removesuffix(suffix)
    candidates = [file_name, stem + ".x86_64", stem + ".x86", stem + ".exe", stem + ".app"]
    if not any(os.path.exists(c) for c in candidates):
        raise FileNotFoundError(
            f"No Unity Tennis build at {file_name!r} (also tried {', '.join(candidates[1:])}). "
            "Download it from the course page (Tennis_Linux.zip, unzip next to Tennis.ipynb) "
            "or unset TENNIS_UNITY_PATH to use the embedded simulator."
        )
    if num_matches != 1:
        raise ValueError(f"the Unity build runs one match; got num_matches={num_matches}")
    try:
        if not hasattr(np, "float_"):  # unityagents 0.4 still names np.float_, removed in numpy 2
            np.float_ = np.float64
        from unityagents import UnityEnvironment
    except ImportError as err:
        raise ImportError(
            f"Running the real Unity build needs the course's `unityagents` package ({err}). "
            f"On Python 3.11 this works: {UNITY_INSTALL_HINT}"
        ) from err
    return UnityEnvironment(file_name=file_name, seed=seed, **kwargs)
