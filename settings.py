"""The notebook's settings from TENNIS_* environment variables, refused with the variable's name when they are not
what they say (a number out of range, NaN, a boolean spelled some other way)."""

from __future__ import annotations

import json
import math
import os

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def env_bool(name: str, default: bool) -> bool:
    """1/true/yes/on or 0/false/no/off (any case); unset or empty gives `default`."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS or raw in FALSE_WORDS:
        return raw in TRUE_WORDS
    raise ValueError(f"{name}={os.environ[name]!r} is not a boolean: use one of {TRUE_WORDS} or {FALSE_WORDS}")


def _parsed(name: str, parse, kind: str):
    """The variable parsed, or None when it is unset or empty; an error naming it when it is not `kind`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not {kind}") from None


def env_int(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number in [minimum, maximum]; unset or empty gives `default`."""
    value = _parsed(name, int, "a whole number")
    if value is None:
        return default
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"{name}={value} is out of range: it must be {bound}")
    return value


def env_float(name: str, default: float, minimum: float = 0.0) -> float:
    """A finite number of at least `minimum`; unset or empty gives `default`."""
    value = _parsed(name, float, "a number")
    if value is None:
        return default
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name}={os.environ[name].strip()!r} must be a finite number of at least {minimum}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of `choices`; unset or empty gives `default`."""
    value = os.environ.get(name, "").strip() or default
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {choices}")
    return value


def env_overrides(name: str, seed_maximum: int) -> dict:
    """A JSON object of config fields, e.g. '{"clip": 0.1}' (lists become tuples, as the configs' layer fields are);
    unset or empty gives {}. A "seed" among them must be a whole number from 0 to `seed_maximum`: it seeds every cell,
    the environment's included, so it is checked here rather than when the config is built."""
    raw = os.environ.get(name, "").strip() or "{}"
    try:
        fields = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"{name}={raw!r} is not JSON ({err})") from None
    if not isinstance(fields, dict):
        raise ValueError(f"{name}={raw!r} must be a JSON object of config fields, e.g. '{{\"clip\": 0.1}}'")
    seed = fields.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= seed_maximum:
        raise ValueError(f"{name}: seed={seed!r} must be a whole number from 0 to {seed_maximum}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


NOTEBOOK_MINUTES = 30.0  # the parameters cell's default TENNIS_MINUTES (a test holds them equal)


def cell_timeout_seconds(minutes: float | None = None) -> int:
    """papermill's bound on one notebook cell (--execution-timeout): the training's safety cap (TENNIS_MINUTES, or
    `minutes`; the notebook's default 30) and an hour more for what may follow it in the same cell (the last check,
    the evaluation, the rally's animation). A kernel that stops answering then ends the command with papermill's
    error naming the cell, instead of a wait without end."""
    cap = env_float("TENNIS_MINUTES", NOTEBOOK_MINUTES) if minutes is None else minutes
    return int(60 * (cap + 60))


# Where each name the later notebook cells rely on is made, for a cell run in a fresh kernel.
MADE_IN = {"OUTPUT_DIR": "the parameters cell (the first code cell)", "env": "section 1 (Start the environment)",
           "trained": "section 6 (Evaluate the checkpoint)"}  # fmt: skip


def require(namespace: dict, *names: str) -> None:
    """Raise one line that names the cell to run first when a notebook cell is run before the cells it needs."""
    for name in names:
        if name not in namespace:
            raise RuntimeError(f"run {MADE_IN[name]} first: this cell needs its {name}")
