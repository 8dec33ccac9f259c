"""The risk-averse plan: the most engagement in the worst ``risk_level`` share of outcomes (CVaR).

Rockafellar-Uryasev over S sampled outcomes of each creator's rate (the model of
:mod:`models.risk`, seeded by ``random_seed``): maximise ``eta - 1/(alpha S) sum_s u_s`` subject
to ``u_s >= eta - V_s(x)``, ``u_s >= 0`` and every rule of the campaign, where ``V_s(x)`` is the
plan's weighted value in sample s. The program's own rows (budget, shares, counts, package deals,
the post chain) are kept as they are; HiGHS solves the whole program to the campaign's gap.

A plan fitted to S samples can fit their accidents: with S = 500 and alpha = 10% its CVaR rests on
50 samples. So the plan found is held out on draws it was not fitted on (``random_seed + 2``) beside
the best-mean plan, and kept only where it does better there; the report's figures use yet other
draws (``random_seed + 1``).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import highspy
import numpy as np

from models.campaign import Campaign
from models.checker import check_plan, plan_engagement
from models.matrix import build_matrix, effective_max_posts
from models.plan import Plan, SolveOutcome, Status, share_text
from models.risk import CHUNK_CELLS, DRAWS, figures, outcomes, sigmas
from planner.core import run_highs
from planner.errors import InputError, NoPlanInTimeError, PlanCheckError, Problem
from planner.solve import solver_version

#: The plan found is held out on the draws of ``random_seed + HELD_OUT`` (the report's are ``+ 1``).
HELD_OUT = 2
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


def worst_weights(values: np.ndarray, level: float) -> np.ndarray:
    """Each sample's weight in the mean of the worst ``level`` share: 1 for the worst floor(level S),
    the fraction left for the next one, 0 for the rest (divide by level S for the mean)."""
    k = level * len(values)
    whole = math.floor(k)
    order = np.argsort(values, kind="stable")
    weight = np.zeros(len(values))
    weight[order[:whole]] = 1.0
    if whole < len(values) and k > whole:
        weight[order[whole]] = k - whole
    return weight


def sampled_cvar(values: np.ndarray, level: float) -> float:
    """The Rockafellar-Uryasev CVaR of sampled values: max over eta of eta - mean((eta - v)+) / level."""
    return float(worst_weights(values, level) @ values / (level * len(values)))


def cvar_plan(campaign: Campaign, time_limit=None, fallback=None) -> tuple:
    """(posts, outcome): the plan with the highest CVaR over the samples, proven within the gap.

    The Rockafellar-Uryasev program is solved by outer approximation: its optimum equals
    ``max theta`` subject to the campaign's rules and ``theta <= mean_{s in K} V_s(x)`` for every set
    K of ``level x S`` samples (the CVaR is the smallest such mean), so the program starts from
    one of these rows and adds the one of the worst samples at each plan found until the plan's
    CVaR meets the bound (Kelley's method: the LP first, then the MILP with the rows the LP
    needed, warm-started from ``fallback``). Each row is a dense copy of the objective instead of
    S sample rows and S extra columns, so HiGHS solves a program the size of the campaign's own.
    Between the two, slots whose LP reduced cost shows they cannot lift a plan above the best one in
    hand are held at their LP value (valid for every row added later, which only lowers values).

    ``fallback`` (posts per creator of a plan keeping every rule, e.g. the best-mean plan) starts
    the search and is kept when no better plan is found in time.

    Raises
    ------
    InputError
        No uncertainty is given, or the sampled program would be too large.
    NoPlanInTimeError
    """
    settings = campaign.settings
    if settings.objective not in ("engagement", "conversions"):
        raise InputError(Problem("Budget", f"risk = cvar plans for the spread of engagement (or conversions); the "
                                           f"objective {settings.objective} does not move with the engagement rate: "
                                           "use risk = neutral"))
    if sigmas(campaign) is None:
        raise InputError(Problem("Budget", "risk = cvar needs uncertainty: add engagement_rate_low and "
                                           "engagement_rate_high columns, or an engagement_cv setting"))
    program = build_matrix(campaign, allow_zero=True)
    n, samples = program.columns, settings.risk_samples
    if n * samples > MAX_ENTRIES:
        raise InputError(Problem("Budget", f"risk = cvar over {samples:,} samples of {n:,} post slots is too large "
                                           f"(above {MAX_ENTRIES:,}); lower risk_samples or plan fewer creators"))
    level, gap = settings.risk_level, settings.mip_gap
    sample = multipliers(campaign, samples, settings.random_seed)[:, program.creator] * program.objective  # S x n
    started = time.perf_counter()
    deadline = None if time_limit is None else started + time_limit
    search = _Search(program, sample, level)
    if fallback is not None:
        search.offer(program.columns_of(np.asarray(fallback)))
    bound = search.relaxation(deadline)
    if bound is not None and search.best is not None:
        search.fix_by_reduced_cost(bound)
    bound = search.integer(deadline, gap, bound)
    seconds = time.perf_counter() - started
    if search.best is None:
        raise NoPlanInTimeError(f"no risk-averse plan found within the time limit ({time_limit} s); raise it")
    objective = search.best_value
    bound = objective if bound is None else max(bound, objective)
    found_gap = max(0.0, (bound - objective) / max(abs(objective), 1e-10))
    status = Status.OPTIMAL if bound - objective <= _room(gap, objective) else Status.FEASIBLE
    outcome = SolveOutcome(status, objective, bound, found_gap, seconds, solver_version("highs"), gap)
    return program.posts(search.best), outcome


def _room(gap: float, value: float) -> float:
    """How far below the bound a plan may be and still count as proven: the gap, and never less than
    the solver's own precision (with mip_gap 0 an exact tie is all the arithmetic can show)."""
    return max(gap, 1e-9) * max(abs(value), 1.0)


