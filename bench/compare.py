"""The Report's multi-arm comparisons, trained by the current code: runs, tables (CSV and JSON) and figures.

A study trains several arms (a config and its overrides) on the same seeds with the same budget; every run executes
Tennis.ipynb, the one training loop, through bench/solve.py's runner. Seeds are the outer loop, so a busy machine
slows every arm alike. A finished run is reused only when it was trained by code that trains the same: its folder records
the arm's behaviour digest (behaviour_digest.py: a short run of the notebook's training cell, hashed), and a run
stamped with another digest is trained again. Rerun the command to
continue after an interruption. For each study the command prints its tables (per run, and per arm: medians with
bootstrap 95 % intervals, Mann-Whitney U against the first arm); with --results it also writes
results/compare_<study>.json and .csv and draws image/compare_<study>.png (against match steps) and
image/compare_<study>_wallclock.png; the changes and frontier studies also count the seeds of each arm that meet each
goal of a dependable agent (GOALS) and draw image/compare_<study>_goals.png. An arm may have a budget of its own
(MADDPG needs minutes to solve), and a study notebook settings of its own.

Run: .venv/bin/python bench/compare.py --results    # every study but design_std, maddpg_utd, fair_maddpg (~2 h each)
     .venv/bin/python bench/compare.py --study changes --seeds 0 1 2     # prints only: results/ stays as it is
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from result_files import write_csv, write_json  # noqa: E402
from solve import ROOT, run_seed, summarise  # noqa: E402
from stats import bootstrap_median, bootstrap_median_ratio, mann_whitney_u  # noqa: E402


@dataclass(frozen=True)
class Study:
    """Arms trained on the same seeds and budget; the first arm is the reference of the rank tests."""

    arms: dict  # label -> (TENNIS_CONFIG, TENNIS_OVERRIDES as JSON)
    seeds: tuple
    minutes: float  # training budget per run
    match_steps: int = 0  # or this many match steps, whichever comes first (0: no step limit)
    stop_at_ceiling: bool = True  # as `make train`: stop once solved and a check has every rally at the ceiling
    goals: bool = False  # also count, per arm, the seeds that meet each goal of GOALS and draw the frontier figure
    note: str = ""
    threads: dict = field(default_factory=lambda: {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"})
    arm_minutes: dict = field(default_factory=dict)  # label -> a budget of its own (MADDPG needs minutes to solve)
    settings: dict = field(default_factory=dict)  # more TENNIS_* variables of the notebook, for every arm

    def budget(self, label: str) -> float:
        return self.arm_minutes.get(label, self.minutes)


STUDIES = {
    "happo_mappo": Study(
        arms={"HAPPO": ("default", "{}"), "MAPPO (M = 1)": ("mappo", "{}"), "HAPPO, fixed order": ("fixed_order", "{}")},
        seeds=tuple(range(10)), minutes=45.0, match_steps=2_000_000, settings={"TENNIS_STOP_AVERAGE": "0.5"},
        note="the tuned default against the same hyperparameters without the factor M, and with agent 0 always first; "
             "each run stopped at the solve and evaluated there"),
    "design": Study(
        arms={"seed_design (std 0.01)": ("seed_design", "{}"),
              "seed_design_big_std (std 0.1)": ("seed_design_big_std", "{}")},
        seeds=(0, 1, 2), minutes=20.0, match_steps=2_000_000,
        note="the design's values verbatim, and with the bigger exploration std that scored best in bench/compare.py "
             "--study design_std (best 100-episode average and evaluation average of 0.1, 0.3, 0.5, 1.0)"),
    "design_std": Study(
        arms={f"seed_design, std {s}": ("seed_design", json.dumps({"init_std": s})) for s in (0.1, 0.3, 0.5, 1.0)},
        seeds=(100,), minutes=5.0,
        note="the small search that picks the design's big std, on a seed the design study does not use"),
    "frontier": Study(
        arms={"default (std 0.5, 8 practice)": ("default", "{}"),
              "fast (std 0.15, no practice)": ("fast", "{}"),
              "std 0.5, no practice": ("default", json.dumps({"practice_matches": 0})),
              "std 0.5, 16 practice": ("default", json.dumps({"practice_matches": 16})),
              "std 0.5, 32 practice": ("default", json.dumps({"practice_matches": 32}))},
        seeds=(0, 1, 2, 3, 4), minutes=30.0, match_steps=2_000_000, stop_at_ceiling=False, goals=True,
        note="speed against robustness: the exploration std and the number of practice matches, each run for the "
             "whole budget (in match steps, so that a busy machine trains as far) so that what follows the solve is "
             "measured"),
    "changes": Study(
        arms={"learnt std, no averaging": ("default", json.dumps({"std_end": 0.0, "policy_average": 0.0})),
              "default (annealed std, averaged policy)": ("default", "{}"),
              "annealed std only": ("default", json.dumps({"policy_average": 0.0})),
              "averaged policy only": ("default", json.dumps({"std_end": 0.0})),
              "10 epochs only": ("default", json.dumps({"std_end": 0.0, "policy_average": 0.0, "epochs": 10})),
              "MADDPG": ("maddpg", "{}")},
        seeds=(0, 1, 2, 3, 4), minutes=2.5, stop_at_ceiling=False, goals=True, arm_minutes={"MADDPG": 5.0},
        note="each change to the configuration without them (first arm), one at a time and together, and MADDPG "
             "(5 minutes: it needs minutes to solve); each run trains its whole budget so that what follows the "
             "solve is measured"),
    "maddpg_utd": Study(
        arms={f"MADDPG, {utd:g} gradient steps per match step": (
            "maddpg", json.dumps({"practice_matches": 8, "gradient_steps": int(utd * 32 * 24)}))
            for utd in (0.125, 0.25, 0.5, 1.0)},
        seeds=(0, 1), minutes=45.0, match_steps=2_000_000, settings={"TENNIS_STOP_AVERAGE": "0.5"},
        note="MADDPG with HAPPO's 8 practice matches (16 scored + 8 practice = 24 matches, 768 match steps per learning "
             "step of 32 decisions) at four update-to-data ratios (gradient steps of batch 128 per stored match step), "
             "each run stopped at the solve"),
    "fair_maddpg": Study(
        arms={"MADDPG, 0.25 gradient steps per match step": (
                  "maddpg", json.dumps({"practice_matches": 8, "gradient_steps": 192})),
              "HAPPO (default)": ("default", "{}")},
        seeds=(0, 1, 2, 3, 4), minutes=45.0, match_steps=2_000_000, settings={"TENNIS_STOP_AVERAGE": "0.5"},
        note="HAPPO against a MADDPG given what HAPPO gets (the same 16 scored and 8 practice matches, episodes counted "
             "with practice rallies too, both stopped at the solve and evaluated there, no check before it), at the "
             "cheapest in seconds of the ratios (0.25, 0.5, 1) that solved near one another in the maddpg_utd study"),
}  # fmt: skip


def train(study: Study, label: str, seed: int, out: Path) -> dict:
    """The run's history, trained now unless `out` holds a finished run of the same settings and of code that trains
    the same (`solve.run_seed` keys it, the behaviour digest included)."""
    (config, overrides), minutes = study.arms[label], study.budget(label)
    settings = {"TENNIS_MINUTES": f"{minutes:g}", "TENNIS_MATCH_STEPS": str(study.match_steps),
                "TENNIS_STOP_AT_CEILING": "1" if study.stop_at_ceiling else "0", **study.threads,
                **study.settings}  # fmt: skip
    history = run_seed(config, seed, out, overrides, settings)
    return {**history, "behaviour": json.loads((out / "run_key.json").read_text())["behaviour"]}


ARM_COLUMNS = {"seconds": "training seconds to solve", "env_steps": "match steps to solve",
               "episodes": "episodes to solve", "episodes_all": "episodes to solve, practice rallies included",
               "eval_avg": "evaluation average (100 unseen-seed episodes)",
               "eval_ceiling": "evaluation episodes at the ceiling"}  # fmt: skip


RATIO_COLUMNS = ("seconds", "env_steps", "episodes", "episodes_all")  # positive once solved: their ratios mean "times as long"


def summarise_arms(study: Study, rows: dict[str, list[dict]]) -> dict:
    """Per arm: solved count, and for every column the median with its bootstrap 95 % interval and, for arms after
    the first, Mann-Whitney U and its two-sided p against the first arm and, when every run of both has a value, the
    ratio of the medians to the first arm's with its bootstrap 95 % interval (for the columns of how long it took to
    solve). An unsolved run counts as +inf."""
    reference = next(iter(rows))
    summary = {}
    for label, arm_rows in rows.items():
        arm = {"solved": sum(r["episodes"] is not None for r in arm_rows), "runs": len(arm_rows)}
        for col in ARM_COLUMNS:
            if any(r["episodes"] is not None and r[col] is None for r in rows[reference] + arm_rows):
                arm[col] = {"median": None, "ci95": [None, None], "unknown": True}  # a solved run did not record it
                continue
            values = [np.inf if r[col] is None else float(r[col]) for r in arm_rows]
            median, low, high = bootstrap_median(values)
            arm[col] = {"median": median, "ci95": [low, high]}
            if label != reference:
                ref = [np.inf if r[col] is None else float(r[col]) for r in rows[reference]]
                u, p = mann_whitney_u(values, ref)
                arm[col].update(u_vs_first=u, p_vs_first=p)
                if col in RATIO_COLUMNS and np.isfinite(values + ref).all():  # every run of both solved
                    ratio, low, high = bootstrap_median_ratio(values, ref)
                    arm[col]["ratio_to_first"] = {"median": ratio, "ci95": [low, high]}
        summary[label] = arm
    return summary


def finite_or_none(value: object) -> object:
    """JSON has no infinity: an unsolved median or interval end is written as null."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    return None if isinstance(value, float) and not np.isfinite(value) else value


