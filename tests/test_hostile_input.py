"""Hostile input is refused before any parser touches it: plain message, exit 1, bounded memory.

Every hostile file is built in ``tmp_path``: a billion-laughs workbook, a 1 MB
workbook that unpacks to 1 GiB (honest and lying sizes), a workbook with one
cell at XFD1048576, archives with too many, duplicate, overlapping or
encrypted members, and hand-made .xls files (a stray far cell, a password).
The three headline files are also run through the real ``planner validate``
in a child process whose peak memory is measured (it must stay under 150 MB);
timings are printed, not asserted (see docs/input_handling.md for them).

See docs/input_handling.md for the table of cases, behaviours and tests.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import pytest

from planner import guard
from planner.errors import InputError
from planner.workbook import read_input
from tests.conftest import REPO, creator, write_workbook
from tests.test_input_errors import error_lines, output_of, refuse_both, run_cli, validate_ok

BUDGET = {"total_budget": 5000}
PEAK_MEMORY_MB = 150


# --------------------------------------------------------------------------- builders


def good_workbook(path):
    return write_workbook(
        path,
        [creator("alice"), creator("bob", niche="food", followers=20_000, cost=200)],
        BUDGET,
    )


def members_of(path) -> list:
    """(name, bytes) of every member of a zip archive, in order."""
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info.filename)) for info in archive.infolist()]


def write_zip(path, entries, flags=0, offsets=None):
    """Write a zip archive by hand, so sizes, flags and offsets can be anything.

    Parameters
    ----------
    entries : list of (name, data)
        ``data`` is bytes (deflated here) or ``(compressed, crc, declared size)``.
    flags : int
        General-purpose flag bits for every member (1 = encrypted).
    offsets : dict, optional
        name -> index of an earlier entry whose local header the central
        directory should point at instead (overlapping members).
    """
    out = io.BytesIO()
    central = []
    placed = []
    for index, (name, data) in enumerate(entries):
        if isinstance(data, tuple):
            compressed, crc, size = data
        else:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            compressed, crc, size = packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, 8, 0, 0, crc, len(compressed), size,
                              len(encoded), 0))
        out.write(encoded + compressed)
        placed.append((offset, crc, len(compressed), size))
        if offsets and name in offsets:
            offset, crc, csize, size = placed[offsets[name]]
            compressed = b"x" * csize
        central.append(
            struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, 8, 0, 0, crc, len(compressed), size,
                        len(encoded), 0, 0, 0, 0, 0, offset) + encoded
        )
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    path.write_bytes(out.getvalue())
    return path


def bomb_stream(total: int, chunk: int = 1 << 20):
    """(deflated bytes, crc, size) of ``total`` spaces, built without holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b" " * chunk
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    repeat = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    count = total // chunk
    compressed = first + repeat * (count - 1) + packer.flush()
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    return compressed, crc, count * chunk


def with_member(path, out, member, change):
    """Copy a workbook, passing one member's bytes through ``change`` (bytes -> bytes or a tuple)."""
    entries = [(name, change(data) if name == member else data) for name, data in members_of(path)]
    return write_zip(out, entries)


SHEET = "xl/worksheets/sheet1.xml"  # the Creators sheet of write_workbook's files

LAUGHS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b"]>\n"
)


def billion_laughs(tmp_path, member=SHEET):
    """A workbook whose member declares nested entities (10**9 'lol's when expanded)."""
    base = good_workbook(tmp_path / "base.xlsx")

    def poison(data):
        body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
        body = body.replace(b"<t>alice</t>", b"<t>&lol9;</t>")
        return LAUGHS + body.lstrip()

    return with_member(base, tmp_path / "laughs.xlsx", member, poison)


def zip_bomb(tmp_path, declared=None, total=1 << 30, name="bomb.xlsx"):
    """A ~1 MB workbook whose Creators sheet inflates to ``total`` bytes (declared as ``declared``)."""
    base = good_workbook(tmp_path / "base.xlsx")
    compressed, crc, size = bomb_stream(total)
    return with_member(base, tmp_path / name, SHEET, lambda data: (compressed, crc, declared or size))


