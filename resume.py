"""Resume files: the whole training state (agent, simulator, score history) written atomically at intervals, so
that rerunning an interrupted training continues where it stopped and draws the same curve. Both agents resume; a
MADDPG file holds the filled part of its replay buffer too (up to 500,000 transitions, about 200 MB)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from buffer import RolloutBuffer
from checkpoints import load_checkpoint, save_checkpoint
from happo_agent import HAPPOAgent
from maddpg_agent import MADDPGAgent
from networks import OUNoise
from replay_buffer import ReplayBuffer

REPLAY_ARRAYS = ("obs", "actions", "rewards", "next_obs", "terminated")


def resumable(agent: object) -> bool:
    """Whether `agent`'s training state can be written to a resume file (HAPPO's and MADDPG's can)."""
    return isinstance(agent, HAPPOAgent | MADDPGAgent)


def maddpg_training_state(agent: MADDPGAgent) -> dict:
    """Everything a MADDPG agent's learning depends on: networks and their targets, optimisers, the numpy RNG (replay
    sampling and OU noise), the noise's state, the counters and the filled part of the replay buffer."""
    memory = agent.memory
    return {
        "networks": {name: getattr(agent, name).state_dict()
                     for name in ("actors", "critics", "target_actors", "target_critics")},
        "optims": [o.state_dict() for o in [*agent.actor_optims, *agent.critic_optims]],
        "numpy_rng": json.dumps(agent.rng.bit_generator.state),
        "noise": {} if agent.noise is None else {"state": torch.from_numpy(agent.noise.state.copy())},
        "counters": [agent.steps, agent.match_steps, agent.learn_steps, memory.pos, memory.size],
        "replay": {k: torch.from_numpy(getattr(memory, k)[: memory.size].copy()) for k in REPLAY_ARRAYS},
    }  # fmt: skip


def load_maddpg_training_state(agent: MADDPGAgent, state: dict) -> None:
    """Continue exactly where `maddpg_training_state(agent)` was taken."""
    for name, saved in state["networks"].items():
        getattr(agent, name).load_state_dict(saved)
    for optim, saved in zip([*agent.actor_optims, *agent.critic_optims], state["optims"], strict=True):
        optim.load_state_dict(saved)
    agent.rng.bit_generator.state = json.loads(state["numpy_rng"])
    agent.noise = None
    if state["noise"]:
        noise = state["noise"]["state"].numpy()
        agent.noise = OUNoise(noise.shape, agent.rng, agent.config.ou_theta, agent.config.ou_sigma)
        agent.noise.state = noise.copy()
    agent.steps, agent.match_steps, agent.learn_steps, pos, size = state["counters"]
    agent.memory = ReplayBuffer(agent.config.buffer_size)
    for k in REPLAY_ARRAYS:
        getattr(agent.memory, k)[:size] = state["replay"][k].numpy()
    agent.memory.pos, agent.memory.size = pos, size


def training_state(agent) -> dict:
    """Everything an agent's learning depends on, as tensors and plain values that `torch.load(weights_only=True)`
    accepts."""
    return maddpg_training_state(agent) if isinstance(agent, MADDPGAgent) else happo_training_state(agent)


def happo_training_state(agent) -> dict:
    """Everything a HAPPO agent's learning depends on (weights, optimisers, schedules, RNGs, buffer), as tensors and
    plain values that `torch.load(weights_only=True)` accepts."""
    buf, norm = agent.buffer, agent.value_norm
    return {
        "actors": agent.actors.state_dict(), "critic": agent.critic.state_dict(),
        "averaged": agent.averaged.state_dict() if agent.averaged is not None else {},
        "target": agent.target.state_dict() if agent.target is not None else {},
        "actor_optims": [o.state_dict() for o in agent.actor_optims], "critic_optim": agent.critic_optim.state_dict(),
        "schedulers": [s.state_dict() for s in agent.schedulers],
        "value_norm": [] if norm is None else [norm.mean, norm.var, norm.count],
        "numpy_rng": json.dumps(agent.rng.bit_generator.state), "torch_rng": agent.torch_rng.get_state(),
        "counters": [agent.learn_steps, agent.steps_since_learn],
        "buffer": {} if buf is None else {"size": buf.size, **{
            k: torch.from_numpy(getattr(buf, k).copy()) for k in RolloutBuffer.ARRAYS}},
    }  # fmt: skip


def load_training_state(agent, state: dict) -> None:
    """Continue exactly where `training_state(agent)` was taken."""
    if isinstance(agent, MADDPGAgent):
        load_maddpg_training_state(agent, state)
        return
    agent.actors.load_state_dict(state["actors"])
    if agent.averaged is not None:
        agent.averaged.load_state_dict(state["averaged"])
    agent.critic.load_state_dict(state["critic"])
    if agent.target is not None:
        agent.target.load_state_dict(state["target"])
    for optim, saved in zip([*agent.actor_optims, agent.critic_optim], [*state["actor_optims"], state["critic_optim"]]):
        optim.load_state_dict(saved)
    for scheduler, saved in zip(agent.schedulers, state["schedulers"]):
        scheduler.load_state_dict(saved)
    if agent.value_norm is not None:
        agent.value_norm.mean, agent.value_norm.var, agent.value_norm.count = state["value_norm"]
    agent.rng.bit_generator.state = json.loads(state["numpy_rng"])
    agent.torch_rng.set_state(state["torch_rng"])
    agent.learn_steps, agent.steps_since_learn = state["counters"]
    if state["buffer"]:
        saved = state["buffer"]
        T, E, A, obs_size = saved["obs"].shape  # (T, E, A, 24)
        agent.buffer = RolloutBuffer(T, E, A, obs_size, saved["actions"].shape[-1])
        for k in RolloutBuffer.ARRAYS:
            getattr(agent.buffer, k)[...] = saved[k].numpy()
        agent.buffer.size = int(saved["size"])


def _to_saveable(value: object) -> object:
    return torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value


def save_resume(path: Path, agent, env, loop: dict) -> None:
    """Write the agent's training state, the simulator's state and the loop's variables (lists, numbers, arrays)."""
    state = {"agent": training_state(agent), "env": {k: torch.from_numpy(v) for k, v in env.core.state_dict().items()},
             "loop": {k: _to_saveable(v) for k, v in loop.items()}}  # fmt: skip
    save_checkpoint(path.parent, path.name, state, asdict(agent.config))


def load_resume(path: Path, agent, env) -> dict:
    """Restore agent and simulator from `path` and return the loop's variables. Raises ValueError when the file is
    unreadable or was written by another configuration or number of matches (nothing is overwritten then)."""
    state, saved_config = load_checkpoint(path.parent, path.name)
    if json.dumps(saved_config, sort_keys=True) != json.dumps(json.loads(json.dumps(asdict(agent.config))), sort_keys=True):
        raise ValueError(f"{path} was written by another configuration; delete it to start afresh, or set "
                         "TENNIS_OUTPUT_DIR to train elsewhere")  # fmt: skip
    try:
        load_training_state(agent, state["agent"])
        env.core.load_state_dict({k: v.numpy() for k, v in state["env"].items()})
    except (KeyError, RuntimeError, ValueError) as err:
        raise ValueError(f"{path} does not fit this agent or simulator: {err}") from err
    return {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in state["loop"].items()}
