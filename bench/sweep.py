"""Hyperparameter sweep on Ray Tune: every trial executes Tennis.ipynb (the one training loop) with its own config.

A trial runs `papermill Tennis.ipynb` with TENNIS_OVERRIDES / TENNIS_SEED and follows the notebook's
runs/progress.jsonl, reporting each learning step to Tune: `avg100` (the course metric, the last 100 episodes),
`train_seconds` (the loop's wall-clock) and the latest deterministic check. ASHA compares trials at training-time
milestones and stops the hopeless ones. The default config is always the first trial, so the table answers
"is anything better than the default?". Results: runs/sweep/<name>/results.csv and best_config.json (Tune's own
files in runs/sweep/<name>/tune/).

Locally (this machine, one trial at a time):   .venv/bin/python bench/sweep.py --samples 8 --minutes 1.5
On a Ray cluster (the repo is shipped to the workers, whose Python must have requirements.txt installed):
    RAY_ADDRESS=ray://head:10001 .venv/bin/python bench/sweep.py --samples 64 --minutes 5 --cpus-per-trial 2
Needs `pip install -r requirements-sweep.txt`.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from happo_agent import HAPPOConfig  # noqa: E402

try:
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator
except ImportError as err:  # the sweep is optional: say how to get it
    raise SystemExit(f"bench/sweep.py needs Ray Tune ({err}): run  .venv/bin/pip install -r requirements-sweep.txt") from err

REPORTED = ("avg100", "train_seconds", "episodes", "env_steps", "learn_steps", "solved_seconds", "check", "ceiling_seconds")


def search_space() -> dict:
    """HAPPOConfig fields (and the seed) to sample; everything else keeps the default's value."""
    return {
        "num_matches": tune.choice([8, 16, 32]),
        "update_every": tune.choice([128, 256]),
        "minibatch_size": tune.choice([1024, 2048, 4096]),
        "epochs": tune.choice([3, 5, 8]),
        "actor_lr": tune.loguniform(5e-4, 5e-3),
        "critic_lr": tune.loguniform(5e-4, 5e-3),
        "clip": tune.choice([0.1, 0.2, 0.3]),
        "init_std": tune.choice([0.1, 0.15, 0.3, 0.5]),
        "seed": tune.randint(0, 5),
    }


def default_point() -> dict:
    """The default config's values of the sampled fields: Tune's first trial."""
    default = HAPPOConfig()
    return {key: getattr(default, key) for key in search_space()}


def _die_with_parent() -> None:  # the training must not outlive a trial that Tune stops or kills
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _progress_row(line: str, solved: dict) -> dict:
    row = json.loads(line)
    if row["solved_at"] is not None and "seconds" not in solved:
        solved["seconds"] = row["seconds"]
    return dict(avg100=row["avg100"], train_seconds=row["seconds"], episodes=row["episodes"], env_steps=row["env_steps"],
                learn_steps=row["learn_steps"], solved_seconds=solved.get("seconds"),
                check=row["check"], ceiling_seconds=row.get("ceiling_seconds"))  # fmt: skip


def run_trial(params: dict) -> None:
    """Tune's function trainable: train one config through the notebook and report every learning step."""
    params = dict(params)
    minutes, root = params.pop("minutes"), Path(params.pop("root"))
    if not (root / "Tennis.ipynb").is_file():  # on a cluster worker the repo is the runtime working_dir
        root = Path.cwd()
    seed = params.pop("seed")
    out = Path(tune.get_context().get_trial_dir())
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TENNIS_SEED=str(seed), TENNIS_CONFIG="default", TENNIS_MINUTES=str(minutes),
               TENNIS_OUTPUT_DIR=str(out), TENNIS_WATCH="0", TENNIS_PROGRESS="lines", TENNIS_EVAL_EPISODES="0",
               TENNIS_OVERRIDES=json.dumps(params), TENNIS_RESUME_EVERY="0")  # fmt: skip
    progress, log = out / "runs" / "progress.jsonl", (out / "papermill.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "papermill", str(root / "Tennis.ipynb"), str(out / "Tennis.ipynb"),
                             "--log-output", "--no-progress-bar", "--cwd", str(root)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent)  # fmt: skip
    done, solved = 0, {}
    try:
        while True:
            finished = proc.poll() is not None
            lines = progress.read_text().splitlines() if progress.is_file() else []
            for line in lines[done:]:
                tune.report(_progress_row(line, solved))
            done = len(lines)
            if finished:
                break
            time.sleep(0.5)
        if proc.returncode != 0:
            raise RuntimeError(f"the notebook failed (exit {proc.returncode}); see {out / 'papermill.log'}")
    finally:
        if proc.poll() is None:  # Tune stopped this trial: end the notebook's whole process group
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def rank(row: dict) -> tuple:
    """Best first: solved with every check rally at the ceiling sooner, else solved sooner, else the higher
    100-episode average."""
    inf = float("inf")
    solved, ceiling = row["solved_seconds"] or inf, row["ceiling_seconds"] or inf
    return max(solved, ceiling), solved, -(row["avg100"] or 0.0)


