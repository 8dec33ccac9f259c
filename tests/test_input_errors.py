"""Bad input is refused plainly: exit 1, a message that says where, no traceback, nothing written.

Every test writes a real workbook (openpyxl) or file into ``tmp_path`` and runs
the real CLI (``planner plan IN -o OUT`` and, where it means something,
``planner validate IN``). Row numbers are Excel's: the header is row 1 and the
first creator row 2 unless a test puts title rows above the header.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from random import Random

import openpyxl
import pytest
from openpyxl import Workbook, load_workbook

from tests.conftest import creator, run_cli, write_workbook

REQUIRED = ("creator", "niche", "followers", "engagement_rate", "cost_per_post")
BUDGET = {"total_budget": 5000}


# --------------------------------------------------------------------------- helpers


def output_of(result) -> str:
    """Everything the command printed (stdout and stderr)."""
    text = result.output or ""
    try:
        err = result.stderr
    except (ValueError, AttributeError):
        err = ""
    if err and err not in text:
        text += err
    return text


def error_lines(text: str) -> list:
    """The lines that report a problem."""
    return [line for line in text.splitlines() if line.startswith("Error:")]


def named_rows(line):
    """The Excel rows a message names: "row 7", or "rows 2, 5 and 9" (a collapsed message)."""
    found = re.search(r"\brows? ((?:\d+)(?:(?:, | and )\d+)*)(?! more)", line)
    return {int(n) for n in re.findall(r"\d+", found.group(1))} if found else set()


def find_line(text, sheet=None, row=None, column=None, contains=()):
    """The one-line message naming sheet, Excel row and column (and every fragment in contains)."""
    for line in text.splitlines():
        if sheet is not None and sheet not in line:
            continue
        if row is not None and row not in named_rows(line):
            continue
        if column is not None and column not in line:
            continue
        if all(part in line for part in contains):
            return line
    raise AssertionError(
        f"no line names sheet={sheet!r} row={row!r} column={column!r} with {list(contains)!r} in:\n{text}"
    )


def _assert_clean(result, text):
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def refuse_plan(path, tmp_path, *extra):
    """Run ``planner plan``; assert exit 1, no traceback, no report (nor temp file) written."""
    out = tmp_path / "report_out.xlsx"
    before = {p.name for p in tmp_path.iterdir()}
    result = run_cli("plan", path, "-o", out, *extra)
    text = output_of(result)
    assert result.exit_code == 1, text
    assert not out.exists(), text
    assert {p.name for p in tmp_path.iterdir()} == before, "plan left a file behind"
    _assert_clean(result, text)
    assert error_lines(text), text
    assert "Plan written" not in text
    return text


def refuse_validate(path, *extra):
    """Run ``planner validate``; assert exit 1, no traceback, no OK line."""
    result = run_cli("validate", path, *extra)
    text = output_of(result)
    assert result.exit_code == 1, text
    _assert_clean(result, text)
    assert error_lines(text), text
    assert "OK:" not in text
    return text


def refuse_both(path, tmp_path, *extra):
    """Both commands refuse the input with the same problem lines; returns the plan output."""
    plan_text = refuse_plan(path, tmp_path, *extra)
    validate_text = refuse_validate(path, *extra)
    assert sorted(error_lines(plan_text)) == sorted(error_lines(validate_text))
    return plan_text


def good_creators():
    return [
        creator("alice", niche="beauty", followers=10_000, rate=0.05, cost=100),
        creator("bob", niche="beauty", followers=20_000, rate=0.04, cost=200),
        creator("carol", niche="food", followers=30_000, rate=0.03, cost=300),
    ]


def plan_ok(path, tmp_path, *extra):
    out = tmp_path / "ok_out.xlsx"
    result = run_cli("plan", path, "-o", out, *extra)
    text = output_of(result)
    assert result.exit_code == 0, text
    assert out.exists()
    assert "Traceback" not in text
    load_workbook(out)  # a real workbook was written
    return text


def validate_ok(path, *extra):
    result = run_cli("validate", path, *extra)
    text = output_of(result)
    assert result.exit_code == 0, text
    ok_lines = [line for line in text.splitlines() if line.startswith("OK:")]
    assert len(ok_lines) == 1, text
    assert not error_lines(text), text
    return ok_lines[0], text


# --------------------------------------------------------------------------- control


def test_valid_workbook_plans_and_validates(tmp_path):
    path = write_workbook(tmp_path / "good.xlsx", good_creators(), BUDGET)
    text = plan_ok(path, tmp_path)
    assert "spend:       $600.00" in text
    assert "engagement:  2,200 expected" in text
    ok, _ = validate_ok(path)
    assert ok == "OK: 3 creators, 2 niches, 0 group rules, budget $5,000.00"


# --------------------------------------------------------------------------- one kind of bad input each


@pytest.mark.parametrize("missing", REQUIRED)
def test_missing_required_column(tmp_path, missing):
    rows = good_creators()
    for row in rows:
        row.pop(missing)
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=1, column=missing)
    assert "missing" in line


@pytest.mark.parametrize(
    "column, value",
    [("followers", "lots"), ("cost_per_post", "TBD"), ("engagement_rate", "high"), ("max_posts", "two")],
)
def test_text_in_number_column(tmp_path, column, value):
    rows = good_creators()
    rows[1][column] = value
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=3, column=column, contains=(value, "not a number"))
    assert "row 2" not in text and "row 4" not in text, text
    assert line


@pytest.mark.parametrize("column, value", [("followers", -5), ("cost_per_post", -100), ("engagement_rate", -0.02)])
def test_negative_value(tmp_path, column, value):
    rows = good_creators()
    rows[2][column] = value
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Creators", row=4, column=column, contains=("at least 0",))


def test_negative_cost_written_as_money(tmp_path):
    rows = good_creators()
    rows[0]["cost_per_post"] = "-$1,200"
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Creators", row=2, column="cost_per_post", contains=("-$1,200", "at least 0"))


@pytest.mark.parametrize("second", ["alice", "Alice ", "@alice", "ALICE"])
def test_duplicate_creators_name_both_rows(tmp_path, second):
    rows = good_creators() + [creator(second, niche="food")]
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=2, column="creator", contains=("duplicate",))
    assert "rows 2 and 5" in line and len(error_lines(text)) == 1, text


def test_duplicates_far_apart_in_a_long_sheet_name_every_row(tmp_path):
    rows = [creator(f"creator{i}") for i in range(1_500)]
    rows[10]["creator"] = "@Anna Lee"  # row 12
    rows[900]["creator"] = "annalee"  # row 902
    rows[1_400]["creator"] = " ANNA\u00a0LEE "  # row 1402
    rows[20]["creator"] = "Ｂｏｂ"  # row 22: fullwidth, the same handle as bob after NFKC
    rows[1_200]["creator"] = "bob"  # row 1202
    rows[30]["creator"] = ""  # row 32: blank, reported as blank, not as a duplicate
    rows[40]["creator"] = ""  # row 42
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_validate(path)
    # One line per duplicated handle, naming all its rows; the two blanks on one line.
    line = find_line(text, sheet="Creators", row=902, column="creator", contains=("duplicate",))
    assert "rows 12, 902 and 1402" in line and "keep one row per creator" in line, line
    line = find_line(text, sheet="Creators", row=1202, column="creator", contains=("duplicate",))
    assert "rows 22 and 1202" in line, line
    find_line(text, sheet="Creators", row=42, column="creator", contains=("rows 32 and 42", "blank"))
    assert len(error_lines(text)) == 3, text


def test_group_names_spelled_several_ways_in_a_long_sheet_are_one_group(tmp_path):
    spellings = ["Beauty", "beauty", "BEAUTY ", "Caf\u00e9", "cafe\u0301", "food"]
    rows = [creator(f"creator{i}", niche=spellings[i % len(spellings)], platform=["TikTok", "tiktok"][i % 2])
            for i in range(600)]
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET, niches=[{"niche": "beauty", "max_share": 0.5}])
    ok, text = validate_ok(path)
    assert ok.startswith("OK: 600 creators, 3 niches, 1 group rules"), ok
    assert "no creators" not in text


def test_engagement_above_100_percent(tmp_path):
    rows = good_creators()
    rows[1]["engagement_rate"] = "150%"
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Creators", row=3, column="engagement_rate", contains=("150%", "100%"))


@pytest.mark.parametrize("budget", [{}, None, {"max_creators": 3}], ids=["empty-sheet", "no-sheet", "other-settings"])
def test_missing_budget(tmp_path, budget):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), budget)
    text = refuse_both(path, tmp_path)
    line = find_line(text, contains=("total_budget", "missing"))
    assert "Budget" in line or str(path) in line
    assert len(error_lines(text)) == 1, text


@pytest.mark.parametrize("value", [0, "$0", "0K", -5000, "lots"])
def test_zero_negative_or_text_budget(tmp_path, value):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), {"total_budget": value})
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Budget", row=2, column="value", contains=("total_budget",))


def test_blank_budget_value(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), {"total_budget": None})
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Budget", row=2, column="value", contains=("total_budget", "blank"))


def _with_formula(path, sheet, cell, formula):
    wb = load_workbook(path)
    wb[sheet][cell] = formula  # openpyxl saves formulas with no cached value
    wb.save(path)
    return path


def test_formula_without_saved_value_in_creators(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), BUDGET)
    _with_formula(path, "Creators", "D2", "=B2*2")  # D = engagement_rate, row 2 = alice
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=2, column="engagement_rate")
    # The cell is not blank: it holds a formula whose value was never saved.
    assert "formula" in line.lower(), text
    assert "=B2*2" in line, text


def test_formula_without_saved_value_in_budget(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), BUDGET)
    _with_formula(path, "Budget", "B2", "=1000*5")
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Budget", row=2, column="value")
    assert "formula" in line.lower(), text


def test_formula_without_saved_value_in_optional_column_is_refused(tmp_path):
    rows = good_creators()
    for row in rows:
        row["max_posts"] = 2
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    _with_formula(path, "Creators", "F3", "=1+1")  # F = max_posts, row 3 = bob
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=3, column="max_posts")
    assert "formula" in line.lower(), text


def _rewrite_cell_xml(path, old: bytes, new: bytes):
    """Replace one cell's XML inside the saved workbook (to write what other tools write)."""
    source = path.read_bytes()
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(source)
    replaced = 0
    with zipfile.ZipFile(temporary) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/") and old in data:
                data = data.replace(old, new)
                replaced += 1
            zout.writestr(item, data)
    temporary.unlink()
    assert replaced == 1, "cell XML to rewrite not found"
    return path


