"""An interrupted training resumed from its resume file continues exactly like the uninterrupted run."""

import numpy as np
import pytest
import torch
from rollout import play

from happo_agent import HAPPOAgent, HAPPOConfig
from maddpg_agent import MADDPGAgent, MADDPGConfig
from resume import load_resume, save_resume
from tennis_sim.environment import BRAIN_NAME, TennisEnvironment

CFG = dict(num_matches=3, update_every=8, buffer_steps=8, minibatch_size=12, epochs=2, critic_hidden=(16,), seed=4)


@pytest.mark.parametrize("config", [HAPPOConfig(**CFG), HAPPOConfig.seed_design(**{**CFG, "buffer_steps": 16}),
                                    HAPPOConfig(**CFG, policy_average=0.3, std_end=0.2, std_decay_iters=2)])
def test_resumed_run_matches_the_uninterrupted_one(tmp_path, config):
    agent, env = HAPPOAgent(config), TennisEnvironment(num_matches=3, seed=4)
    states = env.reset()[BRAIN_NAME].vector_observations
    rewards = []
    states = play(agent, env, states, 20, rewards)  # mid-rollout, with a partly filled buffer
    save_resume(tmp_path / "resume.pt", agent, env, {"states": states, "scores": [0.1, 0.0], "steps": 20})
    play(agent, env, states, 30, rewards)  # the uninterrupted run goes on

    agent2, env2 = HAPPOAgent(config), TennisEnvironment(num_matches=3, seed=4)  # "after a reboot"
    loop = load_resume(tmp_path / "resume.pt", agent2, env2)
    assert loop["scores"] == [0.1, 0.0] and loop["steps"] == 20
    resumed = []
    play(agent2, env2, loop["states"], 30, resumed)
    assert resumed == rewards[20:]
    for a, b in zip(agent.actors.parameters(), agent2.actors.parameters()):
        assert torch.equal(a, b)
    assert np.array_equal(agent.act(states, deterministic=True), agent2.act(states, deterministic=True))
    assert agent2.learn_steps == agent.learn_steps > 0


def test_a_resume_file_of_another_configuration_is_refused(tmp_path):
    agent, env = HAPPOAgent(HAPPOConfig(**CFG)), TennisEnvironment(num_matches=3, seed=4)
    save_resume(tmp_path / "resume.pt", agent, env, {"steps": 0})
    other = HAPPOAgent(HAPPOConfig(**{**CFG, "clip": 0.1}))
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'resume.pt'} was written by another configuration; delete it to "
                                         "start afresh, or set TENNIS_OUTPUT_DIR to train elsewhere$"):  # fmt: skip
        load_resume(tmp_path / "resume.pt", other, env)
    with pytest.raises(ValueError, match="does not fit"):
        load_resume(tmp_path / "resume.pt", HAPPOAgent(HAPPOConfig(**CFG)), TennisEnvironment(num_matches=2, seed=4))
    (tmp_path / "resume.pt").write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_resume(tmp_path / "resume.pt", agent, env)
    assert np.isfinite(agent.act(np.zeros((6, 24)))).all()


def test_the_loops_arrays_come_back_as_arrays_and_its_other_values_as_they_were(tmp_path):
    agent, env = HAPPOAgent(HAPPOConfig(**CFG)), TennisEnvironment(num_matches=3, seed=4)
    save_resume(tmp_path / "resume.pt", agent, env, {"states": np.arange(6.0), "scores": [0.1, 0.2], "solved_at": None})
    loop = load_resume(tmp_path / "resume.pt", HAPPOAgent(HAPPOConfig(**CFG)), env)
    assert isinstance(loop["states"], np.ndarray) and loop["states"].tolist() == list(range(6))
    assert loop["scores"] == [0.1, 0.2] and loop["solved_at"] is None


@pytest.mark.parametrize("buffer_size", [10_000, 100])  # room to spare; and a full ring that has wrapped around
def test_a_maddpg_run_resumed_from_its_file_matches_the_uninterrupted_one(tmp_path, buffer_size):
    """Replay buffer (its ring position too), OU noise, numpy RNG, targets, optimisers and counters all come back:
    the resumed run plays and learns exactly as the uninterrupted one."""
    config = MADDPGConfig(num_matches=3, batch_size=8, learn_start=16, update_every=4, gradient_steps=2,
                          buffer_size=buffer_size, critic_hidden=(16,), seed=4)  # fmt: skip
    agent, env = MADDPGAgent(config), TennisEnvironment(num_matches=3, seed=4)
    states = env.reset()[BRAIN_NAME].vector_observations
    rewards = []
    states = play(agent, env, states, 42, rewards)  # learning has begun; between two learning steps
    assert agent.learn_steps > 0 and (buffer_size > 126 or agent.memory.pos != 0)
    save_resume(tmp_path / "resume.pt", agent, env, {"states": states})
    play(agent, env, states, 30, rewards)

    agent2, env2 = MADDPGAgent(config), TennisEnvironment(num_matches=3, seed=4)
    loop = load_resume(tmp_path / "resume.pt", agent2, env2)
    resumed = []
    play(agent2, env2, loop["states"], 30, resumed)
    assert resumed == rewards[42:]
    for name in ("actors", "critics", "target_actors", "target_critics"):
        for a, b in zip(getattr(agent, name).parameters(), getattr(agent2, name).parameters(), strict=True):
            assert torch.equal(a, b), name
    assert (agent2.learn_steps, agent2.match_steps, agent2.memory.pos) == (agent.learn_steps, agent.match_steps,
                                                                           agent.memory.pos)  # fmt: skip
    assert np.array_equal(agent.act(states), agent2.act(states))  # the same noise, from the same RNG
