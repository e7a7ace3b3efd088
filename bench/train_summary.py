"""The numbers of one training run (runs/history.json of `make train`) as a small JSON file, runs/train.json.

`make train` runs it, so a user's run never touches the committed results/; the committed results/train.json is the
shipped agent's run, written by the same script with `--out results/train.json`.

Run: .venv/bin/python bench/train_summary.py [runs/history.json] [--out runs/train.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from result_files import write_json  # noqa: E402
from solve import summarise  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("history", nargs="?", type=Path, default=ROOT / "runs" / "history.json")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "train.json")
    args = parser.parse_args()
    history = json.loads(args.history.read_text())
    row = summarise(history["seed"], history)
    evaluation = history["evaluation"]
    row.update(solved_at=history["solved_at"], eval_serves=sum(not f for f in evaluation["in_flight"]),
               ceiling_check=history["ceiling_at"], episodes_trained=len(history["scores"]))  # fmt: skip
    write_json(args.out, dict(command="make train", config=history["config"], **row))
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
