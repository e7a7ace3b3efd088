"""The README's cluster path on a real Ray cluster: two nodes on this machine's loopback address (made by
tests/loopback_cluster.py with Ray's own multi-node test utility), the sweep submitted with `ray job submit`, the
worker node killed while its trial trains, and Tune running that trial again to the end.
"""

import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("ray.tune", reason="Ray Tune is optional: pip install -r requirements-sweep.txt")
pytest.importorskip("ray.dashboard.modules.job", reason="ray job submit needs ray[default] (requirements-sweep.txt)")
RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env(tmp_path: Path) -> dict:
    token = tmp_path / "token"
    token.write_text(secrets.token_hex(32))
    return dict(
        os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", RAY_USAGE_STATS_ENABLED="0",
        RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token),  # the cluster's own token, as Ray recommends
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",  # keep 127.0.0.1 in the job too (see tests/loopback_cluster.py)
        # a busy 2-core machine starts Ray's agents and workers slowly: wait for them instead of failing
        RAY_agent_register_timeout_ms="180000", RAY_raylet_start_wait_time_s="180",
        RAY_worker_register_timeout_seconds="180", RAY_gcs_rpc_server_reconnect_timeout_s="180",
    )  # fmt: skip


def nodes(env: dict, gcs: str) -> list[dict]:
    run = subprocess.run([RAY, "list", "nodes", "--address", gcs, "--format", "json"], env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    try:
        return json.loads(run.stdout) if run.returncode == 0 else []
    except json.JSONDecodeError:  # "No resource in the cluster" while the head is starting
        return []


def wait_for(what: str, condition, timeout: float, *alive: subprocess.Popen) -> None:
    end = time.time() + timeout
    while not condition():
        assert time.time() < end, f"timed out after {timeout:.0f} s waiting for {what}"
        for node in alive:
            assert node.poll() is None, f"a Ray node exited while waiting for {what}: see {node.args}"
        time.sleep(2)


def trials_learning(temp_dir: Path) -> int:
    return sum(1 for p in temp_dir.glob("session_*/artifacts/**/runs/progress.jsonl") if p.read_text().count("\n") >= 1)


def test_a_sweep_submitted_as_a_job_survives_losing_a_worker_node(tmp_path):
    # Ray's socket paths must stay under 108 bytes: its session folder goes in a short one
    env, temp_dir, out = cluster_env(tmp_path), Path(tempfile.mkdtemp(prefix="ray", dir="/tmp")), tmp_path / "sweeps"
    log = (tmp_path / "cluster.log").open("w+")
    cluster = subprocess.Popen([sys.executable, str(ROOT / "tests" / "loopback_cluster.py"), str(free_port()),
                                str(temp_dir)], env=env, stdout=subprocess.PIPE, stderr=log, text=True)  # fmt: skip
    try:
        line = cluster.stdout.readline()
        assert line, "the cluster did not start: " + (log.seek(0) or log.read()[-3000:])
        addresses = json.loads(line)
        gcs, dashboard = addresses["gcs"], addresses["dashboard"]
        wait_for("two nodes", lambda: sum(n["state"] == "ALIVE" for n in nodes(env, gcs)) == 2, 180, cluster)
        assert {n["node_ip"] for n in nodes(env, gcs)} == {"127.0.0.1"}

        # the README's command; one trial per node (each node has one CPU)
        submit = subprocess.run(
            [RAY, "job", "submit", "--address", dashboard, "--working-dir", str(ROOT), "--no-wait", "--",
             "python", "bench/sweep.py", "--samples", "2", "--minutes", "0.25", "--grace-minutes", "0.25",
             "--cpus-per-trial", "1", "--out", str(out), "--name", "cluster"],
            env=env, capture_output=True, text=True, timeout=180)  # fmt: skip
        assert submit.returncode == 0, submit.stdout[-2000:] + submit.stderr[-2000:]
        job = re.search(r"raysubmit_[A-Za-z0-9]+", submit.stdout).group()  # the id without the colour codes around it

        wait_for("both trials to learn", lambda: trials_learning(temp_dir) >= 2, 180, cluster)
        cluster.send_signal(signal.SIGUSR1)  # the worker node dies with its trial
        wait_for("the worker node to be dead", lambda: any(n["state"] == "DEAD" for n in nodes(env, gcs)), 120, cluster)

        def job_status() -> str:  # "Job '...' succeeded" (or failed, stopped) once it has ended
            run = subprocess.run([RAY, "job", "status", "--address", dashboard, job], env=env, capture_output=True,
                                 text=True, timeout=120)  # fmt: skip
            return run.stdout.lower()

        def job_logs() -> str:
            return subprocess.run([RAY, "job", "logs", "--address", dashboard, job], env=env, capture_output=True,
                                  text=True, timeout=120).stdout  # fmt: skip

        try:
            wait_for("the job to end", lambda: any(s in job_status() for s in ("succeeded", "failed", "stopped")),
                     300, cluster)  # fmt: skip
        except AssertionError as err:
            raise AssertionError(f"{err}\n{job_logs()[-6000:]}") from None
        logs = job_logs()
        assert "succeeded" in job_status(), logs[-4000:]
        assert "after retrying" in logs  # Tune's own account: a trial errored and then finished

        with (out / "cluster" / "results.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 2, "every trial is in the results table"
        assert sorted(int(r["attempts"]) for r in rows) == [1, 2], "the killed node's trial was run again, once"
        for r in rows:  # and each trained: learning steps reported until its end
            assert int(r["learn_steps"]) >= 1 and float(r["train_seconds"]) > 0
    finally:
        if cluster.poll() is None:
            cluster.terminate()
            try:
                cluster.wait(60)
            except subprocess.TimeoutExpired:
                cluster.kill()
        shutil.copytree(temp_dir / "session_latest" / "logs", tmp_path / "ray-logs", dirs_exist_ok=True)  # to read
        shutil.rmtree(temp_dir, ignore_errors=True)
