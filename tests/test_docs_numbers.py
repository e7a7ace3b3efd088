"""README.md, Report.md, docs/experiments.md and the notebook's text quote the committed outputs in results/ and the
code's own values, so a number left behind by a rerun or a changed default fails here. A user's `make train` writes
runs/, never results/, so these checks pass after it too (tests/test_train_then_docs.py)."""

import json
import re
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from check_rule import markdown_rows  # noqa: E402
from compare import ARM_COLUMNS, GOALS, arm_runs, goals_table, markdown_table, runs_table  # noqa: E402

from evaluation import SOLVE_SCORE, SOLVE_WINDOW  # noqa: E402
from happo_agent import HAPPOConfig  # noqa: E402
from tennis_sim.core import TennisParams  # noqa: E402
from training_run import CHECK_MATCHES, CHECK_RALLIES, CHECK_SEED_OFFSET  # noqa: E402

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
DOCS = ("README.md", "Report.md", "docs/experiments.md", "docs/testing.md", "docs/tennis_environment.md")


def load(name: str) -> dict:
    return json.loads((ROOT / "results" / name).read_text())


def flowing(doc: str) -> str:
    """The document with every run of whitespace made one blank: a sentence may wrap anywhere."""
    return " ".join((ROOT / doc).read_text().split())


def misses(run: dict) -> int:
    return run["eval_episodes"] - run["eval_ceiling"]


def median_and_range(rows: list[dict], key: str, fmt: str) -> str:
    values = sorted(r[key] for r in rows if r[key] is not None)
    return f"{np.median(values):{fmt}} ({values[0]:{fmt}}-{values[-1]:{fmt}})"


