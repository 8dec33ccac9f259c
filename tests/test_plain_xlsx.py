"""The bulk xlsx reader gives exactly calamine's rows, and leaves to calamine what it does not handle.

Every workbook here is read twice: by the bulk reader (:mod:`planner.plain_xlsx`, fed by
the guard's scan) and by calamine alone, and the rows must be identical, value for value
and type for type, with the same merged ranges and sheet names. The workbooks: the shipped
samples, generated campaigns (bench/generate.py, text in a shared-strings table as Excel
saves it), sheets written by hand with the constructs Excel, LibreOffice and openpyxl
write, and openpyxl workbooks with dates, booleans, formulas, rich text and entities. Each
construct the bulk reader does not handle is shown to leave its sheet to calamine.
tests/conftest.py also compares the two readers on every workbook any test reads.
"""

from __future__ import annotations

import datetime
import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from planner import guard, plain_xlsx, workbook
from planner.errors import InputError
from planner.workbook import read_input
from tests.conftest import REPO, SAMPLES, assert_same_rows

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def _generate_module():
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module
    spec.loader.exec_module(module)
    return module


def bulk_sheets(path) -> tuple:
    """(names, visible planner sheets, rows read in bulk) as :func:`planner.workbook._read_xlsx` gets them.

    (The conftest fixture that compares every bulk read with calamine wraps this too.)
    """
    with zipfile.ZipFile(path) as archive:
        layout = guard.check_xlsx(archive, path, str(path), workbook._wanted, workbook._collector)
        return workbook._bulk_sheets(archive, path, str(path), layout)


def assert_read_alike(path) -> set:
    """Both readers agree on ``path``; returns the sheets read in bulk."""
    names, visible, ready = bulk_sheets(path)
    sheets, calamine_names = workbook._calamine_sheets(Path(path), str(path), "xlsx")
    if names is not None:
        assert names == calamine_names
        assert set(visible) == set(sheets)
    for key, rows in ready.items():
        assert_same_rows(rows, sheets[key], f"{path.name}:{key}")
    whole = read_input(path)
    assert whole.names == calamine_names and set(whole.sheets) == set(sheets)
    for key, rows in whole.sheets.items():
        assert_same_rows(rows, sheets[key], f"{path.name}:{key} (read_input)")
    return set(ready)


def write_raw(path, sheet_data: str, shared=None, styles=None, after="", before="", sheets=None) -> Path:
    """An xlsx with the Creators sheet's XML given as text (``<sheetData>`` contents, parts around it)."""
    sheets = sheets or [("Creators", "visible")]
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>'),
        "_rels/.rels": (f'<?xml version="1.0"?><Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            + "".join(f'<sheet name="{name}" sheetId="{k}" state="{state}" r:id="rId{k}"/>'
                      for k, (name, state) in enumerate(sheets, start=1))
            + "</sheets></workbook>"),
    }
    rels = "".join(f'<Relationship Id="rId{k}" Type="{REL}/worksheet" Target="worksheets/sheet{k}.xml"/>'
                   for k in range(1, len(sheets) + 1))
    if shared is not None:
        parts["xl/sharedStrings.xml"] = f'<?xml version="1.0"?><sst xmlns="{MAIN}">{shared}</sst>'
    if styles is not None:
        parts["xl/styles.xml"] = f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}">{styles}</styleSheet>'
    parts["xl/_rels/workbook.xml.rels"] = f'<?xml version="1.0"?><Relationships xmlns="{PKG}">{rels}</Relationships>'
    for k in range(1, len(sheets) + 1):
        data = sheet_data if k == 1 else '<row r="1"><c r="A1"><v>1</v></c></row>'
        parts[f"xl/worksheets/sheet{k}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
            f"{before}<sheetData>{data}</sheetData>{after}</worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8"))
    return Path(path)


