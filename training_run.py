"""The bookkeeping of one training run, so that the notebook's loop shows only the interaction with the environment.

`TrainingRun` keeps the course's episode scores (max over the two rackets of each scored match's rally), notices when
the task is solved, and after every learning step: checks the mean action in fresh matches, keeps the best checked
policy in the run's own folder (`runs/checkpoints/`), appends a line to `runs/progress.jsonl`, writes the resume file,
and redraws the progress bar and the live curve. A run interrupted at any moment continues from its resume file when
it is started again. `keep_the_better` then decides whether the run's agent replaces the one in `checkpoints/`.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from tqdm.auto import tqdm

from checkpoints import open_own_file, write_atomically
from evaluation import SOLVE_SCORE, SOLVE_WINDOW, evaluate
from plotting import plot_learning_curve
from resume import load_resume, resumable, save_resume
from tennis_sim.environment import make_env

# A check plays as many consecutive rallies per match as the evaluation: a deterministic rally is nearly periodic, so
# the starts after a match's second and later timeouts come at phases its first never shows (bench/check_rule.py).
CHECK_MATCHES, CHECK_RALLIES = 40, 5  # 200 check rallies in all
CHECK_SEED_OFFSET = 2000  # of seed SEED + 2000, used nowhere else


@dataclass(frozen=True)
class RunLimits:
    """When training stops and what it does on the way (the notebook's parameters)."""

    episodes: int = 0  # stop after this many episodes (0: no limit)
    minutes: float = 30.0  # or after this much training time: a safety cap; the budget is the match steps
    match_steps: int = 4_000_000  # or after this many match steps, practice matches included (0: no limit)
    stop_at_ceiling: bool = True  # or once solved and a check keeps every rally to the step limit
    stop_average: float = 0.0  # or when the 100-episode average reaches this (0: off)
    check_every: int = 10  # learning steps between deterministic checks (0: none)
    check_from: float = 0.5  # checks begin at this 100-episode average
    resume_every: int = 20  # learning steps between resume files (0: none); MADDPG's shorter ones: its resume_stride times
    progress: str = "bar"  # "bar": a tqdm bar and a live curve; "lines": text lines for terminal logs


LOCK_FILE = ".training.lock"  # in the output folder, locked by the run that writes there
_HELD_LOCKS: dict[Path, object] = {}  # output folders this process has locked (a cell run twice keeps its lock)


def lock_output_dir(out: Path) -> None:
    """Hold an exclusive lock on `out` for the life of this process, or fail at once naming the folder: two runs
    writing one folder mix their progress lines, resume from each other's files and overwrite each other's
    checkpoints. The operating system releases the lock when the process ends, however it ends."""
    out = out.resolve()
    if out in _HELD_LOCKS:
        return
    out.mkdir(parents=True, exist_ok=True)
    handle = os.fdopen(open_own_file(out / LOCK_FILE, os.O_RDWR), "r+")  # held open until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RuntimeError(f"{out} is in use by another training run ({holder}); wait for it to end, or set "
                           "TENNIS_OUTPUT_DIR to another folder") from None  # fmt: skip
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    _HELD_LOCKS[out] = handle


def in_use_by_another_run(out: Path) -> bool:
    """Another process holds `out`'s lock (lock_output_dir) now. Probing takes the lock for an instant only."""
    lock = out / LOCK_FILE
    if lock.is_symlink() or not lock.is_file():
        return False
    with open(lock) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


class ProgressLines:
    """The progress bar's surface (n, set_postfix, update, write, close) as plain lines for logs: a line at most every
    `interval` seconds, and each message on a line of its own. tqdm's text bar reprints itself after every message,
    which in a log leaves a stale copy of the bar after the message."""

    def __init__(self, interval: float = 15.0) -> None:
        self.n, self.postfix, self.interval = 0, "", interval
        self.start = self.last = time.time()

    def set_postfix(self, refresh: bool = False, **values: object) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def _line(self) -> None:
        print(f"episodes: {self.n} [{time.time() - self.start:.0f} s, {self.postfix}]", flush=True)
        self.last = time.time()

    def update(self, _: int = 0) -> None:
        if time.time() - self.last >= self.interval:
            self._line()

    def write(self, message: str) -> None:
        print(message, flush=True)

    def close(self) -> None:
        self._line()


