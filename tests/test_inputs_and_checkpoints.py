"""Bad inputs are refused with the name of what is wrong, and checkpoints are verified: a damaged or non-finite one
never loads silently, a killed writer leaves nothing behind, and no error advises unsafe loading."""

import json
import os
import re
import stat
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from checkpoints import CHECKSUM_KEY, TEMPORARY_MARK, load_checkpoint, weights_checksum
from happo_agent import CHECKPOINT_FILE, HAPPOAgent, HAPPOConfig
from maddpg_agent import MADDPGConfig
from settings import env_bool, env_choice, env_float, env_int
from training_run import TrainingRun, keep_the_better, lock_output_dir

SMALL = dict(num_matches=2, update_every=8, buffer_steps=8, minibatch_size=8, critic_hidden=(8,))


@pytest.mark.parametrize(("field", "value", "says"), [
    ("max_grad_norm", -0.5, ">= 0"), ("target_kl", -0.01, ">= 0"), ("obs_scale", 0.0, "> 0"),
    ("lr_decay_iters", 0, ">= 1"), ("minibatches_per_epoch", -1, ">= 0"), ("critic_hidden", (), "non-empty"),
    ("critic_hidden", (64, 0), "positive"), ("entropy_coef", -0.1, ">= 0"), ("sequential_update", "False", "True or False"),
    ("num_matches", 2.5, "whole number"), ("actor_lr", float("nan"), "finite"), ("clip", 1.5, "(0, 1)"),
    ("seed", 2**63, "2**31 - 1"), ("gamma", True, "number"), ("init_std", "0.5", "number")])  # fmt: skip
def test_every_bad_happo_field_is_refused_by_name(field, value, says):
    with pytest.raises(ValueError, match=rf"{field}=.*{__import__('re').escape(says)}"):
        HAPPOConfig(**{field: value})


def test_buffer_steps_must_be_a_multiple_of_update_every():
    with pytest.raises(ValueError, match="buffer_steps=300 must be a multiple of update_every=128"):
        HAPPOConfig(update_every=128, buffer_steps=300)


@pytest.mark.parametrize(("field", "value"), [("tau", 0.0), ("noise_decay_steps", 0), ("batch_size", 0), ("seed", -1),
                                              ("critic_hidden", [64]), ("gradient_steps", 0), ("obs_scale", 0.0),
                                              ("noise_end", -0.1), ("practice_matches", -1)])  # fmt: skip
def test_every_bad_maddpg_field_is_refused_by_name(field, value):
    with pytest.raises(ValueError, match=f"{field}="):
        MADDPGConfig(**{field: value})


