"""bench/solve.py's summary of a run: which evaluation misses came where no check looks."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evaluation import evaluate
from tennis_sim.core import TennisParams
from tennis_sim.environment import TennisEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))  # solve.py imports its sibling modules
spec = importlib.util.spec_from_file_location("solve", Path(__file__).resolve().parents[1] / "bench/solve.py")
solve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(solve)


def test_late_misses_are_those_of_a_matchs_third_and_later_rallies_in_the_notebooks_order():
    # As the notebook evaluates 60 episodes: 20 matches, 3 episodes each. Every rally times out after 4 decisions,
    # before the ball falls, so every rally but a match's first begins in flight: evaluate()'s order, match by match.
    env = TennisEnvironment(num_matches=20, seed=3, params=TennisParams(max_ticks=20))
    result = evaluate(lambda s: np.zeros((len(s), 2)), env, episodes_per_match=3)
    assert result.full_length.all() and result.in_flight.tolist() == [k % 3 >= 1 for k in range(60)]
    missed_in_flight = dict(scores=result.scores.tolist(), full_length=(~result.in_flight).tolist())
    assert solve._late_fails(missed_in_flight) == 20  # the third rally of each match; not the second
    assert solve._late_fails(dict(scores=[0.0] * 100, full_length=[True] * 100)) == 0
    assert solve._late_fails(dict(scores=[0.0] * 23, full_length=[False] * 23)) == 21  # 23 (prime): one match


def test_epochs_to_solve_averages_the_learning_steps_before_the_solve():
    h = {"config": {"update_every": 10, "num_matches": 3, "practice_matches": 1}, "epochs": [5, 3, 1, 1, 1]}
    assert solve.epochs_to_solve(h, 80) == 4.0  # 40 match steps per learning step: the first two came before the solve
    assert solve.epochs_to_solve(h, None) is None and solve.epochs_to_solve({"config": {}, "epochs": []}, 80) is None


def run_summary(env: dict) -> subprocess.CompletedProcess:
    script = Path(__file__).resolve().parents[1] / "bench" / "train_summary.py"
    return subprocess.run([sys.executable, str(script)], env={**os.environ, **env}, capture_output=True, text=True)


def test_make_trains_summary_reads_the_run_in_the_notebooks_output_folder(tmp_path):
    """TENNIS_OUTPUT_DIR sends the notebook's run elsewhere: the summary follows it; TENNIS_TRAIN=0 trains nothing."""
    evaluation = dict(average=2.6, scores=[2.6] * 10, ceiling=10, full_length=[True] * 10, in_flight=[False] * 10)
    history = dict(config={"update_every": 8, "num_matches": 2}, seed=3, scores=[0.6] * 100,
                   env_steps=list(range(2, 202, 2)), seconds=[0.1 * k for k in range(100)], solved_at=100,
                   checks=[], ceiling_at=None, train_seconds=10.0, epochs=[5.0], evaluation=evaluation)  # fmt: skip
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "history.json").write_text(json.dumps(history))
    done = run_summary({"TENNIS_OUTPUT_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "runs" / "train.json").read_text())
    assert (summary["seed"], summary["episodes"], summary["solved_at"]) == (3, 100, 100)
    quiet = run_summary({"TENNIS_OUTPUT_DIR": str(tmp_path / "elsewhere"), "TENNIS_TRAIN": "0"})
    assert quiet.returncode == 0 and "trained nothing" in quiet.stdout
    missing = run_summary({"TENNIS_OUTPUT_DIR": str(tmp_path / "elsewhere")})
    assert missing.returncode != 0 and f"no training history at {tmp_path / 'elsewhere' / 'runs' / 'history.json'}" in (
        missing.stderr)


def test_a_finished_seed_is_reused_only_under_the_same_settings_and_another_is_set_aside(tmp_path, monkeypatch):
    trained = []

    def fake_papermill(command, env, check):  # what the notebook leaves: a history of the settings it was given
        out = Path(env["TENNIS_OUTPUT_DIR"])
        (out / "runs").mkdir(parents=True, exist_ok=True)
        (out / "runs" / "history.json").write_text(json.dumps({"budget": env.get("TENNIS_MATCH_STEPS")}))
        trained.append(env.get("TENNIS_MATCH_STEPS"))

    monkeypatch.setattr(solve.subprocess, "run", fake_papermill)
    monkeypatch.setattr(solve, "_digest", lambda config, overrides: f"digest of {config} {overrides}")
    out = tmp_path / "seed_0"
    assert solve.run_seed("default", 0, out, "{}", {"TENNIS_MATCH_STEPS": "100"}) == {"budget": "100"}
    assert solve.run_seed("default", 0, out, "{}", {"TENNIS_MATCH_STEPS": "100"}) == {"budget": "100"}
    assert trained == ["100"]  # the same key: reused
    assert solve.run_seed("default", 0, out, "{}", {"TENNIS_MATCH_STEPS": "200"}) == {"budget": "200"}
    assert solve.run_seed("default", 0, out, '{"clip": 0.1}', {"TENNIS_MATCH_STEPS": "200"}) == {"budget": "200"}
    assert trained == ["100", "200", "200"]  # another budget, other overrides: trained again
    aside = sorted(p for p in tmp_path.iterdir() if p.name.startswith("seed_0.set-aside-"))
    assert [json.loads((a / "runs" / "history.json").read_text())["budget"] for a in aside] == ["100", "200"]
    assert not (tmp_path / "results").exists()


def test_notebook_settings_name_only_what_differs_from_the_notebook():
    assert solve.notebook_settings(None, None, 0.0, True) == {}
    assert solve.notebook_settings(2.5, 100, 0.5, False) == {"TENNIS_MINUTES": "2.5", "TENNIS_MATCH_STEPS": "100",
                                                            "TENNIS_STOP_AVERAGE": "0.5", "TENNIS_STOP_AT_CEILING": "0"}
    assert solve.notebook_settings(None, None, 0.0, True, check_every=80) == {"TENNIS_CHECK_EVERY": "80"}


def test_a_seed_folder_in_use_by_another_run_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(solve, "_digest", lambda config, overrides: "a digest")
    out = tmp_path / "seed_0"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
                               str(out / ".training.lock")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(SystemExit, match="is being trained by another process now"):
            solve.run_seed("default", 0, out, "{}", {})
        assert out.is_dir() and not any(p.name.startswith("seed_0.set-aside") for p in tmp_path.iterdir())
    finally:
        holder.kill()
        holder.wait()
    assert not solve.in_use_by_another_run(out)  # free once the other process is gone


def test_a_study_writes_results_and_figures_only_when_asked(tmp_path, monkeypatch, capsys):
    """bench/compare.py without --results prints its tables and leaves results/ and image/ alone; with it, writes
    the study's JSON (the command that reproduces it included) and CSV, and draws its figures."""
    spec = importlib.util.spec_from_file_location("compare", Path(__file__).resolve().parents[1] / "bench/compare.py")
    compare = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "compare", compare)  # its dataclasses look their module up there
    spec.loader.exec_module(compare)
    evaluation = dict(average=2.6, scores=[2.6] * 10, ceiling=10, full_length=[True] * 10, in_flight=[False] * 10)
    history = dict(config={"update_every": 8, "num_matches": 2}, seed=3, scores=[0.6] * 100, all_episodes=list(
        range(2, 202, 2)), env_steps=list(range(3, 303, 3)), seconds=[0.1 * k for k in range(100)], solved_at=100,
        checks=[], ceiling_at=None, train_seconds=10.0, epochs=[5.0], evaluation=evaluation, behaviour="d")  # fmt: skip
    study = compare.STUDIES["happo_mappo"]
    study = compare.Study(**{**study.__dict__, "seeds": (0,)})
    histories = {label: [history] for label in study.arms}
    monkeypatch.setattr(compare, "ROOT", tmp_path)
    compare.report("happo_mappo", study, histories, write=False)
    assert "| HAPPO | 1 of 1 |" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "results").mkdir()
    (tmp_path / "image").mkdir()
    compare.report("happo_mappo", study, histories, write=True)
    written = json.loads((tmp_path / "results" / "compare_happo_mappo.json").read_text())
    assert written["command"] == "bench/compare.py --study happo_mappo --seeds 0 --results"
    assert written["summary"]["HAPPO"]["episodes_all"]["median"] == 200  # practice rallies counted to the solve
    older = {label: [{k: v for k, v in history.items() if k != "all_episodes"}] for label in study.arms}
    compare.report("happo_mappo", study, older, write=True)  # runs trained before the count existed: unknown, not inf
    cell = json.loads((tmp_path / "results" / "compare_happo_mappo.json").read_text())["summary"]["HAPPO"]["episodes_all"]
    assert cell["median"] is None and cell["unknown"]
    assert {p.name for p in (tmp_path / "image").iterdir()} == {"compare_happo_mappo.png",
                                                                 "compare_happo_mappo_wallclock.png"}


