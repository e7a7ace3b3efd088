"""The numbers that README.md and Report.md quote are those of the committed outputs in results/, so a table left
behind by a rerun fails here. Each entry: (document, the exact text it must contain, built from a results file)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from check_rule import markdown_rows  # noqa: E402
from compare import GOALS, arm_runs, goals_table, markdown_table, runs_table  # noqa: E402

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")  # as the docs spell counts


def load(name: str) -> dict:
    return json.loads((ROOT / "results" / name).read_text())


def spread(rows: list[dict], key: str, fmt: str) -> str:
    """'median (min-max)' of a column over the seeds that have a value."""
    values = sorted(r[key] for r in rows if r[key] is not None)
    mid = values[len(values) // 2]  # five seeds: the middle one is the median
    return f"{mid:{fmt}} ({values[0]:{fmt}}-{values[-1]:{fmt}})"


def quoted() -> list[tuple[str, str]]:
    train, solve, bridge = load("train.json"), load("solve_default.json"), load("unity_bridge.json")
    throughput, evaluation = load("env_throughput.json"), load("evaluate_default.json")
    rows = solve["rows"]
    solved = sum(r["episodes"] is not None for r in rows)
    at_ceiling = sum(r["ceiling_seconds"] is not None for r in rows)
    full_eval = sum(r["eval_ceiling"] == r["eval_episodes"] for r in rows)
    one = next(r for r in bridge["rows"] if r["matches"] == 1)
    many = max(bridge["rows"], key=lambda r: r["matches"])
    checks = [
        ("README.md", f"solves the task in {train['episodes']:,} episodes ({train['seconds']:.0f} s of training"),
        ("README.md", f"all {solved} of {len(rows)} seeds of the benchmark solve (median {solve['median']['seconds']:.1f} s"),
        ("README.md", f"keeps {train['eval_ceiling']} of {train['eval_episodes']} evaluation rallies in play"),
        ("README.md", f"| episodes to solve | {train['episodes']:,} | {spread(rows, 'episodes', ',')} |"),
        ("README.md", f"| match steps to solve | {train['env_steps']:,} | {spread(rows, 'env_steps', ',')} |"),
        ("README.md", f"| seconds of training to solve | {train['seconds']:.0f} | {spread(rows, 'seconds', '.1f')} |"),
        ("README.md", f"| {train['ceiling_seconds']:.0f} | {spread(rows, 'ceiling_seconds', '.1f')}, {at_ceiling} of "
                      f"{len(rows)} seeds |"),
        ("README.md", f"| {train['eval_ceiling']} | {spread(rows, 'eval_ceiling', 'd')}, 100 of 100 on {full_eval} of "
                      f"{len(rows)} seeds |"),
        ("README.md", f"{one['unityagents']:,} decisions per second through `unityagents` against {one['direct']:,}"),
        ("README.md", f"{many['unityagents']:,} match decisions per second with {many['matches']} arenas"),
        ("Report.md", f"solved at episode {train['episodes']:,} ({train['env_steps']:,} match steps, "
                      f"{train['seconds']:.0f} s of training)"),
        ("Report.md", f"averaged {train['eval_avg']:.3f}, with {train['eval_ceiling']} of {train['eval_episodes']} "
                      f"episodes at the ceiling ({train['eval_serves']} of {train['eval_serves']} that began with a serve"),
        ("Report.md", f"{one['unityagents']:,} decisions per second at one match"),
    ]
    for r in rows:
        checks.append(("Report.md", f"| {r['seed']} | {r['episodes']:,} | {r['env_steps']:,} | {r['seconds']:.1f} | "
                                    f"{r['ceiling_seconds']:.1f} | {r['best']:.2f} | {r['final']:.2f} | "
                                    f"{r['min_after_solve']:.2f} | {r['eval_avg']:.2f} | {r['eval_ceiling']} | "
                                    f"{r['fail_serve']} | {r['fail_flight']} |"))  # fmt: skip
    for r in evaluation["rows"]:
        checks.append(("Report.md", f"| {r['serves_at_ceiling']} of {r['serves']} | {r['in_flight_at_ceiling']} of "
                                    f"{r['in_flight']} | {r['cuts_recovered']:,} of {r['cuts']:,} |"))  # fmt: skip
    for r in throughput["rows"]:
        checks.append(("README.md", f"| {r['matches']:,} | {r['agent_decisions_per_second']:,} | {r['us_per_step']} |"))
    happo_mappo = load("compare_happo_mappo.json")
    checks.append(("Report.md", markdown_table(happo_mappo)))  # the table bench/compare.py prints
    solved = {label: arm["solved"] for label, arm in happo_mappo["summary"].items()}
    checks.append(("README.md", f"HAPPO, MAPPO and HAPPO with a fixed order solve on {solved['HAPPO']}, "
                                f"{solved['MAPPO (M = 1)']} and {solved['HAPPO, fixed order']} of 10 seeds"))
    checks.append(("Report.md", runs_table(load("compare_design.json"))))
    maddpg = load("compare_maddpg.json")
    checks.append(("Report.md", markdown_table(maddpg)))
    checks.append(("Report.md", runs_table(maddpg)))
    happo, mad = maddpg["summary"]["HAPPO"], maddpg["summary"]["MADDPG"]
    times = NUMBER_WORDS[round(mad["seconds"]["median"] / happo["seconds"]["median"])]
    ceiling = [r["ceiling_seconds"] for r in arm_runs(maddpg, "HAPPO") if r["ceiling_seconds"] is not None]
    checks.append(("Report.md", f"needs about {times} times HAPPO's wall-clock"))
    checks.append(("Report.md", f"(on {NUMBER_WORDS[len(ceiling)]} seeds, after "
                                f"{min(ceiling):.0f}-{max(ceiling):.0f} s)"))  # fmt: skip
    checks.append(("README.md", f"MADDPG and HAPPO solve on {mad['solved']} and {happo['solved']} of 5 seeds; MADDPG in "
                                f"a median of {mad['env_steps']['median']:,.0f} match steps against HAPPO's "
                                f"{happo['env_steps']['median']:,.0f}, but after {mad['seconds']['median']:.1f} s of "
                                f"training against {happo['seconds']['median']:.1f} s"))  # fmt: skip
    small, big = (row["outside_clip_by_age"] for row in load("design_ratio.json")["rows"])
    checks.append(("Report.md", f"from {small[1]:.2f} at one learning step old to {small[15]:.2f} at fifteen; with "
                                f"std 0.1 it stays at or below {max(big):.2f}"))  # fmt: skip
    frontier = load("compare_frontier.json")
    checks.append(("Report.md", markdown_table(frontier)))
    checks.append(("Report.md", goals_table(frontier)))
    def misses(labels: list[str]) -> tuple[int, int]:  # evaluation misses, and those in a match's third to fifth rally
        runs = [r for r in frontier["runs"] if r["arm"] in labels]
        return sum(r["eval_episodes"] - r["eval_ceiling"] for r in runs), sum(r["fail_late"] for r in runs)

    arms = list(frontier["summary"])
    (all_default, late_default), (all_wide, late_wide) = misses(arms[:1]), misses([a for a in arms if "std 0.5" in a])
    checks.append(("Report.md", f"{late_default} of the default's {all_default} misses on five seeds came in a match's "
                                f"third to fifth rally, and {late_wide} of {all_wide} over the four arms with std 0.5"))
    rule = load("check_rule.json")
    checks.append(("Report.md", markdown_rows(rule)))
    m, signs = rule["misses"], rule["five_vs_two"]
    checks.append(("Report.md", f"missed {m['five']} evaluation episodes in all, against {m['two']} for the two-rally "
                                f"check and {m['last']} for the last policy; it misses fewer on {signs['fewer']} seeds, "
                                f"more on {signs['more']}, and as many on {signs['same']}. Five seeds cannot make that "
                                f"significant (sign test p = {signs['p']:.2f})"))  # fmt: skip
    checks.append(("README.md", f"kept policies that missed {m['five']} evaluation episodes in all, against {m['two']} "
                                "for a check of two rallies per match"))
    never = sum(r["five_first_perfect_step"] is None for r in rule["rows"])
    checks.append(("Report.md", f"(on {NUMBER_WORDS[never]} of the five runs none came "
                                f"within {rule['match_steps']:,} match steps)"))
    trained = [r["steps_trained"] for r in load("compare_design.json")["runs"]]
    checks.append(("Report.md", f"before the 2,000,000 match steps it was allowed ({min(trained) / 1e6:.2f}-"
                                f"{max(trained) / 1e6:.2f} M trained"))  # fmt: skip
    solved_big = [r for r in load("compare_design.json")["runs"] if "big_std" in r["arm"] and r["episodes"]]
    checks.append(("Report.md", "after {} and {} match steps ({:.0f} and {:,.0f} s)".format(
        *(f"{r['env_steps']:,}" for r in solved_big), *(r["seconds"] for r in solved_big))))  # fmt: skip
    design = load("compare_design.json")["summary"]
    checks.append(("README.md", "solves on {} and {} of 3 seeds in 20 minutes".format(
        *(arm["solved"] for arm in design.values()))))  # fmt: skip
    return checks


@pytest.mark.parametrize(("doc", "text"), quoted(), ids=lambda v: v if v.endswith(".md") else v[:60])
def test_the_docs_quote_the_committed_results(doc, text):
    flowing = " ".join((ROOT / doc).read_text().split())  # a sentence may wrap anywhere
    assert " ".join(text.split()) in flowing, f"{doc} should say: {text}"


def test_the_readme_recipe_for_unityagents_is_the_one_make_test_runs():
    makefile = (ROOT / "Makefile").read_text()
    deps = next(line.split(":=", 1)[1].strip() for line in makefile.splitlines() if line.startswith("UNITY_CLIENT_DEPS"))
    readme = (ROOT / "README.md").read_text()
    assert f"pip install {deps}\n" in readme and "pip install --no-deps unityagents==0.4.0\n" in readme
    assert "$(UNITY_CLIENT_DEPS)" in makefile and "--no-deps unityagents==0.4.0" in makefile


def test_the_no_difference_claim_holds_for_every_p_value():
    """README and Report quote the smallest Mann-Whitney p of the HAPPO/MAPPO study, on wall-clock seconds."""
    summary = load("compare_happo_mappo.json")["summary"]
    ps = {(arm, col): c["p_vs_first"] for arm, cols in summary.items() for col, c in cols.items()
          if isinstance(c, dict) and "p_vs_first" in c}  # fmt: skip
    (arm, column), smallest = min(ps.items(), key=lambda kv: kv[1])
    assert len(ps) == 10 and column == "seconds" and arm == "HAPPO, fixed order"
    assert ps[(arm, "env_steps")] > 0.25
    readme, report = (" ".join((ROOT / doc).read_text().split()) for doc in ("README.md", "Report.md"))
    assert f"every Mann-Whitney p {smallest:.2f} or above, the smallest on wall-clock seconds" in readme
    assert (f"the smallest p is {smallest:.2f} (HAPPO with a fixed order against HAPPO in seconds" in report
            and f"the match steps of the same runs give p = {ps[(arm, 'env_steps')]:.2f}" in report)


def test_the_design_std_search_picked_the_std_that_scored_best():
    """Report section 7 says std 0.1 had the best 100-episode average and the best evaluation of the search."""
    runs = load("compare_design_std.json")["runs"]
    best = max(runs, key=lambda r: r["best"])
    assert best["arm"] == max(runs, key=lambda r: r["eval_avg"])["arm"] == "seed_design, std 0.1"
    assert "0.1 had the best 100-episode average and the best evaluation" in " ".join(
        (ROOT / "Report.md").read_text().split())


def test_the_frontier_claims_hold_for_the_committed_runs():
    """README and Report: no arm meets every goal; 32 practice matches keep 100 of 100 on the most seeds and miss the
    fewest evaluation episodes, for 1.5 times the default's match steps to solve."""
    results, at_ceiling = load("compare_frontier.json"), GOALS["evaluation 100 of 100 at the ceiling"]
    perfect, misses = {}, {}
    for label, arm in results["summary"].items():
        runs = arm_runs(results, label)
        assert not (arm["seconds"]["median"] < 25 and all(map(at_ceiling, runs))), label
        perfect[label] = sum(map(at_ceiling, runs))
        misses[label] = sum(r["eval_episodes"] - r["eval_ceiling"] for r in runs)
    default, robust = next(iter(perfect)), "std 0.5, 32 practice"
    assert perfect[robust] > max(v for k, v in perfect.items() if k != robust)
    assert misses[robust] < min(v for k, v in misses.items() if k != robust)
    steps = {k: results["summary"][k]["env_steps"]["median"] for k in (default, robust)}
    ratio = f"{steps[robust] / steps[default]:.1f}"
    assert ratio == "1.5"
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert (f"all 100 at the ceiling on {perfect[robust]} of 5 seeds, {misses[robust]} evaluation misses in all "
            f"against the default's {misses[default]}, for {ratio} times its match steps") in readme
    report = " ".join((ROOT / "Report.md").read_text().split())
    assert (f"({misses[robust]} misses in all, against {misses[default]} for the default)" in report
            and f"from the default's (p = {results['summary'][robust]['eval_ceiling']['p_vs_first']:.2f})" in report)


