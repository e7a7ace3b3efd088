"""`tennis-play` reads the checkpoints course students saved, plays them as their own code would, and refuses what it
cannot play with a message that says what it found.

Every checkpoint here is written by the test in a layout course code used: the project's own actors saved as a
course student would save them (plain Linear layers), random actors with BatchNorm1d in each place it occurs, a
joint-observation actor, a critic, other projects' actors and broken files."""

import numpy as np
import pytest
import torch
from torch import nn

from happo_agent import HAPPOAgent, HAPPOConfig
from maddpg_agent import MADDPGAgent, MADDPGConfig
from tennis_sim.course_actor import ActorFileError, load_actor, load_with_class, main, play_actors, team_policy
from tennis_sim.environment import TennisEnvironment
from tennis_sim.scoring import evaluate
from training_run import load_agent

STATES = np.random.default_rng(0).normal(0, 5, (12, 24))  # (2E, 24) for E = 6 matches


def course_layout(actor: nn.Module, obs_scale: float) -> dict:
    """The project's actor as plain Linear layers with ReLU between, as course code saves an actor (fc1, fc2, ...).
    Its first two layers have no activation between them, so they fold into one, with the observation scale."""
    linears = [m for m in actor.body if isinstance(m, nn.Linear)]
    w0, b0, w1, b1 = (t.detach().double() for t in (linears[0].weight, linears[0].bias, linears[1].weight, linears[1].bias))
    layers = [(w1 @ w0 * obs_scale, w1 @ b0 + b1)] + [(lin.weight.detach(), lin.bias.detach()) for lin in linears[2:]]
    return {f"fc{k + 1}.{name}": t.float().clone()
            for k, (w, b) in enumerate(layers) for name, t in (("weight", w), ("bias", b))}  # fmt: skip


class CourseActor(nn.Module):
    """A DDPG actor as course code wrote it: BatchNorm modules registered after the Linears they follow."""

    def __init__(self, state_size=24, hidden=(256, 128), input_norm=False, hidden_norm=False, after=False,
                 activation=torch.relu):  # fmt: skip
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(state_size, hidden[0]), nn.Linear(hidden[0], hidden[1])
        self.fc3 = nn.Linear(hidden[1], 2)
        self.bn0 = nn.BatchNorm1d(state_size) if input_norm else None
        self.bn1 = nn.BatchNorm1d(hidden[0]) if hidden_norm else None
        self.after, self.activation = after, activation
        for bn in (self.bn0, self.bn1):  # running statistics far from the defaults, so a misplaced norm shows
            if bn is not None:
                bn.running_mean.normal_(0, 2)
                bn.running_var.uniform_(0.5, 4)
                bn.weight.data.uniform_(0.5, 2)
                bn.bias.data.normal_(0, 1)

    def forward(self, x):
        x = self.bn0(x) if self.bn0 is not None else x
        x = self.fc1(x)
        if self.bn1 is not None and not self.after:
            x = self.bn1(x)
        x = self.activation(x)
        if self.bn1 is not None and self.after:
            x = self.bn1(x)
        return torch.tanh(self.fc3(self.activation(self.fc2(x))))


def saved(tmp_path, state, name="checkpoint_actor.pth"):
    path = tmp_path / name
    torch.save(state, path)
    return path


