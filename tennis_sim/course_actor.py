"""`tennis-play`: an actor a course student trained on the Unity Tennis build (DDPG, MADDPG) plays on the simulator.

Students kept `checkpoint_actor.pth` files: a `state_dict` of `Linear` layers (sometimes with `BatchNorm1d` on the input
or a hidden layer), ReLU between them and tanh after the last. This module reads such a file with no code of theirs,
rebuilds the network from the weights' shapes, says what it built, and scores it the notebook's way: whole episodes
in 20 matches of one seed (`tennis_sim.scoring.evaluate`). `torch.load(..., weights_only=True)`: no file runs code.

    tennis-play checkpoint_actor.pth --episodes 100 --seed 0 --gif rally.gif
    tennis-play actor_0.pth actor_1.pth --swap --verbose
    tennis-play weights.pth --model model.py:Actor --model-args '[24, 2, 0]'
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pickle
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tennis_sim.environment import MAX_SEED, TennisEnvironment
from tennis_sim.files import replace_through
from tennis_sim.scoring import Evaluation, evaluate, evaluation_matches, record_rally

OBS_SIZE, ACTION_SIZE, NUM_RACKETS = 24, 2, 2
JOINT_SIZE = NUM_RACKETS * OBS_SIZE  # both rackets' observations joined in the brain's order: np.reshape(states, (1, 48))
OTHER_TASKS = {33: "the course's Reacher arm (Continuous Control)", 37: "the course's Banana collector (Navigation)"}
ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}


class ActorFileError(ValueError):
    """A file `tennis-play` will not play, with what it found and what it expected."""


@dataclass
class CourseActor:
    """A network that maps one racket's observation (or both rackets' joined) to its action in [-1, 1]."""

    network: nn.Module
    joint: bool  # reads both rackets' observations (48), not its own (24)
    layout: str  # what was built, e.g. "24 -> BN -> 256 -> relu -> 128 -> relu -> 2 -> tanh"
    notes: list[str] = field(default_factory=list)  # choices the weights could not make

    def act(self, obs: np.ndarray) -> np.ndarray:
        """obs (N, 24), or (N, 48) when joint -> actions (N, 2)."""
        with torch.no_grad():
            return self.network(torch.as_tensor(obs, dtype=torch.float32)).numpy().astype(np.float64)


def read_state_dict(path: Path, key: str | None = None) -> dict[str, torch.Tensor]:
    """The tensors saved in `path`: a state_dict, or the one a dict of them holds (`key` picks among several)."""
    if not path.is_file():
        raise ActorFileError(f"{path}: {'a folder, not a file' if path.is_dir() else 'no such file'}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if not found:
            raise ActorFileError(f"{path} is not a PyTorch file of weights; tennis-play expected a file written by "
                                 "torch.save(actor.state_dict(), ...)") from None  # fmt: skip
        raise ActorFileError(
            f"{path} holds a pickled Python object ({found.group(1)}), not weights; "
            "tennis-play loads weights only, so that no file can run code. Re-save the weights in your own project, "
            "where that class imports and only if you trust the file: "
            f"torch.save(torch.load('{path.name}', weights_only=False).state_dict(), 'checkpoint_actor.pth')"
        ) from None
    except Exception as err:  # a cut or foreign file fails anywhere in torch's reader
        raise ActorFileError(f"{path} is not a PyTorch file, or is cut short ({_first_line(err)}); tennis-play expected a "
                             "file written by torch.save(actor.state_dict(), ...)") from None  # fmt: skip
    return _tensors_in(saved, path, key)


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _is_state_dict(value: object) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(t, torch.Tensor) for t in value.values())


def _tensors_in(saved: object, path: Path, key: str | None) -> dict[str, torch.Tensor]:
    if isinstance(saved, dict) and "config_json" in saved:  # this project's own checkpoint (older ones too)
        raise ActorFileError(f"{path} is a Tennis HAPPO checkpoint (its agent scales its observations, as its "
                             "config says): evaluate it with the notebook (TENNIS_TRAIN=0, or make evaluate), "
                             "not tennis-play")  # fmt: skip
    if key is not None:
        if not isinstance(saved, dict) or not _is_state_dict(saved.get(key)):
            keys = list(saved) if isinstance(saved, dict) else []
            raise ActorFileError(f"{path}: --key {key!r} is not a state_dict in the file (its keys: {keys})")
        return saved[key]
    if _is_state_dict(saved):
        return saved
    inner = {k: v for k, v in saved.items() if _is_state_dict(v)} if isinstance(saved, dict) else {}
    actors = [k for k in inner if "actor" in str(k).lower() and "target" not in str(k).lower()]
    if len(inner) == 1 or len(actors) == 1:
        return inner[actors[0] if len(actors) == 1 else next(iter(inner))]
    if inner:
        raise ActorFileError(f"{path} holds several state_dicts {list(inner)}: pick the actor's with --key NAME")
    others = [f"{k} ({type(v).__name__})" for k, v in saved.items() if not isinstance(v, torch.Tensor)] if isinstance(
        saved, dict) else []  # fmt: skip
    raise ActorFileError(f"{path} holds a {type(saved).__name__}" + (f" with entries that are not tensors: {others}"
                         if others else ", not a state_dict of tensors") + "; tennis-play expected a file written by "
                         "torch.save(actor.state_dict(), ...)")  # fmt: skip


@dataclass
class _Linear:
    name: str
    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None


@dataclass
class _Norm:
    name: str
    tensors: dict[str, torch.Tensor]  # running_mean, running_var, optionally weight, bias, num_batches_tracked
    linears_before: int = 0  # Linear layers the file lists before it

    @property
    def size(self) -> int:
        return int(self.tensors["running_mean"].shape[0])


def _layers(state: dict[str, torch.Tensor], path: Path) -> tuple[list[_Linear], list[_Norm]]:
    """The Linear and BatchNorm1d layers of a state_dict, in the order the file lists them."""
    modules: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in state.items():
        if not torch.is_floating_point(tensor) and not name.endswith("num_batches_tracked"):
            raise ActorFileError(f"{path}: {name} holds {tensor.dtype} values; an actor's weights are floats")
        if torch.is_floating_point(tensor) and not torch.isfinite(tensor).all():
            raise ActorFileError(f"{path}: {name} holds NaN or infinite weights; tennis-play expected finite ones")
        prefix, _, leaf = name.rpartition(".")
        modules.setdefault(prefix, {})[leaf] = tensor
    linears, norms = [], []
    for prefix, tensors in modules.items():
        if "running_mean" in tensors:
            if "running_var" not in tensors or tensors["running_mean"].shape != tensors["running_var"].shape:
                raise ActorFileError(f"{path}: BatchNorm1d {prefix} needs running_mean and running_var of one size, "
                                     f"found {({k: tuple(v.shape) for k, v in tensors.items()})}")  # fmt: skip
            norms.append(_Norm(prefix, tensors, len(linears)))
        elif set(tensors) <= {"weight", "bias"} and tensors.get("weight") is not None and tensors["weight"].dim() == 2:
            linears.append(_Linear(prefix, tensors["weight"], tensors.get("bias")))
        else:
            shapes = {k: tuple(v.shape) for k, v in tensors.items()}
            raise ActorFileError(f"{path}: layer {prefix or '(top)'} {shapes} is neither Linear nor BatchNorm1d; "
                                 "for another kind of network pass your class with --model model.py:Actor")  # fmt: skip
    if not linears:
        raise ActorFileError(f"{path}: no Linear layer among {list(state)}")
    return linears, norms


def _check_shapes(linears: list[_Linear], path: Path) -> int:
    """The input size, after refusing what is not a Tennis actor: the reason names what was found."""
    size_in, size_out = linears[0].weight.shape[1], linears[-1].weight.shape[0]
    if size_in in OTHER_TASKS:
        raise ActorFileError(f"{path}: input {size_in} is {OTHER_TASKS[size_in]}'s observation; a Tennis actor reads "
                             f"{OBS_SIZE} (one racket) or {JOINT_SIZE} (both rackets)")  # fmt: skip
    for before, layer in zip(linears, linears[1:]):
        n_out, n_in = before.weight.shape[0], layer.weight.shape[1]
        if n_in in (n_out + ACTION_SIZE, n_out + 2 * ACTION_SIZE):
            raise ActorFileError(f"{path} is a critic's file: {layer.name} takes {n_in} = {n_out} + the actions "
                                 f"joined in after {before.name}; tennis-play plays an actor")  # fmt: skip
        if n_in != n_out:
            raise ActorFileError(f"{path}: {before.name} gives {n_out} numbers but {layer.name} takes {n_in}; "
                                 "pass your class with --model model.py:Actor if its layers run in another order")  # fmt: skip
    if size_in in (OBS_SIZE + ACTION_SIZE, JOINT_SIZE + 2 * ACTION_SIZE) or size_out == 1:
        raise ActorFileError(f"{path} is a critic's file (input {size_in}, output {size_out}): tennis-play plays an "
                             f"actor, input {OBS_SIZE} or {JOINT_SIZE} and output {ACTION_SIZE}")  # fmt: skip
    if size_in not in (OBS_SIZE, JOINT_SIZE):
        raise ActorFileError(f"{path}: input {size_in}; a Tennis actor reads {OBS_SIZE} (one racket's observation) "
                             f"or {JOINT_SIZE} (both rackets')")  # fmt: skip
    if size_out != ACTION_SIZE:
        raise ActorFileError(f"{path}: output {size_out}; a Tennis actor gives {ACTION_SIZE} actions")
    return size_in


def _digits(name: str) -> str:
    return "".join(c for c in name.rpartition(".")[2] if c.isdigit())


def _in_name_order(linears: list[_Linear]) -> tuple[list[_Linear], list[str]]:
    """The Linear layers in the order of the numbers in their names (fc1, fc2, fc3) when each has its own number and
    that order fits their sizes together; else in the file's order. A note when the two orders differ: a class may
    register its layers in another order than its forward pass runs them (fc1, fc3, fc2)."""
    numbers = [_digits(lin.name) for lin in linears]
    if not all(numbers) or len(set(map(int, numbers))) < len(numbers):
        return linears, []
    by_name = sorted(linears, key=lambda lin: int(_digits(lin.name)))
    fits = all(a.weight.shape[0] == b.weight.shape[1] for a, b in zip(by_name, by_name[1:]))
    if by_name == linears or not fits:
        return linears, []
    return by_name, [f"Linear layers taken in the order of their names ({', '.join(lin.name for lin in by_name)}), "
                     f"not the file's ({', '.join(lin.name for lin in linears)})"]


def _place_norms(linears: list[_Linear], norms: list[_Norm], size_in: int, path: Path) -> tuple[dict[int, _Norm], list[str]]:
    """Where each BatchNorm1d goes: -1 on the input, k after the k-th Linear (hidden layers only); and a note for
    each one whose place its size alone did not decide. Among the places its size fits, the one whose Linear has the
    same number in its name (bn2 after fc2) wins, then the Linear the file lists just before it, then the first."""
    placed: dict[int, _Norm] = {}
    notes: list[str] = []
    for norm in norms:
        fits = ([-1] if norm.size == size_in else []) + [k for k, lin in enumerate(linears[:-1])
                                                         if lin.weight.shape[0] == norm.size]  # fmt: skip
        free = [k for k in fits if k not in placed]
        if not free:
            raise ActorFileError(f"{path}: BatchNorm1d {norm.name} of size {norm.size} fits no free place between "
                                 f"the layers {[tuple(lin.weight.shape[::-1]) for lin in linears]}")  # fmt: skip
        by_name = [k for k in free if k >= 0 and _digits(norm.name) and _digits(linears[k].name) == _digits(norm.name)]
        listed_after = norm.linears_before - 1  # -1: listed before every Linear, so on the input
        choice = by_name[0] if len(by_name) == 1 else (listed_after if listed_after in free else free[0])
        placed[choice] = norm
        if len(free) > 1:
            where = "on the input" if choice == -1 else f"after {linears[choice].name}"
            notes.append(f"BatchNorm1d {norm.name} fits {len(free)} places; taken {where}, from its name and its "
                         "place in the file: check the layout above")  # fmt: skip
    return placed, notes


def build_actor(state: dict[str, torch.Tensor], path: Path, activation: str = "relu",
                norm_after_activation: bool = False, ignore: Sequence[str] = ()) -> CourseActor:  # fmt: skip
    """The network that the state_dict's shapes describe, in eval mode (BatchNorm uses its running statistics).
    Layers named in `ignore` are left out: course code sometimes computes a layer and then does not use it."""
    ignore, names = set(ignore), _layer_names(state)
    missing = sorted(ignore - set(names))
    if missing:
        raise ActorFileError(f"{path}: --ignore {missing}: no such layer (the file has {names})")
    state = {name: t for name, t in state.items() if name.rpartition(".")[0] not in ignore}
    linears, norms = _layers(state, path)
    linears, order_notes = _in_name_order(linears)
    size_in = _check_shapes(linears, path)
    placed, notes = _place_norms(linears, norms, size_in, path)
    notes = order_notes + notes
    modules: list[nn.Module] = []
    words = [str(size_in)]

    def add_norm(norm: _Norm) -> None:
        bn = nn.BatchNorm1d(norm.size, affine="weight" in norm.tensors)
        _load(bn, norm.tensors, norm.name, path)
        modules.append(bn)
        words.append("BN")

    if -1 in placed:
        add_norm(placed[-1])
    for k, lin in enumerate(linears):
        layer = nn.Linear(lin.weight.shape[1], lin.weight.shape[0], bias=lin.bias is not None)
        _load(layer, {"weight": lin.weight, **({"bias": lin.bias} if lin.bias is not None else {})}, lin.name, path)
        modules.append(layer)
        words.append(str(lin.weight.shape[0]))
        if k == len(linears) - 1:
            break
        if k in placed and not norm_after_activation:
            add_norm(placed[k])
        modules.append(ACTIVATIONS[activation]())
        words.append(activation)
        if k in placed and norm_after_activation:
            add_norm(placed[k])
    modules.append(nn.Tanh())
    words.append("tanh")
    if any(k >= 0 for k in placed):
        notes.append("a hidden BatchNorm1d is taken " + ("after its activation (--norm-after-activation)"
                     if norm_after_activation else "before its activation, the more common form; "
                     "--norm-after-activation puts it after"))  # fmt: skip
    return CourseActor(nn.Sequential(*modules).eval(), size_in == JOINT_SIZE, " -> ".join(words), notes)


def _load(module: nn.Module, tensors: dict[str, torch.Tensor], name: str, path: Path) -> None:
    try:
        module.load_state_dict(tensors, strict=False)
    except RuntimeError as err:  # a bias or statistic of another size than its layer
        raise ActorFileError(f"{path}: layer {name} does not fit together: {_first_line(err)}") from None


def load_actor(path: str | Path, activation: str = "relu", norm_after_activation: bool = False,
               key: str | None = None, ignore: Sequence[str] = ()) -> CourseActor:  # fmt: skip
    """A course student's actor from its weights file alone."""
    if activation not in ACTIVATIONS:
        raise ActorFileError(f"activation {activation!r}: tennis-play knows {sorted(ACTIVATIONS)}")
    path = Path(path)
    return build_actor(read_state_dict(path, key), path, activation, norm_after_activation, ignore)


