"""Guarded reading of the input file into raw tables.

The format is chosen by content, not by extension: a zip archive is an
xlsx/xlsm workbook, an OLE2 container is a legacy .xls (or an encrypted,
password-protected workbook), anything else is tried as CSV text. Cells are
read in bulk with python-calamine. Formulas without a saved value read as
blank there, so the sheet XML is scanned for them to name each one.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from planner.errors import InputError, Problem

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: How many rows from the top may hold a title before the header row.
HEADER_SEARCH_ROWS = 20


class HeaderNotFoundError(InputError):
    """No row near the top of a sheet holds the expected column names."""


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
    """

    name: str
    table: pd.DataFrame
    rows: pd.Series
    headers: dict
    missing_values: dict = field(default_factory=dict)


@dataclass
class RawWorkbook:
    """Sheets by normalised name, plus what the reader noticed."""

    path: Path
    kind: str  # "xlsx", "xls" or "csv"
    sheets: dict  # normalised name -> list of rows (raw cell values)
    names: dict  # normalised name -> sheet name as written
    unreadable_cells: dict = field(default_factory=dict)  # normalised name -> {(row, col): (shown, message)}


def normalise_header(text) -> str:
    """Header or sheet name in canonical form: 'Cost per Post ' -> 'cost_per_post'."""
    if text is None:
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    text = unicodedata.normalize("NFKC", str(text)).replace("\u200b", "").casefold()
    text = re.sub(r"[\s\-/]+", "_", text.strip())
    text = re.sub(r"[^\w%]", "", text)
    return re.sub(r"_+", "_", text).strip("_")


def read_input(path) -> RawWorkbook:
    """Read every sheet of a workbook (or the one table of a CSV file) as raw rows.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    RawWorkbook

    Raises
    ------
    InputError
        Missing, unreadable, truncated, encrypted or unrecognised files.
    """
    path = Path(path)
    label = str(path)
    if not path.exists():
        raise InputError(Problem(label, "file not found; check the path"))
    if path.is_dir():
        raise InputError(Problem(label, "is a folder, not a workbook"))
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(Problem(label, f"cannot be read ({exc.strerror})")) from None
    if not head:
        raise InputError(Problem(label, "the file is empty; save the workbook again"))
    if head.startswith(_ZIP_MAGIC):
        return _read_xlsx(path)
    if head == _OLE_MAGIC:
        return _read_ole(path)
    return _read_csv(path)


