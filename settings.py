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
    if not math.isfinite(cap) or not 0 <= cap <= 1e7:
        raise ValueError(f"a training cap of {cap!r} minutes is no bound: give a finite number from 0 to 10 million")
    return int(60 * (cap + 60))


# The notebook's parameters by kind, for values papermill injects (`-p NAME VALUE`) after the parameters cell: it
# passes True/False and numbers typed, and any other word (false, yes) as a string.
BOOLEAN_PARAMETERS = ("TRAIN", "REPLACE_CHECKPOINT", "STOP_AT_CEILING", "WATCH")
WHOLE_PARAMETERS = {"SEED": 0, "THREADS": 1, "MATCH_STEPS": 0, "EPISODES": 0, "CHECK_EVERY": 0, "RESUME_EVERY": 0,
                    "EVAL_EPISODES": 0}  # name -> minimum
NUMBER_PARAMETERS = ("MINUTES", "STOP_AVERAGE", "CHECK_FROM")  # finite, at least 0
TEXT_PARAMETERS = ("CONFIG", "OUTPUT_DIR", "UNITY_PATH", "PROGRESS")


def check_parameters(namespace: dict) -> None:
    """Refuse, by name, a notebook parameter of the wrong kind: the environment variables are checked as they are read,
    but a value papermill injects is not (`-p TRAIN false` would be the string "false", which Python takes as true)."""
    for name in BOOLEAN_PARAMETERS:
        if not isinstance(namespace[name], bool):
            raise ValueError(f"{name}={namespace[name]!r} is not a boolean: papermill passes -p {name} True or -p {name} "
                             "False as one (any other word arrives as a string)")  # fmt: skip
    for name, minimum in WHOLE_PARAMETERS.items():
        value, maximum = namespace[name], namespace["MAX_SEED"] if name == "SEED" else None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
            raise ValueError(f"{name}={value!r} must be a whole number of at least {minimum}"
                             + (f" and at most {maximum}" if maximum else ""))  # fmt: skip
    for name in NUMBER_PARAMETERS:
        value = namespace[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}={value!r} must be a finite number of at least 0")
    for name in TEXT_PARAMETERS:
        if not isinstance(namespace[name], str):
            raise ValueError(f"{name}={namespace[name]!r} must be text")
    if not isinstance(namespace["OVERRIDES"], dict):
        raise ValueError(f"OVERRIDES={namespace['OVERRIDES']!r} must be a dict of config fields")


# Where each name the later notebook cells rely on is made, for a cell run in a fresh kernel.
MADE_IN = {"OUTPUT_DIR": "the parameters cell (the first code cell)", "env": "section 1 (Start the environment)",
           "trained": "section 6 (Evaluate the checkpoint)"}  # fmt: skip


def require(namespace: dict, *names: str) -> None:
    """Raise one line that names the cell to run first when a notebook cell is run before the cells it needs."""
    for name in names:
        if name not in namespace:
            raise RuntimeError(f"run {MADE_IN[name]} first: this cell needs its {name}")