def write_results(results, out: Path) -> list[dict]:
    """One row per trial (its sampled config and its last report), best first (`rank`); also best_config.json."""
    rows = []
    for result in results:
        if result.metrics is None or "avg100" not in result.metrics:
            continue
        config = {k: v for k, v in result.config.items() if k not in ("minutes", "root")}
        rows.append({"default": config == default_point(), **config, **{k: result.metrics.get(k) for k in REPORTED}})
    rows.sort(key=rank)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    best = {k: v for k, v in rows[0].items() if k in search_space() and k != "seed"}
    (out / "best_config.json").write_text(json.dumps(best, indent=2))
    return rows


def print_table(rows: list[dict]) -> None:
    cols = ["default", *search_space(), "train_seconds", "avg100", "solved_seconds", "check", "ceiling_seconds"]

    def fmt(v: object) -> str:
        if v is None:
            return "-"
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    print(" ".join(f"{c[:12]:>12}" for c in cols))
    for r in rows:
        print(" ".join(f"{fmt(r[c]):>12}" for c in cols))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8, help="trials, the default config included")
    parser.add_argument("--minutes", type=float, default=1.5, help="training budget of one trial")
    parser.add_argument("--grace-minutes", type=float, default=0.5, help="ASHA: no trial stops before this")
    parser.add_argument("--cpus-per-trial", type=float, default=2, help="2 = one trial at a time on this machine")
    parser.add_argument("--name", default="sweep", help="<out>/<name>/ holds the results")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "sweep", help="where results and Tune's files go")
    parser.add_argument("--seed", type=int, default=0, help="seed of Tune's sampling of the search space")
    args = parser.parse_args()

    cluster = bool(os.environ.get("RAY_ADDRESS"))
    runtime_env = {"working_dir": str(ROOT), "excludes": [".venv/", "runs/", ".git/", "image/", "*.gif"]} if cluster else None
    ray.init(runtime_env=runtime_env, log_to_driver=False)  # RAY_ADDRESS set: join that cluster; else start a local one
    out = args.out.resolve() / args.name
    space = {**search_space(), "minutes": args.minutes, "root": str(ROOT)}
    scheduler = ASHAScheduler(time_attr="train_seconds", max_t=60 * args.minutes, grace_period=60 * args.grace_minutes,
                              reduction_factor=2)  # fmt: skip
    tuner = tune.Tuner(
        tune.with_resources(run_trial, {"cpu": args.cpus_per_trial}),
        param_space=space,
        tune_config=tune.TuneConfig(metric="avg100", mode="max", scheduler=scheduler, num_samples=args.samples,
                                    search_alg=BasicVariantGenerator(points_to_evaluate=[default_point()],
                                                                     random_state=args.seed)),  # fmt: skip
        run_config=tune.RunConfig(name=args.name, storage_path=str(out / "tune"), verbose=1),
    )
    results = tuner.fit()
    rows = write_results(results, out)
    print(f"\n{len(rows)} trials, {args.minutes} min each at most (ASHA stops the weakest at its milestones)")
    print_table(rows)
    best = json.loads((out / "best_config.json").read_text())
    default_rows = [r for r in rows if r["default"]]
    verdict = "the default itself" if rows[0]["default"] else (
        "ranked above the default" if default_rows else "the default trial did not report")
    print(f"\nbest config ({verdict}): {out / 'best_config.json'}")
    print(f"train it:  TENNIS_OVERRIDES='{json.dumps(best)}' make train")


if __name__ == "__main__":
    main()
