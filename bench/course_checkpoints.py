"""Public course checkpoints, trained on the Unity Tennis build by course students, played on the simulator with
`tennis-play`: how each scores here, beside what its author recorded on Unity.

The files are not shipped with this project (they are their authors'); download each from GitHub at the commit
named below into DIR/<owner>+<repo>/<path> (the command prints the URLs of those that are missing), and the
SHA-256 of each is checked, so the scores are of exactly these weights. Each plays 100 episodes of seed 0 (20 matches
of 5 consecutive rallies, as the notebook evaluates), without noise.

Run: .venv/bin/python bench/course_checkpoints.py --dir DIR [--out results/course_checkpoints.json]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from result_files import write_json  # noqa: E402

from tennis_sim.course_actor import load_actor, play_actors  # noqa: E402

# What each author recorded on Unity for these weights (their notebooks' saved outputs; "sum of step maxima" is a
# loop that adds the larger reward of each step, whose ceiling is about 5.2 instead of 2.6).
SOURCES = [
    dict(repo="DarylRodrigo/drlnd-Tennis", commit="ff660e5d7927d2b2b2847f008c9bc23c7985a54e",
         files={"checkpoint_actor.pth": "8123d982c6e0a321d9a0b60335a2f3596f032a289cd1806fac90d8c7130f1d8e"},
         options=dict(activation="leaky_relu"), feeds="own racket (24), one actor for both",
         unity="1 episode with exploration noise, train_mode=False: 2.6 for each racket (watch_a_trained_agent.ipynb)"),
    dict(repo="Fury1/DeepRL-Tennis", commit="f7f1fa87042a8a8cf6fdbc1fd619a7d3b4e7a8c7",
         files={"checkpoint_actor.pth": "429a503dd9af6e88f8317af47bee41efd1764f2cf6dbbefa85f77423bf3dc928"},
         options=dict(ignore=["input"]), feeds="own racket (24), one actor for both",
         unity="1 episode without noise, train_mode=False: 2.6 (Tennis.ipynb; its forward pass computes the input "
               "BatchNorm and does not use it, hence --ignore input)"),
    dict(repo="GCCFeli/drl_tennis", commit="df25f632df4cc0cf9d8e5a9c045360e76ec3da19",
         files={"checkpoint_actor.pth": "7943d9e9c8c7c7667b18bba07310f742f40c51f991e8ef43ff5f6be9c5098116"},
         options={}, feeds="own racket (24), one actor for both",
         unity="1 episode with exploration noise, train_mode=False: a mean over the rackets of 2.095 after 810 "
               "decisions, when the ball fell (Tennis_Test.ipynb)"),
    dict(repo="EliShayGH/Unity-Tennis", commit="8d996c22a9916a9a6478a3287934e68a6a23a915",
         files={"checkpoint_actor.pth": "4c51d25c9fee0918d9c52190cc0dddcd27b1c12f10b7fefecfe5a1e651db49a3"},
         options={}, feeds="own racket (24), one actor for both",
         unity="1 episode without noise, train_mode=False: a mean over the rackets of 1.495 (Tennis.ipynb)"),
    dict(repo="Byambaa0325/Unity-Tennis-DDPG", commit="45134f32917c27f75e207a73c5a3df8f33efd897",
         files={"checkpoint_actor.pth": "61158099ec02b36fb8b3ec33755643b01d40627a724ba0b1bb3612444d58e158"},
         options=dict(norm_after_activation=True), feeds="own racket (24), one actor for both",
         unity="no test; saved when training reached a 100-episode average of 0.52 with noise (Report.ipynb)"),
    dict(repo="Catastropha/tennis", commit="9d7bf9f08fb4f8bd1b3603b2c6001d28f2beb84d",
         files={"checkpoint_actor.pth": "e794e68a52d36fa0f0198ace980fe6f355d07146a3bfbf35d185ca21a2cc840d"},
         options={}, feeds="own racket (24); only racket 0's actor was saved, played here by both",
         unity="no test; saved at a training average of 0.52 with noise, over 2,000-step windows (tennis.ipynb)"),
    dict(repo="tommytracey/DeepRL-P3-Collaboration-Competition", commit="56cc8b6f8728d1d15f7d97e0d41c100d7bbe8cd2",
         files={"models/best/checkpoint_actor_0.pth": "02efd12272e18895e79e7e4939ea9062b893947491d672c2ba78cfda7b6bfbe8",
                "models/best/checkpoint_actor_1.pth": "efa4bf7d19801a5c7c69418394a8c2d1b0113fb62db178fe2ba5234646d614bb"},
         options={}, feeds="both rackets (48, joined in the brain's order), one actor per racket",
         unity="10 episodes without noise, train_mode=False: 4 kept to the step limit (5.2 as a sum of step maxima), "
               "mean 2.13 on that scale (Tennis.ipynb)"),
]  # fmt: skip


def fetched(dir_: Path, source: dict) -> list[Path] | None:
    """The source's files in DIR, checked against their SHA-256; None (and the URLs printed) when one is missing."""
    owner_repo = source["repo"].replace("/", "+")
    paths = [dir_ / owner_repo / name for name in source["files"]]
    missing = [(p, name) for p, name in zip(paths, source["files"]) if not p.is_file()]
    for p, name in missing:
        print(f"missing {p}: https://raw.githubusercontent.com/{source['repo']}/{source['commit']}/{name}")
    if missing:
        return None
    for p, digest in zip(paths, source["files"].values()):
        if hashlib.sha256(p.read_bytes()).hexdigest() != digest:
            raise SystemExit(f"{p} is not the file of {source['repo']} at {source['commit'][:7]} (SHA-256 differs)")
    return paths


def score(paths: list[Path], options: dict, swap: bool = False) -> dict:
    actors = [load_actor(p, **options) for p in paths]
    result = play_actors(actors, episodes=100, seed=0, swap=swap)
    return dict(layout=actors[0].layout, mean=float(result.scores.mean()), median=float(np.median(result.scores)),
                at_least_half=int((result.scores >= 0.5).sum()), ceiling=int(result.full_length.sum()), episodes=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="the downloaded files, DIR/<owner>+<repo>/<path>")
    parser.add_argument("--out", type=Path, help="write the table here as JSON, e.g. results/course_checkpoints.json")
    args = parser.parse_args()
    rows = []
    for source in SOURCES:
        paths = fetched(args.dir, source)
        if paths is None:
            continue
        row = dict(repo=source["repo"], commit=source["commit"], files=list(source["files"]), feeds=source["feeds"],
                   options=source["options"], unity=source["unity"], **score(paths, source["options"]))  # fmt: skip
        if len(paths) == 2:
            row["swapped"] = score(paths, source["options"], swap=True)
        rows.append(row)
        print(f"{source['repo']}: {row['layout']}: mean {row['mean']:.3f}, {row['ceiling']} of 100 at the ceiling, "
              f"{row['at_least_half']} at or above 0.5" + (f"; swapped: {row['swapped']['ceiling']} of 100 at the "
              "ceiling" if "swapped" in row else "") + f"\n    on Unity: {row['unity']}", flush=True)  # fmt: skip
    if args.out and rows:
        write_json(args.out, dict(command="bench/course_checkpoints.py --dir DIR " + (f"--out {args.out}"),
                                  seed=0, rows=rows))  # fmt: skip
        print(f"table: {args.out}")


if __name__ == "__main__":
    main()
