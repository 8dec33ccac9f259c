"""The planner as a Python library: the same validation, solve, check and report as the CLI,
from pandas DataFrames (or a workbook) in a notebook.

    >>> from planner import plan
    >>> result = plan(creators, budget=25_000, niches=niches, max_share_per_creator=0.08)
    >>> result.status, result.engagement, result.allocation.head()

DataFrames are validated exactly as a workbook's sheets are: an :class:`~planner.errors.InputError`
lists every problem with its row (the DataFrame's index label), column and value.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from models.campaign import Campaign
from models.plan import Plan
from models.risk import plan_risk
from planner.errors import InputError, Problem
from planner.money import set_currency
from planner.pipeline import (
    compare_scenarios,
    explain_plan,
    load_campaign,
    make_plan,
    run_info,
)
from planner.report import allocation_table, build_workbook, check_output_path, save_atomically
from planner.risk_plan import risk_averse
from planner.scenario_report import build_scenarios_workbook, scenarios_table
from planner.scenarios import run_scenarios, sweep_scenarios
from planner.validate import Validation, validate
from planner.words import set_objective, status_words
from planner.workbook import RawWorkbook, SheetRows

#: What Run info names as the input of a plan made from DataFrames.
FROM_DATAFRAMES = "(pandas DataFrames)"


@dataclass
class Result:
    """A checked plan and the campaign it was made for.

    Attributes
    ----------
    campaign : Campaign
    plan : Plan
        The plan record (posts per creator, the solve's outcome, the checker's rules table).
    """

    campaign: Campaign
    plan: Plan
    validation: Optional[Validation] = None
    source: str = FROM_DATAFRAMES

    @property
    def status(self) -> str:
        """``"proven optimal"`` or ``"best found"`` (a time limit stopped the proof first)."""
        return self.plan.outcome.status.value

    @property
    def status_words(self) -> str:
        """The status as the client report states it."""
        return status_words(self.plan.outcome)

    @property
    def engagement(self) -> float:
        """Weighted expected engagement: what the plan maximises."""
        return self.plan.engagement

    @property
    def spend(self) -> float:
        return self.plan.spend

    @property
    def gap(self) -> Optional[float]:
        """Relative distance from the proven bound: (bound - engagement) / engagement."""
        return self.plan.outcome.gap

    @property
    def bound(self) -> Optional[float]:
        """No plan keeping every rule can reach more than this."""
        return self.plan.outcome.bound

    @property
    def risk(self):
        """Mean, P10, P50, P90 and CVaR of the plan's value over 10,000 draws (None without uncertainty)."""
        return self.plan.risk

    @property
    def allocation(self) -> pd.DataFrame:
        """One row per booked creator: posts, spend, expected engagement, cost per engagement, ..."""
        return allocation_table(self.campaign, self.plan)

    @property
    def rules(self) -> pd.DataFrame:
        """Every rule: its words, limit, planned value, room left, whether it holds and binds."""
        return self.plan.rules.copy()

    def to_excel(self, path) -> Path:
        """Write the plan workbook (the same report as ``planner plan``) to an .xlsx path."""
        path = check_output_path(path)
        validation = self.validation or Validation()
        info = run_info(self.source, self.campaign, validation, self.plan.warnings, self.plan.timings,
                        sha256="(not a file)" if self.source == FROM_DATAFRAMES else None)
        save_atomically(build_workbook(self.campaign, self.plan, info), path)
        return path

    def __repr__(self) -> str:
        return (f"<Result {self.status}: engagement {self.engagement:,.0f}, spend {self.spend:,.2f}, "
                f"{self.plan.creators_booked} creators>")

    def _repr_html_(self) -> str:
        head = (f"<p><b>{html.escape(self.status_words)}</b>: expected engagement {self.engagement:,.0f} "
                f"for {self.spend:,.2f} ({self.plan.creators_booked} creators, {int(self.plan.posts.sum())} posts)</p>")
        shown = self.allocation[["creator", "platform", "niche", "tier", "posts", "spend", "expected_engagement"]]
        return head + shown.head(20).to_html(index=False, float_format=lambda v: f"{v:,.2f}")


