"""Reading plain xlsx sheets in bulk with numpy, to exactly the values python-calamine gives.

A sheet saved by Excel, LibreOffice or the benchmark generator is a long run of cells of
a handful of shapes::

    <c r="B7"><v>1250.5</v></c>          a number
    <c r="A7" s="3" t="s"><v>42</v></c>  text, as an index into the shared-strings table
    <c r="C7" t="b"><v>1</v></c>         a boolean
    <c r="D7" s="5"/>                    formatting only: no value

:class:`PlainSheet` reads such cells a region at a time while the guard inflates and
measures a big sheet (:func:`planner.guard.scan_sheet`), so the sheet is inflated once and
no per-cell Python code runs (a small sheet is read in one region once the guard has
accepted the file). The result is the grid calamine's ``to_python(skip_empty_area=
False)`` returns: rows from row 1 to the farthest filled one, each as wide as the farthest
filled column, ``''`` where no cell is; numbers as float, text as str, booleans as bool.

Anything else, anywhere in the sheet, stops the collection and the caller reads the sheet
with calamine instead: formulas, inline or formula strings, error cells, dates (a number
whose style has a date or time format), cells without a reference or out of order,
references in lower case or with leading zeros, comments, CDATA, namespace prefixes, text
between tags, numbers written in a way not handled here. The shared strings (read by
:func:`shared_strings`) and the styles (:func:`number_styles`) must be plain too. What is
handled is what the equality tests check against calamine (tests/test_plain_xlsx.py).
"""

from __future__ import annotations

import re

from planner.guard import _numpy, _strided

#: Styles' number formats that calamine reads as dates, times or durations (its built-in ids).
_DATE_FORMAT_IDS = frozenset(str(n).encode() for n in (*range(14, 23), 45, 46, 47))
#: A custom number format holding none of these is never a date or time in calamine (it
#: looks for d, m, h, y, s and a/p outside quotes); a character reference could spell one.
_DATE_LETTERS = re.compile(rb"[dmhysapDMHYSAP]|&#")
#: Longest number text read in bulk (longer ones: one at a time).
_NUMBER_WIDTH = 24
#: 10**0 ... 10**22, every one a double exactly.
_POWERS_OF_TEN = [float(10 ** k) for k in range(23)]
#: Most bytes kept from after the cells (merged ranges, page setup, ...).
_MAX_TAIL = 8 * 1024 * 1024
_CELL_TAG = re.compile(rb"<c[\s>/]")
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]{1,3}[1-9][0-9]{0,6})(?::([A-Z]{1,3}[1-9][0-9]{0,6}))?"\s*/>')
_REF = re.compile(rb"([A-Z]+)([0-9]+)")
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9A-Fa-f]{1,6}));|&")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PRESERVE = '<t xml:space="preserve">'
#: A tag's attributes: anything but '>' outside quotes (a quoted value may hold '>').
_ATTRIBUTES = rb"""(?:[^>"']|"[^"]*"|'[^']*')*?"""


class NotPlain(Exception):
    """The part is written in a way the bulk reader does not handle; calamine reads it."""


class BrokenText(NotPlain):
    """A shared-text cell refers past the end of the table (calamine refuses the workbook).

    ``row`` and ``column`` (1-based) name the first such cell in the sheet, ``index`` what it holds.
    """

    def __init__(self, row: int, column: int, index: int):
        super().__init__(row, column, index)
        self.row, self.column, self.index = row, column, index


