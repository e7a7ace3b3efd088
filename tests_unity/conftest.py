"""Tests that need the course's `unityagents` 0.4 client: run by `make test` in the second environment
(.venv-unity, made with the README's recipe), against the headless build."""

import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    """A folder holding Tennis_Linux/Tennis.x86_64 (1 arena) and Tennis3_Linux/Tennis.x86_64 (3 arenas)."""
    from tennis_sim.headless_build import write_launcher

    root = tmp_path_factory.mktemp("builds")
    write_launcher(root / "Tennis_Linux")
    write_launcher(root / "Tennis3_Linux", matches=3)
    return root


@pytest.fixture
def port() -> int:
    return free_port()