@dataclass
class Scenarios:
    """The plans of several scenarios (a sweep or a comparison)."""

    results: list
    campaign: Campaign
    title: str
    frontier: Optional[list] = None
    validation: Optional[Validation] = None
    source: str = FROM_DATAFRAMES

    @property
    def table(self) -> pd.DataFrame:
        """One row per scenario: budget, spend, engagement, creators, tier shares, status, gap."""
        return scenarios_table(self.results, [band.name for band in self.campaign.tiers])

    def __getitem__(self, name: str) -> Result:
        """The plan of the scenario with this name."""
        for result in self.results:
            if result.scenario.name == name and result.plan is not None:
                return Result(result.campaign, result.plan, self.validation, self.source)
        raise KeyError(name)

    def to_excel(self, path) -> Path:
        """Write the scenarios workbook (the same report as ``planner sweep`` / ``compare``)."""
        path = check_output_path(path)
        info = run_info(self.source, self.campaign, self.validation or Validation(), [], {},
                        sha256="(not a file)" if self.source == FROM_DATAFRAMES else None)
        save_atomically(build_scenarios_workbook(self.results, info, self.title, frontier_results=self.frontier), path)
        return path

    def _repr_html_(self) -> str:
        return f"<p><b>{html.escape(self.title)}</b></p>" + self.table.to_html(index=False)


def read_workbook(path, budget=None, decimal_separator=None) -> Campaign:
    """Read and validate an input workbook or CSV, as ``planner plan`` does.

    Raises
    ------
    InputError
        Every problem, each naming its sheet, row, column and value.
    """
    campaign, _, _ = load_campaign(path, budget=budget, decimal_separator=decimal_separator)
    return campaign


def plan(creators, budget=None, niches=None, tiers=None, platforms=None, explain=False, custom_rules=None,
         **settings) -> Result:
    """Plan a campaign from DataFrames (or a workbook path) and check the plan.

    Parameters
    ----------
    creators : pandas.DataFrame or str or Path
        The Creators table (columns as on the Creators sheet: creator, niche, followers,
        engagement_rate, cost_per_post, and optional ones), or an input workbook / CSV.
    budget : float, optional
        total_budget (required for DataFrames; for a workbook it overrides the Budget sheet).
    niches, tiers, platforms : pandas.DataFrame, optional
        Group rules, as on the Niches / Tiers / Platforms sheets.
    custom_rules : pandas.DataFrame, optional
        Rules of the planner's own, as on the Custom rules sheet (rule, measure, per, where,
        weight_column, min, max, min_share, max_share).
    explain : bool
        Also price each binding rule and say why top creators were left out (re-solves).
    **settings
        Any Budget-sheet setting: objective, max_share_per_creator, min_creators, max_creators,
        repeat_post_decay, share_basis, solver, time_limit_seconds, mip_gap, currency, ...

    Returns
    -------
    Result

    Raises
    ------
    InputError
        The input cannot be used (every problem listed on ``.problems``).
    InfeasibleError
        The rules cannot all hold (``.explanation``, ``.suggestions``).
    NoPlanInTimeError
        A time limit passed before any plan was found.
    """
    campaign, validation, source = _campaign(creators, budget, niches, tiers, platforms, settings, custom_rules)
    started = time.perf_counter()
    result = make_plan(campaign)
    result.warnings = validation.warnings + result.warnings
    neutral = result
    if campaign.settings.risk == "cvar":  # the best mean of the worst outcomes, beside the best-mean plan
        result = risk_averse(campaign, neutral)
        result.warnings = neutral.warnings + result.warnings
    else:
        result.risk = plan_risk(campaign, result.posts)
    if explain and np.array_equal(result.posts, neutral.posts):  # priced for the mean: the best-mean plan
        result.explanation = explain_plan(campaign, neutral)
    result.timings["api"] = time.perf_counter() - started
    return Result(campaign, result, validation, source)