def make_train_and_ten_seeds() -> list[tuple[str, str]]:
    train, solve = load("train.json"), load("solve_default.json")
    rows, med = solve["rows"], solve["median"]
    solved = sum(r["episodes"] is not None for r in rows)
    perfect = sum(r["eval_ceiling"] == r["eval_episodes"] for r in rows)
    at_ceiling = sum(r["ceiling_seconds"] is not None for r in rows)
    seed0 = next(r for r in rows if r["seed"] == 0)
    solved_words = "all ten" if solved == 10 else f"{NUMBER_WORDS[solved]} of ten"
    missed = [misses(r) for r in rows if misses(r)]
    serve, flight = sum(r["fail_serve"] for r in rows), sum(r["fail_flight"] for r in rows)
    checks = [
        ("README.md", f"`make train` solves the task in {train['episodes']:,} episodes ({train['seconds']:.0f} s of "
                      f"training on 2 CPU cores), and the shipped agent keeps {train['eval_ceiling']} of 100"),
        ("README.md", f"On ten seeds {solved_words} solve (median {med['seconds']:.1f} s) and {NUMBER_WORDS[perfect]} "
                      "of the ten kept policies keep all 100"),
        ("README.md", f"| episodes to solve | {train['episodes']:,} | {median_and_range(rows, 'episodes', ',.0f')} |"),
        ("README.md", f"| match steps to solve | {train['env_steps']:,} | {median_and_range(rows, 'env_steps', ',.0f')} |"),
        ("README.md", f"| seconds of training to solve | {train['seconds']:.0f} | "
                      f"{median_and_range(rows, 'seconds', '.1f')} |"),
        ("README.md", f"| evaluation episodes at the ceiling (of 100) | {train['eval_ceiling']} | "
                      f"{median_and_range(rows, 'eval_ceiling', 'g')}, all 100 on {perfect} of 10 seeds |"),
        ("Report.md", f"solved the task in **{train['episodes']:,} episodes** ({train['env_steps']:,} match steps, "
                      f"{train['seconds']:.0f} s of training on 2 CPU cores) and keeps **{train['eval_ceiling']} of "
                      f"100**"),
        ("Report.md", f"On ten seeds {solved_words} solve, in a median of {med['episodes']:,.0f} episodes and "
                      f"{med['seconds']:.1f} s, and {NUMBER_WORDS[perfect]} of the ten kept policies keep all 100"),
        ("Report.md", f"The task was solved at **episode {train['episodes']:,}**"),
        ("Report.md", f"it averaged {train['eval_avg']:.3f}, with {train['eval_ceiling']} of 100 episodes at the ceiling "
                      f"({train['eval_serves'] - train['fail_serve']} of {train['eval_serves']} that began with a serve)"),
        ("Report.md", f"Every seed solves (median {med['episodes']:,.0f} episodes, {med['env_steps']:,.0f} match steps, "
                      f"{med['seconds']:.1f} s), and {NUMBER_WORDS[at_ceiling]} of ten reach a check with all 200 "
                      "rallies at the ceiling." if solved == 10 else "unsolved seeds are not described yet"),
        ("Report.md", f"{NUMBER_WORDS[perfect].capitalize()} of the ten kept policies keep all 100 evaluation episodes "
                      f"at the ceiling and the others miss {min(missed)}"
                      + (f" to {max(missed)}" if max(missed) > min(missed) else "") + f"; {flight} of the "
                      f"{serve + flight} misses began with the ball in flight"),
        ("Report.md", ", and ".join(([f"100 of 100 on every seed (met on {perfect} of 10)"] if perfect < 10 else [])
                                   + ([f"a median under 20 s to solve (on this machine the median is {med['seconds']:.1f} s)"]
                                      if med["seconds"] >= 20 else [])) or "Both goals of the ten seeds are met"),
        ("README.md", f"{NUMBER_WORDS[perfect]} of ten kept policies keep all 100 evaluation episodes at the ceiling and "
                      f"the others miss at most {max(missed)}"),
        ("README.md", f"seed 0 solved at the same episode after {train['seconds']:.1f} s in `make train` and "
                      f"{seed0['seconds']:.1f} s in the benchmark" if seed0["episodes"] == train["episodes"] else
                      "the benchmark's seed 0 differs from make train"),
    ]
    budget = [r["train_seconds"] / 60 for r in rows if r["ceiling_seconds"] is None]  # trained the whole budget
    checks.append(("README.md", f"the {NUMBER_WORDS[len(budget)]} of ten seeds that reached it trained "
                                f"{min(budget):.1f}-{max(budget):.1f} minutes"))
    kept_at_ceiling = [r for r in rows if r["ceiling_seconds"] is not None]
    kept_perfect = sum(r["eval_ceiling"] == r["eval_episodes"] for r in kept_at_ceiling)
    if kept_perfect < len(kept_at_ceiling):
        checks.append(("Report.md", f"Of the {NUMBER_WORDS[len(kept_at_ceiling)]} policies kept at a ceiling check, "
                                    f"{NUMBER_WORDS[kept_perfect]} keep all 100 evaluation episodes and the other "
                                    f"{NUMBER_WORDS[len(kept_at_ceiling) - kept_perfect]} miss "
                                    f"{sum(map(misses, kept_at_ceiling))} in all"))  # fmt: skip
    for r in rows:
        ceiling = "-" if r["ceiling_seconds"] is None else f"{r['ceiling_seconds']:.1f}"
        checks.append(("Report.md", f"| {r['seed']} | {r['episodes']:,} | {r['env_steps']:,} | {r['seconds']:.1f} | "
                                    f"{ceiling} | {r['min_after_solve']:.2f} | {r['eval_ceiling']} | {r['fail_serve']} / "
                                    f"{r['fail_flight']} |"))  # fmt: skip
    stop = train["ceiling_check"]
    checks.append(("Report.md", f"This run stopped at the check of learning step {stop['learn_steps']} "
                                f"({stop['seconds']:.0f} s, {stop['episodes']:,} episodes)" if stop else
                                f"so it trained its {train['train_seconds'] / 60:.0f} minutes"))  # fmt: skip
    return checks


def solved_all(summary: dict) -> bool:
    return all(arm["solved"] == arm["runs"] for arm in summary.values())


