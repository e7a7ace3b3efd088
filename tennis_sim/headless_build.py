"""A headless Tennis build: the program `unityagents.UnityEnvironment(file_name=...)` launches in place of the Unity
player, with this package's simulator as its physics.

The course's client (unityagents 0.4) starts a gRPC server on port 5005 + worker_id, launches
`<file_name>.x86_64 [-nographics -batchmode] --port N` and waits for the player to call it. The player is the gRPC
client; every call is `UnityToExternal.Exchange(UnityMessage) -> UnityMessage` (ML-Agents API-4):

1. the player sends the academy's parameters (name, version "API-4", the external brain `TennisBrain`) and gets the
   client's seed back;
2. the player sends an empty message and gets the first command back;
3. from then on the player answers each command (STEP with one action per agent, RESET, QUIT) with the agents'
   infos (observation, reward, done, max_step_reached, stored action) and the academy's `global_done`, and gets the
   next command back. A reply with header status 400 (the client's `close()`), QUIT, or a broken connection (the
   client died) ends the build.

`tennis-headless-build --write DIR` writes the launcher `DIR/Tennis.x86_64` that the client can be pointed at; the
launcher runs this module with the Python that wrote it. The protocol classes come from the `unityagents` install
(its `communicator_objects` package), which is where the client that talks to this build lives anyway.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from tennis_sim.core import ACTION_SIZE, FRAME_SIZE, NUM_STACKED, TennisCore
from tennis_sim.environment import (
    ACADEMY_NAME,
    BRAIN_NAME,
    MAX_SEED,
    UNITY_INSTALL_HINT,
    to_wire_floats,
)
from tennis_sim.files import write_atomically

API_VERSION = "API-4"
STATUS_OK, STATUS_CLOSE = 200, 400
COMMAND_STEP, COMMAND_RESET, COMMAND_QUIT = 0, 1, 2
BRAIN_TYPE_EXTERNAL, SPACE_CONTINUOUS = 2, 1
CONNECT_SECONDS = 60.0  # the client starts its server after launching us; it gives up itself after 30 s
LAUNCHER_NAME = "Tennis.x86_64"


def _protocol():
    try:
        import communicator_objects as proto
        import grpc
    except ImportError as err:
        raise SystemExit(f"the headless Tennis build speaks the unityagents 0.4 protocol and needs that package and "
                         f"grpcio ({err}); install them with: {UNITY_INSTALL_HINT}") from None  # fmt: skip
    return proto, grpc


def _exit_when_orphaned(poll_seconds: float = 0.5) -> None:
    """End this build (SIGTERM to itself) once the client that launched it is gone, even if the connection lingers.
    The parent's pid is polled: Linux's PR_SET_PDEATHSIG fires when the *thread* that started the build exits, which
    killed a build that a worker thread of a living client had launched."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-when-orphaned", daemon=True).start()


def _academy_parameters(proto):
    brain = proto.BrainParametersProto(
        vector_observation_size=FRAME_SIZE, num_stacked_vector_observations=NUM_STACKED, vector_action_size=ACTION_SIZE,
        vector_action_descriptions=[""] * ACTION_SIZE, vector_action_space_type=SPACE_CONTINUOUS,
        vector_observation_space_type=SPACE_CONTINUOUS, brain_name=BRAIN_NAME, brain_type=BRAIN_TYPE_EXTERNAL)  # fmt: skip
    return proto.UnityRLInitializationOutput(name=ACADEMY_NAME, version=API_VERSION, log_path="", brain_parameters=[brain],
                                             environment_parameters=proto.EnvironmentParametersProto())  # fmt: skip


def _agent_infos(proto, core: TennisCore, result: tuple):
    """UnityRLOutput for the core's (observations (E, 2, 24), rewards (E, 2), done (E,), max_reached (E,))."""
    obs, reward, done, max_reached = result
    n = 2 * core.num_matches
    obs, reward = obs.reshape(n, -1), reward.reshape(n)
    stored = core.last_actions.reshape(n, -1)
    done2, max2 = np.repeat(done, 2), np.repeat(max_reached, 2)
    out = proto.UnityRLOutput(global_done=core.global_done)
    out.agentInfos[BRAIN_NAME].value.extend(
        proto.AgentInfoProto(stacked_vector_observation=obs[i].tolist(), stored_vector_actions=stored[i].tolist(),
                             reward=float(reward[i]), done=bool(done2[i]), max_step_reached=bool(max2[i]), id=i)
        for i in range(n))  # fmt: skip
    return out