def expected(module: nn.Module, states: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module.eval()(torch.as_tensor(states, dtype=torch.float32)).numpy()


def test_the_projects_maddpg_actors_saved_the_course_way_act_as_the_agent(tmp_path):
    torch.manual_seed(0)
    agent = MADDPGAgent(MADDPGConfig(num_matches=6))
    paths = [saved(tmp_path, course_layout(a, agent.config.obs_scale), f"actor_{k}.pth") for k, a in enumerate(agent.actors)]
    actors = [load_actor(p) for p in paths]
    assert actors[0].layout == "24 -> 128 -> relu -> 128 -> relu -> 64 -> relu -> 64 -> relu -> 2 -> tanh"
    np.testing.assert_allclose(team_policy(actors)(STATES), agent.act(STATES, deterministic=True), atol=1e-5)
    swapped = team_policy(actors, swap=True)(STATES).reshape(6, 2, 2)
    np.testing.assert_allclose(swapped[:, 0], actors[1].act(STATES[0::2]), atol=1e-6)  # agent 0 gets the second file
    np.testing.assert_allclose(swapped[:, 1], actors[0].act(STATES[1::2]), atol=1e-6)


@pytest.mark.parametrize("input_norm, hidden_norm, after", [(True, False, False), (False, True, False),
                                                            (False, True, True), (True, True, False)])  # fmt: skip
def test_batchnorm_where_course_code_put_it(tmp_path, input_norm, hidden_norm, after):
    torch.manual_seed(1)
    module = CourseActor(input_norm=input_norm, hidden_norm=hidden_norm, after=after)
    actor = load_actor(saved(tmp_path, module.state_dict()), norm_after_activation=after)
    np.testing.assert_allclose(actor.act(STATES), expected(module, STATES), atol=1e-5)
    assert actor.layout.startswith("24 -> BN -> 256" if input_norm else "24 -> 256")
    assert ("256 -> relu -> BN" if after else "256 -> BN -> relu") in actor.layout or not hidden_norm
    assert bool(actor.notes) == hidden_norm  # it says which choice it made where the weights cannot tell
    if hidden_norm:  # the other choice gives other actions: the flag matters
        other = load_actor(saved(tmp_path, module.state_dict()), norm_after_activation=not after)
        assert not np.allclose(other.act(STATES), expected(module, STATES), atol=1e-3)


def test_leaky_relu_and_a_dict_that_holds_the_actor(tmp_path):
    torch.manual_seed(2)
    module = CourseActor(activation=nn.functional.leaky_relu)
    file = saved(tmp_path, {"actor_local": module.state_dict(), "critic_local": {"w": torch.zeros(1)}, "episode": 3})
    np.testing.assert_allclose(load_actor(file, activation="leaky_relu").act(STATES), expected(module, STATES), atol=1e-5)
    assert not np.allclose(load_actor(file).act(STATES), expected(module, STATES), atol=1e-4)
    two = saved(tmp_path, {"first": module.state_dict(), "second": module.state_dict()}, "two.pth")
    with pytest.raises(ActorFileError, match=r"several state_dicts \['first', 'second'\].*--key"):
        load_actor(two)
    np.testing.assert_allclose(load_actor(two, "leaky_relu", key="second").act(STATES), expected(module, STATES), atol=1e-5)


def test_a_joint_observation_actor_reads_both_rackets_in_the_brains_order(tmp_path):
    torch.manual_seed(3)
    module = CourseActor(state_size=48)
    actor = load_actor(saved(tmp_path, module.state_dict()))
    assert actor.joint and actor.layout.startswith("48 -> ")
    joined = STATES.reshape(6, 48)  # np.reshape(states, (1, 48)) per match: agent 0's observation, then agent 1's
    actions = team_policy([actor])(STATES).reshape(6, 2, 2)
    np.testing.assert_allclose(actions[:, 0], expected(module, joined), atol=1e-5)
    np.testing.assert_allclose(actions[:, 1], expected(module, joined), atol=1e-5)


def test_a_students_own_class_with_model(tmp_path):
    (tmp_path / "model.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Actor(nn.Module):\n"
        "    def __init__(self, state_size, action_size, seed, units=32):\n"
        "        super().__init__()\n"
        "        torch.manual_seed(seed)\n"
        "        self.norm = nn.LayerNorm(state_size)\n"
        "        self.fc1, self.fc2 = nn.Linear(state_size, units), nn.Linear(units, action_size)\n\n"
        "    def forward(self, x):\n"
        "        return torch.tanh(self.fc2(torch.relu(self.fc1(self.norm(x)))))\n")  # fmt: skip
    import importlib.util

    spec = importlib.util.spec_from_file_location("student_model", tmp_path / "model.py")
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)
    module = student.Actor(24, 2, 5, units=16)
    file = saved(tmp_path, module.state_dict())
    with pytest.raises(ActorFileError, match="norm .* is neither Linear nor BatchNorm1d.*--model"):
        load_actor(file)
    actor = load_with_class(file, f"{tmp_path / 'model.py'}:Actor", {"state_size": 24, "action_size": 2, "seed": 0,
                                                                       "units": 16})  # fmt: skip
    np.testing.assert_allclose(actor.act(STATES), expected(module, STATES), atol=1e-6)
    with pytest.raises(ActorFileError, match="does not fit Actor.*--model-args"):
        load_with_class(file, f"{tmp_path / 'model.py'}:Actor", [24, 2, 0])  # 32 units: the shapes differ
    with pytest.raises(ActorFileError, match="defines no class Critic"):
        load_with_class(file, f"{tmp_path / 'model.py'}:Critic", [24, 2, 0])


