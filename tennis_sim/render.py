"""Pictures of the Tennis simulator: one frame of a match, and a recorded rally as an animation."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.patches import Circle, Polygon, Rectangle

from tennis_sim.core import MULT, TennisCore, TennisParams

RACKET_COLOURS = ("tab:red", "tab:blue")  # Python index 0 (right racket), 1 (left racket)


def racket_corners(params: TennisParams, racket: np.ndarray, k: int) -> np.ndarray:
    """World corners (4, 2) of racket k's tilted box; racket is (4,) = x, y, vx, vy of its pivot."""
    c, s = math.cos(math.radians(params.racket_tilt_deg)), math.sin(math.radians(params.racket_tilt_deg))
    m = MULT[k]
    u = np.array([m * c, s])  # face normal
    v = np.array([-m * s, c])  # blade
    centre = racket[:2] - params.racket_pivot_to_centre * u
    hx, hy = params.racket_half_thickness, params.racket_half_length
    return np.array([centre + sx * hx * u + sy * hy * v for sx, sy in ((1, 1), (1, -1), (-1, -1), (-1, 1))])


def snapshot(core: TennisCore, match: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Copies of one match's rackets (2, 4) and ball (4,), for drawing now or later."""
    return core.racket[match].copy(), core.ball[match].copy()


def _draw_court(ax: plt.Axes, p: TennisParams) -> None:
    ax.add_patch(Rectangle((-p.court_half_length, p.floor_bottom), 2 * p.court_half_length,
                           p.floor_top - p.floor_bottom, color="tab:green", alpha=0.5))  # fmt: skip
    ax.add_patch(Rectangle((-p.net_half_width, p.net_bottom), 2 * p.net_half_width, p.net_top - p.net_bottom,
                           color="0.2"))  # fmt: skip
    for x0 in (-p.wall_outer_x, p.wall_inner_x):
        ax.add_patch(Rectangle((x0, p.floor_bottom), p.wall_outer_x - p.wall_inner_x, 14.0, color="0.7"))
    ax.set_xlim(-p.wall_outer_x, p.wall_outer_x)
    ax.set_ylim(p.floor_bottom, 10.0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_match(rackets: np.ndarray, ball: np.ndarray, params: TennisParams | None = None,
               ax: plt.Axes | None = None, title: str = "") -> plt.Figure:  # fmt: skip
    """Draw the court, the net, both rackets at their tilt and the ball. rackets (2, 4), ball (4,)."""
    p = params if params is not None else TennisParams()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.6))
    _draw_court(ax, p)
    for k in range(2):
        ax.add_patch(Polygon(racket_corners(p, rackets[k], k), color=RACKET_COLOURS[k]))
    ax.add_patch(Circle((ball[0], ball[1]), p.ball_radius, color="gold", ec="0.3"))
    ax.set_title(title)
    return ax.figure


def animate_rally(frames: list[tuple[np.ndarray, np.ndarray]], params: TennisParams | None = None,
                  scores: list[tuple[float, float]] | None = None, interval_ms: int = 60) -> FuncAnimation:  # fmt: skip
    """An animation of recorded `snapshot`s (one per decision); show it with `HTML(anim.to_jshtml())`
    or save it with `anim.save("rally.gif", writer="pillow")`. The figure is closed: only the animation shows."""
    p = params if params is not None else TennisParams()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    _draw_court(ax, p)
    patches = [ax.add_patch(Polygon(racket_corners(p, frames[0][0][k], k), color=RACKET_COLOURS[k])) for k in range(2)]
    ball = ax.add_patch(Circle((0.0, 0.0), p.ball_radius, color="gold", ec="0.3"))
    text = ax.text(0.0, 9.0, "", ha="center", va="top")

    def update(i: int) -> list:
        rackets, b = frames[i]
        for k in range(2):
            patches[k].set_xy(racket_corners(p, rackets[k], k))
        ball.center = (b[0], b[1])
        if scores is not None:
            text.set_text(f"decision {i}   right {scores[i][0]:.2f}   left {scores[i][1]:.2f}")
        return [*patches, ball, text]

    anim = FuncAnimation(fig, update, frames=len(frames), interval=interval_ms, blit=False)
    plt.close(fig)
    return anim
