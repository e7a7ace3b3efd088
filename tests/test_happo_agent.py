"""HAPPO's mechanics (the factor M, the agent order, one actor per turn), checkpoints, and a learning smoke test."""

import copy
from dataclasses import asdict

import numpy as np
import pytest
import torch
from torch import nn

from happo_agent import CHECKPOINT_FILE, HAPPOAgent, HAPPOConfig
from networks import Actor, gaussian_log_prob, observations_by_match
from tennis_sim.environment import BRAIN_NAME, TennisEnvironment

SMALL = dict(num_matches=4, update_every=8, buffer_steps=8, minibatch_size=16, epochs=2, critic_hidden=(32,))


def fill_and_capture(agent: HAPPOAgent, env: TennisEnvironment, learn_calls: int = 1) -> list:
    """Play until `learn_calls` learning steps ran; record every actor turn: (agent, factor, params before/after)."""
    turns = []
    original = agent._update_actor

    def recording(k, batch, epochs):
        before = [[p.detach().clone() for p in a.parameters()] for a in agent.actors]
        lp_before = [agent._log_prob(j, batch.obs, batch.actions) for j in range(2)]
        stats = original(k, batch, epochs)
        after = [[p.detach().clone() for p in a.parameters()] for a in agent.actors]
        lp_after = [agent._log_prob(j, batch.obs, batch.actions) for j in range(2)]
        turns.append(dict(agent=int(k), factor=batch.factor.clone(), factor_grad=batch.factor.requires_grad,
                          before=before, after=after, lp_before=lp_before, lp_after=lp_after, batch=batch))  # fmt: skip
        return stats

    agent._update_actor = recording
    states = env.reset()[BRAIN_NAME].vector_observations
    while agent.learn_steps < learn_calls:
        actions = agent.act(states)
        info = env.step(actions)[BRAIN_NAME]
        agent.step(states, actions, info.rewards, info.vector_observations, info.local_done, info.max_reached)
        states = info.vector_observations
    return turns


def test_actor_layers_are_the_designs():
    actor = Actor()
    linears = [(m.in_features, m.out_features) for m in actor.body if isinstance(m, nn.Linear)]
    assert linears == [(24, 128), (128, 128), (128, 128), (128, 64), (64, 64), (64, 2)]
    kinds = [type(m).__name__ for m in actor.body]
    assert kinds == ["Linear", "Linear", "ReLU", "Linear", "ReLU", "Linear", "ReLU", "Linear", "ReLU", "Linear", "Tanh"]


def test_factor_is_one_for_the_first_agent_and_the_first_agents_ratio_for_the_second():
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    turns = fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0))
    first, second = turns
    assert first["agent"] != second["agent"]
    assert torch.all(first["factor"] == 1.0)
    k = first["agent"]
    ratio = torch.exp(first["lp_after"][k] - first["lp_before"][k])  # joint over both action dimensions
    assert torch.allclose(second["factor"], ratio, rtol=1e-5)
    assert not torch.allclose(ratio, torch.ones_like(ratio)), "the first agent's update should move its policy"
    assert not first["factor_grad"] and not second["factor_grad"]


def test_exactly_one_actor_changes_during_its_turn():
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    for turn in fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0)):
        k = turn["agent"]
        changed = [any(not torch.equal(b, a) for b, a in zip(turn["before"][j], turn["after"][j])) for j in range(2)]
        assert changed[k] and not changed[1 - k]


def test_ratio_is_one_on_the_first_minibatch():
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    first = fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0))[0]
    k, batch = first["agent"], first["batch"]
    assert torch.allclose(first["lp_before"][k], batch.old_log_prob[:, k], atol=1e-5)


def test_agent_order_varies_across_learning_steps_and_mappo_fixes_it_with_factor_one():
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    turns = fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0), learn_calls=12)
    firsts = {t["agent"] for t in turns[::2]}
    assert firsts == {0, 1}
    mappo = HAPPOAgent(HAPPOConfig.named("mappo", **SMALL))
    turns = fill_and_capture(mappo, TennisEnvironment(num_matches=4, seed=0), learn_calls=4)
    assert [t["agent"] for t in turns] == [0, 1] * 4
    assert all(torch.all(t["factor"] == 1.0) for t in turns)


