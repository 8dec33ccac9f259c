"""The one reader of numbers and text cells: every number the planner reads goes through
:func:`parse_numbers` (suffixes, currencies, percents, decimal commas, refusals with their reason)
and every text cell through :func:`clean_text`. Used by validation and by the workbook reader.
"""

from __future__ import annotations

import contextvars
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

_ERROR_CELLS = {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                "#GETTING_DATA"}
_NUMBER = re.compile(
    r"^(?P<sign>[+-]?)\s*(?P<cur>[$€£¥])?\s*(?P<sign2>[+-]?)\s*"
    r"(?P<num>\d[\d.,]*|[.,]\d+)\s*(?P<suffix>[kmb%])?\s*(?P<cur2>[$€£¥])?$",
    re.IGNORECASE | re.ASCII,
)
#: How the digits of a number may be written, with a decimal point (1,200.50) or a decimal comma (1.200,50).
_POINT_FORM = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?$|^\.\d+$", re.ASCII)
_COMMA_FORM = re.compile(r"^(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d*)?$|^,\d+$", re.ASCII)
#: A decimal comma for sure: "3,5", "0,035", "1.200,50", "1.200.000"; a decimal point for sure: "3.5",
#: "0.035", "1,200.50", "1,200,000". "1.200" and "1,200" alone could be either.
_SURE_COMMA = re.compile(r"^\d+,(?:\d{1,2}|\d{4,})$|^0,\d+$|^,\d+$|\.\d{3}.*,|\.\d{3}\.", re.ASCII)
_SURE_POINT = re.compile(r"^\d+\.(?:\d{1,2}|\d{4,})$|^0\.\d+$|^\.\d+$|,\d{3}.*\.|,\d{3},", re.ASCII)
_AMBIGUOUS_DOT = re.compile(r"^\d{1,3}(?:\.\d{3})+$", re.ASCII)
#: Upper limits of plausible values, per column: larger ones are typing slips, not campaigns.
LIMITS = {"followers": 1e10, "cost_per_post": 1e12, "expected_engagement": 1e12, "total_budget": 1e12,
          "max_posts": 1000, "min_posts": 1000}
#: How a planner may write the decimal_separator setting.
SEPARATOR_WORDS = {".": ".", "point": ".", "dot": ".", "decimal point": ".", ",": ",", "comma": ",",
                    "decimal comma": ","}
#: The decimal separator set by the Budget sheet or the command line for the workbook being read
#: (None: found per column).
DECIMAL = contextvars.ContextVar("decimal_separator", default=None)
#: Currency symbols met in money cells during one validation: symbol -> the first cell carrying it.
CURRENCIES = contextvars.ContextVar("currencies", default=None)
#: What str.strip removes from ASCII text.
_ASCII_SPACES = "".join(c for c in map(chr, range(128)) if c.isspace())
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Joins handles to be keyed in one text (:func:`identity_keys`); a handle holding it is keyed on its own.
_KEY_SEPARATOR = "\x00"
_LEADING_ATS = re.compile(_KEY_SEPARATOR + "@+")
_MULTIPLIER = {"k": 1e3, "m": 1e6, "b": 1e9}
#: Cells sampled to guess whether a text column has few distinct values.
_SAMPLE = 1000
#: What pandas' infer_dtype calls a column whose every cell is an int or float (never a bool).
_NUMBERS_ONLY = ("floating", "integer", "mixed-integer-float")


@dataclass
class ParsedColumn:
    """A column parsed to floats: values, which were blank, which were percent strings."""

    values: np.ndarray
    blank: np.ndarray
    percent: np.ndarray
    bad: np.ndarray  # why each unparseable cell was refused ("" when fine); may be read-only
    currency: Optional[np.ndarray] = None  # the symbol each text cell carried ("" none); None: no text cells


#: The reason every cell of a column of numbers only shares: none.
_NOTHING_REFUSED = np.array("", dtype=object)
_NOT_FINITE = "is too large to be a number the planner can use (infinite); type the value itself"


