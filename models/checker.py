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

from models.campaign import EXCLUDE, Campaign
from models.custom import measure_values, scope_weights
from models.engagement import engagement_of
from models.plan import group_label, share_text
from models.rules import campaign_rules, describe

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
    if settings.max_share_per_creator is not None:
        cap = settings.max_share_per_creator * budget
        for i in np.flatnonzero(spend > cap + tol):
            violations.append(f"{names[i]}: spend {spend[i]:,.2f} above the per-creator cap {cap:,.2f}")

    # Every rule of the registry, each evaluated from its meaning.
    plan = _Planned(campaign, posts, cost, spend, booked, (posts < max_posts) & (include != EXCLUDE))
    basis_word = "budget" if settings.share_basis == "budget" else "planned spend"
    for each in campaign_rules(campaign):
        planned, unit, room, scale = CHECKS[each.kind](plan, each)
        label = group_label(each.dimension, each.subject) if each.scope == "group" else ""
        rule(each.name, describe(each, basis_word, settings.objective, label), each.sense, each.limit, planned, unit,
             room, scale)

    table = pd.DataFrame(rows, columns=list(RULE_COLUMNS))
    return CheckResult(violations, table, plan.engagement, float(spend.sum()))


class _Planned:
    """What a plan does, for the rules' evaluations: spend, bookings, engagement, per group."""

    def __init__(self, campaign: Campaign, posts, cost, spend, booked, can_grow):
        self.campaign, self.posts, self.cost, self.spend, self.booked, self.can_grow = (
            campaign, posts, cost, spend, booked, can_grow)
        budget = campaign.settings.total_budget
        self.budget, self.total = budget, float(spend.sum())
        self.basis = budget if campaign.settings.share_basis == "budget" else self.total
        self.engagement = float(plan_engagement(campaign, posts).sum())
        self.measured, self.masks = {}, {}

    def members(self, dimension: str, groups) -> np.ndarray:
        """The creators in a group (or a mix's groups), found once for all the rules on it."""
        if (dimension, groups) not in self.masks:
            self.masks[(dimension, groups)] = self.campaign.members(dimension, groups)
        return self.masks[(dimension, groups)]

    def share(self, dimension: str, groups, basis: float, rule) -> tuple:
        """(planned share of ``basis``, room) of a group's (or mix's) spend: a share of nothing holds a
        minimum; the room is one post of its cheapest creator that could move the share toward the limit."""
        if basis <= 0:
            return (rule.limit if rule.sense == ">=" else 0.0), 0.0
        members = self.members(dimension, groups)
        if ("spend", dimension, groups) not in self.masks:
            self.masks[("spend", dimension, groups)] = self.spend[members].sum()
        movable = members & (self.booked if rule.sense == ">=" else self.can_grow)
        return self.masks[("spend", dimension, groups)] / basis, _cheapest(self.cost[movable]) / basis

    def custom(self, custom) -> tuple:
        """(scoped sum, whole sum, smallest step) of a custom rule's measure over the plan."""
        if custom.name not in self.measured:
            creators, posts = self.campaign.creators, self.posts
            value, decayed = measure_values(creators, custom.measure)
            if custom.per == "creator" or custom.measure == "creators":
                each = value * (posts > 0)  # one booking more or less
            else:
                each = engagement_of(posts, value, self.campaign.settings.repeat_post_decay if decayed else 1.0)
            smallest = _cheapest(np.abs(value[value != 0])) if np.any(value != 0) else float("inf")
            self.measured[custom.name] = (float((each * scope_weights(creators, custom)).sum()), float(each.sum()),
                                          smallest)
        return self.measured[custom.name]


def _budget(p: _Planned, rule) -> tuple:
    # Binding when no further post of any creator fits in what is left.
    return p.total, "$", _cheapest(p.cost[p.can_grow]), p.budget


def _must_include(p: _Planned, rule) -> tuple:
    # Always at its limit when it holds; whether it costs anything needs a re-solve, so never "binding" here.
    return int(p.booked[rule.index]), "booked", 0, 1.0


def _creator_cap(p: _Planned, rule) -> tuple:
    max_posts = p.campaign.creators["max_posts"].to_numpy(np.int64)
    planned = p.spend.max(initial=0.0) / p.budget if p.budget else 0.0
    room = _cheapest(p.cost[p.booked & (p.posts < max_posts)]) / p.budget if p.budget else 0.0
    return planned, "share of budget", room, 1.0


def _creator_count(p: _Planned, rule) -> tuple:
    return int(p.booked.sum()), "creators", 1, 1.0


def _group_share(p: _Planned, rule) -> tuple:
    planned, room = p.share(rule.dimension, rule.subject, p.basis, rule)
    basis_word = "budget" if p.campaign.settings.share_basis == "budget" else "planned spend"
    return planned, f"share of {basis_word}", room, 1.0


def _group_count(p: _Planned, rule) -> tuple:
    return int((p.members(rule.dimension, rule.subject) & p.booked).sum()), "creators", 1, 1.0


def _mix_share(p: _Planned, rule) -> tuple:
    planned, room = p.share(rule.dimension, rule.record.groups, p.total, rule)
    return (planned if p.total > 0 else rule.limit), "share of planned spend", room, 1.0  # a share of nothing holds


def _custom_bound(p: _Planned, rule) -> tuple:
    scoped, _, smallest = p.custom(rule.record)
    return scoped, rule.record.measure, smallest, max(abs(rule.limit), 1.0)


def _custom_share(p: _Planned, rule) -> tuple:
    scoped, whole, smallest = p.custom(rule.record)
    if whole <= 0:  # a share of nothing holds
        return (rule.limit if rule.sense == ">=" else 0.0), f"share of {rule.record.measure}", float("inf"), 1.0
    return scoped / whole, f"share of {rule.record.measure}", smallest / whole, 1.0


def _target(p: _Planned, rule) -> tuple:
    return p.engagement, p.campaign.settings.objective, 0, rule.limit


#: Each rule kind's evaluation: (planned, unit, room, scale) of a plan.
CHECKS = {
    "budget": _budget,
    "must_include": _must_include,
    "max_share_per_creator": _creator_cap,
    "min_creators": _creator_count,
    "max_creators": _creator_count,
    "group_min_share": _group_share,
    "group_max_share": _group_share,
    "group_min_creators": _group_count,
    "group_max_creators": _group_count,
    "mix_min_share": _mix_share,
    "mix_max_share": _mix_share,
    "custom_min": _custom_bound,
    "custom_max": _custom_bound,
    "custom_min_share": _custom_share,
    "custom_max_share": _custom_share,
    "target_engagement": _target,
}


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
