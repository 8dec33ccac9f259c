"""Numbers as planners write them: ``parse_numbers`` unit tests and engagement-rate column rules.

The engagement-rate rules are checked through the real ``planner validate`` (and
``planner plan``) commands on workbooks written into ``tmp_path``.
"""

from __future__ import annotations

import datetime
import math
import re

import numpy as np
import pytest

from tests.conftest import creator, run_cli, write_workbook
from planner.validate import parse_numbers


def one(value):
    """Parse a single cell; returns (value, blank, percent, bad reason)."""
    parsed = parse_numbers([value])
    assert len(parsed.values) == len(parsed.blank) == len(parsed.percent) == len(parsed.bad) == 1
    return float(parsed.values[0]), bool(parsed.blank[0]), bool(parsed.percent[0]), parsed.bad[0]


# --------------------------------------------------------------------------- parse_numbers: accepted


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("12.5K", 12_500.0),
        ("12.5k", 12_500.0),
        ("1.2M", 1_200_000.0),
        ("1.2m", 1_200_000.0),
        ("2B", 2_000_000_000.0),
        ("$1,200", 1_200.0),
        ("1,200.50", 1_200.5),
        ("1,200,000", 1_200_000.0),
        ("$ 1,200.50", 1_200.5),
        ("0.035", 0.035),
        (".5", 0.5),
        ("-5", -5.0),
        ("-$1,200", -1_200.0),
        ("  12.5K  ", 12_500.0),
        ("\u00a012,500\u00a0", 12_500.0),
        (-5, -5.0),
        (12_500, 12_500.0),
        (0.035, 0.035),
        (0, 0.0),
    ],
)
def test_parse_plain_and_suffixed_numbers(cell, expected):
    value, blank, percent, bad = one(cell)
    assert value == pytest.approx(expected, rel=1e-12)
    assert not blank
    assert not percent
    assert bad == ""


@pytest.mark.parametrize("cell, expected", [("3.5%", 3.5), ("150%", 150.0), ("0.5 %", 0.5), ("100%", 100.0)])
def test_parse_percent_keeps_number_and_sets_flag(cell, expected):
    value, blank, percent, bad = one(cell)
    assert value == pytest.approx(expected)
    assert percent is True
    assert not blank
    assert bad == ""


def test_plain_fraction_is_not_flagged_percent():
    assert one("0.035")[2] is False
    assert one(0.035)[2] is False


# --------------------------------------------------------------------------- parse_numbers: blank


@pytest.mark.parametrize(
    "cell",
    [None, "", "   ", "\t", "\u00a0", " \u00a0 ", float("nan")],
    ids=["None", "empty", "spaces", "tab", "nbsp", "spaces-nbsp", "nan"],
)
def test_blank_cells(cell):
    value, blank, percent, bad = one(cell)
    assert blank is True
    assert math.isnan(value)
    assert not percent
    assert bad == ""


# --------------------------------------------------------------------------- parse_numbers: refused


@pytest.mark.parametrize("cell,expected", [("1,20", 1.2), ("12,5", 12.5), ("1,2000", 1.2), ("0,035", 0.035)])
def test_a_comma_that_cannot_group_thousands_is_a_decimal_comma(cell, expected):
    value, blank, percent, bad = one(cell)
    assert value == pytest.approx(expected) and not bad


@pytest.mark.parametrize("cell", ["12,50.5", "1,20.5"])
def test_bad_grouping_is_refused_with_grouping_message(cell):
    value, blank, percent, bad = one(cell)
    assert math.isnan(value)
    assert not blank
    assert "group" in bad.lower() and "three" in bad.lower(), bad


@pytest.mark.parametrize("cell", ["abc", "lots", "TBD", "12.5KK", "1.2.3", "K", "%", "$", "1 200", "(5)"])
def test_text_is_refused(cell):
    value, blank, percent, bad = one(cell)
    assert math.isnan(value)
    assert not blank
    assert "not a number" in bad, bad


