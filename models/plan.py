"""The result records: how a solve ended, and the plan it produced."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd


class Status(enum.Enum):
    """How a solve ended, in the planner's words."""

    OPTIMAL = "proven optimal"
    FEASIBLE = "best found"
    INFEASIBLE = "rules cannot all hold"
    NO_SOLUTION = "no plan found in time"

    @property
    def has_plan(self) -> bool:
        """True when the solve produced a plan."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True)
class SolveOutcome:
    """What a solver run produced.

    Attributes
    ----------
    status : Status
    objective : float or None
        The plan's objective as the solver reports it.
    bound : float or None
        The best proven bound on the optimum (None when unknown).
    gap : float or None
        Relative gap between plan and bound (0 when proven optimal).
    seconds : float
        Solver wall time.
    solver : str
        Solver name and version.
    gap_limit : float
        The gap at which the solver was told to stop.
    unproven_because : str or None
        Why a plan found is not proven within the gap, when not the time limit.
    """

    status: Status
    objective: Optional[float]
    bound: Optional[float]
    gap: Optional[float]
    seconds: float
    solver: str
    gap_limit: float = 0.0
    unproven_because: Optional[str] = None

    def describe(self) -> str:
        """One honest phrase: 'proven optimal (gap 0.0012%)' or 'best found, gap 2.1%'."""
        if self.status is Status.OPTIMAL:
            if self.gap is None or self.gap <= 1e-6:  # within the solvers' own tolerances
                return "proven optimal"
            return f"proven optimal (gap {percent(self.gap)}, limit {percent(self.gap_limit)})"
        if self.status is Status.FEASIBLE:
            gap = "unknown" if self.gap is None else percent(self.gap)
            return f"best found, gap {gap} ({self.unproven_because or 'time limit reached'})"
        return self.status.value


def percent(fraction: float) -> str:
    """A small fraction as a percent with two significant digits: 0.0087%."""
    value = fraction * 100
    if value == 0:
        return "0%"
    if value >= 1:
        return f"{value:.1f}%"
    if value < 1e-4:
        return "<0.0001%"
    digits = 1 - math.floor(math.log10(value))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") + "%"


def share_text(fraction: float) -> str:
    """A share in a sentence: 10%, 12.5%, 0.25% (never 10.00% nor 0.1)."""
    if fraction is None or not math.isfinite(fraction):
        return "-"
    value = fraction * 100
    for digits in (0, 1, 2, 3):
        text = f"{value:.{digits}f}"
        if abs(float(text) - value) < 1e-9 * max(1.0, abs(value)):
            return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"
    return f"{value:.2f}%"


def group_label(dimension: str, group: str) -> str:
    """A group as a client names it: 'Food', 'Micro tier', 'Instagram'."""
    name = group[:1].upper() + group[1:]
    return f"{name} tier" if dimension == "tier" else name


@dataclass
class Plan:
    """A checked plan.

    Attributes
    ----------
    posts : numpy.ndarray
        Posts per creator, aligned with the campaign's creators.
    outcome : SolveOutcome
    engagement, spend : float
        Recomputed by the independent checker.
    rules : pandas.DataFrame
        The checker's evaluation of every rule.
    baseline_posts : numpy.ndarray or None
        The rule-of-thumb plan, for comparison.
    baseline_engagement : float or None
    baseline_violations : list of str
        Rules the rule-of-thumb plan breaks.
    warnings : list of str
    timings : dict
        Seconds per stage.
    explanation : dict or None
    solver_hint : tuple or None
        Solver state that warm-starts re-solves of the same campaign (never reported).
    empty_reason : str or None
        When the best plan books nobody: why, in the planner's words.
    risk : models.risk.RiskFigures or None
        The spread of the plan's value when rates land above or below their estimates
        (None when the input states no uncertainty).
    """

    posts: np.ndarray
    outcome: SolveOutcome
    engagement: float
    spend: float
    rules: pd.DataFrame
    baseline_posts: Optional[np.ndarray] = None
    baseline_engagement: Optional[float] = None
    baseline_violations: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    explanation: Optional[dict] = None  # rule costs, why-not table, unspent budget (see planner.explain)
    solver_hint: Optional[tuple] = None  # where the solver's LP ended, to warm-start re-solves (HiGHS)
    empty_reason: Optional[str] = None  # why nothing is booked, when the best plan is empty
    risk: Optional[object] = None  # models.risk.RiskFigures
    risk_neutral: Optional[object] = None  # for a risk-averse plan: the best-mean plan's figures on the same draws

    @property
    def creators_booked(self) -> int:
        """Number of creators with at least one post."""
        return int((self.posts > 0).sum())
