"""Train the default config on several seeds by executing Tennis.ipynb (the one training loop) and tabulate.

Each seed runs `papermill Tennis.ipynb` as `make train` does (its budget in match steps, one torch thread) with
TENNIS_SEED / TENNIS_CONFIG / TENNIS_OVERRIDES, in its own folder runs/solve/<tag>/seed_<k>/ (checkpoints, curve,
history.json, executed notebook). A finished seed is not run again, and an interrupted one resumes from its resume
file, only when its folder's run_key.json says it was started with the same settings (config, overrides, seed,
budget, stop rules, threads) by code that trains the same (the behaviour digest); a folder of other settings is moved
aside, never mixed in. The table and the figure are written only where --table and --figure say.

Run: .venv/bin/python bench/solve.py [--config default] [--seeds 0 1 2 3 4] [--match-steps N] [--minutes M]
     .venv/bin/python bench/solve.py --seeds 0 1 2 3 4 5 6 7 8 9 --table results/solve_default.json \\
         --figure image/solve_default.png
     .venv/bin/python bench/solve.py --overrides '{"target_critic": true}' --tag target_critic --seeds 0 1
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from result_files import write_json  # noqa: E402

from behaviour_digest import behaviour_digest  # noqa: E402
from evaluation import Evaluation, evaluation_matches, first_solved, moving_average  # noqa: E402
from settings import NOTEBOOK_MINUTES, cell_timeout_seconds  # noqa: E402
from training_run import in_use_by_another_run  # noqa: E402

THREAD_VARIABLES = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")  # they change a run's numbers (TENNIS_THREADS: settings)


DIGESTS = ROOT / "runs" / "digests.json"  # behaviour digests by configuration and source, kept between commands


def source_hash() -> str:
    """sha256 of every file training runs: the root modules, the simulator package and the notebook. Any edit to them
    (even a comment) makes the cached digests of this code unusable, and they are computed again."""
    files = sorted([*ROOT.glob("*.py"), *(ROOT / "tennis_sim").glob("*.py"), ROOT / "Tennis.ipynb"])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def _digest(config: str, overrides: str) -> str:
    """The behaviour digest of a configuration: a short training run (minutes for a MADDPG with many gradient steps),
    so computed once per configuration and source, and kept in runs/digests.json for the next command."""
    key = f"{source_hash()} {config} {overrides}"
    cached = _cached_digests()
    if key in cached:
        return cached[key]
    value = behaviour_digest(config, overrides)
    DIGESTS.parent.mkdir(parents=True, exist_ok=True)
    write_json(DIGESTS, {**_cached_digests(), key: value})  # read again: another command may have added some meanwhile
    return value


def _cached_digests() -> dict[str, str]:
    try:
        return json.loads(DIGESTS.read_text()) if DIGESTS.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}  # a damaged cache is computed again


def run_key(config: str, seed: int, overrides: str, settings: dict[str, str]) -> dict:
    """Everything that decides a run's numbers: a finished run is reused only under the same key."""
    return dict(config=config, seed=seed, overrides=json.loads(overrides), settings=settings,
                threads={k: os.environ.get(k) for k in THREAD_VARIABLES}, defaults=_notebook_defaults(),
                behaviour=_digest(config, overrides))  # fmt: skip


def _notebook_defaults() -> str:
    """sha256 of the notebook's parameters cell: its defaults (the budget, the stop rules) decide a run too."""
    cells = json.loads((ROOT / "Tennis.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def set_aside_if_other(out: Path, key: dict) -> None:
    """Move a folder that holds a run of another key to <folder>.set-aside-<time>-<n>: kept, and never resumed."""
    key_file = out / "run_key.json"
    if not out.exists() or not any(out.iterdir()):
        return
    try:
        held = json.loads(key_file.read_text()) if key_file.is_file() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        held = {}  # a damaged key is another key: set aside, not trusted
    if held == key:
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = next(a for n in range(1, 1000) if not (a := out.with_name(f"{out.name}.set-aside-{stamp}-{n}")).exists())
    differs = sorted(k for k in key if held.get(k) != key[k]) if held else ["no readable run_key.json"]
    print(f"{out}: a run of other settings ({', '.join(differs)}); moved to {aside.name}", flush=True)
    out.rename(aside)


def run_seed(config: str, seed: int, out: Path, overrides: str = "{}", settings: dict[str, str] | None = None) -> dict:
    """The run's history: trained now unless `out` holds a finished run of the same key. `settings` are TENNIS_*
    variables for the notebook (the budget, the stop rules); unset ones keep the notebook's defaults."""
    settings = dict(settings or {})
    key = run_key(config, seed, overrides, settings)
    if in_use_by_another_run(out):
        raise SystemExit(f"{out} is being trained by another process now: wait for it, or use another --out or --tag")
    set_aside_if_other(out, key)
    history_file = out / "runs" / "history.json"
    if history_file.is_file():
        print(f"seed {seed}: already done with these settings ({history_file})", flush=True)
        return read_history_file(history_file)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run_key.json").write_text(json.dumps(key, indent=1) + "\n")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TENNIS_")}  # only the key's settings count
    env = dict(inherited, TENNIS_SEED=str(seed), TENNIS_CONFIG=config, TENNIS_OUTPUT_DIR=str(out), TENNIS_WATCH="0",
               TENNIS_PROGRESS="lines", TENNIS_OVERRIDES=overrides, **settings)  # fmt: skip
    print(f"seed {seed}: training {config} {overrides} {settings or '(the notebook defaults)'} -> {out}", flush=True)
    minutes = float(settings.get("TENNIS_MINUTES", NOTEBOOK_MINUTES))  # the child's, not this process's variable
    subprocess.run([sys.executable, "-m", "papermill", str(ROOT / "Tennis.ipynb"), str(out / "Tennis.ipynb"),
                    "--log-output", "--no-progress-bar", "--cwd", str(ROOT),
                    "--execution-timeout", str(cell_timeout_seconds(minutes))], env=env, check=True)  # fmt: skip
    return read_history_file(history_file)


