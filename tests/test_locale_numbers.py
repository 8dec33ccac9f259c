"""Every number read right or refused: decimal commas, digits other than 0-9, infinite and
implausible values, invisible handles. Real workbooks and CSV files through the CLI.
"""

from __future__ import annotations

import openpyxl
import pytest

from planner.validate import parse_numbers
from tests.conftest import read_table, run_cli, write_workbook


def rows(costs, rates=None, **columns):
    """Creators rows with the given cost cells (and rate cells)."""
    rates = rates or [0.05] * len(costs)
    out = []
    for i, (cost, rate) in enumerate(zip(costs, rates)):
        row = {"creator": f"c{i}", "niche": "food", "followers": 20_000 + 1000 * i, "engagement_rate": rate,
               "cost_per_post": cost}
        for name, values in columns.items():
            row[name] = values[i]
        out.append(row)
    return out


def allocation_costs(path) -> dict:
    table = read_table(path, "Allocation")
    return dict(zip(table["creator"], table["cost_per_post"]))


def test_a_european_thousands_dot_alone_is_refused_naming_the_setting(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", rows(["€1.200", "€2.400", "€850"]), budget={"total_budget": 5000})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 1, result.output
    assert "row 2" in result.output and "cost_per_post" in result.output
    assert "could be 1.2 or 1,200" in result.output and "decimal_separator" in result.output
    assert "--decimal-comma" in result.output
    assert not out.exists()


@pytest.mark.parametrize("how", ["setting", "flag"])
def test_a_european_workbook_plans_right_with_the_setting_or_the_flag(tmp_path, how):
    budget = {"total_budget": "5.000,00", **({"decimal_separator": ","} if how == "setting" else {})}
    path = write_workbook(tmp_path / "in.xlsx", rows(["1.200 €", "2.400 €", "850 €"], ["3,5%", "4%", "0,05"]),
                          budget=budget)
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out, *(["--decimal-comma"] if how == "flag" else []))
    assert result.exit_code == 0, result.output
    costs = allocation_costs(out)
    # €5,000 buys all three (1,200 + 2,400 + 850 = 4,450): each cost read in thousands, not as 1.2.
    assert costs == {"c0": 1200, "c1": 2400, "c2": 850}
    assert "spend:       €4,450.00" in result.output


def test_a_column_that_shows_its_decimal_comma_is_read_without_a_setting(tmp_path):
    # "0,035" and "3,5%" can only be decimal commas; "1.200,50" only a dot-grouped thousand.
    path = write_workbook(tmp_path / "in.xlsx", rows(["1.200,50", "850", "2.400"], ["3,5%", "0,035", "4%"]),
                          budget={"total_budget": 10_000})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert allocation_costs(out) == {"c0": pytest.approx(1200.5), "c1": 850, "c2": 2400}


def test_a_column_mixing_decimal_commas_and_points_is_refused(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", rows(["1200", "850", "900"], ["3,5%", "4.5%", "0.05"]),
                          budget={"total_budget": 10_000})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 1
    assert "mixes decimal commas" in result.output and "engagement_rate" in result.output
    assert not out.exists()


def test_a_semicolon_csv_with_dotted_thousands_is_refused_then_planned_with_the_flag(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("creator;niche;followers;engagement_rate;cost_per_post\n"
                    "a;food;12.500;3,5%;1.200\nb;food;48.000;2,1%;2.400\nc;beauty;9.800;4,0%;850\n", encoding="utf-8")
    out = tmp_path / "plan.xlsx"
    refused = run_cli("plan", path, "-o", out, "--budget", 5000)
    assert refused.exit_code == 1 and "decimal_separator" in refused.output and not out.exists()
    planned = run_cli("plan", path, "-o", out, "--budget", 5000, "--decimal-comma")
    assert planned.exit_code == 0, planned.output
    assert allocation_costs(out) == {"a": 1200, "b": 2400, "c": 850}


@pytest.mark.parametrize("column,cell", [("followers", "١٢٣٠٠"), ("followers", "１２３００"), ("max_posts", "٣")])
def test_digits_other_than_0_to_9_are_refused(tmp_path, column, cell):
    creators = rows(["1200", "850"])
    creators[0][column] = cell
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={"total_budget": 5000})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 1, result.output
    assert "digits other than 0-9" in result.output and column in result.output and "row 2" in result.output
    assert not out.exists()


@pytest.mark.parametrize("column,value,words", [
    ("followers", 2e10, "above 10,000,000,000"),
    ("cost_per_post", 5e12, "above 1,000,000,000,000"),
    ("max_posts", 1_000_000_000, "above 1,000"),
    ("cost_per_post", "5" + "0" * 400, "infinite"),
])
def test_implausible_numbers_are_refused(tmp_path, column, value, words):
    creators = rows(["1200", "850"])
    creators[1][column] = value
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={"total_budget": 5000})
    result = run_cli("validate", path)
    assert result.exit_code == 1, result.output
    assert words in result.output and "row 3" in result.output


def test_an_infinite_number_cell_is_refused():
    parsed = parse_numbers([float("inf"), 5.0])
    assert parsed.bad[0] and "infinite" in parsed.bad[0] and not parsed.bad[1]
    mixed = parse_numbers([float("-inf"), "5"])
    assert mixed.bad[0] and not mixed.bad[1] and mixed.values[1] == 5


@pytest.mark.parametrize("handle", ["\u200b", "\u00a0\u200b", "\u2060\ufeff"])
def test_a_handle_with_nothing_visible_is_refused(tmp_path, handle):
    creators = rows(["1200", "850"])
    creators[0]["creator"] = handle
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={"total_budget": 5000})
    result = run_cli("validate", path)
    assert result.exit_code == 1, result.output
    assert "no visible character" in result.output or "blank" in result.output


