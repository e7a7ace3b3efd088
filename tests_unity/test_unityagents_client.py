"""The real `unityagents` 0.4 client drives the headless build, and gets what the direct API gives.

unityagents 0.4 keeps its gRPC pipe on the class, so a process can open one environment after another only until
the first close(); every check that opens one runs in a fresh Python process (`in_fresh_client`).
"""

import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

np.float_ = getattr(np, "float_", np.float64)  # noqa: NPY001 -- unityagents 0.4 names it; absent in numpy 2
from unityagents import UnityActionException as ClientActionException  # noqa: E402
from unityagents import UnityEnvironment  # noqa: E402

from tennis_sim.environment import BRAIN_NAME, TennisEnvironment, UnityActionException  # noqa: E402


def in_fresh_client(check, build_dir, port) -> None:
    code = (f"import sys, pathlib; sys.path[:0] = [{str(pathlib.Path(__file__).parent)!r}]; "
            f"import test_unityagents_client as t; t.{check.__name__}(pathlib.Path({str(build_dir)!r}), {port})")  # fmt: skip
    done = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", code], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, f"{check.__name__} failed in its client process:\n{done.stderr[-6000:]}"


FIELDS = ("vector_observations", "rewards", "local_done", "max_reached", "previous_vector_actions")


def open_build(build_dir, port, name="Tennis_Linux", **kwargs) -> UnityEnvironment:
    return UnityEnvironment(file_name=str(build_dir / name / "Tennis"), base_port=port, **kwargs)


def same(direct, remote, where):
    for field in FIELDS:
        a, b = getattr(direct, field), getattr(remote, field)
        assert type(a) is type(b), f"{where}: {field} is {type(a)} directly, {type(b)} through unityagents"
        assert np.array_equal(np.asarray(a), np.asarray(b)), f"{where}: {field} differs"
    assert np.asarray(direct.vector_observations).dtype == np.asarray(remote.vector_observations).dtype


def test_brain_shapes_and_types_are_those_of_the_direct_api(build_dir, port):
    in_fresh_client(check_brain_shapes_and_types_are_those_of_the_direct_api, build_dir, port)


def check_brain_shapes_and_types_are_those_of_the_direct_api(build_dir, port):
    remote = open_build(build_dir, port, seed=11, no_graphics=True)  # also with -nographics -batchmode
    try:
        direct = TennisEnvironment(seed=11)
        assert remote.academy_name == direct.academy_name == "Academy"
        assert remote.brain_names == direct.brain_names == [BRAIN_NAME]
        assert remote.external_brain_names == [BRAIN_NAME] and remote.number_external_brains == 1
        rb, db = remote.brains[BRAIN_NAME], direct.brains[BRAIN_NAME]
        assert str(rb) == str(db)
        for attr in ("vector_observation_space_size", "num_stacked_vector_observations", "camera_resolutions",
                     "vector_action_space_size", "vector_action_descriptions", "vector_action_space_type",
                     "vector_observation_space_type", "number_visual_observations"):  # fmt: skip
            assert getattr(rb, attr) == getattr(db, attr), attr
        assert remote.global_done is None and direct.global_done is None
        r, d = remote.reset(train_mode=True)[BRAIN_NAME], direct.reset(train_mode=True)[BRAIN_NAME]
        assert r.vector_observations.shape == (2, 24) and r.vector_observations.dtype == np.float64
        assert r.visual_observations == d.visual_observations == [] and r.memories.shape == d.memories.shape == (0, 0)
        assert r.text_observations == d.text_observations and r.agents == d.agents == [0, 1]
        same(d, r, "reset")
        with pytest.raises(ClientActionException, match="mismatch"):
            remote.step(np.zeros((1, 3)))
        with pytest.raises(UnityActionException, match="mismatch"):
            direct.step(np.zeros((1, 3)))
        with pytest.raises(TypeError):  # unityagents refuses (2, 1, 2) with a bare error; the direct API says why
            remote.step(np.zeros((2, 1, 2)))
        with pytest.raises(UnityActionException, match="layout unityagents accepts"):
            direct.step(np.zeros((2, 1, 2)))
    finally:
        remote.close()


def test_a_course_loop_and_the_academy_limit_are_bit_identical_through_grpc(build_dir, port):
    in_fresh_client(check_a_course_loop_and_the_academy_limit_are_bit_identical_through_grpc, build_dir, port)