def test_every_notebook_cell_a_benchmark_runs_has_a_bound_from_the_training_cap(tmp_path, monkeypatch):
    """A kernel that stops answering ends the run with papermill's error, not a wait without end: the bound is the
    run's own TENNIS_MINUTES (not this process's) plus an hour, and the notebook's default cap is the one assumed."""
    import settings

    parameters = next("".join(c["source"]) for c in json.loads((solve.ROOT / "Tennis.ipynb").read_text())["cells"]
                      if "parameters" in c.get("metadata", {}).get("tags", []))  # fmt: skip
    assert f'MINUTES = env_float("TENNIS_MINUTES", {settings.NOTEBOOK_MINUTES})' in parameters
    monkeypatch.setenv("TENNIS_MINUTES", "500")
    assert settings.cell_timeout_seconds() == 60 * 560 and settings.cell_timeout_seconds(2.5) == 60 * 62.5
    with pytest.raises(ValueError, match="a training cap of inf minutes is no bound"):
        settings.cell_timeout_seconds(float("inf"))
    monkeypatch.setattr(solve, "_digest", lambda config, overrides: "a digest")
    calls = []
    monkeypatch.setattr(solve.subprocess, "run", lambda args, **kw: calls.append(args))
    with pytest.raises(FileNotFoundError):  # no history: the fake papermill trained nothing
        solve.run_seed("default", 0, tmp_path / "seed_0", settings={"TENNIS_MINUTES": "5"})
    assert calls[0][calls[0].index("--execution-timeout") + 1] == str(60 * 65)
    with pytest.raises(FileNotFoundError):
        solve.run_seed("default", 0, tmp_path / "seed_1")
    assert calls[1][calls[1].index("--execution-timeout") + 1] == str(60 * 90)


