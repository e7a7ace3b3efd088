"""bench/compare.py's per-arm summary: the ratio of an arm's medians to the first arm's, where it means something."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from compare import ARM_COLUMNS, Study, summarise_arms  # noqa: E402
from stats import bootstrap_median_ratio  # noqa: E402


def row(steps: float | None, ceiling: int) -> dict:
    solved = steps is not None
    return {col: (None if not solved and col in ("seconds", "env_steps", "episodes", "episodes_all") else 1.0)
            for col in ARM_COLUMNS} | {"episodes": 10 if solved else None, "env_steps": steps, "eval_ceiling": ceiling}


def test_a_solved_arm_gets_its_ratio_to_the_first_for_the_time_to_solve_only():
    rows = {"first": [row(100, 0), row(200, 50), row(300, 90)], "second": [row(300, 10), row(400, 0), row(500, 100)]}
    summary = summarise_arms(Study(arms={}, seeds=(0, 1, 2), minutes=1.0), rows)
    ratio = summary["second"]["env_steps"]["ratio_to_first"]
    assert (ratio["median"], *ratio["ci95"]) == bootstrap_median_ratio([300, 400, 500], [100, 200, 300])
    assert ratio["median"] == 2.0  # 400 / 200
    assert all("ratio_to_first" in summary["second"][col] for col in ("seconds", "env_steps", "episodes", "episodes_all"))
    assert "ratio_to_first" not in summary["second"]["eval_ceiling"]  # a share at the ceiling is no duration
    assert "ratio_to_first" not in summary["first"]["env_steps"]


def test_no_ratio_when_a_run_did_not_solve():
    rows = {"first": [row(100, 0), row(None, 0)], "second": [row(300, 10), row(400, 0)]}
    summary = summarise_arms(Study(arms={}, seeds=(0, 1), minutes=1.0), rows)
    assert "ratio_to_first" not in summary["second"]["env_steps"] and "p_vs_first" in summary["second"]["env_steps"]
