"""Scoring a trained agent the course's way, and recording a rally to watch."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

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


class Evaluation(NamedTuple):
    """Whole episodes played by a fixed policy."""

    scores: np.ndarray  # (episodes,) course scores: max over the two rackets of each racket's episode sum
    full_length: np.ndarray  # (episodes,) bool: the rally lasted to the step limit, the task's ceiling (2.6-2.8)
    in_flight: np.ndarray  # (episodes,) bool: began with the last rally's ball still flying (after a timeout the
    # Unity build, and so the simulator, does not serve again: docs/tennis_environment.md, section 7)

    def ceiling_by_start(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(episodes at the ceiling, episodes) among those that began with a serve, and among those begun in flight."""
        serve = ~self.in_flight
        return ((int(self.full_length[serve].sum()), int(serve.sum())),
                (int(self.full_length[self.in_flight].sum()), int(self.in_flight.sum())))  # fmt: skip

    def summary(self) -> str:
        text = (f"average {self.scores.mean():.3f} over {len(self.scores)} episodes (min {self.scores.min():.2f}, "
                f"max {self.scores.max():.2f}); {self.full_length.sum()} of {len(self.scores)} at the ceiling")
        (serve_full, serves), (flight_full, flights) = self.ceiling_by_start()
        if flights:
            text += (f" ({serve_full} of {serves} that began with a serve, "
                     f"{flight_full} of {flights} that began with the ball in flight)")
        return text


def evaluation_matches(episodes: int, most: int = 20) -> int:
    """The matches that play `episodes` in equal shares: the largest number up to `most` that divides it (the
    notebook's evaluation of 100 episodes plays 20 matches of 5 consecutive rallies)."""
    return max(d for d in range(1, min(most, episodes) + 1) if episodes % d == 0)


def evaluate(act: Callable[[np.ndarray], np.ndarray], env, episodes_per_match: int) -> Evaluation:
    """`episodes_per_match` whole episodes in every match of `env`, all matches stepping together, episodes
    ordered match by match: (E * episodes_per_match,) scores and flags. `env` should be fresh (its first rallies
    start with a serve).

    Every match contributes the same number of episodes, so short episodes are not over-represented. When the
    academy's step limit ends every match (`env.global_done`, 5,000 decisions after a reset) those episodes count as
    timeouts and the environment is reset, as the Unity build requires.
    """
    if episodes_per_match < 1:
        raise ValueError(f"episodes_per_match must be at least 1, got {episodes_per_match}")
    brain = env.brain_names[0]
    states = env.reset(train_mode=True)[brain].vector_observations
    E = states.shape[0] // 2
    running = np.zeros((E, 2))
    after_timeout = np.zeros(E, dtype=bool)  # the match's last episode ended at the step limit
    episodes: list[list[tuple[float, bool, bool]]] = [[] for _ in range(E)]
    while min(len(e) for e in episodes) < episodes_per_match:
        info = env.step(act(states))[brain]
        running += np.reshape(info.rewards, (E, 2))
        timeout = np.reshape(info.max_reached, (E, 2))[:, 0]
        for k in np.flatnonzero(np.reshape(info.local_done, (E, 2))[:, 0]):
            if len(episodes[k]) < episodes_per_match:
                episodes[k].append((float(running[k].max()), bool(timeout[k]), bool(after_timeout[k])))
            running[k], after_timeout[k] = 0.0, timeout[k]
        states = info.vector_observations
        if env.global_done:
            states = env.reset(train_mode=True)[brain].vector_observations
    flat = [e for per_match in episodes for e in per_match]
    scores, full_length, in_flight = (np.array(column) for column in zip(*flat))
    return Evaluation(scores.astype(np.float64), full_length.astype(bool), in_flight.astype(bool))


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


def record_rally(act: Callable[[np.ndarray], np.ndarray], env, max_decisions: int) -> tuple[list, list]:
    """Play match 0 of the simulator until its episode ends or `max_decisions`: (snapshots, running scores)."""
    from tennis_sim.render import snapshot  # matplotlib only when drawing

    brain = env.brain_names[0]
    states = env.reset(train_mode=True)[brain].vector_observations
    frames, scores, running = [snapshot(env.core)], [(0.0, 0.0)], np.zeros(2)
    for _ in range(max_decisions):
        info = env.step(act(states))[brain]
        if info.local_done[0]:
            break
        running += info.rewards[:2]
        frames.append(snapshot(env.core))
        scores.append(tuple(running))
        states = info.vector_observations
    return frames, scores