def check_a_course_loop_and_the_academy_limit_are_bit_identical_through_grpc(build_dir, port):
    """A course-style loop ((1, 4) actions, reset after every episode), then 5,000 decisions without a reset:
    global_done comes at the 5,000th, step() raises until reset(), and every number matches the direct API."""
    remote = open_build(build_dir, port, seed=7)
    try:
        direct = TennisEnvironment(seed=7)
        rng = np.random.default_rng(0)
        same(direct.reset()[BRAIN_NAME], remote.reset()[BRAIN_NAME], "reset")
        episodes = 0
        for t in range(400):  # course loop
            actions = np.clip(rng.standard_normal((1, 4)), -1, 1)
            d, r = direct.step(actions)[BRAIN_NAME], remote.step(actions)[BRAIN_NAME]
            same(d, r, f"course loop step {t}")
            if np.any(r.local_done):
                episodes += 1
                same(direct.reset()[BRAIN_NAME], remote.reset()[BRAIN_NAME], f"reset after episode {episodes}")
        assert episodes >= 10
        same(direct.reset()[BRAIN_NAME], remote.reset()[BRAIN_NAME], "reset")
        layouts = (lambda a: a, lambda a: a.reshape(4), lambda a: list(a), lambda a: {BRAIN_NAME: a.tolist()})
        for t in range(1, 5001):
            actions = layouts[t % 4](rng.uniform(-1, 1, (2, 2)))
            d, r = direct.step(actions)[BRAIN_NAME], remote.step(actions)[BRAIN_NAME]
            same(d, r, f"decision {t} after reset")
            assert remote.global_done == direct.global_done == (t == 5000), t
        assert all(r.local_done) and all(r.max_reached)
        with pytest.raises(ClientActionException, match="The episode is completed"):
            remote.step(np.zeros((2, 2)))
        with pytest.raises(UnityActionException, match="The episode is completed"):
            direct.step(np.zeros((2, 2)))
        same(direct.reset()[BRAIN_NAME], remote.reset()[BRAIN_NAME], "reset after global_done")
        for t in range(30):
            actions = rng.uniform(-1, 1, (2, 2))
            same(direct.step(actions)[BRAIN_NAME], remote.step(actions)[BRAIN_NAME], f"after global_done {t}")
    finally:
        remote.close()


LAYOUTS = {  # what course code sends; each is accepted by both paths with the same result, or refused by both
    "(2, 2)": np.full((2, 2), 0.3), "(1, 4)": np.full((1, 4), 0.3), "(4,)": np.full(4, 0.3),
    "float32 (2, 2)": np.full((2, 2), 0.3, dtype=np.float32), "int (2, 2)": np.ones((2, 2), dtype=int),
    "list of (1, 2) arrays": [np.full((1, 2), 0.3), np.full((1, 2), -0.3)], "list of lists": [[0.1, 0.2], [0.3, 0.4]],
    "flat list": [0.1, 0.2, 0.3, 0.4], "dict": {BRAIN_NAME: np.full((2, 2), 0.3)}, "None": None, "empty dict": {},
    "(2, 1, 2)": np.zeros((2, 1, 2)), "(3,)": np.zeros(3), "scalar": 0.5, "tuple": (0.1, 0.2, 0.3, 0.4),
    "other brain": {"PlayerBrain": np.zeros((2, 2))}, "strings": ["0.1", "0.2", "0.3", "x"],
}


def test_the_same_action_layouts_are_accepted_and_refused(build_dir, port):
    in_fresh_client(check_the_same_action_layouts_are_accepted_and_refused, build_dir, port)


def check_the_same_action_layouts_are_accepted_and_refused(build_dir, port):
    remote = open_build(build_dir, port, seed=2)
    try:
        direct = TennisEnvironment(seed=2)
        same(direct.reset()[BRAIN_NAME], remote.reset()[BRAIN_NAME], "reset")
        for name, actions in LAYOUTS.items():
            outcomes = []
            for env in (direct, remote):
                try:
                    outcomes.append(env.step(actions)[BRAIN_NAME])
                except Exception as err:  # noqa: BLE001 -- unityagents raises bare Python errors for some layouts
                    outcomes.append(err)
            refused = [isinstance(o, Exception) for o in outcomes]
            assert refused[0] == refused[1], f"{name}: direct {outcomes[0]!r}, unityagents {outcomes[1]!r}"
            if not refused[0]:
                same(outcomes[0], outcomes[1], name)
            else:
                assert isinstance(outcomes[0], UnityActionException), f"{name}: {outcomes[0]!r}"
    finally:
        remote.close()


def test_a_build_with_several_arenas_is_several_matches(build_dir, port):
    in_fresh_client(check_a_build_with_several_arenas_is_several_matches, build_dir, port)


def check_a_build_with_several_arenas_is_several_matches(build_dir, port):
    remote = open_build(build_dir, port, name="Tennis3_Linux", seed=3)
    try:
        direct = TennisEnvironment(seed=3, num_matches=3)
        same(direct.reset()[BRAIN_NAME], remote.reset()[BRAIN_NAME], "reset")
        rng = np.random.default_rng(1)
        for t in range(200):
            actions = rng.uniform(-1, 1, (6, 2))
            same(direct.step(actions)[BRAIN_NAME], remote.step(actions)[BRAIN_NAME], f"step {t}")
        assert remote.step(None)[BRAIN_NAME].previous_vector_actions.tolist() == [[0.0, 0.0]] * 6
    finally:
        remote.close()


def gone(pid: int, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # reap it if it is our child
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.1)
    return False


def test_close_ends_the_build_by_itself(build_dir, port):
    in_fresh_client(check_close_ends_the_build_by_itself, build_dir, port)


