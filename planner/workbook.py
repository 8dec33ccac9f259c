"""Guarded reading of the input file into raw tables.

The format is chosen by content, not by extension: a zip archive is an
xlsx/xlsm workbook, an OLE2 container is a legacy .xls (or an encrypted,
password-protected workbook), other known formats (OpenDocument, .xlsb, PDF,
images, web pages) are named and refused, and anything else is tried as CSV
text (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252 or Mac
Roman, whichever reads as text; see :func:`decode_text`).

Before any parser sees a workbook, :mod:`planner.guard` checks it (archive
sizes and ratios, DTDs, cell references, the grid the bulk reader would
allocate, cells given twice, shared-text references that are no entry of the
table); values written with XML markup, which calamine would cut short, are
handed to it written plainly (:func:`_rewritten_archive`). Cells are then
read in bulk with python-calamine, only from the sheets the planner uses
(:data:`PLANNER_SHEETS`); hidden sheets with those names are refused, never
read silently. Formulas without a saved value and
error cells read as blank there, so they are collected separately to be named.

See docs/input_handling.md for every case and its behaviour.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import io
import itertools
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from planner import guard, plain_xlsx
from planner.errors import InputError, Problem, damage_in_words
from planner.numbers import clean_text, parse_numbers

if TYPE_CHECKING:  # pandas is imported late, where it is used
    import pandas as pd

guard.harden_xml()

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: How many rows from the top may hold a title before the header row.
HEADER_SEARCH_ROWS = 20
#: Sheets the planner reads (normalised names); every other sheet is never loaded.
PLANNER_SHEETS = ("creators", "budget", "niches", "tiers", "platforms", "scenarios", "custom_rules")
#: Largest CSV file read (it is read into memory whole).
MAX_CSV_BYTES = 256 * 1024 * 1024
#: Invisible characters dropped from headers and compared handles.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_DROP_INVISIBLE = {ord(c): None for c in INVISIBLE}
_DROP_BLANKS = {ord(c): None for c in INVISIBLE + "\u00a0"}
_BLANK_MARKS = frozenset(INVISIBLE + "\u00a0")

#: Other file formats recognised by their first bytes, with what to do instead.
_SIGNATURES = (
    (b"%PDF", "is a PDF document, not a spreadsheet; export the table from its source as .xlsx or .csv"),
    (b"\x89PNG", "is a PNG image, not a spreadsheet; give the .xlsx, .xls or .csv file"),
    (b"\xff\xd8\xff", "is a JPEG image, not a spreadsheet; give the .xlsx, .xls or .csv file"),
    (b"GIF8", "is a GIF image, not a spreadsheet; give the .xlsx, .xls or .csv file"),
    (b"{\\rtf", "is a rich-text document, not a spreadsheet; give the .xlsx, .xls or .csv file"),
)


class HeaderNotFoundError(InputError):
    """No row near the top of a sheet holds the expected column names."""


class SheetRows(list):
    """A sheet's rows (lists of raw cell values) plus its merged ranges.

    ``merged`` holds ((first row, first column), (last row, last column)),
    0-based, as the bulk reader reports them.
    """

    merged: tuple = ()


@dataclass
class RawSheet:
    """A sheet as read: cell values under normalised headers.

    Attributes
    ----------
    name : str
        The sheet name as written in the file.
    table : pandas.DataFrame
        Object columns named by :func:`normalise_header`; blank rows dropped.
    rows : pandas.Series
        Excel row number of each table row (1-based), for messages.
    headers : dict
        Normalised column name -> header as written.
    missing_values : dict
        (row, normalised column) -> (shown value, message) for cells with no
        readable value: formulas never calculated, error cells.
    problems : list of Problem
        What the reader refuses about the table's layout: merged cells in it,
        a column name given twice with different contents.
    """

    name: str
    table: pd.DataFrame
    rows: pd.Series
    headers: dict
    missing_values: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


@dataclass
class RawWorkbook:
    """Sheets by normalised name, plus what the reader noticed.

    ``sheets`` holds only the planner's sheets (:data:`PLANNER_SHEETS`) that
    are present and visible; ``names`` lists every sheet, hidden ones under
    ``"<key> (hidden)"`` so messages can mention them.
    """

    path: Path
    kind: str  # "xlsx", "xls" or "csv"
    sheets: dict  # normalised name -> SheetRows (raw cell values)
    names: dict  # normalised name -> sheet name as written
    unreadable_cells: dict = field(default_factory=dict)  # normalised name -> {(row, col): (shown, message)}
    encoding: str = ""  # CSV only: the text encoding used


@contextlib.contextmanager
def _collector_paused():
    """Build many small objects without Python's cyclic garbage collector walking them all.

    The collector runs after every few hundred new lists or dicts, and now and then walks
    every one alive; a full sheet makes a million row lists, and those walks cost more than
    the reading itself (1,048,575 rows from calamine: 5.7 s with them, 0.8 s without). The
    rows and tables built here hold no reference cycles, so pausing it leaves no garbage.

    Everything made meanwhile would still be walked once, by the first collection after the
    pause (another 0.9 s): it is moved to the oldest generation instead, where long-lived
    objects go, by freezing and unfreezing (two list splices), unless something else keeps
    objects frozen.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def normalise_header(text) -> str:
    """Header or sheet name in canonical form: 'Cost per Post ' -> 'cost_per_post'.

    NFKC folds non-breaking and full-width spaces; zero-width characters, soft
    hyphens and BOMs are dropped; line breaks count as spaces.
    """
    if text is None:
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    text = unicodedata.normalize("NFKC", str(text))
    text = text.translate(_DROP_INVISIBLE).casefold()
    text = re.sub(r"[\s\-/]+", "_", text.strip())
    text = re.sub(r"[^\w%]", "", text)
    return re.sub(r"_+", "_", text).strip("_")


