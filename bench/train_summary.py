"""The numbers of one training run (runs/history.json of `make train`) as a small JSON file, runs/train.json.

`make train` runs it, so a user's run never touches the committed results/; the committed results/train.json is the
shipped agent's run, written by the same script with `--out results/train.json`. Both files default to the runs/
folder of TENNIS_OUTPUT_DIR (the notebook's output folder; the repo when unset), so the summary is of the run the
notebook just made; with TENNIS_TRAIN=0 the notebook trained nothing and there is nothing to summarise.

Run: .venv/bin/python bench/train_summary.py [runs/history.json] [--out runs/train.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from result_files import write_json  # noqa: E402
from solve import summarise  # noqa: E402

from settings import env_bool  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    runs = Path(os.environ.get("TENNIS_OUTPUT_DIR") or ROOT) / "runs"  # where the notebook wrote this run
    parser.add_argument("history", nargs="?", type=Path, default=runs / "history.json")
    parser.add_argument("--out", type=Path, default=runs / "train.json")
    args = parser.parse_args()
    if not env_bool("TENNIS_TRAIN", True):
        print("TENNIS_TRAIN=0: the notebook trained nothing, so there is no training run to summarise")
        return
    if not args.history.is_file():
        raise SystemExit(f"no training history at {args.history}: run the notebook's training first (make train)")
    history = json.loads(args.history.read_text())
    row = summarise(history["seed"], history)
    evaluation = history.get("evaluation") or {"in_flight": []}  # none with TENNIS_EVAL_EPISODES=0
    row.update(solved_at=history["solved_at"], eval_serves=sum(not f for f in evaluation["in_flight"]),
               ceiling_check=history["ceiling_at"], episodes_trained=len(history["scores"]))  # fmt: skip
    write_json(args.out, dict(command="make train", config=history["config"], **row))
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
