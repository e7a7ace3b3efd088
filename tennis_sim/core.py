"""Vectorised core of the Tennis simulator: E matches stepped at once by one compiled kernel.

This is the Unity ML-Agents 0.4 "Tennis" task as the course used it, rebuilt from `docs/tennis_environment.md`
(section numbers below refer to it). The physics of one match lives in `_step_match`, the only copy;
`_step_matches` runs it over all matches (in parallel threads when there are many).

Axes: matches E first, then the two rackets in Python's order: index 0 is the right-hand racket
("AgentB", mirrored, mult -1), index 1 the left-hand one ("AgentA", mult +1) (spec section 5).

| array      | shape       | content                                                          |
|------------|-------------|------------------------------------------------------------------|
| racket     | (E, 2, 4)   | pivot x, y and velocity vx, vy in world units (m, m/s)           |
| ball       | (E, 4)      | centre x, y and velocity vx, vy                                   |
| stack      | (E, 2, 24)  | each racket's 3 stacked frames of 8, oldest first (spec section 5) |
| reward     | (E, 2)      | reward accumulated over the last decision (spec section 6)       |
| last_hit   | (E,)        | Python index of the racket that touched the ball last, -1 if none |

Randomness (racket and ball starts) comes from a counter-based hash of (seed, match id, draw number), so a
match plays the same whatever number of matches runs beside it.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import NamedTuple

import numba
import numpy as np

AGENT_B = 0  # Python index of the right-hand racket (mult -1)
AGENT_A = 1  # Python index of the left-hand racket (mult +1)
MULT = (-1.0, 1.0)  # mirror factor per Python index: own-frame x = mult * world x
FRAME_SIZE = 8
NUM_STACKED = 3
OBS_SIZE = FRAME_SIZE * NUM_STACKED
ACTION_SIZE = 2
PARALLEL_MIN_MATCHES = 64  # below this, thread start-up costs more than it saves
PRACTICE_MIN_TICKS = 500  # a practice rally is cut no sooner than 100 decisions in, when the ball is in play,
PRACTICE_MAX_TICKS = 2000  # and before 400: every phase of a rally (a return trip takes about 75 decisions)


class TennisParams(NamedTuple):
    """Every constant of the task, with its unit (lengths in m, speeds in m/s). Spec section in brackets."""

    dt: float = 0.02  # s, one physics tick (50 Hz) [3]
    ticks_per_decision: int = 5  # ticks per env.step(), the action repeated [4]
    gravity: float = -9.81  # m/s^2, on ball and rackets [3]
    ball_radius: float = 0.5  # m [3]
    ball_mass: float = 0.75  # kg [3]
    ball_speed_clamp: float = 9.0  # m/s per axis, applied before each tick [3]
    racket_mass: float = 4.0  # kg [3]
    racket_tilt_deg: float = 55.0  # deg, face normal above the horizontal, toward the net [2]
    racket_half_thickness: float = 0.55  # m, half-extent along the face normal [2]
    racket_half_length: float = 0.9375  # m, half-extent along the blade [2]
    racket_pivot_to_centre: float = 0.5  # m, box centre lies this far behind the pivot along the normal [2]
    run_speed: float = 30.0  # m/s horizontal racket speed at |a0| = 1 [4]
    jump_speed: float = 7.0  # m/s vertical speed set by a jump [4]
    jump_action_threshold: float = 0.5  # a1 must exceed this to jump [4]
    jump_below_height: float = -1.5  # m, a jump needs the pivot below this height [4]
    net_clearance: float = 1.0  # m, the script keeps the pivot this far from the net [4]
    bounce_threshold: float = 2.0  # m/s relative normal speed below which restitution is 0 [3]
    floor_top: float = -3.25  # m, top of floorA / floorB [2]
    floor_bottom: float = -3.75  # m [2]
    court_half_length: float = 12.5  # m, floors span |x| <= this [2]
    wall_inner_x: float = 12.27  # m, inner face of wallA / wallB [2]
    wall_outer_x: float = 13.73  # m [2]
    wall_half_height: float = 30.45  # m [2]
    net_half_width: float = 0.05  # m [2]
    net_top: float = -1.0  # m [2]
    net_bottom: float = -5.0  # m [2]
    over_top: float = 9.0  # m, top of the "over" trigger plane x = 0 that starts at the net top [2]
    serve_height: float = 6.0  # m, ball height after a match reset [7]
    start_min: float = 6.0  # m, |x| range of ball and racket starts [7]
    start_max: float = 8.0  # m [7]
    racket_start_y: float = -1.5  # m [7]
    hit_reward: float = 0.1  # for a ball that crosses the net [6]
    miss_reward: float = -0.01  # for the floor, the net or a wall [6]
    max_ticks: int = 5000  # agent maxStep in ticks: the 1001st decision is a timeout [6]
    academy_max_ticks: int = 25000  # academy maxSteps in ticks since reset(): every match times out (global_done)
    # at the 5,000th decision and the client must reset(); 0 turns it off [13]
    observe_ball_velocity: bool = False  # False: faithful 0.4 bug, slots 6-7 repeat the racket velocity [5]
    clean_serve_on_reset: bool = False  # False: faithful, reset() leaves the ball flying [7]

    @property
    def max_decisions(self) -> int:
        """Decisions after a reset until the timeout (1001 with the defaults)."""
        return self.max_ticks // self.ticks_per_decision + 1

    @property
    def academy_decisions(self) -> int:
        """Decisions after a reset() until the academy's global_done (5,000 with the defaults; 0: never)."""
        return -(-self.academy_max_ticks // self.ticks_per_decision)


# ----------------------------------------------------------------------------------------------------------
# Random numbers: splitmix64 over (seed, match id, draw counter), see https://prng.di.unimi.it/splitmix64.c
# ----------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _mix64(z: np.uint64) -> np.uint64:
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def _uniform(seed: int, match_id: int, draws: np.ndarray, e: int) -> float:
    """Next U[0, 1) of match e; advances its draw counter."""
    z = _mix64(_mix64(_mix64(np.uint64(seed)) ^ np.uint64(match_id)) ^ np.uint64(draws[e]))
    draws[e] += 1
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


# ----------------------------------------------------------------------------------------------------------
# Racket geometry in A's own frame (B is its mirror image), spec section 2
# ----------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _racket_geometry(p: TennisParams) -> tuple:
    """(cos, sin, centre offset x, y, axis-aligned half width, half height) of the tilted racket box."""
    c = math.cos(math.radians(p.racket_tilt_deg))
    s = math.sin(math.radians(p.racket_tilt_deg))
    hx, hy = p.racket_half_thickness, p.racket_half_length
    return c, s, -p.racket_pivot_to_centre * c, -p.racket_pivot_to_centre * s, hx * c + hy * s, hx * s + hy * c


@numba.njit(cache=True)
def _touches_box(x: float, y: float, r: float, x0: float, x1: float, y0: float, y1: float) -> bool:
    qx = min(max(x, x0), x1)
    qy = min(max(y, y0), y1)
    return (x - qx) ** 2 + (y - qy) ** 2 <= r * r


# ----------------------------------------------------------------------------------------------------------
# The phases of one tick
# ----------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _apply_action(p: TennisParams, rk: np.ndarray, a0: float, a1: float, mult: float) -> None:
    """Spec section 4: the jump sets vy, the move sets vx, then the script keeps the pivot off the net."""
    a0 = min(max(a0, -1.0), 1.0)
    a1 = min(max(a1, -1.0), 1.0)
    if a1 > p.jump_action_threshold and rk[1] < p.jump_below_height:
        rk[3] = p.jump_speed
    rk[2] = p.run_speed * a0 * mult
    if mult * rk[0] > -p.net_clearance:
        rk[0] = -mult * p.net_clearance  # a teleport: the velocity is left alone


@numba.njit(cache=True)
def _integrate(p: TennisParams, body: np.ndarray) -> None:
    """Semi-implicit Euler with gravity: v += g dt, then x += v dt (spec section 3)."""
    body[3] += p.gravity * p.dt
    body[0] += body[2] * p.dt
    body[1] += body[3] * p.dt


@numba.njit(cache=True)
def _racket_vs_court(p: TennisParams, geo: tuple, rk: np.ndarray, mult: float) -> bool:
    """Keep racket k on its floor, in front of its wall and off the net; True when it stands on the floor."""
    c, s, cox, coy, half_w, half_h = geo
    hx, hy = p.racket_half_thickness, p.racket_half_length
    grounded = False
    bottom = rk[1] + coy - half_h
    if bottom <= p.floor_top:  # restitution 0: land without bouncing
        rk[1] += p.floor_top - bottom
        rk[3] = max(rk[3], 0.0)
        grounded = True
    own_x = mult * rk[0]
    far = own_x + cox - half_w
    if far < -p.wall_inner_x:
        own_x += -p.wall_inner_x - far
        if mult * rk[2] < 0.0:
            rk[2] = 0.0
    # The net only blocks the part of the racket below its top: the nearest corner, or the lower edge's crossing.
    near_x, near_y = cox + hx * c + hy * s, coy + hx * s - hy * c
    low_x, low_y = cox - hx * c + hy * s, coy - hx * s - hy * c
    reach = -np.inf
    if rk[1] + near_y <= p.net_top:
        reach = own_x + near_x
    elif rk[1] + low_y < p.net_top:
        frac = (rk[1] + near_y - p.net_top) / (near_y - low_y)
        reach = own_x + near_x + frac * (low_x - near_x)
    if reach > -p.net_half_width:
        own_x -= reach + p.net_half_width
        if mult * rk[2] > 0.0:
            rk[2] = 0.0
    rk[0] = mult * own_x
    return grounded


@numba.njit(cache=True)
def _ball_vs_racket(p: TennisParams, geo: tuple, bl: np.ndarray, rk: np.ndarray, mult: float, grounded: bool) -> bool:
    """Frictionless impulse between the ball disc and racket k's box (spec 12.1); True while they touch."""
    c, s, cox, coy, _, _ = geo
    hx, hy = p.racket_half_thickness, p.racket_half_length
    ux, uy = mult * c, s  # face normal in the world
    vx, vy = -mult * s, c  # blade direction in the world
    dx, dy = bl[0] - (rk[0] + mult * cox), bl[1] - (rk[1] + coy)
    lu, lv = dx * ux + dy * uy, dx * vx + dy * vy
    du, dv = lu - min(max(lu, -hx), hx), lv - min(max(lv, -hy), hy)
    dist2 = du * du + dv * dv
    r = p.ball_radius
    if dist2 > r * r:
        return False
    if dist2 > 1e-18:
        dist = math.sqrt(dist2)
        nu, nv, depth = du / dist, dv / dist, r - dist
    elif hx - abs(lu) < hy - abs(lv):  # centre inside the box: leave by the nearest face
        nu, nv, depth = math.copysign(1.0, lu), 0.0, r + hx - abs(lu)
    else:
        nu, nv, depth = 0.0, math.copysign(1.0, lv), r + hy - abs(lv)
    nx, ny = nu * ux + nv * vx, nu * uy + nv * vy
    bl[0] += nx * depth
    bl[1] += ny * depth
    v_rel = (bl[2] - rk[2]) * nx + (bl[3] - rk[3]) * ny
    if v_rel < 0.0:
        restitution = 1.0 if -v_rel >= p.bounce_threshold else 0.0
        racket_movable = not (grounded and ny > 0.0)  # the floor holds a grounded racket up
        inv_mass = 1.0 / p.ball_mass + (1.0 / p.racket_mass if racket_movable else 0.0)
        impulse = -(1.0 + restitution) * v_rel / inv_mass
        bl[2] += impulse / p.ball_mass * nx
        bl[3] += impulse / p.ball_mass * ny
        if racket_movable:
            rk[2] -= impulse / p.racket_mass * nx
            rk[3] -= impulse / p.racket_mass * ny
    return True


@numba.njit(cache=True)
def _match_reset(p: TennisParams, bl: np.ndarray, seed: int, match_id: int, draws: np.ndarray, e: int) -> None:
    """Serve: the ball at rest 6 m up, above a random side's start zone (spec section 7)."""
    right_side = _uniform(seed, match_id, draws, e) >= 0.5
    d = p.start_min + (p.start_max - p.start_min) * _uniform(seed, match_id, draws, e)
    bl[0] = d if right_side else -d
    bl[1] = p.serve_height
    bl[2] = 0.0
    bl[3] = 0.0


@numba.njit(cache=True)
def _reset_racket(p: TennisParams, rk: np.ndarray, mult: float, seed: int, match_id: int, draws, e: int) -> None:
    own_x = -(p.start_min + (p.start_max - p.start_min) * _uniform(seed, match_id, draws, e))
    rk[0] = mult * own_x
    rk[1] = p.racket_start_y
    rk[2] = 0.0
    rk[3] = 0.0


@numba.njit(cache=True)
def _push_frame(p: TennisParams, stack: np.ndarray, rk: np.ndarray, bl: np.ndarray, mult: float) -> None:
    """Drop the oldest frame, append the newest (spec section 5); x is mirrored into the racket's own frame."""
    for i in range(OBS_SIZE - FRAME_SIZE):
        stack[i] = stack[i + FRAME_SIZE]
    f = stack[OBS_SIZE - FRAME_SIZE :]
    f[0], f[1], f[2], f[3] = mult * rk[0], rk[1], mult * rk[2], rk[3]
    f[4], f[5] = mult * bl[0], bl[1]
    if p.observe_ball_velocity:
        f[6], f[7] = mult * bl[2], bl[3]
    else:  # the 0.4 `ballRb` bug: the racket's own velocity again
        f[6], f[7] = mult * rk[2], rk[3]


# ----------------------------------------------------------------------------------------------------------
# One decision of one match (spec section 6, "tick and decision order")
# ----------------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _step_match(p, e, seed, match_id, actions, racket, ball, stack, reward, done, max_reached,
                last_hit, ticks, in_over, touching, grounded, draws) -> None:  # fmt: skip
    reward[e, 0] = 0.0
    reward[e, 1] = 0.0
    done[e] = False
    max_reached[e] = False
    bl = ball[e]
    r = p.ball_radius
    geo = _racket_geometry(p)
    for _ in range(p.ticks_per_decision):
        for k in range(2):
            _apply_action(p, racket[e, k], actions[e, k, 0], actions[e, k, 1], MULT[k])
        if ticks[e] >= p.max_ticks:
            done[e] = True
            max_reached[e] = True
        ticks[e] += 1
        bl[2] = min(max(bl[2], -p.ball_speed_clamp), p.ball_speed_clamp)
        bl[3] = min(max(bl[3], -p.ball_speed_clamp), p.ball_speed_clamp)
        _integrate(p, bl)
        for k in range(2):
            _integrate(p, racket[e, k])
            grounded[e, k] = _racket_vs_court(p, geo, racket[e, k], MULT[k])
        for k in range(2):
            touch = _ball_vs_racket(p, geo, bl, racket[e, k], MULT[k], grounded[e, k])
            if touch and not touching[e, k]:  # OnCollisionEnter with an "agent"
                last_hit[e] = k
            touching[e, k] = touch
        # OnTriggerExit of "over": pays the last hitter, or B when nobody hit; then last_hit is A (sic).
        dy = min(max(bl[1], p.net_top), p.over_top) - bl[1]
        overlaps = bl[0] * bl[0] + dy * dy < r * r
        if in_over[e] and not overlaps:
            reward[e, AGENT_A if last_hit[e] == AGENT_A else AGENT_B] += p.hit_reward
            last_hit[e] = AGENT_A
        in_over[e] = overlaps
        # OnCollisionEnter with an "iWall": every contact of this tick runs the handler, in this order.
        wall_a = _touches_box(bl[0], bl[1], r, -p.wall_outer_x, -p.wall_inner_x, -p.wall_half_height, p.wall_half_height)
        wall_b = _touches_box(bl[0], bl[1], r, p.wall_inner_x, p.wall_outer_x, -p.wall_half_height, p.wall_half_height)
        net = _touches_box(bl[0], bl[1], r, -p.net_half_width, p.net_half_width, p.net_bottom, p.net_top)
        floor_a = _touches_box(bl[0], bl[1], r, -p.court_half_length, 0.0, p.floor_bottom, p.floor_top)
        floor_b = _touches_box(bl[0], bl[1], r, 0.0, p.court_half_length, p.floor_bottom, p.floor_top)
        for hit, kind in ((wall_a, 0), (wall_b, 0), (net, 0), (floor_a, 1), (floor_b, 2)):
            if not hit:
                continue
            if kind == 0:
                blamed = AGENT_A if last_hit[e] == AGENT_A else AGENT_B
            else:
                blamed = AGENT_A if kind == 1 else AGENT_B
            reward[e, blamed] += p.miss_reward
            reward[e, 1 - blamed] = 0.0  # SetReward(0) wipes the other racket's window
            done[e] = True
            _match_reset(p, bl, seed, match_id, draws, e)
            last_hit[e] = -1
    if done[e]:  # resetOnDone: the observation returned with done is the first of the next point
        for k in range(2):
            _reset_racket(p, racket[e, k], MULT[k], seed, match_id, draws, e)
            stack[e, k, :] = 0.0
            grounded[e, k] = False
        ticks[e] = 0
    for k in range(2):
        _push_frame(p, stack[e, k], racket[e, k], bl, MULT[k])


