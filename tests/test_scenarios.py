"""Scenarios: budget sweeps, mixes side by side, the smallest spend for a target."""

from __future__ import annotations

import zipfile

import numpy as np
import openpyxl
import pytest

from models.checker import check_plan
from planner.pipeline import load_campaign, make_plan
from planner.scenarios import Scenario, apply_scenario, parse_budgets, run_scenarios, sweep_scenarios
from tests.conftest import SAMPLES, c_row, read_table, run_cli, write_workbook

SCENARIO_SHEETS = {"Summary", "Scenarios", "Frontier", "Bookings", "Differences", "Tier mix", "Niche mix", "Run info"}


def chart_parts(path) -> list:
    """Native chart parts inside an xlsx file."""
    with zipfile.ZipFile(path) as archive:
        return [n for n in archive.namelist() if n.startswith("xl/charts/chart")]


def test_parse_budgets():
    assert parse_budgets("20000:100000:20000") == [20000, 40000, 60000, 80000, 100000]
    assert parse_budgets("20k, $50,000 ,80K") == [20000, 50000, 80000]
    assert parse_budgets("5k") == [5000]
    for bad in ("20000:10000:1000", "1:2", "abc", "0,10"):
        with pytest.raises(ValueError):
            parse_budgets(bad)


def test_sweep_reuses_the_model_and_matches_separate_plans(solver):
    """A sweep re-aims one model per worker; each point must equal a plan built from scratch."""
    campaign, _, _ = load_campaign(SAMPLES / "small_campaign.xlsx", solver=solver, gap=0.0)
    budgets = [4000, 9000, 17000, 25000, 40000]
    results = run_scenarios(campaign, sweep_scenarios(budgets), workers=1)
    for budget, result in zip(budgets, results):
        alone = make_plan(campaign.with_settings(total_budget=budget))
        assert result.plan.engagement == pytest.approx(alone.engagement, rel=1e-9), budget
        assert check_plan(result.campaign, result.plan.posts).ok


def test_sweep_beside_a_worker_process_matches_the_sweep_in_one_process():
    """With two workers this process plans from the front while a spawned one plans from the back."""
    campaign, _, _ = load_campaign(SAMPLES / "small_campaign.xlsx", gap=0.0)
    budgets = [4000 + 1500 * k for k in range(24)]
    alone = run_scenarios(campaign, sweep_scenarios(budgets), workers=1)
    beside = run_scenarios(campaign, sweep_scenarios(budgets), workers=2)
    assert [r.scenario.name for r in beside] == [r.scenario.name for r in alone]
    for a, b in zip(alone, beside):
        assert b.campaign is not None and b.campaign.settings.total_budget == a.campaign.settings.total_budget
        assert b.plan.engagement == pytest.approx(a.plan.engagement, rel=1e-9)
        assert check_plan(b.campaign, b.plan.posts).ok


@pytest.mark.slow
def test_sweep_of_typical_sample_never_falls_and_every_point_checks(tmp_path):
    out = tmp_path / "sweep.xlsx"
    result = run_cli("sweep", SAMPLES / "typical_campaign.xlsx", "-o", out, "--budgets", "20000:200000:20000",
                     "--gap", 0.001)
    assert result.exit_code == 0, result.output
    assert "Planning scenarios" not in result.output  # no progress bar when not on a terminal
    frontier = read_table(out, "Frontier")
    assert len(frontier) == 10
    assert (np.diff(frontier["weighted_engagement"]) >= -1e-6).all()
    assert frontier["marginal_engagement_per_1000"].iloc[1:].notna().all()
    # Every point re-checked from the written bookings alone.
    campaign, _, _ = load_campaign(SAMPLES / "typical_campaign.xlsx")
    bookings = read_table(out, "Bookings")
    for budget, scenario in zip(frontier["budget"], frontier["scenario"]):
        chosen = bookings[bookings["scenario"] == scenario]
        posts = campaign.creators["creator"].map(dict(zip(chosen["creator"], chosen["posts"]))).fillna(0).to_numpy(int)
        check = check_plan(campaign.with_settings(total_budget=float(budget)), posts)
        assert check.ok, (scenario, check.violations)
    assert chart_parts(out)


@pytest.mark.slow
def test_compare_typical_sample_side_by_side(tmp_path):
    out = tmp_path / "compare.xlsx"
    result = run_cli("compare", SAMPLES / "typical_campaign.xlsx", "-o", out, "--gap", 0.001, "--time-limit", 10,
                     "--frontier-points", 2)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert SCENARIO_SHEETS <= set(wb.sheetnames)
    table = read_table(out, "Scenarios")
    assert list(table["scenario"]) == ["many-micro", "few-macro", "balanced"]
    for column in ("budget", "spend", "expected_engagement", "cost_per_engagement", "creators", "posts",
                   "nano_share", "micro_share", "macro_share", "mega_share", "status", "gap"):
        assert column in table.columns
    rows = table.set_index("scenario")
    planned = rows[rows["spend"].notna()]  # a scenario without a plan has no spend
    if "many-micro" in planned.index:
        assert planned.loc["many-micro", "nano_share"] + planned.loc["many-micro", "micro_share"] >= 0.7 - 1e-9
    if "few-macro" in planned.index:
        assert planned.loc["few-macro", "macro_share"] + planned.loc["few-macro", "mega_share"] >= 0.7 - 1e-9
    bookings = read_table(out, "Bookings")
    assert set(bookings["scenario"]) == set(planned.index)
    assert len(chart_parts(out)) >= 3  # frontier, spend by tier, spend by niche
    kinds = {ws.title: [type(c).__name__ for c in ws._charts] for ws in wb}
    assert kinds["Frontier"] == ["ScatterChart"]
    assert kinds["Tier mix"] == ["BarChart"] and kinds["Niche mix"] == ["BarChart"]


