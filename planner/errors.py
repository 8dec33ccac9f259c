"""Errors a user can cause, each with its exit code and a message that says the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: Exit codes, documented in the README.
EXIT_OK = 0
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

    def __str__(self) -> str:
        where = [self.sheet] if self.sheet else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = ", ".join(where)
        if self.value is not None and self.value != "":
            text += f", value {self.value!r}"
        return f"{text}: {self.message}" if text else self.message


class InputError(PlannerError):
    """The input cannot be used; carries every problem found, not just the first."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def messages(self) -> list:
        return [str(p) for p in self.problems]


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


class OutputError(PlannerError):
    """The output path cannot be used."""

    exit_code = EXIT_BAD_INPUT
