"""The embedded Tennis simulator behind the course's `unityagents.UnityEnvironment` API.

Environment card (Unity ML-Agents 0.4 Tennis as the course used it; `docs/tennis_environment.md`):

| item         | value                                                                                     |
|--------------|-------------------------------------------------------------------------------------------|
| agents       | 2 rackets per match; rows 2k and 2k+1 of every array belong to match k                   |
| observation  | 24 floats = 3 stacked frames of 8 (racket x, y, vx, vy, ball x, y, and the racket vx, vy  |
|              | again, the 0.4 bug; x mirrored so that each racket's own side is negative), oldest first |
| action       | 2 floats in [-1, 1]: move toward (+) or away from the net, jump when > 0.5               |
| reward       | +0.1 to the hitter when the ball crosses the net, -0.01 for floor, net or wall            |
| termination  | `local_done` when the ball touches the floor, the net or a wall (one rally = one episode) |
| truncation   | `local_done` and `max_reached` at the 1001st decision of a rally                          |
| academy      | at the 5,000th decision after `reset()` every match times out and `global_done` is set:  |
|              | `step()` then raises until `reset()`, as `unityagents` 0.4 does                          |
| start        | rackets at own x ~ -U(6, 8), y -1.5; after a point the ball falls from y 6 above a side   |

Matches that end reset themselves, as Unity does: the observation returned with `done` is already the first
of the next point. `make_env(file_name)` returns the real Unity build instead when a file name is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from tennis_sim.core import ACTION_SIZE, FRAME_SIZE, NUM_STACKED, TennisCore, TennisParams

BRAIN_NAME = "TennisBrain"
ACADEMY_NAME = "Academy"  # the name the course's Tennis build reports
MAX_SEED = 2**31 - 1  # the wire carries the seed as a signed 32-bit integer
UNITY_INSTALL_HINT = (
    "pip install --no-deps unityagents==0.4.0 && pip install grpcio protobuf==3.20.3 pillow 'numpy<2'"
)


class UnityEnvironmentException(RuntimeError):
    """Starting, resetting or closing went wrong (named and worded as unityagents 0.4's)."""


class UnityActionException(ValueError):
    """`step()` was called at the wrong time or with actions it cannot use (named and worded as unityagents 0.4's)."""


@dataclass(frozen=True)
class BrainParameters:
    """What `env.brains[brain_name]` tells about the task (the attributes and printout of unityagents 0.4's)."""

    brain_name: str = BRAIN_NAME
    vector_observation_space_size: int = FRAME_SIZE
    num_stacked_vector_observations: int = NUM_STACKED
    number_visual_observations: int = 0
    camera_resolutions: list = field(default_factory=list)
    vector_action_space_size: int = ACTION_SIZE
    vector_action_descriptions: list = field(default_factory=lambda: [""] * ACTION_SIZE)
    vector_action_space_type: str = "continuous"
    vector_observation_space_type: str = "continuous"

    def __str__(self) -> str:
        lines = [
            f"Unity brain name: {self.brain_name}",
            f"Number of Visual Observations (per agent): {self.number_visual_observations}",
            f"Vector Observation space type: {self.vector_observation_space_type}",
            f"Vector Observation space size (per agent): {self.vector_observation_space_size}",
            f"Number of stacked Vector Observation: {self.num_stacked_vector_observations}",
            f"Vector Action space type: {self.vector_action_space_type}",
            f"Vector Action space size (per agent): {self.vector_action_space_size}",
            f"Vector Action descriptions: {', '.join(self.vector_action_descriptions)}",
        ]
        return "\n        ".join(lines)


@dataclass
class BrainInfo:
    """What `reset()[brain_name]` and `step()[brain_name]` return (unityagents 0.4 names and types)."""

    vector_observations: np.ndarray  # (2E, 24) float64 holding float32 values, as they come off the wire
    rewards: list  # 2E floats
    local_done: list  # 2E bools
    max_reached: list  # 2E bools
    agents: list  # 2E ids
    previous_vector_actions: np.ndarray  # (2E, 2) the actions each racket stored (zeros after its reset)
    visual_observations: list = field(default_factory=list)  # Tennis has no cameras
    text_observations: list = field(default_factory=list)
    memories: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    previous_text_actions: list = field(default_factory=list)


def flatten_actions(vector_action: object, n_agents: int, brain_name: str = BRAIN_NAME) -> list[float] | np.ndarray:
    """The action layouts unityagents 0.4 accepts, as n_agents * 2 floats in a row.

    Its rule: a number stands for a list of one; an array becomes nested lists; a list whose first item is an array,
    then one whose first item is a list, is joined one level; every item must then convert with float(); the count
    must be n_agents * 2. So (4,), (1, 4), (2, 2) and a list of two (1, 2) arrays are accepted, (2, 1, 2) is not.
    """
    arr = vector_action
    if isinstance(arr, np.ndarray) and arr.ndim in (1, 2) and arr.dtype.kind in "fiu":  # the common case, at once
        if arr.size != n_agents * ACTION_SIZE:
            arr = arr.reshape(-1).tolist()  # the mismatch message below
        else:
            return arr.reshape(-1).astype(np.float64)
    if isinstance(arr, (int, float, np.int_, np.float64)):
        arr = [float(arr)]
    if isinstance(arr, np.ndarray):
        arr = arr.tolist()
    try:
        if len(arr) and isinstance(arr[0], np.ndarray):
            arr = [x for part in arr for x in part.tolist()]
        if len(arr) and isinstance(arr[0], list):
            arr = [x for part in arr for x in part]
        flat = [float(x) for x in arr]
    except (AttributeError, TypeError, ValueError) as err:  # unityagents fails here with a bare Python error
        raise UnityActionException(f"The actions for brain {brain_name} are not numbers in a layout unityagents "
                                   f"accepts ({type(err).__name__}: {err}); send an array of shape "
                                   f"({n_agents}, {ACTION_SIZE})") from None  # fmt: skip
    if len(flat) != n_agents * ACTION_SIZE:
        raise UnityActionException(
            "There was a mismatch between the provided action and environment's expectation: "
            f"The brain {brain_name} expected {n_agents * ACTION_SIZE} continuous action(s), but was provided: {flat}"
        )
    return flat


def to_wire_floats(values: np.ndarray) -> np.ndarray:
    """float64 values as they arrive through the protocol's float32 fields (beyond float32's range: its largest)."""
    limit = float(np.finfo(np.float32).max)
    return np.clip(values, -limit, limit).astype(np.float32).astype(np.float64)


def check_seed(seed: object) -> int:
    """A seed the course's client can send: an int in [0, MAX_SEED]."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    return int(seed)


class TennisEnvironment:
    """E Tennis matches behind the calls, arguments, errors and attributes of `unityagents.UnityEnvironment` 0.4.

    The arguments of UnityEnvironment are accepted so that course code runs unchanged; `file_name`, `worker_id`,
    `base_port`, `docker_training` and `no_graphics` mean nothing here (the simulator plays), `seed` seeds it.
    `num_matches` arenas play at once; the last `practice_matches` of them are a training device (TennisCore).
    """

    def __init__(self, file_name: str | None = None, worker_id: int = 0, base_port: int = 5005,
                 curriculum: object = None, seed: int = 0, docker_training: bool = False, no_graphics: bool = False,
                 *, num_matches: int = 1, params: TennisParams | None = None,
                 practice_matches: int = 0) -> None:  # fmt: skip
        if isinstance(num_matches, bool) or not isinstance(num_matches, (int, np.integer)) or num_matches < 1:
            raise ValueError(f"num_matches must be a positive integer, got {num_matches!r}")
        self.core = TennisCore(num_matches=int(num_matches), seed=check_seed(seed), params=params,
                               practice_matches=practice_matches)  # fmt: skip
        self.num_matches = self.core.num_matches
        self.brain_names = [BRAIN_NAME]
        self.external_brain_names = [BRAIN_NAME]
        self.brains = {BRAIN_NAME: BrainParameters()}
        self.number_brains = self.number_external_brains = 1
        self.academy_name = ACADEMY_NAME
        self.logfile_path = ""  # no log file is written
        self.curriculum = curriculum
        self._agent_ids = list(range(2 * self.num_matches))
        self._loaded = True

    @property
    def global_done(self) -> bool | None:
        """The academy's step limit ended every match in the last step (None before the first reset, as in
        unityagents); step() then raises until reset(). It is the simulator's, so a restored state carries it."""
        return None if self.core.academy[0, 0] else self.core.global_done

    def __str__(self) -> str:
        return (f"Unity Academy name: {self.academy_name} (embedded simulator, {self.num_matches} match(es))\n"
                f"        Number of Brains: 1\n        Number of External Brains : 1\n"
                f"        Lesson number : 0\n        Reset Parameters :\n\t\t\n{self.brains[BRAIN_NAME]}")  # fmt: skip

    def _info(self, obs: np.ndarray, reward: np.ndarray, done: np.ndarray, max_reached: np.ndarray) -> dict:
        n = 2 * self.num_matches
        return {
            BRAIN_NAME: BrainInfo(
                # (E, 2, 24) -> (2E, 24); the build sends float32, the client turns them into float64
                vector_observations=obs.reshape(n, -1).astype(np.float32).astype(np.float64),
                rewards=reward.astype(np.float32).reshape(-1).tolist(),
                local_done=np.repeat(done, 2).tolist(),
                max_reached=np.repeat(max_reached, 2).tolist(),
                agents=list(self._agent_ids),
                previous_vector_actions=self.core.last_actions.reshape(n, -1).copy(),  # float32 values already
                text_observations=[""] * n,
                previous_text_actions=[""] * n,
            )
        }

    def _check_loaded(self) -> None:
        if not self._loaded:
            raise UnityEnvironmentException("No Unity environment is loaded. (This TennisEnvironment was closed; "
                                            "create a new one.)")  # fmt: skip

    def reset(self, train_mode: bool = True, config: dict | None = None, lesson: object = None) -> dict:
        """New racket starts in every match; the ball carries on unless `clean_serve_on_reset` (spec section 7).
        Every reset but the first runs one more tick with the last actions first (TennisCore.reset)."""
        for key, value in (config or {}).items():  # Tennis has no reset parameters
            if not isinstance(value, (int, float)):
                raise UnityEnvironmentException(f"The value for parameter '{key}'' must be an Integer or a Float.")
            raise UnityEnvironmentException(f"The parameter '{key}' is not a valid parameter.")
        self._check_loaded()
        obs = self.core.reset()
        E = self.num_matches
        return self._info(obs, np.zeros((E, 2)), np.zeros(E, dtype=bool), np.zeros(E, dtype=bool))

    def step(self, vector_action: object = None, memory: object = None, text_action: object = None) -> dict:
        """One decision of every match. Actions: 2E x 2 numbers in any layout unityagents accepts (rows 2k and
        2k+1 for match k's rackets), or a dict {brain name: actions}, or None for zeros. `memory` and `text_action`
        are accepted and unused: Tennis has neither."""
        self._check_loaded()
        if self.global_done:
            raise UnityActionException("The episode is completed. Reset the environment with 'reset()'")
        if self.global_done is None:
            raise UnityActionException(
                "You cannot conduct step without first calling reset. Reset the environment with 'reset()'")
        n_agents = 2 * self.num_matches
        if vector_action is None:
            vector_action = {}
        if isinstance(vector_action, (int, float, np.int_, np.float64, list, np.ndarray)):
            vector_action = {BRAIN_NAME: vector_action}
        if not isinstance(vector_action, dict):
            raise UnityActionException(f"actions must be a number (Python's, or numpy float64 or int64), a list, a numpy "
                                       f"array or a dict of them by brain name, as unityagents accepts; got "
                                       f"{type(vector_action).__name__}: pass float(x) or an array")  # fmt: skip
        for name in vector_action:
            if name not in self.external_brain_names:
                raise UnityActionException(f"The name {name} does not correspond to an external brain in the environment")
        if BRAIN_NAME in vector_action:
            actions = np.array(flatten_actions(vector_action[BRAIN_NAME], n_agents))
        else:  # a brain without actions gets zeros
            actions = np.zeros(n_agents * ACTION_SIZE)
        if not np.isfinite(actions).all():  # unityagents would send these on; the simulator refuses them
            raise UnityActionException(f"actions for the {n_agents} rackets ({n_agents} x {ACTION_SIZE} numbers) "
                                       f"contain NaN or inf: {actions.reshape(n_agents, ACTION_SIZE).tolist()}")  # fmt: skip
        actions = to_wire_floats(actions)  # what the build receives: float32
        return self._info(*self.core.step(actions.reshape(self.num_matches, 2, ACTION_SIZE)))

    def close(self) -> None:
        self._check_loaded()
        self._loaded = False


