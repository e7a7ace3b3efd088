"""The docs state the code's constants: each phrase below is built from the code (TennisParams, the solve rule, the
training run's limits and checks), so a constant changed in the code and not in the docs, or the other way round,
fails here. docs/tennis_environment.md is the task's spec; the README restates the task and the training's defaults."""

import re
from pathlib import Path

import pytest

from evaluation import SOLVE_SCORE, SOLVE_WINDOW, evaluation_matches
from happo_agent import HAPPOConfig
from maddpg_agent import MADDPGAgent, MADDPGConfig
from networks import Actor
from tennis_sim.core import ACTION_SIZE, FRAME_SIZE, NUM_STACKED, PRACTICE_MAX_TICKS, PRACTICE_MIN_TICKS, TennisParams
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


def sci(value: float) -> str:
    """2e-3, as the docs write a learning rate."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def layers(sizes: tuple[int, ...]) -> str:
    return " x ".join(map(str, sizes))


def experiments_phrases() -> list[str]:
    """docs/experiments.md on the configurations: the default's, seed_design's and MADDPG's values."""
    c, d, m = HAPPOConfig(), HAPPOConfig.seed_design(), MADDPGConfig()
    decisions = int(TennisParams().ticks_per_decision)
    replays = m.gradient_steps * m.batch_size / (m.update_every * m.num_matches)
    return [
        f"the std annealed log-linearly from {g(c.init_std)} to {g(c.std_end)} over {c.std_decay_iters} learning steps",
        f"moved {g(c.policy_average)} of the way to the trained weights after every learning step",
        f"(`epochs` {2 * c.epochs} instead of {c.epochs})",
        f"the same {m.num_matches} scored parallel matches, observations scaled by {g(m.obs_scale)}, a critic of "
        f"{layers(m.critic_hidden)} per racket",
        f"falls linearly over the first {g(m.noise_decay_steps / 1e6)} M match steps",
        f"Every {m.update_every} vector steps it takes {m.gradient_steps} gradient steps of {m.batch_size} transitions, so "
        f"each transition is replayed about {replays:g} times ({m.gradient_steps} x {m.batch_size} / ({m.update_every} x "
        f"{m.num_matches}))",
        f"one match, a buffer of {d.buffer_steps:,} decisions that learns every {d.update_every}, learning rates of "
        f"{sci(d.actor_lr)} and {sci(d.critic_lr)}, and a fixed exploration std of {g(d.init_std)}",
        f"widens only the std, to {g(HAPPOConfig.named('seed_design_big_std').init_std)}",
        f"Learning rates of {sci(c.actor_lr)}, decayed linearly to {100 * c.lr_end_factor:g} % over {c.lr_decay_iters} "
        f"learning steps,** with observations scaled by {g(c.obs_scale)}",
        f"a critic of {layers(c.critic_hidden)}",
        f"A soft-updated copy ({g(c.target_tau)} per learning step)",
        f"a gradient-norm clip of {g(c.max_grad_norm)} with rollouts of {c.num_matches} matches x {c.update_every} "
        f"decisions ({(c.num_matches + c.practice_matches) * c.update_every:,} samples with the {c.practice_matches} "
        f"practice matches), KL early stopping at {g(c.target_kl)}",
        f"cut at a random moment {PRACTICE_MIN_TICKS // decisions}-{PRACTICE_MAX_TICKS // decisions} decisions in",
        f"(`TennisCore(practice_matches=...)`, {c.practice_matches} in the default)",
        f"(`TENNIS_CHECK_FROM`, {g(RunLimits().check_from)})",
    ]


WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def actor_table_rows() -> list[str]:
    """The Report's table of the actor, from networks.Actor's layers: a Linear and the activation after it, equal
    neighbours merged ("Linear x 2")."""
    import torch.nn as nn

    modules, rows = list(Actor().body), []
    for i, layer in enumerate(modules):
        if isinstance(layer, nn.Linear):
            after = modules[i + 1] if i + 1 < len(modules) and not isinstance(modules[i + 1], nn.Linear) else None
            rows.append((f"{layer.in_features} -> {layer.out_features}", type(after).__name__ if after else "none"))
    merged: list[list] = []
    for row in rows:
        if merged and merged[-1][0] == row:
            merged[-1][1] += 1
        else:
            merged.append([row, 1])
    return [f"| Linear{f' x {n}' if n > 1 else ''} | {size} | {act}" for (size, act), n in merged]


def report_phrases() -> list[str]:
    c, limits = HAPPOConfig(), RunLimits()
    matches = evaluation_matches(100)
    critic = " -> ".join(f"Linear {n}, ReLU" for n in c.critic_hidden)
    return actor_table_rows() + [
        f"{2 * NUM_STACKED * FRAME_SIZE} numbers -> {critic} -> Linear 1,",
        f"observations are multiplied by {g(c.obs_scale)}",
        f"Diamonds are deterministic checks: every {limits.check_every} learning steps once solved, the mean action plays "
        f"{WORDS[CHECK_RALLIES]} rallies in each of {CHECK_MATCHES} fresh matches",
        f"stops at the first check with all {CHECK_MATCHES * CHECK_RALLIES} rallies at the ceiling, or after "
        f"{limits.match_steps:,} match steps",
        f"Evaluated on 100 episodes of seed 1000 ({WORDS[100 // matches]} consecutive rallies in each of {matches} matches",
        f"Dots are rallies (episodes) of the {c.num_matches} scored matches",
    ]


@pytest.mark.parametrize(("doc", "phrase"), [("docs/tennis_environment.md", p) for p in phrases()]
                         + [("Report.md", p) for p in report_phrases()]
                         + [("README.md", p) for p in readme_phrases()]
                         + [("docs/experiments.md", p) for p in experiments_phrases()])  # fmt: skip
def test_the_docs_state_the_codes_constants(doc, phrase):
    assert phrase in re.sub(r"\s+", " ", (ROOT / doc).read_text()), f"{doc} should say: {phrase}"
