"""Outputs that cannot be written fail before any solving; CLI friction: budgets lists, template
overwrites, validate's pre-checks, a closed stdout pipe."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from planner.scenarios import parse_budgets
from tests.conftest import SAMPLES, run_cli, write_workbook


@pytest.mark.parametrize("case", ["folder named like the report", "parent is a file", "name too long"])
def test_an_output_that_cannot_be_written_is_refused_before_solving(tmp_path, case):
    if case == "folder named like the report":
        out = tmp_path / "plan.xlsx"
        out.mkdir()
        words = "is a folder"
    elif case == "parent is a file":
        (tmp_path / "notes").write_text("x")
        out = tmp_path / "notes" / "plan.xlsx"
        words = "is a file, not a folder"
    else:
        out = tmp_path / ("p" * 300 + ".xlsx")
        words = "too long"
    result = run_cli("plan", SAMPLES / "typical_campaign.xlsx", "-o", out)
    assert result.exit_code == 1, result.output
    assert words in result.output
    assert "status:" not in result.output  # refused before any plan was made
    assert "Traceback" not in result.output


def test_a_write_failure_after_the_solve_is_bad_output_not_a_defect(tmp_path, monkeypatch):
    # The disk fills (or Excel holds the file) while the report is saved: exit 1 with what to do.
    import planner.report as report

    def full(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report.Workbook, "save", full)
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", SAMPLES / "small_campaign.xlsx", "-o", out, "--no-explain")
    assert result.exit_code == 1, result.output
    assert "could not be written (No space left on device)" in result.output and "close it" in result.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_template_never_replaces_a_filled_workbook_without_force(tmp_path):
    out = tmp_path / "campaign.xlsx"
    out.write_bytes(b"a filled-in workbook")
    refused = run_cli("template", out)
    assert refused.exit_code == 1 and "--force" in refused.output
    assert out.read_bytes() == b"a filled-in workbook"
    assert run_cli("template", out, "--force").exit_code == 0
    assert out.read_bytes()[:2] == b"PK"


def test_validate_reports_what_plan_would_refuse_at_once(tmp_path):
    # Minimum shares adding up to 110%: plan refuses at once, so validate must not say OK.
    creators = [{"creator": f"c{i}", "niche": n, "followers": 20_000, "engagement_rate": 0.05, "cost_per_post": 100}
                for i, n in enumerate(["food", "beauty", "food", "beauty"])]
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={"total_budget": 1000},
                          niches=[{"niche": "food", "min_share": 0.6}, {"niche": "beauty", "min_share": 0.5}])
    result = run_cli("validate", path)
    assert result.exit_code == 3, result.output
    assert "OK" not in result.output and "cannot all hold" in result.output


def test_budget_lists_with_suffixes_and_ambiguous_commas():
    assert parse_budgets("50k,100k,150k,200k") == [50_000, 100_000, 150_000, 200_000]
    assert parse_budgets("20k, $50,000 ,80K") == [20_000, 50_000, 80_000]
    assert parse_budgets("$1,200,000;$2,000,000") == [1_200_000, 2_000_000]
    with pytest.raises(ValueError, match="could be one budget or two"):
        parse_budgets("100,200")


def test_sweep_takes_a_list_of_budgets_with_suffixes(tmp_path):
    out = tmp_path / "sweep.xlsx"
    result = run_cli("sweep", SAMPLES / "small_campaign.xlsx", "-o", out, "--budgets", "10k,20k", "--workers", 1)
    assert result.exit_code == 0, result.output
    refused = run_cli("sweep", SAMPLES / "small_campaign.xlsx", "-o", out, "--budgets", "100,200")
    assert refused.exit_code == 2 and "could be one budget or two" in refused.output


def test_a_closed_stdout_pipe_ends_quietly(tmp_path):
    out = tmp_path / "plan.xlsx"
    command = (f"{sys.executable} -m planner.cli plan {SAMPLES / 'small_campaign.xlsx'} -o {out} --no-explain "
               "| head -c 1")
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert out.exists()


def test_a_sweep_of_a_csv_export_needs_no_budget_sheet(tmp_path):
    # A CSV has no Budget sheet: the sweep's own budgets are enough (the largest is the campaign's).
    path = tmp_path / "export.csv"
    path.write_text("creator,niche,followers,engagement_rate,cost_per_post\n"
                    "a,food,12500,0.035,1200\nb,food,48000,0.021,2400\nc,beauty,9800,0.04,850\n", encoding="utf-8")
    out = tmp_path / "sweep.xlsx"
    result = run_cli("sweep", path, "-o", out, "--budgets", "2k,5k", "--workers", 1)
    assert result.exit_code == 0, result.output
    assert "$2,000" in result.output and "$5,000" in result.output
