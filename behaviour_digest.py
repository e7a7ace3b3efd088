"""A digest of what training does, to key runs with: equal digests mean the code trains the same over a short run.

The digest runs the notebook's own training cell (Tennis.ipynb, the one training loop) on a fixed seed for a few
learning steps and past the academy's first step limit (5,000 decisions, where every match times out at once), with
a deterministic check and a resume file every few learning steps, and hashes the configuration's
name and overrides, every episode score and check, the last learning step's metrics, the weights the run keeps
(`agent.save`) and the trained actors. A refactor that keeps the digest keeps the runs it keys valid, as far as the
short run reaches (a change that acts only later, e.g. past a schedule's 100th learning step, escapes it); a change
that moves it says so (the test of the default's digest fails), and the benchmarks train the runs it keyed again.

Run with one torch thread (set here, and restored): a multi-threaded matrix product may round differently from one
thread count to another. The digest is a fact about this machine's floating point, like every match-step count the
docs quote: on another processor it may differ.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import math
import tempfile
from pathlib import Path

import torch

from checkpoints import weights_checksum
from tennis_sim.core import TennisParams

ROOT = Path(__file__).resolve().parent
NOTEBOOK = ROOT / "Tennis.ipynb"
LEARNING_STEPS = 3  # at least: enough for the schedules, the averaging and the optimisers' state to show
CHECK_EVERY = 5  # learning steps between the checks (and resume files) of the short run
SEED = 7


def training_cell(notebook: Path = NOTEBOOK) -> str:
    """The source of the notebook's training cell (the one that builds a TrainingRun)."""
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    found = [src for src in ("".join(c["source"]) for c in cells) if "TrainingRun(" in src]
    if len(found) != 1:
        raise RuntimeError(f"{notebook} must have exactly one training cell (one that builds a TrainingRun), "
                           f"found {len(found)}")
    return found[0]


def _match_steps(config: object) -> int:
    """Match steps of LEARNING_STEPS learning steps (after MADDPG's replay warm-up) or of the academy's first step
    limit and one more decision, whichever is more, rounded up to a whole learning step."""
    matches = config.num_matches + getattr(config, "practice_matches", 0)
    warm_up = 0 if hasattr(config, "buffer_steps") else math.ceil(max(config.batch_size, config.learn_start) / matches)
    decisions = max(warm_up + LEARNING_STEPS * config.update_every, TennisParams().academy_decisions + 1)
    return math.ceil(decisions / config.update_every) * config.update_every * matches


@functools.cache
def behaviour_digest(config_name: str = "default", overrides_json: str = "{}") -> str:
    """sha256 (12 hex digits) of a short run of `config_name` with `overrides_json` (the notebook's TENNIS_CONFIG and
    TENNIS_OVERRIDES), as the notebook trains it."""
    from happo_agent import HAPPOAgent, HAPPOConfig
    from maddpg_agent import MADDPGAgent, MADDPGConfig
    from tennis_sim.environment import make_env
    from training_run import RunLimits, TrainingRun

    overrides = {"seed": SEED, **json.loads(overrides_json)}
    if config_name == "maddpg":
        agent_class, config = MADDPGAgent, MADDPGConfig(**overrides)
    else:
        agent_class, config = HAPPOAgent, HAPPOConfig.named(config_name, **overrides)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(io.StringIO()):
            namespace = dict(
                TRAIN=True, UNITY_PATH="", config=config, Agent=agent_class, SEED=config.seed, make_env=make_env,
                brain_name="TennisBrain", env=None, OUTPUT_DIR=scratch, EPISODES=0, MINUTES=1e6,
                MATCH_STEPS=_match_steps(config), STOP_AT_CEILING=False, STOP_AVERAGE=0.0, CHECK_EVERY=CHECK_EVERY,
                CHECK_FROM=0.0, RESUME_EVERY=CHECK_EVERY, PROGRESS="lines", RunLimits=RunLimits, TrainingRun=TrainingRun,
            )  # fmt: skip
            exec(compile(training_cell(), str(NOTEBOOK), "exec"), namespace)  # noqa: S102 -- the project's own notebook
            agent, history = namespace["agent"], namespace["history"]
            kept = Path(scratch) / "runs" / "checkpoints"
            saved = {p.name: torch.load(p, weights_only=True) for p in sorted(kept.glob("*.pt"))}
            namespace["train_env"].close()
    finally:
        torch.set_num_threads(threads)
    for state in saved.values():
        state.pop("weights_sha256", None)
    # What the run did, not the configuration's spelling: a field that changes nothing (or moves) keeps the digest.
    run = {k: history[k] for k in ("seed", "learn_steps", "scores", "env_steps", "solved_at", "epochs")}
    run["named"] = [config_name, overrides]
    run["checks"] = [{k: v for k, v in c.items() if k != "seconds"} for c in history["checks"]]
    run["last_metrics"] = {k: repr(v) for k, v in namespace["run"].last_metrics.items()}
    digest = hashlib.sha256(json.dumps(run, sort_keys=True, default=repr).encode())
    digest.update(weights_checksum({"kept": saved, "actors": agent.actors.state_dict()}).encode())
    return digest.hexdigest()[:12]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="default")
    parser.add_argument("--overrides", default="{}", help='TENNIS_OVERRIDES as JSON, e.g. \'{"clip": 0.1}\'')
    args = parser.parse_args()
    print(behaviour_digest(args.config, args.overrides))