def read_history_file(path: Path) -> dict:
    """A run's history.json, or an error that names it when it does not read (a damaged file is not trained over)."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SystemExit(f"{path} does not read as JSON ({err}): move its folder aside to train that seed again") from None


def json_object(text: str) -> str:
    """--overrides: a JSON object, given back as the text (it keys the run as written)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON ({err})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON object of config fields, e.g. '{{\"clip\": 0.1}}'")
    return text


def _fails(evaluation: dict) -> tuple[int | None, int | None]:
    """Evaluation episodes short of the ceiling among those that began with a serve, and with the ball in flight."""
    if "in_flight" not in evaluation:  # histories written before the flag existed
        return None, None
    flags = [np.asarray(evaluation[k], dtype=bool) for k in ("full_length", "in_flight")]
    (serve_full, serves), (flight_full, flights) = Evaluation(np.asarray(evaluation["scores"]), *flags).ceiling_by_start()
    return serves - serve_full, flights - flight_full


def _late_fails(evaluation: dict) -> int:
    """Evaluation episodes short of the ceiling that were a match's third or later rally: those a check of two rallies
    per match would never meet (`bench/check_rule.py` compares it with the notebook's five). The notebook plays the
    episodes in as many matches (at most 20) as divide them, match by match."""
    n = len(evaluation["scores"])
    per_match = n // evaluation_matches(n)
    return sum(not full and k % per_match >= 2 for k, full in enumerate(evaluation["full_length"]))


