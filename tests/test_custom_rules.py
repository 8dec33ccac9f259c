"""Objectives beyond engagement and the Custom rules sheet: hand-built campaigns, optima by enumeration.

Each expected optimum is found here by listing every plan and applying the contract's formulas
(written out below, not taken from the planner), then compared with the planner's plan on both
solver paths.
"""

from __future__ import annotations

import itertools

import pytest

from planner.api import plan as api_plan
from tests.conftest import read_table, run_cli, write_workbook

CUSTOM_HEADER = ["rule", "measure", "per", "where", "weight_column", "min", "max", "min_share", "max_share"]

# Seven creators: (handle, niche, followers, rate, cost, max_posts, audience_us, agency, clicks, expected_reach,
# conversion_rate)
ROSTER = [
    ("@a", "food", 50_000, 0.040, 300, 2, 0.80, "Acme", 90, None, 0.02),
    ("@b", "food", 120_000, 0.020, 400, 2, 0.30, "Acme", 40, 30_000, 0.01),
    ("@c", "tech", 20_000, 0.080, 200, 1, 0.90, "Bolt", 70, None, 0.03),
    ("@d", "tech", 300_000, 0.010, 600, 2, 0.20, "Acme", 200, None, None),
    ("@e", "pets", 8_000, 0.120, 150, 1, 0.65, "Core", 20, 2_000, 0.05),
    ("@f", "pets", 60_000, 0.030, 350, 2, 0.10, "Bolt", 60, None, 0.02),
    ("@g", "food", 15_000, 0.060, 250, 1, 0.55, "Core", 35, None, None),
]
BUDGET = 1_500.0
DECAY = 0.5
REACH_RATE = 0.25  # Budget setting: share of followers a post reaches (no authenticity column: 1)
TIER_CONVERSION = {"nano": 0.04, "micro": 0.015, "mid": 0.012}


def tier(followers):
    return "nano" if followers < 10_000 else "micro" if followers < 100_000 else "mid"


def per_post(metric, c):
    """The contract's value of one post, before decay and niche weight."""
    handle, niche, followers, rate, cost, max_posts, us, agency, clicks, reach, conversion = c
    engagement = followers * rate
    if metric == "engagement":
        return engagement
    if metric == "reach":
        return reach if reach is not None else followers * REACH_RATE
    if metric == "conversions":
        return engagement * (conversion if conversion is not None else TIER_CONVERSION[tier(followers)])
    if metric == "clicks":
        return clicks
    raise AssertionError(metric)


def total(metric, c, posts, decayed=True):
    value = per_post(metric, c) if metric in ("engagement", "reach", "conversions", "clicks") else metric
    if decayed and metric in ("engagement", "reach", "conversions"):
        return value * sum(DECAY**k for k in range(posts))
    return value * posts


def best_by_enumeration(objective, rules, weights=None):
    """(best objective value, its plans): every plan within budget and max_posts, each rule applied."""
    weights = weights or {}
    best, plans = -1.0, []
    for posts in itertools.product(*[range(c[5] + 1) for c in ROSTER]):
        if sum(p * c[4] for p, c in zip(posts, ROSTER)) > BUDGET + 1e-9:
            continue
        if not all(rule(posts) for rule in rules):
            continue
        # The objective's later posts decay whatever it is (the contract's per-post values are "before decay").
        value = sum(per_post(objective, c) * sum(DECAY**k for k in range(p)) * weights.get(c[1], 1.0)
                    for p, c in zip(posts, ROSTER))
        if value > best + 1e-9:
            best, plans = value, [posts]
        elif abs(value - best) <= 1e-9:
            plans.append(posts)
    return best, plans