def changes_study() -> list[tuple[str, str]]:
    results = load("compare_changes.json")
    s = results["summary"]
    checks = [("docs/experiments.md", markdown_table(results)), ("docs/experiments.md", goals_table(results))]
    for label in s:
        runs = arm_runs(results, label)
        perfect = sum(r["eval_ceiling"] == r["eval_episodes"] for r in runs)
        checks.append(("docs/experiments.md", f"| {label} | {perfect} of 5 | {sum(map(misses, runs))} |"))
    reference, default, annealed, averaged, epochs, maddpg = s
    runs = {label: {r["seed"]: r for r in arm_runs(results, label)} for label in s}
    assert all(runs[averaged][k]["episodes"] == runs[reference][k]["episodes"] and
               runs[averaged][k]["env_steps"] == runs[reference][k]["env_steps"] for k in runs[reference])
    miss = {label: sum(map(misses, runs[label].values())) for label in s}
    perfect = {label: sum(r["eval_ceiling"] == r["eval_episodes"] for r in runs[label].values()) for label in s}
    check = {label: np.median([r["check_median"] for r in runs[label].values()]) for label in s}
    passes = {label: np.median([r["epochs_to_solve"] for r in runs[label].values()]) for label in (default, epochs)}

    def median(label: str, column: str) -> float:
        return s[label][column]["median"]

    def p(label: str, column: str) -> float:
        return s[label][column]["p_vs_first"]

    smallest = min(p(label, "eval_ceiling") for label in (default, annealed, averaged, epochs))
    checks += [
        ("Report.md", f"cut the median match steps to solve from {median(reference, 'env_steps'):,.0f} to "
                      f"{median(annealed, 'env_steps'):,.0f} (p = {p(annealed, 'env_steps'):.2f}) but kept less robust "
                      f"policies ({miss[annealed]} evaluation misses over five seeds against {miss[reference]})"),
        ("Report.md", f"kept the most robust ones ({miss[averaged]} misses; all 100 on {perfect[averaged]} of 5 seeds). "
                      f"The default combines them ({median(default, 'env_steps'):,.0f} match steps, {miss[default]} "
                      f"misses); 10 epochs per batch needed {median(epochs, 'env_steps'):,.0f} and missed "
                      f"{miss[epochs]}. Five seeds separate none of the evaluations (every p {smallest:.2f} or above)"),
        ("Report.md", f"MADDPG solved every seed in a median of {median(maddpg, 'env_steps'):,.0f} match steps against "
                      f"the default's {median(default, 'env_steps'):,.0f} (p = {p(maddpg, 'env_steps'):.2f}), but after "
                      f"{median(maddpg, 'seconds'):.1f} s of training against {median(default, 'seconds'):.1f} s"),
        ("Report.md", f"missed**: KL early stopping ends HAPPO's epochs after a median of {passes[default]:.1f} passes "
                      f"over each batch ({passes[epochs]:.1f} with 10 allowed)"),
        ("docs/experiments.md", f"the median check rose from {check[reference]:g} to {check[averaged]:g} of 200 rallies "
                                f"at the ceiling, and its kept policies missed {miss[averaged]} evaluation episodes in "
                                f"all against {miss[reference]}"),
    ]
    assert smallest > 0.05 and solved_all(s)
    return checks


def older_studies() -> list[tuple[str, str]]:
    checks = []
    ten = load("solve_default.json")["rows"]
    checks.append(("docs/experiments.md", f"most come in a match's third to fifth rally ({sum(r['fail_late'] for r in ten)} "
                                          f"of the {sum(map(misses, ten))} misses of the ten seeds of the default)"))
    rule = load("check_rule.json")
    m, signs = rule["misses"], rule["five_vs_two"]
    checks += [("docs/experiments.md", markdown_rows(rule)),
               ("docs/experiments.md", f"missed {m['five']} evaluation episodes in all, against {m['two']} for the "
                                       f"two-rally check and {m['last']} for the last policy; it misses fewer on "
                                       f"{signs['fewer']} seeds, more on {signs['more']}, and as many on "
                                       f"{signs['same']} (sign test p = {signs['p']:.2f})"),
               ("docs/experiments.md", f"on {NUMBER_WORDS[sum(r['five_first_perfect_step'] is None for r in rule['rows'])]} "
                                       "of the five runs none came within 2,000,000 match steps")]  # fmt: skip
    design = load("compare_design.json")
    trained = [r["steps_trained"] for r in design["runs"]]
    solved_big = [r for r in design["runs"] if "big_std" in r["arm"] and r["episodes"]]
    first, big = design["summary"].values()
    checks += [("docs/experiments.md", runs_table(design)),
               ("docs/experiments.md", f"so the runs reached {min(trained) / 1e6:.2f}-{max(trained) / 1e6:.2f} M match "
                                       "steps"),
               ("Report.md", f"it solved on {first['solved']} of 3 seeds, and with std 0.1 on {big['solved']} of 3"
                             + (", after " + " and ".join(f"{r['env_steps']:,}" for r in solved_big) + " match steps"
                                if solved_big else "."))]
    small, wide_std = (row["outside_clip_by_age"] for row in load("design_ratio.json")["rows"])
    checks.append(("docs/experiments.md", f"from {small[1]:.2f} at one learning step old to {small[15]:.2f} at fifteen; "
                                          f"with std 0.1 it stays at or below {max(wide_std):.2f}"))
    bridge = load("unity_bridge.json")
    one, many = bridge["rows"][0], max(bridge["rows"], key=lambda r: r["matches"])
    checks += [("README.md", f"{one['unityagents']:,} decisions per second through `unityagents` against "
                             f"{one['direct']:,} through the direct API at one match "
                             f"({one['direct'] / one['unityagents']:.0f} times fewer)"),
               ("Report.md", f"the simulator runs {one['unityagents']:,} decisions per second at one match against "
                             f"{one['direct']:,} directly, and {many['unityagents']:,} match decisions per second with "
                             f"{many['matches']} arenas"),
               ("docs/experiments.md", f"{one['unityagents']:,} decisions per second at one match against "
                                       f"{one['direct']:,} directly, and {many['unityagents']:,} match decisions per "
                                       f"second with {many['matches']} arenas")]
    for r in load("env_throughput.json")["rows"]:
        checks.append(("docs/experiments.md", f"| {r['matches']:,} | {r['agent_decisions_per_second']:,} | "
                                              f"{r['us_per_step']} |"))
    return checks


