"""What the design's sliding rollout buffer means for PPO's ratio, measured.

`seed_design` keeps 2,048 decisions and learns every 128, so each sample is learned from in 16 learning steps. Its
ratio is taken against the log-probability stored when the action was played (PPO's behaviour policy), so a sample
collected k learning steps ago starts a learning step with the ratio pi_now / pi_then of k updates. Once that ratio
is outside [1 - clip, 1 + clip] on the side the advantage pushes, the clipped surrogate gives the sample no gradient.
This script trains each configuration on seed 0 and, at the start of every learning step once the buffer is full,
groups the buffer's samples by age and measures how far their ratio has already moved.

Run: .venv/bin/python bench/design_ratio.py [--out results/design_ratio.json]   # about 2 minutes
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from result_files import write_json  # noqa: E402

from happo_agent import HAPPOAgent, HAPPOConfig  # noqa: E402
from tennis_sim.environment import BRAIN_NAME, make_env  # noqa: E402


def ratios_by_age(agent: HAPPOAgent) -> list[np.ndarray]:
    """|log pi_now - log pi_stored| of every stored sample and agent, grouped by age in learning steps (newest first),
    measured one decision before a learning step: the newest group lacks that decision."""
    cfg, buf = agent.config, agent.buffer
    T, E = buf.size, buf.num_matches
    obs = torch.from_numpy(buf.obs[:T]).reshape(T * E, -1, buf.obs.shape[-1]) * cfg.obs_scale  # (T*E, A, 24)
    actions = torch.from_numpy(buf.actions[:T]).reshape(T * E, buf.num_agents, -1)  # (T*E, A, 2)
    now = torch.stack([agent._log_prob(k, obs, actions) for k in range(buf.num_agents)], dim=1)  # (T*E, A)
    log_ratio = (now - torch.from_numpy(buf.log_prob[:T]).reshape(T * E, -1)).abs().numpy().reshape(T, E, -1)
    age = (T - np.arange(T)) // cfg.update_every  # (T,): 0 for the steps the policy about to learn collected
    return [log_ratio[age == a].ravel() for a in range(age.max() + 1)]


def measure(name: str, learn_steps: int, seed: int) -> dict:
    cfg = HAPPOConfig.named(name, seed=seed)
    agent, env = HAPPOAgent(cfg), make_env(num_matches=cfg.num_matches, seed=seed)
    states = env.reset(train_mode=True)[BRAIN_NAME].vector_observations
    outside, median, start = [], [], time.time()
    full_at = cfg.buffer_steps // cfg.update_every
    while agent.learn_steps < learn_steps:
        if agent.steps_since_learn == cfg.update_every - 1 and agent.learn_steps >= full_at:
            r = ratios_by_age(agent)  # the last sample of this round is not stored yet: 1 of update_every missing
            outside.append([(group > np.log(1 + cfg.clip)).mean() for group in r])
            median.append([np.median(group) for group in r])
        actions = agent.act(states)
        info = env.step(actions)[BRAIN_NAME]
        agent.step(states, actions, info.rewards, info.vector_observations, info.local_done, info.max_reached)
        states = info.vector_observations
        if env.global_done:
            states = env.reset(train_mode=True)[BRAIN_NAME].vector_observations
    out = dict(config=name, init_std=cfg.init_std, clip=cfg.clip, learn_steps=learn_steps,
               measured_learn_steps=len(outside), seconds=round(time.time() - start, 1),
               outside_clip_by_age=[round(float(v), 4) for v in np.mean(outside, axis=0)],
               median_abs_log_ratio_by_age=[round(float(v), 5) for v in np.mean(median, axis=0)])  # fmt: skip
    print(f"{name} (std {cfg.init_std}): share of samples whose ratio is already past 1 + clip or its inverse, "
          f"by age in learning steps 0..{len(out['outside_clip_by_age']) - 1}:")
    print("   " + " ".join(f"{v:.2f}" for v in out["outside_clip_by_age"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learn-steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the table here as JSON, e.g. results/design_ratio.json")
    args = parser.parse_args()
    rows = [measure(name, args.learn_steps, args.seed) for name in ("seed_design", "seed_design_big_std")]
    if not args.out:
        return
    command = "bench/design_ratio.py" + (f" --learn-steps {args.learn_steps}" if args.learn_steps != 400 else "") + (
        f" --seed {args.seed}" if args.seed else "") + f" --out {args.out}"  # fmt: skip
    write_json(args.out, dict(command=command, rows=rows))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
