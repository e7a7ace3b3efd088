"""Play saved HAPPO agents deterministically on many consecutive rallies of an unseen seed and count the misses.

Each checkpoint folder's agent plays `--rallies` consecutive episodes in each of `--matches` fresh matches (as the
notebook's evaluation does, so after a rally that reached the step limit the next one begins with the ball in
flight). One line per folder: the average, the episodes at the ceiling, and how many of those that began with a
serve and of those that began in flight reached it. Then the timeouts column: in fresh matches of seeds 7000 + T the
first rally is cut after T = 150, 200, ..., 950 decisions as by a timeout (the rackets go back to their start, the
ball flies on), and it counts the cut rallies that go on to the step limit: recovery from in-flight starts at every
phase of the rally, where the consecutive rallies above test only the phase at which the policy's own rally times out.

Run: .venv/bin/python bench/evaluate.py runs/solve/default/seed_*/checkpoints [--matches 100 --rallies 4 --seed 5000]
     [--cut-matches 100]  (0 skips the timeouts column)
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from result_files import write_json  # noqa: E402

from evaluation import TIMEOUT_CUT_SEED, TIMEOUT_CUTS, evaluate, timeout_recovery  # noqa: E402
from happo_agent import CHECKPOINT_FILE, HAPPOAgent  # noqa: E402
from tennis_sim.environment import make_env  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="folders holding happo.pt and config.json")
    parser.add_argument("--matches", type=int, default=100)
    parser.add_argument("--rallies", type=int, default=4, help="consecutive episodes per match")
    parser.add_argument("--seed", type=int, default=5000, help="simulator seed (training used 0-4, checks 2000+)")
    parser.add_argument("--cut-matches", type=int, default=100, help="matches per cut phase (0: no timeouts column)")
    parser.add_argument("--out", type=Path, help="also write the table as JSON here (e.g. results/evaluate.json)")
    args = parser.parse_args()
    for name in ("matches", "rallies", "cut_matches"):
        if getattr(args, name) < (0 if name == "cut_matches" else 1):
            parser.error(f"--{name.replace('_', '-')} {getattr(args, name)}: must be at least "
                         f"{0 if name == 'cut_matches' else 1}")  # fmt: skip
    for folder in args.checkpoints:
        if not (folder / CHECKPOINT_FILE).is_file():
            parser.error(f"{folder}: no {CHECKPOINT_FILE} there; this benchmark evaluates HAPPO agents (a MADDPG "
                         "agent plays in the notebook: TENNIS_TRAIN=0 TENNIS_OUTPUT_DIR=<its folder>)")  # fmt: skip
    phases = TIMEOUT_CUTS if args.cut_matches else range(0)
    print(f"{args.rallies} consecutive rallies in each of {args.matches} matches of seed {args.seed}, mean action")
    print(f"{'checkpoint':<48} {'average':>8} {'ceiling':>9} {'serves':>9} {'in flight':>10} {'timeouts':>10}")
    rates, rows = [], []
    for folder in args.checkpoints:
        play = partial(HAPPOAgent.load(folder).act, deterministic=True)  # the mean action
        result = evaluate(play, make_env(num_matches=args.matches, seed=args.seed), args.rallies)
        (serve_full, serves), (flight_full, flights) = result.ceiling_by_start()
        cuts = [timeout_recovery(play, make_env(num_matches=args.cut_matches, seed=TIMEOUT_CUT_SEED + t), t)
                for t in phases]  # fmt: skip
        recovered, cut = np.sum(cuts, axis=0, dtype=int) if cuts else (0, 0)
        rates.append((serve_full / serves if serves else np.nan, flight_full / flights if flights else np.nan,
                      recovered / cut if cut else np.nan))  # fmt: skip
        rows.append(dict(checkpoint=str(folder), average=float(result.scores.mean()), ceiling=int(result.full_length.sum()),
                         episodes=len(result.scores), serves_at_ceiling=serve_full, serves=serves,
                         in_flight_at_ceiling=flight_full, in_flight=flights, cuts_recovered=int(recovered), cuts=int(cut)))
        print(f"{str(folder):<48} {result.scores.mean():>8.3f} {result.full_length.sum():>4}/{len(result.scores):<4} "
              f"{serve_full:>4}/{serves:<4} {flight_full:>4}/{flights:<5} {recovered:>4}/{cut:<5}", flush=True)
    serve, flight, timeouts = np.array(rates).T
    print(f"median share at the ceiling: serves {np.nanmedian(serve):.3f}, in flight {np.nanmedian(flight):.3f}"
          + (f", after timeouts at every phase {np.nanmedian(timeouts):.3f}" if args.cut_matches else ""))
    if args.out:
        median = dict(serves=float(np.nanmedian(serve)), in_flight=float(np.nanmedian(flight)),
                      after_timeouts=float(np.nanmedian(timeouts)) if args.cut_matches else None)
        write_json(args.out, dict(command="bench/evaluate.py " + " ".join(sys.argv[1:]), rows=rows,
                                  median_share_at_ceiling=median))  # fmt: skip


if __name__ == "__main__":
    main()
