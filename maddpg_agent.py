"""MADDPG (Lowe et al. 2017), the method most course submissions use, as a baseline with HAPPOAgent's surface.

Two deterministic actors (the HAPPO actor network, its mean as the action), one centralised critic per racket
on both rackets' observations and actions, a shared replay buffer of every match's transitions, soft target updates,
and OU noise whose scale falls linearly. It gets what HAPPO gets: as many scored parallel matches, observations scaled
the same way, and on average two gradient steps per vector step (taken `gradient_steps` at a time). The defaults were
chosen by hand from a few trial runs on seed 0 (docs/experiments.md, MADDPG); bench/compare.py --study
maddpg_utd sweeps the gradient steps per match step.
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
from networks import Actor, Critic, OUNoise, finite_actions, observations_by_match, soft_update
from replay_buffer import ReplayBatch, ReplayBuffer

NUM_AGENTS, OBS_SIZE, ACTION_SIZE = 2, 24, 2
CHECKPOINT_FILE = "maddpg.pt"


@dataclass(frozen=True)
class MADDPGConfig:
    """MADDPG hyperparameters, sized for this machine like HAPPO's: as many matches, scaled observations."""

    num_matches: int = 16
    """Matches played in parallel while training (HAPPO's default)."""
    practice_matches: int = 0
    """Extra unscored matches cut at random moments, so that rallies also begin with the ball in flight (HAPPO plays 8;
    here none: every transition then comes from a scored match, and the gradient steps per transition stay high)."""
    buffer_size: int = 500_000
    """Transitions (one per match and step) kept in the shared replay buffer."""
    batch_size: int = 128
    """Transitions per gradient step."""
    learn_start: int = 10_000
    """Transitions in the buffer before the first gradient step."""
    update_every: int = 32
    """Vector steps (one step of every match) between two learning steps."""
    gradient_steps: int = 64
    """Gradient steps of every critic and actor per learning step; 2 x update_every is two per vector step."""
    gamma: float = 0.99
    """Discount factor."""
    tau: float = 0.02
    """Soft-update rate of the target networks, per gradient step."""
    actor_lr: float = 3e-4
    """Adam learning rate of each actor."""
    critic_lr: float = 1e-3
    """Adam learning rate of each critic."""
    critic_hidden: tuple[int, ...] = (256, 128)
    """Hidden layer sizes of each critic."""
    obs_scale: float = 0.1
    """Observations are multiplied by this before any network (HAPPO's value: the raw ones reach about 30)."""
    ou_theta: float = 0.15
    """OU noise mean reversion (the standard DDPG value)."""
    ou_sigma: float = 0.2
    """OU noise scale (the standard DDPG value)."""
    noise_start: float = 1.0
    """Multiplier of the OU noise at the first step."""
    noise_end: float = 0.1
    """Multiplier of the OU noise from `noise_decay_steps` on; it falls linearly until then."""
    noise_decay_steps: int = 500_000
    """Match steps over which the noise multiplier falls from noise_start to noise_end."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip of the critics (0: none)."""
    seed: int = 0
    """Seed of torch and numpy."""

    def __post_init__(self) -> None:
        check_config(self, MADDPG_RULES)
        if self.buffer_size < max(self.batch_size, self.learn_start):  # it would fill and never learn
            raise ValueError(f"buffer_size={self.buffer_size} must hold at least batch_size={self.batch_size} and "
                             f"learn_start={self.learn_start} transitions, or learning never starts")  # fmt: skip


MADDPG_RULES = dict(
    num_matches=AT_LEAST_ONE, practice_matches=NON_NEGATIVE, buffer_size=AT_LEAST_ONE, batch_size=AT_LEAST_ONE,
    learn_start=NON_NEGATIVE, update_every=AT_LEAST_ONE, gradient_steps=AT_LEAST_ONE, gamma=UNIT, tau=HALF_OPEN_UNIT,
    actor_lr=POSITIVE, critic_lr=POSITIVE, critic_hidden=LAYERS, obs_scale=POSITIVE, ou_theta=NON_NEGATIVE,
    ou_sigma=NON_NEGATIVE, noise_start=NON_NEGATIVE, noise_end=NON_NEGATIVE, noise_decay_steps=AT_LEAST_ONE,
    max_grad_norm=NON_NEGATIVE, seed=SEED,
)  # fmt: skip


