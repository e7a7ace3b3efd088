"""Are the in-flight starts that a saved agent misses savable at all? A random search over action sequences.

For each cut phase T (as in bench/evaluate.py's timeouts column: fresh matches of seed 7000 + T, the first rally cut
after T decisions as by a timeout), the agent's mean action plays on, and every rally it loses within `--early`
decisions of the cut is replayed from the cut in `--tries` copies of the simulator, both rackets sending random
piecewise-constant actions for `--horizon` decisions. A start counts as savable when some copy returns the ball over
the net (a +0.1 from the third decision on, before the rally ends). One line per phase, then the totals.

Run: .venv/bin/python bench/savable.py checkpoints [--cut-matches 100 --tries 3000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from evaluation import TIMEOUT_CUT_SEED, TIMEOUT_CUTS, cut_first_rallies  # noqa: E402
from happo_agent import HAPPOAgent  # noqa: E402
from tennis_sim.core import TennisCore  # noqa: E402
from tennis_sim.environment import make_env  # noqa: E402


def early_misses(act, env, cut_after: int, early: int) -> list[dict]:
    """Simulator states right after the cut of the rallies that `act` then loses within `early` decisions."""
    states, playing = cut_first_rallies(act, env, cut_after)
    at_cut = env.core.state_dict()
    brain, E = env.brain_names[0], playing.shape[0]
    lost = np.zeros(E, dtype=bool)
    for _ in range(early):
        info = env.step(act(states))[brain]
        lost |= np.reshape(info.local_done, (E, 2))[:, 0] & ~np.reshape(info.max_reached, (E, 2))[:, 0]
        states = info.vector_observations
    return [{name: value[k] for name, value in at_cut.items()} for k in np.flatnonzero(playing & lost)]


def returns_found(state: dict, tries: int, horizon: int, rng: np.random.Generator) -> int:
    """How many of `tries` random action sequences played from `state` return the ball over the net."""
    core = TennisCore(num_matches=tries, seed=1)
    core.load_state_dict({name: np.repeat(np.asarray(value)[None], tries, axis=0) for name, value in state.items()})
    plans = rng.uniform(-1, 1, (tries, horizon, 2, 2))  # (N, H, rackets, actions)
    hold = rng.integers(1, 5, tries)  # each plan changes its action every 1-4 decisions
    returned, ended = np.zeros(tries, dtype=bool), np.zeros(tries, dtype=bool)
    for t in range(horizon):
        _, reward, done, _ = core.step(plans[np.arange(tries), t // hold * hold])
        returned |= (reward.max(axis=1) > 0) & ~ended & (t >= 2)  # earlier, the ball may still be crossing
        ended |= done
    return int(returned.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="folder holding happo.pt and config.json")
    parser.add_argument("--cut-matches", type=int, default=100)
    parser.add_argument("--early", type=int, default=15, help="a miss within this many decisions of the cut")
    parser.add_argument("--tries", type=int, default=3000, help="random action sequences per missed start")
    parser.add_argument("--horizon", type=int, default=40, help="decisions per action sequence")
    args = parser.parse_args()
    agent = HAPPOAgent.load(args.checkpoint)
    rng = np.random.default_rng(0)
    savable, missed, shares = 0, 0, []
    for t in TIMEOUT_CUTS:
        states = early_misses(lambda s: agent.act(s, deterministic=True), make_env(num_matches=args.cut_matches,
                              seed=TIMEOUT_CUT_SEED + t), t, args.early)  # fmt: skip
        found = [returns_found(state, args.tries, args.horizon, rng) for state in states]
        savable, missed = savable + sum(f > 0 for f in found), missed + len(found)
        shares += [f / args.tries for f in found]
        print(f"cut after {t:>3} decisions: {len(found):>3} early misses, savable {sum(f > 0 for f in found):>3}"
              + (f", share of random sequences that save them {min(found) / args.tries:.3f}-"
                 f"{max(found) / args.tries:.3f}" if found else ""), flush=True)  # fmt: skip
    print(f"{args.checkpoint}: {savable} of {missed} early misses savable"
          + (f"; median share of random sequences that save one {np.median(shares):.3f}" if shares else ""))


if __name__ == "__main__":
    main()
