"""Atomic checkpoint files shared by the agents: one torch file of weights plus the config, and the config as JSON."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
from pathlib import Path

import torch


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(directory: str | os.PathLike, file_name: str, state: dict, config: dict) -> Path:
    """Write `state` (tensors and state dicts) with the config embedded, and `config.json` beside it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config_json = json.dumps(config, indent=1)
    path = directory / file_name
    buffer = io.BytesIO()
    torch.save({**state, "config_json": config_json}, buffer)
    write_atomically(path, buffer.getvalue())
    write_atomically(directory / "config.json", config_json.encode())
    return path


def load_checkpoint(directory: str | os.PathLike, file_name: str) -> tuple[dict, dict]:
    """(state, config dict) from `directory`; clear errors for a missing or unreadable file."""
    path = Path(directory) / file_name
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (write one with agent.save({str(directory)!r}))")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        config = json.loads(state.pop("config_json"))
    except Exception as err:  # torch raises many types for a file that is not a checkpoint
        raise ValueError(f"{path} is not a readable checkpoint: {err}") from err
    return state, config


def config_from_dict(config_class: type, saved: dict) -> object:
    """Rebuild a frozen config dataclass from its JSON form (lists back to tuples; unknown keys ignored)."""
    known = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in known})
