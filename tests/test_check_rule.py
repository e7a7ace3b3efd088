"""bench/check_rule.py: the two-rally check runs beside the notebook's on the same policy, and its sign test."""

import importlib.util
import json
from pathlib import Path

import pytest
from rollout import play

from evaluation import evaluate
from happo_agent import HAPPOAgent, HAPPOConfig
from tennis_sim.environment import make_env
from training_run import CHECK_SEED_OFFSET, RunLimits

spec = importlib.util.spec_from_file_location("check_rule", Path(__file__).resolve().parents[1] / "bench/check_rule.py")
check_rule = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_rule)


def test_sign_test_by_hand():
    # 3 seeds fewer, 0 more, 2 ties: p = 2 * (1/2)^3
    assert check_rule.sign_test([(0, 0), (0, 6), (2, 8), (1, 3), (0, 0)]) == dict(fewer=3, more=0, same=2, p=0.25)
    assert check_rule.sign_test([(1, 0), (0, 1)])["p"] == 1.0  # 1 each way: 2 * (1 + 2) / 4, capped
    assert check_rule.sign_test([(0, 0)]) == dict(fewer=0, more=0, same=1, p=1.0)


def test_every_check_is_followed_by_a_two_rally_check_of_the_same_policy(tmp_path):
    config = HAPPOConfig(num_matches=2, practice_matches=0, update_every=8, buffer_steps=8, minibatch_size=16, seed=3)
    agent, env = HAPPOAgent(config), make_env(num_matches=2, seed=3)
    limits = RunLimits(check_every=1, check_from=0.0, resume_every=0, progress="lines")
    run = check_rule.BothChecks(agent, env, tmp_path, 3, limits)
    run.states = play(agent, env, run.states, 8)  # one learning step
    run._check()
    (five,), (two,) = run.checks, run.two_checks
    assert two["learn_steps"] == five["learn_steps"] == 1
    replay = evaluate(lambda s: agent.act(s, deterministic=True), make_env(num_matches=100, seed=3 + CHECK_SEED_OFFSET), 2)
    assert two["ceiling"] == replay.full_length.sum() and two["average"] == float(replay.scores.mean())
    kept = check_rule.load_agent(run.two_dir)  # the two-rally check's best so far is saved, like the notebook's
    assert (kept.act(run.states, deterministic=True) == agent.act(run.states, deterministic=True)).all()
    assert (run.run_checkpoints / "happo.pt").is_file()


def test_a_finished_seed_is_reused_only_under_its_key_and_another_is_moved_aside_not_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(check_rule, "behaviour_digest", lambda config: "a digest")
    out = tmp_path / "seed_3"
    out.mkdir()
    (out / "run_key.json").write_text(json.dumps(dict(seed=3, match_steps=100, behaviour="a digest")))
    (out / "result.json").write_text(json.dumps({"seed": 3, "done": True}))
    assert check_rule.train_seed(3, 100, out) == {"seed": 3, "done": True}

    class Trained(Exception):
        pass

    def no_training(**kwargs):
        raise Trained

    monkeypatch.setattr(check_rule, "HAPPOConfig", no_training)
    with pytest.raises(Trained):  # another budget: trained again, in a fresh folder
        check_rule.train_seed(3, 200, out)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("seed_3.set-aside-")]
    assert len(aside) == 1 and json.loads((aside[0] / "result.json").read_text()) == {"seed": 3, "done": True}
    assert json.loads((out / "run_key.json").read_text())["match_steps"] == 200