def test_formula_with_no_value_element_at_all(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), BUDGET)
    _with_formula(path, "Creators", "E3", "=C3/100")  # E = cost_per_post, row 3 = bob
    _rewrite_cell_xml(path, b'<c r="E3"><f>C3/100</f><v /></c>', b'<c r="E3"><f>C3/100</f></c>')
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=3, column="cost_per_post", contains=("=C3/100",))
    assert "formula" in line.lower()


def test_formula_whose_saved_value_is_empty_text_is_not_refused(tmp_path):
    """Excel saves ``=IF(..., "", ...)`` that evaluated to "" as ``<c t="str"><f>..</f><v/></c>``.

    That formula has a saved value (empty text), so the optional column is just blank.
    """
    rows = good_creators()
    for row in rows:
        row["platform"] = "instagram"
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    _rewrite_cell_xml(
        path,
        b'<c r="F2" t="inlineStr"><is><t>instagram</t></is></c>',
        b'<c r="F2" t="str"><f>IF(B2="beauty","","tiktok")</f><v/></c>',
    )
    plan_ok(path, tmp_path)
    validate_ok(path)


@pytest.mark.parametrize("error", ["#N/A", "#DIV/0!", "#VALUE!"])
def test_spreadsheet_error_cell_in_a_number_column(tmp_path, error):
    rows = good_creators()
    rows[1]["engagement_rate"] = error  # openpyxl saves these as error cells (t="e")
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=3, column="engagement_rate", contains=(error,))
    assert "blank" not in line, line


