"""The Ray Tune sweep end to end on this machine: two tiny trials through the notebook, results and best config."""

import csv
import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from happo_agent import HAPPOConfig

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("ray.tune", reason="Ray Tune is optional: pip install -r requirements-sweep.txt")


def test_a_two_trial_sweep_reports_every_trial_and_writes_a_usable_best_config(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "sweep.py"), "--samples", "2", "--minutes", "0.3",
                          "--grace-minutes", "0.15", "--out", str(tmp_path), "--name", "smoke"],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with (tmp_path / "smoke" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert [r["default"] for r in rows].count("True") == 1  # the default config is always one of the trials
    for r in rows:  # a trial stops at its budget; the learning step under way finishes (slowly on a busy machine)
        assert float(r["learn_steps"]) >= 1 and float(r["episodes"]) > 0 and 0 < float(r["train_seconds"]) <= 0.3 * 60 + 15
    best = json.loads((tmp_path / "smoke" / "best_config.json").read_text())
    assert set(best) <= {f.name for f in fields(HAPPOConfig)}
    assert HAPPOConfig(**best).num_matches == int(rows[0]["num_matches"])  # the best row, usable as TENNIS_OVERRIDES
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert left == "", f"trainings left running after the sweep: {left}"


def test_a_maddpg_sweep_starts_from_the_defaults_and_its_best_config_is_a_maddpg_config(tmp_path):
    from maddpg_agent import MADDPGConfig

    run = subprocess.run([sys.executable, str(ROOT / "bench" / "sweep.py"), "--algo", "maddpg", "--samples", "1",
                          "--minutes", "0.3", "--grace-minutes", "0.15", "--out", str(tmp_path), "--name", "maddpg"],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with (tmp_path / "maddpg" / "results.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    assert row["default"] == "True" and row["critic_hidden"] == "256x128" and float(row["episodes"]) > 0
    best = json.loads((tmp_path / "maddpg" / "best_config.json").read_text())
    assert MADDPGConfig(**{**best, "critic_hidden": tuple(best["critic_hidden"])}) == MADDPGConfig()
