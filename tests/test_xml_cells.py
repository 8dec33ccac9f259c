"""Cell values a reader could silently misread are read as XML reads them, or refused, on both read paths.

Three kinds of damage, each once read wrongly without a word:

1. a value written with XML markup, ``<v>5&#48;00</v>`` (5000 to any XML parser), read as 5;
2. a shared-text reference that is no entry number (``-1``, ``0x10``, ``11.0``, `` 11 ``,
   2**64, ``11.5``, or past the end of the table), read as entry 0 (the creator planned under
   the handle of string 0);
3. a cell given twice (``<c r="A2">`` twice, or ``<row r="2">`` twice): the last copy won.

Each workbook is written with openpyxl (tests/conftest.py), its text moved into a shared-strings
table as Excel keeps it, then its sheet XML is rewritten inside the zip. Every case runs on
the small-file path (the guard's per-region scan, then python-calamine) and on the big-file path
(a sheet padded above ``guard.BULK_SCAN_BYTES``: scanned with numpy, its cells collected by
:mod:`planner.plain_xlsx` until the damage, or, with inline text, measured with numpy and read
by calamine). Refusals are checked through ``planner plan FILE -o out.xlsx``: exit 1, words of
the message, no report written.
"""

from __future__ import annotations

import functools
import re
import tempfile
import zipfile
from pathlib import Path

import pytest

from planner import guard, plain_xlsx, workbook
from planner.errors import InputError
from planner.workbook import read_input
from tests.conftest import assert_same_rows, creator, run_cli, write_workbook

SHEET = "xl/worksheets/sheet1.xml"  # the Creators sheet
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PATHS = ["small", "big", "big-inline"]
_INLINE = re.compile(rb'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"><is><t(?: [^>]*)?>(.*?)</t></is></c>')


@pytest.fixture(autouse=True)
def bulk_reader_matches_calamine(monkeypatch):
    """tests/conftest.py's check that every sheet read in bulk reads alike by calamine, where calamine reads.

    Here calamine alone refuses many of the workbooks (a reference past the table) where the
    planner names the cell; the sheets read in bulk are still compared whenever it does read.
    """
    bulk = workbook._bulk_sheets

    def checked(archive, path, label, layout):
        names, visible, ready = bulk(archive, path, label, layout)
        if ready:
            try:
                sheets, calamine_names = workbook._calamine_sheets(Path(path), label, "xlsx")
            except InputError:
                return names, visible, ready
            assert names == calamine_names
            for key, rows in ready.items():
                assert_same_rows(rows, sheets[key], f"{label}:{key}")
        return names, visible, ready

    monkeypatch.setattr(workbook, "_bulk_sheets", checked)


# --------------------------------------------------------------------------- builders


