"""Bad inputs are refused with the name of what is wrong, and checkpoints are verified: a damaged or non-finite one
never loads silently, a killed writer leaves nothing behind, and no error advises unsafe loading."""

import hashlib
import json
import os
import re
import stat
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from checkpoints import (
    CHECKSUM_KEY,
    WEIGHTS_ONLY_KEY,
    load_checkpoint,
    save_checkpoint,
    weights_checksum,
    write_atomically,
)
from happo_agent import CHECKPOINT_FILE, HAPPOAgent, HAPPOConfig
from maddpg_agent import MADDPGConfig
from settings import env_bool, env_choice, env_float, env_int
from tennis_sim.files import TEMPORARY_MARK
from training_run import RunLimits, TrainingRun, agent_files, keep_the_better, lock_output_dir, read_history

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
    """Two hundred bytes spread over a checkpoint flipped in turn: each file is refused with its name, or (a bit that
    the zip reader never looks at) loads exactly the saved weights and config."""
    agent = HAPPOAgent(HAPPOConfig(num_matches=1, critic_hidden=(4,)))
    agent.save(tmp_path / "good")
    good = torch.load(tmp_path / "good" / CHECKPOINT_FILE, weights_only=True)
    data = (tmp_path / "good" / CHECKPOINT_FILE).read_bytes()
    flipped = tmp_path / "flipped"
    flipped.mkdir()
    refused = 0
    positions = range(0, len(data), len(data) // 200)
    for at in positions:
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
    assert refused > 0.9 * len(positions)


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


def test_a_progress_file_cut_by_a_kill_is_repaired_on_resume(tmp_path, capsys):
    progress = tmp_path / "progress.jsonl"
    progress.write_text('{"learn_steps": 1}\n{"learn_steps": 2}\n{"learn_steps": 3}\n')
    TrainingRun._keep_progress_lines_up_to(SimpleNamespace(progress_file=progress), 2)
    assert progress.read_text() == '{"learn_steps": 1}\n{"learn_steps": 2}\n' and capsys.readouterr().out == ""
    progress.write_text('{"learn_steps": 1}\n{"learn_steps": 2}\n{"learn_steps": 3}\n{"learn_st')
    TrainingRun._keep_progress_lines_up_to(SimpleNamespace(progress_file=progress), 2)
    assert progress.read_text() == '{"learn_steps": 1}\n{"learn_steps": 2}\n'
    assert capsys.readouterr().out == f"{progress}: 1 unreadable line(s) dropped, the others kept\n"
    progress.write_text('{"learn_steps": 1}\n{"learn_st\x00\n{"learn_steps": 2}\n{"learn_steps": 3}\n{"le')  # damaged inside
    TrainingRun._keep_progress_lines_up_to(SimpleNamespace(progress_file=progress), 2)
    assert progress.read_text() == '{"learn_steps": 1}\n{"learn_steps": 2}\n'  # the good line after it stays
    assert capsys.readouterr().out == f"{progress}: 2 unreadable line(s) dropped, the others kept\n"


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


def test_links_planted_in_the_output_folder_are_replaced_never_written_through(tmp_path):
    from rollout import play

    from happo_agent import HAPPOAgent, HAPPOConfig
    from tennis_sim.environment import make_env
    from tennis_sim.headless_build import write_launcher
    from training_run import RunLimits

    victims = {name: tmp_path / f"victim_{k}" for k, name in enumerate(
        ("out/.training.lock", "out/runs/progress.jsonl", "build/Tennis.x86_64"))}  # fmt: skip
    for name, victim in victims.items():
        victim.write_text("a user's file\n")
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).symlink_to(victim)
    hard_victim = tmp_path / "victim_hard"
    hard_victim.write_text("a user's file\n")
    (tmp_path / "out" / ".training.lock").unlink()
    os.link(hard_victim, tmp_path / "out" / ".training.lock")  # a hard link: the same file under two names
    victims["out/.training.lock"] = hard_victim
    config = HAPPOConfig(num_matches=2, practice_matches=0, update_every=8, buffer_steps=8, minibatch_size=16, seed=3)
    agent = HAPPOAgent(config)
    run = TrainingRun(agent, make_env(num_matches=2, seed=3), tmp_path / "out", 3,
                      RunLimits(check_every=0, resume_every=0, progress="lines"))  # fmt: skip
    run.states = play(agent, run.env, run.states, 8)
    run.after_learning({"epochs_0": 1.0}, run.states)  # one progress line
    write_launcher(tmp_path / "build")
    for name, victim in victims.items():
        assert victim.read_text() == "a user's file\n", name
        assert not (tmp_path / name).is_symlink() and (tmp_path / name).stat().st_nlink == 1, name


ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_checkpoints_verify_against_the_checksums_they_were_written_with():
    """Files written earlier must still verify: any change to how the checksum is computed fails here."""
    for folder in (ROOT / "checkpoints", ROOT / "checkpoints" / "solved"):
        state, config = load_checkpoint(folder, CHECKPOINT_FILE)
        assert "actor_0" in state and config["obs_scale"] == 0.1