def test_a_checkpoint_with_an_invalid_stored_config_names_file_and_field(tmp_path):
    HAPPOAgent(HAPPOConfig(**SMALL)).save(tmp_path)
    state = torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)
    state["config_json"] = json.dumps(dict(json.loads(state["config_json"]), max_grad_norm=-0.5))
    state.pop(CHECKSUM_KEY)  # written so on purpose (by other means, without a checksum), not damaged
    torch.save(state, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(ValueError, match=rf"{CHECKPOINT_FILE}.*max_grad_norm=-0.5"):
        HAPPOAgent.load(tmp_path)


def test_a_flipped_bit_in_the_weights_is_an_error_naming_the_file(tmp_path):
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    agent.save(tmp_path)
    path = tmp_path / CHECKPOINT_FILE
    data = bytearray(path.read_bytes())
    weight = agent.actors[0].body[1].weight.detach().numpy().tobytes()  # a 128 x 128 matrix, stored raw
    at = bytes(data).find(weight[:64])
    assert at > 0
    data[at + 40] ^= 0x40  # one bit of one float
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{path}.*damaged"):
        HAPPOAgent.load(tmp_path)


def test_a_changed_config_inside_the_checkpoint_is_an_error_naming_the_file(tmp_path):
    """The config is under the checksum too: an observation scale of 0.3 instead of 0.1 would play valid weights
    badly, with no error."""
    HAPPOAgent(HAPPOConfig(**SMALL)).save(tmp_path)
    path = tmp_path / CHECKPOINT_FILE
    data = path.read_bytes()
    at = data.find(b'"obs_scale": 0.1')
    assert at > 0 and data.count(b'"obs_scale": 0.1') == 1
    path.write_bytes(data[:at] + b'"obs_scale": 0.3' + data[at + 16 :])  # same length: the file still reads
    with pytest.raises(ValueError, match=f"{path}.*damaged"):
        HAPPOAgent.load(tmp_path)


def test_no_flipped_bit_anywhere_in_a_checkpoint_loads_as_something_else(tmp_path):
    """Every tenth byte of a small checkpoint flipped in turn: each file is refused with its name, or (a bit that
    the zip reader never looks at) loads exactly the saved weights and config."""
    agent = HAPPOAgent(HAPPOConfig(num_matches=1, critic_hidden=(4,)))
    agent.save(tmp_path / "good")
    good = torch.load(tmp_path / "good" / CHECKPOINT_FILE, weights_only=True)
    data = (tmp_path / "good" / CHECKPOINT_FILE).read_bytes()
    flipped = tmp_path / "flipped"
    flipped.mkdir()
    refused = 0
    for at in range(0, len(data), 10):
        (flipped / CHECKPOINT_FILE).write_bytes(data[:at] + bytes([data[at] ^ 0x10]) + data[at + 1 :])
        try:
            state, config = load_checkpoint(flipped, CHECKPOINT_FILE)
        except ValueError as err:
            assert str(flipped / CHECKPOINT_FILE) in str(err)
            refused += 1
            continue
        assert config == json.loads(good["config_json"]), f"byte {at}"
        saved = {k: v for k, v in good.items() if k not in ("config_json", CHECKSUM_KEY)}
        assert weights_checksum(state) == weights_checksum(saved), f"byte {at}"
    assert refused > 0.9 * len(range(0, len(data), 10))


def test_non_finite_weights_are_neither_saved_nor_loaded(tmp_path):
    agent = HAPPOAgent(HAPPOConfig(**SMALL, policy_average=0.0))  # the trained actors are the saved ones
    with torch.no_grad():
        agent.actors[1].body[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf in .*actor_1"):
        agent.save(tmp_path)
    state = {"actor_0": agent.actors[0].state_dict(), "actor_1": agent.actors[1].state_dict(),
             "critic": agent.critic.state_dict(), "config_json": json.dumps(json.loads(json.dumps(SMALL)))}  # fmt: skip
    torch.save(state, tmp_path / CHECKPOINT_FILE)  # written by other means, without a checksum
    with pytest.raises(ValueError, match="NaN or inf weights"):
        HAPPOAgent.load(tmp_path)


def test_saving_cleans_up_after_a_killed_writer_and_keeps_usual_permissions(tmp_path):
    (tmp_path / f".{CHECKPOINT_FILE}{TEMPORARY_MARK}k1ll3d").write_bytes(b"half a file")
    (tmp_path / f".{CHECKPOINT_FILE}.bak").write_bytes(b"a user's backup, not ours to remove")
    HAPPOAgent(HAPPOConfig(**SMALL)).save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".{CHECKPOINT_FILE}.bak", "config.json", CHECKPOINT_FILE]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / CHECKPOINT_FILE).stat().st_mode) == 0o666 & ~umask


def test_load_errors_never_advise_unsafe_loading(tmp_path):
    torch.save({"x": SimpleNamespace(a=1)}, tmp_path / CHECKPOINT_FILE)  # a pickle that weights_only refuses
    with pytest.raises(ValueError) as err:
        HAPPOAgent.load(tmp_path)
    assert "not a readable checkpoint" in str(err.value) and "weights_only" not in str(err.value)


def test_a_config_json_that_disagrees_with_the_weights_is_rewritten(tmp_path):
    HAPPOAgent(HAPPOConfig(**SMALL, seed=5)).save(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(SMALL, seed=9)))  # a writer killed between the two files
    assert HAPPOAgent.load(tmp_path).config.seed == 5
    assert json.loads((tmp_path / "config.json").read_text())["seed"] == 5
    assert CHECKSUM_KEY in torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)


def test_the_agent_refuses_nan_rewards_and_states():
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    states = np.zeros((4, 24))
    actions = agent.act(states)
    with pytest.raises(ValueError, match="rewards must be 4 finite numbers"):
        agent.step(states, actions, [0.0, float("nan"), 0.0, 0.0], states, [False] * 4, [False] * 4)
    actions = agent.act(states)
    bad = states.copy()
    bad[1, 3] = np.inf
    with pytest.raises(ValueError, match="next_states .*NaN or inf"):
        agent.step(states, actions, [0.0] * 4, bad, [False] * 4, [False] * 4)


@pytest.mark.parametrize(("reader", "raw", "says"), [
    (lambda: env_bool("TENNIS_X", True), "maybe", "TENNIS_X='maybe' is not a boolean"),
    (lambda: env_float("TENNIS_X", 6.0), "nan", "TENNIS_X='nan' must be a finite number"),
    (lambda: env_float("TENNIS_X", 6.0), "-1", "at least 0"),
    (lambda: env_int("TENNIS_X", 0), "-5", "TENNIS_X=-5 is out of range"),
    (lambda: env_int("TENNIS_X", 0), "1.7", "not a whole number"),
    (lambda: env_choice("TENNIS_X", "bar", ("bar", "lines")), "dots", "not one of")])  # fmt: skip