def test_spreadsheet_error_cell_as_budget(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), {"total_budget": "#REF!"})
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Budget", row=2, column="value", contains=("#REF!", "total_budget"))


@pytest.mark.parametrize(
    "rows",
    [
        [list(REQUIRED)],
        [list(REQUIRED), [None] * 5, ["", "  ", None, None, None]],
    ],
    ids=["header-only", "header-and-blank-rows"],
)
def test_empty_creators_sheet(tmp_path, rows):
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators")
    assert "creator" in line.split("Creators", 1)[1].lower(), line


def test_creators_sheet_with_nothing_at_all(tmp_path):
    wb = Workbook()
    wb.active.title = "Creators"
    budget = wb.create_sheet("Budget")
    budget.append(["setting", "value"])
    budget.append(["total_budget", 5000])
    path = tmp_path / "in.xlsx"
    wb.save(path)
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Creators")


def test_no_creators_sheet_names_the_file(tmp_path):
    wb = Workbook()
    wb.active.title = "Influencers"
    wb.active.append(list(REQUIRED))
    wb.active.append(["alice", "beauty", 10_000, 0.05, 100])
    path = tmp_path / "in.xlsx"
    wb.save(path)
    text = refuse_both(path, tmp_path, "--budget", "5000")
    find_line(text, contains=(str(path), "Creators"))