@functools.lru_cache(maxsize=None)
def _openpyxl_members() -> tuple:
    """The parts of a two-creator workbook written by openpyxl, its text in a shared-strings table.

    Creators: A1:E1 header, row 2 alice (cost 100 in E2), row 3 bob. Strings 0-4 are the
    header, 5-7 alice, beauty and bob, 8-10 the Budget sheet's, 11 "spare 11": 12 entries.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = write_workbook(Path(folder) / "base.xlsx", [creator("alice"), creator("bob", cost=200)],
                              {"total_budget": 5000})
        with zipfile.ZipFile(path) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
    strings = {}

    def shared(match):
        index = strings.setdefault(match.group(3), len(strings))
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (match.group(1), match.group(2), index)

    for name in [n for n in members if n.startswith("xl/worksheets/")]:
        members[name] = _INLINE.sub(shared, members[name])
    for k in range(len(strings), 12):  # a few more entries, so that 11 is one
        strings[b"spare %d" % k] = k
    table = b"".join(b"<si><t>%s</t></si>" % text for text in strings)
    members["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="%s" count="%d" uniqueCount="%d">%s</sst>'
        % (MAIN.encode(), len(strings), len(strings), table))
    members["xl/_rels/workbook.xml.rels"] = members["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Type="%s/sharedStrings" Target="sharedStrings.xml" Id="rId99" />'
        b"</Relationships>" % REL.encode())
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml" /></Types>')
    assert b't="inlineStr"' not in members[SHEET] and b'<c r="A2" t="s"><v>5</v></c>' in members[SHEET]
    return tuple(members.items())


#: Rows added to a big sheet: about 110 bytes each.
PADDING_ROWS = guard.BULK_SCAN_BYTES // 100 + 1000


@functools.lru_cache(maxsize=None)
def _padding(kind: str) -> bytes:
    """Rows 4 on, enough to take the Creators sheet past guard.BULK_SCAN_BYTES.

    ``big``: shared text and numbers, as Excel writes them (collected in bulk);
    ``big-inline``: inline text, as openpyxl writes it (measured with numpy, read by calamine).
    """
    rows = PADDING_ROWS
    if kind == "big":
        row = b'<row r="%d"><c r="A%d" t="s"><v>11</v></c><c r="C%d"><v>%d</v></c><c r="E%d"><v>7</v></c></row>'
        return b"".join(row % (k, k, k, k, k) for k in range(4, rows + 4))
    row = (b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>pad</t></is></c><c r="C%d"><v>%d</v></c>'
           b'<c r="E%d"><v>7</v></c></row>')
    return b"".join(row % (k, k, k, k, k) for k in range(4, rows + 4))


def book(tmp_path, kind: str, change, name="book.xlsx", tail=b"") -> Path:
    """The workbook with its Creators sheet XML passed through ``change``; padded when ``kind`` is big.

    ``tail``: more rows after the padding (before ``</sheetData>``).
    """
    members = dict(_openpyxl_members())
    sheet = change(members[SHEET])
    if kind != "small":
        sheet = sheet.replace(b"</sheetData>", _padding(kind) + b"</sheetData>")
    members[SHEET] = sheet.replace(b"</sheetData>", tail + b"</sheetData>")
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    size = len(members[SHEET])
    assert (size >= guard.BULK_SCAN_BYTES) == (kind != "small"), size
    return path


def replace_cell(ref: str, cell: str):
    """A change replacing cell ``ref`` (as openpyxl wrote it) with ``cell``."""
    def change(sheet: bytes) -> bytes:
        start = sheet.index(b'<c r="%s"' % ref.encode())
        end = sheet.index(b"</c>", start) + 4
        return sheet[:start] + cell.encode() + sheet[end:]
    return change


def refused(path, tmp_path, *words) -> str:
    """``planner plan`` refuses the workbook: exit 1, one plain message holding ``words``, nothing written."""
    out = tmp_path / "out.xlsx"
    result = run_cli("plan", path, "-o", out)
    text = result.output
    assert result.exit_code == 1, text
    assert not out.exists()
    assert "Traceback" not in text and "Error" in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for word in words:
        assert word in text, f"{word!r} not in {text}"
    assert "Exception" not in text and "NotPlain" not in text and "Calamine" not in text, text
    return text


def creators(path) -> list:
    return read_input(path).sheets["creators"]


# --------------------------------------------------------------------------- 1. markup in a value


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize("cell, expected", [
    ('<c r="E2"><v>5&#48;00</v></c>', 5000.0),
    ('<c r="E2" t="n"><v>5&#x30;00</v></c>', 5000.0),
    ('<c r="E2"><v>&#53;000</v></c>', 5000.0),
    ('<c r="E2" s="0"><v>50<!-- a comment -->00</v></c>', 5000.0),
    ('<c r="E2"><v>5000&#x20;</v></c>', "5000 "),  # text, as "<v>5000 </v>" reads (validation then reads it)
    ('<c r="E2"><f>2500*2</f><v>5&#48;00</v></c>', 5000.0),  # a formula's saved value
])
def test_a_number_written_with_character_references_reads_as_xml_reads_it(tmp_path, kind, cell, expected):
    """Before: 5 (the text up to the first reference, or blank). Now: 5000, on every path."""
    path = book(tmp_path, kind, replace_cell("E2", cell))
    rows = creators(path)
    assert rows[1][4] == expected and rows[2][4] == 200.0
    assert rows[0][:5] == ["creator", "niche", "followers", "engagement_rate", "cost_per_post"]


def test_a_cost_written_with_a_character_reference_is_planned_at_its_real_value(tmp_path):
    """Before, alice's cost read as 6 and she was booked beside bob; at 6000 she is past the 5000 budget."""
    path = book(tmp_path, "small", replace_cell("E2", '<c r="E2"><v>6&#48;00</v></c>'))
    out = tmp_path / "out.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert "spend:       $200.00" in result.output, result.output