def fmt(v: float | None) -> str:
    return "-" if v is None else "unsolved" if v == np.inf else f"{v:.4g}"  # None: a column the runs did not record


def markdown_table(results: dict) -> str:
    """The Report's table of a study from its results JSON: per arm, the solved count and each column's median
    [bootstrap 95 % interval], with Mann-Whitney's two-sided p against the first arm."""

    def cell(c: dict, digits: str) -> str:
        if c.get("unknown"):
            return "-"
        show = lambda v: "unsolved" if v is None else f"{v:{digits}}"  # noqa: E731
        test = f", p = {c['p_vs_first']:.2f}" if "p_vs_first" in c else ""
        return f"{show(c['median'])} [{show(c['ci95'][0])}, {show(c['ci95'][1])}]{test}"

    formats = {"seconds": ".1f", "env_steps": ",.0f", "episodes": ",.0f", "episodes_all": ",.0f", "eval_avg": ".2f",
               "eval_ceiling": ".0f"}
    first = next(iter(results["summary"].values()))
    formats = {c: f for c, f in formats.items() if c in first}  # files written before a column existed lack it
    lines = ["| arm | solved | " + " | ".join(ARM_COLUMNS[c] for c in formats) + " |",
             "|---|---|" + "---|" * len(formats)]  # fmt: skip
    for label, arm in results["summary"].items():
        lines.append(f"| {label} | {arm['solved']} of {arm['runs']} | "
                     + " | ".join(cell(arm[c], f) for c, f in formats.items()) + " |")  # fmt: skip
    return "\n".join(lines)


