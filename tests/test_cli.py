"""The CLI contract: commands, output workbook, exit codes, and the README that documents them."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from models.checker import check_plan
from planner.cli import cli
from planner.pipeline import load_campaign
from planner.report import SHEET_NAMES
from tests.conftest import REPO, SAMPLES, c_row, key_values, read_table, run_cli, write_workbook

ALLOCATION_COLUMNS = {
    "creator", "posts", "spend", "expected_engagement", "platform", "niche", "tier", "followers",
    "engagement_rate", "cost_per_post", "cost_per_engagement", "share_of_budget",
}


def read_allocation(path) -> pd.DataFrame:
    """The Allocation sheet's table, headers as column keys, without its totals row."""
    return read_table(path, "Allocation")


def test_small_sample_plans_and_report_reads_back(tmp_path):
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", SAMPLES / "small_campaign.xlsx", "-o", out)
    assert result.exit_code == 0, result.output
    assert "status:      proven optimal" in result.output
    assert re.search(r"spend:\s+\$[\d,]+\.\d\d", result.output)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == list(SHEET_NAMES)
    allocation = read_allocation(out)
    assert ALLOCATION_COLUMNS <= set(allocation.columns)
    assert (allocation["posts"] > 0).all()
    assert allocation["spend"].sum() <= 25_000 + 1e-6
    # Re-check the written plan from the file alone with the independent checker.
    campaign, _, _ = load_campaign(SAMPLES / "small_campaign.xlsx")
    posts = campaign.creators["creator"].map(dict(zip(allocation["creator"], allocation["posts"]))).fillna(0)
    check = check_plan(campaign, posts.to_numpy(int))
    assert check.ok, check.violations
    assert check.engagement == pytest.approx(allocation["weighted_engagement"].sum())
    np.testing.assert_allclose(allocation["spend"], allocation["posts"] * allocation["cost_per_post"])


def test_report_is_client_ready(tmp_path):
    out = tmp_path / "plan.xlsx"
    assert run_cli("plan", SAMPLES / "small_campaign.xlsx", "-o", out).exit_code == 0
    wb = openpyxl.load_workbook(out)
    allocation = wb["Allocation"]
    assert allocation.freeze_panes == "B5"  # title rows, then the header on row 4
    assert "Allocation" in allocation.tables
    header = [cell.value for cell in allocation[4]]
    spend = allocation.cell(row=5, column=header.index("Spend") + 1)
    assert "$" in spend.number_format
    share = allocation.cell(row=5, column=header.index("Share of budget") + 1)
    assert "%" in share.number_format
    for name in ("By niche", "By tier", "By platform", "Rules"):
        assert wb[name].tables, name
    rules = read_table(out, "Rules")
    assert {"rule", "description", "limit", "planned", "slack", "binding"} <= set(rules.columns)
    assert "budget" in set(rules["rule"])
    summary = key_values(out, "Summary")
    assert summary["Status"] == "Best possible plan under these rules"
    assert summary["Rule-of-thumb plan (best engagement per dollar first)"] > 0
    info = key_values(out, "Run info")
    assert info["Status"] == "proven optimal"
    assert re.fullmatch(r"[0-9a-f]{64}", info["Input SHA-256"])
    assert info["Solver"].startswith("HiGHS")
    settings = pd.read_excel(out, engine="openpyxl", sheet_name="Run info", header=None)
    assert "share_basis" in settings.to_string() and "default" in settings.to_string()


@pytest.mark.slow
def test_typical_sample_uses_every_rule_and_plans(tmp_path):
    out = tmp_path / "typical.xlsx"
    result = run_cli("plan", SAMPLES / "typical_campaign.xlsx", "-o", out, "--no-explain")
    assert result.exit_code == 0, result.output
    assert "Why not" not in openpyxl.load_workbook(out).sheetnames
    rules = read_table(out, "Rules")
    kinds = {name.split(":")[0] for name in rules["rule"]}
    for kind in ("budget", "max_share_per_creator", "min_creators", "max_creators", "niche_min_share",
                 "niche_max_share", "tier_min_share", "tier_max_share", "platform_min_share",
                 "platform_max_share", "niche_min_creators", "must_include"):
        assert kind in kinds
    assert (rules["holds"] == "yes").all()
    allocation = read_allocation(out)
    assert "notes" in allocation.columns  # an extra input column carried through
    assert (allocation["posts"] >= 1).all() and (allocation["posts"] <= 3).all()


def test_infeasible_sample_exits_3_naming_rules(tmp_path):
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", SAMPLES / "infeasible_campaign.xlsx", "-o", out)
    assert result.exit_code == 3
    assert "Niches sheet" in result.output and "min_share" in result.output
    for niche in ("beauty", "fashion", "fitness"):
        assert niche in result.output
    assert "Traceback" not in result.output
    wb = openpyxl.load_workbook(out)  # the explanation is written as a Diagnosis sheet
    assert wb.sheetnames == ["Diagnosis", "Run info"]
    text = " ".join(str(c.value) for row in wb["Diagnosis"].iter_rows() for c in row if c.value)
    assert "min_share values add up to 110%" in text


