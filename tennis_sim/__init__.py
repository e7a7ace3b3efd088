"""The course's Unity ML-Agents 0.4 "Tennis" task: a vectorised simulator (`core`), the `unityagents`-style API
around it (`environment`), drawing (`render`), a PettingZoo view (`pettingzoo_env`) and a headless build that the real
`unityagents` client launches and drives over gRPC (`headless_build`). See docs/tennis_environment.md."""

from tennis_sim.core import TennisCore, TennisParams
from tennis_sim.environment import TennisEnvironment, make_env

__all__ = ["TennisCore", "TennisParams", "TennisEnvironment", "make_env"]