@numba.njit(cache=True)
def _step_serial(p, seed, match_ids, actions, racket, ball, stack, reward, done, max_reached,
                 last_hit, ticks, in_over, touching, grounded, draws) -> None:  # fmt: skip
    for e in range(match_ids.shape[0]):
        _step_match(p, e, seed, match_ids[e], actions, racket, ball, stack, reward, done, max_reached,
                    last_hit, ticks, in_over, touching, grounded, draws)  # fmt: skip


@numba.njit(cache=True, parallel=True)
def _step_parallel(p, seed, match_ids, actions, racket, ball, stack, reward, done, max_reached,
                   last_hit, ticks, in_over, touching, grounded, draws) -> None:  # fmt: skip
    for e in numba.prange(match_ids.shape[0]):
        _step_match(p, e, seed, match_ids[e], actions, racket, ball, stack, reward, done, max_reached,
                    last_hit, ticks, in_over, touching, grounded, draws)  # fmt: skip


class FasterKernel:
    """Runs whichever of the serial and the parallel kernel has been faster here, by the clock, and times the other
    one every `probe_every` steps. Threads pay off on a quiet machine; when another program holds a core, each parallel
    step waits for the thread that shares it and can fall below one thread's rate (bench/contention.py measures both
    under load). Both kernels give the same matches, step for step (tests/test_tennis_env.py)."""

    def __init__(self, parallel: bool, probe_every: int = 50, clock=time.perf_counter) -> None:
        self.kernels = (_step_serial, _step_parallel) if parallel else (_step_serial,)
        self.clock = clock
        self.seconds = [0.0] * len(self.kernels)  # per step, a running average of the last timings
        self.timed = [0] * len(self.kernels)
        self.probe_every, self.calls = probe_every, 0

    def __call__(self, *args) -> None:
        self.calls += 1
        if len(self.kernels) == 1:
            return self.kernels[0](*args)
        untried = [k for k, n in enumerate(self.timed) if n < 2]  # the first call of each compiles or loads it
        best = int(self.seconds[1] < self.seconds[0])
        k = untried[0] if untried else (1 - best if self.calls % self.probe_every == 0 else best)
        start = self.clock()
        self.kernels[k](*args)
        elapsed = self.clock() - start
        self.seconds[k] = elapsed if self.timed[k] < 2 else 0.5 * (self.seconds[k] + elapsed)
        self.timed[k] += 1