def critic_state(joined_after_first: bool) -> dict:
    if joined_after_first:  # the DDPG critic: actions joined in after the first layer
        return {"fcs1.weight": torch.zeros(256, 24), "fcs1.bias": torch.zeros(256), "fc2.weight": torch.zeros(128, 258),
                "fc2.bias": torch.zeros(128), "fc3.weight": torch.zeros(1, 128), "fc3.bias": torch.zeros(1)}  # fmt: skip
    return {"fc1.weight": torch.zeros(64, 52), "fc1.bias": torch.zeros(64), "fc2.weight": torch.zeros(1, 64),
            "fc2.bias": torch.zeros(1)}  # fmt: skip


@pytest.mark.parametrize("state, message", [
    (critic_state(True), r"critic's file: fc2 takes 258 = 256 \+ the actions joined in after fcs1"),
    (critic_state(False), r"critic's file \(input 52, output 1\)"),
    (CourseActor(state_size=33).state_dict(), r"input 33 is the course's Reacher arm .*Tennis actor reads 24"),
    (CourseActor(state_size=37).state_dict(), r"input 37 is the course's Banana collector"),
    ({**CourseActor().state_dict(), "fc2.weight": torch.full((128, 256), float("nan"))}, r"fc2.weight holds NaN"),
    ({"fc1.weight": torch.zeros(16, 24), "fc1.bias": torch.zeros(16), "fc2.weight": torch.zeros(4, 16)},
     r"output 4; a Tennis actor gives 2"),
])  # fmt: skip
def test_what_is_not_a_tennis_actor_is_refused_with_what_was_found(tmp_path, state, message):
    with pytest.raises(ActorFileError, match=message):
        load_actor(saved(tmp_path, state))


def test_broken_files_and_pickled_models_are_refused_without_running_code(tmp_path):
    good = saved(tmp_path, CourseActor().state_dict())
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.pth"
    text.write_text("hello, these are not weights\n")
    whole = saved(tmp_path, CourseActor(), "whole_model.pth")  # torch.save(model) pickles the class, not just weights
    with pytest.raises(ActorFileError, match="cut.pth is not a PyTorch file, or is cut short"):
        load_actor(cut)
    with pytest.raises(ActorFileError, match="notes.pth is not a PyTorch file"):
        load_actor(text)
    with pytest.raises(ActorFileError, match=r"pickled Python object \(test_course_actor.CourseActor\).*state_dict\(\)"):
        load_actor(whole)
    with pytest.raises(ActorFileError, match="no such file"):
        load_actor(tmp_path / "missing.pth")
    assert main([str(cut)]) == 2  # the command says it and exits with an error, without a traceback


def test_the_shipped_agent_saved_the_course_way_scores_as_the_notebooks_evaluation(tmp_path, capsys):
    agent = load_agent("checkpoints")  # the notebook evaluates it on 100 episodes of seed 1000 in 20 matches
    paths = [saved(tmp_path, course_layout(a, agent.config.obs_scale), f"actor_{k}.pth") for k, a in enumerate(agent.actors)]
    actors = [load_actor(p) for p in paths]
    np.testing.assert_allclose(team_policy(actors)(STATES), agent.act(STATES, deterministic=True), atol=1e-5)
    notebook = evaluate(lambda s: agent.act(s, deterministic=True), TennisEnvironment(num_matches=20, seed=1000), 5)
    played = play_actors(actors, episodes=100, seed=1000)
    # The same actions up to float32 rounding (numpy's products in the agent, torch's here, and the folded layers);
    # over a rally of 1,000 decisions such differences can decide a rally or two, so the scores agree to within a few.
    assert abs(played.scores.mean() - notebook.scores.mean()) < 0.1
    assert abs(int(played.full_length.sum()) - int(notebook.full_length.sum())) <= 3
    assert main([*map(str, paths), "--episodes", "4", "--seed", "1000", "--verbose", "--gif", str(tmp_path / "r.gif")]) == 0
    out = capsys.readouterr().out
    assert "actor_0.pth: 24 -> 128 -> relu" in out and "episode 4: score" in out and "4 episodes: mean score" in out
    from PIL import Image

    assert Image.open(tmp_path / "r.gif").n_frames > 10


