"""Checks on an input file before any parser touches it.

Workbooks come from creator platforms, agencies, clients and unknown senders.
The bulk reader (python-calamine) is fast but trusts the file: it inflates
whatever the archive holds, and it allocates one dense grid from cell A1 to
the farthest filled cell, so a single cell at XFD1048576 asks for
16,384 x 1,048,576 cells and the allocation failure aborts the whole process
(no Python exception can catch that). Everything here runs first, reads the
file in a bounded, streaming way, and refuses with a plain
:class:`~planner.errors.InputError` what a workbook written by Excel, Google
Sheets, Numbers or LibreOffice never looks like.

xlsx / xlsm (a zip archive)
    * the central directory: member count, declared sizes (per member and in
      all), compression ratio, encrypted or exotic members, duplicate names,
      members that overlap (the non-recursive zip bomb);
    * every XML member is inflated here with a hard output cap, so a member
      whose declared size lies is caught while it inflates; its checksum is
      verified; ``<!DOCTYPE`` / ``<!ENTITY`` anywhere is refused (Excel never
      writes a DTD; entity expansion is the "billion laughs");
    * the planner's sheets are scanned for every cell reference, read as the
      bulk reader reads it (``c07`` is C7): references beyond XFD1048576 are
      refused, and so are a cell given twice (the bulk reader would keep the
      last copy silently) and a shared-text reference that is not an entry
      number (``-1``, ``11.0``: read as entry 0); a value written with XML
      markup (``<v>5&#48;00</v>``, read as 5) is recorded as an XML parser
      reads it, to be handed over plainly (see :func:`scan_sheet`); and the
      grid the reader would allocate (rows x columns up to
      the farthest filled cell) must stay within :data:`MAX_GRID_CELLS` and,
      above :data:`SMALL_GRID_CELLS`, be at least 1/:data:`MAX_SPARSENESS`
      filled. Sheets of :data:`BULK_SCAN_BYTES` or more are measured with
      numpy, to the same result (a full 1,048,576-row sheet of 432 MB in
      about 3 s instead of 15).

xls (an OLE2 compound file)
    The compound file's directory and the BIFF records of the Workbook stream
    are walked (no parser library): encrypted files (FILEPASS) are reported,
    the same grid rules apply, and error cells (#N/A, ...), which the bulk
    reader would pass on as blanks, are collected.

XML that the planner itself parses goes through :mod:`defusedxml`, and
:func:`harden_xml` keeps openpyxl on defusedxml whatever the environment says.
"""

from __future__ import annotations

import array
import collections
import contextlib
import functools
import itertools
import operator
import os
import posixpath
import re
import struct
import sys
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field

from planner.errors import InputError, Problem

# --------------------------------------------------------------------------- limits

#: Most members an xlsx archive may hold (Excel writes a few dozen).
MAX_MEMBERS = 10_000
#: Largest uncompressed size of one member. A full 1,048,576-row sheet is ~100-300 MB.
MAX_MEMBER_BYTES = 512 * 1024 * 1024
#: Largest uncompressed size of all members together.
MAX_TOTAL_BYTES = 768 * 1024 * 1024
#: Highest compression ratio accepted for a member above :data:`RATIO_FLOOR_BYTES`.
MAX_RATIO = 250
#: Members smaller than this (uncompressed) may have any ratio: they cannot hurt.
RATIO_FLOOR_BYTES = 4 * 1024 * 1024
#: Largest xl/workbook.xml or its relationships part (parsed whole; Excel's are a few KB).
MAX_WORKBOOK_XML_BYTES = 16 * 1024 * 1024
#: Excel's sheet limits: XFD1048576 is the last cell.
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
#: Most cells in the dense grid the bulk reader allocates for one sheet
#: (e.g. 1,048,576 rows x 24 columns); roughly 40 bytes each in memory.
MAX_GRID_CELLS = 25_000_000
#: Grids up to this size are always accepted, however empty (about 40 MB).
SMALL_GRID_CELLS = 1_000_000
#: Above SMALL_GRID_CELLS, refuse a grid more than this many times its filled cells.
MAX_SPARSENESS = 10
#: Largest .xls file read (the whole compound file is read into memory).
MAX_XLS_BYTES = 256 * 1024 * 1024
#: Inflate in pieces of this size.
_CHUNK = 1 << 20
#: Sheets at least this large (uncompressed) are measured in bulk with numpy; smaller ones
#: never import it (a refused file stays cheap).
BULK_SCAN_BYTES = 8 * 1024 * 1024
#: Threads parsing a big sheet's regions while it is inflated (see :func:`scan_sheet`).
PARSE_THREADS = 2
#: A single XML tag (or text run) longer than this is not something Excel writes.
_MAX_CARRY = 8 * 1024 * 1024

_DTD = re.compile(rb"<!(?i:doctype|entity)")
_XML_MEMBER = re.compile(r"\.(xml|rels|vml)$", re.IGNORECASE)


def _size(n: int) -> str:
    """Bytes in words: 1.0 GiB, 512 MiB, 37 KiB."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{n} bytes"


def column_letters(number: int) -> str:
    """1-based column number -> letters (1 -> A, 16384 -> XFD)."""
    letters = ""
    while number > 0:
        number, rem = divmod(number - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_number(letters: bytes) -> int:
    """Column letters -> 1-based number (A -> 1, XFD -> 16384); large for long garbage."""
    number = 0
    for byte in letters.upper()[:8]:
        number = number * 26 + (byte - 64)
    return number if len(letters) <= 8 else 26 ** 9


# --------------------------------------------------------------------------- defusedxml


def harden_xml() -> None:
    """Make sure every XML parse of input goes through defusedxml.

    defusedxml is a declared dependency; it is imported here so a broken
    install fails loudly. openpyxl switches defusedxml off when the environment
    variable ``OPENPYXL_DEFUSEDXML`` is anything but ``True``: the variable is
    reset before openpyxl is imported, and if openpyxl was already imported
    without it, its parsing functions are replaced by defusedxml's.
    """
    import defusedxml  # noqa: F401  (a missing install must fail here, not later)
    from defusedxml import ElementTree as safe_tree

    os.environ["OPENPYXL_DEFUSEDXML"] = "True"
    functions = sys.modules.get("openpyxl.xml.functions")
    if functions is not None and not getattr(functions, "LXML", False):
        functions.fromstring = safe_tree.fromstring
        functions.iterparse = safe_tree.iterparse
        for name in ("openpyxl", "openpyxl.xml"):
            module = sys.modules.get(name)
            if module is not None:
                module.DEFUSEDXML = True


def parse_xml(data: bytes, label: str, member: str):
    """Parse a small XML member with defusedxml; DTDs and entities are refused."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise InputError(Problem(label, _dtd_message(member))) from None
    except ParseError as exc:
        raise InputError(
            Problem(label, f"the workbook is damaged: its part {member} is not well-formed "
                           f"(at line {exc.position[0]}, column {exc.position[1]}); open it in Excel and save it again")
        ) from None


def _dtd_message(member: str) -> str:
    return (
        f"refused unread: the workbook's part {member} declares a DTD or XML entities (<!DOCTYPE / <!ENTITY). "
        "Excel never writes those, and they are how 'billion laughs' files exhaust memory; "
        "ask the sender for the data again, or open it in Excel and save a new copy"
    )


# --------------------------------------------------------------------------- sheet extents


@dataclass
class SheetExtent:
    """Where one sheet's filled cells reach, and what else the scan noticed.

    Attributes
    ----------
    rows, columns : int
        1-based row and column of the farthest filled cell (0 when empty).
    filled : int
        Number of cells holding something (a value, inline text or a formula).
    far_row_cell, far_column_cell : str
        The cell that sets ``rows`` and the one that sets ``columns``.
    has_formulas : bool
        The sheet holds ``<f>`` or error (``t="e"``) cells (xlsx), so the slower
        per-cell scan for unreadable cells is needed.
    rewrites : list
        (start, end, bytes): values written with XML markup, as an XML parser reads them,
        to replace ``sheet_xml[start:end]`` before the bulk reader sees it (xlsx; see
        :func:`_inspect_cell`).
    """

    rows: int = 0
    columns: int = 0
    filled: int = 0
    far_row_cell: str = ""
    far_column_cell: str = ""
    has_formulas: bool = False
    rewrites: list = field(default_factory=list)

    def add(self, row: int, column: int) -> None:
        """Record one filled cell."""
        self.filled += 1
        if row > self.rows:
            self.rows = row
            self.far_row_cell = f"{column_letters(column)}{row}"
        if column > self.columns:
            self.columns = column
            self.far_column_cell = f"{column_letters(column)}{row}"

    @property
    def grid(self) -> int:
        """Cells in the dense grid from A1 to the farthest filled row and column."""
        return self.rows * self.columns