@numba.njit(cache=True)
def _restart_rackets(p, e, seed, match_id, racket, ball, stack, ticks, grounded, draws) -> None:
    """Both rackets of match e to new starts with zeroed stacks and the first frame (an agent reset, spec 7)."""
    for k in range(2):
        _reset_racket(p, racket[e, k], MULT[k], seed, match_id, draws, e)
        stack[e, k, :] = 0.0
        grounded[e, k] = False
        _push_frame(p, stack[e, k], racket[e, k], ball[e], MULT[k])
    ticks[e] = 0


@numba.njit(cache=True)
def _reset_matches(p, seed, match_ids, racket, ball, stack, reward, done, max_reached,
                   last_hit, ticks, grounded, draws, serve) -> None:  # fmt: skip
    """Python's env.reset(): new racket starts, zeroed stacks (spec section 7); the ball only if `serve`."""
    for e in range(match_ids.shape[0]):
        if serve:
            _match_reset(p, ball[e], seed, match_ids[e], draws, e)
            last_hit[e] = -1
        _restart_rackets(p, e, seed, match_ids[e], racket, ball, stack, ticks, grounded, draws)
        reward[e, :] = 0.0
        done[e] = False
        max_reached[e] = False


@numba.njit(cache=True)
def _academy_timeout(p, seed, match_ids, racket, ball, stack, done, max_reached, ticks, grounded, draws) -> None:
    """The academy's step limit: every agent is done with max_step_reached and resets (spec section 13). Matches
    whose point ended in this decision already reset their rackets; an agent resets once per decision."""
    for e in range(match_ids.shape[0]):
        if not done[e]:
            _restart_rackets(p, e, seed, match_ids[e], racket, ball, stack, ticks, grounded, draws)
        done[e] = True
        max_reached[e] = True