def deeper_evaluation() -> list[tuple[str, str]]:
    rows = load("evaluate_default.json")["rows"]
    checks = [("docs/experiments.md", f"| {r['serves_at_ceiling']} of {r['serves']} | {r['in_flight_at_ceiling']} of "
                                      f"{r['in_flight']} | {r['cuts_recovered']:,} of {r['cuts']:,} |") for r in rows]
    share = {k: [100 * r[a] / r[b] for r in rows] for k, a, b in (("serve", "serves_at_ceiling", "serves"),
             ("flight", "in_flight_at_ceiling", "in_flight"), ("cut", "cuts_recovered", "cuts"))}  # fmt: skip
    span = {k: f"{min(v):.0f}-{max(v):.0f} %" for k, v in share.items()}
    checks.append(("docs/experiments.md", f"Serves are kept in play {span['serve']} of the time, starts after the "
                                          f"policy's own timeouts {span['flight']}, and rallies cut at any phase "
                                          f"{span['cut']}"))
    return checks


def mutation_testing() -> list[tuple[str, str]]:
    if not (ROOT / "results" / "mutation.json").is_file():  # the first `make mutation` runs these tests to write it
        return []
    rows = load("review_mutations.json")["rows"]
    total = load("mutation.json")["total"]
    detected = total["killed"] + total["timeout"]
    return [("docs/testing.md", f"{sum(r['killed'] for r in rows)} of {len(rows)} breakages fail a test"),
            ("docs/testing.md", f"{total['mutants']:,} mutants: {detected:,} detected (killed or timed out), "
                                f"{total['survived']:,} survived ({total['equivalent']:,} that change no behaviour and "
                                f"{total['survived'] - total['equivalent']} known gaps), and {total['no_tests']:,} not "
                                "reached by the fast tests"),
            ("docs/testing.md", f"{100 * total['detected_share_of_non_equivalent']:.1f} % of the non-equivalent "
                                "mutants that the fast tests reach")]


def course_checkpoints() -> list[tuple[str, str]]:
    rows = {r["repo"]: r for r in load("course_checkpoints.json")["rows"]}
    reads = {48: "both rackets (48)", 24: "own racket (24)"}
    checks = [("docs/tennis_environment.md", f"| {repo} | {reads[int(r['layout'].split()[0])]} | {r['mean']:.3f}, "
               f"{r['ceiling']} |") for repo, r in rows.items()]  # fmt: skip
    fury = rows["Fury1/DeepRL-Tennis"]
    checks.append(("README.md", f"checkpoint_actor.pth: {fury['layout']} 100 episodes: mean score {fury['mean']:.3f}, "
                                f"median {fury['median']:.2f}; {fury['at_least_half']}% at or above 0.5, "
                                f"{fury['ceiling']}% kept to the step limit (the ceiling)"))
    kept = sorted(rows[repo]["ceiling"] for repo in ("DarylRodrigo/drlnd-Tennis", "Fury1/DeepRL-Tennis"))
    checks.append(("Report.md", f"the two whose recorded Unity rally lasted to the step limit keep {kept[0]} and "
                                f"{kept[1]} of 100 rallies to the limit here"))
    joint = rows["tommytracey/DeepRL-P3-Collaboration-Competition"]
    assert joint["ceiling"] == joint["swapped"]["ceiling"] == 0  # "none of 100 here", with either racket order
    return checks