def rank(check: dict) -> tuple:
    """Rallies at the ceiling first, then the average."""
    return check["ceiling"], check["average"]


def check_mean_action(agent, seed: int, matches: int, rallies: int):
    """The agent's mean action in `matches` fresh matches of seed `seed` + CHECK_SEED_OFFSET, `rallies` each."""
    env = make_env(num_matches=matches, seed=seed + CHECK_SEED_OFFSET)
    return evaluate(lambda s: agent.act(s, deterministic=True), env, rallies)


def keep_if_best(agent, checks: list[dict], folder: Path) -> None:
    """Save the agent into `folder` when the newest of `checks` ranks at least as high as every earlier one."""
    if rank(checks[-1]) >= max(map(rank, checks)):
        agent.save(folder)


def read_history(out: Path) -> dict | None:
    """The last training run's history in `out` (runs/history.json), or None when there is none."""
    path = Path(out) / "runs" / "history.json"
    return json.loads(path.read_text()) if path.is_file() else None


class TrainingRun:
    """Scores, checks, checkpoints, progress and resume files of one training run in `out`."""

    def __init__(self, agent, env, out: Path, seed: int, limits: RunLimits, practice: int = 0,
                 can_check: bool = True) -> None:  # fmt: skip
        self.agent, self.env, self.out, self.seed, self.limits = agent, env, Path(out), seed, limits
        self.brain = env.brain_names[0]
        (self.out / "runs").mkdir(parents=True, exist_ok=True)
        lock_output_dir(self.out)
        self.run_checkpoints = self.out / "runs" / "checkpoints"  # this run's agent; checkpoints/ only if better
        self.resume_file = self.out / "runs" / "resume.pt"  # lives until the notebook has finished
        self.progress_file = self.out / "runs" / "progress.jsonl"  # one line per learning step
        can_load = resumable(agent) and hasattr(env, "core")
        self.can_resume = limits.resume_every > 0 and can_load  # writes resume files
        why = "a Unity build's state cannot be saved" if not hasattr(env, "core") else "this agent cannot be resumed"
        if not can_load and self.resume_file.is_file():  # another run's, which this one could neither continue nor keep
            raise RuntimeError(f"{self.resume_file} holds an interrupted run that this one cannot continue ({why}): "
                               "continue it on the simulator, or set TENNIS_OUTPUT_DIR to train elsewhere")  # fmt: skip
        if limits.resume_every > 0 and not can_load:
            print(f"no resume files: {why}; an interrupted run would start again from its beginning")
        self.checking = limits.check_every > 0 and can_check
        states = env.reset(train_mode=True)[self.brain].vector_observations  # (2E, 24)
        self.E = len(states) // 2  # matches, the practice ones last
        self.scored = self.E - practice
        self.scores, self.seconds, self.env_steps, self.checks = [], [], [], []  # per episode; per check
        # per episode too: the rallies ended so far in every match, practice ones included (a practice match is data)
        self.all_episodes: list[int] = []
        self.rallies_ended = 0
        self.epochs: list[float] = []  # per learning step: the passes over its batch, averaged over the actors
        self.match_scores = np.zeros((self.scored, 2))  # running sums of each racket in each scored match
        self.solved_at, self.ceiling_at, self.steps, elapsed, self.last_metrics = None, None, 0, 0.0, {}
        if can_load and self.resume_file.is_file():  # an interrupted run, even one that wrote files at another pace
            loop = load_resume(self.resume_file, agent, env)
            self.scores, self.seconds, self.env_steps = loop["scores"], loop["seconds"], loop["env_steps"]
            self.match_scores, self.solved_at, self.steps = loop["match_scores"], loop["solved_at"], loop["steps"]
            elapsed, states, self.checks, self.ceiling_at = loop["elapsed"], loop["states"], loop["checks"], loop["ceiling_at"]
            self.epochs = loop.get("epochs", [])
            self.all_episodes, self.rallies_ended = loop.get("all_episodes", []), loop.get("rallies_ended", 0)
            print(f"Resumed from {self.resume_file}: {len(self.scores)} episodes and {elapsed:.0f} s of training so far")
            self._keep_progress_lines_up_to(agent.learn_steps)
        else:  # a fresh run: nothing of an earlier run's agent may be taken for this one's (other files stay)
            write_atomically(self.progress_file, b"")
            for stale in agent_files(self.run_checkpoints):
                stale.unlink()
        self.states = states
        self.window = deque(self.scores[-SOLVE_WINDOW:], maxlen=SOLVE_WINDOW)
        lines = limits.progress != "bar"
        self.bar = ProgressLines() if lines else tqdm(total=limits.episodes or None, desc="episodes", mininterval=1)
        self.live = None if lines else display(plt.figure(), display_id=True)  # the curve, redrawn in place
        plt.close("all")
        self.start = time.time() - elapsed

    def _keep_progress_lines_up_to(self, learn_steps: int) -> None:
        """Drop the lines written after the resume file, and any line that does not read (the one a kill cut short,
        or one damaged otherwise: the lines after it are kept)."""
        kept, unreadable = [], 0
        for line in self.progress_file.read_text().splitlines() if self.progress_file.is_file() else []:
            try:
                if json.loads(line)["learn_steps"] <= learn_steps:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                unreadable += 1
        if unreadable:
            print(f"{self.progress_file}: {unreadable} unreadable line(s) dropped, the others kept")
        write_atomically(self.progress_file, "".join(line + "\n" for line in kept).encode())

    @property
    def average(self) -> float:
        return float(np.mean(self.window)) if self.window else 0.0

    def keep_going(self) -> bool:
        lim = self.limits
        return ((not lim.episodes or len(self.scores) < lim.episodes) and time.time() - self.start < 60 * lim.minutes
                and (not lim.match_steps or self.steps * self.E < lim.match_steps)
                and not (lim.stop_average and len(self.window) == SOLVE_WINDOW and self.average >= lim.stop_average)
                and not (lim.stop_at_ceiling and self.ceiling_at is not None and self.solved_at is not None))  # fmt: skip

    def record(self, rewards: list, dones: list) -> None:
        """Add one decision's rewards (2E,) to the running sums; score the rallies that ended (practice ones not)."""
        self.steps += 1
        self.match_scores += np.reshape(rewards, (self.E, 2))[: self.scored]
        ended = np.reshape(dones, (self.E, 2))[:, 0]  # (E,)
        for k in np.flatnonzero(ended[: self.scored]):
            self.rallies_ended += 1
            self.all_episodes.append(self.rallies_ended)
            self.scores.append(float(self.match_scores[k].max()))
            self.window.append(self.scores[-1])
            self.seconds.append(time.time() - self.start)
            self.env_steps.append(self.steps * self.E)
            self.match_scores[k] = 0.0
            if self.solved_at is None and len(self.window) == SOLVE_WINDOW and self.average >= SOLVE_SCORE:
                self.solved_at = len(self.scores)
                self.agent.save(self.run_checkpoints / "solved")
                self.bar.write(f"Environment solved in {self.solved_at} episodes ({self.env_steps[-1]} match steps, "
                               f"{self.seconds[-1]:.0f} s): 100-episode average {self.average:.3f}")  # fmt: skip
        self.rallies_ended += int(ended[self.scored :].sum())

    def after_learning(self, metrics: dict, states: np.ndarray) -> None:
        """Check, keep the best policy, write progress and resume files, redraw: once per learning step."""
        agent, lim = self.agent, self.limits
        diverged = sorted(k for k, v in metrics.items() if not np.isfinite(v).all()) + nonfinite_networks(agent)
        if diverged:  # before a resume file or a check could keep the broken networks
            raise FloatingPointError(f"training diverged at learning step {agent.learn_steps}: {', '.join(diverged)} "
                                     f"is NaN or inf (a learning rate too large?); the best checked policy so far stays "
                                     f"in {self.run_checkpoints}")  # fmt: skip
        self.last_metrics, self.states = metrics, states
        epochs = [v for k, v in metrics.items() if k.startswith("epochs_")]  # HAPPO's KL early stopping ends them
        if epochs:
            self.epochs.append(float(np.mean(epochs)))
        if self.checking and agent.learn_steps % lim.check_every == 0 and (self.checks or self.average >= lim.check_from):
            self._check()
        line = dict(learn_steps=agent.learn_steps, episodes=len(self.scores), env_steps=self.steps * self.E,
                    seconds=time.time() - self.start, avg100=self.average, solved_at=self.solved_at,
                    check=self.checks[-1]["average"] if self.checks else None,
                    ceiling_seconds=self.ceiling_at["seconds"] if self.ceiling_at else None)  # fmt: skip
        with os.fdopen(open_own_file(self.progress_file, os.O_WRONLY | os.O_APPEND), "a") as f:
            f.write(json.dumps(line) + "\n")
        self.bar.n = len(self.scores)
        self.bar.set_postfix(avg100=f"{self.average:.3f}", best=f"{max(self.window, default=0):.2f}",
                             learn_steps=agent.learn_steps, refresh=False,
                             check=f"{self.checks[-1]['average']:.2f}" if self.checks else "-")  # fmt: skip
        self.bar.update(0)
        if self.live is not None and agent.learn_steps % 10 == 0:
            fig = plot_learning_curve(self.scores, self.solved_at, title=f"training: {len(self.scores)} episodes")
            self.live.update(fig)
            plt.close(fig)
        if self.can_resume and agent.learn_steps % (lim.resume_every * getattr(agent, "resume_stride", 1)) == 0:
            self._save_resume()

    def _check(self) -> None:
        """The mean action plays five rallies in each of 40 fresh matches, as in the evaluation (a rally after one that
        reached the step limit begins with the ball in flight). A check costs seconds: none before `check_from`."""
        agent = self.agent
        check = check_mean_action(agent, self.seed, CHECK_MATCHES, CHECK_RALLIES)
        self.checks.append(dict(learn_steps=agent.learn_steps, episodes=len(self.scores), seconds=time.time() - self.start,
                                average=float(check.scores.mean()), ceiling=int(check.full_length.sum())))  # fmt: skip
        keep_if_best(agent, self.checks, self.run_checkpoints)  # the best policy so far is the one that is kept
        if self.ceiling_at is None and check.full_length.all():
            self.ceiling_at = self.checks[-1]
            self.bar.write(f"All {len(check.scores)} check rallies at the ceiling after {self.ceiling_at['seconds']:.0f} s "
                           f"({len(self.scores)} episodes): {check.summary()}")  # fmt: skip

    def _save_resume(self) -> None:
        save_resume(self.resume_file, self.agent, self.env, dict(
            scores=self.scores, seconds=self.seconds, env_steps=self.env_steps, match_scores=self.match_scores,
            solved_at=self.solved_at, steps=self.steps, elapsed=time.time() - self.start, states=self.states,
            checks=self.checks, ceiling_at=self.ceiling_at, epochs=self.epochs, all_episodes=self.all_episodes,
            rallies_ended=self.rallies_ended))  # fmt: skip

    def finish(self, config: object, states: np.ndarray) -> dict:
        """Close the bar, keep the last policy if no check chose one, save the end of training for a rerun, and return
        the run's history (what runs/history.json holds)."""
        self.bar.close()
        if not self.checks:
            self.agent.save(self.run_checkpoints)
        train_seconds = time.time() - self.start
        self.states = states  # the loop's last observations, which the simulator's saved state continues from
        if self.can_resume:  # a rerun after an interruption of the cells below starts from here, not from scratch
            self._save_resume()
        history = dict(config=asdict(config), seed=self.seed, learn_steps=self.agent.learn_steps, scores=self.scores,
                       seconds=self.seconds,
                       env_steps=self.env_steps, solved_at=self.solved_at, checks=self.checks,
                       ceiling_at=self.ceiling_at, train_seconds=train_seconds, epochs=self.epochs,
                       all_episodes=self.all_episodes)  # fmt: skip
        last = self.average if self.window else float("nan")
        print(f"{len(self.scores)} episodes, {self.steps * self.E} match steps, {self.agent.learn_steps} learning steps "
              f"in {train_seconds:.0f} s; last 100-episode average {last:.3f}")  # fmt: skip
        print("last learning step:", {k: round(float(v), 4) if isinstance(v, float) else v
                                      for k, v in self.last_metrics.items()})  # fmt: skip
        if self.checks:
            best = max(reversed(self.checks), key=rank)  # the save keeps the last of equally ranked checks
            print(f"kept the policy of learning step {best['learn_steps']}: check average {best['average']:.3f}, "
                  f"{best['ceiling']} of {CHECK_MATCHES * CHECK_RALLIES} check rallies at the ceiling")  # fmt: skip
        return history