def far_cell(tmp_path, ref="XFD1048576", row=1048576, name="far.xlsx", cell=None):
    """A workbook with one extra filled cell at ``ref`` on the Creators sheet."""
    base = good_workbook(tmp_path / "base.xlsx")
    cell = cell or f'<c r="{ref}" t="inlineStr"><is><t>x</t></is></c>'.encode()
    extra = f'<row r="{row}">'.encode() + cell + b"</row>"
    return with_member(base, tmp_path / name, SHEET,
                       lambda data: data.replace(b"</sheetData>", extra + b"</sheetData>"))


# --------------------------------------------------------------------------- the three headline files


def test_billion_laughs_is_refused(tmp_path):
    path = billion_laughs(tmp_path)
    text = refuse_both(path, tmp_path)
    (line,) = error_lines(text)
    assert "DTD" in line and "billion laughs" in line and "sheet1.xml" in line


@pytest.mark.parametrize("member", ["xl/workbook.xml", "[Content_Types].xml", "xl/styles.xml"])
def test_entity_declarations_in_any_part_are_refused(tmp_path, member):
    path = billion_laughs(tmp_path, member)
    text = refuse_both(path, tmp_path)
    assert "DTD" in text and member in text


def test_one_megabyte_that_unpacks_to_one_gibibyte_is_refused(tmp_path):
    path = zip_bomb(tmp_path)
    assert path.stat().st_size < 1.1 * 2**20
    text = refuse_both(path, tmp_path)
    (line,) = error_lines(text)
    assert "1.0 GiB" in line and "zip bomb" in line


def test_bomb_whose_archive_lies_about_its_size_is_stopped_while_inflating(tmp_path):
    path = zip_bomb(tmp_path, declared=4096, name="liar.xlsx")
    text = refuse_both(path, tmp_path)
    assert "more than the 4.0 KiB its archive declares" in text


def test_compression_ratio_far_beyond_any_spreadsheet_is_refused(tmp_path):
    path = zip_bomb(tmp_path, total=300 << 20, name="ratio.xlsx")  # under the size limits, ~1000:1
    text = refuse_both(path, tmp_path)
    assert "times larger" in text and "zip bomb" in text


def test_cell_at_xfd1048576_is_refused_naming_sheet_and_cell(tmp_path):
    path = far_cell(tmp_path)
    text = refuse_both(path, tmp_path)
    (line,) = error_lines(text)
    assert "sheet 'Creators'" in line and "XFD1048576" in line and "Delete the stray cell" in line


# --------------------------------------------------------------------------- peak memory, exit code, message


_MEASURE = textwrap.dedent(
    """
    import json, resource, subprocess, sys, time
    started = time.perf_counter()
    command = [sys.executable, "-m", "planner.cli", "validate", sys.argv[1]]
    done = subprocess.run(command, capture_output=True, text=True)
    print(json.dumps({
        "exit": done.returncode,
        "seconds": time.perf_counter() - started,
        "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "output": done.stdout + done.stderr,
    }))
    """
)