def contention() -> list[tuple[str, str]]:
    results = load("contention.json")
    (one, two), sim = results["ratios"], results["simulator"]
    assert one["same_match_steps"] and two["same_match_steps"]  # "solved at the same match steps"
    return [("README.md", f"in a median of {one['seconds_ratio_median']:.2f} and {two['seconds_ratio_median']:.2f} "
                          "times the quiet run's seconds"),
            ("README.md", f"at 2,048 matches it kept {sim[1]['shipped'] / sim[0]['shipped']:.0%} of its quiet rate with "
                          "one busy core")]


def averaged_only() -> list[tuple[str, str]]:
    averaged, default = load("solve_averaged_only.json")["rows"], load("solve_default.json")["rows"]
    same_seeds = [r for r in default if r["seed"] in {a["seed"] for a in averaged}]
    med = [np.median([r["env_steps"] for r in rows]) for rows in (averaged, same_seeds)]
    ceiling = [sum(r["ceiling_seconds"] is not None for r in rows) for rows in (averaged, same_seeds)]
    miss = [sum(map(misses, rows)) for rows in (averaged, same_seeds)]
    perfect = [sum(r["eval_ceiling"] == r["eval_episodes"] for r in rows) for rows in (averaged, same_seeds)]
    n = len(averaged)
    assert all(r["episodes"] for r in averaged) and max(perfect) < n  # "neither reaches 100 of 100 ..."
    return [("docs/experiments.md", f"it solved on all {NUMBER_WORDS[n]} in a median of {med[0]:,.0f} match steps against "
                                    f"{med[1]:,.0f} for the default on the same seeds, reached a check with all 200 "
                                    f"rallies at the ceiling on {ceiling[0]} of {n} against {ceiling[1]}, and its kept "
                                    f"policies missed {miss[0]} evaluation episodes in all against {miss[1]} "
                                    f"({perfect[0]} and {perfect[1]} of {n} at 100 of 100)"),
            ("docs/experiments.md", f"for {med[0] / med[1]:.1f} times the match steps, so the default stays"),
            ("Report.md", f"averaging alone kept all 100 on {perfect[0]} of {n} seeds against {perfect[1]}")]


def averaged_practice16() -> list[tuple[str, str]]:
    """Averaging alone with 16 practice matches against the default on the same seeds, and their deeper evaluation."""
    rows, default = load("solve_averaged_practice16.json")["rows"], load("solve_default.json")["rows"]
    seeds = {r["seed"] for r in rows}
    same = [r for r in default if r["seed"] in seeds]
    deep = load("evaluate_averaged_practice16.json")["rows"]
    deep_default = [r for r in load("evaluate_default.json")["rows"]
                    if any(f"/seed_{k}/" in r["checkpoint"] for k in seeds)]  # fmt: skip
    assert len(deep) == len(deep_default) == len(rows) and all(r["episodes"] for r in rows)
    med = [np.median([r["env_steps"] for r in group]) for group in (rows, same)]
    ceiling = [sum(r["ceiling_seconds"] is not None for r in group) for group in (rows, same)]
    miss = [sum(map(misses, group)) for group in (rows, same)]
    perfect = [sum(r["eval_ceiling"] == r["eval_episodes"] for r in group) for group in (rows, same)]
    flight = [(sum(r["in_flight"] - r["in_flight_at_ceiling"] for r in g), sum(r["in_flight"] for r in g))
              for g in (deep, deep_default)]  # fmt: skip
    cuts = [(sum(r["cuts_recovered"] for r in g), sum(r["cuts"] for r in g)) for g in (deep, deep_default)]
    n = len(rows)
    first_perfect = sum(r["eval_ceiling"] == r["eval_episodes"] for r in rows if r["seed"] < 5)
    first_flight = [sum(r["in_flight"] - r["in_flight_at_ceiling"] for r in g if re.search(r"/seed_[0-4]/", r["checkpoint"]))
                    for g in (deep, deep_default)]  # fmt: skip
    return [("docs/experiments.md", f"it solved on all {NUMBER_WORDS[n]} in a median of {med[0]:,.0f} match steps against "
                                    f"{med[1]:,.0f} for the default on the same seeds, reached a check with all 200 "
                                    f"rallies at the ceiling on {ceiling[0]} of {n} against {ceiling[1]}, and its kept "
                                    f"policies missed {miss[0]} evaluation episodes in all against {miss[1]} "
                                    f"({perfect[0]} and {perfect[1]} of {n} at 100 of 100)"),
            ("docs/experiments.md", f"starts after the policy's own timeouts missed {flight[0][0]} of {flight[0][1]:,} "
                                    f"against {flight[1][0]} of {flight[1][1]:,} for the default's policies of the same "
                                    f"seeds, and {cuts[0][0]:,} of {cuts[0][1]:,} cut rallies recovered against "
                                    f"{cuts[1][0]:,} of {cuts[1][1]:,}. The price is {med[0] / med[1]:.1f} times the "
                                    "match steps to solve"),
            ("docs/experiments.md", f"({first_perfect} of 5 at 100 of 100, {first_flight[0]} in-flight misses against "
                                    f"{first_flight[1]} on seeds 0-4)"),
            ("Report.md", f"averaging alone with 16 practice matches missed {flight[0][0]} of {flight[0][1]:,} of those on "
                          f"{NUMBER_WORDS[n]} seeds against the default's {flight[1][0]}, for {med[0] / med[1]:.1f} times "
                          "the match steps")]


