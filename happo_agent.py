"""HAPPO (Kuba et al. 2021, arXiv 2109.11251) for the two rackets: act, step, learn, save, load.

Two actors (no parameter sharing) and one critic on the joint state. Each learning step draws a random order
of the agents; the first improves the clipped surrogate on its own ratio, every later one weights its surrogate
per sample by M, the product of the already-updated agents' new/old probability ratios (the paper's Eq. 10).
With `sequential_update=False` the same code is the MAPPO ablation: M = 1 for everyone (the order is then
irrelevant); `random_order=False` keeps the sequential update but always updates agent 0 first.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from buffer import Minibatch, RolloutBuffer, compute_gae, minibatch_indices, split_env_step
from checkpoints import config_from_dict, load_checkpoint, save_checkpoint
from config_checks import (
    AT_LEAST_ONE,
    HALF_OPEN_UNIT,
    LAYERS,
    NON_NEGATIVE,
    OPEN_UNIT,
    POSITIVE,
    SEED,
    UNIT,
    check_config,
)
from networks import Actor, Critic, finite_actions, gaussian_log_prob, observations_by_match, soft_update

NUM_AGENTS, OBS_SIZE, ACTION_SIZE = 2, 24, 2
CHECKPOINT_FILE = "happo.pt"


HAPPO_RULES = dict(
    num_matches=AT_LEAST_ONE, practice_matches=NON_NEGATIVE, update_every=AT_LEAST_ONE, buffer_steps=AT_LEAST_ONE,
    minibatch_size=AT_LEAST_ONE, minibatches_per_epoch=NON_NEGATIVE, epochs=AT_LEAST_ONE, actor_lr=POSITIVE,
    critic_lr=POSITIVE, lr_end_factor=HALF_OPEN_UNIT, lr_decay_iters=AT_LEAST_ONE, gamma=UNIT, gae_lambda=UNIT,
    clip=OPEN_UNIT, target_kl=NON_NEGATIVE, entropy_coef=NON_NEGATIVE, init_std=POSITIVE, std_end=NON_NEGATIVE,
    std_decay_iters=AT_LEAST_ONE, policy_average=UNIT, max_grad_norm=NON_NEGATIVE,
    target_tau=HALF_OPEN_UNIT, critic_hidden=LAYERS, obs_scale=POSITIVE, seed=SEED,
)  # fmt: skip


@dataclass(frozen=True)
class HAPPOConfig:
    """Every hyperparameter of the agent. `HAPPOConfig()` is the tuned default; `seed_design()` the starting design."""

    num_matches: int = 16
    """Scored matches played in parallel while training (E); every rally of every one counts as one episode."""
    practice_matches: int = 8
    """Extra, unscored simulator matches whose rallies are cut at random as by a timeout (tennis_core.TennisCore):
    practice at rallies that begin with the ball in flight. Their steps count as match steps."""
    update_every: int = 256
    """Decisions per match between two learning steps (seed_design's UPDATE_PER_STEP)."""
    buffer_steps: int = 256
    """Steps per match kept in the rollout buffer (BUFFER_SIZE); equal to update_every for on-policy PPO."""
    minibatch_size: int = 2048
    """Samples per gradient step (BATCH_SIZE); a sample is one match at one step."""
    minibatches_per_epoch: int = 0
    """Gradient steps per epoch; 0 means one full pass over the buffer."""
    epochs: int = 5
    """Passes over the data per agent per learning step (NUM_EPOCH)."""
    order_per_epoch: bool = False
    """Draw a new agent order at every epoch (seed_design) instead of once per learning step (HARL)."""
    sequential_update: bool = True
    """HAPPO's sequential update with the factor M; False gives the MAPPO ablation (M = 1 for every agent)."""
    random_order: bool = True
    """Draw the agents' update order at random (HAPPO); False always updates agent 0 first. Without the sequential
    update the order is irrelevant: with M = 1 no agent's update depends on another's."""
    actor_lr: float = 2e-3
    """Adam learning rate of each actor (ACTOR_LR)."""
    critic_lr: float = 2e-3
    """Adam learning rate of the critic (CRITIC_LR)."""
    lr_end_factor: float = 0.1
    """LinearLR end factor; the start factor is 1."""
    lr_decay_iters: int = 300
    """Learning steps over which LinearLR goes from 1 to lr_end_factor (total_iters)."""
    gamma: float = 0.99
    """Discount factor (GAMMA)."""
    gae_lambda: float = 0.95
    """GAE lambda (GAE_LAMBDA)."""
    clip: float = 0.2
    """PPO clip range of an agent's own ratio (the factor M is never clipped)."""
    target_kl: float = 0.02
    """Stop an agent's epochs early once its approximate KL exceeds this; 0 disables."""
    entropy_coef: float = 0.0
    """Weight of the policy entropy bonus."""
    init_std: float = 0.5
    """Initial standard deviation of the Gaussian policy (STD in training): high trains a mean action that recovers
    from more situations, low (the 'fast' config's 0.15) solves sooner."""
    learn_std: bool = True
    """Learn a state-independent log-std (reference code) instead of keeping init_std fixed; ignored with std_end."""
    std_end: float = 0.15
    """Anneal the std from init_std to this, log-linearly over std_decay_iters learning steps, then hold it (instead
    of learning it); 0 disables. Explores widely while the rally is learnt, then plays close to the evaluated mean."""
    std_decay_iters: int = 100
    """Learning steps over which the std goes from init_std to std_end."""
    policy_average: float = 0.1
    """Polyak averaging of the actors' weights (Nikishin et al. 2018): after each learning step an average moves this
    share of the way to the trained weights, and the mean action (checks, evaluation, saved agent) plays the average;
    0 disables. Smooths the update-to-update jitter of the rally's timing that a deterministic policy cannot hide."""
    max_grad_norm: float = 0.5
    """Gradient-norm clip for actors and critic; 0 disables."""
    normalize_advantages: bool = True
    """Standardise the advantages of each learning step."""
    value_norm: bool = True
    """Critic predicts returns standardised by running statistics (HARL's ValueNorm)."""
    normalize_rewards: bool = False
    """Divide the team rewards by the std of those in the buffer at this learning step (not a running statistic:
    the scale follows each buffer) before GAE (seed_design's reward normalisation)."""
    target_critic: bool = False
    """Next-state values for GAE come from a slowly updated copy of the critic (seed_design)."""
    target_tau: float = 0.01
    """Soft-update rate of the target critic per learning step."""
    critic_hidden: tuple[int, ...] = (128, 128)
    """Hidden layer sizes of the critic."""
    orthogonal_init: bool = True
    """Orthogonal initialisation (gain sqrt 2 hidden, 0.01 policy head, 1 value head)."""
    obs_scale: float = 0.1
    """Observations are multiplied by this before the networks see them (court coordinates reach about 12)."""
    seed: int = 0
    """Seed of torch, numpy and the simulator: the same seed gives the same curve."""

    def __post_init__(self) -> None:
        check_config(self, HAPPO_RULES)
        if self.buffer_steps % self.update_every:  # the buffer drops update_every steps at a time
            raise ValueError(f"invalid HAPPOConfig: buffer_steps={self.buffer_steps} must be a multiple of "
                             f"update_every={self.update_every}")  # fmt: skip

    @classmethod
    def seed_design(cls, **overrides: object) -> HAPPOConfig:
        """The design this project started from: one match, tiny learning rates, fixed std 0.01.

        Where it is silent: clip 0.2 (PPO's default), no gradient clipping, a critic with the actor's widths, no
        annealed std and no policy averaging."""
        design = dict(
            num_matches=1, update_every=128, buffer_steps=2048, minibatch_size=128, minibatches_per_epoch=1,
            epochs=8, order_per_epoch=True, actor_lr=5e-6, critic_lr=5e-5, lr_end_factor=0.5, lr_decay_iters=40000,
            gamma=0.99, gae_lambda=0.95, clip=0.2, target_kl=0.0, init_std=0.01, learn_std=False,
            normalize_advantages=False, value_norm=False, normalize_rewards=True, target_critic=True,
            orthogonal_init=False, critic_hidden=(128, 128, 128, 64, 64), obs_scale=1.0, max_grad_norm=0.0,
            practice_matches=0, std_end=0.0, policy_average=0.0,
        )  # fmt: skip
        return cls(**{**design, **overrides})

    @classmethod
    def named(cls, name: str, **overrides: object) -> HAPPOConfig:
        """'default', 'seed_design', 'seed_design_big_std' (the design with a bigger exploration std,
        0.1, picked by bench/compare.py --study design_std), 'fast' (a learnt std from 0.15 and no
        practice matches: quicker to solve, less robust to play), 'mappo' (the default without the sequential update)
        or 'fixed_order' (the default with agent 0 always updated first)."""
        variants: dict[str, dict] = {"default": {}, "fast": {"init_std": 0.15, "std_end": 0.0, "practice_matches": 0},
                                     "mappo": {"sequential_update": False}, "fixed_order": {"random_order": False}}
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:  # ou_sigma among them: PPO's ratio needs the density of the action taken, which OU noise hides
            raise ValueError(f"HAPPOConfig has no field {', '.join(map(repr, unknown))}; its fields are "
                             f"{', '.join(f.name for f in fields(cls))}")
        if name == "seed_design":
            return cls.seed_design(**overrides)
        if name == "seed_design_big_std":
            return cls.seed_design(**{"init_std": 0.1, **overrides})
        if name not in variants:
            raise ValueError(f"unknown config {name!r}; choose 'default', 'seed_design', 'seed_design_big_std', 'fast', "
                             "'mappo' or 'fixed_order'")
        return cls(**{**variants[name], **overrides})


class ValueNormalizer:
    """Running mean and variance of the critic's targets (parallel Welford update)."""

    def __init__(self) -> None:
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def update(self, x: np.ndarray) -> None:
        n, mean, var = x.size, float(x.mean()), float(x.var())
        delta, total = mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / max(self.var, 1e-8) ** 0.5

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * max(self.var, 1e-8) ** 0.5 + self.mean


def happo_surrogate_loss(log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor,
                         factor: torch.Tensor, clip: float) -> torch.Tensor:  # fmt: skip
    """-mean(M min(r A, clip(r, 1 - clip, 1 + clip) A)), r = exp(log_prob - old_log_prob): one agent's clipped surrogate
    with each sample weighted by HAPPO's M (Eq. 10), a constant that multiplies the whole clipped term. All (B,)."""
    ratio = (log_prob - old_log_prob).exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    return -(factor * surrogate).mean()


def annealed_log_std(cfg: HAPPOConfig, learn_steps: int) -> float:
    """log std after `learn_steps` learning steps: from log init_std to log std_end over std_decay_iters, then held."""
    progress = min(1.0, learn_steps / cfg.std_decay_iters)
    return (1 - progress) * np.log(cfg.init_std) + progress * np.log(cfg.std_end)


class HAPPOAgent:
    """Two racket actors and one critic. act() and step() take the arrays the environment gives: (2E, ...)."""

    def __init__(self, config: HAPPOConfig | None = None) -> None:
        self.config = cfg = config if config is not None else HAPPOConfig()
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.torch_rng = torch.Generator().manual_seed(cfg.seed)
        self.actors = nn.ModuleList(
            Actor(OBS_SIZE, ACTION_SIZE, cfg.init_std, cfg.learn_std and not cfg.std_end, orthogonal_init=cfg.orthogonal_init)
            for _ in range(NUM_AGENTS)
        )
        # a Polyak average of the trained actors, which plays the mean action (policy_average > 0)
        self.averaged = copy.deepcopy(self.actors).requires_grad_(False) if cfg.policy_average else None
        self.critic = Critic(NUM_AGENTS * OBS_SIZE, cfg.critic_hidden, cfg.orthogonal_init)
        self.target = copy.deepcopy(self.critic).requires_grad_(False) if cfg.target_critic else None
        self.value_norm = ValueNormalizer() if cfg.value_norm else None
        adam = dict(eps=1e-5, fused=True)  # one kernel per network: 4 times faster than the per-tensor loop here
        self.actor_optims = [torch.optim.Adam(a.parameters(), lr=cfg.actor_lr, **adam) for a in self.actors]
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr, **adam)
        schedule = dict(start_factor=1.0, end_factor=cfg.lr_end_factor, total_iters=cfg.lr_decay_iters)
        self.schedulers = [torch.optim.lr_scheduler.LinearLR(o, **schedule) for o in [*self.actor_optims, self.critic_optim]]
        self.buffer: RolloutBuffer | None = None  # sized by the first step(), from the number of matches
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.steps_since_learn = 0
        self.learn_steps = 0

    @property
    def mean_actors(self) -> nn.ModuleList:
        """The actors that play the mean action (checks, evaluation, the saved agent): the average, if one is kept."""
        return self.averaged if self.averaged is not None else self.actors

    # ------------------------------------------------------------------------------------------ acting
    def act(self, states: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """states (2E, 24), rows 2k and 2k+1 for match k -> actions (2E, 2) in [-1, 1].

        Deterministic mode plays the mean action and stores nothing; otherwise the trained actors' sample is kept for
        step(), with its log-probability under them (the behaviour policy of PPO's ratio).
        """
        obs = observations_by_match(states, NUM_AGENTS, OBS_SIZE).numpy()  # (E, A, 24) float32
        net_obs = obs * np.float32(self.config.obs_scale)
        # numpy, not torch, for the forward passes: see Actor.mean_numpy
        actors = self.mean_actors if deterministic else self.actors
        mean = np.stack([actor.mean_numpy(net_obs[:, k]) for k, actor in enumerate(actors)], axis=1)  # (E, A, 2)
        finite_actions(mean, self.learn_steps)
        if deterministic:
            return np.clip(mean, -1.0, 1.0).reshape(-1, ACTION_SIZE).astype(np.float64)
        with torch.no_grad():
            std = torch.stack([actor.std() for actor in self.actors]).numpy()[None]  # (1, A, 2)
            noise = torch.randn(mean.shape, generator=self.torch_rng).numpy()  # (E, A, 2)
        actions = mean + std * noise  # as sampled
        self._pending = (obs, actions, gaussian_log_prob(actions, mean, std))  # log-probs (E, A)
        return np.clip(actions, -1.0, 1.0).reshape(-1, ACTION_SIZE).astype(np.float64)

    def step(self, states: np.ndarray, actions: np.ndarray, rewards: list, next_states: np.ndarray,
             dones: list, max_reached: list) -> dict | None:  # fmt: skip
        """Store the transition of every match since the last act(); learn every `update_every` steps.

        rewards, dones, max_reached: 2E values as the environment lists them (env_info.max_reached says which done
        came from the step limit). Returns the learning metrics when this step triggered a learning step, else None.
        """
        if self._pending is None:
            raise RuntimeError("step() needs the act() call that chose these actions (in training mode)")
        obs, sampled, log_prob = self._pending
        self._pending = None
        E = obs.shape[0]
        if self.buffer is None:
            self.buffer = RolloutBuffer(self.config.buffer_steps, E, NUM_AGENTS, OBS_SIZE, ACTION_SIZE)
        if E != self.buffer.num_matches:
            raise ValueError(f"the agent trains on {self.buffer.num_matches} matches, got {E}")
        step = split_env_step(rewards, next_states, dones, max_reached, E, NUM_AGENTS, OBS_SIZE)
        self.buffer.add(obs, sampled, log_prob, step.rewards, step.terminated, step.truncated, step.next_obs)
        self.steps_since_learn += 1
        if self.steps_since_learn < self.config.update_every:
            return None
        metrics = self.learn()
        self.steps_since_learn = 0
        if self.buffer.size == self.buffer.capacity:
            self.buffer.drop_oldest(self.config.update_every)
        return metrics

    # ------------------------------------------------------------------------------------------ learning
    def learn(self) -> dict:
        """One HAPPO learning step on the buffer: actors in a random order, each weighted by M, then the critic.

        M for an agent's turn is the product, over the other agents already updated in this learning step, of
        pi_now / pi_start of their stored actions, pi_start being their policy when this learning step began (the
        paper's Eq. 10; with an on-policy buffer, the default, pi_start is the behaviour policy). With a new order at
        every epoch (order_per_epoch) an agent's later turns so see every change the others made in this learning step;
        an agent whose KL passed target_kl sits out the later rounds."""
        cfg = self.config
        batch, metrics = rollout_batch(self)
        rounds, epochs = (cfg.epochs, 1) if cfg.order_per_epoch else (1, cfg.epochs)
        start = [self._log_prob(k, batch.obs, batch.actions) for k in range(NUM_AGENTS)]  # (N,) each, pi_start
        updated, stopped = [], set()  # agents updated so far in this learning step; agents past target_kl
        for _ in range(rounds):
            shuffle = cfg.sequential_update and cfg.random_order
            order = self.rng.permutation(NUM_AGENTS) if shuffle else np.arange(NUM_AGENTS)
            for position, agent in enumerate(order):
                factor = torch.ones(batch.advantages.shape[0])  # Eq. 10: no grad, never clipped; 1 for the first agent
                for other in updated if cfg.sequential_update else []:  # and always for MAPPO
                    if other != agent:
                        factor = factor * torch.exp(self._log_prob(other, batch.obs, batch.actions) - start[other])
                if agent not in stopped:
                    stats, past_target = self._update_actor(agent, batch._replace(factor=factor), epochs)
                    metrics.update({f"{key}_{agent}": value for key, value in stats.items()})
                    stopped |= {agent} if past_target else set()
                if position == 1:
                    metrics.update(factor_mean=float(factor.mean()), factor_min=float(factor.min()),
                                   factor_max=float(factor.max()))  # fmt: skip
                updated += [] if agent in updated else [agent]
            metrics["order"] = [int(a) for a in order]
        metrics.update(self._update_critic(batch, cfg.epochs))
        self._end_learning_step()
        metrics["actor_lr"] = self.schedulers[0].get_last_lr()[0]
        return metrics

    def _update_actor(self, agent: int, batch: Minibatch, epochs: int) -> tuple[dict, bool]:
        """Clipped surrogate of one agent, each sample weighted by batch.factor (M); stops early on target_kl.
        Returns the statistics and whether the KL passed target_kl."""
        cfg, actor = self.config, self.actors[agent]
        losses, kls, clipped, epochs_run, past_target = [], [], [], 0, False
        for _ in range(epochs):
            epochs_run += 1
            for idx in self._minibatches(batch.advantages.shape[0]):
                dist = actor.distribution(batch.obs[idx, agent])
                log_prob, old_log_prob = dist.log_prob(batch.actions[idx, agent]), batch.old_log_prob[idx, agent]
                loss = happo_surrogate_loss(log_prob, old_log_prob, batch.advantages[idx], batch.factor[idx], cfg.clip)
                loss = loss - cfg.entropy_coef * dist.entropy().mean()
                self._descend(self.actor_optims[agent], actor, loss)
                with torch.no_grad():  # k3 estimator of KL(old || new), http://joschu.net/blog/kl-approx.html
                    log_ratio = log_prob - old_log_prob
                    ratio = log_ratio.exp()
                    kls.append(float(((ratio - 1) - log_ratio).mean()))
                    clipped.append(float(((ratio - 1).abs() > cfg.clip).float().mean()))
                losses.append(loss.item())
            past_target = bool(cfg.target_kl and kls[-1] > cfg.target_kl)
            if past_target:
                break
        stats = {"policy_loss": np.mean(losses), "approx_kl": np.mean(kls), "clip_frac": np.mean(clipped),
                 "std": actor.std().mean().item(), "epochs": epochs_run, "gradient_steps": len(kls)}  # fmt: skip
        return stats, past_target

    def _update_critic(self, batch: Minibatch, epochs: int) -> dict:
        targets = self.value_norm.normalize(batch.returns) if self.value_norm is not None else batch.returns
        losses = []
        for _ in range(epochs):
            for idx in self._minibatches(targets.shape[0]):
                loss = 0.5 * (self.critic(batch.states[idx]).squeeze(-1) - targets[idx]).pow(2).mean()
                self._descend(self.critic_optim, self.critic, loss)
                losses.append(loss.item())
        return {"value_loss": float(np.mean(losses))}

    def _descend(self, optim: torch.optim.Optimizer, network: nn.Module, loss: torch.Tensor) -> None:
        optim.zero_grad()
        loss.backward()
        if self.config.max_grad_norm:
            nn.utils.clip_grad_norm_(network.parameters(), self.config.max_grad_norm)
        optim.step()

    def _end_learning_step(self) -> None:
        """The schedules and averages that move once per learning step: learning rates, target critic, averaged
        actors, and the annealed std (between rollouts only, so that each rollout's log-probs are of its own std)."""
        cfg = self.config
        for scheduler in self.schedulers:
            scheduler.step()
        if self.target is not None:
            soft_update(self.target, self.critic, cfg.target_tau)
        self.learn_steps += 1
        if self.averaged is not None:
            soft_update(self.averaged, self.actors, cfg.policy_average)
        if cfg.std_end:
            for actor in self.actors:
                actor.log_std.data.fill_(annealed_log_std(cfg, self.learn_steps))

    def _values(self, critic: nn.Module, states: torch.Tensor) -> torch.Tensor:
        """Critic output in return units: states (..., 48) -> (...)."""
        v = critic(states).squeeze(-1)
        return self.value_norm.denormalize(v) if self.value_norm is not None else v

    def _log_prob(self, agent: int, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Joint log-probability of agent's actions under its current policy: obs (N, A, 24) -> (N,), no grad."""
        with torch.no_grad():
            return self.actors[agent].distribution(obs[:, agent]).log_prob(actions[:, agent])

    def _minibatches(self, n: int) -> list[np.ndarray]:
        batches = minibatch_indices(n, self.config.minibatch_size, self.rng)
        return batches[: self.config.minibatches_per_epoch] if self.config.minibatches_per_epoch else batches

    # ------------------------------------------------------------------------------------------ checkpoints
    def save(self, directory: str | os.PathLike) -> Path:
        """Write the mean action's actors, the critic and the config atomically into `directory` (save_happo)."""
        return save_happo(self, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike, **overrides: object) -> HAPPOAgent:
        """An agent with the weights and config saved in `directory`; config fields can be overridden (load_happo)."""
        return load_happo(directory, **overrides)


def rollout_batch(agent: HAPPOAgent) -> tuple[Minibatch, dict]:
    """All of the agent's stored samples, flattened (T, E) -> N, with advantages and critic targets from its critic."""
    cfg, buf = agent.config, agent.buffer
    T, E = buf.size, buf.num_matches
    obs = torch.from_numpy(buf.obs[:T]) * cfg.obs_scale  # (T, E, A, 24), as the networks see them
    states = obs.reshape(T, E, NUM_AGENTS * OBS_SIZE)  # (T, E, 48)
    next_states = torch.from_numpy(buf.next_obs()).reshape(T, E, NUM_AGENTS * OBS_SIZE) * cfg.obs_scale
    with torch.no_grad():
        values = agent._values(agent.critic, states).numpy()  # (T, E)
        next_values = agent._values(agent.target or agent.critic, next_states).numpy()
    buf.values[:T] = values
    truncated = buf.truncated[:T]
    next_values = np.where(truncated, values, next_values)  # the env swallowed a truncated step's last state
    advantages, returns = compute_gae(buf.team_rewards(cfg.normalize_rewards), values, next_values,
                                      buf.terminated[:T], truncated, cfg.gamma, cfg.gae_lambda)  # fmt: skip
    if agent.value_norm is not None:
        agent.value_norm.update(returns)
    explained = 1.0 - np.var(returns - values) / max(np.var(returns), 1e-12)
    adv = torch.as_tensor(advantages.reshape(-1), dtype=torch.float32)  # (N,)
    if cfg.normalize_advantages:
        adv = (adv - adv.mean()) / (adv.std() + 1e-5)
    batch = Minibatch(
        states=states.reshape(T * E, -1), obs=obs.reshape(T * E, NUM_AGENTS, OBS_SIZE),
        actions=torch.from_numpy(buf.actions[:T]).reshape(T * E, NUM_AGENTS, ACTION_SIZE),
        old_log_prob=torch.from_numpy(buf.log_prob[:T]).reshape(T * E, NUM_AGENTS), advantages=adv,
        returns=torch.as_tensor(returns.reshape(-1), dtype=torch.float32), factor=torch.ones(T * E),
    )  # fmt: skip
    return batch, {"explained_variance": float(explained)}


def save_happo(agent: HAPPOAgent, directory: str | os.PathLike) -> Path:
    """Write the weights of the actors that play the mean action (and the critic, value statistics) and the config
    atomically into `directory`."""
    state = {f"actor_{k}": a.state_dict() for k, a in enumerate(agent.mean_actors)}
    state["critic"] = agent.critic.state_dict()
    if agent.value_norm is not None:
        state["value_norm"] = torch.tensor([agent.value_norm.mean, agent.value_norm.var, agent.value_norm.count])
    return save_checkpoint(directory, CHECKPOINT_FILE, state, asdict(agent.config))


def load_happo(directory: str | os.PathLike, **overrides: object) -> HAPPOAgent:
    """An agent with the weights and config saved in `directory` (config fields can be overridden)."""
    state, saved = load_checkpoint(directory, CHECKPOINT_FILE)
    agent = HAPPOAgent(replace(config_from_dict(HAPPOConfig, saved, Path(directory) / CHECKPOINT_FILE), **overrides))
    try:
        for k, actor in enumerate(agent.actors):
            actor.load_state_dict(state[f"actor_{k}"])
        if agent.averaged is not None:  # the saved weights are the average: it plays them, training starts there
            agent.averaged.load_state_dict(agent.actors.state_dict())
        agent.critic.load_state_dict(state["critic"])
    except (KeyError, RuntimeError) as err:
        raise ValueError(f"{Path(directory) / CHECKPOINT_FILE} does not fit this agent's networks: {err}") from err
    if agent.value_norm is not None and "value_norm" in state:
        agent.value_norm.mean, agent.value_norm.var, agent.value_norm.count = state["value_norm"].tolist()
    if agent.target is not None:
        agent.target.load_state_dict(agent.critic.state_dict())
    return agent
