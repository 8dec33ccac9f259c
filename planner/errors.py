"""Errors a user can cause, each with its exit code and a message that says the fix."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Optional

#: Exit codes, documented in the README.
EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_INFEASIBLE = 3
EXIT_NO_PLAN_IN_TIME = 4


class PlannerError(Exception):
    """Base of every error the CLI turns into a clean message."""

    exit_code = EXIT_BAD_INPUT

    def messages(self) -> list:
        """Lines to print, one per problem."""
        return [str(self)]


@dataclass(frozen=True)
class Problem:
    """One problem in the input: where it is, what was found, what to do."""

    sheet: str
    message: str
    row: Optional[int] = None
    column: Optional[str] = None
    value: object = None
    #: Problems with the same message but a different group (one duplicated handle, say) stay apart when collapsed.
    group: object = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return _line(self.sheet, [self.row] if self.row is not None else [], self.column,
                     [] if _blank(self.value) else [self.value], self.message)


#: Rows (and distinct values) named in one collapsed message before "and N more".
ROWS_SHOWN = 10
VALUES_SHOWN = 3


def shown_value(value) -> str:
    """A cell's value as the user typed it: 60000 not 60000.0, 12:30 not datetime.time(12, 30), text in quotes."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:
            return "(not a number)"
        if value in (float("inf"), float("-inf")):
            return "infinity" if value > 0 else "-infinity"
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, int):
        return str(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return shown_value(value.item())
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M" if (value.hour, value.minute, value.second) != (0, 0, 0) else "%Y-%m-%d")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, datetime.timedelta):
        return str(value)
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f'"{text}"'


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _rows_text(rows: list) -> str:
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:ROWS_SHOWN])
    more = len(rows) - ROWS_SHOWN
    if more > 0:
        return f"rows {shown} and {more:,} more"
    head, last = shown.rsplit(", ", 1)
    return f"rows {head} and {last}"


def _line(sheet, rows, column, values, message) -> str:
    where = [sheet] if sheet else []
    if rows:
        where.append(_rows_text(rows))
    if column:
        where.append(f"column '{column}'")
    text = ", ".join(where)
    if values:
        shown = [shown_value(v) for v in values[:VALUES_SHOWN]]
        more = len(values) - VALUES_SHOWN
        label = "value" if len(values) == 1 else "values"
        text += f", {label} {', '.join(shown)}" + (f" and {more:,} more" if more > 0 else "")
    return f"{text}: {message}" if text else message


def collapsed(problems) -> list:
    """Lines to print: sorted by sheet (in the order sheets were first met) and row; the same message on the
    same sheet and column told once, with its rows (the first few and a count) and its distinct values."""
    sheet_order = {}
    groups = {}
    for p in problems:
        sheet_order.setdefault(p.sheet, len(sheet_order))
        key = (p.sheet, p.column, p.message, p.group)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ([], {}, [])
        rows, values, order = group
        if p.row is not None:
            rows.append(p.row)
        if not _blank(p.value):
            marker = shown_value(p.value)
            if marker not in values:
                values[marker] = p.value
        order.append(p.row if p.row is not None else -1)
    lines = []
    for (sheet, column, message, _), (rows, values, order) in groups.items():
        rows = sorted(set(rows))
        sort_key = (sheet_order[sheet], min(order), column or "")
        lines.append((sort_key, _line(sheet, rows, column, list(values.values()), message)))
    lines.sort(key=lambda item: item[0])
    return [line for _, line in lines]


class InputError(PlannerError):
    """The input cannot be used; carries every problem found, not just the first."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the input")

    def __str__(self) -> str:
        return "\n".join(self.messages())

    def messages(self) -> list:
        return collapsed(self.problems)


class InfeasibleError(PlannerError):
    """The rules cannot all hold; carries the explanation."""

    exit_code = EXIT_INFEASIBLE

    def __init__(self, explanation: list, suggestions=()):
        self.explanation = list(explanation)
        self.suggestions = list(suggestions)
        self.written = None  # the Diagnosis workbook, when one was written
        super().__init__("\n".join(self.explanation))

    def messages(self) -> list:
        lines = ["The rules cannot all hold:"] + [f"  - {line}" for line in self.explanation]
        if self.written:
            lines.append(f"  (diagnosis written to {self.written})")
        return lines


class NoPlanInTimeError(PlannerError):
    """The solver found no plan before the time limit."""

    exit_code = EXIT_NO_PLAN_IN_TIME


class PlanCheckError(PlannerError):
    """The solver's plan failed the independent check: a defect, never written."""

    exit_code = 70


class SolverUnavailableError(PlannerError):
    """The named solver cannot run on this machine."""

    exit_code = EXIT_BAD_INPUT


class OutputError(PlannerError):
    """The output path cannot be used."""

    exit_code = EXIT_BAD_INPUT


#: What a reader library's error says, in words a planner can act on (first match wins).
_DAMAGE_WORDS = (
    (("worksheetnotfound", "sheet not found", "no sheet"), "a sheet the workbook lists is missing from the file"),
    (("zip", "archive", "deflate", "crc", "eof", "truncat"),
     "the file is cut short or its compressed contents are damaged"),
    (("sharedstring", "shared string", "sst"), "its table of shared text is damaged"),
    (("style", "numfmt", "number format"), "its cell formats are damaged"),
    (("xml", "attribute", "tag", "utf", "encoding"), "part of its contents is not well-formed"),
    (("cfb", "ole", "xls", "biff"), "the old-style Excel (.xls) contents are damaged"),
)


def damage_in_words(exc: BaseException) -> str:
    """A reader's failure told as what is broken, never as the library's exception name."""
    text = f"{type(exc).__name__} {exc}".casefold()
    for needles, words in _DAMAGE_WORDS:
        if any(needle in text for needle in needles):
            return words
    return "its contents are damaged"