def maddpg_sweep() -> list[tuple[str, str]]:
    """The update-to-data sweep of a MADDPG given HAPPO's practice matches, against the default on ten seeds."""
    sweep, default = load("compare_maddpg_utd.json"), load("solve_default.json")["median"]
    s = sweep["summary"]
    assert solved_all(s)
    best = min(s, key=lambda label: s[label]["env_steps"]["median"])  # the fewest match steps: the hardest to beat
    steps, seconds = s[best]["env_steps"]["median"], s[best]["seconds"]["median"]
    fastest = min(s, key=lambda label: s[label]["seconds"]["median"])
    utd = lambda label: label.split(", ")[1].split(" ")[0]  # noqa: E731
    return [("docs/experiments.md", markdown_table(sweep)),
            ("docs/experiments.md", f"The fewest match steps came at {utd(best)} gradient steps per match step (median "
                                    f"{steps:,.0f}, after {seconds:.0f} s)"),
            ("docs/experiments.md", f"the fewest seconds at {utd(fastest)} ({s[fastest]['seconds']['median']:.0f} s)"),
            ("docs/experiments.md", f"the default needs {default['env_steps'] / steps:.1f} times its match steps "
                                    f"({default['env_steps']:,.0f}) and {default['seconds'] / seconds:.2f} times its "
                                    "seconds"),
            ("Report.md", f"at best {steps:,.0f} match steps (at {utd(best)} gradient steps per match step, after "
                          f"{seconds:.0f} s; two seeds per ratio)")]


def fair_maddpg() -> list[tuple[str, str]]:
    """HAPPO against MADDPG given HAPPO's practice matches, five seeds, both stopped at the solve."""
    results = load("compare_fair_maddpg.json")
    s = results["summary"]
    maddpg, happo = s  # MADDPG first: the reference of the tests and the ratios
    assert maddpg.startswith("MADDPG") and solved_all(s)
    h = s[happo]

    def ratio(col: str, digits: int) -> str:
        r = h[col]["ratio_to_first"]
        return f"{r['median']:.{digits}f} [{r['ci95'][0]:.{digits}f}, {r['ci95'][1]:.{digits}f}]"

    sentence = (f"HAPPO needed {ratio('env_steps', 2)} times MADDPG's match steps to solve (p = "
                f"{h['env_steps']['p_vs_first']:.2f}), {ratio('episodes_all', 2)} times its episodes counted with practice "
                f"rallies, and {ratio('seconds', 3)} times its seconds (p = {h['seconds']['p_vs_first']:.2f}). No "
                f"difference was detected between the evaluations of the policies at the solve (p = "
                f"{h['eval_avg']['p_vs_first']:.2f} on the average, {h['eval_ceiling']['p_vs_first']:.2f} on the episodes "
                "at the ceiling)")
    assert min(h["eval_avg"]["p_vs_first"], h["eval_ceiling"]["p_vs_first"]) > 0.05  # "no difference was detected"
    assert not any(r["check_median"] for r in results["runs"])  # "no run checked its policy before it stopped"
    assert h["env_steps"]["median"] > s[maddpg]["env_steps"]["median"]  # "the goal ... is missed"
    utd = load("compare_maddpg_utd.json")["summary"]
    steps = sorted(arm["env_steps"]["median"] for label, arm in utd.items() if not label.startswith("MADDPG, 0.125 "))
    return [("docs/experiments.md", markdown_table(results)), ("docs/experiments.md", sentence),
            ("docs/experiments.md", f"0.25, 0.5 and 1 solved in medians of {steps[0]:,.0f} to {steps[-1]:,.0f} match "
                                    "steps, which two seeds cannot rank"),
            ("Report.md", sentence)]