def test_an_untrained_happo_actor_plays_badly(tmp_path):  # the scores come from the actor, not from the command
    torch.manual_seed(4)
    agent = HAPPOAgent(HAPPOConfig(num_matches=2))
    path = saved(tmp_path, course_layout(agent.actors[0], agent.config.obs_scale))
    assert play_actors([load_actor(path)], episodes=20, seed=3).scores.mean() < 0.2


def test_a_layer_computed_but_unused_is_left_out_by_name(tmp_path):
    torch.manual_seed(5)
    module = CourseActor(input_norm=True)  # as if its forward pass computed bn0 and then fed the raw state on
    plain = CourseActor()
    plain.load_state_dict({k: v for k, v in module.state_dict().items() if not k.startswith("bn0.")})
    file = saved(tmp_path, module.state_dict())
    actor = load_actor(file, ignore=["bn0"])
    assert actor.layout.startswith("24 -> 256")
    np.testing.assert_allclose(actor.act(STATES), expected(plain, STATES), atol=1e-5)
    with pytest.raises(ActorFileError, match=r"--ignore \['bn9'\]: no such layer \(the file has \['fc1', 'fc2', 'fc3', 'bn0'"):
        load_actor(file, ignore=["bn9"])


class EqualSizes(nn.Module):
    """Course code with its BatchNorm registered last, after the second of two hidden layers of one size."""

    def __init__(self, hidden=64):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(24, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 2)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.bn2.running_mean.normal_(0, 2)
        self.bn2.running_var.uniform_(0.5, 4)

    def forward(self, x):
        return torch.tanh(self.fc3(torch.relu(self.bn2(self.fc2(torch.relu(self.fc1(x)))))))


def test_a_batchnorm_that_fits_several_places_goes_where_its_name_and_the_file_put_it(tmp_path):
    torch.manual_seed(6)
    equal = EqualSizes()
    actor = load_actor(saved(tmp_path, equal.state_dict()))
    np.testing.assert_allclose(actor.act(STATES), expected(equal, STATES), atol=1e-5)
    assert "64 -> relu -> 64 -> BN -> relu" in actor.layout and any("bn2 fits 2 places" in n for n in actor.notes)
    hidden_24 = nn.Sequential()  # a hidden layer as wide as the input: listed after fc1, so it follows fc1
    hidden_24.fc1, hidden_24.bn1, hidden_24.fc2 = nn.Linear(24, 24), nn.BatchNorm1d(24), nn.Linear(24, 2)
    hidden_24.bn1.running_mean.normal_(0, 2)
    module = nn.Sequential(hidden_24.fc1, hidden_24.bn1, nn.ReLU(), hidden_24.fc2, nn.Tanh())
    actor = load_actor(saved(tmp_path, hidden_24.state_dict(), "h24.pth"))
    assert actor.layout == "24 -> 24 -> BN -> relu -> 2 -> tanh"
    np.testing.assert_allclose(actor.act(STATES), expected(module, STATES), atol=1e-5)


def test_files_that_almost_fit_are_refused_with_what_is_off(tmp_path):
    state = CourseActor().state_dict()
    with pytest.raises(ActorFileError, match=r"entries that are not tensors: \['epoch \(int\)'\]"):
        load_actor(saved(tmp_path, {**state, "epoch": 5}))
    with pytest.raises(ActorFileError, match="layer fc1 does not fit together"):
        load_actor(saved(tmp_path, {**state, "fc1.bias": torch.zeros(5)}, "bias.pth"))
    with pytest.raises(ActorFileError, match="a folder, not a file"):
        load_actor(tmp_path)
    bn_state = CourseActor(input_norm=True).state_dict()
    with pytest.raises(ActorFileError, match="bn0 needs running_mean and running_var of one size"):
        load_actor(saved(tmp_path, {k: v for k, v in bn_state.items() if k != "bn0.running_var"}, "bn.pth"))