def td_target(rewards: torch.Tensor, next_q: torch.Tensor, terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    """y = r + gamma (1 - terminated) Q'(s', mu'(s')): all (B,)."""
    return rewards + gamma * (1.0 - terminated) * next_q


class MADDPGAgent:
    """act() and step() take the arrays the environment gives: (2E, ...), like HAPPOAgent."""

    @property
    def resume_stride(self) -> int:
        """Resume files come every this many times RunLimits.resume_every learning steps, so as often in decisions as
        HAPPO's (256 per learning step): the file holds the replay buffer, up to about 200 MB."""
        return max(1, round(256 / self.config.update_every))

    def __init__(self, config: MADDPGConfig | None = None) -> None:
        self.config = cfg = config if config is not None else MADDPGConfig()
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.actors = nn.ModuleList(Actor(OBS_SIZE, ACTION_SIZE, learn_std=False) for _ in range(NUM_AGENTS))
        joint = NUM_AGENTS * (OBS_SIZE + ACTION_SIZE)
        self.critics = nn.ModuleList(Critic(joint, cfg.critic_hidden) for _ in range(NUM_AGENTS))
        self.target_actors = copy.deepcopy(self.actors).requires_grad_(False)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.actor_optims = [torch.optim.Adam(a.body.parameters(), lr=cfg.actor_lr, fused=True) for a in self.actors]
        self.critic_optims = [torch.optim.Adam(c.parameters(), lr=cfg.critic_lr, fused=True) for c in self.critics]
        self.memory = ReplayBuffer(cfg.buffer_size, NUM_AGENTS, OBS_SIZE, ACTION_SIZE)
        self.noise: OUNoise | None = None
        self.steps = 0  # vector steps
        self.match_steps = 0
        self.learn_steps = 0

    @property
    def noise_scale(self) -> float:
        """The OU noise multiplier: noise_start falling linearly to noise_end over noise_decay_steps match steps."""
        cfg = self.config
        left = max(0.0, 1.0 - self.match_steps / cfg.noise_decay_steps)
        return cfg.noise_end + (cfg.noise_start - cfg.noise_end) * left

    def act(self, states: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """states (2E, 24) -> actions (2E, 2) in [-1, 1]; training mode adds the scheduled OU noise."""
        obs = observations_by_match(states, NUM_AGENTS, OBS_SIZE) * self.config.obs_scale  # (E, A, 24)
        with torch.no_grad():
            actions = torch.stack([actor(obs[:, k]) for k, actor in enumerate(self.actors)], dim=1).numpy()  # (E, A, 2)
        finite_actions(actions, self.learn_steps)
        if not deterministic:
            if self.noise is None or self.noise.shape != actions.shape:
                self.noise = OUNoise(actions.shape, self.rng, self.config.ou_theta, self.config.ou_sigma)
            actions = actions + self.noise_scale * self.noise.sample()
        return np.clip(actions, -1.0, 1.0).reshape(-1, ACTION_SIZE).astype(np.float64)

    def step(self, states: np.ndarray, actions: np.ndarray, rewards: list, next_states: np.ndarray,
             dones: list, max_reached: list) -> dict | None:  # fmt: skip
        """Store every match's transition; every `update_every` steps, once `learn_start` transitions are stored,
        take `gradient_steps` gradient steps and return their mean metrics."""
        cfg = self.config
        obs = np.asarray(states, dtype=np.float32).reshape(-1, NUM_AGENTS, OBS_SIZE)
        E = obs.shape[0]
        step = split_env_step(rewards, next_states, dones, max_reached, E, NUM_AGENTS, OBS_SIZE)
        # A timed-out step's next observation is already the next point's first (the environment resets itself), so
        # its bootstrap would come from the wrong state: such transitions are not stored (1 in 1,001 decisions).
        keep = ~step.truncated  # (E,)
        if keep.any():
            scale = np.float32(cfg.obs_scale)
            acts = np.asarray(actions, dtype=np.float32).reshape(E, NUM_AGENTS, ACTION_SIZE)  # (E, A, 2)
            if not np.isfinite(acts).all():  # a replayed NaN would poison every later gradient step
                raise ValueError("actions contain NaN or inf: refused before they reach the replay buffer")
            self.memory.add(obs[keep] * scale, acts[keep], step.rewards[keep], step.next_obs[keep] * scale,
                            step.terminated[keep].astype(np.float32))  # fmt: skip
        done = step.terminated | step.truncated  # (E,)
        if self.noise is not None and done.any():
            self.noise.state[done] = self.noise.mu
        self.steps += 1
        self.match_steps += E
        if self.steps % cfg.update_every or len(self.memory) < max(cfg.batch_size, cfg.learn_start):
            return None
        steps = [self.gradient_step(self.memory.sample(cfg.batch_size, self.rng)) for _ in range(cfg.gradient_steps)]
        self.learn_steps += 1
        return {**{k: float(np.mean([m[k] for m in steps])) for k in steps[0]}, "noise_scale": self.noise_scale}

    def _joint(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(B, A, 24), (B, A, 2) -> critic input (B, 52)."""
        return torch.cat([obs.flatten(1), actions.flatten(1)], dim=1)

    def gradient_step(self, batch: ReplayBatch) -> dict:
        """One critic and one actor step per racket on scaled observations, then soft target updates."""
        cfg, metrics = self.config, {}
        with torch.no_grad():
            next_actions = torch.stack([a(batch.next_obs[:, k]) for k, a in enumerate(self.target_actors)], dim=1)
            next_joint = self._joint(batch.next_obs, next_actions)  # (B, 52)
        joint = self._joint(batch.obs, batch.actions)  # (B, 52)
        for i in range(NUM_AGENTS):
            with torch.no_grad():
                y = td_target(batch.rewards[:, i], self.target_critics[i](next_joint).squeeze(-1), batch.terminated,
                              cfg.gamma)  # (B,)
            critic_loss = (self.critics[i](joint).squeeze(-1) - y).pow(2).mean()
            self.critic_optims[i].zero_grad()
            critic_loss.backward()
            if cfg.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(self.critics[i].parameters(), cfg.max_grad_norm)
            self.critic_optims[i].step()
            own = self.actors[i](batch.obs[:, i])  # (B, 2)
            actions = torch.stack([own if k == i else batch.actions[:, k] for k in range(NUM_AGENTS)], dim=1)
            actor_loss = -self.critics[i](self._joint(batch.obs, actions)).mean()
            self.actor_optims[i].zero_grad()
            actor_loss.backward()  # the critic's gradients from here are cleared at its next zero_grad
            self.actor_optims[i].step()
            metrics[f"critic_loss_{i}"], metrics[f"actor_loss_{i}"] = critic_loss.item(), actor_loss.item()
        soft_update(self.target_critics, self.critics, cfg.tau)
        soft_update(self.target_actors, self.actors, cfg.tau)
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
