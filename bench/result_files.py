"""A benchmark's small output file, written so that a reader, or a run killed while writing, finds the old file or the
new one and never half of one: the committed results/ are what README and Report quote."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from checkpoints import write_atomically  # noqa: E402


def write_json(path: Path, payload: dict, **dumps_options) -> None:
    """`payload` as indented JSON with a final newline; `dumps_options` go to json.dumps (e.g. `default`)."""
    _replace(path, json.dumps(payload, indent=1, **dumps_options) + "\n")


def write_csv(path: Path, rows: list[dict]) -> None:
    """`rows` (dicts with the same keys) as CSV with a header line."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    _replace(path, text.getvalue())


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode())
