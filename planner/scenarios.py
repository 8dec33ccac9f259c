"""Scenarios: budget sweeps, mixes side by side, the cheapest plan for a target.

A scenario is the campaign with some settings or rules changed. Scenarios run
in parallel across cores; scenarios that differ only in budget (a sweep) share
one built model per worker, re-aimed at each budget.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from models.campaign import Campaign, GroupRule, MixRule
from models.plan import Plan, Status
from models.matrix import MatrixProgram, set_matrix_budget
from models.program import set_budget
from models.scenario import BUILTIN_MIXES, Scenario
from planner.errors import InfeasibleError, InputError, NoPlanInTimeError, Problem
from planner.parallel import run_beside
from planner.planning import build_campaign_program, make_plan
from planner.money import money, set_currency
from planner.numbers import parse_numbers
from planner.words import set_objective

@dataclass
class ScenarioResult:
    """A scenario's campaign and plan, or why it has none."""

    scenario: Scenario
    campaign: Optional[Campaign]
    plan: Optional[Plan]
    status: Status
    message: str = ""
    order: int = 0
    extra: dict = field(default_factory=dict)


def apply_scenario(campaign: Campaign, scenario: Scenario) -> Campaign:
    """The campaign with the scenario's changes applied.

    Raises
    ------
    InputError
        When the scenario names a mix or group the campaign does not have.
    """
    settings = dict(scenario.settings)
    if scenario.budget is not None:
        settings["total_budget"] = scenario.budget
    if scenario.target_engagement is not None:
        # The budget is what is minimised: shares are of the plan's own spend.
        settings["target_engagement"] = scenario.target_engagement
        settings["share_basis"] = "spend"
    result = campaign.with_settings(**settings) if settings else campaign

    groups = list(result.groups)
    for dimension, group, name, value in scenario.groups:
        for k, rule in enumerate(groups):
            if rule.dimension == dimension and rule.group.casefold() == group.casefold():
                groups[k] = replace(rule, **{name: value})
                break
        else:
            groups.append(replace(GroupRule(dimension, group), **{name: value}))
    mixes = list(result.mixes)
    if scenario.mix:
        mixes.append(builtin_mix(scenario.mix, scenario.mix_share, result))
    return replace(result, groups=tuple(groups), mixes=tuple(mixes))


def builtin_mix(name: str, share: Optional[float], campaign: Campaign) -> Optional[MixRule]:
    """The MixRule of a built-in mix (None for balanced)."""
    key = name.casefold()
    if key not in BUILTIN_MIXES:
        raise InputError(Problem("Scenarios", f"unknown mix {name!r}; choose one of: {', '.join(BUILTIN_MIXES)}"))
    spec = BUILTIN_MIXES[key]
    if spec is None:
        return None
    dimension, groups, default_share = spec
    known = {band.name.casefold(): band.name for band in campaign.tiers}
    missing = [g for g in groups if g not in known]
    if missing:
        raise InputError(
            Problem("Tiers", f"mix {name} needs the tiers {', '.join(groups)}; "
                             f"the Tiers sheet lacks {', '.join(missing)}")
        )
    return MixRule(key, dimension, tuple(known[g] for g in groups), min_share=default_share if share is None else share)


def mix_scenarios(names, budget=None, mix_share=None) -> list:
    """Scenarios for built-in mixes by name."""
    return [Scenario(name=n, budget=budget, mix=n if n != "balanced" else None, mix_share=mix_share) for n in names]


def sweep_scenarios(budgets, mixes=(None,), mix_share=None) -> list:
    """One scenario per (mix, budget); names like '$40,000' or 'many-micro @ $40,000'."""
    scenarios = []
    for mix in mixes:
        for budget in budgets:
            label = f"{money(budget, 0)}" if mix is None else f"{mix} @ {money(budget, 0)}"
            rule = None if mix in (None, "balanced") else mix
            scenarios.append(Scenario(name=label, budget=float(budget), mix=rule, mix_share=mix_share, line=mix))
    return scenarios


def parse_budgets(text: str) -> list:
    """'20000:200000:20000' (start:stop:step, inclusive) or '20k,50k,$80,000' -> budgets.

    Raises
    ------
    ValueError
        With a message saying what was wrong.
    """
    def money(part):
        parsed = parse_numbers([part.strip()])
        if parsed.bad[0] or parsed.blank[0] or parsed.percent[0] or parsed.values[0] <= 0:
            raise ValueError(f"{part.strip()!r} is not a positive amount (e.g. 20000, 20k, $20,000)")
        return float(parsed.values[0])

    text = text.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError("write a range as start:stop:step, e.g. 20000:200000:20000")
        start, stop, step = (money(p) for p in parts)
        if stop < start:
            raise ValueError("the range's stop is below its start")
        count = int(np.floor((stop - start) / step + 1e-9)) + 1
        if count > 10_000:
            raise ValueError(f"{count} budgets is too many; use a larger step")
        return [start + k * step for k in range(count)]
    budgets = [money(p) for p in _budget_parts(text) if p.strip()]
    if not budgets:
        raise ValueError("give at least one budget")
    return budgets


def _budget_parts(text: str) -> list:
    """A list of budgets split at ';' and ','; a ',' before three digits groups thousands only
    after a currency sign ($50,000): after plain digits (100,200) it could be either, and is refused."""
    parts = []
    for piece in re.split(r"[;,]", text):
        grouping = re.fullmatch(r"\s*\d{3}(?:\.\d+)?\s*", piece) is not None
        if parts and grouping and re.fullmatch(r"\s*[$€£¥]\s*\d{1,3}(?:,\d{3})*\s*", parts[-1]):
            parts[-1] += "," + piece
        elif parts and grouping and re.fullmatch(r"\s*\d+(?:,\d{3})*\s*", parts[-1]):
            shown = f"{parts[-1].strip()},{piece.strip()}"
            raise ValueError(f"'{shown}' could be one budget or two: write one budget without the comma "
                             f"({shown.replace(',', '')}) or with a currency sign (${shown}), and separate budgets "
                             f"with ';' or write them with a suffix ({parts[-1].strip()}k,{piece.strip()}k)")
        else:
            parts.append(piece)
    return parts