def parse_numbers(values) -> ParsedColumn:
    """Parse a column of cells as numbers, in bulk.

    A column of numbers only (the usual Excel column) is converted in one
    step. Otherwise number cells are converted together, each distinct text
    is parsed once, and only the remaining cells (dates, booleans, blanks of
    other kinds) are looked at one by one.

    Parameters
    ----------
    values : sequence
        Raw cell values (numbers, text, None).

    Returns
    -------
    ParsedColumn
        NaN where blank or bad; ``bad`` holds the reason for each refused cell.
    """
    cells = _cells(values)
    n = len(cells)
    percent = np.zeros(n, bool)
    if pd.api.types.infer_dtype(cells, skipna=False) in _NUMBERS_ONLY:
        out = cells.astype(float)
        if np.isinf(out).any():
            bad = np.full(n, "", dtype=object)
            bad[np.isinf(out)] = _NOT_FINITE
            out[np.isinf(out)] = np.nan
            return ParsedColumn(out, np.isnan(out) & (bad == ""), percent, bad)
        # Nothing refused: every cell's reason is one shared "" (a read-only view), not a column of them.
        return ParsedColumn(out, np.isnan(out), percent, np.broadcast_to(_NOTHING_REFUSED, n))
    out = np.full(n, np.nan)
    blank = np.zeros(n, bool)
    bad = np.full(n, "", dtype=object)
    is_number, is_text = _type_masks(cells, _is_number_type, lambda kind: kind is str)
    numbers = np.flatnonzero(is_number)
    out[numbers] = cells[numbers].astype(float)
    blank[numbers] = np.isnan(out[numbers])
    infinite = numbers[np.isinf(out[numbers])]
    bad[infinite] = _NOT_FINITE
    out[infinite] = np.nan
    texts = np.flatnonzero(is_text)
    if len(texts):
        codes, distinct = pd.factorize(cells[texts])
        parsed = _parse_texts(distinct)
        out[texts] = parsed.values[codes]
        blank[texts] = parsed.blank[codes]
        percent[texts] = parsed.percent[codes]
        bad[texts] = parsed.bad[codes]
        currency = np.full(n, "", dtype=object)
        currency[texts] = parsed.currency[codes]
    else:
        currency = None
    other = np.flatnonzero(~is_number & ~is_text)
    blank[other] = pd.isna(cells[other])
    bad[other[~blank[other]]] = "is not a number (a date or true/false was found)"
    return ParsedColumn(out, blank, percent, bad, currency)


def _parse_texts(texts: np.ndarray) -> ParsedColumn:
    """Parse text cells (str only) as numbers: ``12.5K``, ``$1,200``, ``3.5%``, ``1.200,50 €``, ...

    The decimal separator is the workbook's ``decimal_separator`` when set; otherwise the
    column's own cells decide it ("3,5" or "1.200,50" show a decimal comma, "3.5" or
    "1,200.50" a decimal point). A column showing both is refused, and so is "1.200" in a
    column with no evidence either way (1.2 or 1,200?).
    """
    n = len(texts)
    out = np.full(n, np.nan)
    percent = np.zeros(n, bool)
    bad = np.full(n, "", dtype=object)
    text = pd.Series(texts, dtype=object).astype(str).str.replace("\u00a0", "", regex=False).str.strip()
    blank = (text == "").to_numpy()
    parts = text.str.extract(_NUMBER)
    matched = parts["num"].notna().to_numpy() & ~blank
    digits = parts["num"].fillna("")
    signs = parts["sign"].fillna("") + parts["sign2"].fillna("")
    single_sign = (signs.str.len() <= 1).to_numpy(bool)
    one_currency = (parts["cur"].isna() | parts["cur2"].isna()).to_numpy(bool)
    negative = (signs.str.count("-") % 2 == 1).to_numpy(bool)
    separator, mixed = _decimal_separator(digits[matched])
    form = _COMMA_FORM if separator == "," else _POINT_FORM
    formed = digits.str.match(form).to_numpy(bool)
    ambiguous = np.zeros(n, bool) if separator is not None else digits.str.match(_AMBIGUOUS_DOT).to_numpy(bool)
    separated = digits.str.contains(r"[.,]").to_numpy(bool)
    good = matched & formed & single_sign & one_currency & ~ambiguous & ~(separated & mixed)
    plain = digits.str.replace("." if separator == "," else ",", "", regex=False)
    if separator == ",":
        plain = plain.str.replace(",", ".", regex=False)
    number = pd.to_numeric(plain, errors="coerce").to_numpy(float)
    suffix = parts["suffix"].fillna("").str.lower().to_numpy(object)
    multiplier = np.ones(n)
    for letter, factor in _MULTIPLIER.items():
        multiplier[suffix == letter] = factor
    number = number * multiplier * np.where(negative, -1.0, 1.0)
    good &= np.isfinite(number)
    out[good] = number[good]
    percent[good] = suffix[good] == "%"
    for j in np.flatnonzero(~good & ~blank):
        upper = text.iat[j].upper()
        if upper in _ERROR_CELLS:
            bad[j] = f"the cell shows the error {upper}; fix the formula or type the value"
        elif any(ch.isdigit() and not ch.isascii() for ch in text.iat[j]):
            bad[j] = "holds digits other than 0-9; type the number with the digits 0-9"
        elif matched[j] and not single_sign[j]:
            bad[j] = "has more than one sign; write a single number such as -5 or 5"
        elif matched[j] and not one_currency[j]:
            bad[j] = "has two currency symbols; write one, e.g. $1,200 or 1.200 €"
        elif matched[j] and mixed and separated[j]:
            bad[j] = ("this column mixes decimal commas (3,5) and decimal points (3.5); write every number one "
                      "way, or set decimal_separator on the Budget sheet ('.' or ',')")
        elif matched[j] and ambiguous[j]:
            shown = digits.iat[j]
            bad[j] = (f"could be {float(shown):g} or {int(shown.replace('.', '')):,} (is '.' a decimal point or a "
                      "thousands separator?); write it without a separator, or set decimal_separator on the "
                      "Budget sheet ('.' or ',', or pass --decimal-comma)")
        elif matched[j] and formed[j]:
            bad[j] = _NOT_FINITE
        elif matched[j] and separator == ",":
            bad[j] = "with a decimal comma, thousands are grouped in threes by dots (1.200 or 1.200,50)"
        elif matched[j] and "," in digits.iat[j]:
            bad[j] = "thousands separators must group digits in threes (1,200 or 1,200.50)"
        else:
            bad[j] = "is not a number (write e.g. 12500, 12.5K, $1,200 or 3.5%)"
    currency = parts["cur"].fillna(parts["cur2"]).fillna("").to_numpy(object)
    return ParsedColumn(out, blank, percent, bad, currency)