def happo_mappo() -> list[tuple[str, str]]:
    """No difference detected between HAPPO, MAPPO and HAPPO with a fixed order: the smallest p of the study, and
    MAPPO's ratio to HAPPO in match steps to solve."""
    results = load("compare_happo_mappo.json")
    summary = results["summary"]
    assert solved_all(summary)
    ps = {(arm, col): c["p_vs_first"] for arm, cols in summary.items() for col, c in cols.items()
          if isinstance(c, dict) and "p_vs_first" in c}  # fmt: skip
    (arm, column), smallest = min(ps.items(), key=lambda kv: kv[1])
    assert smallest > 0.05  # "no difference was detected"
    r = summary["MAPPO (M = 1)"]["env_steps"]["ratio_to_first"]
    sentence = (f"the smallest p is {smallest:.2f} ({arm} against HAPPO, {ARM_COLUMNS[column]}), and MAPPO needed "
                f"{r['median']:.2f} [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}] times HAPPO's match steps to solve")
    return [("docs/experiments.md", markdown_table(results)), ("docs/experiments.md", sentence),
            ("Report.md", sentence)]


def quoted() -> list[tuple[str, str]]:
    return (make_train_and_ten_seeds() + changes_study() + older_studies() + deeper_evaluation() + mutation_testing()
            + course_checkpoints() + contention() + averaged_only() + averaged_practice16() + maddpg_sweep()
            + fair_maddpg() + happo_mappo())


@pytest.mark.parametrize(("doc", "text"), quoted(), ids=lambda v: v if v.endswith(".md") else v[:60])
def test_the_docs_quote_the_committed_results(doc, text):
    assert " ".join(text.split()) in flowing(doc), f"{doc} should say: {text}"


def cell(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def test_the_hyperparameter_table_is_the_configs():
    """Report section 3: one row per HAPPOConfig field, the default (bold where it differs) beside seed_design()."""
    default, original = asdict(HAPPOConfig()), asdict(HAPPOConfig.seed_design())
    rows = [line for line in (ROOT / "Report.md").read_text().splitlines() if line.startswith("| `")]
    assert [re.match(r"\| `(\w+)`", row).group(1) for row in rows] == list(default)
    for row, (field, value) in zip(rows, default.items()):
        shown = f"**{cell(value)}**" if value != original[field] else cell(value)
        assert row.startswith(f"| `{field}` | {shown} | {cell(original[field])} | "), row


def test_the_notebook_text_states_the_codes_numbers():
    """The notebook's markdown: the task's numbers, the checks' layout and seeds, the academy's limit."""
    cells = json.loads((ROOT / "Tennis.ipynb").read_text())["cells"]
    text = " ".join(" ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown").split())
    params = TennisParams()
    decision_ticks = params.max_ticks // 1000  # the 1001st decision is the timeout
    for quote in (f"+{params.hit_reward:g} for hitting the ball over the net", f"{params.miss_reward:g} when the ball",
                  f"average score over {SOLVE_WINDOW} consecutive episodes reaches +{SOLVE_SCORE:g}",
                  f"{NUMBER_WORDS[CHECK_RALLIES]} consecutive rallies in each of {CHECK_MATCHES} matches of seed "
                  f"`SEED + {CHECK_SEED_OFFSET}`", f"in all {CHECK_MATCHES * CHECK_RALLIES} rallies",
                  f"({params.academy_max_ticks // decision_ticks:,} decisions after a reset",
                  "repeats the racket's velocity where the ball's belongs"):
        assert quote in text, quote


