"""docs/claims.md from tools/claims.json: every checkable claim of the docs (README, Report, docs/, the modules' top
docstrings), where it is, what backs it and which test fails if it stops being true.

tools/claims.json holds each claim with an exact quote of its line; the table gives that line's number as the files
are now, so run this after editing a doc (tests/test_docs_numbers.py fails until the table matches the docs).

Run: .venv/bin/python tools/claims_table.py [--out docs/claims.md]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "tools" / "claims.json"


def line_of(file: str, quote: str) -> int:
    """The 1-based number of the first line of `file` that holds `quote`, or a ValueError naming both."""
    for number, line in enumerate((ROOT / file).read_text().splitlines(), start=1):
        if quote in line:
            return number
    raise ValueError(f"{file} no longer holds {quote!r}: update tools/claims.json")


def table(claims: list[dict]) -> str:
    counts = Counter(c["verdict"] for c in claims)
    tested = sum(c["checked_by"] != "none" for c in claims)
    lines = ["# Claims", "",
             "Every checkable claim of the README, the Report, `docs/` and the modules' top docstrings: "
             f"{len(claims)} in all, "
             f"{counts['backed']} backed by a committed result or by the code, {counts['contradicted']} contradicted, "
             f"{counts['unbacked']} not backed by anything committed (durations on a shared machine, findings of "
             f"exploratory runs that were not kept, facts about other projects); {tested} are checked by a test that fails "
             "if they stop being true. Made by `.venv/bin/python tools/claims_table.py` from `tools/claims.json`.", "",
             "| claim | where | backed by | checked by | verdict |", "|---|---|---|---|---|"]  # fmt: skip
    for c in claims:
        verdict = c["verdict"] + (f": {c['note']}" if c["note"] else "")
        cells = [c["claim"], f"{c['file']}:{line_of(c['file'], c['quote'])}", c["backed_by"], c["checked_by"], verdict]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "claims.md")
    args = parser.parse_args()
    args.out.write_text(table(json.loads(CLAIMS.read_text())))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
