"""GAE against hand-worked answers, and the rollout buffer's bookkeeping."""

import numpy as np
import pytest

from buffer import RolloutBuffer, compute_gae, minibatch_indices, split_env_step


def gae(rewards, values, next_values, terminated=None, truncated=None, gamma=0.99, lam=0.95):
    rewards, values, next_values = (np.asarray(x, dtype=float) for x in (rewards, values, next_values))
    terminated = np.zeros(len(rewards), bool) if terminated is None else np.asarray(terminated)
    truncated = np.zeros(len(rewards), bool) if truncated is None else np.asarray(truncated)
    return compute_gae(rewards, values, next_values, terminated, truncated, gamma, lam)


def test_hand_worked_three_step_trajectory():
    # gamma 0.9, lambda 0.5: deltas 1.4, -0.82, 4.5 (bootstrap 3.0 at the rollout end)
    adv, ret = gae([1.0, 0.0, 2.0], [0.5, 1.0, 0.2], [1.0, 0.2, 3.0], gamma=0.9, lam=0.5)
    assert adv == pytest.approx([1.94225, 1.205, 4.5])
    assert ret == pytest.approx([2.44225, 2.205, 4.7])


@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (0.9, 0.5), (1.0, 1.0)])
def test_reward_only_at_the_final_terminal_step(gamma, lam):
    T = 6
    rewards = np.zeros(T)
    rewards[-1] = 1.0
    terminated = np.zeros(T, bool)
    terminated[-1] = True
    next_values = np.zeros(T)
    next_values[-1] = 123.0  # the value after the terminal step must never be used
    adv, _ = gae(rewards, np.zeros(T), next_values, terminated, gamma=gamma, lam=lam)
    assert adv == pytest.approx([(gamma * lam) ** (T - 1 - t) for t in range(T)])


@pytest.mark.parametrize(("gamma", "lam"), [(0.99, 0.95), (0.8, 0.3)])
def test_constant_values_without_reward(gamma, lam):
    T, c = 5, 2.0
    adv, _ = gae(np.zeros(T), np.full(T, c), np.full(T, c), gamma=gamma, lam=lam)
    expected = [(gamma - 1) * c * sum((gamma * lam) ** k for k in range(T - t)) for t in range(T)]
    assert adv == pytest.approx(expected)


def test_lambda_zero_is_one_step_td_and_lambda_one_is_monte_carlo():
    rewards, values, next_values = [1.0, 2.0, 3.0], [0.3, 0.6, 0.9], [0.6, 0.9, 4.0]
    adv0, _ = gae(rewards, values, next_values, gamma=0.9, lam=0.0)
    assert adv0 == pytest.approx([1 + 0.9 * 0.6 - 0.3, 2 + 0.9 * 0.9 - 0.6, 3 + 0.9 * 4.0 - 0.9])
    _, ret1 = gae(rewards, values, next_values, gamma=0.9, lam=1.0)
    assert ret1 == pytest.approx([1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 4.0, 2 + 0.9 * 3 + 0.81 * 4.0, 3 + 0.9 * 4.0])


def test_termination_in_the_middle_cuts_the_return():
    adv, _ = gae([0.0, 1.0, 0.0, 5.0], np.zeros(4), [9.0, 9.0, 0.0, 0.0], [False, True, False, True], gamma=1, lam=1)
    assert adv == pytest.approx([10.0, 1.0, 5.0, 5.0])  # t=0 bootstraps through t=1, nothing crosses the cut


def test_truncation_bootstraps_from_the_critic_but_stops_the_recursion():
    adv, _ = gae([1.0, 7.0], [0.0, 0.0], [10.0, 0.0], truncated=[True, False], gamma=0.5, lam=1.0)
    assert adv == pytest.approx([1.0 + 0.5 * 10.0, 7.0])


def test_gae_vectorised_over_matches_equals_one_match_at_a_time():
    rng = np.random.default_rng(0)
    r, v, nv = rng.normal(size=(3, 20, 4))
    term, trunc = rng.random((2, 20, 4)) < 0.1
    adv, _ = compute_gae(r, v, nv, term, trunc, 0.97, 0.9)
    for e in range(4):
        adv_e, _ = compute_gae(r[:, e], v[:, e], nv[:, e], term[:, e], trunc[:, e], 0.97, 0.9)
        assert np.allclose(adv[:, e], adv_e)


def test_buffer_keeps_time_order_and_slides():
    buf = RolloutBuffer(capacity=4, num_matches=2, num_agents=2, obs_size=3, action_size=1)
    for t in range(4):
        obs = np.full((2, 2, 3), t, np.float32)
        buf.add(obs, np.zeros((2, 2, 1)), np.zeros((2, 2)), np.full((2, 2), t), np.zeros(2, bool), np.zeros(2, bool),
                obs + 1)  # fmt: skip
    with pytest.raises(RuntimeError, match="full"):
        buf.add(obs, np.zeros((2, 2, 1)), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2, bool), np.zeros(2, bool), obs)
    assert buf.next_obs()[:, 0, 0, 0].tolist() == [1, 2, 3, 4]
    assert buf.team_rewards(normalize=False)[:, 0].tolist() == [0, 2, 4, 6]
    scaled = buf.team_rewards(normalize=True)  # divided by the std of [0, 2, 4, 6] (sqrt 5), not centred
    assert scaled[:, 0] == pytest.approx(np.array([0, 2, 4, 6]) / np.sqrt(5.0))
    assert scaled.std() == pytest.approx(1.0, abs=1e-6) and (scaled[0] == 0).all()
    buf.drop_oldest(2)
    assert buf.size == 2 and buf.obs[:2, 0, 0, 0].tolist() == [2, 3]


