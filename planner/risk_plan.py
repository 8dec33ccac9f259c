"""The risk-averse plan: the most engagement in the worst ``risk_level`` share of outcomes (CVaR).

Rockafellar-Uryasev over S sampled outcomes of each creator's rate (the model of
:mod:`models.risk`, seeded by ``random_seed``): maximise ``eta - 1/(alpha S) sum_s u_s`` subject
to ``u_s >= eta - V_s(x)``, ``u_s >= 0`` and every rule of the campaign, where ``V_s(x)`` is the
plan's weighted value in sample s. The program's own rows (budget, shares, counts, package deals,
the post chain) are kept as they are; HiGHS solves the whole program to the campaign's gap.
"""

from __future__ import annotations

import math
import time

import highspy
import numpy as np

from models.campaign import Campaign
from models.checker import check_plan
from models.matrix import build_matrix
from models.plan import Plan, SolveOutcome, Status
from models.risk import figures, outcomes, sigmas
from planner.core import run_highs
from planner.errors import InputError, NoPlanInTimeError, PlanCheckError, Problem
from planner.solve import solver_version

#: The sampled program grows with slots x samples; beyond this many it is refused with what to do.
MAX_ENTRIES = 20_000_000


def multipliers(campaign: Campaign, samples: int, seed: int) -> np.ndarray:
    """S x creators: each creator's realised rate over its estimate, in each sample."""
    sigma = sigmas(campaign)
    rng = np.random.default_rng(seed)
    niches, niche_of = np.unique(campaign.creators["niche"].to_numpy(object), return_inverse=True)
    rho = campaign.settings.risk_correlation
    z = (rng.standard_normal((samples, len(niches)))[:, niche_of] * math.sqrt(rho)
         + rng.standard_normal((samples, len(sigma))) * math.sqrt(1.0 - rho))
    return np.exp(z * sigma - 0.5 * sigma * sigma)


def sampled_cvar(values: np.ndarray, level: float) -> float:
    """The Rockafellar-Uryasev CVaR of sampled values: max over eta of eta - mean((eta - v)+) / level."""
    ordered = np.sort(values)
    k = level * len(ordered)
    whole = int(math.floor(k))
    tail = ordered[:whole].sum() + (k - whole) * (ordered[whole] if whole < len(ordered) else 0.0)
    return float(tail / k)


def cvar_plan(campaign: Campaign, time_limit=None, fallback=None) -> tuple:
    """(posts, outcome): the plan with the highest CVaR over the samples, proven within the gap.

    ``fallback`` (posts per creator of a plan keeping every rule, e.g. the best-mean plan) is kept
    instead when the search stops at its time limit with a plan worse in the worst outcomes.

    Raises
    ------
    InputError
        No uncertainty is given, or the sampled program would be too large.
    NoPlanInTimeError
    """
    settings = campaign.settings
    if sigmas(campaign) is None:
        raise InputError(Problem("Budget", "risk = cvar needs uncertainty: add engagement_rate_low and "
                                           "engagement_rate_high columns, or an engagement_cv setting"))
    program = build_matrix(campaign, allow_zero=True)
    n, m, samples = program.columns, program.rows, settings.risk_samples
    if n * samples > MAX_ENTRIES:
        raise InputError(Problem("Budget", f"risk = cvar over {samples:,} samples of {n:,} post slots is too large "
                                           f"(above {MAX_ENTRIES:,}); lower risk_samples or plan fewer creators"))
    level = settings.risk_level
    sample = multipliers(campaign, samples, settings.random_seed)[:, program.creator] * program.objective  # S x n
    counts = np.diff(program.start)
    # Columns: the slots (their own rows, then one entry per sample row), eta, then u_1..u_S.
    slot_counts = counts + samples
    start = np.zeros(n + 1 + samples + 1, dtype=np.int64)
    np.cumsum(np.concatenate([slot_counts, [samples], np.ones(samples, np.int64)]), out=start[1:])
    index = np.empty(start[-1], dtype=np.int32)
    value = np.empty(start[-1], dtype=float)
    own = np.repeat(start[:n], counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    index[own], value[own] = program.index, program.value
    tail = (start[:n] + counts)[:, None] + np.arange(samples)[None, :]
    index[tail] = (m + np.arange(samples))[None, :]
    value[tail] = sample.T
    eta = start[n] + np.arange(samples)
    index[eta], value[eta] = m + np.arange(samples), -1.0
    index[start[n + 1]:], value[start[n + 1]:] = m + np.arange(samples), 1.0
    costs = np.concatenate([np.zeros(n), [1.0], np.full(samples, -1.0 / (level * samples))])
    lower = np.concatenate([np.zeros(n), [-highspy.kHighsInf], np.zeros(samples)])
    upper = np.concatenate([program.col_upper, [highspy.kHighsInf], np.full(samples, highspy.kHighsInf)])
    row_lower = np.concatenate([program.row_lower, np.zeros(samples)])
    row_upper = np.concatenate([program.row_upper, np.full(samples, highspy.kHighsInf)])
    integrality = np.concatenate([np.ones(n, np.int32), np.zeros(1 + samples, np.int32)])

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", settings.mip_gap)
    highs.passModel(int(n + 1 + samples), int(m + samples), int(start[-1]), 1, -1, 0.0, costs, lower, upper,
                    row_lower, row_upper, start[:-1].astype(np.int32), index, value, integrality)
    started = time.perf_counter()
    run_highs(highs, None if time_limit is None else started + time_limit)
    status, info = highs.getModelStatus(), highs.getInfo()
    seconds = time.perf_counter() - started
    name = solver_version("highs")
    if info.primal_solution_status != 2:
        raise NoPlanInTimeError(f"no risk-averse plan found within the time limit ({time_limit} s); raise it")
    x = np.round(np.asarray(highs.getSolution().col_value[:n], float))
    posts = program.posts(x)
    objective = sampled_cvar(sample @ x, level)
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else float(info.objective_function_value)
    if fallback is not None:
        other = sampled_cvar(sample @ program.columns_of(np.asarray(fallback)), level)
        if other > objective:  # a search stopped early can hold a worse plan than the one in hand
            posts, objective = np.asarray(fallback), other
    bound = max(bound, objective)
    gap = max(0.0, (bound - objective) / max(abs(objective), 1e-10))
    proven = status == highspy.HighsModelStatus.kOptimal or gap <= settings.mip_gap
    outcome = SolveOutcome(Status.OPTIMAL if proven else Status.FEASIBLE, objective, bound, gap, seconds, name,
                           settings.mip_gap)
    return posts, outcome


def risk_averse(campaign: Campaign, neutral: Plan, time_limit=None) -> Plan:
    """The CVaR plan, checked, with both plans' figures on fresh draws (not the samples it was fitted on)."""
    posts, outcome = cvar_plan(campaign, time_limit, fallback=neutral.posts)
    check = check_plan(campaign, posts)
    if not check.ok:
        raise PlanCheckError("the risk-averse plan breaks rules the checker verified: " + "; ".join(check.violations[:5]))
    settings = campaign.settings
    fresh = settings.random_seed + 1
    plan = Plan(posts=posts, outcome=outcome, engagement=check.engagement, spend=check.spend, rules=check.rules,
                baseline_posts=neutral.baseline_posts, baseline_engagement=neutral.baseline_engagement,
                baseline_violations=neutral.baseline_violations, timings={"solve": outcome.seconds})
    plan.risk = figures(outcomes(campaign, posts, seed=fresh), settings.risk_level, fresh)
    plan.risk_neutral = figures(outcomes(campaign, neutral.posts, seed=fresh), settings.risk_level, fresh)
    return plan
