"""The course's Unity ML-Agents 0.4 "Tennis" task: a vectorised simulator (`core`), the `unityagents`-style API
around it (`environment`), drawing (`render`), a PettingZoo view (`pettingzoo_env`) and a headless build that the real
`unityagents` client launches and drives over gRPC (`headless_build`), and `tennis-play`, which plays a course
student's saved actor on it (`course_actor`). See docs/tennis_environment.md."""

from tennis_sim.core import TennisCore, TennisParams
from tennis_sim.environment import TennisEnvironment, make_env

__all__ = ["TennisCore", "TennisParams", "TennisEnvironment", "make_env", "load_actor", "play_actors", "tennis_play"]
PLAYING = {"load_actor": "load_actor", "play_actors": "play_actors", "tennis_play": "main"}


def __getattr__(name: str):
    """tennis-play's functions, imported when first asked for: they load torch, which the simulator itself never
    imports (the package installs it for tennis-play)."""
    if name in PLAYING:
        from tennis_sim import course_actor

        return getattr(course_actor, PLAYING[name])
    raise AttributeError(f"module 'tennis_sim' has no attribute {name!r}")