@pytest.mark.parametrize("kind", PATHS)
def test_shared_text_booleans_and_error_values_with_references_read_as_xml_reads_them(tmp_path, kind):
    """A shared-text reference ``&#49;&#49;`` is entry 11; TRUE written ``&#49;`` is TRUE."""
    def change(sheet):
        sheet = replace_cell("A2", '<c r="A2" t="s"><v>&#49;&#49;</v></c>')(sheet)
        return replace_cell("B3", '<c r="B3" t="b"><v>&#49;</v></c>')(sheet)

    rows = creators(book(tmp_path, kind, change))
    assert rows[1][0] == "spare 11" and rows[2][1] is True


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize("written, words", [
    ("5&amp;00", "holds text with XML markup where a number"),  # "5&00": no number, and not read as 5
    ("5&nbsp;000", "not well-formed"),  # an entity XML does not know
    ("<![CDATA[5000]]>", "CDATA section"),  # read as blank before; refused, see the report on this change
])
def test_a_number_whose_markup_does_not_read_as_a_value_is_refused_naming_the_cell(tmp_path, kind, written, words):
    path = book(tmp_path, kind, replace_cell("E2", f'<c r="E2"><v>{written}</v></c>'))
    refused(path, tmp_path, "Creators, row 2, column 'E'", "cell E2", words, "damaged", "re-save the file from Excel")


# --------------------------------------------------------------------------- 2. broken shared-text references


BROKEN = ["-1", "0x10", "11.0", " 11 ", "18446744073709551616", "11.5", "12", "4294967296", "+1", ""]


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize("written", BROKEN)
def test_a_broken_shared_text_reference_is_refused_naming_sheet_row_column_and_value(tmp_path, kind, written):
    """Before: read as entry 0 (alice planned under the handle 'creator'), or calamine's own error past the end.

    12 is one past the last entry; 2**64 does not fit an entry number at all.
    """
    path = book(tmp_path, kind, replace_cell("A2", f'<c r="A2" t="s"><v>{written}</v></c>'))
    shown = f', value "{written}"' if written else ""
    refused(path, tmp_path, f"Creators, row 2, column 'A'{shown}:", "the workbook is damaged",
            "shared text reference is broken", "re-save the file from Excel")


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize("cell", [
    """<c r='A2' t='s'><v>-1</v></c>""",  # single quotes
    '<c r="A2" t = "s"><v>-1</v></c>',  # spaces around "="
    '<c r="A2"\n t="s"><v>0x10</v></c>',  # a line break between attributes
    '<c r="A2" t="s" s="0"><v>11.0</v></c>',  # the type before the style
])
def test_a_broken_reference_is_found_however_the_cell_tag_is_spelt(tmp_path, kind, cell):
    path = book(tmp_path, kind, replace_cell("A2", cell))
    refused(path, tmp_path, "Creators, row 2, column 'A'", "shared text reference is broken")


def last_row(kind: str) -> int:
    """The number of the sheet's last row (after the padding of a big sheet)."""
    return 3 if kind == "small" else PADDING_ROWS + 3


@pytest.mark.parametrize("kind", ["big", "big-inline"])
@pytest.mark.parametrize("written", ["-1", "12"])
def test_a_broken_reference_deep_in_a_big_sheet_is_refused(tmp_path, kind, written):
    """Far past the regions collected in bulk: the scan that takes over still checks every cell."""
    row = last_row(kind) + 1
    tail = b'<row r="%d"><c r="A%d" t="s"><v>%s</v></c><c r="E%d"><v>7</v></c></row>' % (
        row, row, written.encode(), row)
    path = book(tmp_path, kind, lambda sheet: sheet, tail=tail)
    refused(path, tmp_path, f"Creators, row {row}, column 'A', value \"{written}\"", "shared text reference is broken")


# --------------------------------------------------------------------------- 3. a cell given twice


def _row(sheet: bytes, number: int) -> bytes:
    start = sheet.index(b'<row r="%d"' % number)
    return sheet[start: sheet.index(b"</row>", start) + 6]