@numba.njit(cache=True)
def _draw_cuts(p, seed, match_ids, draws, which, cut_ticks) -> None:
    """A new cut for each practice match in `which`: uniform over [PRACTICE_MIN_TICKS, PRACTICE_MAX_TICKS)."""
    span = PRACTICE_MAX_TICKS - PRACTICE_MIN_TICKS  # a cut after the step limit: the step limit comes first
    for e in which:
        cut_ticks[e] = PRACTICE_MIN_TICKS + int(_uniform(seed, match_ids[e], draws, e) * span)


POSITIVE_PARAMS = ("dt", "ball_radius", "ball_mass", "ball_speed_clamp", "racket_mass", "racket_half_thickness",
                   "racket_half_length", "run_speed", "court_half_length", "wall_inner_x", "wall_half_height",
                   "net_half_width", "start_min")  # fmt: skip
NON_NEGATIVE_PARAMS = ("racket_pivot_to_centre", "jump_speed", "net_clearance", "bounce_threshold", "over_top")
ORDERED_PARAMS = (("floor_bottom", "floor_top"), ("net_bottom", "net_top"), ("wall_inner_x", "wall_outer_x"),
                  ("start_min", "start_max"), ("floor_top", "serve_height"), ("floor_top", "racket_start_y"),
                  ("start_max", "wall_inner_x"), ("floor_top", "net_top"))  # fmt: skip
