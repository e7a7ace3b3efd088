"""The simulator against `docs/tennis_environment.md`: its validation targets (section 12), the reward rules (section 6),
symmetry, vectorisation, seeding, invariants and bad input."""

import os
import re

import numpy as np
import pytest

from tennis_sim.core import (
    AGENT_A,
    AGENT_B,
    PRACTICE_MAX_TICKS,
    PRACTICE_MIN_TICKS,
    FasterKernel,
    TennisCore,
    TennisParams,
    _ball_vs_racket,
    _racket_geometry,
    _step_parallel,
    _step_serial,
)
from tennis_sim.environment import (
    BRAIN_NAME,
    TennisEnvironment,
    UnityActionException,
    UnityEnvironmentException,
    make_env,
)

REST_Y = -1.852162  # spec 2, printed by the Udacity build
FAR_X = -10.89979  # spec 2
DROP_PER_DECISION = 5 * 0.02 * (9 + 9.81 * 0.02)  # spec 3: 0.91962
STILL = np.zeros((1, 2, 2))
RETREAT = np.array([[[-1.0, 0.0], [-1.0, 0.0]]])  # both rackets run to their far walls


def set_ball(core: TennisCore, x: float, y: float, vx: float, vy: float, last_hit: int = -1) -> None:
    core.ball[0] = (x, y, vx, vy)
    core.last_hit[0] = last_hit
    core.in_over[0] = x * x < core.params.ball_radius**2 and y > core.params.net_top


def park_rackets_far(core: TennisCore) -> None:
    for _ in range(5):
        core.step(RETREAT)


# ---------------------------------------------------------------- validation targets (spec 12.7)
def test_rest_height_and_far_limit_match_the_udacity_build():
    core = TennisCore(1, seed=1)
    core.reset()
    for _ in range(6):
        obs, *_ = core.step(RETREAT)
    for k in range(2):
        assert obs[0, k, 1] == pytest.approx(REST_Y, abs=1e-6)
        assert obs[0, k, 0] == pytest.approx(FAR_X, abs=1e-5)
        assert obs[0, k, 3] == 0.0


