"""Validation of the agents' frozen config dataclasses: every field's type (from its annotation), finiteness and
range, with the field's name and value in the error, so that a bad hyperparameter fails on construction."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

Rule = tuple[Callable[[object], bool], str]  # (predicate on the value, what it requires, said in words)

POSITIVE: Rule = (lambda v: v > 0, "> 0")
NON_NEGATIVE: Rule = (lambda v: v >= 0, ">= 0")
AT_LEAST_ONE: Rule = (lambda v: v >= 1, ">= 1")
UNIT: Rule = (lambda v: 0 <= v <= 1, "in [0, 1]")
OPEN_UNIT: Rule = (lambda v: 0 < v < 1, "in (0, 1)")
HALF_OPEN_UNIT: Rule = (lambda v: 0 < v <= 1, "in (0, 1]")
SEED: Rule = (lambda v: 0 <= v <= 2**31 - 1, "from 0 to 2**31 - 1")
LAYERS: Rule = (lambda v: len(v) >= 1 and all(n >= 1 for n in v), "a non-empty tuple of positive layer sizes")


def _type_error(name: str, kind: str, value: object) -> str | None:
    """Why `value` is not of the annotated `kind` ('int', 'float', 'bool' or 'tuple[int, ...]'), or None."""
    if kind == "bool":
        return None if isinstance(value, bool) else "must be True or False"
    if kind == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be a whole number"
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        return None if math.isfinite(value) else "must be finite"
    if kind == "tuple[int, ...]":
        ok = isinstance(value, tuple) and all(isinstance(n, int) and not isinstance(n, bool) for n in value)
        return None if ok else "must be a tuple of whole numbers"
    return None


def check_config(config: object, rules: dict[str, Rule]) -> None:
    """Raise ValueError naming every field of `config` whose value has the wrong type or breaks its rule."""
    problems = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        wrong_type = _type_error(field.name, str(field.type), value)
        if wrong_type:
            problems.append(f"{field.name}={value!r} {wrong_type}")
        elif field.name in rules and not rules[field.name][0](value):
            problems.append(f"{field.name}={value!r} must be {rules[field.name][1]}")
    if problems:
        raise ValueError(f"invalid {type(config).__name__}: {'; '.join(problems)}")
