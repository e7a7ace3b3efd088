"""Hyperparameter sweep on Ray Tune: every trial executes Tennis.ipynb (the one training loop) with its own config.

A trial runs `papermill Tennis.ipynb` with TENNIS_OVERRIDES / TENNIS_SEED and follows the notebook's
runs/progress.jsonl, reporting each learning step to Tune: `avg100` (the course metric, the last 100 episodes),
`train_seconds` (the loop's wall-clock) and the latest deterministic check. ASHA compares trials at training-time
milestones and stops the hopeless ones. The default config is always the first trial, so the table answers
"is anything better than the default?". Results: runs/sweep/<name>/results.csv and best_config.json (Tune's own
files in runs/sweep/<name>/tune/).

Locally (this machine, one trial at a time):   .venv/bin/python bench/sweep.py --samples 8 --minutes 1.5
--algo mappo searches HAPPO's space for the MAPPO ablation; --algo maddpg searches MADDPG's own.
On a Ray cluster, as a Ray job (Ray ships the repo to the nodes; every node's Python needs requirements.txt and
requirements-sweep.txt, and --out must be a folder every node can write, e.g. NFS):
    ray job submit --address http://HEAD:8265 --working-dir . -- \
        python bench/sweep.py --samples 64 --minutes 5 --cpus-per-trial 2 --out /shared/sweeps
A trial whose node dies is run again from its start (--max-failures times); `attempts` in results.csv counts them.
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
from maddpg_agent import MADDPGConfig  # noqa: E402

try:
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator
except ImportError as err:  # the sweep is optional: say how to get it
    raise SystemExit(f"bench/sweep.py needs Ray Tune ({err}): run  .venv/bin/pip install -r requirements-sweep.txt") from err

REPORTED = ("avg100", "train_seconds", "episodes", "env_steps", "learn_steps", "solved_seconds", "check", "ceiling_seconds",
            "attempts")  # fmt: skip


# --algo: the notebook's TENNIS_CONFIG and the config class whose defaults are the first trial
ALGOS = {"happo": ("default", HAPPOConfig), "mappo": ("mappo", HAPPOConfig), "maddpg": ("maddpg", MADDPGConfig)}


def search_space(algo: str = "happo") -> dict:
    """Config fields (and the seed) to sample; everything else keeps the default's value. HAPPO and MAPPO share one
    space, so that a MAPPO-tuned run gets exactly HAPPO's search."""
    if algo == "maddpg":
        return {
            "num_matches": tune.choice([8, 16]),
            "batch_size": tune.choice([128, 256, 512]),
            "gradient_steps": tune.choice([32, 64]),  # per 32 vector steps: one or two per vector step
            "actor_lr": tune.loguniform(1e-4, 3e-3),
            "critic_lr": tune.loguniform(3e-4, 3e-3),
            "tau": tune.choice([0.005, 0.01, 0.02]),
            "ou_sigma": tune.choice([0.1, 0.2, 0.3]),
            "noise_decay_steps": tune.choice([200_000, 500_000, 1_000_000]),
            # layer sizes as text: Tune reads a tuple in the default's point as a nested path and fails
            "critic_hidden": tune.choice(["128x128", "256x128", "400x300"]),
            "seed": tune.randint(0, 5),
        }
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


def default_point(algo: str = "happo") -> dict:
    """The algorithm's default config's values of the sampled fields: Tune's first trial."""
    name, config_class = ALGOS[algo]
    default = HAPPOConfig.named(name) if config_class is HAPPOConfig else config_class()
    point = {key: getattr(default, key) for key in search_space(algo)}
    return {key: "x".join(map(str, v)) if isinstance(v, tuple) else v for key, v in point.items()}


def config_overrides(params: dict) -> dict:
    """A sampled point as config fields (TENNIS_OVERRIDES): layer sizes written "256x128" become [256, 128]."""
    return {key: [int(n) for n in v.split("x")] if key == "critic_hidden" else v for key, v in params.items()}


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
    minutes, root, attempts = params.pop("minutes"), Path(params.pop("root")), Path(params.pop("attempts"))
    config = ALGOS[params.pop("algo")][0]
    if not (root / "Tennis.ipynb").is_file():  # on a cluster worker the repo is the runtime working_dir
        root = Path.cwd()
    seed = params.pop("seed")
    out = Path(tune.get_context().get_trial_dir())
    out.mkdir(parents=True, exist_ok=True)
    attempts.mkdir(parents=True, exist_ok=True)  # in --out, which every node sees: counts the trial's starts
    with (attempts / tune.get_context().get_trial_id()).open("a") as f:
        f.write(f"{os.uname().nodename} {os.getpid()}\n")
    attempt = len((attempts / tune.get_context().get_trial_id()).read_text().splitlines())
    env = dict(os.environ, TENNIS_SEED=str(seed), TENNIS_CONFIG=config, TENNIS_MINUTES=str(minutes),
               TENNIS_OUTPUT_DIR=str(out), TENNIS_WATCH="0", TENNIS_PROGRESS="lines", TENNIS_EVAL_EPISODES="0",
               TENNIS_OVERRIDES=json.dumps(config_overrides(params)), TENNIS_RESUME_EVERY="0")  # fmt: skip
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
                tune.report({**_progress_row(line, solved), "attempts": attempt})
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