def _wanted(name: str) -> bool:
    return normalise_header(name) in PLANNER_SHEETS


def read_input(path) -> RawWorkbook:
    """Read the planner's sheets of a workbook (or the one table of a CSV file) as raw rows.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    RawWorkbook

    Raises
    ------
    InputError
        Missing, unreadable, truncated, encrypted, hostile or unrecognised files.
    """
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise InputError(Problem(label, "file not found; check the path"))
    if path.is_dir():
        raise InputError(Problem(label, "is a folder, not a workbook"))
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        raise InputError(Problem(label, f"cannot be read ({exc.strerror})")) from None
    if not head:
        raise InputError(Problem(label, "the file is empty; save the workbook again"))
    if head.startswith(_ZIP_MAGIC):
        return _read_xlsx(path)
    if head.startswith(_OLE_MAGIC):
        return _read_ole(path)
    for magic, message in _SIGNATURES:
        if head.startswith(magic):
            raise InputError(Problem(label, message))
    return _read_csv(path)


def _refuse_hidden(label: str, hidden: list) -> None:
    """Refuse hidden sheets that carry a planner sheet's name."""
    clashing = [name for name in hidden if _wanted(name)]
    if clashing:
        names = ", ".join(f"'{n}'" for n in clashing)
        raise InputError(
            Problem(
                label,
                f"the sheet(s) {names} are hidden; the planner never reads hidden sheets silently. Unhide them "
                "(right-click a sheet tab > Unhide) if they are the data to plan, or delete them",
            )
        )


def _sheet_names(label: str, listed) -> tuple:
    """Every sheet's name by normalised name, and the visible sheets to read (key -> name).

    ``listed``: (name, visible) for each sheet in workbook order. Hidden sheets are named
    ``"<key> (hidden)"``; two visible planner sheets named alike are refused.
    """
    names, visible = {}, {}
    for name, shown in listed:
        key = normalise_header(name)
        if not shown:
            names[f"{key} (hidden)"] = f"{name} (hidden)"
            continue
        if key in names and key in PLANNER_SHEETS:
            raise InputError(Problem(label, f"two sheets are both named like '{name}'; rename one"))
        names.setdefault(key, name)
        if key in PLANNER_SHEETS:
            visible.setdefault(key, name)
    return names, visible


def _calamine_sheets(path: Path, label: str, kind: str, ready=None, source=None, broken=None) -> tuple:
    """The planner's visible sheets' rows (with merged ranges) via calamine, plus every sheet's name.

    Sheets in ``ready`` (normalised name -> rows, already read in bulk) are not loaded
    again. calamine picks its reader by the file's extension when it knows it, so a
    file whose extension does not match its content (an .xlsx saved as .xls)
    is handed over as bytes, which calamine sniffs. ``source``, when given, is the
    workbook to read instead of the file (its values rewritten plainly, see
    :func:`_rewritten_archive`). ``broken(sheet name)``, when given, is asked for the
    refusal that names the cell when calamine finds a shared-text reference past the
    end of the table (an :class:`InputError`, or None for calamine's own words).
    """
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    suffixes = {"xlsx": (".xlsx", ".xlsm"), "xls": (".xls",)}[kind]
    sheets = dict(ready or {})
    name = None  # the sheet being read, for a refusal
    try:
        if source is not None:
            book = CalamineWorkbook.from_filelike(source)
        elif path.suffix.lower() in suffixes:
            book = CalamineWorkbook.from_path(str(path))
        else:
            with open(path, "rb") as handle:
                book = CalamineWorkbook.from_filelike(handle)
        listed = [(meta.name, meta.visible == SheetVisibleEnum.Visible) for meta in book.sheets_metadata]
        hidden = [name for name, shown in listed if not shown]
        names, visible = _sheet_names(label, listed)
        for key, name in visible.items():
            if key in sheets:
                continue
            sheet = book.get_sheet_by_name(name)
            with _collector_paused():
                rows = SheetRows(sheet.to_python(skip_empty_area=False))
            rows.merged = tuple(sheet.merged_cell_ranges or ())
            sheets[key] = rows
    except InputError:
        raise
    except BaseException as exc:  # calamine's own errors; Rust panics arrive as BaseException
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        # A shared-text reference past the table's end: calamine 0.5+ says so; 0.4 panics on it.
        suspect = "string index" in str(exc) or type(exc).__name__ == "PanicException"
        located = broken(name) if broken is not None and name is not None and suspect else None
        raise located or InputError(
            Problem(label, f"the workbook cannot be read: {damage_in_words(exc)}; open it in Excel and save it "
                           "again (or export it again from where it came from)")
        ) from None
    _refuse_hidden(label, hidden)
    return sheets, names