def test_the_weights_checksum_by_hand():
    """sha256 over each tensor's path, shape, dtype and bytes, keys sorted, list items by index; empty tensors add
    their header only."""
    a, b, empty = torch.tensor([1.0, 2.0]), torch.tensor([[3]], dtype=torch.int64), torch.zeros(0)
    digest = hashlib.sha256()
    for name, t in (("/a/0", a), ("/a/1", empty), ("/b", b)):
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode() + t.numpy().tobytes())
    assert weights_checksum({"b": b, "a": [a, empty], "c": "not a tensor"}) == digest.hexdigest()
    # int keys (an optimiser's state) sort as text, 0, 1, 10, 11, 2, ...: files written so must keep verifying
    ints = {i: torch.tensor([float(i)]) for i in range(12)}
    digest = hashlib.sha256()
    for i in sorted(range(12), key=str):
        digest.update(f"/{i}:(1,):torch.float32".encode() + ints[i].numpy().tobytes())
    assert weights_checksum(ints) == digest.hexdigest()


def test_an_older_checkpoint_with_a_weights_only_checksum_loads_unless_its_weights_changed(tmp_path):
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    agent.save(tmp_path)
    state = torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)
    state.pop(CHECKSUM_KEY)
    weights = {k: v for k, v in state.items() if k != "config_json"}
    written = weights_checksum(weights)
    torch.save({**state, WEIGHTS_ONLY_KEY: written}, tmp_path / CHECKPOINT_FILE)
    assert torch.equal(HAPPOAgent.load(tmp_path).critic.body[0].weight, agent.critic.body[0].weight)
    state["critic"]["body.0.weight"][0, 0] += 1.0  # one weight changed after its checksum was written
    torch.save({**state, WEIGHTS_ONLY_KEY: written}, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(ValueError, match="damaged"):
        HAPPOAgent.load(tmp_path)


class Planted:
    """A pickle that would create a file when unpickled: loading must refuse it without running it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_a_file_that_would_run_code_is_refused_without_running_it(tmp_path, monkeypatch):
    planted = tmp_path / "ran"
    torch.save({"config_json": "{}", "x": Planted(planted)}, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(ValueError, match=r"is not a readable checkpoint \(UnpicklingError\): it is damaged, or not a "
                                         r"checkpoint of this project$"):  # fmt: skip
        HAPPOAgent.load(tmp_path)
    assert not planted.exists()
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # torch's switch to unsafe loading by default
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        HAPPOAgent.load(tmp_path)
    assert not planted.exists()
    with pytest.raises(FileNotFoundError, match=rf"^no checkpoint at {tmp_path / 'nowhere' / CHECKPOINT_FILE} \(write one "
                                                rf"with agent.save\('{tmp_path / 'nowhere'}'\)\)$"):  # fmt: skip
        HAPPOAgent.load(tmp_path / "nowhere")


def test_a_checkpoint_can_be_saved_into_new_folders_and_its_config_copy_reads_as_written(tmp_path):
    agent = HAPPOAgent(HAPPOConfig(**SMALL))
    path = agent.save(tmp_path / "a" / "b")
    assert path == tmp_path / "a" / "b" / CHECKPOINT_FILE
    assert (path.parent / "config.json").read_text() == json.dumps(asdict(agent.config), indent=1)
    with torch.no_grad():
        for k in range(6):
            agent.critic.body[0].weight[k, 0] = float("nan")
        agent.averaged[0].body[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"NaN or inf in /actor_0/body.0.weight, /critic/body.0.weight$"):
        agent.save(tmp_path)


def test_the_atomic_writer_writes_beside_the_target_and_leaves_nothing_when_it_fails(tmp_path, monkeypatch):
    moves = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: moves.append((Path(src), Path(dst))) or real_replace(src, dst))
    write_atomically(tmp_path / "f.bin", b"data")
    (src, dst), = moves
    assert src.parent == tmp_path and src.name.startswith(f".f.bin{TEMPORARY_MARK}") and dst == tmp_path / "f.bin"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_bytes(b"")
    with pytest.raises(OSError):
        write_atomically(tmp_path / "d", b"a folder is in the way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f.bin"]


def test_huge_numbers_are_refused_without_an_overflow_warning():
    import warnings

    from buffer import split_env_step
    from networks import observations_by_match

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="NaN or inf"):
            observations_by_match(np.full((2, 24), 1e39))
        with pytest.raises(ValueError, match="finite"):
            split_env_step([1e39, 0.0], np.full((2, 24), 1e39), [False] * 2, [False] * 2, num_matches=1)


def test_orthogonal_initialisation_uses_each_layers_gain():
    """Rows of an orthogonal (out < in) matrix have the gain as their norm: sqrt 2 hidden, 0.01 policy head, 1 value."""
    from networks import Actor, Critic

    actor, critic = Actor(), Critic(48, (32, 16))
    for net, gains in ((actor, [2**0.5] * 5 + [0.01]), (critic, [2**0.5, 2**0.5, 1.0])):
        linears = [m for m in net.body if isinstance(m, torch.nn.Linear)]
        norms = [float(m.weight.detach().norm(dim=1).mean()) if m.out_features <= m.in_features else None for m in linears]
        assert [n for n in norms if n is not None] == pytest.approx([g for g, n in zip(gains, norms) if n is not None],
                                                                   rel=1e-4)  # fmt: skip


def test_keep_the_better_says_what_it_did_and_asks_the_kept_agents_score_of_the_kept_folder(tmp_path):
    run_dir, kept_dir = make_agent_dir(tmp_path / "run", seed=1), make_agent_dir(tmp_path / "checkpoints", seed=2)
    asked = []
    said = keep_the_better(run_dir, kept_dir, 0.5, lambda d: asked.append(d) or 1.0, learned=True)
    assert asked == [kept_dir] and said.startswith(f"kept {kept_dir}: its evaluation 1.000 beats this run's 0.500")
    assert keep_the_better(run_dir, kept_dir, 2.0, lambda d: 1.0, learned=True) == (
        f"{kept_dir} now holds this run's agent (evaluation 2.000)")
    new = tmp_path / "new" / "deeper"
    assert keep_the_better(run_dir, new, None, lambda d: 1.0, learned=True) == f"{new} now holds this run's agent"
    assert HAPPOAgent.load(new / "solved").config.seed == 1  # folders are made as needed


def test_agent_files_are_the_ones_an_agent_writes_and_nothing_else(tmp_path):
    make_agent_dir(tmp_path, seed=1)
    (tmp_path / "my.pt").write_bytes(b"")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in agent_files(tmp_path)) == [
        "config.json", CHECKPOINT_FILE, "solved/config.json", f"solved/{CHECKPOINT_FILE}"]


def test_repairing_progress_lines_without_a_progress_file_writes_an_empty_one(tmp_path):
    run = SimpleNamespace(progress_file=tmp_path / "progress.jsonl")
    TrainingRun._keep_progress_lines_up_to(run, 3)
    assert run.progress_file.read_text() == ""


def test_nan_messages_name_the_first_five_tensors_and_a_missing_config_copy_is_written_again(tmp_path):
    nan = {f"t{i}": torch.tensor([float("nan")]) for i in range(6)}
    with pytest.raises(ValueError, match=r"^refusing to save a checkpoint with NaN or inf in /t0, /t1, /t2, /t3, /t4$"):
        save_checkpoint(tmp_path, "x.pt", nan, {})
    torch.save({**nan, "config_json": "{}"}, tmp_path / "x.pt")  # written by other means, without a checksum
    with pytest.raises(ValueError, match=r"holds NaN or inf weights \(/t0, /t1, /t2, /t3, /t4\); it cannot be played$"):
        load_checkpoint(tmp_path, "x.pt")
    save_checkpoint(tmp_path, "y.pt", {"w": torch.ones(2)}, {"seed": 3})
    (tmp_path / "config.json").unlink()
    load_checkpoint(tmp_path, "y.pt")
    assert json.loads((tmp_path / "config.json").read_text()) == {"seed": 3}


def test_keep_the_better_copies_no_hidden_file_and_clears_a_stale_agent_without_its_config(tmp_path):
    run_dir, kept_dir = tmp_path / "run", make_agent_dir(tmp_path / "checkpoints", seed=2)
    HAPPOAgent(HAPPOConfig(**SMALL, seed=1)).save(run_dir)  # no solved/: the kept one's goes
    (run_dir / ".training.lock").write_text("pid 1")
    (run_dir / "notes.txt").write_text("a user's file in the run's folder")  # not the agent's: never copied
    (kept_dir / "solved" / "config.json").unlink()  # a stale agent whose config copy is already gone
    keep_the_better(run_dir, kept_dir, 2.0, lambda d: 1.0, learned=True)
    assert sorted(p.relative_to(kept_dir).as_posix() for p in kept_dir.rglob("*") if p.is_file()) == [
        "config.json", CHECKPOINT_FILE]


def test_read_history_gives_the_last_runs_history_or_none(tmp_path):
    assert read_history(tmp_path) is None
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "history.json").write_text('{"seed": 4}')
    assert read_history(tmp_path) == {"seed": 4}


def test_every_optimiser_runs_the_fused_adam_with_its_epsilon():
    """The fused kernel and the per-parameter loop round differently: the committed runs used the fused one."""
    from maddpg_agent import MADDPGAgent

    happo, maddpg = HAPPOAgent(HAPPOConfig(**SMALL)), MADDPGAgent(MADDPGConfig(num_matches=1, critic_hidden=(8,)))
    for optim in [*happo.actor_optims, happo.critic_optim, *maddpg.actor_optims, *maddpg.critic_optims]:
        assert optim.defaults["fused"] is True
    assert all(o.defaults["eps"] == 1e-5 for o in [*happo.actor_optims, happo.critic_optim])


def test_an_actors_defaults_are_the_designs():
    from networks import Actor

    actor = Actor()
    assert actor.std().tolist() == pytest.approx([0.5, 0.5]) and actor.log_std.requires_grad


def test_diverged_networks_are_named_before_the_environment_sees_a_nan(tmp_path):
    from rollout import play

    from happo_agent import HAPPOAgent, HAPPOConfig
    from maddpg_agent import MADDPGAgent, MADDPGConfig
    from tennis_sim.environment import make_env
    from training_run import RunLimits

    states = np.zeros((4, 24))
    for agent in (HAPPOAgent(HAPPOConfig(num_matches=2)), MADDPGAgent(MADDPGConfig(num_matches=2))):
        with torch.no_grad():  # the acting actors and, for HAPPO, the averaged ones that play the mean action
            for actor in (agent.actors[1], getattr(agent, "mean_actors", agent.actors)[1]):
                actor.body[-2].bias.fill_(float("nan"))
        for deterministic in (True, False):
            with pytest.raises(FloatingPointError, match=r"actor of racket \[1\] gives NaN or inf actions after "
                                                         r"learning step 0: training diverged"):  # fmt: skip
                agent.act(states, deterministic=deterministic)
    maddpg = MADDPGAgent(MADDPGConfig(num_matches=2))
    with pytest.raises(ValueError, match="NaN or inf: refused before they reach the replay buffer"):
        maddpg.step(states, np.full((4, 2), np.nan), [0.0] * 4, states, [False] * 4, [False] * 4)
    assert len(maddpg.memory) == 0
    config = HAPPOConfig(num_matches=2, practice_matches=0, update_every=8, buffer_steps=8, minibatch_size=16, seed=3)
    agent = HAPPOAgent(config)
    run = TrainingRun(agent, make_env(num_matches=2, seed=3), tmp_path, 3,
                      RunLimits(check_every=1, check_from=0.0, resume_every=1, progress="lines"))  # fmt: skip
    run.states = play(agent, run.env, run.states, 8)
    with pytest.raises(FloatingPointError, match="diverged at learning step 1: critic_loss is NaN or inf"):
        run.after_learning({"actor_loss_0": 0.1, "critic_loss": float("nan")}, run.states)
    assert not run.resume_file.exists() and not agent_files(run.run_checkpoints)
    with torch.no_grad():  # finite metrics from before the last gradient step, broken weights after it
        agent.critic.body[0].weight[0, 0] = float("inf")
    with pytest.raises(FloatingPointError, match="diverged at learning step 1: the weights of critic is NaN or inf"):
        run.after_learning({"critic_loss": 0.5}, run.states)
    assert not run.resume_file.exists()


def test_episodes_counted_with_practice_rallies_include_every_rally_that_ended_before_each_scored_one(tmp_path):
    """A fair count of the data behind a solve: a scored episode's `all_episodes` counts the rallies that ended in any
    match (practice ones too) up to it. Two scored matches and one practice match, by hand."""
    from tennis_sim.environment import make_env

    config = HAPPOConfig(num_matches=2, practice_matches=1, update_every=8, buffer_steps=8, minibatch_size=16, seed=3)
    env = make_env(num_matches=3, seed=3, practice_matches=1)
    run = TrainingRun(HAPPOAgent(config), env, tmp_path, 3, RunLimits(check_every=0, resume_every=0, progress="lines"),
                      practice=1)  # fmt: skip
    rewards = [0.0] * 6
    run.record(rewards, [False, False, False, False, True, True])  # the practice match's rally ends: 1
    run.record(rewards, [True, True, False, False, True, True])  # scored match 0 (2), then the practice one (3)
    run.record(rewards, [True, True, True, True, False, False])  # scored matches 0 (4) and 1 (5)
    assert run.all_episodes == [2, 4, 5]
    assert len(run.scores) == 3
    assert run.finish(config, run.states)["all_episodes"] == [2, 4, 5]


def test_a_run_without_resume_files_still_continues_an_interrupted_run_in_its_folder(tmp_path):
    """TENNIS_RESUME_EVERY=0 stops writing resume files; it does not throw away the one an interrupted run left."""
    from rollout import play

    from tennis_sim.environment import make_env

    config = HAPPOConfig(num_matches=2, practice_matches=0, update_every=8, buffer_steps=8, minibatch_size=16, seed=3)
    agent = HAPPOAgent(config)
    first = TrainingRun(agent, make_env(num_matches=2, seed=3), tmp_path, 3,
                        RunLimits(check_every=0, resume_every=1, progress="lines"))  # fmt: skip
    first.states = play(agent, first.env, first.states, 8)
    first.steps = 8
    first.after_learning({"epochs_0": 1.0}, first.states)  # writes the resume file
    assert first.resume_file.is_file()
    again = TrainingRun(HAPPOAgent(config), make_env(num_matches=2, seed=3), tmp_path, 3,
                        RunLimits(check_every=0, resume_every=0, progress="lines"))  # fmt: skip
    assert again.steps == 8 and again.agent.learn_steps == agent.learn_steps == 1


def test_a_file_of_the_users_beside_no_kept_agent_does_not_count_as_one(tmp_path):
    """checkpoints/ with only a user's notes.pt: the run's agent is kept there (before, the comparison tried to load
    an agent that is not there and failed with a message that did not name the cause); notes.pt stays."""
    run_dir, kept = tmp_path / "run", tmp_path / "checkpoints"
    HAPPOAgent(HAPPOConfig(**SMALL, seed=1)).save(run_dir)
    kept.mkdir()
    (kept / "notes.pt").write_bytes(b"a user's file")
    said = keep_the_better(run_dir, kept, 1.0, lambda d: 1 / 0, learned=True)
    assert said.endswith("now holds this run's agent (evaluation 1.000)") and (kept / CHECKPOINT_FILE).is_file()
    assert (kept / "notes.pt").read_bytes() == b"a user's file"


def test_a_maddpg_run_writes_resume_files_as_often_in_decisions_as_happo(tmp_path):
    """MADDPG's learning steps are 32 decisions (HAPPO's 256) and its file holds the replay buffer: with resume_every 1
    the file comes every 8 of its learning steps, not every one."""
    from maddpg_agent import MADDPGAgent
    from tennis_sim.environment import make_env

    agent = MADDPGAgent(MADDPGConfig(num_matches=2, critic_hidden=(8,)))
    run = TrainingRun(agent, make_env(num_matches=2, seed=3), tmp_path, 3,
                      RunLimits(check_every=0, resume_every=1, progress="lines"))  # fmt: skip
    assert agent.resume_stride == 8
    written = []
    for step in range(1, 17):
        agent.learn_steps = step
        run.after_learning({"critic_loss_0": 0.1}, run.states)
        written.append(run.resume_file.is_file())
        run.resume_file.unlink(missing_ok=True)
    assert [k + 1 for k, w in enumerate(written) if w] == [8, 16]


def test_a_run_that_cannot_continue_an_interrupted_one_in_its_folder_refuses_to_start(tmp_path):
    """A Unity build's run cannot load a simulator run's resume file: it stops, naming the file, instead of training
    over that run's progress and deleting its resume file at the end."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "resume.pt").write_bytes(b"an interrupted simulator run")
    unity_like = SimpleNamespace(brain_names=["TennisBrain"])  # no simulator core: its state cannot be saved
    with pytest.raises(RuntimeError, match="resume.pt holds an interrupted run that this one cannot continue"):
        TrainingRun(HAPPOAgent(HAPPOConfig(**SMALL)), unity_like, tmp_path, 3, RunLimits(progress="lines"))
    assert (tmp_path / "runs" / "resume.pt").read_bytes() == b"an interrupted simulator run"
