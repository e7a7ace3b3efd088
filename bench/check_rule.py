"""Which check keeps the better policy: five rallies per match (the notebook's) or two, on the same training runs.

Every 10 learning steps the notebook's check lets the mean action play five consecutive rallies in each of 40 fresh
matches, as the evaluation does, and the best-ranked checked policy is the one kept. A deterministic rally is nearly
periodic, so the rally after a timeout begins at about one phase per match: a check of two rallies per match (in 100
matches, the same 200 rallies) meets only the start after the first timeout, while the evaluation (five rallies in
each of 20 matches) meets four. Here each seed of the default trains once, for a fixed number of match steps, with
the notebook's loop and bookkeeping (`TrainingRun`); after every check the same policy also plays the two-rally
check, and the best policy by that check is kept as well. The policy each rule kept, and the last one, then play the
notebook's evaluation (five rallies in each of 20 matches of seed + 1000). Training is the same whichever rule keeps,
so the rules are compared on identical runs; a fixed number of match steps makes the runs independent of the
machine's speed.

Run: .venv/bin/python bench/check_rule.py [--seeds 0 1 2 3 4] [--match-steps 2000000] [--out results/check_rule.json]
With --out it writes the table there. A finished seed (<--runs>/seed_<k>/result.json, runs/check_rule by default) is
not trained again; a seed cut short trains again from its start. Seeds can run in separate processes, then once more
with all of them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

if __name__ == "__main__":  # one thread per run, as bench/compare.py trains; importing this module changes nothing
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # (numba refuses a thread count that changes after its launch)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from evaluation import evaluate  # noqa: E402
from happo_agent import HAPPOAgent, HAPPOConfig  # noqa: E402
from tennis_sim.environment import BRAIN_NAME, make_env  # noqa: E402
from training_run import (  # noqa: E402
    RunLimits,
    TrainingRun,
    check_mean_action,
    in_use_by_another_run,
    keep_if_best,
    load_agent,
    rank,
)

sys.path.insert(0, str(ROOT / "bench"))
from result_files import write_json  # noqa: E402
from solve import set_aside_if_other  # noqa: E402

from behaviour_digest import behaviour_digest  # noqa: E402

TWO_RALLY_MATCHES, TWO_RALLIES = 100, 2  # 200 rallies, as many as the notebook's check
EVAL_MATCHES, EVAL_RALLIES, EVAL_SEED_OFFSET = 20, 5, 1000  # the notebook's evaluation of 100 episodes


class BothChecks(TrainingRun):
    """The notebook's bookkeeping, whose every (five-rally) check is followed by a two-rally check of the same policy."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.two_checks: list[dict] = []
        self.two_dir = self.out / "runs" / "two_rally_checkpoints"

    def _check(self) -> None:
        super()._check()  # keeps the best policy by five rallies per match in runs/checkpoints
        check = check_mean_action(self.agent, self.seed, TWO_RALLY_MATCHES, TWO_RALLIES)
        self.two_checks.append(dict(learn_steps=self.agent.learn_steps, env_steps=self.steps * self.E,
                                    average=float(check.scores.mean()), ceiling=int(check.full_length.sum())))  # fmt: skip
        keep_if_best(self.agent, self.two_checks, self.two_dir)


def first_perfect(checks: list[dict], rallies: int) -> int | None:
    """The learning step of the first check with every one of its rallies at the ceiling."""
    return next((c["learn_steps"] for c in checks if c["ceiling"] == rallies), None)


def kept(checks: list[dict]) -> dict:
    """The check whose policy was kept: the best rank, the last of equals (as TrainingRun saves)."""
    return max(reversed(checks), key=rank)


def evaluate_policy(agent, seed: int) -> dict:
    result = evaluate(lambda s: agent.act(s, deterministic=True),
                      make_env(num_matches=EVAL_MATCHES, seed=seed + EVAL_SEED_OFFSET), EVAL_RALLIES)  # fmt: skip
    return dict(eval_avg=float(result.scores.mean()), eval_ceiling=int(result.full_length.sum()))


def sign_test(pairs: list[tuple[int, int]]) -> dict:
    """Seeds where the first count is smaller, larger, equal, and the exact two-sided sign test's p (ties dropped)."""
    fewer, more = sum(a < b for a, b in pairs), sum(a > b for a, b in pairs)
    n = fewer + more
    p = min(1.0, 2 * sum(math.comb(n, k) for k in range(min(fewer, more) + 1)) / 2**n) if n else 1.0
    return dict(fewer=fewer, more=more, same=len(pairs) - n, p=p)