def test_a_max_posts_far_above_what_the_budget_buys_plans_at_once(tmp_path):
    # max_posts 1,000 at $100 a post under a $1,000 budget: ten slots at most, not a thousand.
    from planner.pipeline import load_campaign
    from planner.solve import build_for_solver

    creators = rows(["100", "5000"], max_posts=[1000, 2])
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={"total_budget": 1000})
    campaign = load_campaign(path)[0]
    assert build_for_solver(campaign, "highs").columns == 10
    result = run_cli("plan", path, "-o", tmp_path / "plan.xlsx")
    assert result.exit_code == 0 and "10 posts" in result.output


@pytest.mark.parametrize("forms", [
    ("1200", "850", "2400"),
    ("$1,200", "$850", "$2,400"),
    ("1.2K", "0.85k", "2.4K"),
    ("1.200,00 €", "850,00 €", "2.400,00 €"),
])
def test_the_same_numbers_written_another_way_give_the_same_plan(tmp_path, forms):
    budget = {"total_budget": 3300, **({"decimal_separator": ","} if "€" in forms[0] else {})}
    path = write_workbook(tmp_path / "in.xlsx", rows(list(forms)), budget=budget)
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out, "--no-explain")
    assert result.exit_code == 0, result.output
    # Best under $3,300: c1 + c2 ($3,250), worth 21,000 x 0.05 + 22,000 x 0.05.
    assert set(allocation_costs(out)) == {"c1", "c2"}


def test_a_csv_row_cut_short_is_refused_naming_it(tmp_path):
    # The last row lost its cost_per_post (a file cut mid-row): never planned with a default.
    path = tmp_path / "export.csv"
    path.write_text("creator,niche,followers,engagement_rate,cost_per_post,max_posts\n"
                    "a,food,12500,0.035,1200,2\nb,food,48000,0.0098\n", encoding="utf-8")
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out, "--budget", 5000)
    assert result.exit_code == 1, result.output
    assert "row 3" in result.output and "cut off" in result.output
    assert not out.exists()


def test_a_csv_row_may_leave_out_an_unnamed_last_column(tmp_path):
    # Excel writes a trailing comma for an unnamed last column; a row without it is complete.
    path = tmp_path / "export.csv"
    path.write_text("creator,niche,followers,engagement_rate,cost_per_post,max_posts,\n"
                    "a,food,12500,0.035,1200,2,\nb,food,48000,0.0098,353,3\n", encoding="utf-8")
    result = run_cli("validate", path, "--budget", 5000)
    assert result.exit_code == 0, result.output  # the unnamed last column may be left out


def test_ten_thousand_copies_of_one_handle_are_refused_in_linear_space(tmp_path):
    # One line for the handle, naming the first rows and a count, not every row on every copy's line (590 MB).
    from planner.errors import InputError
    from planner.pipeline import load_campaign

    creators = rows(["100"] * 10_000)
    for row in creators:
        row["creator"] = "same"
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={"total_budget": 5000})
    with pytest.raises(InputError) as caught:
        load_campaign(path)
    messages = caught.value.messages()
    assert len(caught.value.problems) == 10_000
    assert len(messages) == 1
    assert "rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 9,990 more" in messages[0]
    assert len(messages[0]) < 300


def test_a_budget_beyond_any_campaign_is_refused(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", rows(["1200", "850"]), budget={"total_budget": 1e308})
    result = run_cli("plan", path, "-o", tmp_path / "plan.xlsx")
    assert result.exit_code == 1, result.output
    assert "total_budget is above 1,000,000,000,000" in result.output


# --------------------------------------------------------------------------- currency


def test_euro_money_cells_make_a_euro_report(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", rows(["€1.200,00", "€850", "2.400 €"]),
                          budget={"total_budget": "€5.000,00"})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert "spend:       €4,450.00" in result.output and "$" not in result.output
    wb = openpyxl.load_workbook(out)
    formats = {cell.number_format for ws in wb for row in ws.iter_rows() for cell in row}
    assert '"€"#,##0.00' in formats
    assert not any('"$"' in f for f in formats), formats


@pytest.mark.parametrize("setting, shown", [("GBP", "£"), ("£", "£"), ("chf", "CHF ")])
def test_the_currency_setting_takes_a_symbol_or_an_iso_code(tmp_path, setting, shown):
    path = write_workbook(tmp_path / "in.xlsx", rows(["1200", "850"]),
                          budget={"total_budget": 5000, "currency": setting})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"spend:       {shown}2,050.00" in result.output
    ws = openpyxl.load_workbook(out)["Allocation"]
    header = [c.value for c in ws[4]]  # the table's header, under the title rows
    assert ws.cell(row=5, column=header.index("Cost per post") + 1).number_format == f'"{shown}"#,##0.00'


def test_mixed_currency_signs_are_refused_naming_both_cells(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", rows(["€1200", "£850", "€300"]), budget={"total_budget": 5000})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 1, result.output
    assert "row 3" in result.output and '"£850"' in result.output and "row 2" in result.output
    assert "one currency" in result.output
    assert not out.exists()


def test_money_in_another_currency_than_the_setting_is_refused(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", rows(["$1200", "850"]),
                          budget={"total_budget": 5000, "currency": "EUR"})
    result = run_cli("validate", path)
    assert result.exit_code == 1, result.output
    assert "is in $ but the Budget sheet's currency is €" in result.output


def test_an_unknown_currency_setting_is_refused(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", rows(["1200"]), budget={"total_budget": 5000, "currency": "euros"})
    result = run_cli("validate", path)
    assert result.exit_code == 1, result.output
    assert "currency must be a currency symbol" in result.output and '"euros"' in result.output
