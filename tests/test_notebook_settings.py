"""The notebook end to end under papermill: a seed and fields given as TENNIS_OVERRIDES reach the trained agent (HAPPO
and MADDPG), a field the chosen algorithm lacks is refused by name, and a kill during the evaluation is followed by a
rerun that continues from the finished training instead of training again."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICK = dict(TENNIS_EPISODES="300", TENNIS_MINUTES="5", TENNIS_CHECK_EVERY="0", TENNIS_EVAL_EPISODES="0",
             TENNIS_WATCH="0", TENNIS_PROGRESS="lines")  # fmt: skip


def papermill(out: Path, *parameters: str, **settings: str) -> subprocess.Popen:
    out.mkdir(exist_ok=True)
    env = dict(os.environ, **{**QUICK, **settings}, TENNIS_OUTPUT_DIR=str(out))
    with (out / "papermill.log").open("a") as log:
        return subprocess.Popen([sys.executable, "-m", "papermill", str(ROOT / "Tennis.ipynb"), str(out / "Tennis.ipynb"),
                                 "--cwd", str(ROOT), "--no-progress-bar", "--log-output", *parameters], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def saved_config(out: Path) -> dict:
    return json.loads((out / "runs" / "checkpoints" / "config.json").read_text())


def test_overrides_set_the_seed_and_fields_of_happo(tmp_path):
    out = tmp_path / "happo"
    assert papermill(out, TENNIS_SEED="0", TENNIS_OVERRIDES='{"seed": 3, "epochs": 2}').wait(timeout=300) == 0
    config, history = saved_config(out), json.loads((out / "runs" / "history.json").read_text())
    assert config["seed"] == 3 and config["epochs"] == 2 and history["seed"] == 3
    assert history["epochs"] and all(1 <= e <= 2 for e in history["epochs"])  # passes per learning step, KL-stopped
    # the environment cells (random play) use that seed too, not TENNIS_SEED's
    outputs = "".join("".join(o.get("text", "")) for c in json.loads((out / "Tennis.ipynb").read_text())["cells"]
                      for o in c.get("outputs", []))  # fmt: skip
    assert "of seed 3:" in outputs and "of seed 0:" not in outputs


def test_a_bad_seed_among_the_overrides_is_refused_before_any_cell_uses_it(tmp_path):
    run = papermill(tmp_path / "bad", TENNIS_OVERRIDES='{"seed": -1}')
    assert run.wait(timeout=300) != 0
    assert "TENNIS_OVERRIDES: seed=-1 must be a whole number" in (tmp_path / "bad" / "papermill.log").read_text()


def test_overrides_reach_maddpg_and_a_field_it_lacks_is_refused_by_name(tmp_path):
    out = tmp_path / "maddpg"
    run = papermill(out, TENNIS_CONFIG="maddpg", TENNIS_EPISODES="60", TENNIS_OVERRIDES='{"seed": 5, "batch_size": 64}')
    assert run.wait(timeout=300) == 0, (out / "papermill.log").read_text()[-3000:]
    config = saved_config(out)
    assert config["seed"] == 5 and config["batch_size"] == 64 and "clip" not in config

    refused = tmp_path / "refused"
    assert papermill(refused, TENNIS_CONFIG="maddpg", TENNIS_OVERRIDES='{"clip": 0.1}').wait(timeout=300) != 0
    assert "clip" in (refused / "papermill.log").read_text()


def evaluation_cell_number() -> int:
    """papermill's 1-based number of the evaluation cell (it counts every cell)."""
    cells = json.loads((ROOT / "Tennis.ipynb").read_text())["cells"]
    return next(i for i, c in enumerate(cells) if "evaluation = evaluate_agent(" in "".join(c["source"])) + 1


def test_a_kill_during_the_evaluation_keeps_the_training(tmp_path):
    out, settings = tmp_path / "run", dict(TENNIS_SEED="4", TENNIS_EVAL_EPISODES="1000", TENNIS_RESUME_EVERY="2")
    run, log = papermill(out, **settings), out / "papermill.log"
    marker, deadline = f"Executing Cell {evaluation_cell_number()}-", time.time() + 300
    while marker not in log.read_text():
        assert run.poll() is None and time.time() < deadline, "the run ended before its evaluation"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    progress = (out / "runs" / "progress.jsonl").read_text()
    assert (out / "runs" / "resume.pt").is_file(), "the training's resume file outlives the training cell"

    assert papermill(out, **settings).wait(timeout=300) == 0  # the same command again
    assert "Resumed from" in (out / "Tennis.ipynb").read_text()
    history = json.loads((out / "runs" / "history.json").read_text())
    assert (out / "runs" / "progress.jsonl").read_text() == progress, "the rerun did not train again"
    assert history["learn_steps"] == json.loads(progress.splitlines()[-1])["learn_steps"] and len(history["scores"]) >= 300
    assert len(history["evaluation"]["scores"]) == 1000 and not (out / "runs" / "resume.pt").exists()


def test_an_evaluation_without_training_keeps_what_is_in_the_folder_and_evaluates_its_agent(tmp_path):
    """TENNIS_TRAIN=0 into a folder that holds an interrupted run and a kept agent: the resume file stays, the folder's
    own agent is the one evaluated, no figure of that run is redrawn, and a link planted where the evaluation is
    written is replaced, not written through. A papermill parameter of the wrong kind is refused by name."""
    import shutil

    out = tmp_path / "run"
    (out / "runs").mkdir(parents=True)
    shutil.copytree(ROOT / "checkpoints", out / "checkpoints")
    (out / "runs" / "resume.pt").write_bytes(b"an interrupted run")
    victim = tmp_path / "notes.txt"
    victim.write_text("a user's notes\n")
    (out / "runs" / "evaluation.json").symlink_to(victim)
    history = dict(scores=[0.1, 0.0, 0.2], solved_at=None, checks=[], seed=7)  # an earlier run's, shown not redrawn
    (out / "runs" / "history.json").write_text(json.dumps(history))
    run = papermill(out, TENNIS_TRAIN="0", TENNIS_EVAL_EPISODES="2", TENNIS_WATCH="1")
    assert run.wait(timeout=300) == 0, (out / "papermill.log").read_text()[-3000:]
    assert (out / "runs" / "resume.pt").read_bytes() == b"an interrupted run"
    assert victim.read_text() == "a user's notes\n" and not (out / "runs" / "evaluation.json").is_symlink()
    assert json.loads((out / "runs" / "evaluation.json").read_text())["checkpoint"] == str(out / "checkpoints")
    assert not (out / "image").exists()  # neither the earlier run's curve nor the rally is written into the folder
    assert "the last run in" in (out / "Tennis.ipynb").read_text()  # its curve is shown under its own title

    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(120)",
                               str(out / ".training.lock")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"  # a training run holds the folder
        assert papermill(out, TENNIS_TRAIN="0", TENNIS_EVAL_EPISODES="2").wait(timeout=300) != 0
        assert "is in use by another training run" in (out / "papermill.log").read_text()
    finally:
        holder.kill()
        holder.wait()
    assert (out / "runs" / "resume.pt").read_bytes() == b"an interrupted run"

    refused = tmp_path / "refused"
    assert papermill(refused, "-p", "TRAIN", "false").wait(timeout=300) != 0
    assert "TRAIN='false' is not a boolean" in (refused / "papermill.log").read_text()
    assert not (refused / "runs").exists()