def train_seed(seed: int, match_steps: int, out: Path) -> dict:
    """The seed's row: trained now unless `out` holds a finished run of the same key (seed, budget, code that trains
    the same); a folder of another key is moved aside (bench/solve.py's rule), never deleted or mixed in."""
    result_file, version = out / "result.json", behaviour_digest("default")
    key = dict(seed=seed, match_steps=match_steps, behaviour=version)
    if in_use_by_another_run(out):
        raise SystemExit(f"{out} is being trained by another process now: wait for it, or use another --runs")
    set_aside_if_other(out, key)
    if result_file.is_file():
        print(f"seed {seed}: already done ({result_file})", flush=True)
        return json.loads(result_file.read_text())
    out.mkdir(parents=True, exist_ok=True)
    (out / "run_key.json").write_text(json.dumps(key, indent=1) + "\n")
    config = HAPPOConfig(seed=seed)
    torch.manual_seed(seed)  # as the notebook
    env = make_env(num_matches=config.num_matches + config.practice_matches, seed=seed,
                   practice_matches=config.practice_matches)  # fmt: skip
    agent = HAPPOAgent(config)
    limits = RunLimits(minutes=1e6, match_steps=match_steps, stop_at_ceiling=False, resume_every=0, progress="lines")
    run = BothChecks(agent, env, out, seed, limits, practice=config.practice_matches)
    states = run.states  # (2E, 24); the notebook's loop cell without the Unity build's branches
    while run.keep_going():
        actions = agent.act(states)  # (2E, 2)
        info = env.step(actions)[BRAIN_NAME]
        metrics = agent.step(states, actions, info.rewards, info.vector_observations, info.local_done, info.max_reached)
        states = info.vector_observations
        if env.global_done:
            states = env.reset(train_mode=True)[BRAIN_NAME].vector_observations
        run.record(info.rewards, info.local_done)
        if metrics:
            run.after_learning(metrics, states)
    history = run.finish(config, states)
    two, five = run.two_checks, history["checks"]
    row = dict(seed=seed, match_steps=run.steps * run.E, learn_steps=agent.learn_steps, episodes_to_solve=history["solved_at"],
               checks=len(two), behaviour=version)  # fmt: skip
    for name, checks, folder in (("two", two, run.two_dir), ("five", five, run.run_checkpoints)):
        row[f"{name}_kept_step"] = kept(checks)["learn_steps"] if checks else None
        row[f"{name}_first_perfect_step"] = first_perfect(checks, 200)
        scores = evaluate_policy(load_agent(folder), seed) if checks else dict(eval_avg=None, eval_ceiling=None)
        row.update({f"{name}_{k}": v for k, v in scores.items()})
    row.update({f"last_{k}": v for k, v in evaluate_policy(agent, seed).items()})
    write_json(result_file, row)
    return row


def markdown_rows(results: dict) -> str:
    """The Report's per-seed rows of a results JSON: each rule's kept learning step and evaluation at the ceiling."""
    show = lambda v: "-" if v is None else str(v)  # noqa: E731
    return "\n".join(f"| {r['seed']} | {show(r['two_kept_step'])} | {show(r['two_eval_ceiling'])} | "
                     f"{show(r['five_kept_step'])} | {show(r['five_eval_ceiling'])} | {r['last_eval_ceiling']} |"
                     for r in results["rows"])  # fmt: skip


COLUMNS = ["seed", "learn_steps", "episodes_to_solve", "two_kept_step", "two_first_perfect_step", "two_eval_ceiling",
           "five_kept_step", "five_first_perfect_step", "five_eval_ceiling", "last_eval_ceiling"]  # fmt: skip


def positive_int(text: str) -> int:
    """A training budget: 0 would mean no limit to TrainingRun, and this bench has no other."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--match-steps", type=positive_int, default=2_000_000, help="training budget per seed")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "check_rule", help="where the seeds are trained")
    parser.add_argument("--out", type=Path, help="write the table here as JSON, e.g. results/check_rule.json")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        row = train_seed(seed, args.match_steps, args.runs / f"seed_{seed}")
        rows.append(row)
    print("\n" + " | ".join(f"{c:>22}"[:22] for c in COLUMNS))
    for r in rows:
        print(" | ".join(f"{'-' if r[c] is None else r[c]!s:>22}" for c in COLUMNS))
    rules = ("two", "five", "last")
    ceilings = {rule: [r[f"{rule}_eval_ceiling"] for r in rows if r[f"{rule}_eval_ceiling"] is not None] for rule in rules}
    episodes = EVAL_MATCHES * EVAL_RALLIES
    perfect = {rule: sum(c == episodes for c in ceilings[rule]) for rule in rules}
    misses = {rule: sum(episodes - c for c in ceilings[rule]) for rule in rules}
    paired = [(episodes - r["five_eval_ceiling"], episodes - r["two_eval_ceiling"]) for r in rows
              if r["five_eval_ceiling"] is not None and r["two_eval_ceiling"] is not None]  # fmt: skip
    five_vs_two = sign_test(paired)
    print(f"evaluation 100 of 100 at the ceiling on {perfect['two']} (two-rally check), {perfect['five']} (five-rally "
          f"check) and {perfect['last']} (last policy) of {len(rows)} seeds; misses in all {misses['two']}, "
          f"{misses['five']} and {misses['last']}. The five-rally check's policy misses fewer episodes on "
          f"{five_vs_two['fewer']} seeds, more on {five_vs_two['more']}, as many on {five_vs_two['same']} (sign test "
          f"p = {five_vs_two['p']:.2f})")  # fmt: skip
    if not args.out:
        return
    write_json(args.out, dict(
        command="bench/check_rule.py" + ("" if args.seeds == [0, 1, 2, 3, 4] else " --seeds " + " ".join(map(str, args.seeds)))
        + ("" if args.match_steps == 2_000_000 else f" --match-steps {args.match_steps}") + f" --out {args.out}",
        behaviour=behaviour_digest("default"), match_steps=args.match_steps, seeds=args.seeds,
        perfect=perfect, misses=misses, five_vs_two=five_vs_two,
        median_eval_ceiling={rule: float(np.median(c)) if c else None for rule, c in ceilings.items()},
        rows=rows))  # fmt: skip
    print(f"table: {args.out}")


if __name__ == "__main__":
    main()