def sweep(creators, budgets, mixes=(), mix_share=None, niches=None, tiers=None, platforms=None, workers=1,
          **settings) -> Scenarios:
    """Plan once per budget (and per built-in mix, if given): the frontier of engagement by budget.

    ``budgets`` is a list of amounts; ``mixes`` names built-in mixes (many-micro, few-macro, balanced).
    Other parameters as for :func:`plan` (``budget`` may be left out: the largest swept is used).
    """
    budgets = [float(b) for b in budgets]
    settings.setdefault("budget", max(budgets) if budgets else None)
    budget = settings.pop("budget")
    campaign, validation, source = _campaign(creators, budget, niches, tiers, platforms, settings)
    scenarios = sweep_scenarios(budgets, [m.casefold() for m in mixes] or [None], mix_share)
    results = run_scenarios(campaign, scenarios, workers=workers)
    return Scenarios(results, campaign, f"Budget sweep: {len(budgets)} budgets", results, validation, source)


def compare(creators, mixes=None, budget=None, mix_share=None, niches=None, tiers=None, platforms=None,
            frontier_points=1, workers=1, **settings) -> Scenarios:
    """Plan mixes side by side at one budget: many-micro, few-macro and balanced by default.

    Other parameters as for :func:`plan`; ``frontier_points`` budgets per mix (50%-150%) for the frontier.
    """
    campaign, validation, source = _campaign(creators, budget, niches, tiers, platforms, settings)
    chosen, extra = compare_scenarios(campaign, None, mixes or (), mix_share, None, frontier_points)
    everything = run_scenarios(campaign, list(chosen) + list(extra), workers=workers)
    return Scenarios(everything[: len(chosen)], campaign, "Mix comparison", everything, validation, source)


def _campaign(creators, budget, niches, tiers, platforms, settings, custom_rules=None):
    """A validated campaign from DataFrames or a file, with the settings given as keywords."""
    if isinstance(creators, (str, Path)):
        overrides = {k: settings.pop(k) for k in ("solver", "time_limit_seconds", "mip_gap", "decimal_separator")
                     if k in settings}
        if settings or any(frame is not None for frame in (niches, tiers, platforms, custom_rules)):
            raise TypeError("with a workbook path, give rules and settings in the workbook; only budget, solver, "
                            "time_limit_seconds, mip_gap and decimal_separator may be passed")
        campaign, validation, _ = load_campaign(creators, budget, overrides.get("solver"),
                                                overrides.get("time_limit_seconds"), overrides.get("mip_gap"),
                                                decimal_separator=overrides.get("decimal_separator"))
        return campaign, validation, str(creators)
    frames = {"creators": creators, "niches": niches, "tiers": tiers, "platforms": platforms,
              "custom_rules": custom_rules}
    for name, frame in frames.items():
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, not {type(frame).__name__}")
    if budget is not None:
        settings = {"total_budget": budget, **settings}
    elif "total_budget" not in settings:
        raise InputError(Problem("settings", "the budget is missing; pass budget=50000 (the campaign's total budget)"))
    sheets = {key: _rows(frame) for key, frame in frames.items() if frame is not None}
    sheets["budget"] = SheetRows([["setting", "value"], *[[key, value] for key, value in settings.items()]])
    names = {"creators": "Creators", "budget": "settings", "niches": "Niches", "tiers": "Tiers",
             "platforms": "Platforms", "custom_rules": "Custom rules"}
    raw = RawWorkbook(Path(FROM_DATAFRAMES), "xlsx", sheets, {k: names[k] for k in sheets})
    try:
        campaign, validation = validate(raw)
    except InputError as exc:
        raise InputError([_at_index(p, frames, names) for p in exc.problems]) from None
    set_currency(campaign.settings.currency)
    set_objective(campaign.settings.objective)
    return campaign, validation, FROM_DATAFRAMES


def _rows(frame: pd.DataFrame) -> SheetRows:
    """A DataFrame as a sheet's rows: the header, then plain Python values (None for missing)."""
    values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return SheetRows([[str(c) for c in frame.columns], *values])


def _at_index(problem: Problem, frames: dict, names: dict) -> Problem:
    """A problem's row as the DataFrame's index label (the sheet row counts the header as row 1)."""
    key = next((k for k, v in names.items() if v == problem.sheet), None)
    frame = frames.get(key)
    if frame is None or problem.row is None:
        return replace(problem, row=None) if key == "budget" else problem
    position = problem.row - 2
    label = frame.index[position] if 0 <= position < len(frame) else problem.row
    return replace(problem, row=label)
