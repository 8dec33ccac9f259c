"""Scenarios: named variants of a campaign (another budget, a built-in mix, other rules), as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: Built-in mixes: name -> (dimension, groups, default minimum share of planned spend).
BUILTIN_MIXES = {
    "many-micro": ("tier", ("nano", "micro"), 0.70),
    "few-macro": ("tier", ("macro", "mega"), 0.70),
    "balanced": None,
}


@dataclass(frozen=True)
class Scenario:
    """One variant of the campaign.

    Attributes
    ----------
    name : str
    budget : float, optional
        Replaces total_budget.
    mix : str, optional
        A built-in mix (:data:`BUILTIN_MIXES`).
    mix_share : float, optional
        The mix's minimum share of planned spend (default 70%).
    settings : tuple of (name, value)
        Other Budget-sheet settings replaced.
    groups : tuple of (dimension, group, field, value)
        Group rule fields replaced (or added).
    target_engagement : float, optional
        Minimise spend to reach this engagement instead.
    """

    name: str
    budget: Optional[float] = None
    mix: Optional[str] = None
    mix_share: Optional[float] = None
    settings: tuple = ()
    groups: tuple = ()
    target_engagement: Optional[float] = None
    line: Optional[str] = None  # the frontier line a sweep point belongs to

    @property
    def series(self) -> str:
        """Label of the line this scenario is drawn on."""
        return self.line or self.mix or ("input rules" if self.budget is not None else self.name)

    def rules_key(self) -> tuple:
        """Everything but the budget: scenarios with equal keys can share one model."""
        return (self.mix, self.mix_share, self.settings, self.groups, self.target_engagement)