# (the starts lie inside the walls; the net stands above the floor)


def check_params(p: TennisParams) -> TennisParams:
    """`p`, or a ValueError naming the first field that no court can have (NaN, a mass or a step that is not
    positive, gravity that does not pull down, a floor above its top, ...)."""
    if not isinstance(p, TennisParams):
        raise ValueError(f"params must be a TennisParams (e.g. TennisParams(gravity=-5.0)), got {type(p).__name__}")
    for name, value in p._asdict().items():
        flag = isinstance(TennisParams._field_defaults[name], bool)
        is_bool = isinstance(value, (bool, np.bool_))
        if (is_bool != flag) or not (flag or isinstance(value, numbers.Real)) or not math.isfinite(value):
            wanted = "True or False" if flag else "a finite number"
            raise ValueError(f"TennisParams.{name}={value!r} must be {wanted}")
    for name in ("ticks_per_decision", "max_ticks", "academy_max_ticks"):
        value = getattr(p, name)
        if not isinstance(value, numbers.Integral) or value < (0 if name == "academy_max_ticks" else 1):
            raise ValueError(f"TennisParams.{name}={getattr(p, name)!r} must be a whole number of ticks, at least "
                             f"{0 if name == 'academy_max_ticks' else 1}")  # fmt: skip
    for name in POSITIVE_PARAMS:
        if getattr(p, name) <= 0:
            raise ValueError(f"TennisParams.{name}={getattr(p, name)!r} must be positive")
    for name in NON_NEGATIVE_PARAMS:
        if getattr(p, name) < 0:
            raise ValueError(f"TennisParams.{name}={getattr(p, name)!r} must not be negative")
    if p.gravity > 0:
        raise ValueError(f"TennisParams.gravity={p.gravity!r} must not point up: -9.81 pulls down, 0 switches it off")
    for low, high in ORDERED_PARAMS:
        if not getattr(p, low) < getattr(p, high):
            raise ValueError(f"TennisParams.{low}={getattr(p, low)!r} must be below {high}={getattr(p, high)!r}")
    return p