def _read_xlsx(path: Path) -> RawWorkbook:
    """Read an xlsx/xlsm archive after the guard has checked it."""
    label = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if "xl/workbook.xml" not in members:
                raise InputError(Problem(label, _not_a_workbook(archive, members)))
            layout = guard.check_xlsx(archive, path, label, _wanted, _collector)
            _refuse_hidden(label, [s.name for s in layout.sheets if s.state != "visible"])
            members_to_scan = {
                s.member: s.name
                for s in layout.sheets
                if s.member in layout.extents and layout.extents[s.member].has_formulas
            }
            formulas = _unreadable_cells(archive, members_to_scan)
            names, visible, ready = _bulk_sheets(archive, path, label, layout)
            rewritten = {member: extent.rewrites for member, extent in layout.extents.items() if extent.rewrites}
            source = _rewritten_archive(archive, path, label, rewritten) if rewritten else None
    except zipfile.BadZipFile:
        raise InputError(
            Problem(label, "the workbook is truncated or damaged (not a complete xlsx archive); save it again")
        ) from None
    members = {s.name: s.member for s in layout.sheets}
    ready = {key: rows for key, rows in ready.items() if members.get(visible.get(key)) not in rewritten}
    if names is not None and set(ready) == set(visible):
        return RawWorkbook(path, "xlsx", ready, names, formulas)  # calamine never opened
    sheets, names = _calamine_sheets(path, label, "xlsx", ready, source,
                                     lambda name: _broken_text(path, label, members.get(name), name, source))
    return RawWorkbook(path, "xlsx", sheets, names, formulas)


