"""Independent feasibility check of any plan.

Written from the meaning of each rule, not from the program: it never imports
the PuLP model, so a mistake in the formulation cannot hide itself here. Every
plan is checked before it is written; the same evaluation feeds the report's
Rules sheet (limit, planned value, slack, binding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.campaign import EXCLUDE, MUST, Campaign
from models.custom import measure_values, scope_weights
from models.engagement import engagement_of
from models.plan import group_label, share_text

#: Relative tolerance for money and share comparisons (solvers work to ~1e-9).
TOLERANCE = 1e-6

RULE_COLUMNS = ("rule", "description", "sense", "limit", "planned", "slack", "unit", "holds", "binding")


@dataclass(frozen=True)
class CheckResult:
    """Outcome of checking one plan.

    Attributes
    ----------
    violations : list of str
        One plain sentence per broken rule; empty when the plan is feasible.
    rules : pandas.DataFrame
        One row per rule (columns :data:`RULE_COLUMNS`).
    engagement : float
        Weighted expected engagement of the plan, recomputed from scratch.
    spend : float
    """

    violations: list
    rules: pd.DataFrame
    engagement: float
    spend: float

    @property
    def ok(self) -> bool:
        """True when every rule holds."""
        return not self.violations


def plan_engagement(campaign: Campaign, posts) -> np.ndarray:
    """Weighted expected engagement per creator for the given posts."""
    creators = campaign.creators
    weights = campaign.niche_weights()
    return engagement_of(posts, creators["post_value"].to_numpy(float) * weights, campaign.settings.repeat_post_decay)


def check_plan(campaign: Campaign, posts) -> CheckResult:
    """Check a plan against every rule of the campaign.

    Parameters
    ----------
    campaign : Campaign
    posts : array-like of int
        Posts per creator, aligned with ``campaign.creators``.

    Returns
    -------
    CheckResult
    """
    creators = campaign.creators
    settings = campaign.settings
    posts = np.asarray(posts)
    violations = []
    if posts.shape != (len(creators),):
        raise ValueError(f"plan has {posts.shape} posts for {len(creators)} creators")
    if not np.all(np.equal(np.mod(posts, 1), 0)):
        violations.append("posts must be whole numbers")
    posts = posts.astype(np.int64)
    cost = creators["cost_per_post"].to_numpy(float)
    spend = posts * cost
    booked = posts > 0
    names = creators["creator"].to_numpy()
    budget = settings.total_budget
    tol = TOLERANCE * max(1.0, budget)
    rows = []

    def rule(name, description, sense, limit, planned, unit, room, scale=1.0):
        """Record one rule; room is what one more step towards the limit costs."""
        slack = (limit - planned) if sense == "<=" else (planned - limit)
        holds = slack >= -TOLERANCE * max(1.0, scale)
        # A rule binds only when a step toward its limit exists and does not fit: with no post left
        # to add (or remove) in its reach (room infinite), it constrains nothing.
        rows.append((name, description, sense, limit, planned, slack, unit, holds,
                     holds and slack < room and np.isfinite(room)))
        if not holds:
            violations.append(f"{description}: planned {_in_unit(planned, unit)}, limit {_in_unit(limit, unit)}")

    # Per-creator rules: posts within bounds, includes, the spend cap.
    max_posts = creators["max_posts"].to_numpy(np.int64)
    min_posts = creators["min_posts"].to_numpy(np.int64)
    include = creators["include"].to_numpy()
    for i in np.flatnonzero((posts < 0) | (posts > max_posts)):
        violations.append(f"{names[i]}: {posts[i]} posts, allowed 0 to {max_posts[i]}")
    for i in np.flatnonzero(booked & (posts < min_posts)):
        violations.append(f"{names[i]}: {posts[i]} posts, package needs at least {min_posts[i]}")
    for i in np.flatnonzero((include == EXCLUDE) & booked):
        violations.append(f"{names[i]}: excluded but booked")
    for i in np.flatnonzero(include == MUST):
        # Always at its limit when it holds; whether it costs anything needs a re-solve, so never "binding" here.
        rule(f"must_include:{names[i]}", f"Book {names[i]} (must include)", ">=", 1, int(booked[i]), "booked", 0)
    if settings.max_share_per_creator is not None:
        cap = settings.max_share_per_creator * budget
        for i in np.flatnonzero(spend > cap + tol):
            violations.append(f"{names[i]}: spend {spend[i]:,.2f} above the per-creator cap {cap:,.2f}")
        rule(
            "max_share_per_creator",
            f"No creator above {share_text(settings.max_share_per_creator)} of budget",
            "<=",
            settings.max_share_per_creator,
            spend.max(initial=0.0) / budget if budget else 0.0,
            "share of budget",
            _cheapest(cost[booked & (posts < max_posts)]) / budget if budget else 0.0,
        )

    # Budget: binding when no further post of any creator fits in what is left.
    can_grow = (posts < max_posts) & (include != EXCLUDE)
    rule("budget", "Total spend within the budget", "<=", budget, spend.sum(), "$", _cheapest(cost[can_grow]), budget)

    count = int(booked.sum())
    if settings.min_creators is not None:
        rule("min_creators", f"At least {_creators(settings.min_creators)}", ">=", settings.min_creators, count, "creators", 1)
    if settings.max_creators is not None:
        rule("max_creators", f"At most {_creators(settings.max_creators)}", "<=", settings.max_creators, count, "creators", 1)

    basis = budget if settings.share_basis == "budget" else spend.sum()
    basis_word = "budget" if settings.share_basis == "budget" else "planned spend"
    for group in campaign.groups:
        members = campaign.members(group.dimension, group.group)
        group_spend = spend[members].sum()
        share = group_spend / basis if basis > 0 else 0.0
        label = group_label(group.dimension, group.group)
        grow_cost = _cheapest(cost[members & can_grow]) / basis if basis > 0 else 0.0
        shrink_cost = _cheapest(cost[members & booked]) / basis if basis > 0 else 0.0
        scale = 1.0
        if group.min_share is not None:
            if basis == 0:  # nothing planned: a minimum share of nothing holds
                share_for_min = group.min_share
            else:
                share_for_min = share
            rule(
                f"{group.dimension}_min_share:{group.group}",
                f"{label}: at least {share_text(group.min_share)} of {basis_word}",
                ">=",
                group.min_share,
                share_for_min,
                f"share of {basis_word}",
                shrink_cost,
                scale,
            )
        if group.max_share is not None:
            rule(
                f"{group.dimension}_max_share:{group.group}",
                f"{label}: at most {share_text(group.max_share)} of {basis_word}",
                "<=",
                group.max_share,
                share,
                f"share of {basis_word}",
                grow_cost,
                scale,
            )
        in_group = int((members & booked).sum())
        if group.min_creators is not None:
            rule(
                f"{group.dimension}_min_creators:{group.group}",
                f"{label}: at least {_creators(group.min_creators)}",
                ">=",
                group.min_creators,
                in_group,
                "creators",
                1,
            )
        if group.max_creators is not None:
            rule(
                f"{group.dimension}_max_creators:{group.group}",
                f"{label}: at most {_creators(group.max_creators)}",
                "<=",
                group.max_creators,
                in_group,
                "creators",
                1,
            )

    total = spend.sum()
    for mix in campaign.mixes:
        members = campaign.members(mix.dimension, mix.groups)
        share = spend[members].sum() / total if total > 0 else None
        grow_cost = _cheapest(cost[members & can_grow]) / total if total > 0 else 0.0
        shrink_cost = _cheapest(cost[members & booked]) / total if total > 0 else 0.0
        for bound, sense, room in ((mix.min_share, ">=", shrink_cost), (mix.max_share, "<=", grow_cost)):
            if bound is not None:
                planned = bound if share is None else share  # a share of nothing holds
                name = f"mix_{'min' if sense == '>=' else 'max'}_share:{mix.name}"
                rule(name, mix.describe(), sense, bound, planned, "share of planned spend", room)

    for custom in campaign.custom:
        _check_custom(campaign, custom, posts, rule)

    target = settings.target_engagement
    engagement = float(plan_engagement(campaign, posts).sum())
    if target is not None:
        noun = settings.objective
        rule("target_engagement", f"Expected {noun} of at least {target:,.0f}", ">=", target, engagement, noun, 0, target)

    table = pd.DataFrame(rows, columns=list(RULE_COLUMNS))
    return CheckResult(violations, table, engagement, float(spend.sum()))


def _check_custom(campaign: Campaign, custom, posts: np.ndarray, rule) -> None:
    """A Custom rules row, from its meaning: the measure summed over the plan's posts (or bookings)."""
    creators = campaign.creators
    value, decayed = measure_values(creators, custom.measure)
    if custom.per == "creator" or custom.measure == "creators":
        each = value * (posts > 0)
        step = value  # one booking more or less
    else:
        each = engagement_of(posts, value, campaign.settings.repeat_post_decay if decayed else 1.0)
        step = value
    whole = float(each.sum())
    scoped = float((each * scope_weights(creators, custom)).sum())
    smallest = _cheapest(np.abs(step[step != 0])) if np.any(step != 0) else float("inf")
    for name, kind, sense, limit in custom.bounds():
        words = custom.describe(kind, limit)
        if kind.endswith("share"):
            share = scoped / whole if whole > 0 else (limit if kind == "min_share" else 0.0)  # a share of nothing holds
            room = smallest / whole if whole > 0 else float("inf")
            rule(name, words, sense, limit, share, f"share of {custom.measure}", room)
        else:
            rule(name, words, sense, limit, scoped, custom.measure, smallest, max(abs(limit), 1.0))


def _creators(count: int) -> str:
    return f"{count:,} creator" if count == 1 else f"{count:,} creators"


def _in_unit(value: float, unit: str) -> str:
    """A rule's value in its unit: 5.2% for shares, 1,200.00 for money, 3 for counts."""
    if unit.startswith("share"):
        return share_text(value)
    if unit == "$":
        return f"{value:,.2f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.6g}"


def _cheapest(costs) -> float:
    """Cost of the cheapest post among costs (infinity when there is none)."""
    return float(np.min(costs)) if len(costs) else float("inf")