def test_bad_settings_are_refused_by_name(monkeypatch, reader, raw, says):
    monkeypatch.setenv("TENNIS_X", raw)
    with pytest.raises(ValueError, match=__import__("re").escape(says)):
        reader()


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("YES", True), ("on", True), ("1", True), ("False", False),
                                            ("no", False), ("0", False), ("", True)])  # fmt: skip
def test_booleans_accept_the_usual_spellings(monkeypatch, raw, value):
    monkeypatch.setenv("TENNIS_X", raw)
    assert env_bool("TENNIS_X", True) is value


def test_a_progress_file_cut_by_a_kill_is_repaired_on_resume(tmp_path):
    progress = tmp_path / "progress.jsonl"
    progress.write_text('{"learn_steps": 1}\n{"learn_steps": 2}\n{"learn_steps": 3}\n{"learn_st')
    TrainingRun._keep_progress_lines_up_to(SimpleNamespace(progress_file=progress), 2)
    assert progress.read_text() == '{"learn_steps": 1}\n{"learn_steps": 2}\n'


def make_agent_dir(path, seed):
    HAPPOAgent(HAPPOConfig(**SMALL, seed=seed)).save(path)
    (path / "solved").mkdir()
    HAPPOAgent(HAPPOConfig(**SMALL, seed=seed)).save(path / "solved")
    return path


@pytest.mark.parametrize(("kept_exists", "run_score", "kept_score", "learned", "replace", "replaced"), [
    (False, 1.0, None, True, False, True),  # nothing kept yet
    (True, 2.0, 2.5, True, False, False),  # the kept agent plays better: it stays
    (True, 2.5, 2.5, True, False, True),  # at least as good: the run's agent replaces it
    (True, 2.5, 0.1, False, False, False),  # a run that did not learn never replaces it
    (True, None, 0.1, True, False, False),  # a run that was not evaluated cannot be compared
    (True, 0.1, 2.5, True, True, True),  # unless asked to
])  # fmt: skip
def test_the_kept_agent_is_replaced_only_by_a_better_one(tmp_path, kept_exists, run_score, kept_score, learned, replace,
                                                          replaced):  # fmt: skip
    run_dir, kept_dir = make_agent_dir(tmp_path / "run", seed=1), tmp_path / "checkpoints"
    if kept_exists:
        make_agent_dir(kept_dir, seed=2)
    said = keep_the_better(run_dir, kept_dir, run_score, lambda d: kept_score, learned=learned, replace=replace)
    assert HAPPOAgent.load(kept_dir).config.seed == (1 if replaced else 2), said
    assert HAPPOAgent.load(kept_dir / "solved").config.seed == (1 if replaced else 2)
    assert HAPPOAgent.load(run_dir).config.seed == 1  # the run's own agent is never lost


def test_a_replaced_agent_leaves_nothing_of_the_old_one_behind(tmp_path):
    run_dir, kept_dir = tmp_path / "run", make_agent_dir(tmp_path / "checkpoints", seed=2)
    HAPPOAgent(HAPPOConfig(**SMALL, seed=1)).save(run_dir)  # this run never solved: it has no solved/
    (kept_dir / "maddpg.pt").write_bytes(b"another algorithm's agent")
    (kept_dir / "my_backup.pt").write_bytes(b"a user's own copy")
    (kept_dir / f".{CHECKPOINT_FILE}.bak").write_bytes(b"another of them")
    keep_the_better(run_dir, kept_dir, 2.0, lambda d: 1.0, learned=True)
    assert sorted(p.relative_to(kept_dir).as_posix() for p in kept_dir.rglob("*") if p.is_file()) == [
        f".{CHECKPOINT_FILE}.bak", "config.json", CHECKPOINT_FILE, "my_backup.pt"]  # the user's files are kept
    assert keep_the_better(run_dir, kept_dir, 9.0, lambda d: 1.0, learned=False, replace=True).startswith("kept")


LOCKER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from training_run import lock_output_dir
lock_output_dir(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(60)
"""


def test_an_output_folder_in_use_is_refused_at_once(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    other = subprocess.Popen([sys.executable, "-c", LOCKER, str(tmp_path), str(Path(__file__).resolve().parents[1])],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert other.stdout.readline().strip() == "locked"
        with pytest.raises(RuntimeError, match=re.escape(f"{tmp_path} is in use by another training run (pid {other.pid})")):
            lock_output_dir(tmp_path)
    finally:
        other.kill()
        other.wait()
    lock_output_dir(tmp_path)  # free once the other process is gone, however it ended
    lock_output_dir(tmp_path)  # and a process may ask again for a folder it holds
