"""Differential check: the planner against an independent formulation of the README's rules.

A generator writes random campaigns (every rule, in many combinations, and the
edge cases that once broke the planner: $0 creators under a per-creator cap,
ties, package deals, must / exclude, shares of planned spend, budgets below
every cost, rules set exactly at a feasible plan's values). Each campaign is
solved twice:

- by the planner, from a real workbook, through the same library calls as
  ``planner plan`` (validation, solve, independent check, report);
- by :func:`independent_optimum`, written from the README's rule definitions
  alone and sharing no code with ``models/`` or ``planner/``: one yes/no
  variable per creator *and post count* (not the planner's post slots),
  solved by HiGHS directly at a 1e-9 relative gap.

:func:`compare` then asserts that both agree on whether a plan exists, that the
planner's plan is within its gap of the optimum, that its stated bound is at
least the optimum, and that its stated gap is (bound - plan) / plan.

Run ``python bench/differential.py --campaigns 5000`` for the bench counts
(written to RESULTS.md by hand); the test suite runs a few hundred small ones.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the planner, when run from a checkout

#: Default follower bands of the README: lower bound inclusive.
BANDS = (("nano", 0, 1e4), ("micro", 1e4, 1e5), ("mid", 1e5, 5e5), ("macro", 5e5, 1e6), ("mega", 1e6, math.inf))
NICHES = ("food", "beauty", "fitness", "travel", "tech")
PLATFORMS = ("instagram", "tiktok", "youtube")
SHEETS = {"niche": "Niches", "tier": "Tiers", "platform": "Platforms"}


@dataclass
class Spec:
    """A random campaign in the workbook's own terms (plain rows, as a planner would type them)."""

    seed: int
    creators: list  # dicts: creator, niche, platform, followers, engagement_rate, cost_per_post, ...
    budget: dict  # Budget sheet: setting -> value
    groups: dict = field(default_factory=dict)  # "niche"/"tier"/"platform" -> list of row dicts
    tags: tuple = ()  # which edge cases it exercises, for the counts per class

    def write(self, path: Path) -> Path:
        """Write the input workbook (openpyxl, as a planner's Excel would)."""
        wb = Workbook()
        wb.remove(wb.active)
        sheet = wb.create_sheet("Creators")
        header = []
        for row in self.creators:
            header += [k for k in row if k not in header]
        sheet.append(header)
        for row in self.creators:
            sheet.append([row.get(k) for k in header])
        sheet = wb.create_sheet("Budget")
        sheet.append(["setting", "value"])
        for key, value in self.budget.items():
            sheet.append([key, value])
        for dimension, rows in self.groups.items():
            if not rows:
                continue
            sheet = wb.create_sheet(SHEETS[dimension])
            columns = [dimension] + [k for k in ("min_share", "max_share", "min_creators", "max_creators", "weight")
                                     if any(k in r for r in rows)]
            sheet.append(columns)
            for row in rows:
                sheet.append([row.get(k) for k in columns])
        wb.save(path)
        return path


# --------------------------------------------------------------------------------------------
# The generator


