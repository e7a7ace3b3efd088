"""MADDPG (Lowe et al. 2017), the method most course submissions use, as a baseline with HAPPOAgent's surface.

Two deterministic actors (the design's actor network, its mean as the action), one centralised critic per racket
on both rackets' observations and actions, a shared replay buffer, soft target updates, and decaying OU noise.
Hyperparameters follow a course submission's report (michaelarman/deepRL-tennis, `report.md`), not our tuning.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from buffer import split_env_step
from checkpoints import config_from_dict, load_checkpoint, save_checkpoint
from config_checks import AT_LEAST_ONE, HALF_OPEN_UNIT, LAYERS, NON_NEGATIVE, POSITIVE, SEED, UNIT, check_config
from networks import Actor, Critic, OUNoise, observations_by_match
from replay_buffer import ReplayBatch, ReplayBuffer

NUM_AGENTS, OBS_SIZE, ACTION_SIZE = 2, 24, 2
CHECKPOINT_FILE = "maddpg.pt"


@dataclass(frozen=True)
class MADDPGConfig:
    """MADDPG hyperparameters (the cited submission's values where it gives them)."""

    num_matches: int = 1
    """Matches played in parallel while training (the course plays one)."""
    buffer_size: int = 1_000_000
    """Transitions kept in the shared replay buffer."""
    batch_size: int = 128
    """Transitions per gradient step."""
    update_every: int = 4
    """Environment steps between two learning steps."""
    gamma: float = 0.99
    """Discount factor."""
    tau: float = 6e-2
    """Soft-update rate of the target networks."""
    actor_lr: float = 3e-4
    """Adam learning rate of each actor."""
    critic_lr: float = 3e-4
    """Adam learning rate of each critic."""
    critic_hidden: tuple[int, ...] = (1024, 512)
    """Hidden layer sizes of each critic."""
    ou_theta: float = 0.15
    """OU noise mean reversion (our choice: the standard DDPG value)."""
    ou_sigma: float = 0.2
    """OU noise scale (our choice: the standard DDPG value)."""
    noise_decay: float = 0.9999
    """The noise is multiplied by this after every step (our choice)."""
    noise_min: float = 0.01
    """Floor of the noise multiplier."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip of the critics."""
    seed: int = 0
    """Seed of torch and numpy."""

    def __post_init__(self) -> None:
        check_config(self, MADDPG_RULES)


MADDPG_RULES = dict(
    num_matches=AT_LEAST_ONE, buffer_size=AT_LEAST_ONE, batch_size=AT_LEAST_ONE, update_every=AT_LEAST_ONE, gamma=UNIT,
    tau=HALF_OPEN_UNIT, actor_lr=POSITIVE, critic_lr=POSITIVE, critic_hidden=LAYERS, ou_theta=NON_NEGATIVE,
    ou_sigma=NON_NEGATIVE, noise_decay=HALF_OPEN_UNIT, noise_min=UNIT, max_grad_norm=NON_NEGATIVE, seed=SEED,
)  # fmt: skip


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- tau * source + (1 - tau) * target, parameter by parameter."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters()):
            t.mul_(1.0 - tau).add_(s, alpha=tau)


def td_target(rewards: torch.Tensor, next_q: torch.Tensor, terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    """y = r + gamma (1 - terminated) Q'(s', mu'(s')): all (B,)."""
    return rewards + gamma * (1.0 - terminated) * next_q


class MADDPGAgent:
    """act() and step() take the arrays the environment gives: (2E, ...), like HAPPOAgent."""

    def __init__(self, config: MADDPGConfig | None = None) -> None:
        self.config = cfg = config if config is not None else MADDPGConfig()
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.actors = nn.ModuleList(Actor(OBS_SIZE, ACTION_SIZE, learn_std=False) for _ in range(NUM_AGENTS))
        joint = NUM_AGENTS * (OBS_SIZE + ACTION_SIZE)
        self.critics = nn.ModuleList(Critic(joint, cfg.critic_hidden) for _ in range(NUM_AGENTS))
        self.target_actors = copy.deepcopy(self.actors).requires_grad_(False)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.actor_optims = [torch.optim.Adam(a.body.parameters(), lr=cfg.actor_lr) for a in self.actors]
        self.critic_optims = [torch.optim.Adam(c.parameters(), lr=cfg.critic_lr) for c in self.critics]
        self.memory = ReplayBuffer(cfg.buffer_size, NUM_AGENTS, OBS_SIZE, ACTION_SIZE)
        self.noise: OUNoise | None = None
        self.noise_scale = 1.0
        self.steps = 0
        self.learn_steps = 0

    def act(self, states: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """states (2E, 24) -> actions (2E, 2) in [-1, 1]; training mode adds the decaying OU noise."""
        obs = observations_by_match(states, NUM_AGENTS, OBS_SIZE)  # (E, A, 24)
        with torch.no_grad():
            actions = torch.stack([actor(obs[:, k]) for k, actor in enumerate(self.actors)], dim=1).numpy()  # (E, A, 2)
        if not deterministic:
            if self.noise is None or self.noise.shape != actions.shape:
                self.noise = OUNoise(actions.shape, self.rng, self.config.ou_theta, self.config.ou_sigma)
            actions = actions + self.noise_scale * self.noise.sample()
        return np.clip(actions, -1.0, 1.0).reshape(-1, ACTION_SIZE).astype(np.float64)

    def step(self, states: np.ndarray, actions: np.ndarray, rewards: list, next_states: np.ndarray,
             dones: list, max_reached: list | None = None) -> dict | None:  # fmt: skip
        """Store every match's transition; learn every `update_every` steps once a batch is available."""
        cfg = self.config
        obs = np.asarray(states, dtype=np.float32).reshape(-1, NUM_AGENTS, OBS_SIZE)
        E = obs.shape[0]
        step = split_env_step(rewards, next_states, dones, max_reached, E, NUM_AGENTS, OBS_SIZE)
        # A timed-out step's next observation is already the next point's first (the environment resets itself), so
        # its bootstrap would come from the wrong state: such transitions are not stored (1 in 1,001 decisions).
        keep = ~step.truncated  # (E,)
        if keep.any():
            self.memory.add(obs[keep], np.asarray(actions, dtype=np.float32).reshape(E, NUM_AGENTS, ACTION_SIZE)[keep],
                            step.rewards[keep], step.next_obs[keep], step.terminated[keep].astype(np.float32))  # fmt: skip
        done = step.terminated | step.truncated  # (E,)
        if self.noise is not None and done.any():
            self.noise.state[done] = self.noise.mu
        self.noise_scale = max(cfg.noise_min, self.noise_scale * cfg.noise_decay)
        self.steps += 1
        if self.steps % cfg.update_every or len(self.memory) < cfg.batch_size:
            return None
        return self.learn(self.memory.sample(cfg.batch_size, self.rng))

    def _joint(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(B, A, 24), (B, A, 2) -> critic input (B, 52)."""
        return torch.cat([obs.flatten(1), actions.flatten(1)], dim=1)

    def learn(self, batch: ReplayBatch) -> dict:
        """One critic and one actor step per racket, then soft target updates."""
        cfg, metrics = self.config, {}
        with torch.no_grad():
            next_actions = torch.stack([a(batch.next_obs[:, k]) for k, a in enumerate(self.target_actors)], dim=1)
        for i in range(NUM_AGENTS):
            with torch.no_grad():
                next_q = self.target_critics[i](self._joint(batch.next_obs, next_actions)).squeeze(-1)
                y = td_target(batch.rewards[:, i], next_q, batch.terminated, cfg.gamma)
            critic_loss = (self.critics[i](self._joint(batch.obs, batch.actions)).squeeze(-1) - y).pow(2).mean()
            self.critic_optims[i].zero_grad()
            critic_loss.backward()
            nn.utils.clip_grad_norm_(self.critics[i].parameters(), cfg.max_grad_norm)
            self.critic_optims[i].step()
            own = self.actors[i](batch.obs[:, i])
            actions = torch.stack([own if k == i else batch.actions[:, k] for k in range(NUM_AGENTS)], dim=1)
            actor_loss = -self.critics[i](self._joint(batch.obs, actions)).mean()
            self.actor_optims[i].zero_grad()
            actor_loss.backward()
            self.actor_optims[i].step()
            metrics[f"critic_loss_{i}"], metrics[f"actor_loss_{i}"] = critic_loss.item(), actor_loss.item()
        soft_update(self.target_critics, self.critics, cfg.tau)
        soft_update(self.target_actors, self.actors, cfg.tau)
        self.learn_steps += 1
        metrics["noise_scale"] = self.noise_scale
        return metrics

    def save(self, directory: str | os.PathLike) -> Path:
        """Write actors and critics and the config atomically into `directory`."""
        state = {f"actor_{k}": a.state_dict() for k, a in enumerate(self.actors)}
        state.update({f"critic_{k}": c.state_dict() for k, c in enumerate(self.critics)})
        return save_checkpoint(directory, CHECKPOINT_FILE, state, asdict(self.config))

    @classmethod
    def load(cls, directory: str | os.PathLike, **overrides: object) -> MADDPGAgent:
        state, saved = load_checkpoint(directory, CHECKPOINT_FILE)
        agent = cls(replace(config_from_dict(MADDPGConfig, saved, Path(directory) / CHECKPOINT_FILE), **overrides))
        try:
            for k in range(NUM_AGENTS):
                agent.actors[k].load_state_dict(state[f"actor_{k}"])
                agent.critics[k].load_state_dict(state[f"critic_{k}"])
        except (KeyError, RuntimeError) as err:
            raise ValueError(f"{Path(directory) / CHECKPOINT_FILE} does not fit this agent's networks: {err}") from err
        agent.target_actors.load_state_dict(agent.actors.state_dict())
        agent.target_critics.load_state_dict(agent.critics.state_dict())
        return agent