class PlainSheet:
    """The cells of one worksheet, collected region by region.

    :meth:`feed` is called with consecutive regions of the sheet's XML, each ending just
    before a ``<`` (and, while collecting, before a cell tag, so no cell is split);
    ``active`` turns False for good at the first thing not handled.
    """

    def __init__(self):
        self.np, self.tag_end, _ = _numpy()
        self.active = True
        self.place = "head"  # before <sheetData>, "data" inside it, "tail" after it
        self.last_key = -1
        self.numbers, self.texts, self.flags = [], [], []
        self.styles = set()  # style indices of number cells
        self.tail = bytearray()
        self.kept_keys = []  # when collecting stopped: the places (row * 16384 + column) of the cells collected

    def feed(self, buffer, cut: int):
        """Collect the cells of ``buffer[:cut]``; stop collecting at anything out of pattern.

        Returns None when the region is out of pattern (collecting stops), else the
        region's count of filled cells and, when there are any, the (row, column) of the
        first cell in its farthest row and of the first in its farthest column, as the
        guard measures them. ``buffer`` is read up to 16 bytes past ``cut``.
        """
        if len(buffer) < cut + 16:
            buffer = bytes(buffer[:cut]) + bytes(16)
        try:
            return self._feed(buffer, cut)
        except NotPlain:
            self.stop()
            return None

    def stop(self, keep_places: bool = True) -> None:
        """Give up: the sheet will be read by calamine; what was collected is dropped.

        The places of the cells collected so far are kept (``kept_keys``, unless
        ``keep_places`` is false), for the guard's check that no cell is given twice.
        """
        if keep_places and self.active:
            np = self.np
            self.kept_keys = [p[0].astype(np.int64) * 16384 + p[1]
                              for part in (self.numbers, self.texts, self.flags) if part for p in part]
        self.active = False
        self.numbers = self.texts = self.flags = None
        self.tail = bytearray()

    def _feed(self, buffer, cut: int):
        start = 0
        found = (0, None, None)
        if self.place == "head":
            opening = buffer.find(b"<sheetData", 0, cut)
            head = bytes(buffer[:cut if opening < 0 else opening])
            if _CELL_TAG.search(head):
                raise NotPlain
            if opening < 0:
                return found
            close = buffer.find(b">", opening, cut)
            tag = bytes(buffer[opening: close + 1])
            if tag == b"<sheetData>":
                self.place, start = "data", close + 1
            elif tag == b"<sheetData/>":
                self.place, start = "tail", close + 1
            else:
                raise NotPlain
        if self.place == "data":
            end = buffer.find(b"</sheetData>", start, cut)
            found = self._cells(buffer, start, cut if end < 0 else end)
            if end < 0:
                return found
            self.place, start = "tail", end + len(b"</sheetData>")
        self.tail += buffer[start:cut]
        if len(self.tail) > _MAX_TAIL or b"<!" in self.tail or b"sheetData" in self.tail or _CELL_TAG.search(self.tail):
            raise NotPlain
        return found

    def _cells(self, buffer, start: int, stop: int):
        """Collect the cells between ``start`` and ``stop`` (whole tags); returns what :meth:`feed` does."""
        return self.commit(self.parse(buffer, start, stop))

    def parse(self, buffer, start: int, stop: int):
        """The cells between ``start`` and ``stop`` (whole tags, inside ``<sheetData>``), not yet collected.

        Touches nothing shared, so regions can be parsed in several threads at once (numpy
        lets go of the interpreter while it scans); :meth:`commit` then collects them in
        order. ``buffer`` is read up to 16 bytes past ``stop``. Raises NotPlain.
        """
        np = self.np
        a = np.frombuffer(buffer, dtype=np.uint8)
        words = _strided(np, buffer, "<u8")  # the 8 bytes from each offset, the first in the low byte
        opens = np.flatnonzero(a[start:stop] == 60)
        if not opens.size:
            return None
        opens += start
        head = _at(words, opens)
        is_cell = (head & _low(6)) == _word(b'<c r="')
        is_row = ((head & _low(4)) == _word(b"<row")) & self.tag_end[(head >> np.uint64(32)) & np.uint64(255)]
        is_row_end = (head & _low(6)) == _word(b"</row>")
        index = np.flatnonzero(is_cell)
        cells = opens[index]
        # Each tag's following '<' (the stop itself is a '<' or the end of the cells).
        after = np.append(opens, stop)
        next_tag = after.take(index + 1, mode="clip")
        ending = _at(words, next_tag - 2) & _low(2)
        empty = ending == _word(b"/>")  # <c .../>: formatting only
        if not ((ending >> np.uint64(8)) == 62).all():
            raise NotPlain  # text between a cell tag and the next tag
        valued = ~empty
        value_tag = next_tag[valued]
        value_end = after.take(index[valued] + 2, mode="clip")
        # A valued cell is exactly <c ...><v>text</v></c>: four '<'; every other tag is a row tag.
        if not (((_at(words, value_tag) & _low(3)) == _word(b"<v>")).all()
                and (_at(words, value_end) == _word(b"</v></c>")).all()):
            raise NotPlain
        if int(is_row.sum() + is_row_end.sum() + empty.sum() + 4 * valued.sum()) != opens.size:
            raise NotPlain
        rows, columns, after_ref = self._references(words, cells)
        kind, style = self._attributes(a, after_ref, next_tag - 1 - empty)
        rows, columns, kind, style = rows[valued], columns[valued], kind[valued], style[valued]
        if not rows.size:
            return None
        keys = rows.astype(np.int64) * 16384 + columns
        if rows.size > 1 and not (np.diff(keys) > 0).all():
            raise NotPlain  # out of order, or a cell given twice
        value_start = value_tag + 3
        lengths = value_end - value_start
        if not (lengths > 0).all():
            raise NotPlain
        number = (kind == 0) | (kind == 110)
        text = kind == 115
        flag = kind == 98
        if not (number | text | flag).all():
            raise NotPlain  # errors, dates, inline or formula strings
        styles, numbers, texts, flags = set(), None, None, None
        if number.any():
            styles = set(np.unique(style[number & (style >= 0)]).tolist())
            numbers = (rows[number], columns[number], _numbers(np, a, value_start[number], lengths[number]))
        if text.any():
            index = _whole_numbers(np, a, value_start[text], lengths[text], 9).astype(np.int32)
            texts = (rows[text], columns[text], index)
        if flag.any():
            values = _whole_numbers(np, a, value_start[flag], lengths[flag], 1)
            if (values > 1).any():
                raise NotPlain
            flags = (rows[flag], columns[flag], values == 1)
        far_row, far_column = int(np.argmax(rows)), int(np.argmax(columns))  # the first to reach each
        found = (rows.size, (int(rows[far_row]), int(columns[far_row])),
                 (int(rows[far_column]), int(columns[far_column])))
        return int(keys[0]), int(keys[-1]), styles, numbers, texts, flags, found

    def parse_or_refusal(self, buffer, start: int, stop: int):
        """:meth:`parse`, returning its NotPlain instead of raising it (for :meth:`settle`)."""
        try:
            return self.parse(buffer, start, stop)
        except NotPlain as refusal:
            return refusal

    def commit(self, parsed):
        """Collect a region :meth:`parse` read (regions in sheet order); returns what :meth:`feed` does."""
        if parsed is None:
            return 0, None, None
        first_key, last_key, styles, numbers, texts, flags, found = parsed
        if first_key <= self.last_key:
            raise NotPlain  # out of order, or a cell given twice
        self.last_key = last_key
        self.styles.update(styles)
        for collected, part in ((self.numbers, numbers), (self.texts, texts), (self.flags, flags)):
            if part is not None:
                collected.append(part)
        return found

    def settle(self, parsed):
        """:meth:`commit`, or None (and collecting stops) when the region was out of pattern.

        ``parsed`` is what :meth:`parse` returned, or the NotPlain it raised.
        """
        if isinstance(parsed, NotPlain):
            self.stop()
            return None
        try:
            return self.commit(parsed)
        except NotPlain:
            self.stop()
            return None

    def _references(self, words, cells):
        """Row and column numbers (1-based) of each cell's ``r="A1"``, and where its tag goes on.

        The reference must be 1-3 capital letters and a row number of 1-7 digits without a
        leading zero, then the closing quote. Eight bytes at a time: the letters from the
        first word; in the word after them, the quote is the lowest zero byte of the word
        XOR '"' repeated, and the digits before it are read as one decimal number.
        """
        np = self.np
        u64 = np.uint64
        if not ((_at(words, cells + 2) & _low(4)) == _word(b' r="')).all():
            raise NotPlain
        start = cells + 6
        first = _at(words, start)
        letter = [((first >> u64(8 * k)) & u64(255)) - u64(65) < u64(26) for k in range(3)]
        letters = letter[0].astype(np.int64) + (letter[0] & letter[1]) + (letter[0] & letter[1] & letter[2])
        code = [((first >> u64(8 * k)) & u64(255)).astype(np.int64) - 64 for k in range(3)]
        columns = np.where(letters == 1, code[0], np.where(letters == 2, code[0] * 26 + code[1],
                                                             (code[0] * 26 + code[1]) * 26 + code[2]))
        digits_word = _at(words, start + letters)
        flipped = digits_word ^ _word(b'""""""""')
        zero = (flipped - _word(b"\x01" * 8)) & ~flipped & _word(b"\x80" * 8)
        lowest = zero & (~zero + u64(1))
        digits = (np.frexp(lowest.astype(np.float64))[1] - 1) // 8  # the quote's byte
        if not ((letters >= 1) & (zero != 0) & (digits >= 1) & (digits <= 7)
                & ((digits_word & u64(255)) != u64(48))).all():
            raise NotPlain
        # Left-pad the digits with '0' to eight, then check and sum them in place.
        shift = (8 * (8 - digits)).astype(np.uint64)
        padded = (digits_word << shift) | (_word(b"0" * 8) >> (u64(64) - shift))
        if not (((padded & _word(b"\xf0" * 8)) == _word(b"0" * 8))
                & ((((padded & _word(b"\x0f" * 8)) + _word(b"\x06" * 8)) & _word(b"\xf0" * 8)) == 0)).all():
            raise NotPlain
        value = padded & _word(b"\x0f" * 8)
        value = ((value * u64(2561)) >> u64(8)) & _word(b"\xff\x00" * 4)
        value = ((value * u64(6553601)) >> u64(16)) & _word(b"\xff\xff\x00\x00" * 2)
        rows = (value * u64(42949672960001)) >> u64(32)
        if not ((rows <= 1_048_576) & (columns <= 16_384)).all():
            raise NotPlain
        return rows.astype(np.int32), columns.astype(np.int16), start + letters + digits + 1

    def _attributes(self, a, start, end):
        """Each cell's type byte (0 when absent) and style index (-1 when absent), or NotPlain.

        Between the reference and the tag's end only `` s="N"`` and then `` t="X"`` may come.
        """
        np = self.np
        length = end - start
        typed = length >= 6
        typed &= (_take(a, end - 6) == 32) & (_take(a, end - 5) == 116) & (_take(a, end - 4) == 61) & (
            _take(a, end - 3) == 34) & (_take(a, end - 1) == 34)
        kind = np.where(typed, _take(a, end - 2), 0)
        rest_end = end - 6 * typed
        styled = rest_end > start
        style = np.full(len(start), -1, dtype=np.int64)
        if styled.any():
            s_start, s_end = start[styled], rest_end[styled]
            if not ((s_end - s_start >= 6) & (s_end - s_start <= 10)).all():
                raise NotPlain
            if not (_take(a, s_start[:, None] + np.arange(4)) == np.frombuffer(b' s="', dtype=np.uint8)).all():
                raise NotPlain
            if not (_take(a, s_end - 1) == 34).all():
                raise NotPlain
            style[styled] = _whole_numbers(np, a, s_start + 4, s_end - 1 - (s_start + 4), 5)
        return kind, style

    def rows(self, strings: list, safe_style) -> list:
        """The sheet's rows, as calamine gives them (call once every region has been fed).

        Parameters
        ----------
        strings : list of str
            The shared-strings table (:func:`shared_strings`).
        safe_style : callable
            ``safe_style(index) -> bool``: a number with this style reads as a number
            (:func:`number_styles`).

        Raises
        ------
        NotPlain
            A style reads numbers as dates, a text index is outside the table, or the sheet
            never closed its cells.
        """
        np = self.np
        if not self.active or self.place != "tail":
            raise NotPlain
        if not all(safe_style(index) for index in self.styles):
            raise NotPlain
        parts = [self.numbers, self.texts, self.flags]
        self.numbers = self.texts = self.flags = None  # each kind's chunks are let go once joined
        rows, columns, values = [], [], []
        while parts:
            part = parts.pop(0)
            rows.append(np.concatenate([p[0] for p in part]) if part else np.zeros(0, np.int64))
            columns.append(np.concatenate([p[1] for p in part]) if part else np.zeros(0, np.int64))
            values.append(np.concatenate([p[2] for p in part]) if part else np.zeros(0))
            del part
        height = max((int(r.max()) for r in rows if r.size), default=0)
        width = max((int(c.max()) for c in columns if c.size), default=0)
        if not height:
            return []
        if values[1].size and int(values[1].max()) >= len(strings):
            first = np.flatnonzero(values[1] >= len(strings))
            place = first[np.argmin(rows[1][first].astype(np.int64) * 16384 + columns[1][first])]
            raise BrokenText(int(rows[1][place]), int(columns[1][place]), int(values[1][place]))
        grid = np.full((height, width), "", dtype=object)
        grid[rows[0] - 1, columns[0] - 1] = values[0]
        if values[1].size:
            grid[rows[1] - 1, columns[1] - 1] = np.array(strings, dtype=object)[values[1]]
        grid[rows[2] - 1, columns[2] - 1] = values[2]
        del rows, columns, values  # the cells' places, no longer needed once the grid holds them
        return grid.tolist()

    def merged(self) -> tuple:
        """Merged ranges as calamine reports them: ((top, left), (bottom, right)), 0-based."""
        found = []
        start = self.tail.find(b"<mergeCells")
        if start < 0:
            return ()
        end = self.tail.find(b"</mergeCells>", start)
        if end < 0 or b"<mergeCells" in self.tail[end:]:
            raise NotPlain
        block = bytes(self.tail[self.tail.find(b">", start) + 1: end])
        matches = list(_MERGE.finditer(block))
        if block.count(b"<") != len(matches):
            raise NotPlain
        for match in matches:
            first = _position(match.group(1))
            last = _position(match.group(2)) if match.group(2) else first
            found.append((first, last))
        return tuple(found)