def nonfinite_networks(agent) -> list[str]:
    """The agent's networks (by attribute) holding a NaN or inf parameter: a last gradient step can break them
    while the metrics it reports, computed before it, are still finite."""
    import torch  # here, so that the bookkeeping does not need torch until an agent is checked

    return [f"the weights of {name}" for name, net in vars(agent).items() if isinstance(net, torch.nn.Module)
            and not all(torch.isfinite(p).all() for p in net.parameters())]  # fmt: skip


def _checkpoint_files() -> dict[str, str]:
    """The file each agent's save() writes its networks to, by algorithm."""
    from happo_agent import CHECKPOINT_FILE as HAPPO_FILE  # here, so that the bookkeeping needs torch only for agents
    from maddpg_agent import CHECKPOINT_FILE as MADDPG_FILE

    return {"happo": HAPPO_FILE, "maddpg": MADDPG_FILE}


def holds_agent(directory: Path) -> bool:
    """Whether `directory` holds an agent's checkpoint (what load_agent reads)."""
    return any((Path(directory) / name).is_file() for name in _checkpoint_files().values())


def agent_files(directory: Path) -> list[Path]:
    """The files an agent's save() writes that are in `directory` or its solved/: what a run may remove there."""
    names = (*_checkpoint_files().values(), "config.json")
    return [d / n for d in (Path(directory), Path(directory) / "solved") for n in names if (d / n).is_file()]