def cells(*values, row=1, types=None) -> str:
    """One row of cells A, B, C... holding the given ``<v>`` texts (``types``: t= per cell)."""
    out = []
    for k, value in enumerate(values):
        kind = f' t="{types[k]}"' if types and types[k] else ""
        out.append(f'<c r="{workbook.column_letter(k)}{row}"{kind}><v>{value}</v></c>')
    return f'<row r="{row}">{"".join(out)}</row>'


# --------------------------------------------------------------------------- equality


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.xlsx")), ids=lambda p: p.name)
def test_the_samples_read_alike(sample):
    assert_read_alike(sample)


@pytest.mark.parametrize("n", [1, 57, 1500])
def test_generated_campaigns_are_read_in_bulk_alike(tmp_path, n):
    generate = _generate_module()
    path = tmp_path / f"c{n}.xlsx"
    generate.write_workbook(generate.generate_roster(n, seed=3), generate.campaign_rules(n), path)
    assert assert_read_alike(path) == {"creators", "budget", "niches", "tiers"}


NUMBERS = ["0", "-0", "1", "+1", "1.", ".5", "-.5", "0.1", "0.30000000000000004", "123456789012345678",
           "9007199254740993", "1e-7", "1E+22", "2.5e-320", "1e400", "1e-400", "00012", "0.0653",
           "6.5299999999999997E-2", "-1234567.891", "1.7976931348623157e308", "4.9406564584124654E-324",
           "12345678901234567890123", "0.000000000000000000000123", "3.14159265358979323846264338327950288"]


def test_numbers_written_every_way_read_alike(tmp_path):
    rows = "".join(cells(text, row=k) for k, text in enumerate(NUMBERS, start=1))
    path = write_raw(tmp_path / "numbers.xlsx", rows)
    assert assert_read_alike(path) == {"creators"}


STRINGS = ["plain", "Food & Drink", "a < b > c", 'say "hi"', "it's", " leading", "trailing ", "  both  ",
           "line\nbreak", "tab\there", "x_x000D_y", "_x005F_x000D_", "@max_xavier", "_x0041_", "é ñ 中文 🎉",
           "\u00a0nbsp\u00a0", "\u200bzero width", "", "NA", "TRUE", "=1+1", "#N/A", "1,200"]


def test_shared_strings_written_by_excel_read_alike(tmp_path):
    generate = _generate_module()
    path = tmp_path / "strings.xlsx"
    generate.write_xlsx({"Creators": (("creator", "note"), [STRINGS, list(range(len(STRINGS)))])}, path)
    assert assert_read_alike(path) == {"creators"}


def test_shared_strings_with_entities_and_spaces_read_alike(tmp_path):
    texts = ["a &amp; b", "&lt;&gt;&quot;&apos;", "&#233;&#x4E2D;", " lead", "trail ", "&#x20;ent&#32;",
             "l1\r\nl2\rl3", "&#13;cr", "x&#13;&#10;y", "_x000d_", "_xD800_", "\tt\t", ""]
    shared = "".join(f"<si><t>{t}</t></si>" for t in texts)
    shared += "".join(f'<si><t xml:space="preserve">{t}</t></si>' for t in texts) + "<si><t/></si>"
    total = 2 * len(texts) + 1
    rows = "".join(cells(k, k * 2.5, row=k + 1, types=["s", None]) for k in range(total))
    path = write_raw(tmp_path / "entities.xlsx", rows, shared=shared)
    assert assert_read_alike(path) == {"creators"}