def _position(ref: bytes) -> tuple:
    """``B7`` -> (6, 1), 0-based (row, column)."""
    letters, digits = _REF.fullmatch(ref).groups()
    column = 0
    for byte in letters:
        column = column * 26 + byte - 64
    return int(digits) - 1, column - 1


def _word(text: bytes):
    """Up to 8 bytes as the little-endian uint64 the words of a sheet are compared with."""
    np, _, _ = _numpy()
    return np.uint64(int.from_bytes(text, "little"))


def _low(n: int):
    """A uint64 mask of the ``n`` lowest bytes of a word."""
    return _word(b"\xff" * n)


def _at(words, index):
    """``words[index]``, indices past the end reading the last word (they only ever fail a check).

    Plain indexing: ``take`` would first copy the whole overlapping view.
    """
    return words[index.clip(0, len(words) - 1)]


def _take(a, index):
    """``a[index]``, indices past the end reading as the last byte (they only ever fail a check)."""
    return a.take(index, mode="clip")


def _whole_numbers(np, a, start, length, most: int):
    """Unsigned decimal integers of 1 to ``most`` digits at ``a[start:start + length]``."""
    if not ((length >= 1) & (length <= most)).all():
        raise NotPlain
    width = int(length.max())
    text = _take(a, start[:, None] + np.arange(width)).astype(np.int64) - 48
    inside = np.arange(width) < length[:, None]
    if not ((text >= 0) & (text <= 9) | ~inside).all():
        raise NotPlain
    value = np.zeros(len(start), dtype=np.int64)
    for k in range(width):
        value = np.where(inside[:, k], value * 10 + text[:, k], value)
    return value