def test_fixed_order_keeps_the_sequential_update_with_agent_0_first():
    agent = HAPPOAgent(HAPPOConfig.named("fixed_order", **SMALL))
    turns = fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0), learn_calls=4)
    assert [t["agent"] for t in turns] == [0, 1] * 4
    assert all(torch.all(t["factor"] == 1.0) for t in turns[::2])
    assert all(torch.any(t["factor"] != 1.0) for t in turns[1::2]), "agent 1 is weighted by agent 0's change"


def test_m_divides_by_each_agents_policy_at_the_start_of_the_learning_step():
    """Known answer from the captured log-probabilities, in the design's order_per_epoch mode and with a sliding window
    of two rollouts: at every turn, M = product over the other agents updated earlier in this learning step of
    pi_now(a) / pi_start(a), pi_start being their policy when the learning step began (the paper's Eq. 10); 1 while
    no other agent has moved. In the window's older rollout pi_start is not the behaviour policy."""
    cfg = HAPPOConfig.seed_design(num_matches=2, update_every=8, buffer_steps=16, minibatch_size=8, critic_hidden=(16,),
                                  actor_lr=1e-4, init_std=0.5)  # fmt: skip
    agent = HAPPOAgent(cfg)
    turns = fill_and_capture(agent, TennisEnvironment(num_matches=2, seed=0), learn_calls=2)
    per_step = 2 * cfg.epochs
    assert len(turns) == 2 * per_step
    for step in range(2):
        start, updated = turns[step * per_step]["lp_before"], set()
        for t, turn in enumerate(turns[step * per_step : (step + 1) * per_step]):
            k = turn["agent"]
            expected = torch.ones(turn["factor"].shape[0], dtype=torch.float64)
            for j in updated - {k}:
                expected *= torch.exp(turn["lp_before"][j].double() - start[j].double())
            assert torch.allclose(turn["factor"].double(), expected, rtol=1e-4), f"learning step {step}, turn {t}"
            assert bool(torch.any(turn["factor"] != 1.0)) == bool(updated - {k}), f"turn {t}: M is live once another moved"
            updated.add(k)
    second = turns[per_step]
    assert not torch.allclose(second["lp_before"][0], second["batch"].old_log_prob[:, 0], atol=1e-3)


@pytest.mark.parametrize(("target_kl", "turns_per_agent"), [(1e-9, 2), (0.0, 8)])
def test_target_kl_also_ends_an_agents_turns_when_the_order_is_drawn_every_epoch(target_kl, turns_per_agent):
    """With order_per_epoch each turn is one epoch of one minibatch: an agent whose KL passed target_kl sits out the
    later rounds. The KL is measured on each minibatch before its step, so the first turn sees no change (a KL of
    rounding noise, far below 1e-9) and the second the first turn's: each agent stops after two turns."""
    cfg = HAPPOConfig.seed_design(num_matches=2, update_every=8, buffer_steps=8, minibatch_size=8, critic_hidden=(16,),
                                  actor_lr=1e-3, target_kl=target_kl)  # fmt: skip
    turns = fill_and_capture(HAPPOAgent(cfg), TennisEnvironment(num_matches=2, seed=0))
    assert sorted(turn["agent"] for turn in turns) == [0] * turns_per_agent + [1] * turns_per_agent


def test_ou_noise_is_refused_with_a_clear_error():
    """PPO's ratio needs the density of the action taken; an OU offset carried from step to step would make it depend
    on earlier steps, so HAPPO explores with its Gaussian's std alone."""
    with pytest.raises(ValueError, match="ou_sigma"):
        HAPPOConfig.named("default", ou_sigma=0.3)


def test_linear_lr_reaches_its_end_factor():
    """From the configured rate, a quarter of the way to the end factor per learning step (3 steps to 0.25)."""
    cfg = HAPPOConfig(**SMALL, lr_decay_iters=3, lr_end_factor=0.25)
    agent = HAPPOAgent(cfg)
    assert [o.param_groups[0]["lr"] for o in agent.actor_optims] == [cfg.actor_lr] * 2
    assert all(o.param_groups[0]["eps"] == 1e-5 for o in [*agent.actor_optims, agent.critic_optim])
    fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0), learn_calls=1)
    assert agent.critic_optim.param_groups[0]["lr"] == pytest.approx(cfg.critic_lr * 0.75)
    fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0), learn_calls=5)
    for optim, lr in ((agent.actor_optims[0], cfg.actor_lr), (agent.critic_optim, cfg.critic_lr)):
        assert optim.param_groups[0]["lr"] == pytest.approx(lr * 0.25)