def test_the_maddpg_sweep_claims_hold_for_the_committed_table():
    """Report section 8: the defaults ranked first of the sweep's trials, none solved, and the best average."""
    import csv

    with (ROOT / "results" / "sweep_maddpg.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["default"] == "True" and not any(r["solved_seconds"] for r in rows)
    report = " ".join((ROOT / "Report.md").read_text().split())
    assert (f"ranked these defaults first of {len(rows)} trials" in report
            and f"best 100-episode average when stopped ({float(rows[0]['avg100']):.2f})" in report)  # fmt: skip


def test_the_mappo_sweep_claims_hold_for_the_committed_table():
    """Report section 6: the shared defaults ranked first, the only trial with a check at the ceiling; the fastest."""
    import csv

    with (ROOT / "results" / "sweep_mappo.csv").open() as f:
        rows = list(csv.DictReader(f))
    at_ceiling = [r for r in rows if r["ceiling_seconds"]]
    assert rows[0]["default"] == "True" and at_ceiling == rows[:1]
    fastest = min(float(r["solved_seconds"]) for r in rows if r["solved_seconds"])
    report = " ".join((ROOT / "Report.md").read_text().split())
    assert (f"ranked these shared defaults first of {len(rows)} trials" in report
            and f"({len(at_ceiling)} of {len(rows)})" in report and f"the fastest after {fastest:.1f} s" in report)


def test_the_five_seed_claims_hold():
    """README and Report: every seed solves, in a median under 20 s on two cores (quoted to one decimal in section 5),
    reaches a check at the ceiling within a minute and a half, and each kept policy misses at most 1 of 100
    evaluation episodes."""
    solve = load("solve_default.json")
    rows, med = solve["rows"], solve["median"]
    assert all(r["episodes"] is not None for r in rows)
    assert med["seconds"] < 20
    assert all(r["ceiling_seconds"] is not None and r["ceiling_seconds"] < 90 for r in rows)
    assert max(r["eval_episodes"] - r["eval_ceiling"] for r in rows) == 1
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "in a median under 20 s, and reaches a check with every rally at the ceiling within a minute and a half" in readme
    assert "each kept policy misses at most 1 of 100 evaluation episodes" in readme
    report = " ".join((ROOT / "Report.md").read_text().split())
    assert "in a median of under 20 s of training on two CPU cores" in report
    assert f"default solves in a median of {med['seconds']:.1f} s, within the speed goal" in report
    assert (f"in a median of {med['episodes']:,.0f} episodes, {med['env_steps']:,.0f} match steps and "
            f"{med['seconds']:.1f} s") in report
    ceiling, final = sorted(r["ceiling_seconds"] for r in rows), sorted(r["final"] for r in rows)
    assert (f"after {ceiling[0]:.1f} to {ceiling[-1]:.1f} s; no seed collapses (final averages "
            f"{final[0]:.2f}-{final[-1]:.2f})") in report