def epochs_to_solve(h: dict, solved_steps: int | None) -> float | None:
    """The mean passes over each learning step's batch (after KL early stopping) of the learning steps before the
    solve: how often an on-policy sample is learnt from. None for MADDPG, or a run that did not solve."""
    cfg = h["config"]
    if not solved_steps or not h.get("epochs") or "update_every" not in cfg:
        return None
    per_step = cfg["update_every"] * (cfg["num_matches"] + cfg.get("practice_matches", 0))  # match steps per learning step
    return float(np.mean(h["epochs"][: max(1, solved_steps // per_step)]))


def summarise(seed: int, h: dict) -> dict:
    """One run's row. A run that scored no episode, or was not evaluated (TENNIS_EVAL_EPISODES=0), has None there."""
    scores = np.asarray(h["scores"])
    solved = first_solved(scores)
    avg = moving_average(scores) if len(scores) else np.array([np.nan])
    full = avg[99:] if len(avg) >= 100 else avg[-1:]
    after = avg[solved - 1 :] if solved else np.array([np.nan])
    ceiling = h.get("ceiling_at")  # the first deterministic check with every rally at the ceiling
    evaluation = h.get("evaluation") or dict(average=None, scores=[], ceiling=None, full_length=[], in_flight=[])
    fail_serve, fail_flight = _fails(evaluation) if evaluation["scores"] else (None, None)
    return dict(
        seed=seed, episodes=solved, env_steps=h["env_steps"][solved - 1] if solved else None,
        episodes_all=h["all_episodes"][solved - 1] if solved and len(h.get("all_episodes") or []) == len(scores) else None,
        seconds=h["seconds"][solved - 1] if solved else None, best=float(full.max()), final=float(avg[-1]),
        min_after_solve=float(after.min()), ceiling_seconds=ceiling["seconds"] if ceiling else None,
        ceiling_episodes=ceiling["episodes"] if ceiling else None, eval_avg=evaluation["average"],
        eval_min=min(evaluation["scores"], default=None), eval_ceiling=evaluation.get("ceiling"),
        eval_episodes=len(evaluation["scores"]), fail_serve=fail_serve, fail_flight=fail_flight,
        fail_late=_late_fails(evaluation) if evaluation["scores"] else None,
        epochs_to_solve=epochs_to_solve(h, h["env_steps"][solved - 1] if solved else None),
        check_median=float(np.median([c["ceiling"] for c in h["checks"]])) if h["checks"] else None,
        train_seconds=h["train_seconds"],
    )  # fmt: skip


COLUMNS = ["seed", "episodes", "episodes_all", "env_steps", "seconds", "best", "final", "min_after_solve", "ceiling_seconds",
            "ceiling_episodes", "eval_avg", "eval_min", "eval_ceiling", "fail_serve", "fail_flight",
            "fail_late", "epochs_to_solve", "check_median", "train_seconds"]  # fmt: skip


def medians(rows: list[dict]) -> dict:
    """Median of each column over the seeds that have a value."""
    return {c: (float(np.median([r[c] for r in rows if r[c] is not None])) if any(r[c] is not None for r in rows) else None)
            for c in COLUMNS[1:]}  # fmt: skip


def print_table(rows: list[dict]) -> None:
    cols = COLUMNS

    def fmt(v: object) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "-"
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    print(" | ".join(f"{c:>10}"[:10] for c in cols))
    for r in rows:
        print(" | ".join(f"{fmt(r[c]):>10}" for c in cols))
    med = medians(rows)
    print(" | ".join(f"{v:>10}" for v in ["median", *[fmt(med[c]) for c in cols[1:]]]))
    print("fail_serve / fail_flight: evaluation episodes short of the ceiling that began with a serve / with the last "
          "rally's ball in flight; fail_late: those that were a match's third or later rally, unseen by a two-rally check")
    print(f"solved on {sum(r['episodes'] is not None for r in rows)} of {len(rows)} seeds; all check rallies at the "
          f"ceiling on {sum(r['ceiling_seconds'] is not None for r in rows)}; all evaluation episodes at the ceiling on "
          f"{sum(r['eval_ceiling'] == r['eval_episodes'] for r in rows)}")


def notebook_settings(minutes: float | None, match_steps: int | None, stop_average: float, stop_at_ceiling: bool,
                      check_every: int | None = None) -> dict:
    """The TENNIS_* variables of a budget: only those that differ from the notebook's defaults."""
    settings = {"TENNIS_MINUTES": minutes, "TENNIS_MATCH_STEPS": match_steps,
                "TENNIS_STOP_AVERAGE": stop_average or None, "TENNIS_STOP_AT_CEILING": None if stop_at_ceiling else "0",
                "TENNIS_CHECK_EVERY": check_every}
    return {k: str(v) for k, v in settings.items() if v is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default", help="default, seed_design, fast or mappo")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--match-steps", type=int, help="training budget per seed (default: the notebook's)")
    parser.add_argument("--minutes", type=float, help="wall-clock cap per seed (default: the notebook's)")
    parser.add_argument("--stop-average", type=float, default=0.0,
                        help="stop a seed once its 100-episode average reaches this (0: never)")
    parser.add_argument("--no-stop-at-ceiling", action="store_true",
                        help="train the whole budget even after a check found every rally at the ceiling")
    parser.add_argument("--check-every", type=int,
                        help="learning steps between deterministic checks (default: the notebook's, 10)")
    parser.add_argument("--overrides", default="{}", type=json_object,
                        help='JSON of HAPPOConfig fields to change, e.g. \'{"clip": 0.1}\'')
    parser.add_argument("--tag", default="", help="name of this variant (output folder and figure); default: the config")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "solve", help="where the runs are trained")
    parser.add_argument("--table", type=Path, help="write the table here as JSON, e.g. results/solve_default.json")
    parser.add_argument("--figure", type=Path, help="draw the curves here, e.g. image/solve_default.png")
    args = parser.parse_args()
    tag = args.tag or args.config
    settings = notebook_settings(args.minutes, args.match_steps, args.stop_average, not args.no_stop_at_ceiling,
                                 args.check_every)
    histories = {s: run_seed(args.config, s, args.out / tag / f"seed_{s}", args.overrides, settings) for s in args.seeds}
    print(f"\n{tag}: config {args.config}, overrides {args.overrides}, budget {settings or 'as make train'}; "
          "times are wall-clock seconds of training")
    rows = [summarise(s, h) for s, h in histories.items()]
    print_table(rows)
    if args.table:
        write_json(args.table, dict(command="bench/solve.py " + shlex.join(sys.argv[1:]), config=args.config,
                                    overrides=args.overrides, settings=settings, rows=rows, median=medians(rows)))  # fmt: skip
        print(f"table: {args.table}")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        from plotting import plot_runs

        fig = plot_runs({f"HAPPO {tag}": list(histories.values())}, title=f"HAPPO ({tag}), seeds {args.seeds}")
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.figure, dpi=120)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