@pytest.mark.parametrize("kind", PATHS)
def test_a_cell_given_twice_is_refused(tmp_path, kind):
    """Before: the last copy won (alice read as 'spare 11')."""
    path = book(tmp_path, kind, replace_cell("A2", '<c r="A2" t="s"><v>5</v></c><c r="A2" t="s"><v>11</v></c>'))
    refused(path, tmp_path, "Creators, row 2, column 'A'", "cell A2 is written twice", "damaged",
            "re-save the file from Excel")


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize("where", ["next to it", "at the end"])
def test_a_row_given_twice_is_refused(tmp_path, kind, where):
    """Before: the second copy of row 2 replaced the first, whatever it held."""
    def change(sheet):
        copy = _row(sheet, 2).replace(b"<v>100</v>", b"<v>1</v>")
        return sheet.replace(_row(sheet, 2), _row(sheet, 2) + copy) if where == "next to it" else sheet

    tail = b""
    if where == "at the end":
        copy = _row(dict(_openpyxl_members())[SHEET], 2).replace(b"<v>100</v>", b"<v>1</v>")
        tail = copy
    path = book(tmp_path, kind, change, tail=tail)
    refused(path, tmp_path, "Creators, row 2", "row 2 is written twice", "damaged", "re-save the file from Excel")


@pytest.mark.parametrize("kind", PATHS)
def test_a_cell_given_again_in_a_later_row_element_is_refused(tmp_path, kind):
    """A cell's reference, not the row it sits in, says where it goes: A2 under a later row is A2 again."""
    row = last_row(kind) + 1
    tail = b'<row r="%d"><c r="A2" t="s"><v>11</v></c></row>' % row
    path = book(tmp_path, kind, lambda sheet: sheet, tail=tail)
    refused(path, tmp_path, "Creators, row 2, column 'A'", "cell A2 is written twice")


# --------------------------------------------------------------------------- what stays as it was


@pytest.mark.parametrize("kind", PATHS)
def test_rows_out_of_order_but_each_once_are_still_read(tmp_path, kind):
    bob = _row(dict(_openpyxl_members())[SHEET], 3)
    path = book(tmp_path, kind, lambda sheet: sheet.replace(bob, b""), tail=bob)
    rows = creators(path)
    assert rows[1][0] == "alice" and rows[2][0] == "bob" and rows[2][4] == 200.0


def test_a_big_plain_sheet_is_still_read_in_bulk(tmp_path):
    """The control: the checks here send no plain sheet to calamine."""
    path = book(tmp_path, "big", lambda sheet: sheet)
    with zipfile.ZipFile(path) as archive:
        layout = guard.check_xlsx(archive, path, str(path), workbook._wanted, workbook._collector)
        assert layout.cells[SHEET].active and not layout.extents[SHEET].rewrites
        names, visible, ready = workbook._bulk_sheets(archive, path, str(path), layout)
    assert set(ready) == {"creators", "budget"}
    assert ready["creators"][1][0] == "alice" and ready["creators"][-1][0] == "spare 11"


def test_the_bulk_reader_names_a_reference_past_the_table_itself(tmp_path):
    """The collected cells of a big sheet are checked against the table without asking calamine."""
    path = book(tmp_path, "big", replace_cell("A3", '<c r="A3" t="s"><v>12</v></c>'))
    with zipfile.ZipFile(path) as archive:
        layout = guard.check_xlsx(archive, path, str(path), workbook._wanted, workbook._collector)
        cells = layout.cells[SHEET]
        assert cells.active
        with pytest.raises(plain_xlsx.BrokenText) as broken:
            cells.rows(plain_xlsx.shared_strings(archive.read("xl/sharedStrings.xml")), lambda index: True)
    assert (broken.value.row, broken.value.column, broken.value.index) == (3, 1, 12)


def test_markup_in_inline_text_formulas_and_comments_between_cells_changes_nothing(tmp_path):
    """Where text may hold anything (inline strings, formulas), '&' and comments are left alone."""
    def change(sheet):
        sheet = replace_cell("B2", '<c r="B2" t="inlineStr"><is><t>beauty &amp; care</t></is></c>')(sheet)
        sheet = replace_cell("D3", '<c r="D3"><f>IF(C3&gt;0,0.05,0)</f><v>0.05</v></c>')(sheet)
        return sheet.replace(b'<row r="3">', b'<!-- bob --><row r="3">')

    path = book(tmp_path, "small", change)
    with zipfile.ZipFile(path) as archive:
        extent = guard.scan_sheet(path, archive.getinfo(SHEET), "Creators", str(path))
    assert extent.rewrites == []
    rows = creators(path)
    assert rows[1][1] == "beauty & care" and rows[2][3] == 0.05
