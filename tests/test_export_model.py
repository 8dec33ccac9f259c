"""The program as a PuLP model users can take elsewhere: exported as LP / MPS, solved by any solver
PuLP drives (``--solver pulp:NAME``), with the same optimum as the planner's own path."""

from __future__ import annotations

import re
import subprocess

import pulp
import pytest

from planner.pipeline import load_campaign, make_plan
from tests.conftest import SAMPLES, key_values, run_cli, write_workbook


def default_optimum(path):
    campaign, _, _ = load_campaign(path)
    return make_plan(campaign, gap=0.0).engagement


def test_the_exported_mps_solved_by_cbc_through_pulp_has_the_planners_optimum(tmp_path):
    model = tmp_path / "small.mps"
    result = run_cli("export-model", SAMPLES / "small_campaign.xlsx", "-o", model)
    assert result.exit_code == 0, result.output
    assert "85 variables" in result.output
    _, problem = pulp.LpProblem.fromMPS(str(model), sense=pulp.LpMaximize)
    problem.solve(pulp.PULP_CBC_CMD(msg=False, gapRel=0))
    assert problem.sol_status == pulp.LpSolutionOptimal
    assert pulp.value(problem.objective) == pytest.approx(default_optimum(SAMPLES / "small_campaign.xlsx"), rel=1e-6)


def test_the_exported_lp_file_solved_by_the_cbc_program_has_the_planners_optimum(tmp_path):
    model = tmp_path / "small.lp"
    assert run_cli("export-model", SAMPLES / "small_campaign.xlsx", "-o", model).exit_code == 0
    assert model.read_text().startswith("\\* campaign *\\\nMaximize")
    cbc = pulp.PULP_CBC_CMD().path  # the CBC program PuLP ships, reading the LP file itself
    log = subprocess.run([cbc, str(model), "-ratio", "0", "-solve", "-quit"], capture_output=True, text=True,
                         timeout=120).stdout
    best = float(re.search(r"Search completed - best objective (-?[0-9.eE+-]+)", log).group(1))
    assert -best == pytest.approx(default_optimum(SAMPLES / "small_campaign.xlsx"), rel=1e-6)  # CBC minimises -z


def test_a_plan_by_a_pulp_solver_is_checked_and_matches_the_default(tmp_path):
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", SAMPLES / "small_campaign.xlsx", "-o", out, "--solver", "pulp:HiGHS", "--gap", 0)
    assert result.exit_code == 0, result.output
    assert "proven optimal" in result.output
    info = key_values(out, "Run info")
    assert info["Solver"].startswith("HiGHS through PuLP")
    assert info["Independent check"].startswith("passed")
    summary = key_values(out, "Summary")
    assert summary["Weighted engagement (objective, niche weights applied)"] == pytest.approx(
        default_optimum(SAMPLES / "small_campaign.xlsx"), rel=1e-6)


def test_the_solver_setting_takes_pulp_names_too(tmp_path):
    creators = [{"creator": "@a", "niche": "food", "followers": 20_000, "engagement_rate": 0.05, "cost_per_post": 500},
                {"creator": "@b", "niche": "food", "followers": 10_000, "engagement_rate": 0.05, "cost_per_post": 300},
                {"creator": "@c", "niche": "food", "followers": 40_000, "engagement_rate": 0.05, "cost_per_post": 900}]
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={"total_budget": 1000, "solver": "pulp:PULP_CBC_CMD"})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert key_values(out, "Summary")["Expected engagement"] == pytest.approx(2000)  # @c alone, by hand
    assert key_values(out, "Run info")["Solver"].startswith("PULP_CBC_CMD through PuLP")


@pytest.mark.parametrize("solver, code, words", [
    ("pulp:GUROBI", 1, "is not installed here"),
    ("pulp:NoSuchSolver", 1, "PuLP drives no solver named"),
    ("gurobi", 2, "choose highs, cbc, or pulp:NAME"),
])
def test_a_solver_that_cannot_run_is_refused_plainly(tmp_path, solver, code, words):
    if solver == "pulp:GUROBI" and pulp.GUROBI(msg=False).available():
        pytest.skip("Gurobi is installed on this machine")
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", SAMPLES / "small_campaign.xlsx", "-o", out, "--solver", solver)
    assert result.exit_code == code, result.output
    assert words in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_model_file_must_be_lp_or_mps(tmp_path):
    result = run_cli("export-model", SAMPLES / "small_campaign.xlsx", "-o", tmp_path / "model.txt")
    assert result.exit_code == 1
    assert "must end in .lp or .mps" in result.output
