"""The mutation run's result (mutmut's mutants/*.meta after `make mutation`) as results/mutation.json: per file the
mutants tried, killed, timed out (an endless loop is a detection too), survived and not reached by the fast tests;
every survivor with its diff and its entry of tools/equivalent_mutants.json: why it changes no behaviour (an
equivalent mutant), or, for an entry that begins "not equivalent", the known gap it leaves (counted as undetected). An
entry names the mutated function and the mutant's diff, not mutmut's number: an edit that renumbers a function's
mutants keeps its explanations, and one that changes the mutated line leaves the new mutant unexplained. A survivor
without an entry is printed, and the command fails.

Run: .venv/bin/python tools/mutation_report.py [--out results/mutation.json]   (after mutmut run; make mutation)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPLANATIONS = ROOT / "tools" / "equivalent_mutants.json"
NOT_EQUIVALENT = "not equivalent"  # an explained survivor that does change behaviour: a known gap in the tests
# The mutants of `make mutation`, as mutmut names them: whole files, and of training_run.py the functions that decide
# which agent is kept and how a run resumes (mutmut writes "ǁ" between class and method; "?" matches it).
SELECTION = ["buffer.*", "checkpoints.*", "replay_buffer.*", "evaluation.*", "maddpg_agent.*", "networks.*",
             "happo_agent.*", "resume.*", "tennis_sim.scoring.*", "tennis_sim.files.*",
             "training_run.x_keep_the_better__mutmut_*", "training_run.x_agent_files__mutmut_*",
             "training_run.x_keep_if_best__mutmut_*", "training_run.x_read_history__mutmut_*",
             "training_run.x?TrainingRun?_keep_progress_lines_up_to__mutmut_*"]  # fmt: skip


def mutants(root: Path = ROOT) -> dict[str, dict[str, str]]:
    """{source file: {mutant name: status}} of every mutant mutmut ran (status as mutmut names it)."""
    from mutmut.stats import status_by_exit_code

    found = {}
    for meta in sorted((root / "mutants").glob("**/*.py.meta")):
        source = meta.relative_to(root / "mutants").as_posix()[: -len(".meta")]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found[source] = {name: status_by_exit_code[code] for name, code in codes.items()
                         if code is not None and any(fnmatch(name, pattern) for pattern in SELECTION)}  # fmt: skip
    return found


def diff_of(name: str, source: str) -> str:
    """The mutant's change as the removed and added lines of its diff."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    lines = get_diff_for_mutant(name, path=source).splitlines()
    return "\n".join(line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---")))


def explanation(name: str, diff: str, explained: list[dict]) -> str | None:
    """The `why` of the entry for this mutant's function and diff, if there is one."""
    function = name.rsplit("__mutmut_", 1)[0]
    return next((e["why"] for e in explained if e["function"] == function and e["diff"] == diff), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the result here (e.g. results/mutation.json)")
    parser.add_argument("--selection", action="store_true", help="print the mutant names to run, for mutmut run")
    args = parser.parse_args()
    if args.selection:
        print(" ".join(SELECTION))
        return
    os.chdir(ROOT)  # mutmut reads its config and mutants/ from the working directory
    explained = json.loads(EXPLANATIONS.read_text())
    files, survivors = {}, []
    for source, statuses in mutants().items():
        if not statuses:
            continue
        counts = Counter(statuses.values())
        whys = {name: explanation(name, diff_of(name, source), explained)
                for name, s in sorted(statuses.items()) if s == "survived"}  # fmt: skip
        equivalent = sum(1 for why in whys.values() if why and not why.startswith(NOT_EQUIVALENT))
        named = sum(counts[k] for k in ("killed", "timeout", "survived", "no tests"))
        files[source] = dict(mutants=len(statuses), killed=counts["killed"], timeout=counts["timeout"],
                             survived=counts["survived"], equivalent=equivalent, no_tests=counts["no tests"],
                             other=len(statuses) - named)  # fmt: skip
        survivors += [dict(mutant=name, file=source, diff=diff_of(name, source), why=why) for name, why in whys.items()]
    total = {k: sum(f[k] for f in files.values()) for k in ("mutants", "killed", "timeout", "survived", "equivalent",
                                                           "no_tests", "other")}  # fmt: skip
    detected, non_equivalent = total["killed"] + total["timeout"], total["mutants"] - total["equivalent"] - total["no_tests"]
    total["detected_share_of_non_equivalent"] = round(detected / max(non_equivalent, 1), 4)
    for source, f in files.items():
        print(f"{source:<18} {f['mutants']:>5} mutants: {f['killed']} killed, {f['timeout']} timed out, "
              f"{f['survived']} survived ({f['equivalent']} equivalent), {f['no_tests']} not reached by the fast tests")
    gaps = [s for s in survivors if not s["why"]]
    print(f"detected {detected} of {non_equivalent} non-equivalent mutants reached by the fast tests "
          f"({100 * total['detected_share_of_non_equivalent']:.1f} %); {len(gaps)} survivors unexplained")
    for s in gaps:
        print(f"\n# {s['mutant']}\n{s['diff']}")
    if args.out:
        sys.path.insert(0, str(ROOT / "bench"))
        import tomllib  # Python 3.11 and later, as the project's environments
        from result_files import write_json

        tests = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
        write_json(args.out, dict(command="make mutation", tool="mutmut 3.8.1",
                                  tests=tests["pytest_add_cli_args_test_selection"], files=files, total=total,
                                  survivors=survivors))  # fmt: skip
    if gaps:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