def test_ball_drops_0_9196_per_decision_at_terminal_speed():
    core = TennisCore(1, seed=0, params=TennisParams(clean_serve_on_reset=True))
    park_rackets_far(core)
    set_ball(core, 5.0, 20.0, 0.0, -20.0)  # faster than the clamp
    ys = [core.step(RETREAT)[0][0, 0, 21] for _ in range(4)]
    assert np.diff(ys) == pytest.approx([-DROP_PER_DECISION] * 3, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_reset_observation_pattern(seed):
    env = TennisEnvironment(seed=seed)
    obs = env.reset(train_mode=True)[BRAIN_NAME].vector_observations
    assert obs.shape == (2, 24)
    assert np.all(obs[:, :16] == 0.0)
    for k in range(2):
        x, y, vx, vy, bx, by, s6, s7 = obs[k, 16:]
        assert -8.0 <= x <= -6.0 and y == -1.5 and vx == 0.0 and vy == 0.0 and s6 == 0.0 and s7 == 0.0
        assert 6.0 <= abs(bx) <= 8.0 and by == 6.0
    assert np.signbit(obs[0, 18]) and not np.signbit(obs[1, 18])  # agent 0 is mirrored: it prints "-0."
    assert obs[0, 20] == -obs[1, 20]


@pytest.mark.parametrize("seed", range(8))
def test_untouched_serve_ends_at_decision_14_or_15_and_blames_the_side_it_lands_on(seed):
    core = TennisCore(1, seed=seed)
    for episode in range(3):
        core.reset()
        side = AGENT_B if core.ball[0, 0] > 0 else AGENT_A  # the right-hand racket is Python index 0
        for t in range(1, 40):
            _, reward, done, max_reached = core.step(RETREAT)
            if done[0]:
                break
        assert t in (14, 15), f"seed {seed} episode {episode}: done at decision {t}"
        assert reward[0, side] == pytest.approx(-0.01) and reward[0, 1 - side] == 0.0
        assert not max_reached[0]


def test_timeout_at_decision_1001_with_max_reached():
    core = TennisCore(1, seed=0, params=TennisParams(gravity=0.0))  # nothing falls: only the step limit ends it
    obs = core.reset()
    for t in range(1, 1002):
        obs, reward, done, max_reached = core.step(STILL)
        if done[0]:
            break
    assert t == 1001 and max_reached[0] and np.all(reward == 0.0)
    assert np.all(obs[0, :, :16] == 0.0), "the observation returned with done is the first of the next point"


def test_ball_keeps_flying_across_reset_unless_clean_serve():
    for clean in (False, True):
        params = TennisParams(clean_serve_on_reset=clean)
        core, twin = TennisCore(1, seed=2, params=params), TennisCore(1, seed=2, params=params)
        for _ in range(8):
            core.step(STILL)
            twin.step(STILL)
        core.reset()
        twin.params = params._replace(ticks_per_decision=1)
        twin.step(STILL)  # the tick that a reset() runs before it takes effect (spec 13)
        if clean:
            assert core.ball[0, 1] == 6.0 and core.ball[0, 2] == core.ball[0, 3] == 0.0
        else:
            assert np.array_equal(core.ball[0], twin.ball[0])


def test_first_reset_runs_no_extra_tick_later_ones_repeat_the_last_actions():
    core = TennisCore(1, seed=3)
    ball = core.ball.copy()
    core.reset()
    assert np.array_equal(core.ball, ball), "program start: the first reset comes before any tick"
    core.step(np.array([[[1.0, 1.0], [1.0, 1.0]]]))
    assert core.last_actions.tolist() == [[[1.0, 1.0], [1.0, 1.0]]]
    core.reset()
    assert np.all(core.last_actions == 0.0), "a reset clears the stored actions (Agent.ResetData)"


def test_academy_ends_every_match_at_decision_5000_and_counts_from_reset():
    core = TennisCore(3, seed=0, params=TennisParams(gravity=0.0))  # nothing falls; every 1001st decision times out
    assert core.params.academy_decisions == 5000
    core.reset()
    for t in range(1, 5001):
        _, _, done, max_reached = core.step(np.zeros((3, 2, 2)))
        assert core.global_done == (t == 5000), t
    assert done.all() and max_reached.all()
    assert np.all(core.stack[:, :, :16] == 0.0) and np.all(core.ticks == 0), "every racket restarted"
    core.reset()
    assert not core.global_done
    off = TennisCore(1, seed=0, params=TennisParams(academy_max_ticks=0, gravity=0.0))
    for _ in range(5001):
        off.step(STILL)
        assert not off.global_done


# ---------------------------------------------------------------- reward rules (spec 6)
@pytest.mark.parametrize(("last_hit", "paid"), [(-1, AGENT_B), (AGENT_B, AGENT_B), (AGENT_A, AGENT_A)])
def test_crossing_pays_the_hitter_or_b_when_nobody_hit_then_sets_last_hit_to_a(last_hit, paid):
    core = TennisCore(1, seed=0)
    park_rackets_far(core)
    direction = -1.0 if last_hit == AGENT_B else 1.0  # B plays from the right, toward negative x
    set_ball(core, -0.3 * direction, 3.0, 9.0 * direction, 0.0, last_hit)
    _, reward, done, _ = core.step(RETREAT)
    assert reward[0, paid] == pytest.approx(0.1) and reward[0, 1 - paid] == 0.0 and not done[0]
    assert core.last_hit[0] == AGENT_A


@pytest.mark.parametrize(("last_hit", "blamed"), [(AGENT_A, AGENT_A), (AGENT_B, AGENT_B), (-1, AGENT_B)])
def test_net_blames_the_last_hitter_or_b(last_hit, blamed):
    core = TennisCore(1, seed=0)
    park_rackets_far(core)
    set_ball(core, -1.0, -2.0, 9.0, 0.0, last_hit)
    _, reward, done, _ = core.step(RETREAT)
    assert done[0] and reward[0, blamed] == pytest.approx(-0.01) and reward[0, 1 - blamed] == 0.0


def test_ball_that_b_sent_out_after_crossing_blames_a():
    core = TennisCore(1, seed=0)
    park_rackets_far(core)
    set_ball(core, 0.3, 3.0, -9.0, 0.0, AGENT_B)
    _, reward, _, _ = core.step(RETREAT)
    assert reward[0, AGENT_B] == pytest.approx(0.1)
    core.ball[0] = (-11.6, 3.0, -9.0, 0.0)  # carry the same flight on to A's far wall
    _, reward, done, _ = core.step(RETREAT)
    assert done[0] and reward[0, AGENT_A] == pytest.approx(-0.01) and reward[0, AGENT_B] == 0.0


@pytest.mark.parametrize("last_hit", [-1, AGENT_A, AGENT_B])
def test_floor_blames_the_side_it_lands_on_whoever_hit(last_hit):
    core = TennisCore(1, seed=0)
    park_rackets_far(core)
    set_ball(core, 4.0, -2.5, 0.0, -9.0, last_hit)  # B's half
    _, reward, done, _ = core.step(RETREAT)
    assert done[0] and reward[0, AGENT_B] == pytest.approx(-0.01) and reward[0, AGENT_A] == 0.0


def test_set_reward_zero_wipes_a_plus_point_earned_earlier_in_the_window():
    # A long window (40 ticks) lets B's ball cross and then land on A's floor within one decision.
    core = TennisCore(1, seed=0, params=TennisParams(ticks_per_decision=40))
    core.racket[0, :, 0] = (11.0, -11.0)
    set_ball(core, 0.3, 0.0, -9.0, 0.0, AGENT_B)
    _, reward, done, _ = core.step(RETREAT)
    assert done[0] and reward[0, AGENT_B] == 0.0 and reward[0, AGENT_A] == pytest.approx(-0.01)


# ---------------------------------------------------------------- collisions
@pytest.mark.parametrize(("speed", "restitution"), [(5.0, 1.0), (1.0, 0.0)])
def test_ball_bounces_elastically_off_a_grounded_racket_only_above_the_threshold(speed, restitution):
    p = TennisParams()
    geo = _racket_geometry(p)
    racket = np.array([-7.0, REST_Y, 0.0, 0.0])
    c, s = geo[0], geo[1]
    normal = np.array([c, s])  # A's face normal
    centre = racket[:2] + np.array([geo[2], geo[3]])
    ball = np.array([*(centre + normal * (p.racket_half_thickness + 0.49)), *(-speed * normal)])
    assert _ball_vs_racket(p, geo, ball, racket, 1.0, True)
    assert ball[2:] @ normal == pytest.approx(restitution * speed)
    assert np.all(racket[2:] == 0.0), "a grounded racket is not pushed into the floor"


# ---------------------------------------------------------------- structure
def test_mirror_symmetry_between_the_two_sides():
    rng = np.random.default_rng(0)
    left, right = TennisCore(1, seed=0), TennisCore(1, seed=0)
    right.racket[0] = left.racket[0, ::-1] * (-1.0, 1.0, -1.0, 1.0)
    right.ball[0] = left.ball[0] * (-1.0, 1.0, -1.0, 1.0)
    for t in range(60):
        actions = rng.uniform(-1, 1, (1, 2, 2))
        obs_l, rew_l, done_l, _ = left.step(actions)
        obs_r, rew_r, done_r, _ = right.step(actions[:, ::-1])
        if done_l[0] or done_r[0]:
            assert done_l[0] == done_r[0], f"decision {t}"
            break
        assert np.allclose(obs_l[0, 1, 16:], obs_r[0, 0, 16:], atol=1e-9), f"decision {t}"
        assert np.allclose(obs_l[0, 0, 16:], obs_r[0, 1, 16:], atol=1e-9), f"decision {t}"
    assert t > 5


@pytest.mark.parametrize("num_matches, kernel", [(8, _step_serial), (96, _step_serial), (96, _step_parallel)])
def test_vectorised_equals_single_matches_step_for_step(num_matches, kernel):
    rng = np.random.default_rng(1)
    many = TennisCore(num_matches, seed=7)
    many._kernel().kernels = (kernel,)  # this kernel only, whichever the clock would pick
    singles = [TennisCore(1, seed=7, match_offset=k) for k in range(num_matches)]
    for t in range(150):
        actions = rng.uniform(-1.2, 1.2, (num_matches, 2, 2))
        obs, reward, done, max_reached = many.step(actions)
        for k, single in enumerate(singles):
            o, r, d, m = single.step(actions[k : k + 1])
            assert np.array_equal(o[0], obs[k]) and np.array_equal(r[0], reward[k]), f"match {k}, decision {t}"
            assert d[0] == done[k] and m[0] == max_reached[k], f"match {k}, decision {t}"


def test_the_faster_kernel_runs_and_the_other_is_timed_now_and_then():
    now, log = [0.0], []

    def kernel(name, seconds):
        def run(*_):
            log.append(name)
            now[0] += seconds
        return run

    chooser = FasterKernel(parallel=True, probe_every=10, clock=lambda: now[0])
    chooser.kernels = (kernel("serial", 3.0), kernel("parallel", 1.0))
    for _ in range(30):
        chooser()
    assert log[:4] == ["serial", "serial", "parallel", "parallel"]  # each timed twice: the first call compiles
    assert log[4:] == ["parallel"] * 5 + ["serial"] + ["parallel"] * 9 + ["serial"] + ["parallel"] * 9 + ["serial"]
    chooser.kernels = (kernel("serial", 3.0), kernel("parallel", 9.0))  # another program now holds a core
    for _ in range(12):
        chooser()
    # One slow step moves the parallel kernel's average past the serial one's; a probe every 10 steps keeps watching.
    assert log[-12:] == ["parallel"] + ["serial"] * 8 + ["parallel"] + ["serial"] * 2
    assert FasterKernel(parallel=False).kernels == (_step_serial,)


@pytest.mark.parametrize("field, value, message", [
    ("ball_mass", -0.75, "ball_mass=-0.75 must be positive"), ("racket_mass", 0.0, "racket_mass=0.0 must be positive"),
    ("gravity", 9.81, "gravity=9.81 must not point up"), ("dt", 0.0, "dt=0.0 must be positive"),
    ("ticks_per_decision", 0, "ticks_per_decision=0 must be a whole number of ticks, at least 1"),
    ("max_ticks", 20.5, "max_ticks=20.5 must be a whole number"), ("net_top", float("nan"), "net_top=nan must be a finite"),
    ("floor_top", -4.0, "floor_bottom=-3.75 must be below floor_top=-4.0"), ("jump_speed", -7.0, "must not be negative"),
    ("start_max", 5.0, "start_min=6.0 must be below start_max=5.0"), ("clean_serve_on_reset", 1, "must be True or False"),
    ("start_max", 16.0, "start_max=16.0 must be below wall_inner_x=12.27"),  # a ball beyond the walls falls forever
    ("net_top", -3.3, "floor_top=-3.25 must be below net_top=-3.3"),  # no net: every ball crosses
])  # fmt: skip
def test_impossible_physics_is_refused_with_the_fields_name(field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        TennisCore(1, params=TennisParams(**{field: value}))
    assert str(refused.value).startswith("TennisParams.")
    assert TennisCore(1, params=TennisParams(max_ticks=np.int64(20), academy_max_ticks=0)).params.max_ticks == 20


def test_numpy_numbers_and_only_tennis_params_are_taken():
    env = TennisEnvironment(seed=1)
    env.reset()
    with pytest.raises(UnityActionException, match="got float32: pass float"):  # refused as unityagents refuses it
        env.step(np.float32(0.5))
    with pytest.raises(ValueError, match="ticks_per_decision=5.0 must be a whole number of ticks"):
        TennisCore(1, params=TennisParams(ticks_per_decision=5.0))
    with pytest.raises(ValueError, match="params must be a TennisParams .* got tuple"):
        TennisCore(1, params=tuple(TennisParams()))


@pytest.mark.parametrize("field, value", [("num_matches", 2.7), ("practice_matches", 1.7), ("seed", 3.9),
                                          ("match_offset", 0.5), ("num_matches", "2"), ("seed", float("inf")),
                                          ("seed", float("nan"))])  # fmt: skip
def test_counts_and_seeds_that_are_not_whole_numbers_are_refused_not_truncated(field, value):
    with pytest.raises(ValueError, match=f"{field} must be a whole number, got {value!r}"):
        TennisCore(**{"num_matches": 2, field: value})
    assert TennisCore(num_matches=np.int64(2), seed=3.0, practice_matches=1).num_matches == 2


def test_practice_matches_leave_the_scored_matches_as_they_were():
    rng = np.random.default_rng(2)
    with_practice, without = TennisCore(5, seed=3, practice_matches=2), TennisCore(3, seed=3)
    assert with_practice.practice.tolist() == [False, False, False, True, True]
    for t in range(300):
        actions = rng.uniform(-1, 1, (5, 2, 2))
        obs, reward, done, max_reached = with_practice.step(actions)
        o, r, d, m = without.step(actions[:3])
        assert np.array_equal(obs[:3], o) and np.array_equal(reward[:3], r), f"decision {t}"
        assert np.array_equal(done[:3], d) and np.array_equal(max_reached[:3], m), f"decision {t}"


def test_a_practice_cut_is_a_timeout_and_draws_the_next_cut():
    core = TennisCore(2, seed=4, practice_matches=1)
    assert PRACTICE_MIN_TICKS <= core.cut_ticks[1] < PRACTICE_MAX_TICKS  # drawn at the start
    assert core.cut_ticks[0] == core.params.max_ticks  # a scored match keeps the step limit
    for _ in range(3):
        core.step(np.zeros((2, 2, 2)))  # the serve is still falling
    core.cut_ticks[1] = core.ticks[1]  # the practice match's cut is due now
    ball = core.ball.copy()
    _, reward, done, max_reached = core.step(np.zeros((2, 2, 2)))
    assert done.tolist() == [False, True] and max_reached.tolist() == [False, True] and np.all(reward == 0.0)
    falling = ball[1, 1] + 5 * 0.02 * ball[1, 3]  # no new serve: the ball went on falling (within gravity's step)
    assert core.ball[1, 1] == pytest.approx(falling, abs=0.1) and core.ball[1, 1] < 6.0
    assert core.ticks[1] == 0 and PRACTICE_MIN_TICKS <= core.cut_ticks[1] < PRACTICE_MAX_TICKS
    assert "cut_ticks" in core.state_dict()  # an interrupted run resumes with the same cuts
    with pytest.raises(ValueError, match="practice_matches"):
        TennisCore(2, practice_matches=3)


def test_same_seed_same_trajectory_other_seed_other_trajectory():
    def run(seed):
        env = TennisEnvironment(num_matches=4, seed=seed)
        rng = np.random.default_rng(3)
        out = [np.c_[env.reset()[BRAIN_NAME].vector_observations, np.zeros((8, 2))]]
        for _ in range(200):
            info = env.step(rng.uniform(-1, 1, (8, 2)))[BRAIN_NAME]
            out.append(np.c_[info.vector_observations, info.rewards, info.local_done])
        return np.concatenate(out)

    assert np.array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


@pytest.mark.parametrize("seed", range(12))
def test_invariants_under_random_play(seed):
    core = TennisCore(16, seed=seed)
    rng = np.random.default_rng(seed)
    since_reset = np.zeros(16, dtype=int)
    for t in range(400):
        obs, reward, done, _ = core.step(rng.uniform(-1, 1, (16, 2, 2)))
        since_reset = np.where(done, 0, since_reset + 1)
        msg = f"seed {seed}, decision {t}"
        assert np.isfinite(obs).all(), msg
        assert np.all(np.abs(core.ball[:, 0]) < core.params.wall_inner_x), msg
        assert np.all(obs[:, :, 16] >= FAR_X - 1e-6) and np.all(obs[:, :, 16] <= -0.4 + 1e-6), msg
        assert np.all(obs[:, :, 17] >= REST_Y - 1e-6), msg
        assert np.all(obs[:, :, 22:24] == obs[:, :, 18:20]), msg  # the 0.4 duplicate
        # sums of +0.1 crossings and -0.01 contacts; two contacts in one tick (a corner) both count (spec 6)
        assert np.all(np.isin(np.round(reward, 6), [0.0, 0.1, 0.2, -0.01, -0.02, 0.09, 0.08])), msg
        assert np.all(since_reset <= 1001), msg


def test_observing_the_real_ball_velocity_is_an_option():
    core = TennisCore(1, seed=0, params=TennisParams(observe_ball_velocity=True))
    park_rackets_far(core)
    obs, *_ = core.step(RETREAT)
    assert obs[0, 1, 23] == pytest.approx(core.ball[0, 3]) and obs[0, 0, 22] == pytest.approx(-core.ball[0, 2])


# ---------------------------------------------------------------- course API and bad input
def test_course_api_surface():
    env = TennisEnvironment(num_matches=3, seed=0)
    assert env.brain_names == env.external_brain_names == ["TennisBrain"]
    assert (env.number_brains, env.number_external_brains, env.global_done) == (1, 1, None)
    brain = env.brains[env.brain_names[0]]
    assert (brain.vector_action_space_size, brain.vector_observation_space_size) == (2, 8)
    assert brain.num_stacked_vector_observations == 3 and brain.camera_resolutions == []
    assert "Vector Action descriptions: , " in str(brain)
    info = env.reset(train_mode=True)[BRAIN_NAME]
    assert info.vector_observations.shape == (6, 24) and info.agents == list(range(6))
    assert env.global_done is False
    info = env.step(np.ones((6, 2)))[BRAIN_NAME]
    assert isinstance(info.rewards, list) and isinstance(info.local_done, list) and isinstance(info.max_reached, list)
    assert len(info.rewards) == len(info.local_done) == len(info.max_reached) == 6
    assert info.local_done[0::2] == info.local_done[1::2]
    assert info.visual_observations == [] and info.memories.shape == (0, 0) and info.text_observations == [""] * 6
    assert info.previous_vector_actions.shape == (6, 2) and info.previous_text_actions == [""] * 6
    assert np.array_equal(info.vector_observations, info.vector_observations.astype(np.float32)), "float32 values"
    env.close()
    with pytest.raises(UnityEnvironmentException, match="No Unity environment is loaded"):
        env.reset()
    with pytest.raises(RuntimeError, match="closed"):
        env.close()


def test_a_positional_file_name_is_taken_as_unityenvironment_takes_it():
    env = TennisEnvironment("Tennis_Linux/Tennis.x86_64", seed=4)  # the course's call; the simulator plays
    assert env.core.seed == 4 and env.reset()[BRAIN_NAME].vector_observations.shape == (2, 24)


def play(actions_of, steps=40, seed=7):
    env = TennisEnvironment(num_matches=2, seed=seed)
    env.reset()
    rng = np.random.default_rng(0)
    out = []
    for _ in range(steps):
        a = rng.uniform(-1, 1, (4, 2))
        info = env.step(actions_of(a))[BRAIN_NAME]
        out.append(np.c_[info.vector_observations, info.rewards, info.local_done])
    return np.concatenate(out)


@pytest.mark.parametrize(
    "layout",
    [lambda a: a.reshape(8), lambda a: a.reshape(1, 8), lambda a: a.tolist(), lambda a: list(a.reshape(4, 1, 2)),
     lambda a: list(a), lambda a: a.reshape(-1).tolist(), lambda a: {BRAIN_NAME: a}],  # fmt: skip
    ids=["(8,)", "(1, 8)", "list of lists", "list of (1, 2) arrays", "list of (2,) arrays", "flat list", "dict"],
)
def test_every_layout_unityagents_flattens_plays_the_same(layout):
    assert np.array_equal(play(layout), play(lambda a: a))


def test_no_action_means_zeros_and_actions_are_float32_on_the_wire():
    assert np.array_equal(play(lambda a: None), play(lambda a: np.zeros((4, 2))))
    assert np.array_equal(play(lambda a: {}), play(lambda a: np.zeros((4, 2))))
    assert np.array_equal(play(lambda a: a), play(lambda a: a.astype(np.float32)))


@pytest.mark.parametrize(
    ("actions", "message"),
    [(np.zeros((2,)), "expected 4 continuous action"), (np.zeros((4, 2)), "expected 4 continuous action"),
     (np.zeros((2, 3)), "expected 4 continuous"), (np.zeros((2, 1, 2)), "layout unityagents accepts"),
     ([[0.0, "a"], [0.0, 0.0]], "layout unityagents accepts"), (np.full((2, 2), np.nan), "NaN or inf"),
     (np.array([[0.0, np.inf], [0.0, 0.0]]), "NaN or inf"), ((0.0, 0.0, 0.0, 0.0), "got tuple"),
     ({"PlayerBrain": np.zeros((2, 2))}, "PlayerBrain does not correspond to an external brain")],  # fmt: skip
)
def test_bad_actions_raise_unityagents_errors(actions, message):
    env = TennisEnvironment(seed=0)
    env.reset()
    with pytest.raises(UnityActionException, match=re.escape(message)):
        env.step(actions)
    assert issubclass(UnityActionException, ValueError)


def test_step_before_reset_and_after_global_done_raise_until_reset():
    env = TennisEnvironment(seed=0, params=TennisParams(academy_max_ticks=50))
    with pytest.raises(UnityActionException, match="without first calling reset"):
        env.step(np.zeros((2, 2)))
    env.reset()
    for _ in range(9):
        assert not any(env.step(np.zeros((2, 2)))[BRAIN_NAME].max_reached)
    info = env.step(np.zeros((2, 2)))[BRAIN_NAME]
    assert env.global_done and all(info.local_done) and all(info.max_reached)
    with pytest.raises(UnityActionException, match="The episode is completed"):
        env.step(np.zeros((2, 2)))
    env.reset()
    assert env.global_done is False
    env.step(np.zeros((2, 2)))


def test_reset_parameters_are_refused_as_unityagents_does():
    env = TennisEnvironment(seed=0)
    env.reset(config={})
    with pytest.raises(UnityEnvironmentException, match="'gravity' is not a valid parameter"):
        env.reset(config={"gravity": 1.0})
    with pytest.raises(UnityEnvironmentException, match="must be an Integer or a Float"):
        env.reset(config={"gravity": "low"})


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(seed=-1), "seed must be an integer from 0 to 2147483647"), (dict(seed=1.7), "got 1.7"),
    (dict(seed=2**31), "2147483647"), (dict(num_matches=0), "num_matches"), (dict(num_matches=2.5), "num_matches")])
