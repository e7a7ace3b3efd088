"""The notebook's settings from TENNIS_* environment variables, refused with the variable's name when they are not
what they say (a number out of range, NaN, a boolean spelled some other way)."""

from __future__ import annotations

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
