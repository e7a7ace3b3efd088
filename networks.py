"""Actor and critic networks, and the OU exploration noise of the MADDPG baseline."""

from __future__ import annotations

import math

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn
from torch.distributions import Independent, Normal

# Acting multiplies small matrices in numpy (Actor.mean_numpy). Threads of numpy's BLAS only add hand-over and
# spin-wait time there, and they take the 2 cores from the simulator's and torch's threads: 3.6 times slower
# evaluations were measured with 2 BLAS threads (bench/act_speed.py). Torch's own threads are not affected.
threadpool_limits(1, user_api="blas")


def observations_by_match(states: np.ndarray, num_agents: int = 2, obs_size: int = 24) -> torch.Tensor:
    """The environment's states (2E, 24), rows 2k and 2k+1 for match k, as a float32 tensor (E, 2, 24).

    Raises ValueError for another shape or for NaN / inf, so that bad input never reaches the networks."""
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf, rejected below
        states = np.asarray(states, dtype=np.float32)
    if states.ndim != 2 or states.shape[1] != obs_size or states.shape[0] % num_agents:
        raise ValueError(f"states must have shape (2E, {obs_size}) for E matches, got {states.shape}")
    if not np.isfinite(states).all():
        raise ValueError("states contain NaN or inf")
    return torch.from_numpy(states).view(-1, num_agents, obs_size)


def finite_actions(actions: np.ndarray, learn_steps: int) -> np.ndarray:
    """actions (E, A, 2) as given, or FloatingPointError naming the rackets whose actor gives NaN or inf: the
    training diverged, and the environment must not be the first to say so."""
    if not np.isfinite(actions).all():
        rackets = sorted({int(k) for k in np.argwhere(~np.isfinite(actions))[:, 1]})
        raise FloatingPointError(f"the actor of racket {rackets} gives NaN or inf actions after learning step "
                                 f"{learn_steps}: training diverged (a learning rate too large?); the best checked "
                                 "policy so far stays in the run's checkpoints folder")  # fmt: skip
    return actions


def layer_init(layer: nn.Linear, gain: float) -> nn.Linear:
    """Orthogonal weights with `gain`, zero bias (as the reference HAPPO/MAPPO code does)."""
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class Actor(nn.Module):
    """One racket's policy, exactly the layers of `HAPPOConfig.seed_design`:

    obs (..., 24) -> Linear 128 -> [Linear 128, ReLU] x 2 -> [Linear 64, ReLU] -> [Linear 64, ReLU] -> [Linear 2, Tanh]
    = mean (..., 2), around which a diagonal Gaussian samples the action. Its std is fixed (`init_std`) or a
    learnable, state-independent parameter, as in the reference code.
    """

    def __init__(self, obs_size: int = 24, action_size: int = 2, init_std: float = 0.5, learn_std: bool = True,
                 min_std: float = 1e-8, orthogonal_init: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(obs_size, 128),
            nn.Linear(128, 128), nn.ReLU(),
            nn.Linear(128, 128), nn.ReLU(),
            nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, action_size), nn.Tanh(),
        )  # fmt: skip
        if orthogonal_init:
            linears = [m for m in self.body if isinstance(m, nn.Linear)]
            for layer in linears[:-1]:
                layer_init(layer, math.sqrt(2.0))
            layer_init(linears[-1], 0.01)  # start near the zero action, as the reference code does
        log_std = torch.full((action_size,), math.log(init_std))
        self.log_std = nn.Parameter(log_std, requires_grad=learn_std)
        self.min_std = min_std
        self._numpy_layers: tuple | None = None  # (data_ptr of the first weight, [(W.T, b) views]) for mean_numpy

    def std(self) -> torch.Tensor:
        """(action_size,)"""
        return self.log_std.exp().clamp_min(self.min_std)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """obs (..., 24) -> mean action (..., 2) in [-1, 1]."""
        return self.body(obs)

    def mean_numpy(self, obs: np.ndarray) -> np.ndarray:
        """forward() in numpy for acting: obs float32 (B, 24) -> mean (B, 2). At acting's batch sizes (16-400 rows)
        torch's per-operation overhead is most of the time; numpy reads the same weights (shared memory, so always
        the current ones) about four times faster (`bench/act_speed.py`)."""
        first = self.body[0].weight
        if self._numpy_layers is None or self._numpy_layers[0] != first.data_ptr():  # new tensors (copy, deepcopy)
            layers = []
            for layer in self.body:
                if isinstance(layer, nn.Linear):
                    layers.append((layer.weight.detach().numpy().T, layer.bias.detach().numpy()))
                elif not isinstance(layer, (nn.ReLU, nn.Tanh)):
                    raise TypeError(f"mean_numpy does not know {layer}")
            self._numpy_layers = (first.data_ptr(), layers)
        x = obs
        *hidden, (w_out, b_out) = self._numpy_layers[1]
        x = x @ hidden[0][0] + hidden[0][1]  # seed_design's first layer has no activation
        for w, b in hidden[1:]:
            x = np.maximum(x @ w + b, 0.0)
        return np.tanh(x @ w_out + b_out)

    def distribution(self, obs: torch.Tensor) -> Independent:
        """The joint (diagonal) Gaussian over both action dimensions; its log_prob sums them."""
        mean = self.body(obs)
        return Independent(Normal(mean, self.std().expand_as(mean), validate_args=False), 1, validate_args=False)


def gaussian_log_prob(actions: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Joint log-density of a diagonal Gaussian, in numpy for acting (Actor.distribution gives the same for
    learning): actions, mean (..., D), std (..., D) broadcastable -> (...)."""
    z = (actions - mean) / std
    return (-0.5 * z * z - np.log(std) - np.float32(0.5 * math.log(2 * math.pi))).sum(-1)


class Critic(nn.Module):
    """The one global value network on the joint state (both rackets' observations): (..., 48) -> (..., 1)."""

    def __init__(self, state_size: int = 48, hidden: tuple[int, ...] = (256, 256), orthogonal_init: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        sizes = (state_size, *hidden)
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        layers.append(nn.Linear(sizes[-1], 1))
        self.body = nn.Sequential(*layers)
        if orthogonal_init:
            linears = [m for m in self.body if isinstance(m, nn.Linear)]
            for layer in linears[:-1]:
                layer_init(layer, math.sqrt(2.0))
            layer_init(linears[-1], 1.0)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """state (..., 48) -> value (..., 1)."""
        return self.body(state)


class OUNoise:
    """Ornstein-Uhlenbeck process, dx = theta (mu - x) dt + sigma dW with dt = 1: temporally correlated noise."""

    def __init__(self, shape: tuple[int, ...], rng: np.random.Generator, theta: float = 0.15, sigma: float = 0.2,
                 mu: float = 0.0) -> None:  # fmt: skip
        self.shape, self.rng = shape, rng
        self.theta, self.sigma, self.mu = theta, sigma, mu
        self.state = np.full(shape, mu)

    def reset(self) -> None:
        self.state = np.full(self.shape, self.mu)

    def sample(self) -> np.ndarray:
        self.state = self.state + self.theta * (self.mu - self.state) + self.sigma * self.rng.standard_normal(self.shape)
        return self.state.copy()


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- tau * source + (1 - tau) * target, parameter by parameter."""
    with torch.no_grad():  # one fused call over all parameters: this runs after every gradient step
        torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), tau)