def _layer_names(state: dict[str, torch.Tensor]) -> list[str]:
    return list(dict.fromkeys(name.rpartition(".")[0] for name in state))


def load_with_class(path: str | Path, model: str, args: object = (), joint: bool = False,
                    key: str | None = None) -> CourseActor:  # fmt: skip
    """The weights in `path` loaded into the student's own class, `model` = "file.py:ClassName", built with `args`
    (a list: positional; a dict: keywords). This imports and runs that file, as the student's own code."""
    path = Path(path)
    source, _, name = model.rpartition(":")
    if not source or not name or not Path(source).is_file():
        raise ActorFileError(f"--model {model!r}: expected an existing file and a class, e.g. model.py:Actor")
    spec = importlib.util.spec_from_file_location(Path(source).stem, source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not isinstance(getattr(module, name, None), type):
        raise ActorFileError(f"--model {model!r}: {source} defines no class {name}")
    network = getattr(module, name)(**args) if isinstance(args, dict) else getattr(module, name)(*args)
    try:
        network.load_state_dict(read_state_dict(path, key))
    except RuntimeError as err:
        raise ActorFileError(f"{path} does not fit {name}: {str(err).splitlines()[0]} (check --model-args)") from None
    network.eval()
    size = JOINT_SIZE if joint else OBS_SIZE
    try:
        with torch.no_grad():
            out = network(torch.zeros(2, size))
    except RuntimeError as err:  # a class built for the other input size
        other = "without --joint" if joint else "with --joint (both rackets' 48 numbers)"
        raise ActorFileError(f"{name} does not take (2, {size}) observations ({_first_line(err)}); try {other}") from None
    if not isinstance(out, torch.Tensor):
        raise ActorFileError(f"{name}'s forward returns a {type(out).__name__}; tennis-play expected the actions as one "
                             f"tensor (2, {ACTION_SIZE}): wrap the class so that forward returns only them")  # fmt: skip
    if tuple(out.shape) != (2, ACTION_SIZE):
        raise ActorFileError(f"{name} maps (2, {size}) observations to {tuple(out.shape)}; expected (2, {ACTION_SIZE})")
    return CourseActor(network, joint, f"{name} from {source} ({size} inputs)")


def team_policy(actors: Sequence[CourseActor], swap: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """The environment's states (2E, 24) -> actions (2E, 2): the first actor plays agent 0 of each match (the
    right racket), the second agent 1 (one actor plays both); `swap` exchanges them."""
    pair = [actors[0], actors[-1]][:: -1 if swap else 1]

    def act(states: np.ndarray) -> np.ndarray:
        by_match = np.asarray(states).reshape(-1, NUM_RACKETS, OBS_SIZE)  # (E, 2, 24)
        joint = by_match.reshape(-1, JOINT_SIZE)  # (E, 48): agent 0's observation, then agent 1's
        actions = np.stack([a.act(joint if a.joint else by_match[:, r]) for r, a in enumerate(pair)], axis=1)
        return np.clip(actions, -1.0, 1.0).reshape(-1, ACTION_SIZE)  # (2E, 2)

    return act


def play_actors(actors: Sequence[CourseActor], episodes: int = 100, seed: int = 0, swap: bool = False) -> Evaluation:
    """`episodes` whole episodes of the actors, scored as the notebook's evaluation: in as many matches of `seed`
    (at most 20) as divide them."""
    if episodes < 1:
        raise ValueError(f"episodes={episodes}: play at least 1")
    matches = evaluation_matches(episodes)
    return evaluate(team_policy(actors, swap), TennisEnvironment(num_matches=matches, seed=seed), episodes // matches)


def save_rally_gif(actors: Sequence[CourseActor], path: Path, seed: int, swap: bool = False) -> None:
    """An animated rally of one match like the notebook's (160 decisions at most, every second one drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tennis_sim.render import animate_rally

    frames, scores = record_rally(team_policy(actors, swap), TennisEnvironment(num_matches=1, seed=seed), 160)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim = animate_rally(frames[::2], scores=scores[::2], interval_ms=100)
    replace_through(path, lambda tmp: anim.save(tmp, writer="pillow", fps=10), suffix=".gif")
    plt.close("all")


def report(result: Evaluation, verbose: bool = False) -> str:
    """Mean and median score, the shares at or above 0.5 and at the ceiling, and a line per episode if verbose."""
    s = result.scores
    lines = [f"episode {k + 1}: score {v:.2f}" + (" (ceiling)" if full else "")
             for k, (v, full) in enumerate(zip(s, result.full_length))] if verbose else []  # fmt: skip
    lines.append(f"{len(s)} episodes: mean score {s.mean():.3f}, median {np.median(s):.2f}; "
                 f"{(s >= 0.5).mean():.0%} at or above 0.5, {result.full_length.mean():.0%} kept to the step limit "
                 f"(the ceiling)")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tennis-play", description=__doc__.splitlines()[0])
    parser.add_argument("actors", nargs="+", type=Path, help="one actor's weights (plays both rackets) or two (one each)")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="the simulator's seed (the rally's: seed + 1)")
    parser.add_argument("--swap", action="store_true", help="the two actors play the other sides")
    parser.add_argument("--gif", type=Path, help="write an animated rally here")
    parser.add_argument("--verbose", action="store_true", help="a line per episode")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    parser.add_argument("--norm-after-activation", action="store_true",
                        help="a hidden BatchNorm1d after its activation (default: before it)")
    parser.add_argument("--key", help="the actor's state_dict in a file that holds several")
    parser.add_argument("--ignore", nargs="+", default=[], metavar="LAYER",
                        help="layers the actor's forward pass computes but does not use (e.g. input)")
    parser.add_argument("--model", help="your own class instead, as file.py:ClassName")
    parser.add_argument("--model-args", default="[]", help="its constructor's arguments as JSON: a list or an object")
    parser.add_argument("--joint", action="store_true", help="with --model: it reads both rackets' observations (48)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small networks: more threads only wait on each other, the more so on a busy machine
    if len(args.actors) > 2:
        parser.error(f"{len(args.actors)} actor files: give one (both rackets) or two (one per racket)")
    if args.episodes < 1:
        parser.error(f"--episodes {args.episodes}: play at least 1")
    if not 0 <= args.seed < MAX_SEED:  # the rally of --gif plays seed + 1
        parser.error(f"--seed {args.seed}: must be from 0 to {MAX_SEED - 1}")
    if args.gif and args.gif.suffix.lower() != ".gif":
        parser.error(f"--gif {args.gif}: the animation is a GIF; name the file rally.gif, for example")
    if args.gif and any(args.gif.resolve() == p.resolve() for p in args.actors):
        parser.error(f"--gif {args.gif} is an actor file given to play: the animation would overwrite it")
    try:
        model_args = json.loads(args.model_args)
        if not isinstance(model_args, (list, dict)):
            raise ValueError("not a list or an object")
    except ValueError as err:
        parser.error(f"--model-args {args.model_args!r} is not a JSON list or object ({err})")
    try:
        actors = [load_with_class(p, args.model, model_args, args.joint, args.key) if args.model else
                  load_actor(p, args.activation, args.norm_after_activation, args.key, args.ignore)
                  for p in args.actors]  # fmt: skip
    except ActorFileError as err:
        print(f"tennis-play: {err}", file=sys.stderr)
        return 2
    for path, actor in zip(args.actors, actors):
        print(f"{path}: {actor.layout}" + "".join(f"\n  note: {n}" for n in actor.notes))
    sides = ["agent 0 (right racket)", "agent 1 (left racket)"][:: -1 if args.swap else 1]
    if len(actors) == 2:
        print(f"{args.actors[0]} plays {sides[0]}, {args.actors[1]} plays {sides[1]}")
    print(report(play_actors(actors, args.episodes, args.seed, args.swap), args.verbose))
    if args.gif:
        save_rally_gif(actors, args.gif, args.seed + 1, args.swap)
        print(f"rally: {args.gif}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