def write_results(results, out: Path, algo: str = "happo") -> list[dict]:
    """One row per trial (its sampled config and its last report), best first (`rank`); also best_config.json."""
    rows = []
    for result in results:
        if result.metrics is None or "avg100" not in result.metrics:
            continue
        config = {k: v for k, v in result.config.items() if k not in ("minutes", "root", "attempts", "algo")}
        rows.append({"default": config == default_point(algo), **config,
                     **{k: result.metrics.get(k) for k in REPORTED}})  # fmt: skip
    rows.sort(key=rank)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    best = config_overrides({k: v for k, v in rows[0].items() if k in search_space(algo) and k != "seed"})
    (out / "best_config.json").write_text(json.dumps(best, indent=2))
    return rows


def print_table(rows: list[dict], algo: str = "happo") -> None:
    cols = ["default", *search_space(algo), "train_seconds", "avg100", "solved_seconds", "check", "ceiling_seconds"]

    def fmt(v: object) -> str:
        if v is None:
            return "-"
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    print(" ".join(f"{c[:12]:>12}" for c in cols))
    for r in rows:
        print(" ".join(f"{fmt(r[c]):>12}" for c in cols))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=list(ALGOS), default="happo",
                        help="the algorithm tuned: happo (TENNIS_CONFIG=default), mappo or maddpg")
    parser.add_argument("--samples", type=int, default=8, help="trials, the default config included")
    parser.add_argument("--minutes", type=float, default=1.5, help="training budget of one trial")
    parser.add_argument("--grace-minutes", type=float, default=0.5, help="ASHA: no trial stops before this")
    parser.add_argument("--cpus-per-trial", type=float, default=2, help="2 = one trial at a time on this machine")
    parser.add_argument("--name", default="sweep", help="<out>/<name>/ holds the results")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "sweep", help="where results and Tune's files go")
    parser.add_argument("--seed", type=int, default=0, help="seed of Tune's sampling of the search space")
    parser.add_argument("--max-failures", type=int, default=2,
                        help="times a trial is run again after its node or process died")
    args = parser.parse_args()

    # In a Ray job (ray job submit) RAY_ADDRESS names the cluster and the job's working_dir is every task's;
    # otherwise a Ray of our own, never a cluster that happens to run on this machine.
    ray.init(address=os.environ.get("RAY_ADDRESS") or "local", log_to_driver=False)
    out = args.out.resolve() / args.name
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)  # a job's working_dir can be deleted under it when a node dies; Tune needs a current directory
    space = {**search_space(args.algo), "algo": args.algo, "minutes": args.minutes, "root": str(ROOT),
             "attempts": str(out / "attempts")}  # fmt: skip
    scheduler = ASHAScheduler(time_attr="train_seconds", max_t=60 * args.minutes, grace_period=60 * args.grace_minutes,
                              reduction_factor=2)  # fmt: skip
    tuner = tune.Tuner(
        tune.with_resources(run_trial, {"cpu": args.cpus_per_trial}),
        param_space=space,
        tune_config=tune.TuneConfig(metric="avg100", mode="max", scheduler=scheduler, num_samples=args.samples,
                                    search_alg=BasicVariantGenerator(points_to_evaluate=[default_point(args.algo)],
                                                                     random_state=args.seed)),  # fmt: skip
        run_config=tune.RunConfig(name=args.name, storage_path=str(out / "tune"), verbose=1,
                                  failure_config=tune.FailureConfig(max_failures=args.max_failures)),
    )
    results = tuner.fit()
    rows = write_results(results, out, args.algo)
    print(f"\n{len(rows)} trials, {args.minutes} min each at most (ASHA stops the weakest at its milestones)")
    print_table(rows, args.algo)
    best = json.loads((out / "best_config.json").read_text())
    default_rows = [r for r in rows if r["default"]]
    verdict = "the default itself" if rows[0]["default"] else (
        "ranked above the default" if default_rows else "the default trial did not report")
    print(f"\nbest config ({verdict}): {out / 'best_config.json'}")
    print(f"train it:  TENNIS_CONFIG={ALGOS[args.algo][0]} TENNIS_OVERRIDES='{json.dumps(best)}' make train")


if __name__ == "__main__":
    main()