def _rewritten_archive(archive: zipfile.ZipFile, path: Path, label: str, rewritten: dict) -> io.BytesIO:
    """The workbook again, in memory, with the values the guard found written with XML markup written plainly.

    calamine reads a value's text only up to its first character reference, entity or CDATA
    section (``<v>5&#48;00</v>`` would read as 5); the guard recorded each such value as an
    XML parser reads it (:attr:`planner.guard.SheetExtent.rewrites`), and calamine reads
    this copy instead. Parts are stored unpacked, within the guard's size limits.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for info in archive.infolist():
            data = guard.read_member(path, info, label)
            if info.filename in rewritten:
                pieces, done = [], 0
                for start, end, text in sorted(set(rewritten[info.filename])):
                    pieces += [data[done:start], text]
                    done = end
                data = b"".join(pieces) + data[done:]
            copy.writestr(info.filename, data)
    out.seek(0)
    return out


def _broken_text(path: Path, label: str, member, sheet: str, source=None):
    """The refusal naming the first cell of ``sheet`` that refers past the end of the shared-text table; or None.

    Asked only when calamine has refused the workbook for such a reference (the rare
    path: the sheet is read once more).
    """
    if member is None:
        return None
    with zipfile.ZipFile(source if source is not None else path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        found = [info for name, info in infos.items() if name.lower() == "xl/sharedstrings.xml"]
        if member not in infos or len(found) != 1:
            return None
        read = (lambda info: archive.read(info)) if source is not None else (
            lambda info: guard.read_member(path, info, label))
        strings = read(found[0])
        try:
            count = len(plain_xlsx.shared_strings(strings))
        except plain_xlsx.NotPlain:
            count = len(re.findall(rb"<(?:[A-Za-z_][\w.\-]*:)?si[\s/>]", strings))
        cell = guard.find_broken_text(read(infos[member]), count)
    if cell is None:
        return None
    row, column, written = cell
    return InputError(guard.broken_text_problem(sheet, row, column, written))


def _collector(sheet: guard.XlsxSheet, info: zipfile.ZipInfo):
    """A bulk cell collector for a big visible sheet the guard scans (hidden ones are refused unread).

    Sheets below :data:`planner.guard.BULK_SCAN_BYTES` are collected after the guard has
    accepted the file (:func:`_bulk_sheets`), so that a refused file never imports numpy.
    """
    return plain_xlsx.PlainSheet() if sheet.state == "visible" and info.file_size >= guard.BULK_SCAN_BYTES else None


def _bulk_sheets(archive: zipfile.ZipFile, path: Path, label: str, layout: guard.XlsxLayout) -> tuple:
    """The planner's sheets whose cells the guard's scan collected, as calamine would read them.

    Returns (every sheet's name, the visible planner sheets by key, the rows of those read
    in bulk by key); (None, {}, {}) when the workbook's parts are not laid out the way
    calamine is known to read them, so calamine reads everything. A sheet the bulk reader
    does not handle (:class:`planner.plain_xlsx.NotPlain`) is left for calamine.
    """
    if not _plain_workbook(archive, layout):
        return None, {}, {}
    names, visible = _sheet_names(label, [(s.name, s.state == "visible") for s in layout.sheets])
    members = {s.name: s.member for s in layout.sheets}
    parts = {}

    def part(name: str):
        """A part's bytes, found by name in any case as calamine finds it; None when absent."""
        if name not in parts:
            found = [i for i in archive.infolist() if i.filename.encode().lower() == name.encode()]
            if len(found) > 1:
                raise plain_xlsx.NotPlain
            parts[name] = guard.read_member(path, found[0], label) if found else None
        return parts[name]

    ready = {}
    for key, name in visible.items():
        member = members[name]
        cells = layout.cells.get(member)
        if cells is None and member in layout.extents:  # a small sheet: collected now, in one region
            cells = plain_xlsx.PlainSheet()
            data = guard.read_member(path, archive.getinfo(member), label)
            cells.feed(data, len(data))
        if cells is None or not cells.active:
            continue
        try:
            styles = part("xl/styles.xml")
            safe = plain_xlsx.number_styles(styles) if styles is not None else (lambda index: True)
            strings = part("xl/sharedstrings.xml") if cells.texts else None
            with _collector_paused():
                rows = SheetRows(cells.rows(plain_xlsx.shared_strings(strings) if strings else [], safe))
            rows.merged = cells.merged()
        except plain_xlsx.BrokenText as broken:
            raise InputError(guard.broken_text_problem(name, broken.row, column_letter(broken.column - 1),
                                                       str(broken.index))) from None
        except plain_xlsx.NotPlain:
            cells.stop(keep_places=False)
            continue
        ready[key] = rows
    return names, visible, ready


#: Folders calamine accepts a sheet in (it refuses a workbook listing a sheet elsewhere).
_SHEET_FOLDERS = ("worksheets", "chartsheets", "dialogsheets")


def _plain_workbook(archive: zipfile.ZipFile, layout: guard.XlsxLayout) -> bool:
    """True when calamine lists the same sheets, states and parts as the guard found.

    Every ``<sheet>`` has a name, a known ``r:id`` and a state calamine knows; its part's
    path, resolved as calamine resolves it, is the part the guard scanned, in a folder
    calamine reads sheets from, and no other part has that name in another case.
    """
    names = [info.filename.encode().lower() for info in archive.infolist()]
    if layout.unlisted or b"xl/_rels/workbook.xml.rels" not in names:
        return False
    workbook = archive.read("xl/workbook.xml")  # its size and content already checked by the guard
    tags = re.findall(rb"<sheet[\s/>]", workbook)
    with_id = re.findall(rb'<sheet\s[^>]*\sr:id="', workbook)
    if not len(tags) == len(with_id) == len(layout.sheets):
        return False
    for sheet in layout.sheets:
        target = sheet.target
        member = target[1:] if target.startswith("/xl/") else target if target.startswith("xl/") else f"xl/{target}"
        if sheet.state not in ("visible", "hidden", "veryHidden") or member != sheet.member:
            return False
        if (member.split("/") + [""])[1] not in _SHEET_FOLDERS:
            return False
        if names.count(member.encode().lower()) != 1:
            return False
    return True