class _Search:
    """The outer approximation of the CVaR program: the campaign's rows, theta, and the cut rows."""

    def __init__(self, program, sample: np.ndarray, level: float):
        self.program, self.sample, self.level = program, sample, level
        n = program.columns
        self.n = n
        self.best, self.best_value = None, -math.inf
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        inf = highspy.kHighsInf
        passed = highs.passModel(int(n + 1), int(program.rows), int(program.start[-1]), 1, -1, 0.0,
                        np.concatenate([np.zeros(n), [1.0]]), np.concatenate([np.zeros(n), [-inf]]),
                        np.concatenate([program.col_upper, [inf]]).astype(float),
                        program.row_lower.astype(float), program.row_upper.astype(float),
                        program.start.astype(np.int32), program.index.astype(np.int32),  # theta: no entries
                        program.value.astype(float), np.zeros(n + 1, np.int32))
        if passed != highspy.HighsStatus.kOk:
            raise RuntimeError(f"HiGHS refused the risk-averse program ({passed})")
        self.highs = highs
        self.cuts = [sample.mean(axis=0)]  # every sample: the mean bounds the CVaR from above
        self._add(self.cuts[0])

    def _add(self, coefficients: np.ndarray) -> None:
        used = np.flatnonzero(coefficients)
        index = np.concatenate([used, [self.n]]).astype(np.int32)
        value = np.concatenate([-coefficients[used], [1.0]])
        self.highs.addRow(-highspy.kHighsInf, 0.0, len(index), index, value)

    def value(self, x: np.ndarray) -> tuple:
        """(CVaR of the plan x over the samples, the cut row of its worst samples)."""
        outcomes = self.sample @ x
        weight = worst_weights(outcomes, self.level) / (self.level * len(outcomes))
        return float(weight @ outcomes), weight @ self.sample

    def offer(self, x: np.ndarray) -> np.ndarray:
        """Keep x if it is the best plan so far; return its cut row."""
        cvar, cut = self.value(x)
        if cvar > self.best_value:
            self.best, self.best_value = x, cvar
        return cut

    def _solution(self) -> tuple:
        values = np.asarray(self.highs.getSolution().col_value, float)
        return values[:self.n], values[self.n]

    def relaxation(self, deadline):
        """Kelley's method on the LP: the bound it proves (None if time ran out)."""
        while True:
            run_highs(self.highs, deadline)
            if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            x, theta = self._solution()
            cvar, cut = self.value(x)
            if theta - cvar <= 1e-9 * max(abs(cvar), 1.0):
                return theta
            self._add(cut)

    def fix_by_reduced_cost(self, bound: float) -> None:
        """Hold at its LP value every slot whose reduced cost exceeds what the best plan leaves to gain."""
        room = max(bound - self.best_value, 0.0)
        solution = self.highs.getSolution()
        x = np.asarray(solution.col_value, float)[:self.n]
        reduced = np.asarray(solution.col_dual, float)[:self.n]
        upper = self.program.col_upper.astype(float)
        at_zero = (x <= 1e-9) & (reduced < -room)
        at_top = (x >= upper - 1e-9) & (reduced > room)
        for held, value in ((np.flatnonzero(at_zero), 0.0), (np.flatnonzero(at_top), None)):
            if len(held):
                level = np.zeros(len(held)) if value is not None else upper[held]
                self.highs.changeColsBounds(len(held), held.astype(np.int32), level, level)

    def integer(self, deadline, gap: float, bound):
        """The MILP with cuts added at each plan found, until its bound meets the best plan's CVaR."""
        highs = self.highs
        highs.changeColsIntegrality(self.n, np.arange(self.n, dtype=np.int32), np.ones(self.n, np.int32))
        highs.setOptionValue("mip_rel_gap", gap / 4)
        while True:
            if self.best is not None:
                start = highspy.HighsSolution()
                theta = min(float(c @ self.best) for c in self.cuts)
                start.col_value = list(np.concatenate([self.best, [theta]]))
                highs.setSolution(start)
            run_highs(highs, deadline)
            info = highs.getInfo()
            if info.primal_solution_status == 2:
                x, _ = self._solution()
                cut = self.offer(np.round(x))
            if math.isfinite(info.mip_dual_bound):
                bound = info.mip_dual_bound if bound is None else min(bound, info.mip_dual_bound)
            if self.best is None or highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return bound  # out of time (or no plan at all)
            if bound is not None and bound - self.best_value <= _room(gap, self.best_value):
                return bound
            if any(np.array_equal(cut, known) for known in self.cuts):
                return bound  # the plan's worst samples are already a row: nothing left to tighten
            self.cuts.append(cut)
            self._add(cut)