def runs_table(results: dict) -> str:
    """The Report's per-run table of a study from its results JSON, for studies where few runs solve: how far each
    run trained and how good its exploring and its deterministic policy became."""
    lines = ["| arm | seed | match steps trained | best 100-episode average | final 100-episode average | "
             "evaluation average | evaluation episodes at the ceiling |", "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in results["runs"]:
        evaluated = "-" if r["eval_avg"] is None else f"{r['eval_avg']:.2f}"  # TENNIS_EVAL_EPISODES=0
        lines.append(f"| {r['arm']} | {r['seed']} | {r['steps_trained']:,} | {r['best']:.2f} | {r['final']:.2f} | "
                     f"{evaluated} | {r['eval_ceiling']} of {r['eval_episodes']} |")  # fmt: skip
    return "\n".join(lines)


# What a dependable agent does on every seed: each counts the seeds of an arm that meet it.
GOALS = {
    "solved": lambda r: r["episodes"] is not None,
    "evaluation 100 of 100 at the ceiling": lambda r: r["eval_ceiling"] == r["eval_episodes"],
    "a check with every rally at the ceiling": lambda r: r["ceiling_seconds"] is not None,
    "never below 0.5 after solving": lambda r: r["episodes"] is not None and r["min_after_solve"] >= 0.5,
}  # fmt: skip


def arm_runs(results: dict, label: str) -> list[dict]:
    """The per-run rows of one arm of a results JSON."""
    return [r for r in results["runs"] if r["arm"] == label]


def goals_table(results: dict) -> str:
    """The Report's table of how many seeds of each arm meet each goal, from the per-run rows of a results JSON."""
    lines = ["| arm | median seconds to solve | " + " | ".join(GOALS) + " |", "|---|---:|" + "---:|" * len(GOALS)]
    for label, arm in results["summary"].items():
        runs = arm_runs(results, label)
        median = arm["seconds"]["median"]
        lines.append(f"| {label} | {'unsolved' if median is None else f'{median:.1f}'} | "
                     + " | ".join(f"{sum(map(met, runs))} of {len(runs)}" for met in GOALS.values()) + " |")  # fmt: skip
    return "\n".join(lines)


def frontier_figure(results: dict, path: Path) -> None:
    """Each arm's seeds as points of (match steps to solve, evaluation episodes at the ceiling), its medians as a
    large marker, and 100 of 100 marked; with a MADDPG arm, its median match steps too (a goal is to need fewer)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    unsolved = max(r["steps_trained"] for r in results["runs"])
    for label, arm in results["summary"].items():
        runs = arm_runs(results, label)
        xs = [unsolved if r["env_steps"] is None else r["env_steps"] for r in runs]
        (dots,) = ax.plot(xs, [r["eval_ceiling"] for r in runs], "o", alpha=0.45, ms=5)
        x, y = arm["env_steps"]["median"] or unsolved, arm["eval_ceiling"]["median"]
        ax.plot(x, y, "D", ms=10, color=dots.get_color(), mec="black", label=f"{label} (median)")
        if label == "MADDPG":
            ax.axvline(x, color=dots.get_color(), ls=":", lw=1)
    ax.axhline(100, color="tab:green", ls="--", lw=1)
    ax.set_xlabel("match steps to solve (on this machine and thread count: independent of its load)")
    ax.set_ylabel("evaluation episodes at the ceiling (of 100)")
    ax.set_title(f"samples against robustness, seeds {results['seeds']}: best is top left")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(name: str, study: Study, histories: dict[str, list[dict]], write: bool) -> None:
    """Print the study's tables; with `write`, also its results/ files and image/ figures."""
    rows = {label: [summarise(s, h) for s, h in zip(study.seeds, hs)] for label, hs in histories.items()}
    summary = summarise_arms(study, rows)
    first = next(iter(rows))
    print(f"\n{name}: {study.note}")
    print(f"seeds {list(study.seeds)}, budget {study.minutes} min" + (f" or {study.match_steps:,} match steps"
          if study.match_steps else "") + f", threads {study.threads}; median [bootstrap 95 % interval], "
          f"Mann-Whitney two-sided p against {first}")  # fmt: skip
    for label, arm in summary.items():
        print(f"  {label}: solved {arm['solved']}/{arm['runs']}")
        for col, title in ARM_COLUMNS.items():
            c = arm[col]
            test = f"   U = {c['u_vs_first']:g}, p = {c['p_vs_first']:.3f}" if "p_vs_first" in c else ""
            if "ratio_to_first" in c:
                r = c["ratio_to_first"]
                test += f", {r['median']:.3g} [{r['ci95'][0]:.3g}, {r['ci95'][1]:.3g}] times the first arm's"
            print(f"    {title:<46}{fmt(c['median']):>10} [{fmt(c['ci95'][0])}, {fmt(c['ci95'][1])}]{test}")
    per_run = [{"arm": label, "config": study.arms[label][0], "overrides": study.arms[label][1],
                "behaviour": h["behaviour"], "steps_trained": h["env_steps"][-1] if h["env_steps"] else 0, **r}
               for label in rows for r, h in zip(rows[label], histories[label])]  # fmt: skip
    command = f"bench/compare.py --study {name}" + ("" if list(study.seeds) == list(STUDIES[name].seeds)
                                                     else " --seeds " + " ".join(map(str, study.seeds))) + (
        "" if study.minutes == STUDIES[name].minutes else f" --minutes {study.minutes:g}") + " --results"  # fmt: skip
    content = dict(
        command=command, note=study.note, seeds=list(study.seeds), minutes=study.minutes, arm_minutes=study.arm_minutes,
        match_steps=study.match_steps, stop_at_ceiling=study.stop_at_ceiling, threads=study.threads,
        settings=study.settings,
        arms={label: dict(zip(("config", "overrides"), study.arms[label])) for label in rows},
        summary=finite_or_none(summary), runs=per_run)  # fmt: skip
    written = json.loads(json.dumps(content, default=lambda v: None))  # as the JSON file reads back
    print(markdown_table(written), runs_table(written), sep="\n\n")
    if study.goals:
        print("\n" + goals_table(written))
    if not write:
        print("(tables printed only: --results writes them into results/ and draws image/)")
        return
    results, images = ROOT / "results", ROOT / "image"
    write_csv(results / f"compare_{name}.csv", per_run)
    write_json(results / f"compare_{name}.json", content, default=lambda v: None)
    import matplotlib

    matplotlib.use("Agg")
    from plotting import plot_runs

    if study.goals:
        frontier_figure(written, images / f"compare_{name}_goals.png")
    for x_key, suffix in (("env_steps", ""), ("seconds", "_wallclock")):
        fig = plot_runs(histories, x_key=x_key, title=f"{name}: seeds {list(study.seeds)}")
        fig.savefig(images / f"compare_{name}{suffix}.png", dpi=110)
    print(f"tables: results/compare_{name}.json, .csv; figures: image/compare_{name}.png, _wallclock.png"
          + (", _goals.png" if study.goals else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", nargs="+", choices=list(STUDIES),
                        default=[s for s in STUDIES if s not in ("design_std", "maddpg_utd", "fair_maddpg")])
    parser.add_argument("--seeds", type=int, nargs="+", help="instead of the study's seeds")
    parser.add_argument("--minutes", type=float, help="instead of the study's budget per run")
    parser.add_argument("--arms", nargs="+", help="train only these arms (labels); the tables need every arm")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "compare", help="where the runs are trained")
    parser.add_argument("--results", action="store_true",
                        help="write results/compare_<study>.json and .csv and draw image/compare_<study>*.png")
    args = parser.parse_args()
    if args.minutes is not None and args.minutes <= 0:
        parser.error(f"--minutes {args.minutes:g}: a budget must be positive")
    for name in args.study:
        unknown = sorted(set(args.arms or ()) - set(STUDIES[name].arms))
        if unknown:
            parser.error(f"--arms {unknown}: study {name} has the arms {list(STUDIES[name].arms)}")
    for name in args.study:
        study = STUDIES[name]
        if args.seeds or args.minutes is not None:
            study = Study(**{**study.__dict__, "seeds": tuple(args.seeds or study.seeds),
                             "minutes": study.minutes if args.minutes is None else args.minutes})  # fmt: skip
        histories: dict[str, list[dict]] = {label: [] for label in study.arms}
        for seed in study.seeds:
            for label, (config, overrides) in study.arms.items():
                if args.arms and label not in args.arms:
                    continue
                tag = config + ("" if overrides == "{}" else "_" + hashlib.sha256(overrides.encode()).hexdigest()[:6])
                histories[label].append(train(study, label, seed, args.out / name / tag / f"seed_{seed}"))
        if not args.arms:
            report(name, study, histories, args.results)


if __name__ == "__main__":
    main()