def _not_a_workbook(archive: zipfile.ZipFile, members: set) -> str:
    """Why a zip archive is not an xlsx workbook, in words."""
    if "EncryptedPackage" in members:
        return "the workbook is password-protected; save a copy without a password"
    if "xl/workbook.bin" in members:
        return "this is an Excel binary workbook (.xlsb), which the planner does not read; save it as .xlsx"
    if "mimetype" in members:
        try:
            info = archive.getinfo("mimetype")
            kind = archive.read("mimetype")[:100] if info.file_size <= 100 else b""
        except (KeyError, zipfile.BadZipFile, RuntimeError):
            kind = b""
        if b"opendocument.spreadsheet" in kind:
            return "this is an OpenDocument spreadsheet (.ods); save it as .xlsx (File > Save As) and try again"
    if "word/document.xml" in members:
        return "this is a Word document, not a spreadsheet; give the .xlsx, .xls or .csv file"
    return "this zip file is not an Excel workbook (no xl/workbook.xml)"


def _read_ole(path: Path) -> RawWorkbook:
    """Read a legacy .xls file after the guard has walked it; encrypted files are refused plainly."""
    label = str(path)
    layout = guard.check_xls(path, label, lambda name: True)  # calamine loads every sheet of an .xls at once
    if layout.encrypted:
        raise InputError(Problem(label, "the workbook is password-protected; save a copy without a password"))
    _refuse_hidden(label, [s.name for s in layout.sheets if s.visible != "visible"])
    sheets, names = _calamine_sheets(path, label, "xls")
    unreadable = {}
    for sheet in layout.sheets:
        if sheet.errors and _wanted(sheet.name):
            unreadable[normalise_header(sheet.name)] = {
                key: (shown, f"the cell shows the error {shown}; fix the formula or type the value")
                for key, shown in sheet.errors.items()
            }
    return RawWorkbook(path, "xls", sheets, names, unreadable)


def decode_text(data: bytes, label: str) -> tuple:
    """Bytes of a text file -> (text, encoding name).

    UTF-8 (with or without BOM) and UTF-16 with a BOM are exact. Otherwise
    Windows-1252 and Mac Roman are both tried and the one whose non-ASCII
    characters read as letters inside words wins (Mac Roman's 0x96 is 'ñ',
    Windows-1252's is a dash). Text that reads cleanly in neither is refused.

    Raises
    ------
    InputError
    """
    marks = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
    for bom, encoding in marks:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise InputError(
                    Problem(label, f"starts with a {encoding.upper()} marker but is not {encoding.upper()} text; "
                            "save it again as 'CSV UTF-8'")
                ) from None
    sample = data[:65536]
    half = len(sample) // 2
    if len(sample) >= 4 and sample[1::2].count(0) > 0.9 * half:
        encoding = "utf-16-le"
    elif len(sample) >= 4 and sample[0::2].count(0) > 0.9 * half:
        encoding = "utf-16-be"
    else:
        encoding = None
    if encoding:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    scored = []
    for encoding in ("cp1252", "mac_roman"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        scored.append((_text_score(text), -len(scored), encoding, text))
    best = max(scored) if scored else None
    if best is None or best[0] < 0:
        raise InputError(
            Problem(
                label,
                "is not UTF-8 text, and read as Windows-1252 or Mac Roman text it does not look like words; "
                "save it again as 'CSV UTF-8 (comma delimited)' and try again",
            )
        )
    return best[3], best[2]


def _text_score(text: str) -> int:
    """How much the non-ASCII characters of a decoding look like real text (higher is better).

    Western names and words carry an accented letter or two among ASCII
    letters ('Zoë', 'Magaña', 'don’t'). A wrong guess shows symbols inside
    words ('Maga–a'), capitals after small letters ('cafŽ'), or runs of three
    or more non-ASCII characters (Cyrillic or CJK text read as Latin-1:
    'Èâàí', 'ÍõÐ¡Ã÷'), which count against it.
    """
    score = 0
    for run in re.finditer(r"[^\x00-\x7f]+", text):
        if len(run.group()) >= 3:
            score -= 3 * len(run.group())
            continue
        for i in range(run.start(), run.end()):
            char = text[i]
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            inside_word = before.isalpha() and after.isalpha()
            if char.isalpha():
                score += -1 if char.isupper() and before.islower() else 1
            elif char in "\u2019\u2018" and inside_word:
                score += 1  # don’t
            elif unicodedata.category(char)[0] == "C":
                score -= 2
            elif inside_word:
                score -= 1  # 'Maga–a': a symbol inside a word
    return score


def _read_csv(path: Path) -> RawWorkbook:
    """Read a CSV export as the Creators sheet."""
    label = str(path)
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InputError(Problem(label, f"the CSV file is {size / 2**20:,.0f} MiB; the planner reads CSV files up to "
                                 f"{MAX_CSV_BYTES // 2**20} MiB"))
    data = path.read_bytes()
    sample = data[:65536]
    text_start = sample.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text_start.startswith((b"<!doctype html", b"<html", b"<table")):
        raise InputError(Problem(label, "is a web page (HTML) saved with a spreadsheet name; open it in Excel and "
                                 "save it as .xlsx, or export the table as CSV"))
    if text_start.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in sample:
        raise InputError(Problem(label, "is an 'XML Spreadsheet 2003' file; open it in Excel and save it as .xlsx"))
    utf16 = sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(sample)
    if not utf16 and _binary(sample):
        raise InputError(Problem(label, "this is neither an Excel workbook nor a CSV text file"))
    text, encoding = decode_text(data, label)
    sample_text = text[:65536]
    if utf16 and _binary(sample_text.encode("utf-8", "replace")):
        raise InputError(Problem(label, "this is neither an Excel workbook nor a CSV text file"))
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = _delimiter(sample_text)
    with _collector_paused():
        rows = SheetRows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return RawWorkbook(path, "csv", {"creators": rows}, {"creators": path.name}, encoding=encoding)


def _looks_utf16(sample: bytes) -> bool:
    """UTF-16 text without a BOM: every other byte is zero."""
    half = len(sample) // 2
    return len(sample) >= 4 and (sample[1::2].count(0) > 0.9 * half or sample[0::2].count(0) > 0.9 * half)


def _binary(sample: bytes) -> bool:
    """NUL bytes, or more than 1% control characters: not text."""
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 13))
    return b"\x00" in sample or controls > len(sample) // 100