def test_the_report_is_short_and_covers_the_rubric():
    report = (ROOT / "Report.md").read_text()
    assert len(report.encode()) <= 15_000
    for heading in ("## 1. Learning algorithm", "## 2. Model architectures", "## 3. Hyperparameters",
                    "## 4. Plot of rewards", "## 5. Ten seeds", "## 6. Comparisons", "## 7. Ideas for future work"):
        assert heading in report
    for figure in ("image/advantage_decomposition.png", "image/sequential_update.png", "image/pseudocode.png",
                   "image/training_curve.png", "image/solve_default.png"):
        assert figure in report and (ROOT / figure).is_file()
    for anchor in re.findall(r"docs/experiments\.md#([\w-]+)", report):  # every "details" link lands on a heading
        headings = re.findall(r"^#+ (.+)$", (ROOT / "docs/experiments.md").read_text(), re.M)
        assert anchor in {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}, anchor


def test_no_doc_names_a_file_the_clone_lacks():
    """Paths in backticks or links must exist, except what runs create (runs/, build/, .venv) and examples."""
    made_by_runs = ("runs/", "build/", ".venv", "out/", "Tennis_Linux", "/path/", "/shared/", "~/")
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        assert "seed_report" not in text and "the design we were given" not in text, doc
        for path in re.findall(r"[`(]((?:[\w.-]+/)*[\w.-]+\.(?:py|md|json|csv|png|gif|txt|ipynb|toml))[`)#]", text):
            if "/" in path and not path.startswith(made_by_runs) and "*" not in path:
                base = (ROOT / doc).parent if path.startswith("../") else ROOT
                assert (base / path).exists() or (ROOT / path).exists(), f"{doc} names {path}"


def test_every_committed_result_names_its_command_in_the_docs():
    """Each results/*.json records the command that wrote it; the docs must give that command, so a reader can
    reproduce the file (a list of seed folders is written back as the glob the docs use)."""
    docs = " ".join(re.sub(r"\s+", " ", (ROOT / doc).read_text()) for doc in DOCS)
    for path in sorted((ROOT / "results").glob("*.json")):
        command = json.loads(path.read_text())["command"]
        command = re.sub(r"(\S*/seed_)\d+(/\S*)(?: \1\d+\2)+", r"\1*\2", command)
        assert command in docs, f"{path.name}: {command}"


def test_the_readme_recipe_for_unityagents_is_the_one_make_test_runs():
    makefile = (ROOT / "Makefile").read_text()
    deps = next(line.split(":=", 1)[1].strip() for line in makefile.splitlines() if line.startswith("UNITY_CLIENT_DEPS"))
    readme = (ROOT / "README.md").read_text()
    assert f"pip install {deps}\n" in readme and "pip install --no-deps unityagents==0.4.0\n" in readme
    assert "$(UNITY_CLIENT_DEPS)" in makefile and "--no-deps unityagents==0.4.0" in makefile


def test_the_design_std_search_picked_the_std_that_scored_best():
    runs = load("compare_design_std.json")["runs"]
    best = max(runs, key=lambda r: r["best"])
    assert best["arm"] == max(runs, key=lambda r: r["eval_avg"])["arm"] == "seed_design, std 0.1"
    assert "0.1 had the best 100-episode average and the best evaluation" in flowing("docs/experiments.md")


def test_the_goals_named_in_the_docs_are_the_studys():
    """The changes study counts the seeds that meet each goal; its table header is GOALS."""
    assert " | ".join(GOALS) in flowing("docs/experiments.md")


def test_every_test_the_adversarial_table_names_exists():
    """docs/adversarial.md says which test guards each fixed finding: each named test is there, so the table cannot
    point at a test that was renamed or removed."""
    text = (ROOT / "docs" / "adversarial.md").read_text()
    named = set(re.findall(r"`(tests(?:_unity)?/[\w/]+\.py)::(\w+)`", text))
    assert len(named) >= 20
    for path, name in named:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), f"{path}::{name}"
    attempts = len(re.findall(r"^\| \d+ \|", text.split("## Every attempt")[1], re.M))
    assert text.startswith(f"# Adversarial pass\n\n{attempts} attempts") and f"`adversarial.md` ({attempts} attempts" in (
        ROOT / "README.md").read_text()


def test_the_claims_table_is_of_the_docs_as_they_are():
    """docs/claims.md is tools/claims_table.py's output for the docs as they are now: every claim's quote is still in
    its file, at the line the table gives (run the tool after editing a doc)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from claims_table import CLAIMS, table

    assert (ROOT / "docs" / "claims.md").read_text() == table(json.loads(CLAIMS.read_text()))