def test_learning_metrics_are_reported():
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    env = TennisEnvironment(num_matches=4, seed=0)
    states = env.reset()[BRAIN_NAME].vector_observations
    metrics = None
    while metrics is None:
        actions = agent.act(states)
        info = env.step(actions)[BRAIN_NAME]
        metrics = agent.step(states, actions, info.rewards, info.vector_observations, info.local_done, info.max_reached)
        states = info.vector_observations
    for key in ("policy_loss_0", "approx_kl_1", "clip_frac_0", "std_1", "value_loss", "explained_variance",
                "factor_mean", "factor_min", "factor_max", "actor_lr"):  # fmt: skip
        assert np.isfinite(metrics[key]), key
    assert metrics["factor_min"] <= metrics["factor_mean"] <= metrics["factor_max"]
    per_epoch = -(-4 * 8 // SMALL["minibatch_size"])  # 4 matches x 8 steps in minibatches of 16
    for k in range(2):  # epochs are epochs, gradient steps are gradient steps
        assert 1 <= metrics[f"epochs_{k}"] <= SMALL["epochs"]
        assert metrics[f"gradient_steps_{k}"] == metrics[f"epochs_{k}"] * per_epoch


def test_same_seed_same_learning():
    def run():
        agent = HAPPOAgent(HAPPOConfig(**SMALL, seed=3))
        fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=3), learn_calls=2)
        return torch.cat([p.flatten() for p in agent.actors.parameters()])

    assert torch.equal(run(), run())


def test_act_shapes_and_bad_states():
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    for E in (1, 5):
        actions = agent.act(np.zeros((2 * E, 24)), deterministic=True)
        assert actions.shape == (2 * E, 2) and np.all(np.abs(actions) <= 1.0)
    for bad in (np.zeros((3, 24)), np.zeros((2, 8)), np.full((2, 24), np.nan)):
        with pytest.raises(ValueError, match="24|NaN"):
            agent.act(bad)


def test_save_load_round_trip_gives_identical_deterministic_actions(tmp_path):
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0))
    agent.save(tmp_path)
    loaded = HAPPOAgent.load(tmp_path)
    states = np.random.default_rng(0).normal(size=(10, 24))
    assert np.array_equal(agent.act(states, deterministic=True), loaded.act(states, deterministic=True))
    assert loaded.config == agent.config
    assert (tmp_path / "config.json").is_file() and not list(tmp_path.glob(".*"))  # no temporary left behind


