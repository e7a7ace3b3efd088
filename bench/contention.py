"""`make train`'s path on a shared machine: time and match steps to solve with 0, 1 and 2 other processes that each
keep a core busy, and the simulator's throughput at 2,048 matches under the same load.

Each run executes Tennis.ipynb through papermill as `make train` does (bench/solve.py's run_seed: its default
threads and budget), in a fresh scratch folder under runs/contention/, and stops once solved
(TENNIS_STOP_AVERAGE=0.5, no evaluation): a solve is what a busy machine delays. The busy processes are
`python -c "while True: pass"`, as a video call or a build would load a core. Wall-clock seconds on a shared machine
vary by about a third between runs; the match steps and episodes to solve do not (on one machine and thread count),
so they must be equal across loads.

The simulator is measured twice per load, each in its own process: as shipped (its parallel kernel at 2,048 matches)
and with one numba thread (`NUMBA_NUM_THREADS=1`), the serial baseline the parallel kernel must beat.

Run: .venv/bin/python bench/contention.py [--seeds 0 1 2] [--busy 0 1 2] [--out results/contention.json]
     (about 10 minutes on 2 cores; results/ is written only when --out names it)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from result_files import write_json  # noqa: E402
from solve import run_seed  # noqa: E402

from evaluation import first_solved  # noqa: E402

SCRATCH = ROOT / "runs" / "contention"
THROUGHPUT = ("import sys; sys.path.insert(0, 'bench'); from env_throughput import agent_decisions_per_second as r; "
              "r(2048, 0.5); print(r(2048, 4.0)[0])")  # fmt: skip


@contextlib.contextmanager
def busy_cores(count: int):
    """`count` processes that each keep a core busy until the block ends, however it ends."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5 if count else 0.0)  # let the scheduler see them
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def train_to_solve(seed: int, busy: int, folder: Path) -> dict:
    """One `make train` run of `seed` that stops at the solve, in a fresh folder under `folder` (a finished run would be
    reused instead of being measured, and nothing earlier is deleted); its episodes, match steps and seconds to solve
    (None when it did not solve within the notebook's budget)."""
    out = folder / f"busy_{busy}" / f"seed_{seed}"
    history = run_seed("default", seed, out, settings={"TENNIS_STOP_AVERAGE": "0.5", "TENNIS_EVAL_EPISODES": "0"})
    solved = first_solved(np.asarray(history["scores"]))
    row = dict(seed=seed, busy=busy, episodes=solved, match_steps=history["env_steps"][solved - 1] if solved else None,
               seconds=history["seconds"][solved - 1] if solved else None, learn_steps=history["learn_steps"])  # fmt: skip
    print(f"busy {busy} seed {seed}: solved at episode {solved}, {row['match_steps']} match steps, "
          f"{row['seconds']:.1f} s" if solved else f"busy {busy} seed {seed}: not solved", flush=True)
    return row


def simulator_rate(busy: int, one_thread: bool) -> float:
    """Agent-decisions per second at 2,048 matches, in a process of its own (numba fixes its threads at launch)."""
    env = dict(os.environ, NUMBA_NUM_THREADS="1") if one_thread else dict(os.environ)
    run = subprocess.run([sys.executable, "-c", THROUGHPUT], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    rate = float(run.stdout.split()[-1])
    print(f"busy {busy}: simulator at 2,048 matches, {'1 thread' if one_thread else 'as shipped'}: {rate:,.0f} /s",
          flush=True)
    return rate


def ratios(rows: list[dict], busy: int) -> dict:
    """Per seed, this load's seconds over the quiet run's; the median of them; and whether every seed solved at the
    same match step as when quiet."""
    quiet = {r["seed"]: r for r in rows if r["busy"] == 0}
    loaded = [r for r in rows if r["busy"] == busy]
    per_seed = [r["seconds"] / quiet[r["seed"]]["seconds"] for r in loaded if r["seconds"] and quiet[r["seed"]]["seconds"]]
    return dict(busy=busy, seconds_ratio_per_seed=per_seed,
                seconds_ratio_median=float(np.median(per_seed)) if per_seed else None,
                same_match_steps=all(r["match_steps"] == quiet[r["seed"]]["match_steps"] for r in loaded))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1, 2], help="busy processes of each load (0 first)")
    parser.add_argument("--out", type=Path, help="write the table here as JSON, e.g. results/contention.json")
    args = parser.parse_args()
    if args.busy[0] != 0:
        parser.error(f"--busy {args.busy}: the first load must be 0 (the quiet run the others are compared with)")
    if any(b < 0 for b in args.busy):
        parser.error(f"--busy {args.busy}: a load is a number of busy processes, 0 or more")
    rows, simulator = [], []
    folder = SCRATCH / time.strftime("%Y%m%d-%H%M%S")  # this measurement's runs, beside any earlier ones
    for busy in args.busy:
        with busy_cores(busy):
            rows += [train_to_solve(seed, busy, folder) for seed in args.seeds]
            simulator.append(dict(busy=busy, shipped=simulator_rate(busy, False), one_thread=simulator_rate(busy, True)))
    summary = [ratios(rows, busy) for busy in args.busy[1:]]
    quiet_sim = simulator[0]["shipped"]
    print(f"\n{'busy':>4} {'median s':>9} {'s / quiet':>10} {'same steps':>10} {'sim /s':>12} {'sim / quiet':>11} "
          f"{'sim / 1 thread':>14}")
    for busy, sim in zip(args.busy, simulator, strict=True):
        loaded = [r["seconds"] for r in rows if r["busy"] == busy and r["seconds"]]
        ratio = next((s for s in summary if s["busy"] == busy), dict(seconds_ratio_median=1.0, same_match_steps="-"))
        print(f"{busy:>4} {np.median(loaded) if loaded else float('nan'):>9.1f} "
              f"{ratio['seconds_ratio_median'] or float('nan'):>10.2f} {str(ratio['same_match_steps']):>10} "
              f"{sim['shipped']:>12,.0f} {sim['shipped'] / quiet_sim:>11.2f} {sim['shipped'] / sim['one_thread']:>14.2f}")
    print("wall-clock varies by about a third between runs on a shared machine; match steps do not")
    if args.out:
        write_json(args.out, dict(command="bench/contention.py " + " ".join(sys.argv[1:]), cores=os.cpu_count(),
                                  runs=rows, ratios=summary, simulator=simulator))  # fmt: skip
        print(f"table: {args.out}")


if __name__ == "__main__":
    main()