def check_extent(extent: SheetExtent, sheet: str, label: str) -> None:
    """Refuse a sheet whose grid would be too large or too empty to read safely.

    Raises
    ------
    InputError
        Naming the sheet and the far cell(s) to delete.
    """
    grid = extent.grid
    if grid <= SMALL_GRID_CELLS:
        return
    too_big = grid > MAX_GRID_CELLS
    too_sparse = grid > MAX_SPARSENESS * max(extent.filled, 1)
    if not (too_big or too_sparse):
        return
    far = extent.far_row_cell
    if extent.far_column_cell and extent.far_column_cell != far:
        far = f"{extent.far_row_cell} and {extent.far_column_cell}"
    corner = f"{column_letters(extent.columns)}{extent.rows}"
    why = (
        f"more than the {MAX_GRID_CELLS:,} cells the planner reads from one sheet"
        if too_big
        else f"yet only {extent.filled:,} of them are filled"
    )
    raise InputError(
        Problem(
            label,
            f"the sheet '{sheet}' claims cells up to {corner} (a grid of {extent.rows:,} rows x "
            f"{extent.columns:,} columns = {grid:,} cells), {why}; the farthest filled cell is {far}. "
            "Delete the stray cell(s) far outside the table (select the empty rows and columns beyond "
            "the table, Delete, then save) or copy the table to a new sheet",
        )
    )


def _beyond_limits(sheet: str, ref: str, label: str) -> InputError:
    return InputError(
        Problem(
            label,
            f"the sheet '{sheet}' refers to cell {ref}, beyond Excel's last cell XFD1048576; "
            "the file is damaged or was built by hand, not saved by a spreadsheet program; refused unread",
        )
    )


# --------------------------------------------------------------------------- xlsx


@dataclass
class XlsxSheet:
    """One sheet as listed in xl/workbook.xml."""

    name: str
    member: str
    state: str  # "visible", "hidden" or "veryHidden"
    target: str = ""  # the relationship's target as written


@dataclass
class XlsxLayout:
    """What the guard learnt about an xlsx archive."""

    sheets: list = field(default_factory=list)  # XlsxSheet, in workbook order
    extents: dict = field(default_factory=dict)  # member -> SheetExtent, for scanned sheets
    cells: dict = field(default_factory=dict)  # member -> what ``collect`` gave, fed while scanning
    unlisted: int = 0  # <sheet> entries without a name or a known relationship (not in ``sheets``)


def check_archive(archive: zipfile.ZipFile, path, label: str) -> None:
    """Central-directory checks: no member is inflated here.

    Raises
    ------
    InputError
        Too many members, sizes or ratios no workbook has, encrypted or
        exotic members, duplicate names, overlapping members.
    """
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(
            Problem(label, f"the workbook's archive holds {len(infos):,} parts (at most {MAX_MEMBERS:,} are read); "
                    "it is not a file Excel writes; refused unread")
        )
    names = set()
    total = 0
    for info in infos:
        if info.filename in names:
            raise InputError(
                Problem(label, f"the workbook's archive lists the part {info.filename} twice; it is damaged or was "
                        "built to mislead readers; refused unread")
            )
        names.add(info.filename)
        if info.flag_bits & 0x1:
            raise InputError(
                Problem(label, "the workbook's archive is encrypted (a zip password); save a copy without a password")
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputError(
                Problem(label, f"the workbook's part {info.filename} uses a compression method spreadsheet programs "
                        f"do not write (method {info.compress_type}); open it in Excel and save it again")
            )
        total += info.file_size
        if info.file_size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
            biggest = max(infos, key=lambda i: i.file_size)
            all_sizes = sum(i.file_size for i in infos)
            packed = os.path.getsize(path)
            raise InputError(
                Problem(
                    label,
                    f"refused unread: the {_size(packed)} workbook would unpack to {_size(all_sizes)} "
                    f"(its part {biggest.filename} alone to {_size(biggest.file_size)}); the planner unpacks at "
                    f"most {_size(MAX_MEMBER_BYTES)} per part and {_size(MAX_TOTAL_BYTES)} in all. No real "
                    "roster is that large: this looks like a 'zip bomb'; ask the sender for the data again",
                )
            )
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise InputError(
                Problem(
                    label,
                    f"refused unread: the workbook's part {info.filename} unpacks {ratio:,.0f} times larger "
                    f"({_size(info.compress_size)} to {_size(info.file_size)}); spreadsheets compress at most about "
                    f"{MAX_RATIO}:1, so this looks like a 'zip bomb'; ask the sender for the data again",
                )
            )
    _check_overlaps(infos, path, label)


def _check_overlaps(infos, path, label: str) -> None:
    """Each member's data must end before the next member starts (no shared, overlapping data)."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        for info, following in zip(ordered, ordered[1:] + [None]):
            end = _data_offset(handle, info, label) + info.compress_size
            limit = following.header_offset if following is not None else size
            if end > limit:
                raise InputError(
                    Problem(label, "the workbook's archive has parts that overlap one another (a trick used by zip "
                            "bombs) or is truncated; refused unread; save the workbook again")
                )


def _data_offset(handle, info, label: str) -> int:
    """Offset of a member's compressed data, from its local header."""
    handle.seek(info.header_offset)
    header = handle.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise InputError(
            Problem(label, "the workbook is truncated or damaged (a part's header is missing); save it again")
        )
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


def inflate(path, info, label: str):
    """Yield a member's bytes, inflated here with hard caps; verify size and checksum.

    The output is counted against the member's declared size (and the
    per-member limit) as it is produced, so a member whose header lies about
    its size is stopped after at most :data:`_CHUNK` bytes too many.
    """
    cap = min(info.file_size, MAX_MEMBER_BYTES)
    produced = 0
    crc = 0
    with open(path, "rb") as handle:
        handle.seek(_data_offset(handle, info, label))
        remaining = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        while remaining > 0:
            data = handle.read(min(_CHUNK, remaining))
            if not data:
                raise InputError(
                    Problem(label, f"the workbook is truncated (part {info.filename} ends early); save it again")
                )
            remaining -= len(data)
            pending = data
            while pending:
                if inflater is None:
                    out, pending = pending, b""
                else:
                    try:
                        out = inflater.decompress(pending, _CHUNK)
                    except zlib.error:
                        raise InputError(
                            Problem(label, f"the workbook is damaged (part {info.filename} cannot be unpacked); "
                                    "save it again")
                        ) from None
                    pending = inflater.unconsumed_tail
                produced += len(out)
                if produced > cap:
                    raise InputError(
                        Problem(
                            label,
                            f"refused: the workbook's part {info.filename} unpacks to more than the "
                            f"{_size(cap)} its archive declares (or the planner allows); the file is damaged or built "
                            "to exhaust memory (a 'zip bomb'); ask the sender for the data again",
                        )
                    )
                crc = zlib.crc32(out, crc)
                if out:
                    yield out
                if inflater is not None and inflater.eof:
                    pending = b""
                    remaining = 0
    if produced != info.file_size or crc != info.CRC:
        raise InputError(
            Problem(label, f"the workbook is damaged (part {info.filename} fails its size or checksum test); "
                    "save it again")
        )


def read_member(path, info, label: str) -> bytes:
    """A whole (small) member, inflated under the guard's caps."""
    return b"".join(inflate(path, info, label))


def _declares_dtd(tail: bytes, chunk: bytes) -> bool:
    """``<!DOCTYPE`` or ``<!ENTITY`` in ``chunk``, or across its start (``tail``: the previous chunk's end).

    ``!`` is rare in spreadsheet XML and ``bytes.find`` looks for one byte about 20 times
    faster than the regular expression scans, so the expression runs only where one occurs.
    """
    return (b"!" in chunk and _DTD.search(chunk) is not None) or _DTD.search(tail + chunk[:16]) is not None


def _scan_dtd(path, info, label: str) -> None:
    """Stream a member and refuse any DTD or entity declaration in it."""
    tail = b""
    with closing(inflate(path, info, label)) as chunks:
        for chunk in chunks:
            if _declares_dtd(tail, chunk):
                raise InputError(Problem(label, _dtd_message(info.filename)))
            tail = chunk[-16:]


_MAIN_NS_ATTR = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def workbook_sheets(archive: zipfile.ZipFile, path, label: str) -> tuple:
    """Sheets listed in xl/workbook.xml (parsed with defusedxml), with their archive members.

    Returns the list of :class:`XlsxSheet` and the number of ``<sheet>`` entries left out
    (no name, or a relationship that is missing).
    """
    infos = {i.filename: i for i in archive.infolist()}
    for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if name in infos and infos[name].file_size > MAX_WORKBOOK_XML_BYTES:
            raise InputError(
                Problem(label, f"the workbook's part {name} is {_size(infos[name].file_size)}; Excel writes a few KB "
                        "there, so the file is damaged or built to exhaust memory; refused unread")
            )
    workbook = parse_xml(read_member(path, infos["xl/workbook.xml"], label), label, "xl/workbook.xml")
    targets, written = {}, {}
    rels_info = infos.get("xl/_rels/workbook.xml.rels")
    if rels_info is not None:
        rels = parse_xml(read_member(path, rels_info, label), label, "xl/_rels/workbook.xml.rels")
        for rel in rels.iter():
            if _local(rel.tag) != "Relationship":
                continue
            rid, target = rel.get("Id"), rel.get("Target")
            if rid and target:
                member = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
                targets[rid] = posixpath.normpath(member)
                written[rid] = target
    sheets, unlisted = [], 0
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        name = element.get("name")
        rid = element.get(_MAIN_NS_ATTR)
        if rid is None:
            rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        if name is None or rid not in targets:
            unlisted += 1
            continue
        sheets.append(XlsxSheet(name, targets[rid], element.get("state") or "visible", written[rid]))
    return sheets, unlisted


def check_xlsx(archive: zipfile.ZipFile, path, label: str, wanted, collect=None) -> XlsxLayout:
    """Every xlsx check, in order; returns the sheet list and the scanned extents.

    Parameters
    ----------
    archive : zipfile.ZipFile
        Opened on ``path`` (only its central directory is used).
    path : Path
    label : str
        How the file is named in messages.
    wanted : callable
        ``wanted(sheet name) -> bool``: the sheets the planner will read; only
        these are scanned for cell references (others are never loaded).
    collect : callable, optional
        ``collect(XlsxSheet, ZipInfo)`` -> a cell collector (see :func:`scan_sheet`) or
        None, for each scanned sheet; the collectors are kept in ``layout.cells``, so the
        sheets' cells can be read from the scan that checks them.

    Raises
    ------
    InputError
    """
    check_archive(archive, path, label)
    infos = {i.filename: i for i in archive.infolist()}
    for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if name in infos:
            _scan_dtd(path, infos[name], label)
    sheets, unlisted = workbook_sheets(archive, path, label)
    layout = XlsxLayout(sheets=sheets, unlisted=unlisted)
    scanned = {sheet.member: sheet for sheet in layout.sheets if wanted(sheet.name)}
    for name, info in infos.items():
        if name in scanned:  # whatever its name ends with: the reader will parse it as a sheet
            cells = collect(scanned[name], info) if collect is not None else None
            if cells is not None:
                layout.cells[name] = cells
            layout.extents[name] = scan_sheet(path, info, scanned[name].name, label, cells)
            check_extent(layout.extents[name], scanned[name].name, label)
        elif name not in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels") and _XML_MEMBER.search(name):
            _scan_dtd(path, info, label)
    return layout


# Filled cells (not self-closing) with their reference first, as Excel, LibreOffice,
# openpyxl and Google Sheets write them: one pass for the letters, one for the digits.
# The bulk reader takes lower-case letters too, so they count here as well.
_FILLED_LETTERS = re.compile(rb'<c r="([A-Za-z]+)[0-9]+"[^>]*(?<!/)>')
_FILLED_DIGITS = re.compile(rb'<c r="[A-Za-z]+([0-9]+)"[^>]*(?<!/)>')
# Any row or cell tag, with or without a namespace prefix, for the general path.
_ANY_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb'(?:^|\s)r\s*=\s*["\']([A-Za-z]*)([0-9]*)["\']')
_ROW_REF = re.compile(rb'<row r="([0-9]+)"')
# Cell tags the fast path cannot read: no attributes, a tab or line break before them, a namespace prefix.
_OTHER_CELL = re.compile(rb"<c[>/\t\r\n]")
_PREFIXED_CELL = re.compile(rb":c[\s>/]")