def load_agent(directory: Path):
    """The HAPPO or MADDPG agent saved in `directory`, whichever it holds."""
    from happo_agent import HAPPOAgent
    from maddpg_agent import MADDPGAgent

    maddpg = (Path(directory) / _checkpoint_files()["maddpg"]).is_file()
    return (MADDPGAgent if maddpg else HAPPOAgent).load(directory)


def keep_the_better(run_dir: Path, kept_dir: Path, run_score: float | None, kept_score_of, learned: bool,
                    replace: bool = False) -> str:
    """Copy the run's agent (`run_dir`) over the kept one (`kept_dir`, the course's `checkpoints/`) when there is none
    yet, when the run's evaluation `run_score` is at least the kept agent's on the same episodes (`kept_score_of(dir)`
    plays them), or when `replace` says so; never when the run did not learn. Returns what was done, in words."""
    if not learned:
        return f"kept {kept_dir}: this run did not learn (no learning step)"
    if holds_agent(kept_dir) and not replace:
        if run_score is None:
            return f"kept {kept_dir}: this run was not evaluated, so it cannot be compared (its agent is in {run_dir})"
        kept_score = kept_score_of(kept_dir)
        if run_score < kept_score:
            return (f"kept {kept_dir}: its evaluation {kept_score:.3f} beats this run's {run_score:.3f} on the same "
                    f"episodes (this run's agent is in {run_dir}; TENNIS_REPLACE_CHECKPOINT=1 replaces it anyway)")
    for stale in agent_files(kept_dir):  # another algorithm's agent, or a solved/ the run does not have, would be
        if stale.suffix == ".pt" and not (run_dir / stale.relative_to(kept_dir)).is_file():  # left beside this run's
            stale.unlink()
            (stale.parent / "config.json").unlink(missing_ok=True)
    for source in agent_files(run_dir):  # the agent's files only: anything else in the run's folder stays there
        target = kept_dir / source.relative_to(run_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, source.read_bytes())
    return f"{kept_dir} now holds this run's agent" + (f" (evaluation {run_score:.3f})" if run_score is not None else "")