def test_layouts_excel_and_libreoffice_write_read_alike(tmp_path):
    """Styles, explicit t="n", formatting-only cells, gaps, rows starting late, merged ranges."""
    styles = ('<numFmts count="2"><numFmt numFmtId="164" formatCode="&quot;$&quot;#,##0.00"/>'
              '<numFmt numFmtId="165" formatCode="0.0%"/></numFmts>'
              '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/>'
              '<xf numFmtId="165"/><xf numFmtId="3"><alignment wrapText="1"/></xf></cellXfs>')
    data = ('<row r="3" spans="2:6"><c r="B3" s="1"><v>12.5</v></c><c r="C3" s="2" t="n"><v>0.25</v></c>'
            '<c r="D3" s="3" t="s"><v>0</v></c><c r="E3" s="0"/><c r="F3" t="b"><v>1</v></c></row>'
            '<row r="4"/><row r="5"><c r="D5" s="9"><v>7</v></c><c r="G5" s="1"/></row>'
            '<row r="9" ht="20" customHeight="1"><c r="AB9" t="b"><v>0</v></c><c r="XFD9" s="0"/></row>')
    merged = '<mergeCells count="2"><mergeCell ref="B3:C4"/><mergeCell ref="D5"/></mergeCells>'
    path = write_raw(tmp_path / "layout.xlsx", data, shared="<si><t>x</t></si>", styles=styles,
                     before='<dimension ref="A1:XFD9"/><cols><col min="1" max="3" width="9"/></cols>',
                     after=merged + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                           'footer="0.3"/>')
    assert assert_read_alike(path) == {"creators"}


def test_empty_and_formatting_only_sheets_read_alike(tmp_path):
    assert assert_read_alike(write_raw(tmp_path / "empty.xlsx", "")) == {"creators"}
    assert assert_read_alike(write_raw(tmp_path / "blank.xlsx", '<row r="2"><c r="C2" s="1"/></row>')) == {
        "creators"}


def test_big_sheets_measured_and_read_in_bulk_alike(tmp_path):
    """Above guard.BULK_SCAN_BYTES the scan goes a region at a time: cells across region ends."""
    generate = _generate_module()
    path = tmp_path / "c40k.xlsx"
    generate.write_workbook(generate.generate_roster(40_000, seed=5), generate.campaign_rules(40_000), path)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size >= guard.BULK_SCAN_BYTES
    assert "creators" in assert_read_alike(path)


