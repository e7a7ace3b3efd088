"""Draw the report's explanatory figures into image/: the advantage decomposition, the sequential update and the
pseudocode of one HAPPO learning step. Run: .venv/bin/python tools/draw_diagrams.py"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

IMAGE = Path(__file__).resolve().parents[1] / "image"


def box(ax, x, y, w, h, text, color, fontsize=10):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", fc=color, ec="0.3"))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def arrow(ax, x0, y0, x1, y1):
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=15, color="0.3"))


def blank(w, h):
    fig, ax = plt.subplots(figsize=(w, h))
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.axis("off")
    return fig, ax


def advantage_decomposition() -> None:
    fig, ax = blank(10, 3.2)
    ax.text(5, 2.75, r"Multi-agent advantage decomposition (Kuba et al. 2021, Lemma 1)", ha="center", fontsize=13)
    ax.text(5, 2.05, r"$A_\pi^{i_{1:m}}(s, a^{i_{1:m}}) \;=\; \sum_{j=1}^{m} A_\pi^{i_j}(s, a^{i_{1:j-1}}, a^{i_j})$",
            ha="center", fontsize=16)  # fmt: skip
    box(ax, 0.4, 0.3, 4.2, 1.1, "joint advantage of both rackets\n(what the team gains over the critic's V(s))", "#fde2c8")
    ax.text(5.0, 0.85, "=", fontsize=20, ha="center", va="center")
    box(ax, 5.4, 0.3, 2.0, 1.1, "advantage of\nthe first racket", "#d6e9f8", fontsize=9)
    ax.text(7.7, 0.85, "+", fontsize=20, ha="center", va="center")
    box(ax, 8.0, 0.3, 1.8, 1.1, "second racket,\ngiven the first's\naction", "#d9f2d0", fontsize=9)
    fig.savefig(IMAGE / "advantage_decomposition.png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def sequential_update() -> None:
    fig, ax = blank(12, 2.6)
    steps = [
        ("rollout:\nE matches x T steps,\nteam reward,\nGAE advantage A", "#eeeeee"),
        ("draw a random\norder (i1, i2)\nof the rackets", "#fde2c8"),
        ("update actor i1\non its clipped\nsurrogate, M = 1", "#d6e9f8"),
        ("M = new / old\nprobability of i1's\nactions, per sample,\nno gradient, no clip", "#fff3b0"),
        ("update actor i2\non M x its clipped\nsurrogate", "#d9f2d0"),
        ("update the\ncritic on\nthe returns", "#eeeeee"),
    ]
    w, gap = 1.75, 0.27
    for k, (text, color) in enumerate(steps):
        x = 0.1 + k * (w + gap)
        box(ax, x, 0.6, w, 1.4, text, color, fontsize=8.5)
        if k:
            arrow(ax, x - gap, 1.3, x, 1.3)
    ax.text(6, 2.35, "One HAPPO learning step: the sequential update", ha="center", fontsize=13)
    ax.set_position((0, 0, 1, 1))
    ax.set_ylim(0.5, 2.6)  # the boxes and the title, no empty band below
    fig.set_size_inches(12, 2.1)
    fig.savefig(IMAGE / "sequential_update.png", dpi=120, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)


PSEUDOCODE = """\
HAPPO on Tennis (happo_agent.HAPPOAgent)
for every learning step:
    play E matches for T decisions with both actors; store obs, actions, log pi_old, rewards, done
    V(s) and V(s') from the critic (or its target copy); team reward r = r_right + r_left
    A_hat, returns = GAE(r, V, gamma, lambda)          # termination cuts, truncation bootstraps
    order = random permutation of the 2 rackets
    for racket i in order:
        M = product over rackets j updated before i of pi_j(a_j | o_j) / pi_j,old(a_j | o_j)
                                                       # per sample; 1 for the first; detached, never clipped
        for each epoch, for each minibatch:
            r_i = pi_i(a_i | o_i) / pi_i,old(a_i | o_i)
            loss = - mean( M * min(r_i * A_hat, clip(r_i, 1 - eps, 1 + eps) * A_hat) )
            Adam step on actor i (gradient-norm clip); stop early if KL > target_kl
    fit the critic to the returns (value normalisation); LinearLR schedulers step"""


def pseudocode() -> None:
    fig = plt.figure(figsize=(11, 3.6))  # no axes: the tight box is the text's own
    fig.text(0.0, 1.0, PSEUDOCODE, family="monospace", fontsize=10, va="top")
    fig.savefig(IMAGE / "pseudocode.png", dpi=120, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)


if __name__ == "__main__":
    IMAGE.mkdir(exist_ok=True)
    advantage_decomposition()
    sequential_update()
    pseudocode()
    print("wrote", ", ".join(p.name for p in sorted(IMAGE.glob("*.png"))))