def _decimal_separator(digits: pd.Series):
    """(separator, mixed) for a column's number texts: the workbook's setting, else what the column shows."""
    chosen = DECIMAL.get()
    if chosen is not None:
        return chosen, False
    comma = bool(digits.str.contains(_SURE_COMMA).any()) if len(digits) else False
    point = bool(digits.str.contains(_SURE_POINT).any()) if len(digits) else False
    if comma and point:
        return None, True
    return ("," if comma else "." if point else None), False


def clean_text(values) -> np.ndarray:
    """Cells as trimmed text: numbers without '.0', None as ''.

    Text is NFC-normalised, with non-breaking spaces made plain spaces. A text
    column with few distinct values (niche, platform) is cleaned once per
    value; other text in bulk (:func:`_clean_texts`); cells that are not text
    one by one.
    """
    cells = _cells(values)
    if _few_distinct(cells):
        distinct = set(cells)
        # A set merges equal cells, and 1.0 == 1 == True: per distinct value only when every
        # value is text (text never equals a cell of another kind).
        if all(isinstance(value, str) for value in distinct):
            return per_distinct(_clean_cell, cells, distinct)
    if pd.api.types.infer_dtype(cells, skipna=False) == "string":
        return _clean_texts(cells)
    (is_text,) = _type_masks(cells, lambda kind: issubclass(kind, str))
    out = np.empty(len(cells), dtype=object)
    out[is_text] = _clean_texts(cells[is_text])
    rest = np.flatnonzero(~is_text)
    out[rest] = object_array(_clean_cell(value) for value in cells[rest])
    return out


def _clean_texts(texts: np.ndarray) -> np.ndarray:
    """Text cells (str only) cleaned as :func:`clean_text` does.

    ASCII text, by far the most common, holds nothing that NFC or the
    non-breaking space rule would change, so it is only trimmed, with one C
    call per cell, or not at all when the whole column holds no whitespace
    (the texts are then returned as they are); the rest is cleaned one by one.
    """
    joined = "".join(texts)
    if joined.isascii():
        if not any(space in joined for space in _ASCII_SPACES):
            return texts  # nothing to trim: the usual handle column
        return vectorised(str.strip, texts)
    is_ascii = vectorised(str.isascii, texts).astype(bool)
    out = np.empty(len(texts), dtype=object)
    out[is_ascii] = vectorised(str.strip, texts[is_ascii])
    rest = np.flatnonzero(~is_ascii)
    out[rest] = object_array(_clean_cell(text) for text in texts[rest])
    return out


def _few_distinct(cells: np.ndarray) -> bool:
    """Whether the first cells repeat enough that working once per distinct value pays off.

    Only a guess at speed: either way gives the same result.
    """
    sample = cells[:_SAMPLE].tolist()
    return len(set(sample)) * 10 <= len(sample)