def _delimiter(sample: str) -> str:
    """Comma, semicolon or tab: Excel's 'sep=;' line first, then the csv sniffer."""
    first = sample.split("\n", 1)[0].strip().strip('"')
    if len(first) == 5 and first.lower().startswith("sep=") and first[4] in ",;\t|":
        return first[4]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_SAVED_VALUE = re.compile(rb"<v>[^<]+</v>|<is>")
_EMPTY_VALUE = re.compile(rb"<v\s*/>|<v></v>")
_FORMULA = re.compile(rb"<f\b[^>]*?(?:/>|>(.*?)</f>)", re.S)


def _unreadable_cells(archive: zipfile.ZipFile, members: dict) -> dict:
    """Cells whose value cannot be read, per sheet (normalised name).

    Parameters
    ----------
    archive : zipfile.ZipFile
    members : dict
        Archive member -> sheet name, for the sheets the guard saw formulas or
        error cells in (sizes already checked by the guard).

    Returns {sheet: {(row, column letter): (shown value, message)}} for formulas
    with no saved value and for error cells (#N/A, #DIV/0!, ...), which the
    bulk reader would otherwise pass on as blanks.
    """
    found = {}
    for member, name in members.items():
        try:
            xml = archive.read(member)
        except KeyError:
            continue
        cells = {}
        for match in _CELL.finditer(xml):
            attributes, body = match.group(1), match.group(2) or b""
            ref = _REF.search(attributes)
            if ref is None:
                continue
            key = (int(ref.group(2)), ref.group(1).decode())
            if b't="e"' in attributes:
                value = _SAVED_VALUE.search(body)
                shown = value.group(0)[3:-4].decode("utf-8", "replace") if value else "#error"
                cells[key] = (shown, f"the cell shows the error {shown}; fix the formula or type the value")
                continue
            formula = _FORMULA.search(body)
            if formula is None or _SAVED_VALUE.search(body):
                continue
            if b't="str"' in attributes and _EMPTY_VALUE.search(body):
                continue  # Excel's saved empty-text result, e.g. =IF(..., "", ...)
            text = "=" + (formula.group(1) or b"").decode("utf-8", "replace")
            cells[key] = (text, "formula has no saved value; open the file in Excel and save it (or type the value)")
        if cells:
            found[normalise_header(name)] = cells
    return found


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def table_from_rows(rows: list, sheet: str, required: tuple, synonyms: dict, formulas: dict,
                    short_rows: bool = False) -> RawSheet:
    """Find the header row and turn the rows beneath it into a table.

    The header is the first row within :data:`HEADER_SEARCH_ROWS` holding at
    least two of the required columns (one when only one is required); failing
    that, the first row holding one of them, so that the missing ones can be
    named. A canonical column name beats its synonyms (``creator`` is used
    before ``handle``). A column name given twice (or two synonyms of one
    name) is accepted only when both columns hold the same values, numbers
    compared as numbers (``48.5M`` = ``48500000``); otherwise it is a problem.
    Merged cells touching the header row or the rows below it, in a column
    with a header, are problems too: a merged range keeps its value in its
    first cell only.

    Parameters
    ----------
    rows : list of list
        Raw cell values (a :class:`SheetRows` carries merged ranges).
    sheet : str
        The sheet's written name, for messages.
    required : tuple of str
        Normalised column names that identify the header row.
    synonyms : dict
        Alternative normalised header -> canonical name, used when the
        canonical name itself is absent.
    formulas : dict
        {(row, column letter): (shown value, message)} for cells with no readable value.

    Returns
    -------
    RawSheet

    Raises
    ------
    InputError
        When no row within the first :data:`HEADER_SEARCH_ROWS` holds a required column.
    """
    import numpy as np  # imported late: a refused file never pays for numpy or pandas
    import pandas as pd

    header_index = _header_row(rows, required, synonyms)
    if header_index is None:
        wanted = ", ".join(required)
        raise HeaderNotFoundError(
            Problem(sheet, f"no header row with the columns {wanted} in the first {HEADER_SEARCH_ROWS} rows; add them")
        )
    written = list(rows[header_index])
    width = len(written)
    below = rows[header_index + 1:]
    cut = []
    with _collector_paused():
        if not set(map(len, below)) <= {width}:  # CSV rows may be shorter or longer than the header
            if short_rows:
                # A CSV row with fewer fields than the header's named columns was cut off (a file
                # truncated mid-row): its missing fields must not quietly become defaults.
                needed = max((i + 1 for i, cell in enumerate(written) if not _is_blank(cell)), default=0)
                cut = [(header_index + 2 + k, len(r), needed) for k, r in enumerate(below)
                       if len(r) < needed and not all(_is_blank(c) for c in r)]
            below = [list(r[:width]) + [""] * (width - len(r)) for r in below]
        # One 2-D array of the cells, filled in C, so every later step works on whole columns.
        grid = np.fromiter(itertools.chain.from_iterable(below), dtype=object, count=len(below) * width)
        grid = grid.reshape(len(below), width)
        numbers = np.arange(header_index + 2, header_index + 2 + len(grid))
        excel_rows = pd.Series(numbers)
        columns, problems = _columns(written, grid, excel_rows, sheet, synonyms, header_index + 1)
        headers, letters = {}, {}
        for position, (name, cell) in enumerate(zip(columns, written)):
            headers[name] = _shown(cell)  # as written, on one line (headers may hold line breaks)
            letters[name] = column_letter(position)
        missing = {}
        for (row, letter), formula in formulas.items():
            for name, col_letter in letters.items():
                if col_letter == letter:
                    missing[(row, name)] = formula
        formula_rows = [row for row, _ in missing]
        keep = ~_blank_rows(grid) | np.isin(numbers, formula_rows)
        if not keep.all():  # blank rows are dropped, unless they hold a formula to report
            grid = grid[keep]
            excel_rows = excel_rows[keep].reset_index(drop=True)
        table = pd.DataFrame(grid, columns=columns, dtype=object, copy=False)
    headed = [position for position, cell in enumerate(written) if not _is_blank(cell)]
    problems += merged_cell_problems(rows, sheet, header_index, headed, written)
    problems += [Problem(sheet, f"has {fields} fields where the header names {needed} columns: the row looks cut "
                                "off (a file saved or copied only in part?); complete it or export the file again", row)
                 for row, fields, needed in cut]
    return RawSheet(sheet, table, excel_rows, headers, missing, problems)