UNITY_SUFFIXES = (".app", ".exe", ".x86_64", ".x86")


def make_env(file_name: str | None = None, num_matches: int = 1, seed: int = 0, **kwargs: object):
    """The embedded simulator, or a Unity Tennis build (the course's, or this project's headless one) through the
    course's `unityagents` client when `file_name` names one.

    `file_name` defaults to the environment variable TENNIS_UNITY_PATH; empty means the simulator. A build plays the
    arenas it was made with; `unityagents` is imported only here, and only when asked for.
    """
    file_name = file_name if file_name is not None else (os.environ.get("TENNIS_UNITY_PATH") or None)
    if file_name is None:
        return TennisEnvironment(num_matches=num_matches, seed=seed, **kwargs)
    if not isinstance(file_name, (str, os.PathLike)):
        raise TypeError(f"file_name must be the path of a Unity Tennis build, got {file_name!r}")
    file_name = os.fspath(file_name)
    stem = file_name
    for suffix in UNITY_SUFFIXES:
        stem = stem.removesuffix(suffix)
    candidates = [file_name] + [stem + suffix for suffix in (".x86_64", ".x86")]
    found = [c for c in candidates if os.path.isfile(c)]
    if not found:
        raise FileNotFoundError(
            f"No Unity Tennis build at {file_name!r} (also tried {', '.join(candidates[1:])}). Download it from the "
            "course page (Tennis_Linux.zip, unzip next to Tennis.ipynb), make the headless one (README), or unset "
            "TENNIS_UNITY_PATH to use the embedded simulator."
        )
    if not os.access(found[0], os.X_OK):
        raise PermissionError(f"the Unity build {found[0]!r} is not executable (chmod +x it)")
    if num_matches != 1:
        raise ValueError(f"a Unity build plays the arenas it was made with; got num_matches={num_matches}")
    if kwargs.pop("practice_matches", 0):
        raise ValueError("practice matches are the simulator's training device; a Unity build has none")
    try:
        if not hasattr(np, "float_"):  # unityagents 0.4 still names np.float_, removed in numpy 2
            np.float_ = np.float64
        from unityagents import UnityEnvironment
    except ImportError as err:
        raise ImportError(
            f"Running a Unity build needs the course's `unityagents` package ({err}). "
            f"On Python 3.11 this works: {UNITY_INSTALL_HINT}"
        ) from err
    return UnityEnvironment(file_name=file_name, seed=seed, **kwargs)