def _clean_cell(value) -> str:
    """One cell as trimmed text (see :func:`clean_text`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFC", str(value)).replace("\u00a0", " ").strip()


def identity_keys(handles) -> np.ndarray:
    """Handles as compared for duplicates: NFKC, case-folded, no '@', no invisible spaces.

    ASCII handles, nearly always the whole column, are keyed all at once, with
    a few C calls over the column joined into one text (see
    :func:`_ascii_keys`); any others one by one.

    Parameters
    ----------
    handles : sequence of str
        Cleaned handles (:func:`clean_text`).

    Returns
    -------
    list of str
        One key per handle (a list: a set of them, the usual duplicate test, is built faster from one).
    """
    handles = _cells(handles)
    joined = _KEY_SEPARATOR.join(handles)
    if joined.isascii() and joined.count(_KEY_SEPARATOR) == len(handles) - 1:
        return _ascii_keys(joined)
    keys = np.empty(len(handles), dtype=object)
    in_bulk = vectorised(_keyed_in_bulk, handles).astype(bool)
    if in_bulk.any():
        keys[in_bulk] = object_array(_ascii_keys(_KEY_SEPARATOR.join(handles[in_bulk])))
    rest = np.flatnonzero(~in_bulk)
    keys[rest] = object_array(_identity_key(handle) for handle in handles[rest])
    return keys.tolist()


def _keyed_in_bulk(handle: str) -> bool:
    """Whether :func:`_ascii_keys` may key this handle: ASCII, without the separator."""
    return handle.isascii() and _KEY_SEPARATOR not in handle


def _ascii_keys(joined: str) -> list:
    """Keys of ASCII handles joined by the separator: :func:`_identity_key`'s steps, each one C call for them all.

    For ASCII, NFKC changes nothing and casefold is lower; of the characters
    removed only the whitespace is ASCII, and the separator is not whitespace,
    so removing it all at once leaves each handle's boundaries in place.
    """
    text = (_KEY_SEPARATOR + "".join(joined.split()).lower()).replace(_KEY_SEPARATOR + "@", _KEY_SEPARATOR)
    if _KEY_SEPARATOR + "@" in text:  # rare handles starting '@@': a regular expression, slower, for what is left
        text = _LEADING_ATS.sub(_KEY_SEPARATOR, text)
    return text[1:].split(_KEY_SEPARATOR)


def _identity_key(handle: str) -> str:
    """One handle's key (see :func:`identity_keys`)."""
    text = unicodedata.normalize("NFKC", handle)
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff\u00a0\s]", "", text).casefold()
    return text.lstrip("@")


def _cells(values) -> np.ndarray:
    """Cells as a one-dimensional object array (not copied when they are one already)."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=object)
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    return object_array(values)


def object_array(items) -> np.ndarray:
    """Items as a one-dimensional object array, each kept as it is (a string or tuple never becomes a row)."""
    return np.fromiter(items, dtype=object)


def vectorised(method, cells: np.ndarray) -> np.ndarray:
    """method(cell) for every cell, as an object array: one loop in C, with no Python frame per cell for a builtin."""
    return np.frompyfunc(method, 1, 1)(cells)


def _type_masks(cells: np.ndarray, *tests) -> list:
    """One boolean mask per test on the cells' types; each distinct type is tested once."""
    codes, kinds = pd.factorize(vectorised(type, cells))
    return [np.array([test(kind) for kind in kinds], dtype=bool)[codes] for test in tests]


def _is_number_type(kind) -> bool:
    """Cells of this type are numbers: int, float or a numpy number, but not a boolean."""
    return issubclass(kind, (int, float, np.number)) and not issubclass(kind, (bool, np.bool_))


def per_distinct(func, texts, distinct=None) -> np.ndarray:
    """func(text) for every cell of a text column, computed once per distinct text (most columns hold few).

    A dict finds each cell's result: text hashes are cached in the text, so
    this beats factorize, which hashes every cell again. ``distinct``, the
    set of the texts, when the caller has it already.
    """
    texts = _cells(texts)
    results = {text: func(text) for text in (set(texts) if distinct is None else distinct)}
    return vectorised(results.__getitem__, texts)


def count_control(texts: np.ndarray) -> int:
    """How many texts hold a control character.

    Printable text holds none, so when the whole column joined is printable
    (the usual case; one C scan) no text is searched. A column of few
    distinct texts joins only those.
    """
    if "".join(set(texts) if _few_distinct(texts) else texts).isprintable():
        return 0
    return sum(bool(_CONTROL.search(text)) for text in texts)