def check_close_ends_the_build_by_itself(build_dir, port):
    remote = open_build(build_dir, port)
    remote.reset()
    build, remote.proc1 = remote.proc1, None  # the client would kill it: let the build end on the close message
    remote.close()
    assert build.wait(timeout=15) == 0


CLIENT = """
import sys, time
import numpy as np
np.float_ = np.float64
from unityagents import UnityEnvironment
env = UnityEnvironment(file_name=sys.argv[1], base_port=int(sys.argv[2]))
env.reset()
print(env.proc1.pid, flush=True)
time.sleep(120)
"""


def test_killing_the_client_ends_the_build(build_dir, port):
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(build_dir / "Tennis_Linux" / "Tennis"), str(port)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        build_pid = int(client.stdout.readline())
        client.send_signal(signal.SIGKILL)
        client.wait()
        assert gone(build_pid, 15), "the build outlived its client"
    finally:
        client.kill()


def test_a_build_started_from_a_worker_thread_lives_on(build_dir, port):
    in_fresh_client(check_a_build_started_from_a_worker_thread_lives_on, build_dir, port)


def check_a_build_started_from_a_worker_thread_lives_on(build_dir, port):
    import threading

    opened = []
    worker = threading.Thread(target=lambda: opened.append(open_build(build_dir, port)))
    worker.start()
    worker.join()  # the thread that launched the build is gone; the client, and so the build, are not
    remote = opened[0]
    try:
        time.sleep(1.5)  # the build's watch looks every 0.5 s
        remote.reset(train_mode=True)
        info = remote.step(np.zeros((2, 2)))[BRAIN_NAME]
        assert info.vector_observations.shape == (2, 24)
    finally:
        remote.close()


def readme_script(build_dir, port, loop: str) -> str:
    """The README's closing recipe, pointed at this test's build and port, with `loop` as the script's work."""
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    recipe = readme.split("```python\nfrom unityagents import UnityEnvironment\n", 1)[1].split("```", 1)[0]
    assert 'file_name="Tennis_Linux/Tennis.x86_64")' in recipe and "# your loop here" in recipe
    recipe = recipe.replace('file_name="Tennis_Linux/Tennis.x86_64")',
                            f"file_name={str(build_dir / 'Tennis_Linux' / 'Tennis.x86_64')!r}, base_port={port})")
    lines = [line if "# your loop here" not in line else line.split("#")[0].rstrip() + "\n    " + loop
             for line in recipe.splitlines()]  # fmt: skip
    return "import numpy as np\nnp.float_ = np.float64\nfrom unityagents import UnityEnvironment\n" + "\n".join(lines)


def test_a_script_that_forgets_close_hangs_and_the_readmes_recipe_exits_even_when_it_fails(build_dir, port):
    """The client's flaw the README warns of, and its remedy: a script ending without env.close() is still running
    after 10 s (the client joins its gRPC worker, which waits for a command, before its exit handler could close);
    the README's try/finally exits at once, with the traceback of the error that ended it."""
    forgot = "import numpy as np\nnp.float_ = np.float64\nfrom unityagents import UnityEnvironment\n" + (
        f"env = UnityEnvironment(file_name={str(build_dir / 'Tennis_Linux' / 'Tennis.x86_64')!r}, base_port={port})\n"
        "env.reset(train_mode=True)\nprint('done', flush=True)\n")  # fmt: skip
    hung = subprocess.Popen([sys.executable, "-c", forgot], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert hung.stdout.readline().strip() == "done"
        with pytest.raises(subprocess.TimeoutExpired):
            hung.wait(timeout=10)
    finally:
        os.killpg(hung.pid, signal.SIGKILL)
        hung.wait()
    failing = readme_script(build_dir, port + 1, "env.step([[0.0, 0.0], [0.0, 0.0]]); raise RuntimeError('a bug')")
    start = time.time()
    done = subprocess.run([sys.executable, "-c", failing], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "RuntimeError: a bug" in done.stderr and time.time() - start < 30
    finished = subprocess.run([sys.executable, "-c", readme_script(build_dir, port + 2, "print(states.shape)")],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert finished.returncode == 0 and finished.stdout.strip().endswith("(2, 24)"), finished.stderr


def test_a_nan_action_through_the_client_is_played_as_standing_still_and_said_once(build_dir, port):
    """The client passes NaN and inf on; the build cannot refuse them as the direct API does, so it plays 0 (and the
    clipped inf) and says so on its error stream (which the client's process shows), once."""
    script = readme_script(build_dir, port, "env.step([[np.nan, np.inf], [0.5, 0.0]]); env.step([[np.nan, 0.0]] * 2)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("NaN actions are played as 0 (stand still) and infinite ones as -1 or +1") == 1


def test_a_build_that_no_client_calls_says_so_and_fails(port, monkeypatch):
    """Started by hand, with no client listening, the build gives up after its bound and says what it waited for."""
    from tennis_sim import headless_build

    monkeypatch.setattr(headless_build, "CONNECT_SECONDS", 1.0)
    with pytest.raises(SystemExit, match=f"no unityagents client answered on localhost:{port} within 1 s"):
        headless_build.serve(port)
