"""Error lists a planner can act on: sorted by sheet and row, the same message told once with
its rows, values as typed, totals rows named, damaged files described in words."""

from __future__ import annotations

import datetime
import re
import zipfile

import pytest

from planner.errors import InputError, Problem, collapsed, shown_value
from tests.conftest import run_cli, write_workbook


def creators(n, **override):
    out = []
    for i in range(n):
        row = {"creator": f"@c{i}", "niche": "food", "followers": 20_000 + i, "engagement_rate": 0.05,
               "cost_per_post": 500}
        row.update({k: v(i) if callable(v) else v for k, v in override.items()})
        out.append(row)
    return out


def error_lines(output):
    return [line for line in output.splitlines() if line.startswith("Error:")]


def test_the_same_message_on_47_rows_is_one_line_naming_its_rows_and_the_odd_row_its_own(tmp_path):
    rows = creators(48, cost_per_post=lambda i: -5 if i < 47 else "abc")
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 5000})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 1
    lines = error_lines(result.output)
    assert len(lines) == 2, result.output
    # 47 rows of -5: one line, first ten rows and a count, the value as typed.
    assert "rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 37 more" in lines[0]
    assert "value -5:" in lines[0] and "must be at least 0" in lines[0]
    assert "row 49" in lines[1] and '"abc"' in lines[1]
    assert not out.exists()


def test_messages_are_sorted_by_sheet_then_row():
    problems = [
        Problem("Creators", "is blank", 9, "niche", ""),
        Problem("Creators", "must be at least 0", 3, "cost_per_post", -60000.0),
        Problem("Niches", "min above max", 2, "min_share", 0.5),
        Problem("Creators", "unknown tier", 5, "tier", "giga"),
    ]
    lines = collapsed(problems)
    assert [re.search(r"row (\d+)", line).group(1) for line in lines] == ["3", "5", "9", "2"]
    assert lines[-1].startswith("Niches")


@pytest.mark.parametrize("value, shown", [
    (-60000.0, "-60000"), (0.035, "0.035"), (1e308, "1e+308"), (float("inf"), "infinity"),
    (datetime.time(12, 30), "12:30"), (datetime.datetime(2026, 3, 1), "2026-03-01"),
    (datetime.date(2026, 3, 1), "2026-03-01"), (True, "TRUE"), ("1e308", '"1e308"'), (42, "42"),
])
def test_values_are_shown_as_typed_not_as_python_reprs(value, shown):
    assert shown_value(value) == shown
    line = str(Problem("Creators", "bad", 2, "cost_per_post", value))
    assert f"value {shown}:" in line and "datetime" not in line and ".0:" not in line


def test_an_input_error_keeps_every_problem_for_code_but_prints_them_collapsed():
    problems = [Problem("Creators", "is blank", r, "niche", "") for r in range(2, 10_002)]
    error = InputError(problems)
    assert len(error.problems) == 10_000
    assert error.messages() == [
        "Creators, rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 9,990 more, column 'niche': is blank"]


def test_duplicated_handles_10000_times_print_one_line(tmp_path):
    rows = creators(3) + [{"creator": "@dup", "niche": "food", "followers": 1000, "engagement_rate": 0.05,
                           "cost_per_post": 10}] * 200
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 5000})
    result = run_cli("validate", path)
    assert result.exit_code == 1
    lines = error_lines(result.output)
    assert len(lines) == 1, result.output
    assert "duplicate creator" in lines[0] and "and 190 more" in lines[0]


@pytest.mark.parametrize("label", ["Total", "TOTAL:", "Grand total", "Sum", "Subtotal", "Totals"])
def test_a_totals_row_is_named_as_one_to_delete(tmp_path, label):
    rows = creators(4) + [{"creator": label, "niche": None, "followers": 80_006, "engagement_rate": None,
                           "cost_per_post": 2000}]
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 5000})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 1
    lines = error_lines(result.output)
    assert len(lines) == 1, result.output
    assert "row 6" in lines[0] and "totals row" in lines[0] and "delete it" in lines[0]
    assert not out.exists()


def test_a_handle_that_merely_contains_total_is_a_creator(tmp_path):
    rows = creators(2) + [{"creator": "@totalfitness", "niche": "food", "followers": 30_000,
                           "engagement_rate": 0.05, "cost_per_post": 300}]
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 5000})
    assert run_cli("validate", path).exit_code == 0


def test_a_damaged_workbook_is_described_in_words_not_exception_names(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", creators(3), budget={"total_budget": 5000})
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b"<sheets>", b"<sheets><broken")
            target.writestr(item, data)
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", damaged, "-o", out)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert not re.search(r"\b\w+(Error|NotFound|Exception)\b", result.output.replace("Error:", "")), result.output
    assert "save it again" in result.output
    assert not out.exists()


def test_rules_on_groups_nobody_is_in_make_one_warning_not_one_each(tmp_path):
    niches = [{"niche": f"empty{i}", "max_share": 0.5} for i in range(7)]
    path = write_workbook(tmp_path / "in.xlsx", creators(3), budget={"total_budget": 5000}, niches=niches)
    result = run_cli("validate", path)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: Niches sheet: niches 'empty0', 'empty1', 'empty2', 'empty3', 'empty4' and 2 more "
                        "have no creators on the Creators sheet"]