def test_bad_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=CHECKPOINT_FILE):
        HAPPOAgent.load(tmp_path)
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        HAPPOAgent.load(tmp_path)
    HAPPOAgent(HAPPOConfig(**SMALL)).save(tmp_path)
    state = torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)
    state["actor_0"]["body.0.weight"] = torch.zeros(128, 30)  # an actor for another observation size
    state.pop("sha256")  # as if written so on purpose, not damaged
    torch.save(state, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(ValueError, match=f"{CHECKPOINT_FILE}.*does not fit"):
        HAPPOAgent.load(tmp_path)


def test_invalid_config_names_the_broken_rule():
    with pytest.raises(ValueError, match="buffer_steps=32 must be a multiple of update_every=64"):
        HAPPOConfig(update_every=64, buffer_steps=32)
    with pytest.raises(ValueError, match="unknown config"):
        HAPPOConfig.named("ppo")


def test_named_configs_change_only_their_fields():
    default = asdict(HAPPOConfig(seed=3))
    fast = {"init_std": 0.15, "std_end": 0.0, "practice_matches": 0}
    for name, changed in (("fast", fast), ("mappo", {"sequential_update": False}), ("fixed_order", {"random_order": False})):
        config = asdict(HAPPOConfig.named(name, seed=3))
        assert {k: v for k, v in config.items() if default[k] != v} == changed
    assert HAPPOConfig.named("fast", init_std=0.7).init_std == 0.7  # overrides win
    assert HAPPOConfig.seed_design().practice_matches == 0  # the design trains on its one faithful match
    big = asdict(HAPPOConfig.named("seed_design_big_std", seed=3))
    assert {k: v for k, v in big.items() if asdict(HAPPOConfig.seed_design(seed=3))[k] != v} == {"init_std": 0.1}
    assert HAPPOConfig.named("seed_design_big_std", init_std=0.3).init_std == 0.3


class MeetingGame:
    """A cooperative one-step game for two agents: each sees the shared target x (in its first two
    numbers) and the team is paid -(|a0 - x|^2 + |a1 + x|^2): agent 0 must copy x and agent 1 mirror it."""

    def __init__(self, num_matches: int, seed: int) -> None:
        self.E, self.rng = num_matches, np.random.default_rng(seed)

    def observe(self) -> np.ndarray:
        self.x = self.rng.uniform(-0.8, 0.8, (self.E, 2))
        obs = np.zeros((self.E, 2, 24))
        obs[:, :, :2] = self.x[:, None]
        return obs.reshape(-1, 24)

    def play(self, actions: np.ndarray) -> np.ndarray:
        a = actions.reshape(self.E, 2, 2)
        team = -(((a[:, 0] - self.x) ** 2).sum(1) + ((a[:, 1] + self.x) ** 2).sum(1))
        return np.repeat(team / 2, 2)  # each agent's share; the critic sees their sum


def test_happo_measurably_improves_the_return_on_a_cooperative_toy_game():
    cfg = HAPPOConfig(num_matches=64, update_every=4, buffer_steps=4, minibatch_size=64, epochs=4, actor_lr=3e-3,
                      critic_lr=3e-3, init_std=0.3, critic_hidden=(64,), seed=1)  # fmt: skip
    agent, game = HAPPOAgent(cfg), MeetingGame(64, seed=1)
    returns = []
    states = game.observe()
    for _ in range(4 * 40):
        actions = agent.act(states)
        rewards = game.play(actions)
        returns.append(rewards.sum() / game.E)
        next_states = game.observe()
        agent.step(states, actions, rewards.tolist(), next_states, [True] * 2 * game.E, [False] * 2 * game.E)
        states = next_states
    first, last = np.mean(returns[:16]), np.mean(returns[-16:])
    assert last > first + 0.3 and last > -0.3, (first, last)


def test_the_numpy_forward_of_acting_matches_torch_and_follows_every_weight_change():
    actor, x = Actor(), np.random.default_rng(0).standard_normal((7, 24)).astype(np.float32)

    def agree(a: Actor) -> bool:
        return np.allclose(a.mean_numpy(x), a(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)

    assert agree(actor)
    before = actor.mean_numpy(x)
    with torch.no_grad():
        for p in actor.parameters():
            p.mul_(1.1)  # in place, as Adam updates
    assert agree(actor) and not np.allclose(actor.mean_numpy(x), before)
    clone = copy.deepcopy(actor)  # new tensors: its numpy weights must be its own
    with torch.no_grad():
        clone.body[-2].bias.add_(0.3)  # one tensor of the output layer
    assert agree(clone) and agree(actor)
    assert not np.allclose(clone.mean_numpy(x), actor.mean_numpy(x))
    actor.load_state_dict(clone.state_dict())
    assert np.allclose(actor.mean_numpy(x), clone.mean_numpy(x)) and agree(actor)


def test_the_numpy_log_density_matches_torch_normal():
    rng = np.random.default_rng(1)
    mean, actions = rng.standard_normal((2, 5, 2, 2)).astype(np.float32)
    std = np.array([0.3, 0.7], dtype=np.float32)
    expected = torch.distributions.Normal(torch.from_numpy(mean), torch.from_numpy(std)).log_prob(torch.from_numpy(actions))
    np.testing.assert_allclose(gaussian_log_prob(actions, mean, std), expected.sum(-1).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("policy_average", [0.0, 0.1])
def test_acting_uses_the_weights_of_the_last_learning_step(policy_average):
    agent = HAPPOAgent(HAPPOConfig(**SMALL, policy_average=policy_average))
    x = np.random.default_rng(2).standard_normal((6, 24))
    before = agent.act(x, deterministic=True)
    fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0))  # the optimisers change the weights in place
    obs = torch.from_numpy(x.astype(np.float32)).view(3, 2, 24) * agent.config.obs_scale
    played = agent.actors if not policy_average else agent.averaged  # the average is updated in place too
    with torch.no_grad():
        expected = torch.stack([actor(obs[:, k]) for k, actor in enumerate(played)], 1).reshape(6, 2)
    after = agent.act(x, deterministic=True)
    assert not np.allclose(after, before) and np.allclose(after, expected.numpy(), atol=1e-6)


def test_the_std_anneals_log_linearly_to_std_end_and_is_not_learned():
    agent = HAPPOAgent(HAPPOConfig(**SMALL, init_std=0.5, std_end=0.1, std_decay_iters=4))
    env = TennisEnvironment(num_matches=4, seed=0)
    assert not agent.actors[0].log_std.requires_grad
    for steps in (1, 2, 6):  # halfway at 2 of 4 learning steps: sqrt(0.5 * 0.1); held at std_end after 4
        fill_and_capture(agent, env, learn_calls=steps)
        expected = 0.5 * (0.1 / 0.5) ** min(steps / 4, 1.0)
        for actor in agent.actors:
            assert actor.std().detach().numpy() == pytest.approx([expected] * 2, rel=1e-6)


def test_policy_averaging_moves_the_played_weights_a_share_of_the_way_and_is_what_is_saved(tmp_path):
    agent = HAPPOAgent(HAPPOConfig(**SMALL, policy_average=0.25, std_end=0.0))  # a learnt std, averaged as well
    start = [p.detach().clone() for p in agent.actors.parameters()]
    turns = fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0), learn_calls=1)
    trained = [p.detach().clone() for p in agent.actors.parameters()]
    assert turns and any(not torch.equal(a, b) for a, b in zip(start, trained))
    for average, s, t in zip(agent.averaged.parameters(), start, trained):
        assert torch.allclose(average, 0.75 * s + 0.25 * t, atol=1e-6)
    states = np.random.default_rng(0).normal(size=(8, 24))
    played = agent.act(states, deterministic=True)
    plain = HAPPOAgent(HAPPOConfig(**SMALL, policy_average=0.0))
    plain.actors.load_state_dict(agent.averaged.state_dict())
    assert np.allclose(played, plain.act(states, deterministic=True))  # the mean action is the average's
    agent.save(tmp_path)
    assert np.array_equal(HAPPOAgent.load(tmp_path).act(states, deterministic=True), played)