def scan_sheet(path, info, sheet: str, label: str, cells=None) -> SheetExtent:
    """Stream a worksheet: refuse DTDs, out-of-range references and cells a reader would misread; measure it.

    ``cells``, when given, collects the cells from the same inflated regions: a
    :class:`planner.plain_xlsx.PlainSheet` (``active``, ``place``, ``feed(buffer, cut)``).
    Regions end before a cell or row tag where they can, so that no cell is split.

    A self-closing cell (``<c r="Z9" s="3"/>``, formatting only) holds nothing
    and the bulk reader skips it, so it does not count towards the extent.

    Sheets of :data:`BULK_SCAN_BYTES` or more are measured a region at a time
    with numpy (:class:`_BulkScanner`); a region it cannot measure exactly, and
    every smaller sheet, goes through :func:`_scan_region`. Both give the same
    extent.

    Every region the collector does not read is also checked for what the bulk reader
    would silently misread (:func:`_check_values`): a value written with XML markup
    (``<v>5&#48;00</v>``, which it reads as 5), recorded in ``extent.rewrites`` to be
    handed over plainly, and a shared-text reference that is not one (``-1``, ``11.0``),
    refused. Cells given twice are refused at the end (:func:`_refuse_repeats`): only
    a sheet whose filled cells are not in strictly increasing order needs that check,
    and the regions the collector reads are always in order.
    """
    extent = SheetExtent()
    state = {"row": 0, "column": 0, "last": 0, "ordered": True, "keys": []}
    carry = b""
    tail = b""
    offset = 0  # where in the sheet's XML the current chunk starts
    bulk = _BulkScanner() if info.file_size >= BULK_SCAN_BYTES else None
    # A big sheet's cells are parsed two regions at a time in threads (numpy lets go of the
    # interpreter while it scans: twice as fast on two cores) and collected in sheet order.
    parsing = ThreadPoolExecutor(PARSE_THREADS) if bulk is not None and cells is not None else None
    pending = collections.deque()  # (parse of a region, the region, its cut, its offset), in sheet order

    def settle(limit: int) -> None:
        """Collect parsed regions, oldest first, until at most ``limit`` are in flight."""
        while len(pending) > limit:
            parse, region, cut, start = pending.popleft()
            if cells.active and _collected(cells.settle(parse.result()), region, cut, extent, state, cells):
                continue
            _note_formulas(region, cut, extent)  # out of pattern: measured as any region is
            _check_values(region, cut, start, extent, state, sheet, label)
            _scan_region(region[:cut], extent, state, sheet, label)

    with closing(inflate(path, info, label)) as chunks, (parsing or contextlib.nullcontext()):
        for chunk in chunks:
            if _declares_dtd(tail, chunk):
                raise InputError(Problem(label, _dtd_message(info.filename)))
            tail = chunk[-16:]
            start = offset - len(carry)  # where the region starts in the sheet
            offset += len(chunk)
            end = len(carry) + len(chunk)
            buffer = carry + chunk if bulk is None else bulk.join(carry, chunk)
            cut = buffer.rfind(b"<", 0, end)
            if cut < 0:
                cut = end
            elif cells is None or not cells.active or cells.place != "tail":
                whole = max(buffer.rfind(b"<c ", 0, end), buffer.rfind(b"<row", 0, end))
                if whole >= 0 and (cells is not None and cells.active or buffer.find(b"</sheetData>", whole, end) < 0):
                    cut = whole
            carry = bytes(buffer[cut:end])
            if len(carry) > _MAX_CARRY:
                raise InputError(
                    Problem(label, f"the sheet '{sheet}' holds a single XML tag or text longer than "
                            f"{_size(_MAX_CARRY)}; it is not a sheet a spreadsheet program writes; refused unread")
                )
            if (parsing is not None and cells.active and cells.place == "data"
                    and buffer.find(b"</sheetData>", 0, cut) < 0):
                region = bytes(buffer[:cut + 16]).ljust(cut + 16, b"\0")
                pending.append((parsing.submit(cells.parse_or_refusal, region, 0, cut), region, cut, start))
                settle(PARSE_THREADS)
                continue
            if pending:
                settle(0)
            if cells is not None and cells.active and _collected(cells.feed(buffer, cut), buffer, cut, extent, state,
                                                                 cells):
                continue
            _check_values(buffer, cut, start, extent, state, sheet, label)
            if bulk is None:
                region = buffer[:cut]
                _note_formulas(region, len(region), extent)
                _scan_region(region, extent, state, sheet, label)
            elif not bulk.measure(buffer, cut, extent, state, sheet, label):
                _scan_region(bytes(buffer[:cut]), extent, state, sheet, label)
        if pending:
            settle(0)
    if carry and not (cells is not None and cells.active
                      and _collected(cells.feed(carry, len(carry)), carry, len(carry), extent, state, cells)):
        _note_formulas(carry, len(carry), extent)
        _check_values(carry, len(carry), offset - len(carry), extent, state, sheet, label)
        _scan_region(carry, extent, state, sheet, label)
    if not state["ordered"]:
        _refuse_repeats(path, info, sheet, label, state, cells, extent)
    return extent


