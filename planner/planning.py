"""One checked plan for one campaign: check -> build -> solve -> extract -> re-check -> compare.

:func:`make_plan` turns validated campaign inputs into a checked :class:`Plan`, or raises an error
that explains why it cannot. The jobs of :mod:`planner.pipeline` and :mod:`planner.scenarios` use it.
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import replace

import numpy as np

from models.baseline import rule_of_thumb_plan
from models.campaign import Campaign
from models.checker import check_plan
from models.plan import Plan, SolveOutcome, Status
from models.matrix import EmptyProgramError
from planner.diagnose import explain_infeasible, precheck
from planner.explain import nothing_booked_reason
from planner.errors import (
    InfeasibleError,
    NoPlanInTimeError,
    PlanCheckError,
)
from planner.solve import build_for_solver, solve_campaign, solver_version


def make_plan(campaign: Campaign, solver=None, time_limit=None, gap=None, program=None, hint=None) -> Plan:
    """Compute the best plan for a campaign and check it.

    Parameters
    ----------
    campaign : Campaign
        Validated inputs.
    solver, time_limit, gap : optional
        Override the campaign's settings (``"highs"``/``"cbc"``, seconds, fraction).
    program : Program, optional
        A program already built for this campaign (sweeps re-use one).
    hint : tuple, optional
        ``Plan.solver_hint`` of a plan of the same campaign with another budget (a warm start).

    Returns
    -------
    Plan

    Raises
    ------
    InfeasibleError
        The rules cannot all hold; the message names them.
    NoPlanInTimeError
        The time limit passed before any plan was found.

    When nobody can be booked (or nobody is worth anything) and booking nobody keeps every
    rule, the empty plan is returned, proven optimal, with ``empty_reason`` saying why.
    """
    settings = campaign.settings
    solver = solver or settings.solver
    time_limit = time_limit if time_limit is not None else settings.time_limit_seconds
    gap = gap if gap is not None else settings.mip_gap
    timings = {}

    conflicts = precheck(campaign)
    if conflicts:
        raise InfeasibleError(*explain_infeasible(campaign, solver, time_limit, conflicts))
    started = time.perf_counter()
    if program is None:
        program = build_campaign_program(campaign, solver)
    if program is None:  # nobody can be booked, or nobody is worth anything
        program = _empty_or_zero(campaign, solver, time_limit, gap)
        if isinstance(program, Plan):
            return program
    timings["build"] = time.perf_counter() - started

    # The rule-of-thumb plan (for comparison) is computed in a thread while the solver runs in
    # its own: pure Python beside native code, so on two cores it costs no wall time.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        rule_of_thumb = pool.submit(_rule_of_thumb, campaign)
        posts, outcome, hint = solve_campaign(campaign, solver, time_limit, gap, program=program, hint=hint)
        timings["solve"] = outcome.seconds
        started = time.perf_counter()
        baseline, baseline_check = rule_of_thumb.result()
        waited = time.perf_counter() - started
    if outcome.status is Status.INFEASIBLE:
        raise InfeasibleError(*explain_infeasible(campaign, solver, time_limit))
    if outcome.status is Status.NO_SOLUTION:
        raise NoPlanInTimeError(
            f"no plan found within the time limit ({time_limit} s) with {solver}; "
            "raise time_limit_seconds or --time-limit"
        )

    started = time.perf_counter()
    check = check_plan(campaign, posts)
    if not check.ok:
        raise PlanCheckError(
            "the solver's plan breaks rules the checker verified independently; "
            "nothing was written: " + "; ".join(check.violations[:5])
        )
    if baseline_check.ok and baseline_check.engagement > check.engagement * (1 + 1e-12) and not minimise(campaign):
        # Within the gap the solver may stop at a plan the rule of thumb beats: keep the better
        # plan; the solver's bound still proves how close it is.
        posts, check = baseline.copy(), baseline_check
        # A true bound is never below a plan that keeps every rule.
        bound = None if outcome.bound is None else max(outcome.bound, check.engagement)
        gap = None if bound is None else max(0.0, (bound - check.engagement) / max(check.engagement, 1e-10))
        outcome = replace(outcome, objective=check.engagement, bound=bound, gap=gap)
    timings["check"] = time.perf_counter() - started + waited  # and any wait for the rule-of-thumb plan
    warnings = []
    if outcome.status is Status.FEASIBLE:
        warnings.append(f"time limit reached: {outcome.describe()}")
    return Plan(
        posts=posts,
        outcome=outcome,
        engagement=check.engagement,
        spend=check.spend,
        rules=check.rules,
        baseline_posts=baseline,
        baseline_engagement=baseline_check.engagement,
        baseline_violations=baseline_check.violations,
        warnings=warnings,
        timings=timings,
        solver_hint=hint,
        empty_reason=nothing_booked_reason(campaign) if not posts.any() else None,
    )


def _empty_or_zero(campaign: Campaign, solver: str, time_limit, gap):
    """When no creator can be booked or none is worth anything: the empty plan, or a program to solve.

    The empty plan is a plan: when it keeps every rule it is the optimum (worth 0, proven), and
    the report says why nothing could be booked. When it breaks a rule (a must-include, a
    minimum), the rules cannot all hold, unless creators worth nothing can meet them: then any
    plan that keeps every rule is optimal, and the program (worth 0 everywhere) is returned.
    """
    posts = np.zeros(len(campaign.creators), dtype=np.int64)
    check = check_plan(campaign, posts)
    if check.ok:
        outcome = SolveOutcome(Status.OPTIMAL, 0.0, 0.0, 0.0, 0.0, solver_version(solver), gap)
        return Plan(posts=posts, outcome=outcome, engagement=0.0, spend=0.0, rules=check.rules,
                    baseline_posts=posts.copy(), baseline_engagement=0.0, baseline_violations=[],
                    empty_reason=nothing_booked_reason(campaign))
    try:
        return build_for_solver(campaign, solver, allow_zero=True)
    except EmptyProgramError:
        raise InfeasibleError(*explain_infeasible(campaign, solver, time_limit)) from None


def _rule_of_thumb(campaign: Campaign):
    """The rule-of-thumb plan and its independent check."""
    baseline = rule_of_thumb_plan(campaign)
    return baseline, check_plan(campaign, baseline)


def minimise(campaign: Campaign) -> bool:
    """True in target mode, where the plan minimises spend instead of maximising engagement."""
    return campaign.settings.target_engagement is not None


def build_campaign_program(campaign: Campaign, solver: str = "highs"):
    """Build the program for the solver; None when nobody can be booked or nobody is worth anything."""
    try:
        return build_for_solver(campaign, solver)
    except EmptyProgramError:
        return None