def test_every_config_name_gives_its_config_and_a_wrong_name_or_field_lists_the_right_ones():
    assert HAPPOConfig.named("default", seed=3) == HAPPOConfig(seed=3)
    assert HAPPOConfig.named("seed_design", seed=3) == HAPPOConfig.seed_design(seed=3)
    with pytest.raises(ValueError) as err:
        HAPPOConfig.named("nope")
    assert str(err.value) == ("unknown config 'nope'; choose 'default', 'seed_design', 'seed_design_big_std', 'fast', "
                              "'mappo' or 'fixed_order'")  # fmt: skip
    with pytest.raises(ValueError) as err:
        HAPPOConfig.named("default", ou_sigma=0.3, ou_theta=0.1)
    assert str(err.value).startswith("HAPPOConfig has no field 'ou_sigma', 'ou_theta'; its fields are num_matches, ")


def test_loading_restores_the_value_statistics_the_overrides_and_a_target_equal_to_the_critic(tmp_path):
    agent = HAPPOAgent(HAPPOConfig(**SMALL, target_critic=True))
    agent.value_norm.mean, agent.value_norm.var, agent.value_norm.count = 0.3, 2.0, 50.0
    with torch.no_grad():
        for p in agent.critic.parameters():
            p.add_(0.1)  # a trained critic, unlike the fresh target
    agent.save(tmp_path)
    loaded = HAPPOAgent.load(tmp_path, seed=7)
    assert loaded.config.seed == 7
    assert HAPPOAgent.load(tmp_path, value_norm=False).value_norm is None
    assert (loaded.value_norm.mean, loaded.value_norm.var, loaded.value_norm.count) == pytest.approx((0.3, 2.0, 50.0))
    for name, value in agent.critic.state_dict().items():
        assert torch.equal(loaded.critic.state_dict()[name], value) and torch.equal(loaded.target.state_dict()[name], value)