class TennisCore:
    """State of E Tennis matches and the two calls that change it. Actions (E, 2, 2) -> observations (E, 2, 24).

    The last `practice_matches` matches are a training device, not the task: each of their rallies is cut at a
    random moment between 100 and 400 decisions in, as if the step limit had come (a timeout: `max_reached`, rackets
    back to their start, the ball flying on). A rally after a timeout begins in flight, a start that the faithful
    matches give once per 1001 decisions at best.

    All matches share one academy, as the arenas of a multi-arena Unity scene do: `academy_max_ticks` after a
    `reset()` every match times out at once and `global_done` is set until the next `reset()` (spec section 13).
    """

    def __init__(self, num_matches: int = 1, seed: int = 0, params: TennisParams | None = None,
                 match_offset: int = 0, practice_matches: int = 0) -> None:  # fmt: skip
        for name, value in (("num_matches", num_matches), ("seed", seed), ("match_offset", match_offset),
                            ("practice_matches", practice_matches)):  # fmt: skip
            if (isinstance(value, bool) or not isinstance(value, numbers.Integral | float) or not math.isfinite(value)
                    or int(value) != value):  # fmt: skip
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        if int(num_matches) < 1:
            raise ValueError(f"num_matches must be >= 1, got {num_matches}")
        if not 0 <= int(practice_matches) <= int(num_matches):
            raise ValueError(f"practice_matches must be between 0 and num_matches ({num_matches}), got {practice_matches}")
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.params = check_params(params if params is not None else TennisParams())
        self.num_matches = E = int(num_matches)
        self._faster_kernel = FasterKernel(parallel=E >= PARALLEL_MIN_MATCHES)
        self.seed = int(seed)
        self.match_ids = np.arange(match_offset, match_offset + E, dtype=np.int64)  # (E,)
        self.racket = np.zeros((E, 2, 4))
        self.ball = np.zeros((E, 4))
        self.stack = np.zeros((E, 2, OBS_SIZE))
        self.reward = np.zeros((E, 2))
        self.done = np.zeros(E, dtype=np.bool_)
        self.max_reached = np.zeros(E, dtype=np.bool_)
        self.last_hit = np.full(E, -1, dtype=np.int64)
        self.ticks = np.zeros(E, dtype=np.int64)
        self.in_over = np.zeros(E, dtype=np.bool_)
        self.touching = np.zeros((E, 2), dtype=np.bool_)
        self.grounded = np.zeros((E, 2), dtype=np.bool_)
        self.draws = np.zeros(E, dtype=np.int64)
        self.num_practice = int(practice_matches)
        self.practice = np.arange(E) >= E - self.num_practice  # (E,) bool: the last num_practice matches
        self.cut_ticks = np.full(E, self.params.max_ticks, dtype=np.int64)  # (E,) a practice rally's cut
        self.last_actions = np.zeros((E, 2, ACTION_SIZE))  # what each racket does until told otherwise
        # One academy for all matches; its state is kept per match (all rows equal) so that every state array has the
        # matches' axis first and a match's state can be sliced out or copied into other simulators.
        self.academy_ticks = np.zeros(E, dtype=np.int64)  # (E,) ticks since the last reset()
        self.academy = np.zeros((E, 2), dtype=np.bool_)  # (E, 2) [program start: no reset() or step() yet, global_done]
        self.academy[:, 0] = True
        self._reset(serve=True)  # at program start Unity serves once (MatchReset in Start)

    STATE_ARRAYS = ("racket", "ball", "stack", "reward", "done", "max_reached", "last_hit", "ticks", "in_over",
                    "touching", "grounded", "draws", "cut_ticks", "last_actions", "academy_ticks", "academy")  # fmt: skip

    @property
    def global_done(self) -> bool:
        """The academy's step limit ended every match in the last step; Unity then waits for a reset()."""
        return bool(self.academy[0, 1])

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every array of the matches' state (for resuming an interrupted run)."""
        return {name: getattr(self, name).copy() for name in self.STATE_ARRAYS}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore `state_dict()`; raises ValueError if it belongs to another number of matches."""
        for name in self.STATE_ARRAYS:
            if name not in state:
                raise ValueError(f"saved state has no {name!r}: it was saved by another version of the simulator")
            current, saved = getattr(self, name), np.asarray(state[name])
            if saved.shape != current.shape:
                raise ValueError(f"saved {name} has shape {saved.shape}, this simulator needs {current.shape}")
            current[...] = saved

    def _reset(self, serve: bool) -> None:
        _reset_matches(self.params, self.seed, self.match_ids, self.racket, self.ball, self.stack, self.reward,
                       self.done, self.max_reached, self.last_hit, self.ticks, self.grounded, self.draws, serve)  # fmt: skip
        self._new_cuts(self.practice)

    def _new_cuts(self, which: np.ndarray) -> None:
        if which.any():
            _draw_cuts(self.params, self.seed, self.match_ids, self.draws, np.flatnonzero(which), self.cut_ticks)

    def reset(self) -> np.ndarray:
        """New racket starts in every match; returns observations (E, 2, 24) = [0]*16 + first frame.

        As in the build, every reset() but one at program start runs one more physics tick with the last actions
        before it takes effect (the command arrives in the middle of a tick, spec section 13): the ball moves on by
        one tick, and a point that ends in that tick serves anew. That tick's rewards are dropped with the reset.
        """
        if not self.academy[0, 0]:
            one_tick = self.params._replace(ticks_per_decision=1)
            self._kernel()(one_tick, self.seed, self.match_ids, self.last_actions, self.racket, self.ball, self.stack,
                           self.reward, self.done, self.max_reached, self.last_hit, self.ticks, self.in_over,
                           self.touching, self.grounded, self.draws)  # fmt: skip
        self._reset(serve=self.params.clean_serve_on_reset)
        self.last_actions[...] = 0.0  # an agent's reset clears its stored action (Agent.ResetData)
        self.academy_ticks[:] = 0
        self.academy[:] = False
        return self.stack.copy()

    def _kernel(self) -> FasterKernel:
        return self._faster_kernel

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One decision (5 ticks) of every match.

        actions: (E, 2, 2) finite floats; values outside [-1, 1] are clipped as Unity does.
        Returns observations (E, 2, 24), rewards (E, 2), done (E,), max_reached (E,).
        """
        expected = (self.num_matches, 2, ACTION_SIZE)
        try:
            actions = np.asarray(actions, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"actions must be numbers of shape {expected}: {err}") from None
        if actions.shape != expected:
            raise ValueError(f"actions must have shape {expected} (matches, rackets, actions), got {actions.shape}")
        if not np.isfinite(actions).all():
            raise ValueError(f"actions of shape {expected} contain NaN or inf")
        if self.num_practice:  # the cut is a timeout now; skipped when there is none (evaluation, checks)
            self.ticks[self.practice & (self.ticks >= self.cut_ticks)] = self.params.max_ticks
        p = self.params
        self._kernel()(p, self.seed, self.match_ids, actions, self.racket, self.ball, self.stack, self.reward,
                       self.done, self.max_reached, self.last_hit, self.ticks, self.in_over, self.touching,
                       self.grounded, self.draws)  # fmt: skip
        self.last_actions[...] = actions
        self.academy[:, 0] = False
        self.academy_ticks += p.ticks_per_decision
        self.academy[:, 1] = 0 < p.academy_max_ticks <= self.academy_ticks[0]
        if self.academy[0, 1]:  # the academy resets its own count; the client must still call reset()
            _academy_timeout(p, self.seed, self.match_ids, self.racket, self.ball, self.stack, self.done,
                             self.max_reached, self.ticks, self.grounded, self.draws)  # fmt: skip
            self.academy_ticks[:] = 0
        self.last_actions[self.done] = 0.0  # a racket whose point ended was reset, and its stored action with it
        if self.num_practice:
            self._new_cuts(self.practice & self.done)
        return self.stack.copy(), self.reward.copy(), self.done.copy(), self.max_reached.copy()