def test_target_engagement_by_hand(tmp_path, solver):
    """A 100/$60, B 75/$50, C 75/$50, D 30/$10; target 150: B + C = $100 is the cheapest way."""
    creators = [c_row("A", 100, 60), c_row("B", 75, 50), c_row("C", 75, 50), c_row("D", 30, 10)]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 1000})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out, "--target-engagement", 150, "--solver", solver, "--gap", 0)
    assert result.exit_code == 0, result.output
    allocation = read_table(out, "Allocation")
    assert sorted(allocation["creator"]) == ["B", "C"]
    assert allocation["spend"].sum() == pytest.approx(100)
    # Out of reach: the rules cannot all hold, and the diagnosis says how far.
    result = run_cli("plan", path, "-o", out, "--target-engagement", 1000)
    assert result.exit_code == 3
    assert "target engagement" in result.output


def test_target_engagement_agrees_with_a_sweep(tmp_path):
    """No cheaper sweep point reaches the target (shares of spend on both sides, gap 0)."""
    campaign, _, _ = load_campaign(SAMPLES / "small_campaign.xlsx", gap=0.0)
    campaign = campaign.with_settings(share_basis="spend")
    budgets = list(range(2000, 26001, 2000))
    sweep = run_scenarios(campaign, sweep_scenarios(budgets), workers=1)
    target = sweep[5].plan.engagement  # what $12,000 buys
    cheapest = make_plan(apply_scenario(campaign, Scenario("target", target_engagement=target)))
    assert cheapest.engagement >= target - 1e-6
    assert cheapest.spend <= 12_000 + 1e-6
    for budget, point in zip(budgets, sweep):
        if point.plan is not None and point.plan.engagement >= target - 1e-6:
            assert cheapest.spend <= budget + 1e-6
    assert check_plan(cheapest_campaign := apply_scenario(campaign, Scenario("t", target_engagement=target)),
                      cheapest.posts).ok
    assert cheapest_campaign.settings.target_engagement == target


def test_scenarios_sheet_overrides_rules(tmp_path):
    creators = [
        c_row("A", 200, 50, niche="beauty"),
        c_row("B", 150, 50, niche="beauty"),
        c_row("F", 60, 50, niche="fitness"),
        c_row("G", 50, 50, niche="fitness"),
    ]
    scenarios = [
        ["scenario", "budget", "beauty max_share", "fitness min_creators", "max_creators"],
        ["no beauty", None, 0, None, None],
        ["two fitness", 150, None, 2, None],
        ["one creator", None, None, None, 1],
    ]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 100}, extra_sheets={"Scenarios": scenarios})
    out = tmp_path / "compare.xlsx"
    result = run_cli("compare", path, "-o", out, "--mix", "no beauty", "--mix", "two fitness", "--mix", "one creator")
    assert result.exit_code == 0, result.output
    bookings = read_table(out, "Bookings")
    booked = {name: sorted(group["creator"]) for name, group in bookings.groupby("scenario")}
    assert booked == {"no beauty": ["F", "G"], "two fitness": ["A", "F", "G"], "one creator": ["A"]}
    table = read_table(out, "Scenarios").set_index("scenario")
    assert table.loc["two fitness", "budget"] == 150


def test_scenarios_sheet_errors_name_the_cell(tmp_path):
    creators = [c_row("A", 200, 50), c_row("F", 60, 50, niche="fitness")]
    scenarios = [["scenario", "mix", "beauty max_share", "colour"], ["x", "giant", "150%", "red"]]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 100}, extra_sheets={"Scenarios": scenarios})
    result = run_cli("compare", path, "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 1
    # The value's quoting is the error formatter's (planner/errors.py); the cell and the reason are asserted.
    assert "Scenarios, row 2, column 'mix', value " in result.output and "giant" in result.output
    assert "unknown mix" in result.output
    assert "Scenarios, row 2, column 'beauty max_share'" in result.output and "above 100%" in result.output
    assert "column 'colour': is not a scenario column" in result.output
    assert not (tmp_path / "out.xlsx").exists()
    assert run_cli("validate", path).exit_code == 1


def test_a_scenario_without_a_plan_is_reported_beside_the_others(tmp_path):
    creators = [c_row("A", 200, 50), c_row("F", 60, 50, niche="fitness")]
    scenarios = [["scenario", "fitness min_share"], ["impossible", 0.9]]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 100}, extra_sheets={"Scenarios": scenarios})
    out = tmp_path / "compare.xlsx"
    result = run_cli("compare", path, "-o", out, "--mix", "balanced", "--mix", "impossible")
    assert result.exit_code == 0, result.output
    table = read_table(out, "Scenarios").set_index("scenario")
    assert table.loc["impossible", "status"] == "No plan keeps every rule"
    assert "fitness" in table.loc["impossible", "note"].casefold()
    assert table.loc["balanced", "status"] == "Best possible plan under these rules"
