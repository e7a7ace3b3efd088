"""The commands `pip install .` puts on the path (in .venv-unity, installed by the README's recipe), run as a user
runs them: `tennis-play` on an actor saved the course's way."""

import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

COMMAND = Path(sys.executable).parent / "tennis-play"


def test_tennis_play_scores_a_course_actor_and_refuses_a_critic(tmp_path):
    torch.manual_seed(0)
    actor = nn.Sequential(nn.Linear(24, 64), nn.ReLU(), nn.Linear(64, 2), nn.Tanh())
    torch.save({"fc1.weight": actor[0].weight, "fc1.bias": actor[0].bias, "fc2.weight": actor[2].weight,
                "fc2.bias": actor[2].bias}, tmp_path / "checkpoint_actor.pth")  # fmt: skip
    run = subprocess.run([str(COMMAND), str(tmp_path / "checkpoint_actor.pth"), "--episodes", "4", "--seed", "3"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "checkpoint_actor.pth: 24 -> 64 -> relu -> 2 -> tanh" in run.stdout
    assert "4 episodes: mean score" in run.stdout
    torch.save({"fc1.weight": torch.zeros(8, 24), "fc1.bias": torch.zeros(8), "fc2.weight": torch.zeros(1, 8)},
               tmp_path / "checkpoint_critic.pth")  # fmt: skip
    refused = subprocess.run([str(COMMAND), str(tmp_path / "checkpoint_critic.pth")], capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert refused.returncode == 2 and "is a critic's file" in refused.stderr
