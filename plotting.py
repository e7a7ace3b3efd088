"""Learning-curve figures: one run, and several seeds or methods with a median and a min-max band."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from evaluation import SOLVE_SCORE, SOLVE_WINDOW, moving_average
from tennis_sim.files import replace_through


def save_figure(fig: plt.Figure, path: Path, dpi: int = 120) -> None:
    """Save `fig` as `path` (its folder made if needed) by replacing the file: a link planted there is never written
    through, and a reader never sees half an image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_through(path, lambda tmp: fig.savefig(tmp, dpi=dpi), suffix=path.suffix)


def plot_learning_curve(scores: list[float], solved_at: int | None, title: str = "", checks: list[dict] = ()) -> plt.Figure:
    """Every episode's score, the 100-episode average, the 0.5 line, the solved episode and, when given, the average
    of each deterministic check (dicts with "episodes" and "average", as the notebook records them)."""
    fig, ax = plt.subplots(figsize=(9, 4))
    episodes = np.arange(1, len(scores) + 1)
    ax.plot(episodes, scores, ".", ms=1.5, alpha=0.35, color="tab:blue", label="episode score (max over rackets)")
    ax.plot(episodes, moving_average(scores), color="tab:orange", lw=2, label=f"{SOLVE_WINDOW}-episode average")
    ax.axhline(SOLVE_SCORE, color="tab:green", ls="--", lw=1, label=f"solved ({SOLVE_SCORE})")
    if solved_at is not None:
        ax.axvline(solved_at, color="tab:red", ls=":", lw=1.5, label=f"solved at episode {solved_at}")
    if checks:
        ax.plot([c["episodes"] for c in checks], [c["average"] for c in checks], "D-", ms=3, lw=1, color="tab:purple",
                label="deterministic check (average of 5 rallies in each of 40 fresh matches)")
    ax.set_xlabel("episode (one rally of one match)")
    ax.set_ylabel("score")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_runs(runs: dict[str, list[dict]], x_key: str = "seconds", title: str = "") -> plt.Figure:
    """Median and min-max band of the 100-episode average against `x_key` ("env_steps": match steps, "seconds" or
    "episodes") while every
    run of a label is still training, each run's own curve as a thin line to its end, and a dot where a run's
    deterministic check first had every rally at the ceiling.

    runs: label -> list of histories, each a dict with per-episode lists "scores", "seconds" and "env_steps" (and
    "ceiling_at").
    """
    fig, ax = plt.subplots(figsize=(9, 4))
    for label, histories in runs.items():
        xs = [np.asarray(h[x_key], dtype=np.float64) if x_key != "episodes" else np.arange(1, len(h["scores"]) + 1)
              for h in histories]  # fmt: skip
        averages = [moving_average(h["scores"]) for h in histories]
        grid = np.linspace(0, min(x[-1] for x in xs), 300)
        curves = np.array([np.interp(grid, x, avg) for x, avg in zip(xs, averages)])  # (seeds, 300)
        (line,) = ax.plot(grid, np.median(curves, axis=0), lw=2, label=f"{label} (median of {len(curves)})")
        ax.fill_between(grid, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.2)
        for h, x, avg in zip(histories, xs, averages):
            ax.plot(x, avg, lw=0.6, alpha=0.5, color=line.get_color())
            ceiling = h.get("ceiling_at")
            if ceiling and ceiling["episodes"]:
                at = ceiling["seconds"] if x_key == "seconds" else x[ceiling["episodes"] - 1]
                ax.plot(at, np.interp(at, x, avg), "o", ms=4, color=line.get_color())
    ax.axhline(SOLVE_SCORE, color="tab:green", ls="--", lw=1)
    ax.set_xlabel({"seconds": "wall-clock seconds of training", "env_steps": "match steps"}.get(x_key, "episode"))
    ax.set_ylabel(f"{SOLVE_WINDOW}-episode average score")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