def _numbers(np, a, start, length):
    """Numbers as calamine reads them (Rust's correctly rounded parse), most of them in bulk.

    Decimals of at most 19 digits whose digits fit a double exactly and that have at most
    22 decimal places are ``digits / 10**places``: both exact, so the one division rounds
    correctly, as a full parse would. The rest (exponents, long mantissas) go through
    Python's float(), which also rounds correctly and accepts the same spellings here:
    only digits, ``.``, ``e``, ``E``, ``+`` and ``-`` get this far.
    """
    count = len(start)
    width = int(min(length.max(), _NUMBER_WIDTH))
    text = _take(a, start[:, None] + np.arange(width))
    inside = np.arange(width) < np.minimum(length, width)[:, None]
    digit = (text >= 48) & (text <= 57) & inside
    point = (text == 46) & inside
    sign = (text[:, 0] == 45) | (text[:, 0] == 43)
    rest = inside.copy()
    rest[:, 0] &= ~sign
    simple = (length <= width) & ((digit | point) == rest).all(axis=1) & (point.sum(axis=1) <= 1)
    simple &= (digit.sum(axis=1) >= 1) & (digit.sum(axis=1) <= 19)
    values = np.empty(count)
    mantissa = np.zeros(count, dtype=np.uint64)
    places = np.zeros(count, dtype=np.int64)
    seen_point = np.zeros(count, dtype=bool)
    for k in range(width):
        d = digit[:, k]
        mantissa = np.where(d, mantissa * np.uint64(10) + (text[:, k] - 48).astype(np.uint64), mantissa)
        places += d & seen_point
        seen_point |= point[:, k]
    simple &= (mantissa <= np.uint64(1 << 53)) & (places <= 22)
    quick = np.flatnonzero(simple)
    values[quick] = mantissa[quick].astype(np.float64) / np.array(_POWERS_OF_TEN)[places[quick]]
    negative = simple & (text[:, 0] == 45)
    values[negative] = -values[negative]
    others = np.flatnonzero(~simple)
    if others.size:
        allowed = frozenset(b"0123456789.eE+-")
        buffer = a.tobytes() if others.size > 64 else None
        for i in others.tolist():
            s, n = int(start[i]), int(length[i])
            raw = buffer[s:s + n] if buffer is not None else a[s:s + n].tobytes()
            if not set(raw) <= allowed:
                raise NotPlain  # calamine keeps text it cannot read as a number as text
            try:
                values[i] = float(raw)
            except ValueError:
                raise NotPlain from None
    return values


