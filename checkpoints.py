"""Checkpoint files shared by the agents: one torch file holding the weights, the config and a checksum of both,
written atomically; `config.json` beside it is a readable copy of the config, derived from that file.

A load refuses a file whose weights or config do not match their checksum (a flipped bit), weights that are not
finite, and anything torch cannot read as plain tensors (`weights_only=True`: loading never runs code from the file).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path

import torch

from tennis_sim.files import write_atomically

CHECKSUM_KEY = "sha256"  # of the weights and the config
WEIGHTS_ONLY_KEY = "weights_sha256"  # older files: of the weights alone


def open_own_file(path: Path, flags: int) -> int:
    """os.open of `path` that never writes into someone else's file: a symbolic or hard link planted there is removed
    first, and the file that takes its place is this project's own."""
    if path.is_symlink() or (path.is_file() and path.stat().st_nlink > 1):
        path.unlink(missing_ok=True)  # another process may have replaced it first
    return os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW, 0o666)


def _tensors(value: object, prefix: str = ""):
    """(name, tensor) for every tensor in nested dicts, lists and tuples, in a fixed order."""
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            yield from _tensors(value[key], f"{prefix}/{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _tensors(item, f"{prefix}/{i}")


def weights_checksum(state: dict) -> str:
    """sha256 over every tensor's name, shape, dtype and bytes."""
    digest = hashlib.sha256()
    for name, tensor in _tensors(state):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        digest.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def content_checksum(state: dict, config_json: str) -> str:
    """sha256 over the weights (`weights_checksum`) and the config's JSON text."""
    return hashlib.sha256(f"{weights_checksum(state)}\0{config_json}".encode()).hexdigest()


def _non_finite(state: dict) -> list[str]:
    return [name for name, t in _tensors(state) if t.is_floating_point() and not torch.isfinite(t).all()]


def save_checkpoint(directory: str | os.PathLike, file_name: str, state: dict, config: dict) -> Path:
    """Write `state` (tensors and state dicts) with the config and the weights' checksum embedded, then
    `config.json` beside it. Refuses non-finite weights: a checkpoint is something to play or resume from."""
    bad = _non_finite(state)
    if bad:
        raise ValueError(f"refusing to save a checkpoint with NaN or inf in {', '.join(bad[:5])}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config_json = json.dumps(config, indent=1)
    path = directory / file_name
    buffer = io.BytesIO()
    torch.save({**state, "config_json": config_json, CHECKSUM_KEY: content_checksum(state, config_json)}, buffer)
    write_atomically(path, buffer.getvalue())
    write_atomically(directory / "config.json", config_json.encode())
    return path


def load_checkpoint(directory: str | os.PathLike, file_name: str) -> tuple[dict, dict]:
    """(state, config dict) from `directory`, verified; clear errors that name the file. A `config.json` that
    disagrees with the checkpoint (a writer killed between the two files) is rewritten from it."""
    path = Path(directory) / file_name
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (write one with agent.save({str(directory)!r}))")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        config_json = state.pop("config_json")
        config = json.loads(config_json)
    except Exception as err:  # torch raises many types for a file that is not a checkpoint; its advice is not ours
        raise ValueError(f"{path} is not a readable checkpoint ({type(err).__name__}): it is damaged, or not a "
                         "checkpoint of this project") from None  # fmt: skip
    saved_sum, weights_sum = state.pop(CHECKSUM_KEY, None), state.pop(WEIGHTS_ONLY_KEY, None)
    if (saved_sum is not None and saved_sum != content_checksum(state, config_json)) or (
            weights_sum is not None and weights_sum != weights_checksum(state)):  # fmt: skip
        raise ValueError(f"{path} is damaged: its weights or config do not match the checksum stored with them")
    bad = _non_finite(state)
    if bad:
        raise ValueError(f"{path} holds NaN or inf weights ({', '.join(bad[:5])}); it cannot be played")
    beside = Path(directory) / "config.json"
    try:
        if not beside.is_file() or json.loads(beside.read_text()) != config:
            write_atomically(beside, config_json.encode())
    except (OSError, ValueError):
        pass  # a read-only folder, or an unreadable copy: the embedded config is the one that counts
    return state, config


def config_from_dict(config_class: type, saved: dict, source: object = "a saved config") -> object:
    """Rebuild a frozen config dataclass from its JSON form (lists back to tuples; unknown keys ignored); its own
    validation runs, and an invalid stored value is reported with `source`."""
    known = {f.name for f in dataclasses.fields(config_class)}
    try:
        return config_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in known})
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None