def _png_bytes():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00"  # one red pixel, filter byte first
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _random_bytes():
    data = Random(20240601).randbytes(4096)
    return data[:100] + b"\x00" + data[100:]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_random_bytes(), id="random-bytes"),
        pytest.param(_png_bytes(), id="png"),
        pytest.param(b"Notes for the Q3 campaign\nask Sam about budget\n", id="txt-saved-as-xlsx"),
    ],
)
def test_file_that_is_not_a_workbook(tmp_path, content):
    path = tmp_path / "campaign.xlsx"
    path.write_bytes(content)
    text = refuse_both(path, tmp_path)
    assert all("campaign.xlsx" in line for line in error_lines(text)), text


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "campaign.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a spreadsheet")
    text = refuse_both(path, tmp_path)
    find_line(text, contains=(str(path), "not an Excel workbook"))


def test_truncated_workbook(tmp_path):
    whole = write_workbook(tmp_path / "whole.xlsx", good_creators(), BUDGET).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    (tmp_path / "whole.xlsx").unlink()
    text = refuse_both(path, tmp_path)
    line = find_line(text, contains=(str(path),))
    assert "truncated" in line or "damaged" in line


def test_empty_file(tmp_path):
    path = tmp_path / "campaign.xlsx"
    path.write_bytes(b"")
    text = refuse_both(path, tmp_path)
    find_line(text, contains=(str(path), "empty"))


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "campaign.xlsx"
    text = refuse_both(path, tmp_path)
    find_line(text, contains=(str(path), "not found"))


def test_folder_instead_of_file(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    text = refuse_both(folder, tmp_path)
    find_line(text, contains=(str(folder), "folder"))


def test_min_posts_above_max_posts(tmp_path):
    rows = good_creators()
    rows[1].update(min_posts=3, max_posts=2)
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=3, column="min_posts")
    assert "max_posts" in line


@pytest.mark.parametrize("value", ["maybe", "yes", "mandatory"])
def test_bad_include_value(tmp_path, value):
    rows = good_creators()
    rows[2]["include"] = value
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Creators", row=4, column="include", contains=(value,))
    assert "must" in line and "exclude" in line


def test_include_values_accepted(tmp_path):
    rows = good_creators()
    rows[0]["include"] = "Must"
    rows[1]["include"] = " EXCLUDE "
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = plan_ok(path, tmp_path)
    assert "creators:    2 booked" in text  # bob excluded, alice and carol booked


def test_budget_setting_typo(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), {"total_budegt": 5000})
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Budget", row=2, column="setting", contains=("total_budegt",))
    assert "total_budget" in line.replace("total_budegt", "")  # suggests the right name


def test_budget_setting_typo_beside_a_valid_budget(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), {"total_budget": 5000, "max_creatrs": 2})
    text = refuse_both(path, tmp_path)
    line = find_line(text, sheet="Budget", row=3, column="setting", contains=("max_creatrs",))
    assert "max_creators" in line
    assert len(error_lines(text)) == 1, text


