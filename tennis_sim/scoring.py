"""Scoring a policy the course's way on the simulator: whole episodes in every match, and one rally recorded to
watch. The notebook, the benchmarks and `tennis-play` all score with these."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


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
    """`episodes_per_match` whole episodes in every scored match of `env`, all matches stepping together, episodes
    ordered match by match: (E * episodes_per_match,) scores and flags; a simulator's practice matches play along
    unscored, as in training. `env` should be fresh (its first rallies
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
    scored = E - getattr(getattr(env, "core", None), "num_practice", 0)  # practice matches (the last) are not scored
    if scored < 1:
        raise ValueError(f"all {E} matches of this environment are practice matches: none is scored")
    running = np.zeros((E, 2))
    after_timeout = np.zeros(E, dtype=bool)  # the match's last episode ended at the step limit
    episodes: list[list[tuple[float, bool, bool]]] = [[] for _ in range(scored)]
    while min(len(e) for e in episodes) < episodes_per_match:
        info = env.step(act(states))[brain]
        running += np.reshape(info.rewards, (E, 2))
        timeout = np.reshape(info.max_reached, (E, 2))[:, 0]
        for k in np.flatnonzero(np.reshape(info.local_done, (E, 2))[:scored, 0]):
            if len(episodes[k]) < episodes_per_match:
                episodes[k].append((float(running[k].max()), bool(timeout[k]), bool(after_timeout[k])))
            running[k], after_timeout[k] = 0.0, timeout[k]
        states = info.vector_observations
        if env.global_done:
            states = env.reset(train_mode=True)[brain].vector_observations
    flat = [e for per_match in episodes for e in per_match]
    scores, full_length, in_flight = (np.array(column) for column in zip(*flat))
    return Evaluation(scores.astype(np.float64), full_length.astype(bool), in_flight.astype(bool))



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