def workbook(tmp_path, solver, custom=(), objective=None, niches=None, tiers=True, name="in.xlsx"):
    rows = []
    for handle, niche, followers, rate, cost, max_posts, us, agency, clicks, reach, conversion in ROSTER:
        rows.append({"creator": handle, "niche": niche, "followers": followers, "engagement_rate": rate,
                     "cost_per_post": cost, "max_posts": max_posts, "audience_us": us, "agency": agency,
                     "clicks": clicks, "expected_reach": reach, "conversion_rate": conversion})
    budget = {"total_budget": BUDGET, "repeat_post_decay": DECAY, "reach_rate": REACH_RATE, "solver": solver,
              "mip_gap": 0}
    if objective:
        budget["objective"] = objective
    tier_rows = [{"tier": t, "conversion_rate": r} for t, r in TIER_CONVERSION.items()] if tiers else None
    sheets = {"Custom rules": [CUSTOM_HEADER, *custom]} if custom else None
    return write_workbook(tmp_path / name, rows, budget=budget, niches=niches, tiers=tier_rows, extra_sheets=sheets)


def posts_of(result):
    booked = dict(zip(result.campaign.creators["creator"], result.plan.posts.tolist()))
    return tuple(booked[c[0]] for c in ROSTER)


@pytest.mark.parametrize("objective", ["engagement", "reach", "conversions", "clicks"])
def test_each_objective_plans_for_what_it_names(tmp_path, solver, objective):
    niches = [{"niche": "pets", "weight": 2}]  # weights shape the objective, whatever it is
    path = workbook(tmp_path, solver, objective=None if objective == "engagement" else objective, niches=niches)
    result = api_plan(path)
    best, plans = best_by_enumeration(objective, [], weights={"pets": 2.0})
    assert result.plan.engagement == pytest.approx(best, rel=1e-9)
    assert posts_of(result) in plans
    assert result.plan.outcome.status.value == "proven optimal"


def test_objectives_disagree_so_the_tests_above_tell_them_apart():
    plans = {objective: set(best_by_enumeration(objective, [])[1]) for objective in
             ("engagement", "reach", "conversions", "clicks")}
    for one, other in itertools.combinations(plans, 2):
        assert not plans[one] & plans[other], (one, other)


def scoped(metric, where=lambda c: True, weight=lambda c: 1.0, per="post"):
    """A measure of the plan as the contract defines it (the plan's posts per creator -> total)."""
    def measure(posts):
        out = 0.0
        for p, c in zip(posts, ROSTER):
            if not where(c) or p == 0:
                continue
            if metric == "creators":
                value = 1.0
            elif metric == "spend":
                value = c[4] * (1 if per == "creator" else p)
            elif metric == "posts":
                value = 1 if per == "creator" else p
            elif metric == "followers":
                value = c[2] * (1 if per == "creator" else p)
            elif per == "creator":
                value = per_post(metric, c)
            else:
                value = total(metric, c, p)
            out += value * weight(c)
        return out
    return measure