def test_bad_seed_or_match_count_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TennisEnvironment(**kwargs)


def test_actions_outside_the_range_are_clipped_like_unity():
    a, b = TennisEnvironment(seed=4), TennisEnvironment(seed=4)
    a.reset()
    b.reset()
    for _ in range(20):
        oa = a.step(np.array([[7.0, 3.0], [-9.0, -2.0]]))[BRAIN_NAME].vector_observations
        ob = b.step(np.array([[1.0, 1.0], [-1.0, -1.0]]))[BRAIN_NAME].vector_observations
        assert np.array_equal(oa, ob)


def test_make_env_gives_the_simulator_or_a_clear_error_for_unity(tmp_path, monkeypatch):
    monkeypatch.delenv("TENNIS_UNITY_PATH", raising=False)
    assert isinstance(make_env(num_matches=2, seed=1), TennisEnvironment)
    missing = str(tmp_path / "Tennis_Linux" / "Tennis.x86_64")
    with pytest.raises(FileNotFoundError, match="Tennis_Linux"):
        make_env(missing)
    with pytest.raises(FileNotFoundError, match="No Unity Tennis build"):
        make_env(os.fspath(tmp_path))  # a directory is not a build
    with pytest.raises(TypeError, match="file_name must be the path"):
        make_env(123)
    build = tmp_path / "Tennis.x86_64"
    build.write_text("")
    with pytest.raises(PermissionError, match="not executable"):
        make_env(os.fspath(build))
    build.chmod(0o755)
    monkeypatch.setitem(__import__("sys").modules, "unityagents", None)  # as if not installed
    with pytest.raises(ImportError, match="unityagents==0.4.0"):
        make_env(os.fspath(build))
    with pytest.raises(ValueError, match="practice matches"):
        make_env(os.fspath(build), practice_matches=4)
