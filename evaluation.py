"""The course's solve rule, and what the benchmarks measure beyond it (recovery after a timeout). The episode loop
itself is `tennis_sim.scoring` (shared with `tennis-play`), re-exported here."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tennis_sim.scoring import Evaluation, evaluate, evaluation_matches, record_rally

__all__ = ["Evaluation", "evaluate", "evaluation_matches", "record_rally", "moving_average", "first_solved",
           "cut_first_rallies", "timeout_recovery", "SOLVE_SCORE", "SOLVE_WINDOW", "TIMEOUT_CUTS", "TIMEOUT_CUT_SEED"]

SOLVE_SCORE = 0.5  # course criterion: mean over 100 consecutive episodes of the max over both rackets
SOLVE_WINDOW = 100


def moving_average(scores: list[float] | np.ndarray, window: int = SOLVE_WINDOW) -> np.ndarray:
    """Average of the last `window` scores at every episode (fewer at the start): (N,) -> (N,)."""
    scores = np.asarray(scores, dtype=np.float64)
    csum = np.concatenate([[0.0], np.cumsum(scores)])
    idx = np.arange(1, len(scores) + 1)
    start = np.maximum(idx - window, 0)
    return (csum[idx] - csum[start]) / (idx - start)


def first_solved(scores: list[float] | np.ndarray, target: float = SOLVE_SCORE, window: int = SOLVE_WINDOW) -> int | None:
    """The 1-based episode at which the average of the last `window` episodes first reaches `target`, else None."""
    avg = moving_average(scores, window)
    hits = np.flatnonzero((avg >= target) & (np.arange(1, len(avg) + 1) >= window))
    return int(hits[0]) + 1 if hits.size else None


TIMEOUT_CUTS = range(150, 1000, 50)  # decisions after which bench/ cuts rallies, in fresh matches of seed 7000 + T
TIMEOUT_CUT_SEED = 7000


def cut_first_rallies(act: Callable[[np.ndarray], np.ndarray], env, cut_after: int) -> tuple[np.ndarray, np.ndarray]:
    """Play `cut_after` decisions of a fresh `env`, then cut every match's rally as a timeout would (`env.reset()`:
    rackets back to their start with zeroed stacks, the ball flying on; docs/tennis_environment.md, section 7).

    Returns the observations after the cut (2E, 24) and which matches were still in their first rally (E,) bool.
    """
    brain = env.brain_names[0]
    states = env.reset(train_mode=True)[brain].vector_observations
    E = states.shape[0] // 2
    playing = np.ones(E, dtype=bool)  # (E,) the first rally is still on
    for _ in range(cut_after):
        info = env.step(act(states))[brain]
        playing &= ~np.reshape(info.local_done, (E, 2))[:, 0]
        states = info.vector_observations
        if not playing.any():
            break
    return env.reset(train_mode=True)[brain].vector_observations, playing


def timeout_recovery(act: Callable[[np.ndarray], np.ndarray], env, cut_after: int) -> tuple[int, int]:
    """`cut_first_rallies`, then play on: (cut rallies that went on to the step limit, rallies cut). Matches whose
    first rally ended before the cut are left out.

    A deterministic policy plays a nearly periodic rally, so after a real timeout every match resumes at about the
    same phase; cutting at many `cut_after` measures recovery from in-flight starts in general, not at one phase.
    """
    states, playing = cut_first_rallies(act, env, cut_after)
    if not playing.any():
        return 0, 0
    brain, E = env.brain_names[0], playing.shape[0]
    ended, full = np.zeros(E, dtype=bool), np.zeros(E, dtype=bool)
    while not ended[playing].all():  # matches left out play on unwatched
        info = env.step(act(states))[brain]
        done = np.reshape(info.local_done, (E, 2))[:, 0]
        full |= done & np.reshape(info.max_reached, (E, 2))[:, 0] & ~ended
        ended |= done
        states = info.vector_observations
    return int((full & playing).sum()), int(playing.sum())