class OutOfOrder(nn.Module):
    """A course actor that registers fc3 before fc2 and runs fc1, fc2, fc3, fc4: the file lists them as registered."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc3, self.fc2, self.fc4 = nn.Linear(24, 64), nn.Linear(64, 64), nn.Linear(64, 64), nn.Linear(64, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc2(torch.relu(self.fc1(x))))
        return torch.tanh(self.fc4(torch.relu(self.fc3(x))))


def test_linear_layers_run_in_the_order_of_their_names_when_the_file_lists_them_otherwise(tmp_path):
    torch.manual_seed(7)
    student = OutOfOrder()
    assert [k.split(".")[0] for k in student.state_dict()][::2] == ["fc1", "fc3", "fc2", "fc4"]
    actor = load_actor(saved(tmp_path, student.state_dict()))
    with torch.no_grad():
        np.testing.assert_allclose(actor.act(STATES), student(torch.as_tensor(STATES, dtype=torch.float32)).numpy(),
                                   atol=1e-5)  # fmt: skip
    assert any("order of their names (fc1, fc2, fc3, fc4), not the file's (fc1, fc3, fc2, fc4)" in n for n in actor.notes)


def test_the_animation_never_overwrites_an_actor_file(tmp_path, capsys):
    actor = saved(tmp_path, OutOfOrder().state_dict(), "rally.gif")
    before = actor.read_bytes()
    with pytest.raises(SystemExit):
        main([str(actor), "--episodes", "1", "--gif", str(tmp_path / "." / "rally.gif")])
    assert "is an actor file given to play" in capsys.readouterr().err and actor.read_bytes() == before


def test_this_projects_own_checkpoint_is_sent_to_the_notebook(tmp_path):
    """tennis-play reads course files; the shipped happo.pt plays only with its config's obs_scale, which a course
    actor does not have: refused with where to evaluate it, whatever --key or --model says."""
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "checkpoints" / "happo.pt"
    for extra in ([], ["--key", "actor_0"], ["--model", "networks.py:Actor"]):
        with pytest.raises(ActorFileError, match="is a Tennis HAPPO checkpoint .* evaluate it with the notebook"):
            (load_with_class(shipped, "networks.py:Actor") if extra[:1] == ["--model"] else
             load_actor(shipped, key=extra[1] if extra else None))  # fmt: skip


def test_what_would_fail_only_after_playing_is_refused_before(tmp_path, capsys):
    actor = saved(tmp_path, OutOfOrder().state_dict())
    for args, says in ((["--seed", "2147483647", "--gif", str(tmp_path / "r.gif")], "--seed 2147483647: must be from 0"),
                       (["--gif", str(tmp_path / "rally")], "the animation is a GIF")):  # fmt: skip
        with pytest.raises(SystemExit):
            main([str(actor), "--episodes", "1", *args])
        assert says in capsys.readouterr().err


def test_a_students_class_that_returns_more_than_actions_or_takes_the_other_input_is_refused_by_name(tmp_path):
    (tmp_path / "model.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Pair(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(24, 2)\n\n"
        "    def forward(self, x):\n"
        "        return torch.tanh(self.fc(x)), x\n")  # fmt: skip
    file = saved(tmp_path, {"fc.weight": torch.zeros(2, 24), "fc.bias": torch.zeros(2)})
    with pytest.raises(ActorFileError, match="Pair's forward returns a tuple; tennis-play expected the actions"):
        load_with_class(file, f"{tmp_path / 'model.py'}:Pair")
    with pytest.raises(ActorFileError, match=r"Pair does not take \(2, 48\) observations .* try without --joint"):
        load_with_class(file, f"{tmp_path / 'model.py'}:Pair", joint=True)