def test_minibatches_cover_every_sample_once():
    batches = minibatch_indices(10, 4, np.random.default_rng(0))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))


def test_environment_lists_become_per_match_arrays():
    step = split_env_step([0.1, 0.0, -0.01, 0.0], np.zeros((4, 24)), [False, False, True, True], [False, False, True, True],
                          num_matches=2)  # fmt: skip
    assert np.allclose(step.rewards, [[0.1, 0.0], [-0.01, 0.0]])
    assert step.terminated.tolist() == [False, False] and step.truncated.tolist() == [False, True]
    step = split_env_step([0.0] * 4, np.zeros((4, 24)), [True, True, False, False], [False] * 4, num_matches=2)
    assert step.terminated.tolist() == [True, False] and step.truncated.tolist() == [False, False]
    assert step.next_obs.shape == (2, 2, 24)


def test_without_the_step_limits_flags_a_step_is_refused():
    """Taking every done as a lost ball would learn each timeout as a fault: max_reached must be given."""
    with pytest.raises(ValueError, match=r"^max_reached is required: pass env_info.max_reached \(the step limit's flags; "
                                         r"all False for an environment without one\)$"):  # fmt: skip
        split_env_step([0.0] * 4, np.zeros((4, 24)), [True, True, False, False], None, num_matches=2)


def test_reward_normalisation_divides_by_the_std_of_this_buffer_without_centring():
    """Team rewards 0.1, 0, 0, -0.01 (std 0.04206...): each divided by that std, the zeros stay zero."""
    buf = RolloutBuffer(4, 1)
    for reward in (0.1, 0.0, 0.0, -0.01):
        buf.add(np.zeros((1, 2, 24)), np.zeros((1, 2, 2)), np.zeros((1, 2)), np.array([[reward, 0.0]]),
                np.array([False]), np.array([False]), np.zeros((1, 2, 24)))  # fmt: skip
    team = np.array([0.1, 0.0, 0.0, -0.01], dtype=np.float32).astype(np.float64)
    assert buf.team_rewards(normalize=True)[:, 0].tolist() == pytest.approx((team / (team.std() + 1e-8)).tolist(),
                                                                            rel=1e-12, abs=0)  # fmt: skip
    assert buf.team_rewards(normalize=False)[:, 0].tolist() == pytest.approx(team.tolist())


def test_the_team_reward_adds_both_rackets_in_double_precision():
    """0.1 and -0.01 as float32, added in float64: 0.0900000017136335 (a float32 sum would round to 0.0900000036)."""
    buf = RolloutBuffer(1, 1)
    buf.add(np.zeros((1, 2, 24)), np.zeros((1, 2, 2)), np.zeros((1, 2)), np.array([[0.1, -0.01]]), np.array([False]),
            np.array([False]), np.zeros((1, 2, 24)))  # fmt: skip
    expected = float(np.float32(0.1)) + float(np.float32(-0.01))
    assert buf.team_rewards(normalize=False)[0, 0] == expected


def test_each_match_keeps_its_own_end_and_numbers_beyond_float32_are_refused():
    """Match 0 ends by a fault, match 1 by the step limit: each is flagged on its own. A float64 beyond float32's
    range would be stored as inf: it is refused like NaN."""
    step = split_env_step([0.0, -0.01, 0.0, 0.0], np.zeros((4, 24)), [True] * 4, [False, False, True, True],
                          num_matches=2)  # fmt: skip
    assert step.terminated.tolist() == [True, False] and step.truncated.tolist() == [False, True]
    assert step.rewards.dtype == step.next_obs.dtype == np.float32
    with pytest.raises(ValueError, match=r"^rewards must be 4 finite numbers \(2 per match\), got \[0.0, inf, 0.0, 0.0\]$"):
        split_env_step([0.0, 1e39, 0.0, 0.0], np.zeros((4, 24)), [False] * 4, [False] * 4, num_matches=2)
    huge = np.zeros((4, 24))
    huge[2, 5] = 1e39
    with pytest.raises(ValueError, match=r"^next_states must be \(4, 24\) finite numbers, got shape \(4, 24\) with NaN "
                                         r"or inf$"):  # fmt: skip
        split_env_step([0.0] * 4, huge, [False] * 4, [False] * 4, num_matches=2)
    with pytest.raises(ValueError, match=r"^next_states must be \(4, 24\) finite numbers, got shape \(3, 24\)$"):
        split_env_step([0.0] * 4, np.zeros((3, 24)), [False] * 4, [False] * 4, num_matches=2)
    with pytest.raises(ValueError, match=r"^next_states must be \(4, 24\) finite numbers, got shape \(0,\)$"):
        split_env_step([0.0] * 4, [], [False] * 4, [False] * 4, num_matches=2)


def test_the_buffers_arrays_have_the_documented_shapes_and_types():
    buf = RolloutBuffer(5, 3)
    expected = {"obs": ((5, 3, 2, 24), np.float32), "actions": ((5, 3, 2, 2), np.float32),
                "log_prob": ((5, 3, 2), np.float32), "values": ((5, 3), np.float32), "rewards": ((5, 3, 2), np.float32),
                "terminated": ((5, 3), np.bool_), "truncated": ((5, 3), np.bool_),
                "last_next_obs": ((3, 2, 24), np.float32)}  # fmt: skip
    assert {k: (getattr(buf, k).shape, getattr(buf, k).dtype.type) for k in RolloutBuffer.ARRAYS} == expected