CASES = {
    # audience: engagement weighted by audience_us at least 60% of the plan's engagement
    "audience": ([["US audience", "engagement", None, None, "audience_us", None, None, "60%", None]],
                 lambda posts: (scoped("engagement", weight=lambda c: c[6])(posts)
                                >= 0.6 * scoped("engagement")(posts) - 1e-9)),
    "agency cap": ([["Acme cap", "creators", None, "agency = Acme", None, None, 1, None, None]],
                   lambda posts: scoped("creators", where=lambda c: c[7] == "Acme")(posts) <= 1),
    "conflict": ([["rivals", "creators", "creator", "creator in (@a, @c)", None, None, 1, None, None]],
                 lambda posts: scoped("creators", where=lambda c: c[0] in ("@a", "@c"))(posts) <= 1),
    "reach floor": ([["reach floor", "reach", None, None, None, 124_000, None, None, None]],
                    lambda posts: scoped("reach")(posts) >= 124_000 - 1e-9),
    "followers per creator": ([["followers cap", "followers", "creator", None, None, None, 400_000, None, None]],
                              lambda posts: scoped("followers", per="creator")(posts) <= 400_000),
    "spend where, posts max": ([["food spend", "spend", None, "niche = food", None, 900, None, None, None],
                                ["posts", "posts", None, None, None, None, 3, None, None]],
                               lambda posts: scoped("spend", where=lambda c: c[1] == "food")(posts) >= 900
                               and scoped("posts")(posts) <= 3),
    "reach share per creator": (
        [["tech reach", "reach", "creator", "niche in (tech, pets)", None, None, None, None, 0.5]],
        lambda posts: scoped("reach", where=lambda c: c[1] in ("tech", "pets"), per="creator")(posts)
        <= 0.5 * scoped("reach", per="creator")(posts) + 1e-9),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_custom_rule_form_has_the_enumerated_optimum(tmp_path, solver, case):
    rows, holds = CASES[case]
    free, _ = best_by_enumeration("engagement", [])
    best, plans = best_by_enumeration("engagement", [holds])
    assert best < free - 1e-6, "the rule must bind, or the case tests nothing"
    result = api_plan(workbook(tmp_path, solver, rows))
    assert result.plan.engagement == pytest.approx(best, rel=1e-9)
    assert holds(posts_of(result))
    assert result.plan.outcome.status.value == "proven optimal"


def test_custom_rules_are_on_the_rules_sheet_in_words_and_priced_when_binding(tmp_path):
    rows = CASES["agency cap"][0] + CASES["audience"][0]
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", workbook(tmp_path, "highs", rows), "-o", out)
    assert result.exit_code == 0, result.output
    rules = read_table(out, "Rules").set_index("rule")
    assert rules.at["custom_max:Acme cap", "description"] == "Acme cap: at most 1 creator (agency = Acme)"
    assert rules.at["custom_max:Acme cap", "binding"] == "binding"
    assert "custom_min_share:US audience" in rules.index
    assert rules.at["custom_min_share:US audience", "planned"] >= 0.6 - 1e-9  # the audience share achieved
    why = read_table(out, "Rules", snake=True)
    priced = [c for c in why.columns if "loosen" in c or "gain" in c or "cost" in c]
    assert priced, why.columns.tolist()
    assert why.set_index("rule").loc["custom_max:Acme cap", priced].notna().any()


def test_a_custom_rule_that_cannot_hold_is_named_by_the_diagnosis(tmp_path):
    rows = [["huge reach", "reach", None, None, None, 10_000_000, None, None, None]]
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", workbook(tmp_path, "highs", rows), "-o", out)
    assert result.exit_code == 3, result.output
    assert "huge reach" in result.output and "Custom rules sheet" in result.output


@pytest.mark.parametrize("row, column, words", [
    (["r", "audience_uk", None, None, None, None, 5, None, None], "measure", "is not a measure or a Creators column"),
    (["r", "agency", None, None, None, None, 5, None, None], "measure", "is a text column"),
    (["r", "creators", None, "agency = Nobody", None, None, 1, None, None], "where", "no creator has agency = Nobody"),
    (["r", "creators", None, "agency", None, None, 1, None, None], "where", "write 'column = value'"),
    (["r", "creators", None, "agency != Acme", None, None, 1, None, None], "where", "(no other comparison)"),
    (["r", "creators", None, "max_posts >= 2", None, None, 1, None, None], "where", "(no other comparison)"),
    (["r", "spend", None, None, None, 500, 100, None, None], "max", "max is below min"),
    (["r", "spend", None, "team = x", None, None, 100, None, None], "where", "no Creators column 'team'"),
    (["r", "engagement", None, None, "agency", None, None, 0.5, None], "weight_column",
     "is not a numeric Creators column"),
    (["r", "spend", "week", None, None, None, 100, None, None], "per", "write 'post' (the default) or 'creator'"),
    (["r", "spend", None, None, None, None, None, None, None], "min", "gives no bound"),
    (["r", "creators", None, "audience_us = 42%", None, None, 1, None, None], "where",
     "no creator has audience_us = 42%"),
    (["r", "engagement", None, "niche = food", None, None, None, 0.6, 0.4], "max_share",
     "max_share is below min_share"),
])
def test_a_bad_custom_rule_is_refused_naming_its_cell(tmp_path, row, column, words):
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", workbook(tmp_path, "highs", [row]), "-o", out)
    assert result.exit_code == 1, result.output
    assert f"Custom rules, row 2, column '{column}'" in result.output
    assert words in result.output
    assert not out.exists()


def test_planning_for_reach_without_any_reach_input_says_what_to_add(tmp_path):
    rows = [{"creator": "@a", "niche": "food", "followers": 1000, "engagement_rate": 0.05, "cost_per_post": 10}]
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 100, "objective": "reach"})
    result = run_cli("plan", path, "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 1
    assert "planning for reach needs an expected_reach or reach_rate column" in result.output


def test_an_objective_naming_no_column_is_refused(tmp_path):
    rows = [{"creator": "@a", "niche": "food", "followers": 1000, "engagement_rate": 0.05, "cost_per_post": 10}]
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 100, "objective": "sales"})
    result = run_cli("plan", path, "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 1
    assert "objective 'sales' is not engagement, reach, conversions or a numeric Creators column" in result.output


def test_the_python_api_takes_custom_rules_and_an_objective_as_dataframes():
    import pandas as pd

    from planner.errors import InputError

    creators = pd.DataFrame([{"creator": c[0], "niche": c[1], "followers": c[2], "engagement_rate": c[3],
                              "cost_per_post": c[4], "max_posts": c[5], "agency": c[7], "clicks": c[8]}
                             for c in ROSTER])
    rules = pd.DataFrame([{"rule": "Acme cap", "measure": "creators", "where": "agency = Acme", "max": 1}])
    result = api_plan(creators, budget=BUDGET, custom_rules=rules, objective="clicks", repeat_post_decay=DECAY,
                      mip_gap=0)
    cap = lambda posts: scoped("creators", where=lambda c: c[7] == "Acme")(posts) <= 1  # noqa: E731
    best, plans = best_by_enumeration("clicks", [cap])
    assert result.plan.engagement == pytest.approx(best, rel=1e-9)
    bad = pd.DataFrame([{"rule": "Acme cap", "measure": "creators", "where": "agency = Nobody", "max": 1}])
    with pytest.raises(InputError) as caught:
        api_plan(creators, budget=BUDGET, custom_rules=bad)
    assert "no creator has agency = Nobody" in str(caught.value)


@pytest.mark.slow
def test_an_audience_target_on_the_typical_sample_is_met_and_its_share_reported(tmp_path):
    """The typical sample with each creator's US audience share (seeded) and 'at least 60% of the
    engagement from US audiences': the plan keeps it and the report shows the share it reaches."""
    import numpy as np
    import openpyxl

    from tests.conftest import SAMPLES

    wb = openpyxl.load_workbook(SAMPLES / "typical_campaign.xlsx")
    ws = wb["Creators"]
    column = ws.max_column + 1
    ws.cell(row=1, column=column, value="audience_us")
    rng = np.random.default_rng(3)
    for row in range(2, ws.max_row + 1):
        ws.cell(row=row, column=column, value=float(np.round(rng.uniform(0.1, 0.9), 3)))
    sheet = wb.create_sheet("Custom rules")
    sheet.append(CUSTOM_HEADER)
    sheet.append(["US audience", "engagement", None, None, "audience_us", None, None, "60%", None])
    path = tmp_path / "typical_us.xlsx"
    wb.save(path)
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out, "--time-limit", "40")
    assert result.exit_code == 0, result.output
    rules = read_table(out, "Rules").set_index("rule")
    achieved = rules.at["custom_min_share:US audience", "planned"]
    assert achieved >= 0.6 - 1e-9 and rules.at["custom_min_share:US audience", "holds"] == "yes"
    # Recomputed from the Allocation: engagement from US audiences over all engagement.
    allocation = read_table(out, "Allocation")
    us = (allocation["expected_engagement"] * allocation["audience_us"]).sum() / allocation["expected_engagement"].sum()
    assert us == pytest.approx(achieved, rel=1e-6)
    from tests.conftest import key_values

    summary = " ".join(f"{k} {v}" for k, v in key_values(out, "Summary").items())
    assert "US audience" in summary or rules.at["custom_min_share:US audience", "binding"] != "binding"