def test_unrelated_budget_setting_is_only_a_warning(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", good_creators(), {"total_budget": 5000, "colour": "blue"})
    text = plan_ok(path, tmp_path)
    assert "colour" in text and "warning" in text


def test_bad_input_leaves_an_existing_report_untouched(tmp_path):
    out = tmp_path / "report_out.xlsx"
    out.write_bytes(b"previous report")
    rows = good_creators()
    rows[0]["followers"] = "lots"
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 1, output_of(result)
    assert out.read_bytes() == b"previous report"


# --------------------------------------------------------------------------- several problems at once


def test_every_problem_in_a_file_is_reported(tmp_path):
    rows = [
        creator("alice"),  # row 2, duplicated on row 5
        creator("bob", followers="lots"),  # row 3
        creator("carol", cost=-3),  # row 4
        creator("alice", niche="food"),  # row 5
        creator("dave", rate="150%"),  # row 6
        creator("erin", include="maybe"),  # row 7
        creator("frank", min_posts=4, max_posts=2),  # row 8
    ]
    niches = [{"niche": "beauty", "max_share": "abc"}]
    path = write_workbook(tmp_path / "in.xlsx", rows, {}, niches=niches)
    text = refuse_both(path, tmp_path)
    expected = [
        find_line(text, contains=("total_budget", "missing")),
        find_line(text, sheet="Creators", row=5, column="creator", contains=("duplicate", "rows 2 and 5")),
        find_line(text, sheet="Creators", row=3, column="followers", contains=("lots",)),
        find_line(text, sheet="Creators", row=4, column="cost_per_post"),
        find_line(text, sheet="Creators", row=6, column="engagement_rate", contains=("150%",)),
        find_line(text, sheet="Creators", row=7, column="include", contains=("maybe",)),
        find_line(text, sheet="Creators", row=8, column="min_posts"),
        find_line(text, sheet="Niches", row=2, column="max_share", contains=("abc",)),
    ]
    assert len(set(expected)) == len(expected), "each problem should be on its own line"
    assert all(line in error_lines(text) for line in expected)
    assert len(error_lines(text)) == len(expected), text


# --------------------------------------------------------------------------- what is accepted


TITLE_ROWS = [["Q3 launch - creator shortlist"], ["prepared by the brand team"], []]


def test_header_below_title_rows(tmp_path):
    rows = TITLE_ROWS + [
        list(REQUIRED),
        ["alice", "beauty", "12.5K", "3.5%", "$1,200"],
        ["bob", "food", 20_000, 0.04, 200],
    ]
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = plan_ok(path, tmp_path)
    assert "creators:    2 booked" in text
    assert "spend:       $1,400.00" in text
    ok, _ = validate_ok(path)
    assert ok.startswith("OK: 2 creators, 2 niches")


def test_header_below_title_rows_reports_excel_rows(tmp_path):
    rows = TITLE_ROWS + [
        list(REQUIRED),  # row 4
        ["alice", "beauty", 10_000, 0.05, 100],  # row 5
        [None] * 5,  # row 6, blank
        ["bob", "food", "many", 0.04, 200],  # row 7
    ]
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Creators", row=7, column="followers", contains=("many",))
    assert len(error_lines(text)) == 1, text


def test_header_names_are_case_and_space_insensitive(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = " creators "
    ws.append(["CREATOR", " Niche ", "Followers", " Engagement Rate ", "Cost Per Post", "Max Posts"])
    ws.append(["alice", "beauty", 10_000, 0.05, 100, 2])
    ws.append(["bob", "food", 20_000, 0.04, 200, 1])
    budget = wb.create_sheet("BUDGET")
    budget.append(["Setting", "Value"])
    budget.append(["Total Budget", "$50,000"])
    path = tmp_path / "in.xlsx"
    wb.save(path)
    text = plan_ok(path, tmp_path)
    assert "creators:    2 booked, 3 posts" in text
    ok, _ = validate_ok(path)
    assert ok == "OK: 2 creators, 2 niches, 0 group rules, budget $50,000.00"


def test_header_names_matched_loosely_still_report_written_header(tmp_path):
    rows = [["creator", "niche", "followers", " Engagement Rate ", "Cost Per Post"],
            ["alice", "beauty", 10_000, 0.05, "free"]]
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = refuse_both(path, tmp_path)
    find_line(text, sheet="Creators", row=2, column="Cost Per Post", contains=("free",))


def test_extra_unknown_columns_are_accepted(tmp_path):
    rows = [dict(row, notes="loves cats", agency="Acme", **{"Last contacted": "2024-05-01"}) for row in good_creators()]
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    text = plan_ok(path, tmp_path)
    assert "engagement:  2,200 expected" in text
    ok, _ = validate_ok(path)
    assert ok.startswith("OK: 3 creators")


# --------------------------------------------------------------------------- CSV exports


CSV_TEXT = (
    "creator,niche,followers,engagement_rate,cost_per_post\n"
    "alice,beauty,12.5K,3.5%,\"$1,200\"\n"
    "bob,food,20000,0.04,200\n"
)


def test_csv_with_budget_option_plans(tmp_path):
    path = tmp_path / "creators.csv"
    path.write_text(CSV_TEXT)
    text = plan_ok(path, tmp_path, "--budget", "$5,000")
    assert "creators:    2 booked" in text
    assert "spend:       $1,400.00" in text
    ok, _ = validate_ok(path, "--budget", "5k")
    assert ok == "OK: 2 creators, 2 niches, 0 group rules, budget $5,000.00"


def test_csv_without_budget_is_refused(tmp_path):
    path = tmp_path / "creators.csv"
    path.write_text(CSV_TEXT)
    text = refuse_both(path, tmp_path)
    line = find_line(text, contains=("creators.csv", "total_budget"))
    assert "--budget" in line


def test_csv_with_bad_cell_names_row_and_column(tmp_path):
    path = tmp_path / "creators.csv"
    path.write_text(CSV_TEXT + "carol,food,lots,0.02,50\n")
    text = refuse_both(path, tmp_path, "--budget", "5000")
    find_line(text, sheet="creators.csv", row=4, column="followers", contains=("lots",))


# --------------------------------------------------------------------------- exit codes other than 1


@pytest.fixture
def good_input(tmp_path):
    return write_workbook(tmp_path / "in.xlsx", good_creators(), BUDGET)


@pytest.mark.parametrize(
    "args, mention",
    [
        (["plan", "{input}"], "--output"),
        (["plan", "{input}", "-o", "{out}", "--solver", "nosuch"], "nosuch"),
        (["plan", "{input}", "-o", "{out}", "--no-such-option"], "--no-such-option"),
        (["plan", "{input}", "-o", "{out}", "--budget", "abc"], "--budget"),
        (["plan", "{input}", "-o", "{out}", "--time-limit", "0"], "--time-limit"),
        (["plan", "{input}", "-o", "{out}", "--gap", "2"], "--gap"),
        (["plan", "-o", "{out}"], "INPUT"),
        (["validate"], "INPUT"),
        (["validate", "{input}", "--bogus"], "--bogus"),
        (["no-such-command"], "no-such-command"),
    ],
)
def test_usage_errors_exit_2(tmp_path, good_input, args, mention):
    out = tmp_path / "usage_out.xlsx"
    result = run_cli(*[a.format(input=good_input, out=out) for a in args])
    text = output_of(result)
    assert result.exit_code == 2, text
    assert not out.exists()
    assert "Traceback" not in text
    assert "Usage:" in text
    assert mention in text


def test_rules_that_cannot_hold_exit_3_not_1(tmp_path):
    rows = good_creators()
    rows[2].update(include="must", cost_per_post=9_000)
    path = write_workbook(tmp_path / "in.xlsx", rows, BUDGET)
    # Every cell is fine, but validate runs plan's instant pre-checks: exit 3, not "OK".
    checked = run_cli("validate", path)
    assert checked.exit_code == 3 and "cannot all hold" in output_of(checked)
    out = tmp_path / "out.xlsx"
    result = run_cli("plan", path, "-o", out)
    text = output_of(result)
    assert result.exit_code == 3, text
    assert "Traceback" not in text
    assert "cannot all hold" in text
    # The only file written is the explanation, as a Diagnosis sheet.
    assert openpyxl.load_workbook(out).sheetnames == ["Diagnosis", "Run info"]
