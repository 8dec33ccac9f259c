"""The paths that make large campaigns fast, exercised at small sizes by lowering their thresholds.

At test sizes the planner takes the whole program to HiGHS and writes every
sheet with openpyxl; a full sheet of creators instead goes through LP
sifting, reduced-cost fixing around a core MILP, and streamed sheet writing.
These tests force those paths on small campaigns and hold them to the whole
program's optimum and to the independent checker.
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile

import numpy as np
import openpyxl
import pytest

import planner.core as core
import planner.report as report
from models.baseline import rule_of_thumb_plan
from models.checker import check_plan
from models.matrix import build_matrix
from models.plan import Status
from planner.validate import validate
from planner.workbook import read_input
from tests.conftest import REPO, SAMPLES, c_row, write_workbook

GAP = 1e-4


def _generated(tmp_path, n, seed=7):
    """A bench campaign of n creators, written and read back like any input."""
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module
    spec.loader.exec_module(module)
    path = module.generate(n, tmp_path / f"c{n}.xlsx", seed=seed)
    campaign, _ = validate(read_input(path))
    return campaign


@pytest.fixture
def forced_core(monkeypatch):
    """Sifting above 300 columns, a core solve above 200, first cores of 100 columns, guessed ones of 30."""
    monkeypatch.setattr(core, "SIFT_ABOVE", 300)
    monkeypatch.setattr(core, "SMALL", 200)
    monkeypatch.setattr(core, "FIRST_CORE", 100)
    monkeypatch.setattr(core, "HEURISTIC_CORE", 30)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_core_solve_proves_the_whole_programs_optimum(tmp_path, forced_core, monkeypatch, seed):
    campaign = _generated(tmp_path, 3000, seed)
    program = build_matrix(campaign)
    start = rule_of_thumb_plan(campaign)
    forced = core.solve_matrix(program, gap=GAP, start_posts=start if check_plan(campaign, start).ok else None)
    monkeypatch.setattr(core, "SMALL", 10**9)
    monkeypatch.setattr(core, "SIFT_ABOVE", 10**9)
    whole = core.solve_matrix(program, gap=1e-9)
    assert forced.outcome.status is Status.OPTIMAL and whole.outcome.status is Status.OPTIMAL
    assert forced.outcome.gap <= GAP + 1e-12
    # Proven within the gap of the true optimum, and the bound it claims really bounds it.
    assert forced.outcome.objective >= whole.outcome.objective * (1 - GAP) - 1e-6
    assert forced.outcome.bound >= whole.outcome.objective * (1 - 1e-9)
    check = check_plan(campaign, program.posts(forced.x))
    assert check.ok and check.engagement == pytest.approx(forced.outcome.objective, rel=1e-9)


def test_sifted_lp_matches_the_whole_lp(tmp_path, forced_core, monkeypatch):
    campaign = _generated(tmp_path, 3000)
    program = build_matrix(campaign)
    sifted = core._solve_lp(program, None)
    monkeypatch.setattr(core, "SIFT_ABOVE", 10**9)
    whole = core._solve_lp(program, None)
    assert program.objective @ sifted[0] == pytest.approx(program.objective @ whole[0], rel=1e-9)
    # The bound is computed from the duals alone, so it holds whichever LP produced them.
    assert core._lagrangian(program, sifted[1])[1] == pytest.approx(program.objective @ whole[0], rel=1e-7)


def test_core_solve_without_a_starting_plan_grows_its_core(tmp_path, forced_core):
    campaign = _generated(tmp_path, 2000, seed=11)
    program = build_matrix(campaign)
    result = core.solve_matrix(program, gap=1e-7)
    assert result.outcome.status is Status.OPTIMAL and result.outcome.gap <= 1e-7 + 1e-12
    assert check_plan(campaign, program.posts(result.x)).ok


def test_core_solve_reports_infeasible_rules(forced_core, tmp_path):
    creators = [c_row(f"@c{i}", 100 + i, 10, niche="beauty") for i in range(400)]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 1000},
                          niches=[{"niche": "beauty", "max_share": 0.5, "min_creators": 60}])
    campaign, _ = validate(read_input(path))
    result = core.solve_matrix(build_matrix(campaign), gap=GAP)
    assert result.outcome.status is Status.INFEASIBLE and result.x is None


def test_time_limit_stops_the_core_solve_honestly(tmp_path, forced_core):
    campaign = _generated(tmp_path, 3000, seed=12)
    result = core.solve_matrix(build_matrix(campaign), time_limit=0.0, gap=0.0)
    assert result.outcome.status in (Status.NO_SOLUTION, Status.FEASIBLE)
    if result.outcome.status is Status.FEASIBLE:
        assert result.outcome.gap is not None and result.outcome.gap > 0


def test_long_allocation_is_streamed_and_reads_back(tmp_path, monkeypatch):
    from planner.pipeline import plan_to_workbook
    from planner.report import allocation_table
    from planner.words import header_words

    monkeypatch.setattr(report, "BULK_CELLS", 2)
    names = ["@SUM(A1)", "-2+3", "plain & <odd>", "+cmd"]
    creators = [c_row(name, 100 + i, 10) for i, name in enumerate(names)]
    creators += [c_row(f"@c{i}", 50 + i, 10) for i in range(30)]
    path = write_workbook(tmp_path / "in.xlsx", creators, {"total_budget": 250})
    campaign, plan = plan_to_workbook(path, tmp_path / "out.xlsx", explain=False)
    expected = allocation_table(campaign, plan)
    assert len(expected) > 2
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["Allocation"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))  # the header under the title rows
    assert list(rows[0]) == [header_words(c) for c in expected.columns]
    assert len(rows) == len(expected) + 2  # the rows, then the totals row
    for written, (_, row) in zip(rows[1:], expected.iterrows()):
        for value, want in zip(written, row.tolist()):
            if isinstance(want, float) and np.isnan(want):
                assert value is None
            elif isinstance(want, float):
                assert value == pytest.approx(want, rel=1e-12)
            else:
                assert (value if value is not None else "") == want
    assert set(names) <= {row[0] for row in rows[1:]}
    totals = rows[-1]
    assert totals[0] == f"Total: {len(expected)} creators"
    assert totals[list(expected.columns).index("spend")] == pytest.approx(expected["spend"].sum())
    # The streamed cells keep the first row's number formats.
    assert sheet["J6"].number_format == sheet["J5"].number_format != "General"
    assert sheet.tables["Allocation"].ref == (
        f"A4:{openpyxl.utils.get_column_letter(len(expected.columns))}{len(rows) + 3}")
    with zipfile.ZipFile(tmp_path / "out.xlsx") as saved:  # the streamed sheet is compressed like the others
        assert {info.compress_type for info in saved.infolist()} == {zipfile.ZIP_DEFLATED}


def test_sample_plans_agree_between_solvers():
    campaign, _ = validate(read_input(SAMPLES / "small_campaign.xlsx"))
    from planner.pipeline import make_plan

    highs, cbc = make_plan(campaign, "highs"), make_plan(campaign, "cbc")
    assert highs.engagement == pytest.approx(cbc.engagement, rel=2 * campaign.settings.mip_gap)


@pytest.mark.parametrize("share", [0.2, 0.45, 0.7, 1.0])
def test_a_program_re_aimed_at_a_smaller_budget_is_the_program_built_for_it(share):
    """A sweep re-aims the largest budget's program: the caps shrink, so slots are dropped.

    The re-aimed program must have the columns, objective and named rules of a
    fresh build (it keeps only empty link rows for the dropped slots), and the
    same optimum.
    """
    from models.matrix import set_matrix_budget
    from planner.pipeline import load_campaign

    campaign, _, _ = load_campaign(SAMPLES / "typical_campaign.xlsx")
    largest = build_matrix(campaign)
    smaller = campaign.with_settings(total_budget=campaign.settings.total_budget * share)
    re_aimed = set_matrix_budget(largest, smaller)
    fresh = build_matrix(smaller)
    assert re_aimed is not None
    if share < 1.0:
        assert re_aimed.columns < largest.columns  # the caps really dropped slots
    assert np.array_equal(re_aimed.creator, fresh.creator) and np.array_equal(re_aimed.slot, fresh.slot)
    assert np.array_equal(re_aimed.objective, fresh.objective)
    rng = np.random.default_rng(1)
    x = (rng.random(fresh.columns) < 0.3).astype(float)
    mine, theirs = re_aimed.activity(x), fresh.activity(x)
    for name in fresh.rules:
        r, f = re_aimed.row_names.index(name), fresh.row_names.index(name)
        assert mine[r] == pytest.approx(theirs[f], rel=1e-12)
        assert (re_aimed.row_lower[r], re_aimed.row_upper[r]) == pytest.approx((fresh.row_lower[f], fresh.row_upper[f]))
    # Link rows: the fresh program's all hold exactly when the re-aimed program's do.
    links = [k for k, name in enumerate(re_aimed.row_names) if name is None]
    fresh_links = [k for k, name in enumerate(fresh.row_names) if name is None]
    holds = lambda p, a, rows: all(p.row_lower[k] - 1e-9 <= a[k] <= p.row_upper[k] + 1e-9 for k in rows)  # noqa: E731
    for _ in range(20):
        x = (rng.random(fresh.columns) < 0.5).astype(float)
        assert holds(re_aimed, re_aimed.activity(x), links) == holds(fresh, fresh.activity(x), fresh_links)
    # And the same optimum (on the small sample, which proves a zero gap quickly).
    small, _, _ = load_campaign(SAMPLES / "small_campaign.xlsx")
    budget = small.with_settings(total_budget=small.settings.total_budget * share)
    a = core.solve_matrix(set_matrix_budget(build_matrix(small), budget), gap=0.0)
    b = core.solve_matrix(build_matrix(budget), gap=0.0)
    assert a.outcome.status is Status.OPTIMAL and b.outcome.status is Status.OPTIMAL
    assert a.outcome.objective == pytest.approx(b.outcome.objective, rel=1e-9)