def _extent_both_ways(path):
    """The Creators sheet's extent as the guard measures it, and as it records it from the collector."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        measured = guard.scan_sheet(path, info, "Creators", str(path))
        cells = plain_xlsx.PlainSheet()
        collected = guard.scan_sheet(path, info, "Creators", str(path), cells)
    assert cells.active and cells.place == "tail"  # every region came from the collector
    fields = ("rows", "columns", "filled", "far_row_cell", "far_column_cell")
    return [getattr(measured, f) for f in fields], [getattr(collected, f) for f in fields]


def test_the_scan_that_collects_cells_measures_sheets_as_before(tmp_path):
    generate = _generate_module()
    big = tmp_path / "big.xlsx"
    generate.write_workbook(generate.generate_roster(30_000, seed=8), generate.campaign_rules(30_000), big)
    gaps = write_raw(tmp_path / "gaps.xlsx", '<row r="2"><c r="C2"><v>1</v></c><c r="D2" s="1"/></row>'
                     '<row r="7"><c r="B7"><v>2</v></c><c r="AA7"><v>3</v></c></row><row r="8"><c r="ZZ99" s="1"/>'
                     '</row>')
    for path in (big, gaps):
        measured, collected = _extent_both_ways(path)
        assert measured == collected and measured[2] > 0


def test_openpyxl_workbooks_with_dates_booleans_formulas_and_rich_text_read_alike(tmp_path):
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    wb = Workbook()
    ws = wb.active
    ws.title = "Creators"
    ws.append(["creator", "joined", "active", "cost", "note"])
    ws.append(["a & b", datetime.datetime(2024, 3, 1, 12, 30), True, 0.1, CellRichText(
        "rich ", TextBlock(InlineFont(b=True), "text"))])
    ws.append(["_x000D_", datetime.date(2024, 1, 2), False, "=D2*2", "line\r\nbreak"])
    ws["D3"].number_format = "0.00"
    wb.create_sheet("Budget").append(["total_budget", 5000])
    path = tmp_path / "openpyxl.xlsx"
    wb.save(path)
    assert_read_alike(path)


# --------------------------------------------------------------------------- what goes to calamine


OUT_OF_PATTERN = {
    "formula": '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>',
    "inline string": '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>',
    "formula string": '<row r="1"><c r="A1" t="str"><f>"a"</f><v>a</v></c></row>',
    "error cell": '<row r="1"><c r="A1" t="e"><v>#N/A</v></c></row>',
    "ISO date cell": '<row r="1"><c r="A1" t="d"><v>2024-01-02</v></c></row>',
    "date style": '<row r="1"><c r="A1" s="1"><v>45000.5</v></c></row>',
    "custom date style": '<row r="1"><c r="A1" s="2"><v>45000.5</v></c></row>',
    "no reference": '<row r="1"><c><v>1</v></c></row>',
    "reference not first": '<row r="1"><c s="0" r="A1"><v>1</v></c></row>',
    "lower-case reference": '<row r="1"><c r="a1"><v>1</v></c></row>',
    "leading zero in the row": '<row r="1"><c r="A01"><v>1</v></c></row>',
    "cells out of order": '<row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>2</v></c></row>',
    "a cell given twice": '<row r="1"><c r="A1"><v>1</v></c><c r="A1"><v>2</v></c></row>',
    "comment": '<row r="1"><!-- <c r="A1"><v>1</v></c> --><c r="B1"><v>2</v></c></row>',
    "CDATA": '<row r="1"><c r="A1"><v><![CDATA[1]]></v></c></row>',
    "namespace prefix": '<row r="1"><x:c xmlns:x="' + MAIN + '" r="A1"><x:v>1</x:v></x:c></row>',
    "space inside a cell": '<row r="1"><c r="A1"> <v>1</v></c></row>',
    "another attribute": '<row r="1"><c r="A1" cm="1"><v>1</v></c></row>',
    "single quotes": "<row r=\"1\"><c r='A1'><v>1</v></c></row>",
    "number calamine keeps as text": '<row r="1"><c r="A1"><v> 1</v></c></row>',
    "number with an underscore": '<row r="1"><c r="A1"><v>1_0</v></c></row>',
    "infinity spelt out": '<row r="1"><c r="A1"><v>inf</v></c></row>',
    "empty value": '<row r="1"><c r="A1"><v></v></c></row>',
    "boolean spelt out": '<row r="1"><c r="A1" t="b"><v>true</v></c></row>',
    "rich shared string": '<row r="1"><c r="A1" t="s"><v>1</v></c></row>',
    "phonetic shared string": '<row r="1"><c r="A1" t="s"><v>2</v></c></row>',
    "unknown entity": '<row r="1"><c r="A1" t="s"><v>3</v></c></row>',
    "text index outside the table": '<row r="1"><c r="A1" t="s"><v>99</v></c></row>',
}
_SHARED_FOR_FALLBACK = ("<si><t>a</t></si><si><r><t>ri</t></r><r><t>ch</t></r></si>"
                        "<si><t>x</t><rPh sb=\"0\" eb=\"1\"><t>y</t></rPh></si>")
_STYLES_FOR_FALLBACK = ('<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
                        '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs>')


@pytest.mark.parametrize("construct", sorted(OUT_OF_PATTERN))
def test_each_construct_out_of_pattern_leaves_the_sheet_to_calamine(tmp_path, construct):
    shared = _SHARED_FOR_FALLBACK + ("<si><t>&nbsp;</t></si>" if construct == "unknown entity" else "")
    path = write_raw(tmp_path / "odd.xlsx", OUT_OF_PATTERN[construct], shared=shared, styles=_STYLES_FOR_FALLBACK,
                     sheets=[("Creators", "visible"), ("Budget", "visible")])
    try:
        read = assert_read_alike(path)
    except Exception as exc:  # calamine itself refuses some of these; then the planner must too
        from planner.errors import InputError

        with pytest.raises(InputError):
            read_input(path)
        assert not isinstance(exc, AssertionError), exc
        return
    assert read == {"budget"}  # the other sheet, plain, is still read in bulk


def test_a_plain_sheet_beside_the_constructs_is_still_read_in_bulk(tmp_path):
    """The test above could pass by reading nothing in bulk: this is its control."""
    path = write_raw(tmp_path / "plain.xlsx", cells(1, 2, 3), sheets=[("Creators", "visible"), ("Budget", "visible")],
                     shared=_SHARED_FOR_FALLBACK, styles=_STYLES_FOR_FALLBACK)
    assert assert_read_alike(path) == {"creators", "budget"}


@pytest.mark.parametrize("change", ["state", "target", "case"])
def test_workbooks_laid_out_unusually_are_read_by_calamine(tmp_path, change):
    path = write_raw(tmp_path / "book.xlsx", cells(1, 2))
    entries = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            entries[info.filename] = archive.read(info)
    if change == "state":  # a state calamine refuses
        entries["xl/workbook.xml"] = entries["xl/workbook.xml"].replace(b'state="visible"', b'state="shown"')
    elif change == "target":  # resolved differently by calamine and by path rules
        entries["xl/_rels/workbook.xml.rels"] = entries["xl/_rels/workbook.xml.rels"].replace(
            b'Target="worksheets/', b'Target="./worksheets/')
    else:  # a second part named like the sheet in another case
        entries["xl/worksheets/SHEET1.xml"] = entries["xl/worksheets/sheet1.xml"]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    assert bulk_sheets(path) == (None, {}, {})


def _with_cell_replaced(source, target, row: int, cell: str):
    """A copy of a generated workbook whose Creators sheet has cell D<row> replaced by ``cell``."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in archive.infolist():
            data = archive.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                start = data.index(f'<c r="D{row}"'.encode())
                end = data.index(b"</c>", start) + 4
                data = data[:start] + cell.encode() + data[end:]
            out.writestr(info.filename, data)
    return target


