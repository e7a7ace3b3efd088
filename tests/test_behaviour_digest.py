"""The behaviour digest: every committed run is stamped with the digest of the code that trained it, and the code of
today must still train each of them the same. A refactor that keeps these tests green keeps every committed number."""

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
    return sorted(stamps)


def test_the_defaults_runs_are_among_the_stamped_ones():
    assert ("default", "{}") in {(config, overrides) for config, overrides, _ in committed_stamps()}


@pytest.mark.parametrize(("config", "overrides", "digest"), committed_stamps())
def test_todays_code_trains_every_committed_run_as_it_was_trained(config, overrides, digest):
    assert behaviour_digest(config, overrides) == digest, (
        f"{config} {overrides} now trains differently: the committed runs stamped {digest} no longer describe this "
        "code; rerun their benchmark (bench/compare.py) or undo the change")


def test_a_change_in_what_training_does_moves_the_digest():
    assert behaviour_digest("default", json.dumps({"clip": 0.1})) != behaviour_digest("default")


def test_the_digest_runs_the_notebooks_training_cell():
    assert "TrainingRun(" in training_cell() and "agent.step(" in training_cell()