# --- running -------------------------------------------------------------------------------

_WORKER = {}


def _init_worker(campaign, options):
    """Process-pool initialiser: the base campaign and options, sent once per worker."""
    _WORKER.clear()
    _WORKER.update(campaign=campaign, options=options, programs={}, hints={})
    set_currency(campaign.settings.currency)
    set_objective(campaign.settings.objective)


def _run_one(order: int, scenario: Scenario) -> ScenarioResult:
    """Run one scenario in this process, re-using a built model for same-rules scenarios."""
    base, options, programs, hints = (_WORKER[k] for k in ("campaign", "options", "programs", "hints"))
    campaign = apply_scenario(base, scenario)
    try:
        program = None
        key = scenario.rules_key()
        largest = options.get("largest_budget", {}).get(key)
        solver = options.get("solver") or campaign.settings.solver
        if largest is not None and scenario.target_engagement is None:
            if key not in programs:
                programs[key] = build_campaign_program(campaign.with_settings(total_budget=largest), solver)
            program = programs[key]
            if isinstance(program, MatrixProgram):
                program = set_matrix_budget(program, campaign)  # None: caps moved, make_plan rebuilds
            else:
                set_budget(program, campaign)
        # Scenarios of the same rules start their LP where the last one in this process ended.
        plan = make_plan(campaign, options.get("solver"), options.get("time_limit"), options.get("gap"),
                         program=program, hint=hints.get(key))
        hints[key] = plan.solver_hint
        return ScenarioResult(scenario, campaign, plan, plan.outcome.status, order=order)
    except InfeasibleError as exc:
        return ScenarioResult(scenario, campaign, None, Status.INFEASIBLE, "; ".join(exc.explanation), order=order)
    except NoPlanInTimeError as exc:
        return ScenarioResult(scenario, campaign, None, Status.NO_SOLUTION, str(exc), order=order)


def _run_parallel_one(order: int, scenario: Scenario) -> ScenarioResult:
    """:func:`_run_one` in a worker: without the campaign and the solver's warm start, which the
    caller has or does not need (a campaign pickles to about 100 bytes a creator)."""
    result = _run_one(order, scenario)
    result.campaign = None
    if result.plan is not None:
        result.plan.solver_hint = None
    return result


def run_scenarios(campaign: Campaign, scenarios, solver=None, time_limit=None, gap=None, workers=None, progress=None):
    """Plan every scenario; in parallel when there are several and more than one core.

    Parameters
    ----------
    campaign : Campaign
        The validated base campaign.
    scenarios : list of Scenario
    solver, time_limit, gap : optional
        Overrides of the campaign's settings.
    workers : int, optional
        Processes to use (default: the number of cores, at most the number of scenarios).
    progress : callable, optional
        Called with each finished :class:`ScenarioResult`.

    Returns
    -------
    list of ScenarioResult
        In the order of ``scenarios``.

    Raises
    ------
    InputError
        When a scenario is malformed (checked before anything runs).
    """
    for scenario in scenarios:  # fail fast, before any solve, on scenarios that cannot apply
        apply_scenario(campaign, scenario)
    largest = {}
    same_rules = {}
    for scenario in scenarios:
        same_rules.setdefault(scenario.rules_key(), []).append(scenario)
    for key, group in same_rules.items():
        if len(group) > 1 and all(s.budget is not None for s in group):
            largest[key] = max(s.budget for s in group)
    options = {"solver": solver, "time_limit": time_limit, "gap": gap, "largest_budget": largest}
    workers = workers or min(os.cpu_count() or 1, len(scenarios))
    results = []
    if workers <= 1 or len(scenarios) <= 1:
        _init_worker(campaign, options)
        for order, scenario in enumerate(scenarios):
            results.append(_run_one(order, scenario))
            if progress:
                progress(results[-1])
    else:
        tasks = list(enumerate(scenarios))
        results = run_beside(_run_parallel_one, tasks, workers, _init_worker, (campaign, options), progress)
        for result in results:  # workers send back the plan only; the campaign is rebuilt here
            result.campaign = apply_scenario(campaign, result.scenario)
    results.sort(key=lambda r: r.order)
    if not any(r.plan is not None for r in results):
        first = results[0]
        if first.status is Status.INFEASIBLE:
            raise InfeasibleError([f"{r.scenario.name}: {r.message}" for r in results])
        raise NoPlanInTimeError("no scenario found a plan within the time limit; raise --time-limit")
    return results


def marginal_per_thousand(results) -> list:
    """Engagement bought by each extra $1,000 between neighbouring budgets of the same rules."""
    out = [None] * len(results)
    by_rules = {}
    for k, result in enumerate(results):
        if result.plan is not None and result.scenario.target_engagement is None:
            by_rules.setdefault(result.scenario.rules_key(), []).append(k)

    def budget(k):
        return results[k].campaign.settings.total_budget

    for indices in by_rules.values():
        indices.sort(key=budget)
        for previous, current in zip(indices, indices[1:]):
            step = budget(current) - budget(previous)
            if step > 0:
                gain = results[current].plan.engagement - results[previous].plan.engagement
                out[current] = gain / step * 1000.0
    return out
