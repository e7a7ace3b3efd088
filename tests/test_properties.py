"""Property tests (hypothesis): random and adversarial input to the simulator and the agent either works as
specified or raises a ValueError naming the problem, and never corrupts the state."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from happo_agent import CHECKPOINT_FILE, HAPPOAgent, HAPPOConfig
from tennis_sim.core import TennisCore

# derandomize: the same examples on every run, so the suite stays deterministic; no example database on disk
FAST = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)


@FAST
@given(seed=st.integers(0, 2**31 - 1), matches=st.integers(1, 6), actions=st.data())
def test_finite_actions_of_any_size_keep_the_state_valid(seed, matches, actions):
    core = TennisCore(matches, seed=seed)
    for _ in range(30):
        a = actions.draw(arrays(np.float64, (matches, 2, 2), elements=st.floats(-1e9, 1e9)))
        obs, reward, done, _ = core.step(a)
        assert np.isfinite(obs).all() and np.isfinite(reward).all(), f"seed {seed}"
        assert np.all(np.abs(core.ball[:, 0]) < core.params.wall_inner_x), f"seed {seed}"


@FAST
@given(actions=arrays(np.float64, (1, 2, 2), elements=any_float))
def test_non_finite_actions_are_rejected_without_touching_the_state(actions):
    core = TennisCore(1, seed=0)
    before = (core.racket.copy(), core.ball.copy(), core.stack.copy(), core.ticks.copy())
    if np.isfinite(actions).all():
        core.step(actions)
        return
    with pytest.raises(ValueError, match="NaN or inf"):
        core.step(actions)
    after = (core.racket, core.ball, core.stack, core.ticks)
    assert all(np.array_equal(b, a) for b, a in zip(before, after))


@FAST
@given(shape=st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple))
def test_actions_of_a_wrong_shape_are_rejected(shape):
    core = TennisCore(2, seed=0)
    if shape == (2, 2, 2):
        return
    with pytest.raises(ValueError, match=r"\(2, 2, 2\)"):
        core.step(np.zeros(shape))


@FAST
@given(states=arrays(np.float64, st.tuples(st.integers(0, 7), st.integers(20, 26)), elements=any_float))
def test_agent_rejects_bad_states_and_acts_on_good_ones(states):
    agent = HAPPOAgent(HAPPOConfig(critic_hidden=(8,)))
    good = states.shape[1] == 24 and states.shape[0] % 2 == 0 and np.isfinite(states.astype(np.float32)).all()
    if good:
        actions = agent.act(states)
        assert actions.shape == (states.shape[0], 2) and np.all(np.abs(actions) <= 1.0)
    else:
        with pytest.raises(ValueError, match="states"):
            agent.act(states)


@settings(FAST, max_examples=15)
@given(cut=st.floats(0.0, 0.99))
def test_a_truncated_checkpoint_gives_a_clear_error(tmp_path, cut):
    HAPPOAgent(HAPPOConfig(critic_hidden=(8,))).save(tmp_path)
    data = (tmp_path / CHECKPOINT_FILE).read_bytes()
    (tmp_path / CHECKPOINT_FILE).write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        HAPPOAgent.load(tmp_path)

