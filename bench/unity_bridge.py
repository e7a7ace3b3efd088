"""Decisions per second through the course's `unityagents` client and the headless build (gRPC, ML-Agents API-4)
against the direct API, side by side, at 1 match and at several arenas.

Run in the environment that has unityagents (`make test` or `make headless-build` makes it):
    NUMBA_CACHE_DIR=.venv-unity/numba-cache .venv-unity/bin/python bench/unity_bridge.py [--out results/unity_bridge.json]
With --out it writes the table there. Wall-clock on a shared 2-core machine varies by up to a third between runs; the
ratios vary less. unityagents 0.4 opens one environment per process, so each bridge measurement is its own process.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from result_files import write_json  # noqa: E402

from tennis_sim.environment import TennisEnvironment  # noqa: E402
from tennis_sim.headless_build import write_launcher  # noqa: E402

STEPS = 3000


def decisions_per_second(env, num_matches: int, steps: int) -> float:
    """Match decisions per second (one step of E matches counts E) with fixed random actions."""
    actions = np.random.default_rng(0).uniform(-1, 1, (64, 2 * num_matches, 2))
    env.reset()
    for a in actions[:10]:  # warm up
        env.step(a)
    start = time.perf_counter()
    for t in range(steps):
        env.step(actions[t % 64])
        if env.global_done:
            env.reset()
    return num_matches * steps / (time.perf_counter() - start)


def bridge(num_matches: int, steps: int) -> float:
    """Through unityagents + gRPC: a child process opens the build once and measures."""
    with tempfile.TemporaryDirectory() as tmp:
        write_launcher(Path(tmp) / "Tennis_Linux", matches=num_matches)
        code = ("import sys, numpy as np; np.float_ = np.float64; sys.path.insert(0, sys.argv[1]); "
                "from unityagents import UnityEnvironment; import unity_bridge as b; "
                "env = UnityEnvironment(file_name=sys.argv[2], base_port=int(sys.argv[3])); "
                "print(b.decisions_per_second(env, int(sys.argv[4]), int(sys.argv[5]))); env.close()")  # fmt: skip
        port = 6100 + num_matches
        done = subprocess.run([sys.executable, "-W", "ignore", "-c", code, str(Path(__file__).parent),
                               str(Path(tmp) / "Tennis_Linux" / "Tennis"), str(port), str(num_matches), str(steps)],
                              capture_output=True, text=True, check=True)  # fmt: skip
        return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--out", type=Path, help="write the table here as JSON, e.g. results/unity_bridge.json")
    args = parser.parse_args()
    rows = []
    print(f"{'matches':>8} {'direct decisions/s':>19} {'unityagents decisions/s':>24} {'direct / bridge':>16}")
    for E in args.matches:
        direct = decisions_per_second(TennisEnvironment(num_matches=E, seed=0), E, args.steps)
        through = bridge(E, args.steps)
        rows.append(dict(matches=E, steps=args.steps, direct=round(direct), unityagents=round(through),
                         ratio=round(direct / through, 1)))  # fmt: skip
        print(f"{E:>8} {direct:>19,.0f} {through:>24,.0f} {direct / through:>16.1f}", flush=True)
    if args.out:
        write_json(args.out, dict(command="bench/unity_bridge.py " + shlex.join(sys.argv[1:]), rows=rows))


if __name__ == "__main__":
    main()
