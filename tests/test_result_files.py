"""bench/result_files.py writes what the json and csv modules write, whole or not at all."""

import csv
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from result_files import write_csv, write_json  # noqa: E402

ROWS = [{"arm": "default", "seed": 0, "eval_avg": 2.6}, {"arm": "MADDPG", "seed": 1, "eval_avg": None}]


def test_json_is_the_indented_dump_with_a_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "results" / "out.json"  # the folder is made
    write_json(path, {"rows": ROWS, "nan": float("nan")}, default=str)
    assert path.read_text() == json.dumps({"rows": ROWS, "nan": float("nan")}, indent=1, default=str) + "\n"


def test_csv_matches_the_csv_module_writing_a_file(tmp_path: Path) -> None:
    reference = tmp_path / "reference.csv"
    with open(reference, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    write_csv(tmp_path / "out.csv", ROWS)
    assert (tmp_path / "out.csv").read_bytes() == reference.read_bytes()


def test_a_write_killed_before_the_rename_keeps_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "out.json"
    write_json(path, {"old": 1})

    def killed(*args) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_json(path, {"new": 2})
    assert json.loads(path.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