def test_the_report_names_the_objective_and_shows_every_other_metric(tmp_path):
    from tests.conftest import key_values

    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", workbook(tmp_path, "highs"), "-o", out, "--objective", "reach")
    assert result.exit_code == 0, result.output
    assert "reach:" in result.output and "engagement:" not in result.output
    summary = key_values(out, "Summary")
    campaign = api_plan(workbook(tmp_path, "highs", objective="reach", name="again.xlsx")).campaign
    best, plans = best_by_enumeration("reach", [])
    assert summary["Weighted reach (objective, niche weights applied)"] == pytest.approx(best, rel=1e-9)
    posts = plans[0]
    assert summary["Expected engagement (not planned for)"] == pytest.approx(
        sum(total("engagement", c, p) for p, c in zip(posts, ROSTER)), rel=1e-9)
    assert summary["Expected conversions (not planned for)"] == pytest.approx(
        sum(total("conversions", c, p) for p, c in zip(posts, ROSTER)), rel=1e-9)
    assert "Cost per reach" in summary and campaign.settings.objective == "reach"
    allocation = read_table(out, "Allocation", snake=False)
    assert {"Expected reach", "Weighted reach", "Engagement rate"} <= set(allocation.columns)
    compare = tmp_path / "compare.xlsx"
    assert run_cli("compare", workbook(tmp_path, "highs", name="c.xlsx"), "-o", compare, "--objective", "reach",
                   "--frontier-points", "1").exit_code == 0
    assert "Most reach" in key_values(compare, "Summary")