def _actions(rl_input, core: TennisCore) -> tuple[np.ndarray, bool]:
    """(E, 2, 2) from the STEP command, and whether every action sent was finite; an agent without an action keeps
    its stored one, as in Unity."""
    actions = core.last_actions.copy().reshape(2 * core.num_matches, ACTION_SIZE)
    sent = rl_input.agent_actions[BRAIN_NAME].value if BRAIN_NAME in rl_input.agent_actions else []
    finite = all(np.isfinite(a.vector_actions).all() for a in sent)
    for i, action in enumerate(sent[: len(actions)]):
        if len(action.vector_actions) == ACTION_SIZE:
            actions[i] = action.vector_actions
    # unityagents passes NaN on unchecked; the simulator takes no NaN, so a NaN action means "stand still"
    actions = to_wire_floats(np.nan_to_num(actions, nan=0.0))
    return actions.reshape(core.num_matches, 2, ACTION_SIZE), finite


def serve(port: int, matches: int = 1, host: str = "localhost") -> None:
    """Play Tennis for the unityagents client listening on host:port until it closes, quits or dies."""
    proto, grpc = _protocol()
    channel = grpc.insecure_channel(f"{host}:{port}")
    exchange = proto.UnityToExternalStub(channel).Exchange

    def send(output=None, status: int = STATUS_OK, **call):
        message = proto.UnityMessage(header=proto.Header(status=status))
        if output is not None:
            message.unity_output.CopyFrom(output)
        return exchange(message, **call)

    core = None
    try:
        reply = send(proto.UnityOutput(rl_initialization_output=_academy_parameters(proto)),
                     wait_for_ready=True, timeout=CONNECT_SECONDS)  # fmt: skip
        seed = reply.unity_input.rl_initialization_input.seed % (MAX_SEED + 1)  # Unity takes any int32
        core = TennisCore(num_matches=matches, seed=seed)
        warned_nan = False  # a NaN action is said once per build
        reply = send()  # the first command comes back
        while reply.header.status == STATUS_OK:
            rl_input = reply.unity_input.rl_input
            if rl_input.command == COMMAND_QUIT:
                break
            if rl_input.command == COMMAND_RESET:
                E = core.num_matches
                result = (core.reset(), np.zeros((E, 2)), np.zeros(E, dtype=bool), np.zeros(E, dtype=bool))
            else:
                actions, finite = _actions(rl_input, core)
                if not warned_nan and not finite:
                    print("tennis-headless-build: NaN actions are played as 0 (stand still) and infinite ones as -1 or "
                          "+1, as every action is clipped, now and later; the simulator's own API (tennis_sim.make_env) "
                          "refuses them", file=sys.stderr, flush=True)  # fmt: skip
                    warned_nan = True
                result = core.step(actions)
            reply = send(proto.UnityOutput(rl_output=_agent_infos(proto, core, result)))
    except grpc.RpcError as err:  # the client went away: a build has no one left to play for
        if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED and core is None:  # it never came
            raise SystemExit(f"tennis-headless-build: no unityagents client answered on {host}:{port} within "
                             f"{CONNECT_SECONDS:.0f} s; the client launches this build itself: "
                             "UnityEnvironment(file_name=...)") from None  # fmt: skip
    finally:
        channel.close()


def write_launcher(directory: str | os.PathLike, matches: int = 1) -> Path:
    """DIR/Tennis.x86_64: a launcher that runs this build with this Python, for `UnityEnvironment(file_name=...)`."""
    if matches < 1:
        raise ValueError(f"matches must be at least 1, got {matches}")
    target = Path(directory) / LAUNCHER_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    package_parent = Path(__file__).resolve().parent.parent
    script = ("#!/bin/sh\n"
              "# Headless Tennis build (tennis_sim): the simulator speaking ML-Agents API-4 to the unityagents client.\n"
              f"PYTHONPATH={shlex.quote(str(package_parent))}${{PYTHONPATH:+:$PYTHONPATH}} exec "
              f"{shlex.quote(sys.executable)} -m tennis_sim.headless_build --matches {int(matches)} \"$@\"\n")  # fmt: skip
    write_atomically(target, script.encode(), mode=0o777)  # a link planted there is replaced, never written through
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="tennis-headless-build")
    parser.add_argument("--port", type=int, help="the unityagents client's port (5005 + worker_id); set by the client")
    parser.add_argument("--matches", type=int, default=1, help="arenas in the scene: 2 x matches agents (default 1)")
    parser.add_argument("--write", metavar="DIR", help=f"write the launcher DIR/{LAUNCHER_NAME} and exit")
    args, _unity_flags = parser.parse_known_args(argv)  # -nographics, -batchmode, ...: a headless build has no screen
    if args.matches < 1:
        parser.error(f"--matches must be at least 1, got {args.matches}")
    if args.write:
        print(write_launcher(args.write, args.matches))
        return
    if args.port is None or not 0 < args.port < 65536:
        parser.error(f"--port must be a TCP port (1-65535), got {args.port}; the unityagents client passes it")
    _exit_when_orphaned()
    serve(args.port, args.matches)


if __name__ == "__main__":
    main()
