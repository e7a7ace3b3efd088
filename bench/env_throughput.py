"""Simulator throughput with random actions: agent-decisions per second for E matches, and one decision at E = 1.

Run: .venv/bin/python bench/env_throughput.py [--out results/env_throughput.json]
     (goals: >= 3,000,000 /s at E = 2048, < 100 us per decision at E = 1)
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from result_files import write_json  # noqa: E402

from tennis_sim.environment import TennisEnvironment  # noqa: E402


def agent_decisions_per_second(num_matches: int, seconds: float = 2.0) -> tuple[float, float]:
    """(agent-decisions/s, seconds per env.step) through the course API, random actions in [-1, 1]."""
    env = TennisEnvironment(num_matches=num_matches, seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (64, 2 * num_matches, 2))  # (64, 2E, 2)
    env.reset()
    env.step(actions[0])  # compile / warm up
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions[:16]:
            env.step(a)
            if env.global_done:  # the academy's limit, every 5,000 decisions
                env.reset()
        steps += 16
    elapsed = time.perf_counter() - start
    return 2 * num_matches * steps / elapsed, elapsed / steps


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the table here as JSON, e.g. results/env_throughput.json")
    args = parser.parse_args()
    print(f"{'matches':>8} {'agent-decisions/s':>18} {'us per env.step':>16}")
    rows = []
    for E in (1, 16, 256, 2048):
        rate, per_step = agent_decisions_per_second(E)
        rows.append(dict(matches=E, agent_decisions_per_second=round(rate), us_per_step=round(per_step * 1e6, 1)))
        print(f"{E:>8} {rate:>18,.0f} {per_step * 1e6:>16.1f}")
    if args.out:
        write_json(args.out, dict(command=f"bench/env_throughput.py --out {args.out}", rows=rows))