def test_infeasible_by_solver_names_rules_and_a_working_change(tmp_path):
    """No pre-check fires: the elastic re-solve names the conflicting rules and a relaxation."""
    creators = [c_row("A", 100, 60), c_row("B", 100, 60), c_row("F", 10, 60, niche="fitness")]
    niches = [{"niche": "fitness", "min_share": 0.5}, {"niche": "beauty", "min_creators": 1}]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 100}, niches=niches)
    result = run_cli("plan", path, "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 3, result.output
    assert "Budget sheet: total_budget $100.00" in result.output
    assert "any one of these changes lets a plan exist" in result.output
    match = re.search(r"raise total_budget from \$100\.00 to \$([\d,.]+)", result.output)
    assert match, result.output
    raised = float(match.group(1).replace(",", ""))
    assert raised == pytest.approx(120)
    again = run_cli("plan", path, "-o", tmp_path / "out.xlsx", "--budget", raised)
    assert again.exit_code == 0, again.output


def test_time_limited_run_reports_best_found_or_no_plan(tmp_path):
    """A tiny time limit on the typical sample: either an honest gap (exit 0) or exit 4."""
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", SAMPLES / "typical_campaign.xlsx", "-o", out, "--solver", "cbc", "--time-limit", 1,
                     "--gap", 0)
    if result.exit_code == 0:
        assert "best found, gap" in result.output
        assert key_values(out, "Summary")["Status"].endswith("stopped at the time limit")
        assert key_values(out, "Run info")["Status"].startswith("best found, gap")
    else:
        assert result.exit_code == 4, result.output
        assert "time limit" in result.output
        assert not out.exists()


def test_validate_prints_one_ok_line(tmp_path):
    result = run_cli("validate", SAMPLES / "typical_campaign.xlsx")
    assert result.exit_code == 0
    assert re.match(r"OK: 2,000 creators, 8 niches, \d+ group rules, budget \$150,000\.00", result.output)


def test_template_round_trips_through_validate_and_plan(tmp_path):
    template = tmp_path / "template.xlsx"
    assert run_cli("template", template).exit_code == 0
    wb = openpyxl.load_workbook(template)
    assert {"Instructions", "Creators", "Budget", "Niches", "Tiers", "Platforms", "Custom rules"} <= set(wb.sheetnames)
    assert wb["Creators"].data_validations.dataValidation
    assert run_cli("validate", template).exit_code == 0
    result = run_cli("plan", template, "-o", tmp_path / "plan.xlsx")
    assert result.exit_code == 0, result.output
    # The three worked custom rules are planned on: each on the Rules sheet, each kept.
    rules = read_table(tmp_path / "plan.xlsx", "Rules").set_index("rule")
    custom = [name for name in rules.index if name.startswith("custom_")]
    assert len(custom) == 3 and (rules.loc[custom, "holds"] == "yes").all()
    assert rules.at["custom_min_share:US audience", "planned"] >= 0.5


def test_output_never_replaces_input(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", [c_row("A", 100, 60)], {"total_budget": 100})
    before = path.read_bytes()
    result = run_cli("plan", path, "-o", path)
    assert result.exit_code == 1
    assert "replace the input" in result.output
    assert path.read_bytes() == before
    assert run_cli("plan", path, "-o", tmp_path / "plan.csv").exit_code == 1


def test_user_text_never_becomes_a_formula(tmp_path):
    names = ['=HYPERLINK("http://evil.example","x")', "=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "#N/A"]
    creators = [c_row(name, 100 + i, 10, niche="=1+2") for i, name in enumerate(names)]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 1000})
    wb = openpyxl.load_workbook(path)
    for row in wb["Creators"].iter_rows(min_row=2, max_col=2):
        for cell in row:  # typed text in the input, as a planner's file would hold it
            cell.value = {"=1+2": "=1+2"}.get(cell.value, cell.value) if cell.column == 2 else names[cell.row - 2]
            cell.data_type = "s"
    wb.save(path)
    out = tmp_path / "plan.xlsx"
    assert run_cli("plan", path, "-o", out).exit_code == 0
    with zipfile.ZipFile(out) as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and 't="e"' not in xml
    result = openpyxl.load_workbook(out)
    written = {cell.value for row in result["Allocation"].iter_rows() for cell in row}
    assert set(names) <= written
    assert set(read_table(out, "By niche")["niche"]) == {"=1+2"}


def test_solver_output_does_not_reach_stdout(tmp_path, capfd):
    from planner.pipeline import plan_to_workbook

    for solver in ("highs", "cbc"):
        plan_to_workbook(SAMPLES / "small_campaign.xlsx", tmp_path / f"{solver}.xlsx", solver=solver)
    captured = capfd.readouterr()
    assert captured.out == ""


def test_every_command_has_help_and_is_in_readme():
    readme = (REPO / "README.md").read_text()
    for name, command in cli.commands.items():
        assert command.help, name
        assert f"planner {name}" in readme, name
    for code in range(5):
        assert re.search(rf"\|\s*{code}\s*\|", readme), f"exit code {code} not documented"
