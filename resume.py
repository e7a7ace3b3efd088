"""Resume files: the whole training state (agent, simulator, score history) written atomically at intervals, so
that rerunning an interrupted training continues where it stopped and draws the same curve."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from checkpoints import load_checkpoint, save_checkpoint


def _to_saveable(value: object) -> object:
    return torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value


def save_resume(path: Path, agent, env, loop: dict) -> None:
    """Write agent.training_state(), the simulator's state and the loop's variables (lists, numbers, arrays)."""
    state = {"agent": agent.training_state(), "env": {k: torch.from_numpy(v) for k, v in env.core.state_dict().items()},
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
        agent.load_training_state(state["agent"])
        env.core.load_state_dict({k: v.numpy() for k, v in state["env"].items()})
    except (KeyError, RuntimeError, ValueError) as err:
        raise ValueError(f"{path} does not fit this agent or simulator: {err}") from err
    return {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in state["loop"].items()}