@pytest.mark.parametrize("row", [2, 20_000, 39_990])
def test_a_big_sheet_out_of_pattern_midway_is_measured_and_read_like_calamine(tmp_path, row):
    """Regions are parsed in threads ahead of the scan: one out of pattern hands the rest back to it."""
    generate = _generate_module()
    plain = tmp_path / "c40k.xlsx"
    generate.write_workbook(generate.generate_roster(40_000, seed=5), generate.campaign_rules(40_000), plain)
    path = _with_cell_replaced(plain, tmp_path / "formula.xlsx", row, f'<c r="D{row}"><f>1+1</f><v>2</v></c>')
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size >= guard.BULK_SCAN_BYTES
        measured = guard.scan_sheet(path, info, "Creators", str(path))
        cells = plain_xlsx.PlainSheet()
        collected = guard.scan_sheet(path, info, "Creators", str(path), cells)
    assert not cells.active
    fields = ("rows", "columns", "filled", "far_row_cell", "far_column_cell", "has_formulas")
    assert [getattr(collected, f) for f in fields] == [getattr(measured, f) for f in fields]
    assert collected.has_formulas and collected.rows == 40_001
    assert "creators" not in assert_read_alike(path)


def test_a_far_cell_midway_through_a_big_sheet_is_refused(tmp_path):
    generate = _generate_module()
    plain = tmp_path / "c40k.xlsx"
    generate.write_workbook(generate.generate_roster(40_000, seed=5), generate.campaign_rules(40_000), plain)
    path = _with_cell_replaced(plain, tmp_path / "far.xlsx", 20_000, '<c r="XFD1048577"><v>1</v></c>')
    with pytest.raises(InputError, match="XFD1048577"):
        read_input(path)