def test_a_training_action_is_the_mean_plus_std_times_the_agents_own_normal_draw_clipped():
    """The sample uses the agent's generator (seeded by the config): mean + std * randn, then clipped to [-1, 1]; a
    wide std shows the clip."""
    agent = HAPPOAgent(HAPPOConfig(**SMALL, init_std=3.0, std_end=0.0, seed=4))
    states = TennisEnvironment(num_matches=4, seed=0).reset()[BRAIN_NAME].vector_observations
    noise = torch.randn((4, 2, 2), generator=torch.Generator().manual_seed(4))
    actions = agent.act(states)
    obs, sampled, _ = agent._pending
    with torch.no_grad():
        mean = torch.stack([agent.actors[k](torch.from_numpy(obs[:, k]) * 0.1) for k in range(2)], dim=1)
    assert np.allclose(sampled, (mean + 3.0 * noise).numpy(), atol=1e-5)
    assert actions.shape == (8, 2) and actions.dtype == np.float64
    assert np.array_equal(actions, np.clip(sampled, -1, 1).reshape(8, 2)) and (np.abs(actions) == 1).any()


def test_a_step_stores_faults_and_timeouts_and_needs_its_act():
    agent = HAPPOAgent(HAPPOConfig(**dict(SMALL, num_matches=2)))
    states = np.zeros((4, 24))
    actions = agent.act(states)
    agent.step(states, actions, [0.0, -0.01, 0.0, 0.0], states, [True, True, True, True], [False, False, True, True])
    assert agent.buffer.terminated[0].tolist() == [True, False] and agent.buffer.truncated[0].tolist() == [False, True]
    for _ in range(2):  # a second step without its act(), however often
        with pytest.raises(RuntimeError, match=r"^step\(\) needs the act\(\) call that chose these actions"):
            agent.step(states, actions, [0.0] * 4, states, [False] * 4, [False] * 4)
    agent.act(np.zeros((6, 24)))
    with pytest.raises(ValueError, match="^the agent trains on 2 matches, got 3$"):
        agent.step(np.zeros((6, 24)), np.zeros((6, 2)), [0.0] * 6, np.zeros((6, 24)), [False] * 6, [False] * 6)


def test_a_learning_steps_metrics_name_its_order_and_the_second_agents_m():
    agent = HAPPOAgent(HAPPOConfig(**dict(SMALL, buffer_steps=16)))  # keeps its rollout after learning from it
    turns = fill_and_capture(agent, TennisEnvironment(num_matches=4, seed=0))
    metrics = agent.learn()  # a second learning step on the same window, to read its metrics
    assert sorted(metrics["order"]) == [0, 1]
    assert metrics["factor_min"] < metrics["factor_max"]  # the second agent's M, which varies over the samples
    assert turns[1]["factor"].min() < turns[1]["factor"].max()


def test_observations_are_grouped_by_match_with_the_courses_sizes_by_default():
    states = np.arange(4 * 24, dtype=np.float64).reshape(4, 24)
    grouped = observations_by_match(states)
    assert grouped.shape == (2, 2, 24) and grouped.dtype == torch.float32
    assert torch.equal(grouped[1, 0], torch.arange(48, 72, dtype=torch.float32))
    with pytest.raises(ValueError, match="^states contain NaN or inf$"):
        observations_by_match(np.full((2, 24), 1e39))



def test_the_configs_switches_reach_the_networks():
    """Without value_norm there is no normaliser; without orthogonal_init the layers keep torch's default
    initialisation (a policy head far from the orthogonal 0.01 gain); no config means the default."""
    assert HAPPOAgent().config == HAPPOConfig()
    plain = HAPPOAgent(HAPPOConfig(**SMALL, value_norm=False, orthogonal_init=False))
    assert plain.value_norm is None

    def head_norm(net: nn.Module) -> float:  # orthogonal: the gain (0.01 policy, 1 value); torch's default: about 0.58
        return float([m for m in net.body if isinstance(m, nn.Linear)][-1].weight.detach().norm(dim=1).mean())

    default = HAPPOAgent(HAPPOConfig(**SMALL))
    assert head_norm(default.actors[0]) == pytest.approx(0.01) and head_norm(default.critic) == pytest.approx(1.0)
    assert head_norm(plain.actors[0]) > 0.05 and head_norm(plain.critic) < 0.9
    with pytest.raises(RuntimeError, match=r"^step\(\) needs the act\(\) call"):  # a fresh agent has no act() yet
        plain.step(np.zeros((8, 24)), np.zeros((8, 2)), [0.0] * 8, np.zeros((8, 24)), [False] * 8, [False] * 8)


def test_the_numpy_forward_refuses_a_layer_it_does_not_know():
    actor = Actor()
    actor.body[2] = nn.Sigmoid()
    with pytest.raises(TypeError, match="^mean_numpy does not know Sigmoid"):
        actor.mean_numpy(np.zeros((1, 24), np.float32))
