"""HAPPO (default and seed-design configs), the MAPPO ablation and MADDPG on the same seeds and wall-clock budget.

Every run executes Tennis.ipynb (the one training loop) through bench/solve.py's runner, with no early stop, so each
method gets the whole budget. Finished runs are kept under runs/compare/: rerun the command to continue after an
interruption. Prints one table (median and range over seeds) and writes image/compare.png.

Run: .venv/bin/python bench/compare.py [--seeds 0 1 2] [--minutes 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from solve import ROOT, run_seed, summarise  # noqa: E402

METHODS = {"HAPPO (default)": "default", "HAPPO (seed design)": "seed_design", "MAPPO ablation": "mappo",
           "MADDPG": "maddpg"}  # fmt: skip
COLUMNS = ["seconds", "episodes", "env_steps", "best", "final", "eval_avg"]


def spread(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{np.median(values):.4g} [{min(values):.4g}, {max(values):.4g}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget of every run")
    parser.add_argument("--methods", nargs="+", default=list(METHODS.values()), choices=list(METHODS.values()))
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "compare")
    args = parser.parse_args()
    runs = {}
    for label, config in METHODS.items():
        if config in args.methods:
            runs[label] = [run_seed(config, s, args.minutes, args.out / config / f"seed_{s}", stop_at_ceiling=False)
                           for s in args.seeds]  # fmt: skip
    print(f"\n{len(args.seeds)} seeds {args.seeds}, {args.minutes} min of training each; median [min, max] over seeds")
    print(f"{'method':<22}" + "".join(f"{c:>26}" for c in COLUMNS) + f"{'solved':>10}")
    for label, histories in runs.items():
        rows = [summarise(s, h) for s, h in zip(args.seeds, histories)]
        solved = sum(r["episodes"] is not None for r in rows)
        print(f"{label:<22}" + "".join(f"{spread([r[c] for r in rows]):>26}" for c in COLUMNS) + f"{solved:>7}/{len(rows)}")
    import matplotlib

    matplotlib.use("Agg")
    from plotting import plot_runs

    fig = plot_runs(runs, title=f"Same seeds {args.seeds}, {args.minutes} min each")
    fig.savefig(ROOT / "image" / "compare.png", dpi=120)
    print("figure: image/compare.png")


if __name__ == "__main__":
    main()