@pytest.mark.parametrize("args, says", [(["--arms", "HAPO"], "--arms ['HAPO']: study happo_mappo has the arms"),
                                        (["--minutes", "0"], "--minutes 0: a budget must be positive")])
def test_a_study_refuses_arms_it_does_not_have_and_a_budget_of_nothing(args, says, tmp_path):
    done = subprocess.run([sys.executable, str(solve.ROOT / "bench" / "compare.py"), "--study", "happo_mappo", *args,
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and says in done.stderr and not any(tmp_path.iterdir())


def test_the_summary_of_a_run_that_was_not_evaluated_or_scored_no_episode(tmp_path):
    """make train with TENNIS_EVAL_EPISODES=0, or a budget too small for one episode, ends with a summary, not a
    traceback: the columns it cannot fill are empty."""
    history = dict(config={"update_every": 8, "num_matches": 2}, seed=3, scores=[], env_steps=[], seconds=[],
                   solved_at=None, checks=[], ceiling_at=None, train_seconds=1.0, epochs=[], evaluation=None)  # fmt: skip
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "history.json").write_text(json.dumps(history))
    done = run_summary({"TENNIS_OUTPUT_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "runs" / "train.json").read_text())
    assert summary["episodes"] is None and summary["eval_avg"] is None and summary["episodes_trained"] == 0


@pytest.mark.parametrize("script, args, says", [
    ("solve.py", ["--overrides", "notjson"], "argument --overrides: 'notjson' is not JSON"),
    ("evaluate.py", ["checkpoints", "--cut-matches", "-1"], "--cut-matches -1: must be at least 0"),
    ("evaluate.py", ["{maddpg}"], "no happo.pt there; this benchmark evaluates HAPPO agents"),
    ("contention.py", ["--busy", "0", "-1"], "a load is a number of busy processes, 0 or more"),
])  # fmt: skip
def test_benchmarks_refuse_bad_arguments_before_any_work_and_say_which(script, args, says, tmp_path):
    from maddpg_agent import MADDPGAgent, MADDPGConfig

    MADDPGAgent(MADDPGConfig(num_matches=1, critic_hidden=(8,))).save(tmp_path / "maddpg")
    args = [a.format(maddpg=tmp_path / "maddpg") for a in args]
    done = subprocess.run([sys.executable, str(solve.ROOT / "bench" / script), *args], cwd=solve.ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and says in done.stderr, done.stderr[-2000:]


def test_a_damaged_history_of_a_finished_seed_is_named_not_trained_over(tmp_path):
    (tmp_path / "history.json").write_text('{"scores": [0.1, 0.')
    with pytest.raises(SystemExit, match="history.json does not read as JSON .* move its folder aside"):
        solve.read_history_file(tmp_path / "history.json")


def test_a_digest_is_computed_once_per_configuration_and_source_across_commands(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(solve, "behaviour_digest", lambda config, overrides: calls.append(config) or f"d-{len(calls)}")
    monkeypatch.setattr(solve, "DIGESTS", tmp_path / "digests.json")
    monkeypatch.setattr(solve, "source_hash", lambda: "source-1")
    solve._digest.cache_clear()
    assert solve._digest("maddpg", "{}") == "d-1"
    solve._digest.cache_clear()  # the next command
    assert solve._digest("maddpg", "{}") == "d-1" and calls == ["maddpg"]
    monkeypatch.setattr(solve, "source_hash", lambda: "source-2")  # an edit to what training runs
    solve._digest.cache_clear()
    assert solve._digest("maddpg", "{}") == "d-2" and len(calls) == 2
    solve._digest.cache_clear()
    (tmp_path / "digests.json").write_text("{damaged")  # computed again, not a traceback
    assert solve._digest("maddpg", "{}") == "d-3"
    solve._digest.cache_clear()
