"""The plan explains itself: conflicts with working fixes, rule costs, why creators were left out."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from planner.pipeline import load_campaign, make_plan
from tests.conftest import SAMPLES, c_row, key_values, read_table, run_cli, write_workbook

_GROUP_SHEETS = {"niche": "Niches", "tier": "Tiers", "platform": "Platforms"}


def apply_suggestion_to_workbook(path, rule: str, value) -> None:
    """Edit the input workbook the way a planner would to follow a suggestion."""
    wb = openpyxl.load_workbook(path)
    kind, _, key = rule.partition(":")
    if kind in ("budget", "min_creators", "max_creators", "max_share_per_creator"):
        setting = "total_budget" if kind == "budget" else kind
        ws = wb["Budget"]
        for row in ws.iter_rows(min_row=2):
            if row[0].value == setting:
                row[1].value = value
                break
        else:
            ws.append([setting, value])
    elif kind == "must_include":
        ws = wb["Creators"]
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            if row[header.index("creator")].value == key:
                row[header.index("include")].value = None
    else:
        dimension, column = kind.split("_", 1)
        ws = wb[_GROUP_SHEETS[dimension]]
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            if row[0].value == key:
                row[header.index(column)].value = value
    wb.save(path)


# (id, creators, budget, group sheets, words the message must contain)
CONFLICTS = [
    (
        "min_shares_above_100",
        [c_row("A", 100, 10, max_posts=10), c_row("F", 50, 10, niche="fitness", max_posts=10),
         c_row("T", 40, 10, niche="travel", max_posts=10)],
        {"total_budget": 100},
        {"niches": [{"niche": "beauty", "min_share": 0.5}, {"niche": "fitness", "min_share": 0.4},
                    {"niche": "travel", "min_share": 0.3}]},
        ["Niches sheet: min_share values add up to 120%"],
    ),
    (
        "must_include_over_budget",
        [c_row("A", 100, 80, include="must"), c_row("B", 90, 70, include="must"), c_row("C", 10, 10)],
        {"total_budget": 100},
        {},
        ["the 2 must-include creators cost $150.00", "above total_budget $100.00"],
    ),
    (
        "must_include_above_cap",
        [c_row("A", 100, 60, include="must"), c_row("B", 90, 20), c_row("C", 10, 10)],
        {"total_budget": 100, "max_share_per_creator": 0.4},
        {},
        ["Creators sheet, row 2: A is a must-include but costs $60.00", "per-creator cap of 40.00%"],
    ),
    (
        "group_min_creators_above_members",
        [c_row("A", 100, 10), c_row("F", 50, 10, niche="fitness")],
        {"total_budget": 100},
        {"niches": [{"niche": "fitness", "min_creators": 3}]},
        ["Niches sheet, niche fitness: min_creators 3 but only 1 of its creators can be booked"],
    ),
    (
        "min_share_unreachable_at_max_posts",
        [c_row("A", 100, 10), c_row("F", 50, 10, niche="fitness", max_posts=2)],
        {"total_budget": 100},
        {"niches": [{"niche": "fitness", "min_share": 0.3}]},
        ["Niches sheet, niche fitness: min_share 30.00% needs $30.00", "cost only $20.00"],
    ),
    (
        "min_creators_cheapest_over_budget",
        [c_row("A", 100, 40), c_row("B", 90, 40), c_row("C", 10, 40)],
        {"total_budget": 100, "min_creators": 3},
        {},
        ["Budget sheet: min_creators 3 needs at least $120.00", "above total_budget $100.00"],
    ),
    (
        "solver_share_against_count",
        [c_row("A", 100, 60), c_row("B", 100, 60), c_row("F", 10, 60, niche="fitness")],
        {"total_budget": 100},
        {"niches": [{"niche": "fitness", "min_share": 0.5}, {"niche": "beauty", "min_creators": 1}]},
        ["conflicts with the others"],
    ),
    (
        "solver_group_counts_against_max_creators",
        [c_row("A", 100, 10), c_row("B", 90, 10), c_row("F", 50, 10, niche="fitness"),
         c_row("G", 40, 10, niche="fitness")],
        {"total_budget": 100, "max_creators": 3},
        {"niches": [{"niche": "beauty", "min_creators": 2}, {"niche": "fitness", "min_creators": 2}]},
        ["Budget sheet: max_creators 3 conflicts with the others"],
    ),
]


@pytest.mark.parametrize("case", CONFLICTS, ids=[c[0] for c in CONFLICTS])
def test_conflict_is_explained_and_each_suggestion_works(tmp_path, case):
    _, creators, budget, groups, words = case
    path = write_workbook(tmp_path / "in.xlsx", creators, budget, **groups)
    out = tmp_path / "out.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 3, result.output
    for phrase in words:
        assert phrase in result.output
    assert "any one of these changes lets a plan exist" in result.output
    table = read_table(out, "Diagnosis")
    assert len(table) >= 1 and (table["verified"] == "yes").all()
    for rule, change, value in table[["rule", "change", "new_value"]].itertuples(index=False):
        assert change in result.output
        fixed = tmp_path / f"fixed_{rule.replace(':', '_').replace('@', '')}.xlsx"
        fixed.write_bytes(path.read_bytes())
        apply_suggestion_to_workbook(fixed, rule, None if pd.isna(value) else value)
        again = run_cli("plan", fixed, "-o", tmp_path / "plan.xlsx", "--no-explain")
        assert again.exit_code == 0, (rule, change, again.output)


def test_infeasible_sample_names_rules_in_plain_words(tmp_path):
    result = run_cli("plan", SAMPLES / "infeasible_campaign.xlsx", "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 3
    assert ("Niches sheet: min_share values add up to 110% of the budget "
            "(beauty 40%, fashion 40%, fitness 30%)") in result.output
    assert "lower niche beauty min_share from 40.00% to 30.00% (Niches sheet)" in result.output


@pytest.mark.slow
def test_typical_sample_prices_binding_rules_and_explains_left_out_creators(tmp_path):
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", SAMPLES / "typical_campaign.xlsx", "-o", out)
    assert result.exit_code == 0, result.output
    rules = read_table(out, "Rules")
    binding = rules[rules["binding"] == "binding"]
    assert len(binding) >= 2
    assert binding["engagement_gain"].notna().all(), binding
    assert binding["loosened_by"].notna().all()
    assert (binding["gain_low"] <= binding["engagement_gain"] + 1e-6).all()
    assert (binding["engagement_gain"] <= binding["gain_high"] + 1e-6).all()
    why = read_table(out, "Why not")
    assert len(why) == 20
    assert why["reason"].notna().all() and (why["reason"].str.len() > 10).all()
    assert why["engagement_per_dollar"].is_monotonic_decreasing

    # The reported marginal value of budget agrees with a finite difference: re-plan with +$1,000.
    summary = key_values(out, "Summary")
    reported = summary["Engagement per extra $1,000 of budget (re-solved)"]
    campaign, _, _ = load_campaign(SAMPLES / "typical_campaign.xlsx")
    base = make_plan(campaign)
    more = make_plan(campaign.with_settings(total_budget=campaign.settings.total_budget + 1000))
    finite_difference = more.engagement - base.engagement
    # The report gives the gain with the interval its solves proved; the finite difference, from two
    # plans each proven within their gap, must fall inside it (widened by those two gaps).
    budget_row = rules.set_index("rule").loc["budget"]
    assert budget_row["engagement_gain"] == pytest.approx(reported)
    slack = base.outcome.gap * base.engagement + more.outcome.gap * more.engagement + 1e-6
    assert budget_row["gain_low"] - slack <= finite_difference <= budget_row["gain_high"] + slack
    assert reported > 0


def test_why_not_names_the_rule_that_kept_a_creator_out(tmp_path):
    """E (best value per dollar) is fitness, and fitness may take at most 10%: that rule is named."""
    creators = [c_row("A", 100, 50), c_row("B", 90, 50), c_row("E", 500, 20, niche="fitness"),
                c_row("X", 1000, 10, include="exclude")]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 100},
                          niches=[{"niche": "fitness", "max_share": 0.1}])
    out = tmp_path / "plan.xlsx"
    assert run_cli("plan", path, "-o", out).exit_code == 0
    why = read_table(out, "Why not").set_index("creator")
    assert why.loc["X", "reason"] == "excluded on the Creators sheet"
    assert "niche fitness max_share 10.00%" in why.loc["E", "reason"]


def test_unspent_budget_is_explained(tmp_path):
    creators = [c_row("A", 100, 30), c_row("B", 90, 30), c_row("C", 80, 30)]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 100, "max_creators": 2})
    out = tmp_path / "plan.xlsx"
    assert run_cli("plan", path, "-o", out).exit_code == 0
    summary = key_values(out, "Summary")
    assert summary["Budget left unspent"] == (
        "$40.00 is left because these rules stop further bookings: At most 2 creators")


def test_why_not_ranks_by_value_per_dollar_then_value_ties_in_input_order(tmp_path):
    """Only the top few are listed; ties in value per dollar go to the larger value, then to the earlier row."""
    from planner.explain import why_not

    creators = [c_row("A", 100, 100), c_row("B", 400, 200), c_row("C", 600, 300), c_row("D", 300, 200),
                c_row("F", 400, 200), c_row("G", 100, 200)]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 100})
    campaign, _, _ = load_campaign(path)
    plan = make_plan(campaign)
    assert why_not(campaign, plan, None, top=2)["creator"].tolist() == ["C", "B"]
    assert why_not(campaign, plan, None, top=4)["creator"].tolist() == ["C", "B", "F", "D"]
