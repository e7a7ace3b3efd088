"""The review's breakages of the learning code, each applied by hand to a scratch copy of the repo, with the tests
that must fail because of it: HAPPO's factor M, PPO's clip, KL early stopping, GAE's lambda, the advantages'
normalisation, the timeout's bootstrap, the value normaliser, the critic and its target, the rollout's
log-probabilities, MADDPG's target actors and rewards. A breakage that no test notices is printed as SURVIVED.

Run: .venv/bin/python tools/review_mutations.py [--out results/review_mutations.json]   (about 5 minutes)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_known_answers.py", "tests/test_happo_agent.py", "tests/test_buffer.py", "tests/test_maddpg.py"]

# name -> (file, [(the line as it is, the line broken)])
BREAKAGES = {
    "M removed from the actor loss": ("happo_agent.py", [
        ("    return -(factor * surrogate).mean()", "    return -surrogate.mean()")]),
    "M applied only to the unclipped term": ("happo_agent.py", [
        ("surrogate = torch.min(ratio * advantages,", "surrogate = torch.min(factor * ratio * advantages,"),
        ("    return -(factor * surrogate).mean()", "    return -surrogate.mean()")]),
    "PPO's clipping removed": ("happo_agent.py", [
        ("ratio.clamp(1 - clip, 1 + clip) * advantages)", "ratio * advantages)")]),
    "KL early stopping disabled": ("happo_agent.py", [
        ("past_target = bool(cfg.target_kl and kls[-1] > cfg.target_kl)", "past_target = False")]),
    "KL early stopping's comparison inverted": ("happo_agent.py", [
        ("past_target = bool(cfg.target_kl and kls[-1] > cfg.target_kl)",
         "past_target = bool(cfg.target_kl and kls[-1] < cfg.target_kl)")]),
    "GAE's lambda forced to 0": ("happo_agent.py", [("cfg.gamma, cfg.gae_lambda)", "cfg.gamma, 0.0)")]),
    "advantages not normalised": ("happo_agent.py", [("    if cfg.normalize_advantages:", "    if False:")]),
    "the truncation fix removed (next value of the next point)": ("happo_agent.py", [
        ("next_values = np.where(truncated, values, next_values)", "next_values = next_values")]),
    "a timeout taken as a fault (no bootstrap)": ("buffer.py", [
        ("done & ~timeout, done & timeout)", "done, done & False)")]),
    "the value normaliser never updated": ("happo_agent.py", [
        ("        agent.value_norm.update(returns)", "        pass")]),
    "values not de-normalised before GAE": ("happo_agent.py", [
        ("return self.value_norm.denormalize(v) if self.value_norm is not None else v", "return v")]),
    "the critic never trained": ("happo_agent.py", [
        ("                self._descend(self.critic_optim, self.critic, loss)", "                pass")]),
    "the target critic never updated": ("happo_agent.py", [
        ("            soft_update(self.target, self.critic, cfg.target_tau)", "            pass")]),
    "rollout log-probabilities from the averaged actors": ("happo_agent.py", [
        ("actors = self.mean_actors if deterministic else self.actors", "actors = self.mean_actors")]),
    "MADDPG: the online actors in the critic's target": ("maddpg_agent.py", [
        ("for k, a in enumerate(self.target_actors)], dim=1)", "for k, a in enumerate(self.actors)], dim=1)")]),
    "MADDPG: the other racket's reward": ("maddpg_agent.py", [
        ("y = td_target(batch.rewards[:, i],", "y = td_target(batch.rewards[:, 1 - i],")]),
}  # fmt: skip


def scratch_copy() -> Path:
    """The tracked files of the repo in a fresh folder (the code as committed plus any edits to tracked files)."""
    out = Path(tempfile.mkdtemp(prefix="review-mutations-"))
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, out / name)
    return out


def run_tests(copy: Path) -> tuple[bool, list[str]]:
    """(passed, the failing tests) of TESTS in `copy`, stopping at the first failure."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", *TESTS], cwd=copy, capture_output=True, text=True)
    return done.returncode == 0, re.findall(r"^FAILED (\S+)", done.stdout, re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the table as JSON here (e.g. results/review_mutations.json)")
    args = parser.parse_args()
    copy, rows = scratch_copy(), []
    try:
        passed, failed = run_tests(copy)
        if not passed:
            raise SystemExit(f"the tests fail without any breakage ({failed}): fix them first")
        for name, (file, edits) in BREAKAGES.items():
            original = (copy / file).read_text()
            broken = original
            for before, after in edits:
                if broken.count(before) != 1:
                    raise SystemExit(f"{name}: {before!r} is not once in {file}; update BREAKAGES to today's code")
                broken = broken.replace(before, after)
            (copy / file).write_text(broken)
            passed, failed = run_tests(copy)
            (copy / file).write_text(original)
            rows.append(dict(breakage=name, file=file, killed=not passed, killed_by=failed[:1]))
            print(f"{'killed' if not passed else 'SURVIVED'}: {name}" + (f" (by {failed[0]})" if failed else ""), flush=True)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    print(f"{sum(r['killed'] for r in rows)} of {len(rows)} breakages fail a test")
    if args.out:
        sys.path.insert(0, str(ROOT / "bench"))
        from result_files import write_json

        write_json(args.out, dict(command="tools/review_mutations.py --out " + str(args.out), tests=TESTS, rows=rows))
    if not all(r["killed"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
