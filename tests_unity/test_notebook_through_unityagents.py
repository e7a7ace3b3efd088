"""Tennis.ipynb end to end through the course's `unityagents` client and the headless build: a short training, and
the shipped agent's evaluation across the academy's 5,000-decision limit (where the client demands a reset)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def papermill(out: Path, build_dir: Path, **settings: str) -> str:
    env = dict(os.environ, TENNIS_UNITY_PATH=str(build_dir / "Tennis_Linux" / "Tennis.x86_64"),
               TENNIS_OUTPUT_DIR=str(out), TENNIS_PROGRESS="lines", TENNIS_WATCH="0", **settings)  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "papermill", str(ROOT / "Tennis.ipynb"), str(out / "Tennis.ipynb"),
                           "--cwd", str(ROOT), "--no-progress-bar", "--log-output"], env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout + done.stderr


def test_the_notebook_trains_through_unityagents(tmp_path, build_dir):
    log = papermill(tmp_path, build_dir, TENNIS_EPISODES="60", TENNIS_EVAL_EPISODES="3")
    assert "no resume files: a Unity build's state cannot be saved" in log  # said, since the README promises resumes
    history = json.loads((tmp_path / "runs" / "history.json").read_text())
    assert len(history["scores"]) >= 60 and history["env_steps"][-1] >= 60 * 13  # a rally lasts >= 13 decisions
    assert len(history["evaluation"]["scores"]) == 3
    assert (tmp_path / "checkpoints" / "happo.pt").is_file() and not (tmp_path / "runs" / "resume.pt").exists()


def test_the_shipped_agent_plays_across_the_academy_limit_through_unityagents(tmp_path, build_dir):
    papermill(tmp_path, build_dir, TENNIS_TRAIN="0", TENNIS_EVAL_EPISODES="6")
    evaluation = json.loads((tmp_path / "runs" / "evaluation.json").read_text())
    # each rally at the ceiling lasts 1,001 decisions: 5 of them cross the 5,000th decision, so the loop has reset
    assert len(evaluation["scores"]) == 6 and evaluation["ceiling"] >= 5
    assert not (tmp_path / "runs" / "history.json").exists(), "an evaluation-only run writes no training history"


def test_pip_installs_the_simulator_and_the_build_command_without_the_course_files(tmp_path):
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                           str(ROOT)], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    installed = {p.name for p in target.iterdir()}
    assert "tennis_sim" in installed and not installed & {"buffer.py", "networks.py", "checkpoints.py", "happo_agent.py"}
    assert (target / "bin" / "tennis-headless-build").is_file()
    env = dict(os.environ, PYTHONPATH=str(target))
    launcher = subprocess.run([sys.executable, "-m", "tennis_sim.headless_build", "--write", str(tmp_path / "T")],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert launcher.returncode == 0, launcher.stderr
    assert str(target) in (tmp_path / "T" / "Tennis.x86_64").read_text()  # the installed package, not this folder
