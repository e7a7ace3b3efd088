"""The behaviour digest: every committed run is stamped with the digest of the code that trained it, and the code of
today must still train each of them the same. A refactor that keeps these tests green keeps every committed number.

MADDPG stamps of SLOW_GRADIENT_STEPS or more gradient steps per learning step repeat the same code more often (the
UTD-1 arm's digest takes about 10 minutes on one core), so `make digests` checks them (marked `slow_digest`) and
`make test` checks the others; a test here holds that each slow one differs from a checked one only in that count.
"""

import json
from pathlib import Path

import pytest

from behaviour_digest import behaviour_digest, training_cell

ROOT = Path(__file__).resolve().parents[1]


def committed_stamps() -> list[tuple[str, str, str]]:
    """(config, overrides, digest) of every stamped run in results/, once each."""
    stamps = set()
    for path in sorted((ROOT / "results").glob("*.json")):
        data = json.loads(path.read_text())
        for run in data.get("runs", []) if isinstance(data, dict) else []:
            if "behaviour" in run:
                stamps.add((run["config"], run["overrides"], run["behaviour"]))
        if isinstance(data, dict) and "behaviour" in data:  # a table of the default's runs (bench/check_rule.py)
            stamps.add(("default", "{}", data["behaviour"]))
    return sorted(stamps)


def gradient_steps(stamp: tuple[str, str, str]) -> int | None:
    """A MADDPG stamp's gradient steps per learning step when its overrides set them, else None."""
    config, overrides, _ = stamp
    return json.loads(overrides).get("gradient_steps") if config == "maddpg" else None


SLOW_GRADIENT_STEPS = 384  # per learning step: from here a digest takes minutes (192, that of fair_maddpg, about 3)


def slow_stamps() -> list[tuple[str, str, str]]:
    """The MADDPG stamps of SLOW_GRADIENT_STEPS or more gradient steps per learning step: `make digests` checks them."""
    return [s for s in committed_stamps() if (gradient_steps(s) or 0) >= SLOW_GRADIENT_STEPS]


def stamp_params() -> list:
    slow = slow_stamps()
    return [pytest.param(*s, marks=pytest.mark.slow_digest) if s in slow else s for s in committed_stamps()]


def test_the_defaults_runs_are_among_the_stamped_ones():
    assert ("default", "{}") in {(config, overrides) for config, overrides, _ in committed_stamps()}


def test_a_slow_stamp_differs_from_a_checked_one_only_in_its_gradient_steps():
    def without_count(overrides: str) -> dict:
        return {k: v for k, v in json.loads(overrides).items() if k != "gradient_steps"}

    slow = slow_stamps()
    checked = [without_count(s[1]) for s in committed_stamps() if s not in slow and gradient_steps(s) is not None]
    for _, overrides, _ in slow:
        assert without_count(overrides) in checked, f"{overrides}: no stamp that make test checks runs its code"


@pytest.mark.parametrize(("config", "overrides", "digest"), stamp_params())
def test_todays_code_trains_every_committed_run_as_it_was_trained(config, overrides, digest):
    assert behaviour_digest(config, overrides) == digest, (
        f"{config} {overrides} now trains differently: the committed runs stamped {digest} no longer describe this "
        "code; rerun their benchmark (bench/compare.py) or undo the change")


def test_a_change_in_what_training_does_moves_the_digest():
    assert behaviour_digest("default", json.dumps({"clip": 0.1})) != behaviour_digest("default")


def test_the_digest_runs_the_notebooks_training_cell():
    assert "TrainingRun(" in training_cell() and "agent.step(" in training_cell()