def _calamine_sheets(path: Path, label: str) -> tuple:
    """All visible sheets' rows via calamine, with their written names."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheets, names = {}, {}
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            key = normalise_header(name)
            if key in sheets:
                raise InputError(Problem(label, f"two sheets are both named like '{name}'; rename one"))
            sheets[key] = rows
            names[key] = name
    except InputError:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise InputError(
            Problem(label, f"the workbook cannot be read ({type(exc).__name__}: {exc}); it may be truncated or damaged")
        ) from None
    return sheets, names


def _read_xlsx(path: Path) -> RawWorkbook:
    """Read an xlsx/xlsm archive after checking that it is whole."""
    label = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if "xl/workbook.xml" not in members:
                if "EncryptedPackage" in members:
                    raise InputError(Problem(label, "the workbook is password-protected; save a copy without a password"))
                raise InputError(Problem(label, "this zip file is not an Excel workbook (no xl/workbook.xml)"))
            formulas = _unreadable_cells(archive)
    except zipfile.BadZipFile:
        raise InputError(
            Problem(label, "the workbook is truncated or damaged (not a complete xlsx archive); save it again")
        ) from None
    sheets, names = _calamine_sheets(path, label)
    return RawWorkbook(path, "xlsx", sheets, names, formulas)


def _read_ole(path: Path) -> RawWorkbook:
    """Read a legacy .xls file; an OLE container holding an encrypted xlsx is refused plainly."""
    label = str(path)
    with open(path, "rb") as handle:
        blob = handle.read(1 << 20)
    if "EncryptedPackage".encode("utf-16-le") in blob:
        raise InputError(Problem(label, "the workbook is password-protected; save a copy without a password"))
    sheets, names = _calamine_sheets(path, label)
    return RawWorkbook(path, "xls", sheets, names)


def _read_csv(path: Path) -> RawWorkbook:
    """Read a CSV export as the Creators sheet (UTF-8 with or without BOM, else cp1252/Mac Roman)."""
    label = str(path)
    data = path.read_bytes()
    sample = data[:65536]
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 13))
    if b"\x00" in sample or controls > len(sample) // 100:
        raise InputError(Problem(label, "this is neither an Excel workbook nor a CSV text file"))
    for encoding in ("utf-8-sig", "cp1252", "mac_roman"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    return RawWorkbook(path, "csv", {"creators": rows}, {"creators": path.name})


_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_SAVED_VALUE = re.compile(rb"<v>[^<]+</v>|<is>")
_EMPTY_VALUE = re.compile(rb"<v\s*/>|<v></v>")
_FORMULA = re.compile(rb"<f\b[^>]*?(?:/>|>(.*?)</f>)", re.S)


def _unreadable_cells(archive: zipfile.ZipFile) -> dict:
    """Cells whose value cannot be read, per sheet (normalised name).

    Returns {sheet: {(row, column letter): (shown value, message)}} for formulas
    with no saved value and for error cells (#N/A, #DIV/0!, ...), which the
    bulk reader would otherwise pass on as blanks.
    """
    sheet_paths = _sheet_paths(archive)
    found = {}
    for name, member in sheet_paths.items():
        try:
            xml = archive.read(member)
        except KeyError:
            continue
        if b"<f" not in xml and b't="e"' not in xml:
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


def _sheet_paths(archive: zipfile.ZipFile) -> dict:
    """Sheet name -> archive member, from workbook.xml and its relationships."""
    workbook = archive.read("xl/workbook.xml")
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        rels = b""
    targets = {}
    for rel in re.finditer(rb"<Relationship\b[^>]*>", rels):
        tag = rel.group(0)
        rid = re.search(rb'\bId="([^"]+)"', tag)
        target = re.search(rb'\bTarget="([^"]+)"', tag)
        if rid and target:
            value = target.group(1).decode()
            member = value.lstrip("/") if value.startswith("/") else str(PurePosixPath("xl") / value)
            targets[rid.group(1).decode()] = member
    paths = {}
    for sheet in re.finditer(rb"<sheet\b[^>]*>", workbook):
        tag = sheet.group(0)
        name = re.search(rb'\bname="([^"]*)"', tag)
        rid = re.search(rb'\br:id="([^"]+)"', tag) or re.search(rb'\b\w+:id="([^"]+)"', tag)
        if name and rid and rid.group(1).decode() in targets:
            paths[_xml_unescape(name.group(1).decode("utf-8"))] = targets[rid.group(1).decode()]
    return paths


def _xml_unescape(text: str) -> str:
    """Undo the five XML entities in an attribute value."""
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def table_from_rows(rows: list, sheet: str, required: tuple, synonyms: dict, formulas: dict) -> RawSheet:
    """Find the header row and turn the rows beneath it into a table.

    Parameters
    ----------
    rows : list of list
        Raw cell values.
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
        When no row within the first :data:`HEADER_SEARCH_ROWS` holds the required columns.
    """
    header_index = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = {_canonical(normalise_header(c), synonyms) for c in row}
        if len(names & set(required)) >= min(2, len(required)):
            header_index = index
            break
    if header_index is None:
        wanted = ", ".join(required)
        raise HeaderNotFoundError(
            Problem(sheet, f"no header row with the columns {wanted} in the first {HEADER_SEARCH_ROWS} rows; add them")
        )
    written = list(rows[header_index])
    columns, headers, letters = [], {}, {}
    for position, cell in enumerate(written):
        name = _canonical(normalise_header(cell), synonyms)
        if not name or name in headers:
            name = f"_column_{position}"  # blank or repeated header: keep the data, never guess
        columns.append(name)
        headers[name] = "" if cell is None else str(cell)
        letters[name] = column_letter(position)
    width = len(columns)
    body = [list(r[:width]) + [""] * (width - len(r)) for r in rows[header_index + 1:]]
    table = pd.DataFrame(body, columns=columns, dtype=object)
    excel_rows = pd.Series(range(header_index + 2, header_index + 2 + len(body)))
    blank = table.map(_is_blank).all(axis=1) if len(table) else pd.Series(dtype=bool)
    missing = {}
    for (row, letter), formula in formulas.items():
        for name, col_letter in letters.items():
            if col_letter == letter:
                missing[(row, name)] = formula
    formula_rows = {row for row, _ in missing}
    keep = ~blank | excel_rows.isin(formula_rows)
    table = table[keep.to_numpy()].reset_index(drop=True)
    excel_rows = excel_rows[keep.to_numpy()].reset_index(drop=True)
    return RawSheet(sheet, table, excel_rows, headers, missing)


def _canonical(name: str, synonyms: dict) -> str:
    """Map a synonym to its canonical column name."""
    return synonyms.get(name, name)


def _is_blank(value) -> bool:
    """True for empty cells and whitespace-only text."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip().replace("\u00a0", "")
    if isinstance(value, float):
        return value != value  # NaN
    return False
