"""Acting speed: the actors' forward pass in torch and in numpy (Actor.mean_numpy), and a deterministic evaluation
of 200 matches with numpy's BLAS on 1 thread (what networks.py sets) and on all cores.

Run: .venv/bin/python bench/act_speed.py       (prints microseconds per call and the ratios; asserts nothing)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from threadpoolctl import threadpool_limits  # noqa: E402

from evaluation import evaluate  # noqa: E402
from happo_agent import HAPPOAgent, HAPPOConfig  # noqa: E402
from networks import Actor  # noqa: E402
from tennis_sim.environment import make_env  # noqa: E402


def per_call_us(f, repeats: int = 500) -> float:
    f()
    start = time.perf_counter()
    for _ in range(repeats):
        f()
    return (time.perf_counter() - start) / repeats * 1e6


def main() -> None:
    actor = Actor()
    print(f"{'rows':>6} {'torch us':>10} {'numpy us':>10} {'torch/numpy':>12}")
    for rows in (16, 32, 100, 200):
        x = np.random.default_rng(0).standard_normal((rows, 24)).astype(np.float32)
        xt = torch.from_numpy(x)
        with torch.no_grad():
            t_torch = per_call_us(lambda xt=xt: actor(xt))
        t_numpy = per_call_us(lambda x=x: actor.mean_numpy(x))
        print(f"{rows:>6} {t_torch:>10.0f} {t_numpy:>10.0f} {t_torch / t_numpy:>12.2f}")

    agent = HAPPOAgent(HAPPOConfig())
    cores = len(os.sched_getaffinity(0))
    seconds = {}
    for threads in (1, cores):
        with threadpool_limits(threads, user_api="blas"):
            env = make_env(num_matches=200, seed=1)
            start = time.perf_counter()
            evaluate(lambda s: agent.act(s, deterministic=True), env, 1)
            seconds[threads] = time.perf_counter() - start
    print(f"evaluation of 200 matches (untrained agent): {seconds[1]:.3f} s with 1 BLAS thread, {seconds[cores]:.3f} s "
          f"with {cores}: ratio {seconds[cores] / seconds[1]:.2f}")


if __name__ == "__main__":
    main()