def risk_averse(campaign: Campaign, neutral: Plan, time_limit=None) -> Plan:
    """The CVaR plan, checked, with both plans' figures on fresh draws (not the samples it was fitted on).

    The best-mean plan is kept instead when the plan found does no better than it in the worst
    ``risk_level`` share of held-out draws (it fitted its samples, not the spread): the plan's
    warnings say so and what to raise.
    """
    posts, outcome = cvar_plan(campaign, time_limit, fallback=neutral.posts)
    settings = campaign.settings
    warnings = []
    if not np.array_equal(posts, neutral.posts):
        draws = max(DRAWS, settings.risk_samples)
        found, best_mean = paired_cvar(campaign, (posts, neutral.posts), draws, settings.random_seed + HELD_OUT)
        if found <= best_mean:
            posts, outcome = neutral.posts, _kept(campaign, neutral.posts, outcome)
            warnings.append(f"The risk-averse plan fitted to {settings.risk_samples:,} samples did no better than "
                            f"the best-mean plan in the worst {share_text(settings.risk_level)} of {draws:,} other "
                            f"draws ({found:,.0f} against {best_mean:,.0f}), so the best-mean plan is kept: "
                            + _more_samples(campaign))
    check = check_plan(campaign, posts)
    if not check.ok:
        raise PlanCheckError("the risk-averse plan breaks rules the checker verified: "
                             + "; ".join(check.violations[:5]))
    fresh = settings.random_seed + 1
    plan = Plan(posts=posts, outcome=outcome, engagement=check.engagement, spend=check.spend, rules=check.rules,
                baseline_posts=neutral.baseline_posts, baseline_engagement=neutral.baseline_engagement,
                baseline_violations=neutral.baseline_violations, warnings=warnings,
                timings={"solve": outcome.seconds})
    plan.risk = figures(outcomes(campaign, posts, seed=fresh), settings.risk_level, fresh)
    plan.risk_neutral = figures(outcomes(campaign, neutral.posts, seed=fresh), settings.risk_level, fresh)
    return plan


def paired_cvar(campaign: Campaign, plans, draws: int, seed: int) -> list:
    """Each plan's CVaR (at ``risk_level``) over the same draws: every creator booked in any of the
    plans is drawn once, so the plans differ only by the creators they do not share."""
    settings = campaign.settings
    sigma = sigmas(campaign)
    values = [plan_engagement(campaign, np.asarray(p)) for p in plans]
    union = np.flatnonzero(np.any([v > 0 for v in values], axis=0))
    niche_of = np.unique(campaign.creators["niche"].to_numpy(object), return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    rho = settings.risk_correlation
    common = rng.standard_normal((draws, int(niche_of.max(initial=0)) + 1)) * math.sqrt(rho)
    totals = np.zeros((len(plans), draws))
    step = max(1, CHUNK_CELLS // draws)
    for start in range(0, len(union), step):
        chunk = union[start:start + step]
        spread = sigma[chunk]
        z = common[:, niche_of[chunk]] + rng.standard_normal((draws, len(chunk))) * math.sqrt(1.0 - rho)
        factor = np.exp(z * spread - 0.5 * spread * spread)
        for k, value in enumerate(values):
            totals[k] += factor @ value[chunk]
    return [sampled_cvar(total, settings.risk_level) for total in totals]


def _more_samples(campaign: Campaign) -> str:
    """What to do for a plan that holds beyond its samples: more samples, as many as the program allows."""
    settings = campaign.settings
    slots = int(effective_max_posts(campaign).sum())
    most = min(100_000, MAX_ENTRIES // max(slots, 1))
    if most <= settings.risk_samples:
        return (f"risk_samples ({settings.risk_samples:,}) is already the most {slots:,} post slots allow; plan "
                "fewer creators for more samples, or use risk = neutral")
    return (f"raise risk_samples (e.g. to {min(4 * settings.risk_samples, most):,}) for a plan that holds beyond "
            "its samples")


def _kept(campaign: Campaign, posts: np.ndarray, outcome: SolveOutcome) -> SolveOutcome:
    """The search's outcome restated for the best-mean plan: its CVaR over the samples against the
    bound the search proved (proven only if that plan is within the gap of it)."""
    settings = campaign.settings
    factor = multipliers(campaign, settings.risk_samples, settings.random_seed)
    objective = sampled_cvar(factor @ plan_engagement(campaign, posts), settings.risk_level)
    gap = max(0.0, (outcome.bound - objective) / max(abs(objective), 1e-10))
    proven = outcome.bound - objective <= _room(settings.mip_gap, objective)
    return replace(outcome, status=Status.OPTIMAL if proven else Status.FEASIBLE, objective=objective, gap=gap,
                   unproven_because=None if proven else "the best-mean plan, kept: the plan fitted to the samples did "
                                                        "worse on other draws")