def first_row_note(rows) -> str:
    """' (its first row reads: a, b, c)' when the first non-blank row looks like a header; else ''."""
    for row in rows[:HEADER_SEARCH_ROWS]:
        cells = [_shown(c) for c in row if not _is_blank(c)]
        if len(cells) >= 2:
            shown = ", ".join(cells[:15]) + (", ..." if len(cells) > 15 else "")
            return f" (its first row reads: {shown})"
        if cells:
            return ""
    return ""


def _header_row(rows, required, synonyms):
    """Index of the header row, or None."""
    fallback = None
    wanted = set(required)
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        hits = len({_canonical(normalise_header(c), synonyms) for c in row} & wanted)
        if hits >= min(2, len(required)):
            return index
        if hits and fallback is None:
            fallback = index
    return fallback


def _columns(written, grid, excel_rows, sheet, synonyms, header_row):
    """Column names for each position, and problems with repeated names."""
    normalised = [normalise_header(c) for c in written]
    positions = {}
    for position, name in enumerate(normalised):
        if name:
            positions.setdefault(_canonical(name, synonyms), []).append(position)
    columns = [f"_column_{p}" for p in range(len(written))]  # blank or repeated header: data kept, never guessed
    problems = []
    for name, where in positions.items():
        exact = [p for p in where if normalised[p] == name]
        first = exact[0] if exact else where[0]
        columns[first] = name
        for other in where:
            if other == first or (exact and normalised[other] != name):
                continue  # the canonical name wins over its synonyms; the synonym column stays an extra column
            difference = _first_difference(grid[:, first], grid[:, other])
            if difference is None:
                continue
            index, count = difference
            a, b = grid[index, first], grid[index, other]
            more = f" (and {count - 1} more row(s))" if count > 1 else ""
            problems.append(
                Problem(
                    sheet,
                    f"columns {column_letter(first)} ('{_shown(written[first])}') and {column_letter(other)} "
                    f"('{_shown(written[other])}') both give {name} but differ on this row "
                    f"({column_letter(first)}: {a!r}, {column_letter(other)}: {b!r}){more}; "
                    "delete one of them or rename it",
                    int(excel_rows[index]),
                    _shown(written[first]),
                )
            )
    return columns, problems


