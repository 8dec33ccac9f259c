"""The Python API: the README's examples run as written, and DataFrames get the workbook's validation."""

from __future__ import annotations

import os
import re

import openpyxl
import pandas as pd
import pytest

import planner
from planner import InputError, compare, plan, read_workbook, sweep
from tests.conftest import REPO, SAMPLES, read_table

CREATORS = pd.DataFrame({
    "creator": ["@a", "@b", "@c"], "niche": ["food", "food", "travel"],
    "followers": [20_000, 10_000, 40_000], "engagement_rate": [0.05, 0.05, 0.05],
    "cost_per_post": [500, 300, 900],
})


def readme_api_blocks():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_api_examples_run(tmp_path, capsys):
    blocks = readme_api_blocks()
    assert len(blocks) >= 2
    here = os.getcwd()
    os.chdir(tmp_path)  # the examples write plan.xlsx where they run
    (tmp_path / "sample_inputs").symlink_to(SAMPLES)
    try:
        namespace = {}
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)
    finally:
        os.chdir(here)
    printed = capsys.readouterr().out
    assert printed.startswith("proven optimal")
    assert "1 cost_per_post -5" in printed
    assert (tmp_path / "plan.xlsx").exists()
    assert namespace["result"].spend <= 3_000 + 1e-6


def test_a_plan_from_dataframes_is_the_optimum_worked_by_hand():
    # $1,000: @a (1,000 engagement, $500) + @b (500, $300) = 1,500 for $800; @c ($900, 2,000) alone = 2,000.
    result = plan(CREATORS, budget=1_000)
    assert result.status == "proven optimal" and result.gap == pytest.approx(0, abs=1e-9)
    assert result.engagement == pytest.approx(2_000) and result.spend == pytest.approx(900)
    assert list(result.allocation["creator"]) == ["@c"]
    assert result.bound >= result.engagement - 1e-9
    assert {"description", "binding", "holds"} <= set(result.rules.columns)
    assert "<table" in result._repr_html_()


def test_settings_and_rule_frames_are_applied_as_on_the_sheets():
    niches = pd.DataFrame({"niche": ["food"], "min_share": [0.5]})
    result = plan(CREATORS, budget=1_000, niches=niches)
    # Food must take half the budget: @a + @b ($800, 1,500) beats nothing else that keeps the rule.
    assert sorted(result.allocation["creator"]) == ["@a", "@b"]
    capped = plan(CREATORS, budget=1_000, max_share_per_creator=0.6)
    assert "@c" not in set(capped.allocation["creator"])


@pytest.mark.parametrize("column, value, words", [
    ("cost_per_post", -5, "must be at least 0"),
    ("engagement_rate", 3.5, "cannot be read as a percent"),
    ("creator", "@a", "duplicate creator"),
    ("followers", float("inf"), "infinite"),
])
def test_an_invalid_dataframe_raises_input_error_naming_row_column_and_value(column, value, words):
    bad = CREATORS.astype(object).copy()
    bad.index = ["x", "y", "z"]
    bad.loc["z", column] = value
    with pytest.raises(InputError) as caught:
        plan(bad, budget=1_000)
    problem = next(p for p in caught.value.problems if words in p.message and p.row == "z")
    assert problem.column == column
    assert problem.value == value


def test_a_missing_budget_and_a_wrong_type_say_what_to_pass():
    with pytest.raises(InputError, match="pass budget="):
        plan(CREATORS)
    with pytest.raises(TypeError, match="DataFrame"):
        plan(CREATORS, budget=100, niches=[{"niche": "food"}])


def test_sweep_compare_and_the_workbook_path_use_the_same_pipeline(tmp_path):
    frontier = sweep(CREATORS, budgets=[500, 1_000, 2_000])
    assert list(frontier.table["spend"]) == pytest.approx([500, 900, 1_700])
    mixes = compare(CREATORS, budget=1_000)
    assert list(mixes.table["scenario"]) == ["many-micro", "few-macro", "balanced"]
    frontier.to_excel(tmp_path / "sweep.xlsx")
    assert "Scenarios" in openpyxl.load_workbook(tmp_path / "sweep.xlsx").sheetnames
    from_file = plan(SAMPLES / "small_campaign.xlsx")
    out = from_file.to_excel(tmp_path / "plan.xlsx")
    assert read_table(out, "Allocation")["spend"].sum() == pytest.approx(from_file.spend)
    assert read_workbook(SAMPLES / "small_campaign.xlsx").settings.total_budget == 25_000
    assert planner.__version__[0].isdigit()


def test_a_risk_averse_plan_from_dataframes_reports_both_plans_figures():
    creators = pd.DataFrame({
        "creator": [f"@safe{i}" for i in range(3)] + [f"@wild{i}" for i in range(3)],
        "niche": ["safe"] * 3 + ["wild"] * 3,
        "followers": [20_000] * 6, "engagement_rate": [0.05] * 6, "cost_per_post": [250] * 6,
        "engagement_rate_low": [0.049] * 3 + [0.01] * 3, "engagement_rate_high": [0.051] * 3 + [0.15] * 3,
    })
    result = plan(creators, budget=750, risk="cvar", risk_samples=200, risk_correlation=0.5)
    assert set(result.allocation["creator"]) == {"@safe0", "@safe1", "@safe2"}
    assert result.risk.cvar >= result.plan.risk_neutral.cvar