def measured_validate(path) -> dict:
    """Run ``planner validate`` in a grandchild; its peak RSS is the only child's of the middle process."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


HEADLINE = pytest.mark.parametrize(
    "build", [billion_laughs, zip_bomb, far_cell], ids=["billion-laughs", "1MB-to-1GiB", "XFD1048576"]
)


@pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage is POSIX only")
@HEADLINE
def test_hostile_files_exit_1_with_bounded_memory(tmp_path, build):
    path = build(tmp_path)
    result = measured_validate(path)
    print(f"\n{build.__name__}: exit {result['exit']}, {result['seconds']:.2f} s, peak {result['peak_mb']:.0f} MB")
    assert result["exit"] == 1, result["output"]
    assert result["peak_mb"] < PEAK_MEMORY_MB, result
    lines = result["output"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(path) in lines[0], result["output"]
    assert "Traceback" not in result["output"]


@HEADLINE
def test_the_bulk_reader_is_never_reached(tmp_path, build, monkeypatch):
    """The guard stands in front of calamine: it is not even opened for a hostile file."""
    import python_calamine

    def boom(*args, **kwargs):
        raise AssertionError("calamine was reached")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", boom)
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", boom)
    with pytest.raises(InputError):
        read_input(build(tmp_path))


# --------------------------------------------------------------------------- cell references and grids


def test_reference_beyond_the_last_column_is_refused(tmp_path):
    path = far_cell(tmp_path, ref="XFE1", row=1, name="beyond.xlsx")
    text = refuse_both(path, tmp_path)
    assert "beyond Excel's last cell XFD1048576" in text


def test_reference_beyond_the_last_row_is_refused(tmp_path):
    path = far_cell(tmp_path, ref="A1048577", row=1048577, name="beyond.xlsx")
    text = refuse_both(path, tmp_path)
    assert "beyond Excel's last cell" in text and "A1048577" in text


def test_sparse_far_cell_within_excel_limits_is_refused(tmp_path):
    path = far_cell(tmp_path, ref="P1048576", name="sparse.xlsx")  # 16.8M-cell grid, 16 filled cells
    text = refuse_both(path, tmp_path)
    assert "only 16 of them are filled" in text and "P1048576" in text


def test_lower_case_reference_is_the_same_far_cell(tmp_path):
    """The bulk reader reads xfd1048576 as XFD1048576 (and would abort on it), so the guard does too."""
    path = far_cell(tmp_path, ref="xfd1048576", name="lower.xlsx")
    text = refuse_both(path, tmp_path)
    assert "sheet 'Creators'" in text and "XFD1048576" in text


def test_leading_zeros_do_not_hide_the_farthest_row(tmp_path):
    """A0000001 is row 1 to the bulk reader, however many digits it has: A999999 still sets the grid."""
    cells = b'<c r="A0000001"><v>1</v></c><c r="A999999"><v>2</v></c>'
    path = far_cell(tmp_path, row=999_999, cell=cells, name="zeros.xlsx")
    text = refuse_both(path, tmp_path)
    assert "only 17 of them are filled" in text and "A999999" in text


def test_formatting_only_cell_at_xfd1048576_is_read(tmp_path):
    """An empty formatted cell holds nothing; the bulk reader skips it, so does the guard."""
    path = far_cell(tmp_path, cell=b'<c r="XFD1048576" s="0"/>', name="styled.xlsx")
    ok, _ = validate_ok(path)
    assert ok.startswith("OK: 2 creators")


def test_dimension_claiming_the_whole_sheet_is_read(tmp_path):
    """The <dimension> tag is a hint the reader ignores; only real cells count."""
    base = good_workbook(tmp_path / "base.xlsx")
    path = with_member(base, tmp_path / "dim.xlsx", SHEET,
                       lambda data: data.replace(b'<dimension ref="A1:E3" />', b'<dimension ref="A1:XFD1048576"/>'))
    assert b"A1:XFD1048576" in dict(members_of(path))[SHEET]
    validate_ok(path)


def test_a_full_height_sheet_passes_the_guard(tmp_path):
    """1,048,576 filled rows is a legitimate (if huge) sheet: the guard lets it through."""
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i) for i in range(1, 1_048_577))
    base = good_workbook(tmp_path / "base.xlsx")
    path = with_member(base, tmp_path / "tall.xlsx", SHEET,
                       lambda data: data.split(b"<sheetData>")[0] + b"<sheetData>" + rows + b"</sheetData></worksheet>")
    with zipfile.ZipFile(path) as archive:
        layout = guard.check_xlsx(archive, path, str(path), lambda name: name == "Creators")
    extent = layout.extents[SHEET]
    assert (extent.rows, extent.columns, extent.filled) == (1_048_576, 1, 1_048_576)


@pytest.mark.parametrize(
    "cells",
    [
        b'<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c><x:c r="C7"><x:v>2</x:v></x:c></x:row>',  # namespace prefix
        b'<row r="1"><c><v>1</v></c><c><v>1</v></c><c><v>1</v></c></row><row r="7"><c><v>2</v></c></row>',  # no refs
        b'<row r="7"><c s="1" r="C7"><v>2</v></c><c r="Z9" s="2"/></row>',  # reference not first, empty far cell
    ],
    ids=["prefixed", "no-references", "reference-not-first"],
)
def test_cells_written_by_other_tools_are_measured(tmp_path, cells):
    """The general (tag by tag) scan finds the same extent as the fast one: C7."""
    sheet = b"<worksheet><sheetData>" + cells + b"</sheetData></worksheet>"
    path = write_zip(tmp_path / "other.zip", [("sheet.xml", sheet)])
    with zipfile.ZipFile(path) as archive:
        extent = guard.scan_sheet(path, archive.getinfo("sheet.xml"), "Creators", "x")
    assert (extent.rows, extent.columns) == (7, 3)


def plain_rows(first: int, last: int, extra=b"") -> bytes:
    """Rows ``first``..``last`` of three filled cells each, as openpyxl writes them; ``extra`` ends each row."""
    return b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>@handle%d</t></is></c><c r="B%d" t="n"><v>%d</v></c>'
        b'<c r="C%d" t="n"><v>0.035</v></c>%s</row>' % (i, i, i, i, i * 7, i, extra.replace(b"#", b"%d" % i))
        for i in range(first, last + 1)
    )


def cell(ref: bytes, attributes=b"") -> bytes:
    return b'<c r="%s"%s><v>1</v></c>' % (ref, attributes)


def mid_sheet(cells: bytes, rest=True) -> bytes:
    """Rows 1-15,000, row 15,001 holding ``cells``, then (``rest``) rows 15,002-30,000."""
    after = plain_rows(15_002, 30_000) if rest else b""
    return plain_rows(1, 15_000) + b'<row r="15001">' + cells + b"</row>" + after


# name: (the sheet data, built when the test runs: 2-5 MB, so that several regions are scanned;
#        whether every region is measured in bulk, none sent to the exact scan)
BIG_SHEETS = {
    "plain": (lambda: plain_rows(1, 30_000), True),
    "rows out of order": (lambda: plain_rows(20_001, 30_000) + plain_rows(1, 20_000), True),
    "styled empty cells, one far away": (
        lambda: plain_rows(1, 30_000, b'<c r="D#" s="1"/>') + b'<row r="40000"><c r="XFD40000" s="2"/></row>', True),
    "far column mid-sheet": (lambda: mid_sheet(cell(b"XFD15001")), True),
    "far row mid-sheet": (lambda: mid_sheet(cell(b"B1048576")), True),
    "column beyond XFD": (lambda: mid_sheet(cell(b"XFE15001")), True),
    "row beyond 1048576": (lambda: mid_sheet(cell(b"C1048577")), True),
    "formula": (lambda: mid_sheet(b'<c r="A15001"><f>1+1</f></c>'), True),
    "error cell": (lambda: mid_sheet(cell(b"A15001", b' t="e"'), rest=False), True),
    "text longer than a region": (
        lambda: mid_sheet(b'<c r="A15001" t="inlineStr"><is><t>' + b"x" * (3 << 20) + b"</t></is></c>"), True),
    "eight-digit row": (lambda: mid_sheet(cell(b"C10000000")), False),
    "four-letter column": (lambda: mid_sheet(cell(b"ABCD15001"), rest=False), False),
    "leading zeros": (lambda: mid_sheet(cell(b"D0015001")), False),
    "leading zeros hiding a far row": (lambda: mid_sheet(cell(b"A0000001") + cell(b"B999999")), False),
    "lower-case reference": (lambda: mid_sheet(cell(b"e15001"), rest=False), False),
    "lower-case far cell": (lambda: mid_sheet(cell(b"xfd1048576")), False),
    "reference not first": (lambda: mid_sheet(b'<c s="1" r="Q15001"><v>1</v></c>', rest=False), False),
    "no references": (lambda: mid_sheet(b"<c><v>1</v></c><c><v>2</v></c>", rest=False), False),
    "namespace prefix": (lambda: plain_rows(1, 15_000).replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>"), False),
}


@pytest.mark.parametrize("cells, in_bulk", list(BIG_SHEETS.values()), ids=list(BIG_SHEETS))
def test_big_sheets_scanned_in_bulk_measure_as_the_exact_scan(tmp_path, monkeypatch, cells, in_bulk):
    """Big sheets are measured with numpy, region by region: the same extent, far cells and refusals.

    Regions the bulk scan cannot read exactly (odd references, cells without them or with
    namespace prefixes) go to the exact scan.
    """
    sheet = b"<worksheet><sheetData>" + cells() + b"</sheetData></worksheet>"
    path = write_zip(tmp_path / "big.zip", [("sheet.xml", sheet)])

    def measured():
        with zipfile.ZipFile(path) as archive:
            try:
                return vars(guard.scan_sheet(path, archive.getinfo("sheet.xml"), "Creators", "x"))
            except InputError as exc:
                return str(exc)

    monkeypatch.setattr(guard, "BULK_SCAN_BYTES", 1 << 60)  # nothing is big: the exact scan only
    exact = measured()
    monkeypatch.setattr(guard, "BULK_SCAN_BYTES", 0)  # everything is big
    decided = []
    measure = guard._BulkScanner.measure
    monkeypatch.setattr(guard._BulkScanner, "measure", lambda *args: decided.append(measure(*args)) or decided[-1])
    assert measured() == exact
    assert (False not in decided) == in_bulk


def test_big_sheets_are_refused_in_bulk_as_by_the_exact_scan(tmp_path, monkeypatch):
    """A bad checksum and a DTD mid-sheet: the same refusal."""
    sheet = b"<worksheet><sheetData>" + plain_rows(1, 30_000) + b"</sheetData></worksheet>"
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    damaged = (packer.compress(sheet) + packer.flush(), zlib.crc32(sheet) ^ 1, len(sheet))
    laughs = sheet.replace(b'<row r="20000">', LAUGHS + b'<row r="20000">')
    refusals = {
        "checksum": write_zip(tmp_path / "crc.zip", [("sheet.xml", damaged)]),
        "DTD": write_zip(tmp_path / "dtd.zip", [("sheet.xml", laughs)]),
    }
    for words, path in refusals.items():
        messages = []
        for size in (1 << 60, 0):  # the exact scan, then the bulk scan
            monkeypatch.setattr(guard, "BULK_SCAN_BYTES", size)
            with zipfile.ZipFile(path) as archive, pytest.raises(InputError, match=words) as refused:
                guard.scan_sheet(path, archive.getinfo("sheet.xml"), "Creators", "x")
            messages.append(str(refused.value))
        assert messages[0] == messages[1]


# --------------------------------------------------------------------------- the archive itself


def test_too_many_members_are_refused(tmp_path):
    path = tmp_path / "many.xlsx"
    shutil.copy(good_workbook(tmp_path / "base.xlsx"), path)
    with zipfile.ZipFile(path, "a") as archive:
        for i in range(guard.MAX_MEMBERS):
            archive.writestr(f"xl/media/pad{i}.bin", b"")
    text = refuse_both(path, tmp_path)
    assert "parts (at most 10,000" in text


def test_a_member_listed_twice_is_refused(tmp_path):
    entries = members_of(good_workbook(tmp_path / "base.xlsx"))
    path = write_zip(tmp_path / "twice.xlsx", entries + [(SHEET, b"<worksheet/>")])
    text = refuse_both(path, tmp_path)
    assert "twice" in text


def test_overlapping_members_are_refused(tmp_path):
    entries = members_of(good_workbook(tmp_path / "base.xlsx"))
    sheet = next(i for i, (name, _) in enumerate(entries) if name == SHEET)
    entries.append(("xl/worksheets/sheet9.xml", b""))
    path = write_zip(tmp_path / "overlap.xlsx", entries, offsets={"xl/worksheets/sheet9.xml": sheet})
    text = refuse_both(path, tmp_path)
    assert "overlap" in text


def test_zip_encrypted_members_are_refused(tmp_path):
    entries = members_of(good_workbook(tmp_path / "base.xlsx"))
    path = write_zip(tmp_path / "zipcrypto.xlsx", entries, flags=1)
    text = refuse_both(path, tmp_path)
    assert "password" in text


def test_oversized_workbook_part_is_refused_before_parsing(tmp_path):
    import base64

    base = good_workbook(tmp_path / "base.xlsx")
    padding = b"<!-- " + base64.b64encode(os.urandom(13 << 20)) + b" -->"  # 17 MiB that does not compress
    path = with_member(base, tmp_path / "fat.xlsx", "xl/workbook.xml", lambda data: data + padding)
    text = refuse_both(path, tmp_path)
    assert "xl/workbook.xml" in text and "a few KB" in text


def test_damaged_member_checksum_is_refused(tmp_path):
    base = good_workbook(tmp_path / "base.xlsx")

    def corrupt(data):
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush(), zlib.crc32(data) ^ 1, len(data)

    path = with_member(base, tmp_path / "crc.xlsx", SHEET, corrupt)
    text = refuse_both(path, tmp_path)
    assert "checksum" in text


# --------------------------------------------------------------------------- legacy .xls, built by hand


def ole_file(streams: dict) -> bytes:
    """A minimal OLE2 compound file (512-byte sectors) holding the given streams (each >= 4096 bytes)."""
    sector = 512
    streams = {name: data.ljust(4096, b"\x00") for name, data in streams.items()}
    dir_sectors = -(-(len(streams) + 1) * 128 // sector)
    data_sectors = sum(-(-len(d) // sector) for d in streams.values())
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + dir_sectors + data_sectors:
        fat_sectors += 1
    fat = [0xFFFFFFFD] * fat_sectors
    dir_start = len(fat)
    fat += list(range(dir_start + 1, dir_start + dir_sectors)) + [0xFFFFFFFE]
    starts, body = {}, b""
    for name, data in streams.items():
        count = -(-len(data) // sector)
        starts[name] = len(fat)
        fat += list(range(len(fat) + 1, len(fat) + count)) + [0xFFFFFFFE]
        body += data.ljust(count * sector, b"\x00")
    fat += [0xFFFFFFFF] * (fat_sectors * 128 - len(fat))

    def entry(name, kind, start, size, child=0xFFFFFFFF, right=0xFFFFFFFF):
        encoded = (name + "\x00").encode("utf-16-le")
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", 0xFFFFFFFF, right, child) + b"\x00" * 36 + struct.pack("<III", start, size, 0))

    names = list(streams)
    directory = entry("Root Entry", 5, 0xFFFFFFFE, 0, child=1)
    for i, name in enumerate(names):
        directory += entry(name, 2, starts[name], len(streams[name]), right=i + 2 if i + 1 < len(names) else 0xFFFFFFFF)
    directory = directory.ljust(dir_sectors * sector, b"\x00")
    difat = list(range(fat_sectors)) + [0xFFFFFFFF] * (109 - fat_sectors)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\x00" * 6
              + struct.pack("<IIIIIIIII", 0, fat_sectors, dir_start, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<109I", *difat))
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + body


def biff(kind, body=b""):
    return struct.pack("<HH", kind, len(body)) + body


def biff_workbook(cells=(), filepass=False, chart_after=None) -> bytes:
    """A BIFF8 Workbook stream: one sheet 'Creators' with NUMBER cells at (row, col), 0-based.

    ``chart_after``: embed a chart substream (its own BOF ... EOF) after that many cells.
    """
    bof_globals = biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 1997, 0, 0))
    name = b"Creators"

    def globals_(offset):
        out = bof_globals + (biff(0x002F, b"\x01\x00" + b"\x00" * 52) if filepass else b"")
        out += biff(0x0085, struct.pack("<IBB", offset, 0, 0) + bytes([len(name), 0]) + name)
        return out + biff(0x000A)

    offset = len(globals_(0))
    sheet = biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 1997, 0, 0))
    for index, (row, col) in enumerate(cells):
        if index == chart_after:
            sheet += biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0020, 0, 1997, 0, 0))
            sheet += biff(0x1002, b"\x00" * 16) + biff(0x000A)  # a CHART record, then the chart's EOF
        sheet += biff(0x0203, struct.pack("<HHHd", row, col, 15, 1.0))
    return globals_(offset) + sheet + biff(0x000A)


def test_xls_with_a_far_cell_is_refused(tmp_path):
    path = tmp_path / "far.xls"
    path.write_bytes(ole_file({"Workbook": biff_workbook([(0, 0), (0, 1), (65535, 255)])}))
    text = refuse_both(path, tmp_path, "--budget", "5000")
    assert "sheet 'Creators'" in text and "IV65536" in text


def test_xls_far_cell_after_an_embedded_chart_is_still_found(tmp_path):
    path = tmp_path / "chart.xls"
    path.write_bytes(ole_file({"Workbook": biff_workbook([(0, 0), (0, 1), (65535, 255)], chart_after=2)}))
    text = refuse_both(path, tmp_path, "--budget", "5000")
    assert "IV65536" in text


def test_xls_with_a_column_beyond_biff_limits_is_refused(tmp_path):
    path = tmp_path / "wide.xls"
    path.write_bytes(ole_file({"Workbook": biff_workbook([(0, 0), (65535, 65535)])}))
    text = refuse_both(path, tmp_path, "--budget", "5000")
    assert "sheet 'Creators'" in text and "cells the planner reads" in text


def test_xls_with_a_password_is_refused(tmp_path):
    path = tmp_path / "locked.xls"
    path.write_bytes(ole_file({"Workbook": biff_workbook([(0, 0)], filepass=True)}))
    text = refuse_both(path, tmp_path)
    assert "password-protected" in text


def test_password_protected_xlsx_is_refused(tmp_path):
    """Excel saves an encrypted .xlsx as an OLE2 file holding EncryptionInfo + EncryptedPackage."""
    path = tmp_path / "locked.xlsx"
    path.write_bytes(ole_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": os.urandom(5000)}))
    text = refuse_both(path, tmp_path)
    (line,) = error_lines(text)
    assert "password-protected" in line


def test_damaged_compound_file_is_refused(tmp_path):
    path = tmp_path / "broken.xls"
    path.write_bytes(ole_file({"Workbook": biff_workbook([(0, 0)])})[:700])
    text = refuse_both(path, tmp_path)
    assert "damaged" in text


# --------------------------------------------------------------------------- defusedxml


def test_defusedxml_is_a_declared_and_installed_dependency():
    requires = importlib.metadata.requires("campaign-planner") or []
    assert any(r.split(">")[0].split("<")[0].split("=")[0].strip() == "defusedxml" for r in requires), requires
    import defusedxml  # noqa: F401


def test_planner_parses_workbook_xml_with_defusedxml():
    with pytest.raises(InputError, match="DTD"):
        guard.parse_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "in.xlsx", "xl/workbook.xml")


_OPENPYXL_CHECK = textwrap.dedent(
    """
    import sys
    if sys.argv[1] == "openpyxl-first":
        import openpyxl
    import planner.workbook
    import openpyxl.xml.functions as functions
    from defusedxml import ElementTree as safe
    if functions.LXML:
        print("lxml", functions.safe_parser.resolve_entities)
    else:
        print(functions.fromstring is safe.fromstring, functions.iterparse is safe.iterparse)
    """
)


@pytest.mark.parametrize("order", ["planner-first", "openpyxl-first"])
def test_environment_variable_cannot_switch_defusedxml_off(order):
    env = dict(os.environ, OPENPYXL_DEFUSEDXML="False")
    done = subprocess.run([sys.executable, "-c", _OPENPYXL_CHECK, order], capture_output=True, text=True, env=env,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr
    # openpyxl parses with lxml (entities never resolved) when lxml is installed, else with defusedxml
    assert done.stdout.split() in (["True", "True"], ["lxml", "False"]), done.stdout


def test_billion_laughs_is_refused_even_with_defusedxml_switched_off_by_environment(tmp_path):
    path = billion_laughs(tmp_path)
    env = dict(os.environ, OPENPYXL_DEFUSEDXML="False")
    done = subprocess.run([sys.executable, "-m", "planner.cli", "validate", str(path)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)
    assert done.returncode == 1
    assert "DTD" in done.stderr and "Traceback" not in done.stderr


def test_refusals_print_one_plain_line(tmp_path):
    result = run_cli("validate", far_cell(tmp_path))
    text = output_of(result)
    assert result.exit_code == 1 and len(error_lines(text)) == 1 and "Traceback" not in text