def shared_strings(data: bytes) -> list:
    """The shared-strings table as calamine reads it, from xl/sharedStrings.xml.

    Each item must be ``<si><t>text</t></si>``, ``<si><t xml:space="preserve">text</t></si>``
    or ``<si><t/></si>``, back to back. Text is unescaped as calamine does: line ends become
    ``\\n``, the five XML entities and character references are decoded, then Excel's
    ``_xHHHH_`` escapes; without ``xml:space="preserve"``, spaces, tabs and line breaks at
    either end are trimmed. Rich text, phonetic runs and anything else raise NotPlain.
    """
    first = data.find(b"<si>")
    if first < 0:
        if b"<si" in data:
            raise NotPlain
        return []
    last = data.rfind(b"</si>")
    if last < 0 or not data[last + 5:].lstrip().startswith(b"</sst>"):
        raise NotPlain
    np, _, _ = _numpy()
    byte = np.frombuffer(data, dtype=np.uint8, count=last + 5)[first:]
    control = np.zeros(256, dtype=bool)
    control[[*range(9), 11, 12, *range(14, 32)]] = True
    if control[byte].any():
        raise NotPlain  # control characters: calamine's handling is not mirrored here
    space = np.zeros(256, dtype=bool)
    space[list(b" \t\n\r")] = True
    space = space[byte]
    # Text starting or ending in a space: after a tag's '>' or before a '<' (nothing else is between tags).
    trimmed = bool((space[1:] & (byte[:-1] == 62)).any() or (space[:-1] & (byte[1:] == 60)).any())
    try:
        text = data[first: last + 5].decode("utf-8")
    except UnicodeDecodeError:
        raise NotPlain from None
    if "<!" in text:
        raise NotPlain
    text = text.replace("<si><t/></si>", "<si><t></t></si>").replace(_PRESERVE, "<t>\x01")
    items = text[len("<si><t>"): -len("</t></si>")].split("</t></si><si><t>")
    if text.count("<") != 4 * len(items) or not text.startswith("<si><t>") or not text.endswith("</t></si>"):
        raise NotPlain
    if "\r" in text:
        items = [s.replace("\r\n", "\n").replace("\r", "\n") for s in items]
    if trimmed or "&" in text or "\x01" in text or _ESCAPE.search(text):
        items = [_string(s) for s in items]
    return items