def random_spec(seed: int, size: int | None = None) -> Spec:
    """A random, valid campaign; ``size`` creators (else 5-60, sometimes up to 300)."""
    rng = np.random.default_rng(seed)
    tags = []
    if size is None:
        size = int(rng.choice([rng.integers(1, 12), rng.integers(5, 60), rng.integers(60, 300)], p=[0.3, 0.55, 0.15]))
    n = size
    niches = list(NICHES[: rng.integers(1, len(NICHES) + 1)])
    followers = np.round(10 ** rng.uniform(3, 6.7, n)).astype(int)
    if rng.random() < 0.2:  # followers exactly at band edges
        edges = np.array([1e4, 1e5, 5e5, 1e6]).astype(int)
        pick = rng.random(n) < 0.4
        followers[pick] = rng.choice(edges, pick.sum())
        tags.append("band edges")
    rate = np.round(rng.uniform(0.005, 0.12, n), 4)
    # Cost grows with followers, with noise; some round numbers so ties happen.
    cost = np.round(followers * rng.uniform(0.005, 0.03, n) / 10) * 10 + 10
    if rng.random() < 0.25:
        zero = rng.random(n) < 0.2
        cost[zero] = 0
        tags.append("zero costs")
    ties = rng.random() < 0.2
    if ties:  # identical creators: many optimal plans
        twin = rng.integers(0, n, n)
        copy = rng.random(n) < 0.3
        followers[copy], rate[copy], cost[copy] = followers[twin[copy]], rate[twin[copy]], cost[twin[copy]]
        tags.append("ties")
    creators = []
    many_posts = rng.random() < 0.35
    packages = rng.random() < 0.2
    includes = rng.random() < 0.25
    tier_override = rng.random() < 0.1
    for i in range(n):
        row = {"creator": f"c{i}", "niche": str(rng.choice(niches)), "platform": str(rng.choice(PLATFORMS)),
               "followers": int(followers[i]), "engagement_rate": float(rate[i]), "cost_per_post": float(cost[i])}
        if many_posts:
            row["max_posts"] = int(rng.integers(1, 5))
        if packages and rng.random() < 0.3:
            top = row.get("max_posts", 1)
            row["max_posts"] = max(top, 2)
            row["min_posts"] = int(rng.integers(2, row["max_posts"] + 1))
        if includes:
            roll = rng.random()
            row["include"] = "must" if roll < 0.06 else "exclude" if roll < 0.15 else None
        if rng.random() < 0.05:
            row["authenticity"] = float(np.round(rng.uniform(0.5, 1.0), 2))
        if rng.random() < 0.03:
            row["expected_engagement"] = float(rng.integers(0, 5000))
        if tier_override and rng.random() < 0.2:
            row["tier"] = str(rng.choice([b[0] for b in BANDS]))
        creators.append(row)
    for name, on in (("many posts", many_posts), ("packages", packages), ("must/exclude", includes),
                     ("tier override", tier_override)):
        if on:
            tags.append(name)

    total_cost = float(sum(r["cost_per_post"] * r.get("max_posts", 1) for r in creators))
    paid = [r["cost_per_post"] for r in creators if r["cost_per_post"] > 0]
    roll = rng.random()
    if roll < 0.05 and paid:
        budget = float(max(1.0, min(paid) * rng.uniform(0.2, 0.95)))  # below every cost
        tags.append("budget below every cost")
    else:
        budget = float(max(100.0, np.round(total_cost * rng.uniform(0.05, 0.8), -1)))
    for row in creators:  # a must-include the budget can hardly afford is a different test (the pre-checks)
        if row.get("include") == "must" and row["cost_per_post"] * max(1, row.get("min_posts") or 0) > 0.05 * budget:
            row["include"] = None
    settings = {"total_budget": budget}
    if rng.random() < 0.4:
        settings["max_share_per_creator"] = float(rng.choice([0.02, 0.05, 0.08, 0.1, 0.2, 0.3, 0.5, 0.9] if n > 30 else
                                                             [0.1, 0.2, 0.3, 0.5, 0.9]))
        tags.append("per-creator cap")
    if rng.random() < 0.3:
        settings["repeat_post_decay"] = float(rng.choice([0.5, 0.7, 0.85, 1.0]))
    if rng.random() < 0.3:
        settings["share_basis"] = "spend"
        tags.append("share of spend")
    if rng.random() < 0.3:
        settings["max_creators"] = int(rng.integers(1, max(2, n // 2) + 1))
        tags.append("max_creators")
    if rng.random() < 0.15:
        settings["min_creators"] = int(rng.integers(1, max(2, n // 3) + 1))
        if settings.get("max_creators") is not None:
            settings["min_creators"] = min(settings["min_creators"], settings["max_creators"])
        tags.append("min_creators")

    # A reference plan, so some rules can be set exactly at a feasible plan's values.
    reference = _random_plan(rng, creators, budget)
    exact = rng.random() < 0.3
    if exact:
        tags.append("rules at a plan's values")
    groups = {}
    for dimension, names in (("niche", niches), ("tier", [b[0] for b in BANDS]), ("platform", list(PLATFORMS))):
        if rng.random() > 0.45:
            continue
        rows = []
        for name in names:
            if rng.random() < 0.4:
                continue
            row = {dimension: name}
            members = [i for i, r in enumerate(creators) if _dimension_of(r, dimension) == name]
            if not members and rng.random() < 0.9:
                continue
            spent = sum(reference[i] * creators[i]["cost_per_post"] for i in members)
            basis = budget if settings.get("share_basis", "budget") == "budget" else max(
                1e-9, sum(p * r["cost_per_post"] for p, r in zip(reference, creators)))
            share = spent / basis
            count = sum(1 for i in members if reference[i] > 0)
            at_plan = exact and rng.random() < 0.5  # this group's rule sits exactly at the reference plan's value
            if rng.random() < 0.35:
                row["min_share"] = float(share) if at_plan else float(np.round(rng.uniform(0, 0.15), 2))
            if rng.random() < 0.35:
                # At most one side sits at the plan's value: min = max on a share of money is an exact
                # subset-sum (any branch-and-bound may search for hours; a time limit is the answer there).
                low = row.get("min_share")
                high = share if at_plan and low is None else np.round(rng.uniform(0.1, 0.8), 2)
                row["max_share"] = float(min(1.0, high if low is None else max(high, low + 0.05)))
            if rng.random() < 0.2:
                row["min_creators"] = int(min(count, 2) if at_plan else rng.integers(0, 3))
            if rng.random() < 0.2:
                row["max_creators"] = int(max(row.get("min_creators", 0), count if at_plan else rng.integers(1, 6)))
            if dimension == "niche" and rng.random() < 0.3:
                row["weight"] = float(rng.choice([0.5, 1.5, 2.0, 0.0]))
            if len(row) > 1:
                rows.append(row)
        if rows:
            groups[dimension] = rows
            tags.append(f"{dimension} rules")
    return Spec(seed, creators, settings, groups, tuple(tags))


def _random_plan(rng, creators, budget) -> list:
    """Posts per creator of a random plan within budget (used to set rules at its values)."""
    posts = [0] * len(creators)
    left = budget
    for i in rng.permutation(len(creators)).tolist():
        row = creators[i]
        if row.get("include") == "exclude" or rng.random() < 0.5:
            continue
        p = max(1, row.get("min_posts", 0) or 0)
        if p <= row.get("max_posts", 1) and p * row["cost_per_post"] <= left:
            posts[i] = p
            left -= p * row["cost_per_post"]
    return posts


def _dimension_of(row: dict, dimension: str) -> str:
    """A creator's niche, platform or tier (tier: the override, else the default band)."""
    if dimension != "tier":
        return row[dimension]
    if row.get("tier"):
        return row["tier"]
    for name, low, high in BANDS:
        if low <= row["followers"] < high:
            return name
    return ""


# --------------------------------------------------------------------------------------------
# The independent formulation (README rules; no planner code)


@dataclass
class Optimum:
    feasible: bool | None  # None: the independent model did not settle within its time limit
    value: float | None = None
    posts: list | None = None


def independent_optimum(spec: Spec, time_limit: float = 60.0) -> Optimum:
    """The optimum of the README's program: one binary per (creator, exact post count), HiGHS at gap 1e-9."""
    settings = spec.budget
    budget = float(settings["total_budget"])
    cap = settings.get("max_share_per_creator")
    decay = float(settings.get("repeat_post_decay", 1.0))
    of_spend = settings.get("share_basis", "budget") == "spend"
    weights = {row["niche"]: row.get("weight", 1.0) for row in spec.groups.get("niche", [])}

    columns = []  # (creator index, posts, cost, value)
    for i, row in enumerate(spec.creators):
        if row.get("include") == "exclude":
            continue
        cost = float(row["cost_per_post"])
        if row.get("expected_engagement") is not None:
            per_post = float(row["expected_engagement"])
        else:
            per_post = row["followers"] * row["engagement_rate"] * row.get("authenticity", 1.0)
        per_post *= weights.get(row["niche"], 1.0)
        low, high = max(1, row.get("min_posts") or 0), row.get("max_posts", 1)
        for p in range(low, high + 1):
            if cap is not None and p * cost > cap * budget * (1 + 1e-12):
                break
            columns.append((i, p, p * cost, per_post * sum(decay ** k for k in range(p))))

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("mip_abs_gap", 1e-9)
    inf = highspy.kHighsInf
    for _, _, _, value in columns:
        h.addVar(0, 1)
    for j in range(len(columns)):
        h.changeColIntegrality(j, highspy.HighsVarType.kInteger)
        h.changeColCost(j, columns[j][3])
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def row(low, high, pairs):
        pairs = [(j, c) for j, c in pairs if c != 0]
        h.addRow(low, high, len(pairs), [j for j, _ in pairs], [c for _, c in pairs])

    by_creator = {}
    for j, (i, _, _, _) in enumerate(columns):
        by_creator.setdefault(i, []).append(j)
    for i, row_ in enumerate(spec.creators):
        js = by_creator.get(i, [])
        if row_.get("include") == "must":
            if not js:
                return Optimum(False)
            row(1, 1, [(j, 1.0) for j in js])
        elif len(js) > 1:
            row(-inf, 1, [(j, 1.0) for j in js])
    spend = [(j, c[2]) for j, c in enumerate(columns)]
    row(-inf, budget, spend)
    booked = [(j, 1.0) for j in range(len(columns))]
    row(settings.get("min_creators", -inf) if settings.get("min_creators") is not None else -inf,
        settings.get("max_creators") if settings.get("max_creators") is not None else inf, booked)
    for dimension, rows in spec.groups.items():
        for rule in rows:
            inside = [j for j, c in enumerate(columns)
                      if _dimension_of(spec.creators[c[0]], dimension) == rule[dimension]]
            member = set(inside)
            for key, sense in (("min_share", ">="), ("max_share", "<=")):
                share = rule.get(key)
                if share is None:
                    continue
                if of_spend:  # group spend - share x all spend, against 0
                    pairs = [(j, columns[j][2] * ((j in member) - share)) for j in range(len(columns))]
                    row(0, inf, pairs) if sense == ">=" else row(-inf, 0, pairs)
                else:
                    pairs = [(j, columns[j][2]) for j in inside]
                    row(share * budget, inf, pairs) if sense == ">=" else row(-inf, share * budget, pairs)
            low, high = rule.get("min_creators"), rule.get("max_creators")
            if low is not None or high is not None:
                row(low if low is not None else -inf, high if high is not None else inf, [(j, 1.0) for j in inside])
    if not columns:
        # Only the empty plan: feasible when every rule holds for it.
        return Optimum(_empty_plan_holds(spec), 0.0, [0] * len(spec.creators))
    h.setOptionValue("time_limit", float(time_limit))
    h.run()
    status = h.getModelStatus()
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return Optimum(False)
    if status != highspy.HighsModelStatus.kOptimal:
        return Optimum(None)  # not settled in time: the campaign is counted, not compared
    x = np.round(np.asarray(h.getSolution().col_value))
    posts = [0] * len(spec.creators)
    for j in np.flatnonzero(x > 0.5).tolist():
        posts[columns[j][0]] = columns[j][1]
    return Optimum(True, float(h.getInfo().objective_function_value), posts)


def _empty_plan_holds(spec: Spec) -> bool:
    """Whether booking nobody keeps every rule."""
    settings = spec.budget
    if any(r.get("include") == "must" for r in spec.creators):
        return False
    if (settings.get("min_creators") or 0) > 0:
        return False
    of_spend = settings.get("share_basis", "budget") == "spend"
    for rows in spec.groups.values():
        for rule in rows:
            if (rule.get("min_creators") or 0) > 0:
                return False
            if not of_spend and (rule.get("min_share") or 0) > 0:
                return False
    return True


# --------------------------------------------------------------------------------------------
# Running the planner and comparing


@dataclass
class Outcome:
    exit_code: int
    value: float | None = None
    bound: float | None = None
    gap: float | None = None
    gap_limit: float | None = None
    proven: bool = False
    seconds: float = 0.0
    message: str = ""


def run_planner(spec: Spec, folder: Path, solver: str = "highs", explain: bool = False, report: bool = True) -> Outcome:
    """Plan the campaign as ``planner plan`` does; the exit code is the one the command would give."""
    from models.plan import Status
    from planner.errors import PlannerError
    from planner.pipeline import load_campaign, make_plan, plan_to_workbook

    path = spec.write(folder / f"campaign{spec.seed}.xlsx")
    started = time.perf_counter()
    try:
        if report:
            _, plan = plan_to_workbook(path, folder / f"plan{spec.seed}.xlsx", solver=solver, explain=explain)
        else:
            campaign, _, _ = load_campaign(path, solver=solver)
            plan = make_plan(campaign)
    except PlannerError as exc:
        return Outcome(exc.exit_code, seconds=time.perf_counter() - started, message=str(exc)[:300])
    outcome = plan.outcome
    return Outcome(0, plan.engagement, outcome.bound, outcome.gap, outcome.gap_limit, outcome.status is Status.OPTIMAL,
                   time.perf_counter() - started)


def compare(spec: Spec, optimum: Optimum, outcome: Outcome) -> list:
    """Every disagreement between the planner and the independent optimum (empty when they agree)."""
    problems = []
    if optimum.feasible is None:
        return problems
    if not optimum.feasible:
        if outcome.exit_code != 3:
            problems.append(f"independent model: rules cannot all hold; planner exit {outcome.exit_code}")
        return problems
    if outcome.exit_code != 0:
        return [f"independent optimum {optimum.value:.6g}; planner exit {outcome.exit_code}: {outcome.message}"]
    value, bound, gap, limit = outcome.value, outcome.bound, outcome.gap, outcome.gap_limit
    tolerance = 1e-6 * max(1.0, abs(optimum.value))
    if not outcome.proven:
        problems.append("not proven (no time limit was set)")
    if optimum.value > value * (1 + limit) + tolerance:
        problems.append(f"plan {value:.10g} more than the gap {limit:g} below the optimum {optimum.value:.10g}")
    if bound is None:
        problems.append("no bound stated")
    else:
        if bound < optimum.value - tolerance:
            problems.append(f"stated bound {bound:.10g} below the optimum {optimum.value:.10g}")
        if bound < value - tolerance:
            problems.append(f"stated bound {bound:.10g} below the plan {value:.10g}")
        # (bound - plan) / plan; a difference below 1e-9 (a plan worth 0, say) is no gap.
        expected_gap = max(0.0, bound - value) / max(abs(value), 1e-10) if bound - value > 1e-9 else 0.0
        if gap is None or abs(gap - expected_gap) > 1e-9 + 1e-6 * expected_gap:
            problems.append(f"stated gap {gap} is not (bound - plan) / plan = {expected_gap:.6g}")
        elif outcome.proven and gap > limit + 1e-12:
            problems.append(f"called proven with gap {gap:.6g} above the limit {limit:g}")
    return problems


def check_one(seed: int, folder: Path, solver: str = "highs", size=None, explain=False, report=True):
    """(spec, optimum, outcome, problems) for one random campaign."""
    spec = random_spec(seed, size)
    optimum = independent_optimum(spec)
    outcome = run_planner(spec, folder, solver, explain=explain, report=report)
    return spec, optimum, outcome, compare(spec, optimum, outcome)


class _TooLong(Exception):
    """A campaign ran past the harness's watchdog."""


def _alarm(signum, frame):
    raise _TooLong()


def _one_job(job):
    """Run one campaign in a worker process; a watchdog stops one that runs too long."""
    import signal

    seed, solver, size, explain, watchdog = job
    report = explain  # the whole `planner plan` job (report written) on the campaigns explained too
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(watchdog)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        spec = random_spec(seed, size)
        try:
            spec, optimum, outcome, problems = check_one(seed, Path(tmp), solver, size, explain=explain, report=report)
        except _TooLong:
            optimum, outcome = Optimum(None), Outcome(-1, seconds=time.perf_counter() - started)
            problems = [f"still running after the {watchdog} s watchdog"]
        finally:
            signal.alarm(0)
    return seed, solver, len(spec.creators), spec.tags, optimum.feasible, optimum.value, outcome.seconds, problems


def outcome_unfinished(problems) -> bool:
    """True when the only problem is the watchdog stopping the campaign."""
    return len(problems) == 1 and problems[0].startswith("still running")


def main(argv=None) -> int:
    import multiprocessing

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--solver", choices=("highs", "cbc", "both"), default="both")
    parser.add_argument("--explain-every", type=int, default=10,
                        help="run every n-th campaign as `planner plan` does, report and explanations included "
                             "(the others stop after the checked plan)")
    parser.add_argument("--large-every", type=int, default=50, help="every n-th campaign has 1,000-3,000 creators")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--watchdog", type=int, default=120, help="seconds before a campaign counts as stuck")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    jobs = []
    for seed in range(args.first_seed, args.first_seed + args.campaigns):
        solver = args.solver if args.solver != "both" else ("highs", "cbc")[seed % 2]
        large = args.large_every and seed % args.large_every == 7
        size = int(np.random.default_rng(seed).integers(1000, 3001)) if large else None
        jobs.append((seed, solver, size, args.explain_every > 0 and seed % args.explain_every == 0, args.watchdog))
    counts, failures, slow, longest = Counter(), [], [], {}
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.workers, maxtasksperchild=200) as pool:
        for k, (seed, solver, n, tags, feasible, value, seconds, problems) in enumerate(
                pool.imap_unordered(_one_job, jobs)):
            kind = ("unsettled" if feasible is None else "infeasible" if not feasible
                    else "empty optimum" if value == 0 else "plan")
            counts[f"outcome: {kind}"] += 1
            counts[f"solver: {solver}"] += 1
            band = "≤ 300" if n <= 300 else "1,000-3,000"
            counts[f"creators: {band}"] += 1
            for tag in tags:
                counts[f"class: {tag}"] += 1
            if problems and outcome_unfinished(problems) and n > 300:
                # Larger campaigns have no time promise: one still running is counted, not failed.
                counts["unfinished within the watchdog (> 300 creators)"] += 1
                slow.append({"seed": seed, "solver": solver, "creators": n, "seconds": round(seconds, 1)})
                continue
            counts["failures"] += bool(problems) or (n <= 300 and seconds > 30)
            longest[band] = max(longest.get(band, 0.0), seconds)
            if n <= 300 and seconds > 30:
                slow.append({"seed": seed, "solver": solver, "creators": n, "seconds": round(seconds, 1)})
                failures.append({"seed": seed, "solver": solver, "creators": n, "problems": ["over 30 s"]})
            if problems:
                failures.append({"seed": seed, "solver": solver, "creators": n, "problems": problems})
                print(f"seed {seed} ({solver}, {n} creators): {'; '.join(problems)}", flush=True)
            if (k + 1) % 100 == 0:
                print(f"{k + 1} campaigns, {counts['failures']} failures, longest {longest}", flush=True)
    summary = {"campaigns": args.campaigns, "first_seed": args.first_seed,
               "seconds": round(time.perf_counter() - started),
               "counts": dict(sorted(counts.items())), "longest_seconds": longest, "slow": slow,
               "failures": failures}
    print(json.dumps(summary, indent=1))
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