def test_a_spend_rule_says_where_it_applies_and_tier_conversion_rates_match_without_case(tmp_path):
    rows = [["food spend", "spend", None, "niche = food", None, None, 700, None, None]]
    out = tmp_path / "plan.xlsx"
    path = workbook(tmp_path, "highs", rows, objective="conversions")
    import openpyxl

    wb = openpyxl.load_workbook(path)
    for row in wb["Tiers"].iter_rows(min_row=2, max_col=1):
        row[0].value = row[0].value.upper()  # NANO, MICRO, MID: the creators' tiers are lower case
    wb.save(path)
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 0, result.output
    rules = read_table(out, "Rules").set_index("rule")
    assert rules.at["custom_max:food spend", "description"] == "food spend: spend at most 700.00 (niche = food)"
    best, _ = best_by_enumeration("conversions",
                                  [lambda posts: scoped("spend", where=lambda c: c[1] == "food")(posts) <= 700])
    assert api_plan(path).plan.engagement == pytest.approx(best, rel=1e-9)


def test_a_where_on_a_share_column_reads_a_percent_as_the_column_holds_it(tmp_path):
    rows = [["top US", "creators", None, "audience_us in (80%, 0.9)", None, None, 1, None, None]]
    result = api_plan(workbook(tmp_path, "highs", rows))
    rule = result.campaign.custom[0]
    assert sorted(rule.where_values) == [0.8, 0.9]
    cap = lambda posts: scoped("creators", where=lambda c: c[6] in (0.8, 0.9))(posts) <= 1  # noqa: E731
    assert result.plan.engagement == pytest.approx(best_by_enumeration("engagement", [cap])[0], rel=1e-9)


def test_a_rule_name_given_twice_and_negative_values_under_a_share_are_refused(tmp_path):
    rows = [{"creator": f"@c{i}", "niche": "food", "followers": 1000, "engagement_rate": 0.05, "cost_per_post": 10,
             "score": [-1, 2, 3][i]} for i in range(3)]
    rules = [CUSTOM_HEADER, ["Cap", "creators", None, None, None, None, 2, None, None],
             ["cap", "spend", None, None, None, None, 20, None, None],
             ["Score share", "score", None, "creator = @c1", None, None, None, 0.5, None]]
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 100},
                          extra_sheets={"Custom rules": rules})
    out = tmp_path / "out.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 1 and not out.exists()
    assert "rule name given twice; rename one" in result.output
    assert "Custom rules, row 4, column 'measure', value \"score\": has negative values" in result.output