def _shown(cell) -> str:
    """A header as written, on one line."""
    return " ".join(str(cell).split()) if cell is not None else ""


def _first_difference(left, right):
    """(first row index, number of rows) where two columns of cells differ; None when they agree.

    Blank equals blank, text is compared trimmed, numbers as numbers (so
    ``48.5M`` equals ``48500000`` and ``1,200`` equals ``1200``).
    """
    import numpy as np

    if not len(left):
        return None
    text_left, text_right = clean_text(left), clean_text(right)
    same = text_left == text_right
    if not same.all():
        pl, pr = parse_numbers(left), parse_numbers(right)
        numeric = (pl.bad == "") & (pr.bad == "") & ~pl.blank & ~pr.blank & (pl.percent == pr.percent)
        with np.errstate(invalid="ignore"):
            close = np.isclose(pl.values, pr.values, rtol=1e-9, atol=0.0)
        same = same | (pl.blank & pr.blank) | (numeric & close)
    differ = np.flatnonzero(~same)
    return (int(differ[0]), len(differ)) if len(differ) else None


def merged_cell_problems(rows, sheet: str, first_row: int, columns=None, written=None) -> list:
    """One problem per merged range that reaches row ``first_row`` (0-based) or below.

    Parameters
    ----------
    rows : SheetRows or list
        Rows with a ``merged`` attribute (a plain list has none).
    sheet : str
    first_row : int
        0-based index of the header row; ranges entirely above it (titles) are fine.
    columns : list of int, optional
        0-based columns that matter (those with a header); all when omitted.
    written : list, optional
        The header row as written, to name the column.
    """
    problems = []
    for (top, left), (bottom, right) in getattr(rows, "merged", ()) or ():
        if bottom < first_row or top == bottom and left == right:
            continue
        if columns is not None and not any(left <= c <= right for c in columns):
            continue
        ref = f"{column_letter(left)}{top + 1}:{column_letter(right)}{bottom + 1}"
        header = _shown(written[left]) if written is not None and left < len(written) else None
        problems.append(
            Problem(
                sheet,
                f"cells {ref} are merged, so only {column_letter(left)}{top + 1} holds a value and the others read "
                "as blank; unmerge them (Home > Merge & Center > Unmerge Cells) and type the value in every cell",
                top + 1,
                header or None,
            )
        )
    return problems


def _canonical(name: str, synonyms: dict) -> str:
    """Map a synonym to its canonical column name."""
    return synonyms.get(name, name)


def _is_blank(value) -> bool:
    """True for empty cells and whitespace-only text (non-breaking and zero-width spaces too)."""
    if value is None:
        return True
    if isinstance(value, str):
        text = value.strip()
        # Decided by the first visible character, without translating the whole text, unless it is invisible.
        return not text or (text[0] in _BLANK_MARKS and not text.translate(_DROP_BLANKS).strip())
    if isinstance(value, float):
        return value != value  # NaN
    return False


def _blank_rows(grid):
    """Which rows of a 2-D object array hold only blank cells (see :func:`_is_blank`).

    A column of numbers only settles its rows in one vectorised step (a number
    is blank only when NaN), and in most sheets the first such column shows
    every row holds a value. Rows still undecided are then tested cell by cell,
    one column at a time. Which columns are tried first is only a guess at
    speed: either way gives the same rows.
    """
    import numpy as np
    import pandas as pd

    blank = np.ones(len(grid), bool)
    deferred = []
    for position in range(grid.shape[1]):
        undecided = np.flatnonzero(blank)
        if not len(undecided):
            return blank
        if type(grid[undecided[0], position]) is not float:
            deferred.append(position)
            continue
        cells = grid[:, position] if len(undecided) == len(grid) else grid[undecided, position]
        if pd.api.types.infer_dtype(cells, skipna=False) == "floating":
            blank[undecided] = np.isnan(cells.astype(float))
        else:
            deferred.append(position)
    for position in deferred:
        undecided = np.flatnonzero(blank)
        if not len(undecided):
            break
        blank[undecided] = np.frompyfunc(_is_blank, 1, 1)(grid[undecided, position]).astype(bool)
    return blank