@pytest.mark.parametrize("cell", ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#n/a"])
def test_spreadsheet_error_cells_name_the_error(cell):
    value, blank, percent, bad = one(cell)
    assert math.isnan(value)
    assert not blank
    assert cell.upper() in bad, bad
    assert "error" in bad


@pytest.mark.parametrize(
    "cell",
    [True, False, datetime.date(2024, 5, 1), datetime.datetime(2024, 5, 1, 9, 30), datetime.time(9, 30)],
    ids=["true", "false", "date", "datetime", "time"],
)
def test_booleans_and_dates_are_refused(cell):
    value, blank, percent, bad = one(cell)
    assert math.isnan(value)
    assert not blank
    assert not percent
    assert bad != ""
    assert "date" in bad or "true/false" in bad, bad


def test_a_mixed_column_keeps_every_position():
    cells = ["12.5K", None, "abc", "3.5%", 7, "1,2.0", "#N/A", True, "$1,200"]
    parsed = parse_numbers(cells)
    assert len(parsed.values) == len(cells)
    np.testing.assert_allclose(parsed.values[[0, 3, 4, 8]], [12_500, 3.5, 7, 1_200])
    assert np.isnan(parsed.values[[1, 2, 5, 6, 7]]).all()
    assert parsed.blank.tolist() == [False, True, False, False, False, False, False, False, False]
    assert parsed.percent.tolist() == [False, False, False, True, False, False, False, False, False]
    assert [bool(reason) for reason in parsed.bad] == [False, False, True, False, False, True, True, True, False]


def test_a_long_column_parses_as_its_cells_do_one_by_one():
    # Columns are parsed in bulk (numbers together, each distinct text once); every
    # cell must come out as it does alone, wherever it sits and however often it repeats
    # (in a column whose cells agree on the decimal point: see the decimal-comma tests).
    kinds = ["12.5K", "3.5%", "$1,200", "1,2.0", "#N/A", "abc", "--5", "", "  ", "\u00a07\u00a0", None,
             float("nan"), 48_200, 0.035, -5, np.float64(2.5), np.int64(7), True, datetime.date(2024, 5, 1)]
    cells = [kinds[(i * 7) % len(kinds)] for i in range(600)]
    parsed = parse_numbers(cells)
    for i, cell in enumerate(cells):
        value, blank, percent, bad = one(cell)
        assert (math.isnan(value) and math.isnan(parsed.values[i])) or parsed.values[i] == value, (i, cell)
        assert (bool(parsed.blank[i]), bool(parsed.percent[i]), parsed.bad[i]) == (blank, percent, bad), (i, cell)


def test_a_column_of_numbers_only():
    parsed = parse_numbers([48_200, 0.035, float("nan"), -5, np.float64(2.5), np.int64(7), 0])
    np.testing.assert_array_equal(parsed.values, [48_200, 0.035, np.nan, -5, 2.5, 7, 0])
    assert parsed.blank.tolist() == [False, False, True, False, False, False, False]
    assert not parsed.percent.any()
    assert parsed.bad.tolist() == [""] * 7


def test_empty_column():
    parsed = parse_numbers([])
    assert len(parsed.values) == len(parsed.blank) == len(parsed.percent) == len(parsed.bad) == 0


# --------------------------------------------------------------------------- engagement rate through the CLI


BUDGET = {"total_budget": 1_000_000}


def output_of(result) -> str:
    text = result.output or ""
    try:
        err = result.stderr
    except (ValueError, AttributeError):
        err = ""
    if err and err not in text:
        text += err
    return text


def rates_workbook(tmp_path, rates):
    """One creator per rate (10,000 followers, $100 a post), rows 2, 3, ..."""
    rows = [creator(f"c{i}", followers=10_000, rate=rate, cost=100) for i, rate in enumerate(rates)]
    return write_workbook(tmp_path / "rates.xlsx", rows, BUDGET)


def validate(path):
    result = run_cli("validate", path)
    text = output_of(result)
    assert "Traceback" not in text
    return result.exit_code, text


def rate_errors(text):
    return [line for line in text.splitlines() if line.startswith("Error:") and "engagement_rate" in line]


def planned_engagement(tmp_path, path):
    out = tmp_path / "plan_out.xlsx"
    result = run_cli("plan", path, "-o", out)
    text = output_of(result)
    assert result.exit_code == 0, text
    assert out.exists()
    match = re.search(r"engagement:\s+([\d,]+) expected", text)
    assert match, text
    return int(match.group(1).replace(",", ""))


def test_plain_numbers_between_1_and_100_read_as_percents_with_a_warning(tmp_path):
    path = rates_workbook(tmp_path, [3.5, 5, 100])
    code, text = validate(path)
    assert code == 0, text
    assert text.startswith("OK: 3 creators")
    warnings = [line for line in text.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, text
    assert "engagement_rate" in warnings[0] and "percent" in warnings[0]
    # 3.5 -> 3.5%, 5 -> 5%, 100 -> 100% of 10,000 followers: 350 + 500 + 10,000
    assert planned_engagement(tmp_path, path) == 10_850


def test_plain_numbers_as_text_between_1_and_100_also_read_as_percents(tmp_path):
    path = rates_workbook(tmp_path, ["3.5", "5"])
    code, text = validate(path)
    assert code == 0, text
    assert "warning:" in text and "percent" in text
    assert planned_engagement(tmp_path, path) == 850


def test_fractions_alone_give_no_warning(tmp_path):
    path = rates_workbook(tmp_path, [0.035, 0.05, 1])
    code, text = validate(path)
    assert code == 0, text
    assert "warning" not in text
    assert planned_engagement(tmp_path, path) == 350 + 500 + 10_000


def test_mixed_fraction_and_plain_number_above_1_is_an_error_on_that_row(tmp_path):
    path = rates_workbook(tmp_path, [0.03, 3.5, 0.05])
    code, text = validate(path)
    assert code == 1, text
    errors = rate_errors(text)
    assert len(errors) == 1, text
    assert "Creators" in errors[0] and re.search(r"\brow 3\b", errors[0]) and "3.5" in errors[0]
    assert "0.035" in errors[0] or "3.5%" in errors[0]  # says how to write it
    assert "OK:" not in text


def test_1_is_not_in_the_percent_range_so_50_beside_it_is_an_error(tmp_path):
    path = rates_workbook(tmp_path, [1, 50])
    code, text = validate(path)
    assert code == 1, text
    errors = rate_errors(text)
    assert len(errors) == 1 and re.search(r"\brow 3\b", errors[0]) and "50" in errors[0], text


def test_percent_string_above_100_is_an_error(tmp_path):
    path = rates_workbook(tmp_path, [0.03, "150%"])
    code, text = validate(path)
    assert code == 1, text
    errors = rate_errors(text)
    assert len(errors) == 1, text
    assert re.search(r"\brow 3\b", errors[0]) and "150%" in errors[0] and "100%" in errors[0]


def test_percent_string_above_100_is_an_error_even_when_all_are_percents(tmp_path):
    path = rates_workbook(tmp_path, ["3.5%", "100.5%"])
    code, text = validate(path)
    assert code == 1, text
    errors = rate_errors(text)
    assert len(errors) == 1 and re.search(r"\brow 3\b", errors[0]) and "100.5%" in errors[0], text


@pytest.mark.parametrize("rates, bad_row", [([150], 2), ([0.03, 150], 3), ([3.5, 150], 3), ([100.5, 0.02], 2)])
def test_plain_number_above_100_is_an_error(tmp_path, rates, bad_row):
    path = rates_workbook(tmp_path, rates)
    code, text = validate(path)
    assert code == 1, text
    line = next((l for l in rate_errors(text) if re.search(rf"\brow {bad_row}\b", l)), None)
    assert line is not None, text
    assert "100%" in line


def test_percent_strings_and_fractions_mixed_are_fine(tmp_path):
    path = rates_workbook(tmp_path, ["3.5%", 0.035, "5%", 0.05])
    code, text = validate(path)
    assert code == 0, text
    assert text.startswith("OK: 4 creators")
    assert "warning" not in text
    assert planned_engagement(tmp_path, path) == 350 + 350 + 500 + 500


def test_engagement_rate_column_through_plan_is_refused_without_output(tmp_path):
    path = rates_workbook(tmp_path, [0.03, 3.5])
    out = tmp_path / "plan_out.xlsx"
    result = run_cli("plan", path, "-o", out)
    text = output_of(result)
    assert result.exit_code == 1, text
    assert not out.exists()
    assert "Traceback" not in text
    assert any(re.search(r"\brow 3\b", line) for line in rate_errors(text)), text