def _string(raw: str) -> str:
    """One shared string's text as calamine gives it (``\\x01`` first: xml:space="preserve")."""
    preserve = raw.startswith("\x01")
    if preserve:
        raw = raw[1:]
    if "&" in raw:
        raw = _ENTITY.sub(_entity, raw)
    if not preserve:
        raw = raw.strip(" \t\n\r")
    if "_x" in raw:  # decoded after trimming, as calamine does: _x0020_ at an end stays a space
        raw = _ESCAPE.sub(_escape, raw)
    return raw


def _entity(match) -> str:
    name, decimal, hexadecimal = match.groups()
    if name:
        return _NAMED[name]
    if decimal is None and hexadecimal is None:
        raise NotPlain  # a bare '&' or an entity calamine might read otherwise
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if (code < 0x20 and code not in (9, 10, 13)) or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise NotPlain
    return chr(code)


def _escape(match) -> str:
    code = int(match.group(1), 16)
    return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)


def number_styles(data: bytes):
    """From xl/styles.xml: ``safe(index) -> bool``, True when calamine reads a number in that style as a number.

    calamine reads a number as a date, time or duration when its cell's style
    (``cellXfs``) has a built-in date format (ids 14-22, 45-47) or a custom format it
    finds date letters in; a style index beyond the table reads as a number. Custom
    formats here count as dates when they hold any of the letters calamine looks at.

    Raises
    ------
    NotPlain
        When the styles are not written plainly enough to tell.
    """
    if b"<!" in data or re.search(rb"<[A-Za-z_][\w.\-]*:", data):
        raise NotPlain
    formats = {}
    for block in _blocks(data, b"numFmts"):
        for attributes in _tags(block, b"numFmt"):
            code = attributes.get(b"formatCode", b"")
            if code:
                formats[attributes.get(b"numFmtId", b"")] = code
    dates = []
    for block in _blocks(data, b"cellXfs"):
        for attributes in _tags(block, b"xf"):
            found = attributes.get(b"numFmtId")
            if found is None:
                dates.append(False)
            elif found in formats:
                dates.append(_DATE_LETTERS.search(formats[found]) is not None)
            else:
                dates.append(found in _DATE_FORMAT_IDS)
    return lambda index: index >= len(dates) or not dates[index]


def _blocks(data: bytes, name: bytes) -> list:
    """The contents of every ``<name>`` element (empty for ``<name/>``)."""
    blocks = re.findall(rb"<" + name + rb"\b" + _ATTRIBUTES + rb"(?:/>|>(.*?)</" + name + rb">)", data, re.S)
    if data.count(b"<" + name + b">") + data.count(b"<" + name + b" ") + data.count(b"<" + name + b"/") != len(blocks):
        raise NotPlain
    return blocks


def _tags(block: bytes, name: bytes) -> list:
    """The attributes (raw bytes, as calamine compares them) of each ``<name ...>`` tag in a block."""
    found = []
    for match in re.finditer(rb"<" + name + rb"\b(" + _ATTRIBUTES + rb")/?>", block):
        text = match.group(1)
        pairs = re.findall(rb'\s([\w:]+)="([^"]*)"', text)
        if len(re.sub(rb'\s[\w:]+="[^"]*"', b"", text).strip()) or len({k for k, _ in pairs}) != len(pairs):
            raise NotPlain  # single quotes, stray text or a repeated attribute
        found.append(dict(pairs))
    return found
