"""Killing the notebook's training mid-way and running the same command again gives the uninterrupted run's curve."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = dict(TENNIS_SEED="3", TENNIS_EPISODES="2500", TENNIS_MINUTES="10", TENNIS_RESUME_EVERY="2",
                TENNIS_CHECK_EVERY="2", TENNIS_CHECK_FROM="0", TENNIS_EVAL_EPISODES="0", TENNIS_WATCH="0",
                TENNIS_PROGRESS="lines")  # fmt: skip


def papermill(out: Path) -> subprocess.Popen:
    out.mkdir(exist_ok=True)
    env = dict(os.environ, **SETTINGS, TENNIS_OUTPUT_DIR=str(out))
    with (out / "papermill.log").open("a") as log:  # read it when a run fails
        return subprocess.Popen([sys.executable, "-m", "papermill", str(ROOT / "Tennis.ipynb"), str(out / "Tennis.ipynb"),
                                 "--cwd", str(ROOT), "--no-progress-bar", "--log-output"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def without_clock(run: Path) -> tuple:
    """The run's curve, checks and progress lines, without the wall-clock entries that differ between runs."""
    history = json.loads((run / "runs" / "history.json").read_text())
    progress = [json.loads(line) for line in (run / "runs" / "progress.jsonl").read_text().splitlines()]
    untimed = [{k: v for k, v in row.items() if k not in ("seconds", "ceiling_seconds")} for row in progress]
    checks = [{k: v for k, v in c.items() if k != "seconds"} for c in history["checks"]]
    return history["scores"], history["env_steps"], history["all_episodes"], history["solved_at"], checks, untimed


def test_the_notebook_resumes_after_a_kill(tmp_path):
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    assert papermill(reference).wait(timeout=300) == 0

    run = papermill(interrupted)
    resume_file, progress = interrupted / "runs" / "resume.pt", interrupted / "runs" / "progress.jsonl"
    deadline = time.time() + 300
    while not (resume_file.is_file() and len(progress.read_text().splitlines()) >= 5):  # past a resume point
        assert run.poll() is None and time.time() < deadline, "the run ended before it could be interrupted"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)  # no clean-up of any kind: like a power cut
    run.wait()
    assert not (interrupted / "runs" / "history.json").exists()

    assert papermill(interrupted).wait(timeout=300) == 0  # the same command again
    executed = (interrupted / "Tennis.ipynb").read_text()
    assert "Resumed from" in executed
    assert not resume_file.exists()  # a finished run leaves no resume file behind
    resumed, uninterrupted = without_clock(interrupted), without_clock(reference)
    assert len(uninterrupted[0]) >= 2500 and len(uninterrupted[4]) >= 2  # the run learned and was checked
    assert resumed == uninterrupted