def _collected(found, buffer, cut: int, extent: SheetExtent, state: dict, cells) -> bool:
    """Record a region the cell collector read (``found``: what its ``feed`` returned); False if it could not.

    The collector reads only cells with plain references within Excel's limits, so its
    count and farthest cells are what the measuring scans would record. Its cells come in
    strictly increasing order (it stops at any other), so only the last one is kept for
    the order check.
    """
    if found is None:
        return False
    if cells.last_key >= 0:
        state["last"] = cells.last_key
    count, far_row, far_column = found
    if count:
        extent.filled += count - 2
        extent.add(*far_row)
        extent.add(*far_column)
    _note_last_row(buffer, cut, state)  # (the region holds no formula or error cells: they are out of pattern)
    return True


def _note_formulas(buffer, cut: int, extent: SheetExtent) -> None:
    """Note formula and error cells (``<f``, ``t="e"``, a prefixed ``:f``) in ``buffer[:cut]``."""
    if not extent.has_formulas:
        extent.has_formulas = any(buffer.find(mark, 0, cut) >= 0 for mark in (b"<f", b't="e"', b":f"))


# What a cell's value can hide from the bulk reader (python-calamine 0.9), which reads a number's,
# boolean's or shared-text reference's text only up to its first character reference, entity or
# CDATA section (``<v>5&#48;00</v>`` reads as 5, ``<v>&#53;000</v>`` as blank) and reads a
# shared-text reference it cannot parse as entry 0 of the table.
_TAG_NAME = re.compile(rb"<([^\s/>]*)")
_END_TAG_NAME = re.compile(rb"</([^\s>]*)")
_XML_DECLARATION = re.compile(rb"<\?xml\s")
# A shared-text cell written as Excel writes one, but without a plain entry number after it.
_ODD_SHARED = re.compile(rb't="s"(?!><v>[0-9]{1,19}</v>|/>)')
# An attribute named t written other than t="..." (quoted otherwise, spaces around "=").
_ODD_TYPE = re.compile(rb"t(?:\s+=|=\s|=')")
_START_TAG = re.compile(rb"""<((?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*))((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>""")
_ATTRIBUTE = re.compile(rb"""([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})")
_INDEX = re.compile(r"[0-9]+")
#: Skipped whole while looking for an element's end: their text may hold anything.
_OPAQUE = ((b"<![CDATA[", b"]]>"), (b"<!--", b"-->"), (b"<?", b"?>"))


def _check_values(buffer, cut: int, start: int, extent: SheetExtent, state: dict, sheet: str, label: str) -> None:
    """Look at the cells of ``buffer[:cut]`` (at ``start`` in the sheet) that the bulk reader could misread.

    Only places found at memchr or regular-expression speed are looked at closely: an
    ``&`` outside inline text and formulas, ``<!`` and ``<?`` (CDATA, comments, processing
    instructions), a ``t="s"`` cell whose value is not a plain entry number, and a ``t``
    attribute written unusually. Sheets saved by spreadsheet programs have none of these
    in their values, so this costs a few passes over the bytes and nothing more.
    """
    suspects = []
    if buffer.find(b"&", 0, cut) >= 0:
        suspects += _markup_amps(buffer, cut)
    for mark, byte in ((b"<!", b"!"), (b"<?", b"?")):
        if buffer.find(byte, 0, cut) < 0:
            continue
        found = buffer.find(mark, 0, cut)
        while found >= 0:
            if not _XML_DECLARATION.match(buffer, found):
                suspects.append(found)
            found = buffer.find(mark, found + 2, cut)
    suspects += [match.start() for match in _ODD_SHARED.finditer(buffer, 0, cut)]
    suspects += [match.start() for match in _ODD_TYPE.finditer(buffer, 0, cut)]
    done = -1
    for position in sorted(set(suspects)):
        if position >= done:
            done = _inspect_cell(buffer, cut, position, start, extent, state, sheet)


def _markup_amps(buffer, cut: int) -> list:
    """Where an ``&`` stands in ``buffer[:cut]`` other than in the text of a ``<t>`` or ``<f>`` element."""
    found = []
    position = buffer.find(b"&", 0, cut)
    while position >= 0:
        opening = buffer.rfind(b"<", 0, position)
        name = _TAG_NAME.match(buffer, opening).group(1).rsplit(b":", 1)[-1] if opening >= 0 else b""
        if name not in (b"t", b"f"):
            found.append(position)
            position = buffer.find(b"&", position + 1, cut)
            continue
        following = buffer.find(b"<", position, cut)  # the rest of this text is fine
        position = buffer.find(b"&", following, cut) if following >= 0 else -1
    return found


def _element_end(buffer, qualified: bytes, position: int, cut: int) -> tuple:
    """(start, end) of the end tag ``</qualified>`` at or after ``position``; None when it is not before ``cut``.

    CDATA sections, comments and processing instructions on the way are skipped whole.
    """
    closing = b"</" + qualified
    while True:
        found = buffer.find(b"<", position, cut)
        if found < 0:
            return None
        for opening, ending in _OPAQUE:
            if buffer.startswith(opening, found):
                stop = buffer.find(ending, found + len(opening), cut)
                if stop < 0:
                    return None
                position = stop + len(ending)
                break
        else:
            if buffer.startswith(closing, found):
                stop = buffer.find(b">", found, cut)
                if stop >= 0 and not buffer[found + len(closing): stop].strip():
                    return found, stop + 1
            position = found + 1


def _enclosing_cell(buffer, cut: int, position: int):
    """The start-tag match of the cell element that holds ``position``, and its end; None when none does."""
    opening = buffer.rfind(b"<", 0, position + 1)
    for _ in range(64):  # a cell holds a few tags; more, and this is not a cell's content
        if opening < 0:
            return None
        tag = _START_TAG.match(buffer, opening, cut)
        if tag is not None:
            if tag.group(2) == b"c":
                if tag.group(4):
                    return (tag, tag.end()) if position < tag.end() else None
                end = _element_end(buffer, tag.group(1), tag.end(), cut)
                return (tag, end[1]) if end is not None and position < end[1] else None
            if tag.group(2) in (b"row", b"sheetData", b"worksheet"):
                return None
        elif buffer.startswith(b"</", opening):
            closed = _END_TAG_NAME.match(buffer, opening).group(1).rsplit(b":", 1)[-1]
            if closed in (b"c", b"row", b"sheetData"):
                return None  # after a cell's end: not inside one
        opening = buffer.rfind(b"<", 0, opening)
    return None


def _inspect_cell(buffer, cut: int, position: int, start: int, extent: SheetExtent, state: dict, sheet: str) -> int:
    """Check the cell around ``position``: record its value for rewriting, or refuse it; returns where it ends.

    A value written with markup (character references, entities, comments) is read as an
    XML parser reads it; when the bulk reader would read it otherwise, the value is recorded
    in ``extent.rewrites`` as (start, end, plain text) in the sheet's bytes, to be handed
    over plainly. Refused: a shared-text reference that is not an entry number, a value
    that does not decode (an unknown entity) or decodes to markup where a number is kept,
    a value in a CDATA section, a cell with two values or an attribute given twice.
    """
    found = _enclosing_cell(buffer, cut, position)
    if found is None:
        return position + 1
    tag, end = found
    attributes = {}
    for match in _ATTRIBUTE.finditer(bytes(tag.group(3))):
        name, value = match.group(1), match.group(2) if match.group(2) is not None else match.group(3)
        if name in attributes:
            attributes[name] = None  # given twice: not a cell a program writes
        else:
            attributes[name] = value.decode("utf-8", "replace")
    values = []  # (body start, body end) of each <v> child
    inside = tag.end()
    while not tag.group(4):  # each child element is skipped whole: only <v> children are values
        opening = buffer.find(b"<", inside, end)
        if opening < 0:
            break
        opaque = next((stop for begin, stop in _OPAQUE if buffer.startswith(begin, opening)), None)
        if opaque is not None:
            closing = buffer.find(opaque, opening, end)
            inside = closing + len(opaque) if closing >= 0 else end
            continue
        child = _START_TAG.match(buffer, opening, end)
        if child is None:  # an end tag: the cell's own
            inside = opening + 1
            continue
        closing = (child.end(), child.end()) if child.group(4) else _element_end(buffer, child.group(1), child.end(),
                                                                                 end)
        if closing is None:
            break
        if child.group(2) == b"v":
            values.append((child.end(), closing[0]))
        inside = closing[1]
    kind = attributes.get(b"t", "n")
    ref = _CELL_REF.fullmatch(attributes.get(b"r") or "")
    if ref:
        row = int(ref.group(2))
    else:  # no reference: the row it is in, as far as can be told
        row_tag = _ROW_REF.match(buffer, max(buffer.rfind(b"<row ", 0, tag.start()), 0))
        row = int(row_tag.group(1)[:12]) if row_tag else (state["row"] or None)
    column = ref.group(1).upper() if ref else None
    where = f"cell {column}{row}" if ref else "a cell in this row"

    def refuse(message: str, shown=None):
        raise InputError(Problem(sheet, f"the workbook is damaged: {message}; {RESAVE}", row, column, shown))

    if None in attributes.values():
        refuse(f"{where} gives the same attribute twice, so what it holds cannot be known")
    if len(values) > 1:
        refuse(f"{where} holds {len(values)} values where a cell holds one, and a reader would silently keep "
               "only one of them")
    if not values:
        return end
    body_start, body_end = values[0]
    raw = bytes(buffer[body_start:body_end])
    written = raw.decode("utf-8", "replace")
    text = _xml_text(raw)
    if kind == "s" and (text is None or not _INDEX.fullmatch(text) or int(text) >= 1 << 64):
        raise InputError(broken_text_problem(sheet, row, column, written))
    if b"&" not in raw and b"<" not in raw:
        return end
    if text is None:
        refuse(f"{where} holds a value that is not well-formed XML (an unknown entity or stray markup), so what "
               "it says cannot be known", written)
    if b"<![CDATA[" in raw:  # (could be decoded as the rest is; refused, as tests/test_plain_xlsx.py expects)
        refuse(f"{where} keeps its value in a CDATA section (<![CDATA[...]]>), which spreadsheet programs never "
               "write and which would read as blank or cut short", written)
    if kind == "str":
        plain = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    elif any(mark in text for mark in "&<>"):
        refuse(f"{where} holds text with XML markup where a number, TRUE/FALSE or a date is kept, so its value "
               "cannot be known", written)
    else:
        plain = text
    if plain.encode() != raw:
        extent.rewrites.append((start + body_start, start + body_end, plain.encode()))
    return end


def broken_text_problem(sheet: str, row, column, written: str) -> Problem:
    """The refusal of a shared-text cell whose reference is no entry of the table (``-1``, ``11.0``, past its end)."""
    where = f"cell {column}{row}" if column else "a cell in this row"
    return Problem(
        sheet,
        f"the workbook is damaged: {where} should hold text kept in the workbook's shared text table, but its shared "
        f"text reference is broken (it is not the number of an entry of that table), so what it says cannot be "
        f"known; {RESAVE}",
        row, column, written,
    )


_SHARED_VALUE = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*? t="s"><v>([^<]*)</v>')


def find_broken_text(data: bytes, count: int):
    """(row, column letters, value as written) of the first shared-text cell of a sheet's XML whose reference
    is not an entry of a table of ``count`` strings; None when there is none (or it cannot be told where).

    Cells written as Excel writes them are found at regular-expression speed; failing that,
    every cell is walked as :func:`_scan_region` walks them. For refusals only.
    """
    for match in _SHARED_VALUE.finditer(data):
        written = match.group(3)
        text = written.decode() if b"&" not in written and written.isascii() else _xml_text(written)
        if text is None or not _INDEX.fullmatch(text) or int(text) >= count:
            return int(match.group(2)), match.group(1).decode(), written.decode("utf-8", "replace")
    row = column = 0
    for match in _ANY_TAG.finditer(data):
        tag, attributes = match.group(1), match.group(2)
        ref = _R_ATTR.search(attributes)
        if tag == b"row":
            row, column = (int(ref.group(2)[:12]) if ref and ref.group(2) else row + 1), 0
            continue
        if ref and ref.group(1) and ref.group(2):
            column, row_of_cell = _column_number(ref.group(1)), int(ref.group(2)[:12])
        else:
            column, row_of_cell = column + 1, max(row, 1)
        kinds = [m.group(2) or m.group(3) for m in _ATTRIBUTE.finditer(attributes) if m.group(1) == b"t"]
        if kinds != [b"s"] or attributes.rstrip().endswith(b"/"):
            continue
        value = _VALUE_AFTER.match(data, match.end())
        if value is None:
            continue
        text = _xml_text(value.group(1))
        if text is None or not _INDEX.fullmatch(text) or int(text) >= count:
            return row_of_cell, column_letters(min(column, MAX_COLUMNS)), value.group(1).decode("utf-8", "replace")
    return None


_VALUE_AFTER = re.compile(rb"\s*<(?:[A-Za-z_][\w.\-]*:)?v(?:\s[^>]*)?>(.*?)</(?:[A-Za-z_][\w.\-]*:)?v\s*>", re.S)


def _xml_text(raw: bytes):
    """A value's text as an XML parser reads it (references, entities and CDATA decoded); None when it cannot."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        element = fromstring(b"<v>" + raw + b"</v>", forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError):
        return None
    return element.text or "" if not len(element) else None


def _plain_cells(region: bytes) -> bool:
    """True when every cell tag in the region is ``<c r="...`` (the fast path applies)."""
    if region.count(b"<c ") != region.count(b'<c r="'):
        return False
    return _OTHER_CELL.search(region) is None and _PREFIXED_CELL.search(region) is None


def _scan_region(region: bytes, extent: SheetExtent, state: dict, sheet: str, label: str) -> None:
    """Scan complete tags: in bulk when every cell carries its reference first, else tag by tag.

    The filled cells' places go to :func:`_note_order`, as ``row * 16384 + column``.
    """
    if _plain_cells(region):
        letters, digits = _FILLED_LETTERS.findall(region), _FILLED_DIGITS.findall(region)
        columns = _fast_cells(letters, digits, extent, sheet, label)
        if letters:  # row * 16384 + column, each cell in C
            rows = map(operator.mul, map(int, digits), itertools.repeat(MAX_COLUMNS))
            _note_order(array.array("q", map(operator.add, rows, map(columns.__getitem__, letters))), state)
        _note_last_row(region, len(region), state)
        return
    keys = array.array("q")
    for match in _ANY_TAG.finditer(region):
        tag, attributes = match.group(1), match.group(2)
        ref = _R_ATTR.search(attributes)
        if tag == b"row":
            state["row"] = int(ref.group(2)[:12]) if ref and ref.group(2) else state["row"] + 1
            state["column"] = 0
            continue
        if ref and ref.group(1) and ref.group(2):
            column, row = _column_number(ref.group(1)), int(ref.group(2)[:12])
        else:
            column, row = state["column"] + 1, max(state["row"], 1)
        state["column"] = column
        if attributes.rstrip().endswith(b"/"):
            continue  # formatting only: nothing to read
        if row > MAX_ROWS or column > MAX_COLUMNS or row < 1:
            raise _beyond_limits(sheet, f"{column_letters(min(column, 26 ** 4))}{row}", label)
        extent.add(row, column)
        keys.append(row * MAX_COLUMNS + column)
    _note_order(keys, state)


def _note_order(keys, state: dict) -> None:
    """Keep a region's filled-cell places (in sheet order) and note whether the sheet is still strictly in order.

    ``keys`` is an ``array('q')`` or a numpy array of ``row * 16384 + column``. While every
    place is larger than the one before, no cell can have been given twice; the places are
    kept all the same (8 bytes a cell), in case a later region breaks the order.
    """
    if not len(keys):
        return
    state["keys"].append(keys)
    if state["ordered"]:
        if keys[0] <= state["last"]:
            state["ordered"] = False
        elif isinstance(keys, array.array):
            state["ordered"] = all(map(operator.lt, keys, itertools.islice(keys, 1, None)))
        else:
            state["ordered"] = bool((keys[1:] > keys[:-1]).all())
    state["last"] = int(keys[-1])


def _refuse_repeats(path, info, sheet: str, label: str, state: dict, cells, extent: SheetExtent) -> None:
    """Refuse a sheet that gives one cell twice (the bulk reader would keep the last copy silently).

    Called when the filled cells are not in strictly increasing order: all their places are
    sorted (with those the cell collector read before it stopped) and compared. A grid too
    large or too empty to read (:func:`check_extent`) is told first: it is the graver fault.
    """
    parts = list(state["keys"]) + list(getattr(cells, "kept_keys", None) or [])
    state["keys"] = []
    if sum(map(len, parts)) > 100_000:
        np, _, _ = _numpy()
        ordered = np.sort(np.concatenate([np.asarray(part, dtype=np.int64) for part in parts]))
        same = np.flatnonzero(ordered[1:] == ordered[:-1])
        repeated = int(ordered[same[0]]) if same.size else None
    else:
        ordered = sorted(itertools.chain.from_iterable(parts))
        repeated = next((a for a, b in zip(ordered, ordered[1:]) if a == b), None)
    if repeated is None:
        return
    check_extent(extent, sheet, label)
    row, column = divmod(repeated - 1, MAX_COLUMNS)
    ref = f"{column_letters(column + 1)}{row}"
    if _row_elements(path, info, row, label) > 1:
        what = (f"row {row} is written twice in this sheet, so its cells (such as {ref}) have two values "
                "each and a reader would silently keep only the last")
    else:
        what = f"cell {ref} is written twice in this sheet, and a reader would silently keep only the last copy"
    raise InputError(Problem(sheet, f"the workbook is damaged: {what}; {RESAVE}", row, column_letters(column + 1)))


#: How every refusal of a damaged sheet ends.
RESAVE = ("re-save the file from Excel (open it and save it again), or export it again from where it came from")


def _row_elements(path, info, row: int, label: str) -> int:
    """How many ``<row r="N">`` elements a sheet holds for row ``row`` (streamed again; for a message)."""
    needle = b'<row r="%d"' % row
    count, tail = 0, b""
    with closing(inflate(path, info, label)) as chunks:
        for chunk in chunks:
            data = tail + chunk
            count += data.count(needle)
            tail = data[-(len(needle) - 1):]  # shorter than the needle: nothing in it is counted twice
    return count


def _note_last_row(buffer: bytes, cut: int, state: dict) -> None:
    """Keep the number of the region's last ``<row r="...">`` for cells without references further on."""
    last_row = buffer.rfind(b"<row r=", 0, cut)
    if last_row >= 0:
        found = _ROW_REF.match(buffer, last_row, cut)
        state["row"] = int(found.group(1)[:12]) if found else state["row"]


def _fast_cells(letters: list, digits: list, extent: SheetExtent, sheet: str, label: str) -> dict:
    """Filled cells as parallel lists of column letters and row digits (bytes); returns letters -> column number.

    References are read as the bulk reader reads them: letters in either case (``c7``
    is C7), the row as a number (``C007`` is C7). Each farthest cell is the first to
    reach the farthest column or row.
    """
    if not letters:
        return {}
    columns = {text: _column_number(text) for text in set(letters)}
    far_column = max(columns.values())
    column_at = min(letters.index(text) for text, number in columns.items() if number == far_column)
    distinct = set(digits)
    longest = max(map(len, distinct))
    if longest > 7:  # beyond the last row whatever its value: name the largest as written
        row_at = digits.index(max(text for text in distinct if len(text) == longest))
    else:
        rows = {text: int(text) for text in distinct}
        far_row = max(rows.values())
        row_at = min(digits.index(text) for text, number in rows.items() if number == far_row)
    if far_column > MAX_COLUMNS:
        raise _beyond_limits(sheet, f"{letters[column_at].decode()}{digits[column_at].decode()[:12]}", label)
    if longest > 7 or not 1 <= int(digits[row_at]) <= MAX_ROWS:
        raise _beyond_limits(sheet, f"{letters[row_at].decode()}{digits[row_at].decode()[:12]}", label)
    extent.filled += len(letters) - 2
    extent.add(int(digits[row_at]), columns[letters[row_at]])
    extent.add(int(digits[column_at]), far_column)
    return columns


#: Zero bytes after a bulk region: the fixed-width windows read after its last cell tags stay in the buffer.
_PAD = bytes(16)


@functools.cache
def _numpy():
    """numpy (imported for the first big sheet only) and two lookup tables.

    ``tag_end[b]``: ``<c`` followed by byte ``b`` opens a cell tag (a space, ``>``, ``/``,
    tab or line break; ``<col``, ``<cfRule`` ... are other tags). ``low_bytes[n]``: a
    64-bit mask of the ``n`` lowest bytes (n = 0-7).
    """
    import numpy as np

    tag_end = np.zeros(256, dtype=bool)
    tag_end[list(b" >/\t\r\n")] = True
    low_bytes = np.array([(1 << 8 * n) - 1 for n in range(8)], dtype=np.uint64)
    return np, tag_end, low_bytes


class _BulkScanner:
    """Measures the regions of one big sheet with numpy, as :func:`_scan_region` would.

    The regions are assembled in one reused buffer, and the comparisons write into reused
    arrays: fresh megabyte-sized buffers for every region would each be mapped anew by the
    allocator, and faulting their pages in again costs about a tenth of the scan.
    """

    def __init__(self):
        self.np, self.tag_end, self.low_bytes = _numpy()
        self.work = bytearray()
        self.odd = self.flags = None

    def join(self, carry: bytes, chunk: bytes) -> bytearray:
        """``carry + chunk`` followed by :data:`_PAD`, in the reused buffer (stale bytes may follow)."""
        end = len(carry) + len(chunk)
        if len(self.work) < end + len(_PAD):
            self.work = bytearray(end + len(_PAD) + _CHUNK)  # with room for a longer carry
            self.odd = self.np.empty(len(self.work), dtype=self.np.uint8)
            self.flags = self.np.empty(len(self.work), dtype=bool)
        self.work[: len(carry)] = carry
        self.work[len(carry): end] = chunk
        self.work[end: end + len(_PAD)] = _PAD
        return self.work

    def measure(self, buffer: bytearray, cut: int, extent: SheetExtent, state: dict, sheet: str, label: str) -> bool:
        """Measure the region ``buffer[:cut]`` (from :meth:`join`); False when it cannot, recording nothing.

        The region's formula and error marks are always noted. Its cells are measured only
        when every cell tag is ``<c r="`` with a plain reference (1-3 letters, a row number
        of 1-7 digits without a leading zero, the closing quote), as Excel, LibreOffice,
        openpyxl and Google Sheets write them; otherwise False sends the region to
        :func:`_scan_region`. For tags that close before the next one opens (well-formed
        XML), the result is that of :func:`_fast_cells`: the same filled count, farthest
        row and column, cells named for them (the first in the region to reach them) and
        refusals of references beyond XFD1048576.
        """
        np, tag_end, low_bytes, flags = self.np, self.tag_end, self.low_bytes, self.flags
        a = np.frombuffer(buffer, dtype=np.uint8)
        # Two-byte marks are compared as 16-bit values at even and at odd offsets: half the work
        # of byte pairs. The odd half is copied so that its values are aligned, as numpy needs for speed.
        odd = max(cut - 1, 0)
        np.copyto(self.odd[:odd], a[1: 1 + odd])
        halves = (a[: cut // 2 * 2].view("<u2"), self.odd[: odd // 2 * 2].view("<u2"))

        def where(mark: bytes) -> list:
            value = int.from_bytes(mark, "little")
            return [np.flatnonzero(np.equal(half, value, out=flags[: half.size])) * 2 + offset
                    for offset, half in enumerate(halves)]

        def has(mark: bytes) -> bool:
            value = int.from_bytes(mark, "little")
            return any(np.equal(half, value, out=flags[: half.size]).any() for half in halves)

        colon = buffer.find(b":", 0, cut) >= 0  # every namespace prefix has one; one byte is found at memchr speed
        if not extent.has_formulas:  # the marks of the small-sheet scan: <f, t="e", :f
            extent.has_formulas = (has(b"<f") or (has(b'"e') and buffer.find(b't="e"', 0, cut) >= 0)
                                   or (colon and buffer.find(b":f", 0, cut) >= 0))
        if colon and _PREFIXED_CELL.search(buffer, 0, cut):
            return False
        starts = np.concatenate(where(b"<c"))  # even offsets, then odd ones
        cells = np.sort(starts[tag_end[a[starts + 2]]])  # in region order, for the order check
        if not (_strided(np, buffer, "<u4")[cells + 2] == int.from_bytes(b' r="', "little")).all():
            return False  # a cell tag without its reference first
        if cells.size:
            refs = cells + 6  # first byte of each reference
            # Bit tricks on each reference's bytes, 4 or 8 at a time, big-endian (first byte on top):
            # the top bit of each byte that is a letter (A-Z) is set in `upper`: at least "A" and
            # below "[" in its low 7 bits (adding 0x3F carries into no other byte), and below 0x80.
            head = _strided(np, buffer, ">u4")[refs]
            seven = head & np.uint32(0x7F7F_7F7F)
            upper = ((seven + np.uint32(0x3F3F_3F3F)) & ~(seven + np.uint32(0x2525_2525)) & ~head
                     & np.uint32(0x8080_8080))
            letters = ((upper >= 0x8000_0000).astype(np.intp) + ((upper & 0x8080_0000) == 0x8080_0000)
                       + ((upper & 0x8080_8000) == 0x8080_8000))
            # The 8 bytes after the letters: the row number, then the closing quote. The top bit of
            # each byte that is a quote is set in `quotes` (exactly the zero bytes of `unquoted`); the
            # digits are the bytes above the first.
            row_text = _strided(np, buffer, ">u8")[refs + letters]
            unquoted = row_text ^ np.uint64(0x2222_2222_2222_2222)
            quotes = ~(((unquoted & np.uint64(0x7F7F_7F7F_7F7F_7F7F)) + np.uint64(0x7F7F_7F7F_7F7F_7F7F)) | unquoted
                       | np.uint64(0x7F7F_7F7F_7F7F_7F7F))
            digits = sum((quotes < np.uint64(1 << 8 * above)).astype(np.intp) for above in range(8))
            shown = np.clip(digits, 1, 7)  # (out-of-range counts are refused below, unclipped)
            high = ~low_bytes[8 - shown]  # the top `shown` bytes
            offsets = row_text ^ np.uint64(0x3030_3030_3030_3030)  # "0".."9" become 0..9
            all_digits = ((offsets & np.uint64(0xF0F0_F0F0_F0F0_F0F0) & high) == 0) & (
                ((offsets & np.uint64(0x0F0F_0F0F_0F0F_0F0F)) + np.uint64(0x0606_0606_0606_0606))
                & np.uint64(0x1010_1010_1010_1010) & high == 0)  # a nibble above 9 carries into bit 4
            plain = ((letters >= 1) & (upper != 0x8080_8080) & (digits >= 1) & (digits <= 7) & all_digits
                     & (offsets >> np.uint64(56) != 0))  # (no leading zero)
            if not plain.all():
                return False
            filled = None
            if has(b"/>"):  # a tag closes itself: a cell does when the first ">" after its reference follows "/"
                closes = np.flatnonzero(np.equal(a[:cut], 62, out=flags[:cut]))
                first = np.searchsorted(closes, refs)
                if first.max() >= closes.size:
                    return False  # a cell tag that does not end in the region
                filled = a[closes[first] - 1] != 47
            # Keys that compare as the numbers do: the row's digits and the column's 1-3 letters,
            # each right-aligned over zero bytes (a longer column name is a farther column).
            row_key = row_text >> (8 * (8 - digits)).astype(np.uint64)
            column_key = head >> (8 * (4 - letters)).astype(np.uint32)
            # Each cell's place, row * 16384 + column, for the order check (_note_order).
            row_digits = offsets >> (8 * (8 - digits)).astype(np.uint64)  # 0-9 a byte, right-aligned
            places = np.zeros(refs.size, dtype=np.int64)
            for power in range(7):
                places += ((row_digits >> np.uint64(8 * power)) & np.uint64(255)).astype(np.int64) * 10 ** power
            letter_bytes = column_key.astype(np.int64)
            places *= MAX_COLUMNS
            places += ((letter_bytes & 255) - 64 + np.where(letters >= 2, ((letter_bytes >> 8 & 255) - 64) * 26, 0)
                       + np.where(letters >= 3, ((letter_bytes >> 16 & 255) - 64) * 676, 0))
            count = refs.size
            if filled is not None:
                count = int(filled.sum())
                row_key = np.where(filled, row_key, 0)
                column_key = np.where(filled, column_key, 0)
            if count:
                far = [_first_max(np, key, refs) for key in (row_key, column_key)]
                _record_far_cells(buffer, [(int(refs[i]), int(letters[i]), int(digits[i])) for i in far], count,
                                  extent, sheet, label)
                _note_order(places if filled is None else places[filled], state)
        _note_last_row(buffer, cut, state)
        return True


def _first_max(np, key, position) -> int:
    """Index of the entry that holds ``key``'s maximum and comes first by ``position``."""
    ties = np.flatnonzero(key == key.max())
    return int(ties[position[ties].argmin()])


def _strided(np, buffer, dtype: str):
    """Every run of ``dtype``'s size in ``buffer``, one starting at each byte (a view, nothing copied)."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((len(buffer) - size + 1,), dtype=dtype, buffer=buffer, strides=(1,))


def _record_far_cells(buffer, far: list, count: int, extent: SheetExtent, sheet: str, label: str) -> None:
    """Record a region's ``count`` filled cells as :func:`_fast_cells` does, from the two that reach farthest.

    ``far``: (start, letters, digits) of the reference of the first cell in the farthest
    row, then of the first in the farthest column.
    """
    (row_letters, row_digits), (column_letters, column_digits) = (
        (bytes(buffer[start: start + letters]), bytes(buffer[start + letters: start + letters + digits]))
        for start, letters, digits in far
    )
    column = _column_number(column_letters)
    if column > MAX_COLUMNS:
        raise _beyond_limits(sheet, f"{column_letters.decode()}{column_digits.decode()}", label)
    row = int(row_digits)
    if row > MAX_ROWS:
        raise _beyond_limits(sheet, f"{row_letters.decode()}{row_digits.decode()}", label)
    extent.filled += count - 2
    extent.add(row, _column_number(row_letters))
    extent.add(int(column_digits), column)


# --------------------------------------------------------------------------- xls (OLE2 / BIFF)


@dataclass
class XlsSheet:
    """One worksheet of a BIFF workbook, as the guard saw it."""

    name: str
    visible: str  # "visible", "hidden" or "veryHidden"
    extent: SheetExtent = field(default_factory=SheetExtent)
    errors: dict = field(default_factory=dict)  # (row, column letters) -> shown error, e.g. "#N/A"


@dataclass
class XlsLayout:
    """What the guard learnt about a legacy workbook."""

    encrypted: bool = False  # an encrypted xlsx in an OLE container, or an xls with a password
    sheets: list = field(default_factory=list)  # XlsSheet


_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_BIFF_ERRORS = {
    0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!", 0x2A: "#N/A",
}
_VISIBILITY = {0: "visible", 1: "hidden", 2: "veryHidden"}


class _Damaged(Exception):
    """The compound file or its BIFF stream does not hold together."""


def check_xls(path, label: str, wanted) -> XlsLayout:
    """Walk an OLE2 compound file and its Workbook stream; refuse grids that cannot be read safely.

    Parameters
    ----------
    path : Path
    label : str
    wanted : callable
        ``wanted(sheet name) -> bool``: only these sheets' extents are checked.

    Raises
    ------
    InputError
    """
    size = os.path.getsize(path)
    if size > MAX_XLS_BYTES:
        raise InputError(
            Problem(label, f"the .xls file is {_size(size)}; the planner reads legacy .xls files up to "
                    f"{_size(MAX_XLS_BYTES)}; save it as .xlsx")
        )
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        streams = _ole_streams(data)
    except (_Damaged, struct.error, IndexError):
        raise InputError(Problem(label, "the .xls file is truncated or damaged (its internal directory cannot be "
                                 "read); open it in Excel and save it again")) from None
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        return XlsLayout(encrypted=True)
    entry = streams.get("workbook") or streams.get("book")
    if entry is None:
        raise InputError(Problem(label, "this file is an Office document but not an Excel workbook (no Workbook "
                                 "stream); give an .xlsx, .xls or .csv file"))
    try:
        stream = _ole_read(data, *entry)
        layout = _walk_biff(stream)
    except (_Damaged, struct.error, IndexError):
        raise InputError(Problem(label, "the .xls file is truncated or damaged (its records do not hold together); "
                                 "open it in Excel and save it again")) from None
    if not layout.encrypted:
        for sheet in layout.sheets:
            if wanted(sheet.name):
                check_extent(sheet.extent, sheet.name, label)
    return layout


def _ole_streams(data: bytes) -> dict:
    """Directory of a compound file: lower-case stream name -> (start sector, size, context)."""
    if len(data) < 512:
        raise _Damaged
    sector_shift, mini_shift = struct.unpack_from("<HH", data, 30)
    if not 7 <= sector_shift <= 16 or not 1 <= mini_shift < sector_shift:
        raise _Damaged
    sector = 1 << sector_shift
    n_fat, dir_start = struct.unpack_from("<II", data, 44)
    mini_cutoff, minifat_start, n_minifat, difat_start, n_difat = struct.unpack_from("<IIIII", data, 56)
    n_sectors = max(0, len(data) - 1) // sector  # sectors after the header (the header fills sector -1)
    if n_fat > n_sectors + 1 or n_difat > n_sectors + 1:
        raise _Damaged
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 76) if s < 0xFFFFFFFA]
    seen = 0
    next_difat = difat_start
    per = sector // 4
    while next_difat < 0xFFFFFFFA and seen <= n_sectors:
        entries = struct.unpack_from(f"<{per}I", data, (next_difat + 1) * sector)
        fat_sectors += [s for s in entries[:-1] if s < 0xFFFFFFFA]
        next_difat = entries[-1]
        seen += 1
    fat = []
    for s in fat_sectors[: n_fat or len(fat_sectors)]:
        offset = (s + 1) * sector
        if offset + sector > len(data):
            raise _Damaged
        fat.extend(struct.unpack_from(f"<{per}I", data, offset))
    context = {"sector": sector, "fat": fat, "mini_cutoff": mini_cutoff}
    directory = _chain_bytes(data, dir_start, sector, fat)
    entries = {}
    root = None
    for offset in range(0, len(directory) - 127, 128):
        name_length = struct.unpack_from("<H", directory, offset + 64)[0]
        kind = directory[offset + 66]
        start, size = struct.unpack_from("<II", directory, offset + 116)
        if kind == 0 or name_length < 2 or name_length > 64:
            continue
        name = directory[offset: offset + name_length - 2].decode("utf-16-le", "replace")
        if kind == 5:
            root = (start, size)
        elif kind == 2:
            entries.setdefault(name.casefold(), (start, size))
    if root is None:
        raise _Damaged
    context["root"] = root
    minifat = _chain_bytes(data, minifat_start, sector, fat)
    context["minifat"] = list(struct.unpack(f"<{len(minifat) // 4}I", minifat[: len(minifat) // 4 * 4]))
    return {name: (start, size, context) for name, (start, size) in entries.items()}


def _chain(start: int, table: list) -> list:
    """Sector numbers of a chain, refusing loops and out-of-range links."""
    out = []
    current = start
    while current != _ENDOFCHAIN:
        if current >= len(table) or len(out) > len(table):
            raise _Damaged
        out.append(current)
        current = table[current]
        if current == _FREESECT:
            raise _Damaged
    return out


def _chain_bytes(data: bytes, start: int, sector: int, fat: list) -> bytes:
    if start in (_ENDOFCHAIN, _FREESECT):
        return b""
    return b"".join(data[(s + 1) * sector: (s + 2) * sector] for s in _chain(start, fat))


def _ole_read(data: bytes, start: int, size: int, context: dict) -> bytes:
    """A stream's bytes, from the regular or the mini stream."""
    if size < context["mini_cutoff"]:
        root_start, root_size = context["root"]
        mini_stream = _chain_bytes(data, root_start, context["sector"], context["fat"])
        mini = 64
        blob = b"".join(mini_stream[s * mini: (s + 1) * mini] for s in _chain(start, context["minifat"]))
    else:
        blob = _chain_bytes(data, start, context["sector"], context["fat"])
    if len(blob) < size:
        raise _Damaged
    return blob[:size]


# BIFF record types (BIFF8 and BIFF5; a few BIFF2-4 ones for completeness).
_BOF = (0x0809, 0x0409, 0x0209, 0x0009)
_EOF = 0x000A
_FILEPASS = 0x002F
_BOUNDSHEET = 0x0085
_CELL_FILLED = {0x0203, 0x0204, 0x027E, 0x00FD, 0x00D6, 0x0003, 0x0004, 0x0002, 0x0005, 0x0205}
_FORMULA = {0x0006, 0x0206, 0x0406}
_MULRK = 0x00BD


def _walk_biff(stream: bytes) -> XlsLayout:
    """One pass over the BIFF records: sheet names, visibility, extents and error cells.

    Substreams nest (a chart embedded in a worksheet has its own BOF ... EOF),
    so open substreams are kept on a stack; cells count only directly inside a
    worksheet listed by a BOUNDSHEET record of the workbook globals.
    """
    layout = XlsLayout()
    by_offset = {}
    stack = []  # one entry per open substream: the XlsSheet it belongs to, or None
    in_globals = False
    position = 0
    end = len(stream)
    while position + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, position)
        body_start = position + 4
        if body_start + length > end:
            if not stack and layout.sheets:
                break  # trailing bytes after the last substream
            raise _Damaged
        body = stream[body_start: body_start + length]
        current = stack[-1] if stack else None
        if kind in _BOF:
            top_level = not stack
            stack.append(by_offset.get(position) if top_level else None)
            in_globals = top_level and position == 0
        elif kind == _EOF:
            in_globals = False
            if stack:
                stack.pop()
        elif in_globals and len(stack) == 1:  # the workbook globals come first
            if kind == _FILEPASS:
                layout.encrypted = True
                return layout
            if kind == _BOUNDSHEET and length >= 8:
                offset, visibility, sheet_type = struct.unpack_from("<IBB", body, 0)
                if sheet_type == 0:  # worksheet (charts, macros and dialogs are never read)
                    sheet = XlsSheet(_biff_string(body[6:]), _VISIBILITY.get(visibility & 0x3, "hidden"))
                    layout.sheets.append(sheet)
                    by_offset[offset] = sheet
        elif current is not None and length >= 4:
            _biff_cell(kind, body, length, current)
        position = body_start + length
    return layout


def _biff_cell(kind: int, body: bytes, length: int, sheet: XlsSheet) -> None:
    """Record one cell record of a worksheet: its extent, and its error value if any."""
    if kind in _CELL_FILLED:
        row, column = struct.unpack_from("<HH", body, 0)
        sheet.extent.add(row + 1, column + 1)
        if kind in (0x0205, 0x0005) and length >= 8 and body[-1] == 1:
            sheet.errors[(row + 1, column_letters(column + 1))] = _BIFF_ERRORS.get(body[-2], "#error")
    elif kind in _FORMULA and length >= 14:
        row, column = struct.unpack_from("<HH", body, 0)
        sheet.extent.add(row + 1, column + 1)
        value = body[6:14]
        if value[6:8] == b"\xff\xff" and value[0] == 2:
            sheet.errors[(row + 1, column_letters(column + 1))] = _BIFF_ERRORS.get(value[2], "#error")
    elif kind == _MULRK and length >= 6:
        row, first = struct.unpack_from("<HH", body, 0)
        last = struct.unpack_from("<H", body, length - 2)[0]
        if last >= first:
            sheet.extent.filled += last - first
            sheet.extent.add(row + 1, last + 1)


def _biff_string(body: bytes) -> str:
    """A BOUNDSHEET name: BIFF8 ShortXLUnicodeString, or BIFF5 byte string."""
    if not body:
        return ""
    count = body[0]
    if len(body) >= 2 + count and body[1] in (0, 1) and len(body) in (2 + count, 2 + 2 * count):
        flags = body[1]
        raw = body[2: 2 + (2 * count if flags & 1 else count)]
        return raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
    return body[1: 1 + count].decode("cp1252", "replace")
