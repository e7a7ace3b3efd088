"""The docs state the code's constants: each phrase below is built from the code (TennisParams, the solve rule, the
training run's limits and checks), so a constant changed in the code and not in the docs, or the other way round,
fails here. docs/tennis_environment.md is the task's spec; the README restates the task and the training's defaults."""

import re
from pathlib import Path

import pytest

from evaluation import SOLVE_SCORE, SOLVE_WINDOW
from maddpg_agent import MADDPGAgent, MADDPGConfig
from tennis_sim.core import ACTION_SIZE, FRAME_SIZE, NUM_STACKED, TennisParams
from training_run import CHECK_MATCHES, CHECK_RALLIES, RunLimits

ROOT = Path(__file__).resolve().parents[1]


def g(value: float) -> str:
    return f"{value:g}"


def phrases() -> list[str]:
    p = TennisParams()
    # a ball at the clamp speed gains gravity's dt before it moves: its fastest drop per decision
    drop = p.ticks_per_decision * p.dt * (p.ball_speed_clamp - p.gravity * p.dt)
    return [
        f"{NUM_STACKED * FRAME_SIZE} numbers per racket: the last {NUM_STACKED} frames of {FRAME_SIZE}",
        f"{ACTION_SIZE} continuous numbers per racket in [-1, 1]",
        f"jump when above {g(p.jump_action_threshold)}",
        f"+{g(p.hit_reward)} to the racket that hit the ball over the net; {g(p.miss_reward)} to a racket",
        f"or at the step limit ({p.max_decisions:,} decisions)",
        f"|x| <= {g(p.net_half_width)}, y in [{g(p.net_bottom)}, {g(p.net_top)}]",
        f"(y up to {g(p.over_top)})",
        f"a slab whose top is at y = {g(p.floor_top)}",
        f"far walls stand at |x| >= {g(p.wall_inner_x)}",
        f"The ball is a disc of radius {g(p.ball_radius)}",
        f"A racket is a box tilted {g(p.racket_tilt_deg)} degrees",
        f"{g(2 * p.racket_half_thickness)} thick and {g(2 * p.racket_half_length)} long",
        f"centre sits {g(p.racket_pivot_to_centre)} behind its pivot",
        f"{g(1 / p.dt)} ticks per second (dt {g(p.dt)} s), gravity {g(p.gravity)} on ball and rackets",
        f"clamped to [{g(-p.ball_speed_clamp)}, {g(p.ball_speed_clamp)}]",
        f"drops {drop:.4f} per decision at most",
        f"Ball mass {g(p.ball_mass)}, racket mass {g(p.racket_mass)}",
        f"relative normal speed is at least {g(p.bounce_threshold)} m/s",
        f"the action is applied on each of {p.ticks_per_decision} ticks",
        f"sets the vertical speed to {g(p.jump_speed)} when the second action exceeds {g(p.jump_action_threshold)} "
        f"and the pivot is below y = {g(p.jump_below_height)}",
        f"set (not added) to {g(p.run_speed)} times the first action",
        f"kept at least {g(p.net_clearance)} from the net",
        f"The ball leaving the crossing plane pays +{g(p.hit_reward)}",
        f"costs that side's racket {g(p.miss_reward)}",
        f"A racket's own step limit is {p.max_ticks:,} ticks: the {p.max_decisions:,}st decision",
        f"puts the ball at rest {g(p.serve_height)} above a random side's start zone (|x| in [{g(p.start_min)}, "
        f"{g(p.start_max)}])",
        f"own-frame x in [{g(-p.start_max)}, {g(-p.start_min)}], y = {g(p.racket_start_y)}",
        f"ends at the step limit after {p.max_decisions:,} decisions",
        f"the Tennis scene's limit is {p.academy_max_ticks:,} ticks, the {p.academy_decisions:,}th decision",
        f"{FRAME_SIZE} observations per frame, {NUM_STACKED} stacked frames",
        f"{ACTION_SIZE} continuous actions",
    ]


def readme_phrases() -> list[str]:
    p, limits = TennisParams(), RunLimits()
    maddpg_stride = MADDPGAgent(MADDPGConfig(num_matches=1, buffer_size=256, batch_size=8, learn_start=8)).resume_stride
    return [
        f"{NUM_STACKED * FRAME_SIZE} numbers per racket, {NUM_STACKED} stacked frames of {FRAME_SIZE}",
        f"{ACTION_SIZE} continuous numbers per racket in [-1, 1]: run toward or away from the net, and jump "
        f"(above {g(p.jump_action_threshold)})",
        f"+{g(p.hit_reward)} to a racket that hits the ball over the net; {g(p.miss_reward)} to a racket",
        f"after {p.max_decisions:,} decisions). Each racket's rewards are summed",
        f"the average score over {SOLVE_WINDOW} consecutive episodes reaches +{g(SOLVE_SCORE)}",
        f"the academy's {p.academy_decisions:,}-decision limit",
        f"in all of its {CHECK_MATCHES * CHECK_RALLIES} rallies, or for {limits.match_steps:,} match steps at most",
        f"{g(limits.minutes)} minutes of training is a safety cap only",
        f"every {limits.resume_every} learning steps ({limits.resume_every * maddpg_stride} of MADDPG's shorter ones",
        f"the {g(limits.minutes)}-minute cap",
        f"the step limit ({p.max_decisions:,} decisions)",
        f"plays {CHECK_RALLIES} rallies in each of {CHECK_MATCHES} fresh matches",
        f"{p.academy_decisions:,} decisions after a `reset()` every match times out",
    ]


@pytest.mark.parametrize(("doc", "phrase"), [("docs/tennis_environment.md", p) for p in phrases()]
                         + [("README.md", p) for p in readme_phrases()])  # fmt: skip
def test_the_docs_state_the_codes_constants(doc, phrase):
    assert phrase in re.sub(r"\s+", " ", (ROOT / doc).read_text()), f"{doc} should say: {phrase}"
