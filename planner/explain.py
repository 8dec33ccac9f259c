"""Explain a plan in the planner's words: what each rule costs, why a creator was left out,
why budget went unspent, and which single change lets impossible rules hold.

Every number here comes from re-solving the program with a rule changed, not
from LP duals: duals are only indicative for an integer program. Each re-solve
starts from the plan itself (still feasible once a rule is loosened), and its
gain is reported with the interval the two solves' proven bounds allow.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from models.campaign import EXCLUDE, Campaign
from models.checker import check_plan
from models.plan import Plan
from models.matrix import effective_max_posts, slot_values
from models.rules import find, with_limit
from planner.parallel import run_parallel
from planner.solve import solve_campaign
from planner.money import money

#: Loosening steps for "what each rule costs".
SHARE_STEP = 0.05  # five points of share
COUNT_STEP = 1  # one creator
CAP_STEP = 0.10  # ten percent of the per-creator cap
CUSTOM_STEP = 0.10  # ten percent of a custom rule's min or max
BUDGET_STEP = 1000.0  # dollars
METHOD = "re-solve with the rule loosened (exact MILP within the gap), not LP duals"


# --- changing one rule ---------------------------------------------------------------------


def current_limit(campaign: Campaign, name: str):
    """A rule's limit as the planner wrote it (a share as a fraction; 'must' for a must-include)."""
    rule = find(campaign, name)
    if rule is None:
        return None
    return "must" if rule.kind == "must_include" else rule.limit


def loosen(campaign: Campaign, name: str):
    """Loosen a rule by the standard step; returns (campaign, words) or None when it cannot move."""
    rule = find(campaign, name)
    if rule is None:
        return None
    kind, column, limit = rule.kind, rule.column, rule.limit
    if kind == "budget":
        return with_limit(campaign, name, limit + BUDGET_STEP), f"+{money(BUDGET_STEP, 0)} of budget"
    if kind == "must_include":
        return with_limit(campaign, name, None), "drop the must-include"
    if kind == "max_share_per_creator":
        return with_limit(campaign, name, min(1.0, limit * (1 + CAP_STEP))), f"cap +{CAP_STEP:.0%}"
    if column == "min_share":
        return (with_limit(campaign, name, max(0.0, limit - SHARE_STEP)), "-5 points of share") if limit > 0 else None
    if column == "max_share":
        return (with_limit(campaign, name, min(1.0, limit + SHARE_STEP)), "+5 points of share") if limit < 1 else None
    if column == "min_creators":
        return (with_limit(campaign, name, limit - COUNT_STEP), "one creator fewer") if limit > 0 else None
    if column == "max_creators":
        return with_limit(campaign, name, limit + COUNT_STEP), "one creator more"
    if kind == "custom_min":
        lower = limit - max(abs(limit) * CUSTOM_STEP, 1.0)
        return with_limit(campaign, name, lower), f"minimum {limit:,.6g} -> {lower:,.6g}"
    if kind == "custom_max":
        higher = limit + max(abs(limit) * CUSTOM_STEP, 1.0)
        return with_limit(campaign, name, higher), f"maximum {limit:,.6g} -> {higher:,.6g}"
    return None  # target_engagement: what a lower target buys is the plan itself


# --- re-solving -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolve:
    """The outcome of one re-solve: engagement and its proven upper bound, or None when no plan."""

    engagement: Optional[float]
    bound: Optional[float]
    checked: bool


def _resolve(campaign: Campaign, start_posts, solver, time_limit, gap, hint=None) -> Resolve:
    """Re-plan a changed campaign from a starting plan; check the result independently."""
    try:
        posts, outcome, _ = solve_campaign(campaign, solver, time_limit, gap, start_posts=start_posts, hint=hint)
    except ValueError:
        return Resolve(None, None, False)
    if posts is None:
        return Resolve(None, None, False)
    check = check_plan(campaign, posts)
    bound = outcome.bound if outcome.bound is not None else check.engagement
    return Resolve(check.engagement, max(bound, check.engagement), check.ok)


def _run_all(tasks, workers=None):
    """Run re-solves in parallel (spawned processes) when there are several."""
    workers = workers or min(os.cpu_count() or 1, len(tasks))
    if workers <= 1 or len(tasks) <= 1:
        return [_resolve(*t) for t in tasks]
    return run_parallel(_resolve, tasks, workers)


def rule_costs(campaign: Campaign, plan: Plan, solver: str, time_limit=None, gap=None, workers=None) -> dict:
    """What loosening each binding rule (and the budget) would buy, by re-solving.

    Parameters
    ----------
    campaign : Campaign
    plan : Plan
        The checked plan; its ``rules`` table says which rules bind.
    solver : str
    time_limit : float, optional
        Per re-solve.
    gap : float, optional
        Per re-solve (default: the plan's own gap limit).
    workers : int, optional

    Returns
    -------
    dict
        ``table``: DataFrame (rule, step, engagement_gain, gain_low, gain_high,
        method); ``budget_marginal``: engagement per extra $1,000 (or None);
        ``all_loosened``: gain with every binding rule loosened together.
    """
    gap = plan.outcome.gap_limit if gap is None else gap
    names = [n for n in plan.rules.loc[plan.rules["binding"], "rule"] if n != "budget"]
    names = ["budget"] + names
    if campaign.settings.max_share_per_creator is not None and "max_share_per_creator" not in names:
        capped = plan.rules.set_index("rule")
        if "max_share_per_creator" in capped.index and capped.loc["max_share_per_creator", "slack"] < 1e-9:
            names.append("max_share_per_creator")
    loosened = []
    for name in names:
        moved = loosen(campaign, name)
        if moved is not None:
            loosened.append((name, *moved))
    together = campaign
    for name, _, _ in loosened:
        if name != "budget":
            together = loosen(together, name)[0]
    tasks = [(changed, plan.posts, solver, time_limit, gap, plan.solver_hint) for _, changed, _ in loosened]
    rules_loosened = [n for n, _, _ in loosened if n != "budget"]
    if len(rules_loosened) > 1:
        tasks.append((together, plan.posts, solver, time_limit, gap, plan.solver_hint))
    outcomes = _run_all(tasks, workers)
    if len(rules_loosened) == 1:  # "all together" is that one rule loosened: already solved
        outcomes.append(outcomes[[n for n, _, _ in loosened].index(rules_loosened[0])])
    if not rules_loosened:
        outcomes.append(Resolve(None, None, False))
    base, base_bound = plan.engagement, plan.outcome.bound if plan.outcome.bound is not None else plan.engagement
    rows = []
    for (name, _, words), outcome in zip(loosened, outcomes[:-1]):
        if outcome.engagement is None:
            rows.append((name, words, None, None, None, "no plan found in the time limit"))
            continue
        gain = max(0.0, outcome.engagement - base)
        rows.append((name, words, gain, max(0.0, outcome.engagement - base_bound), outcome.bound - base, METHOD))
    table = pd.DataFrame(rows, columns=["rule", "step", "engagement_gain", "gain_low", "gain_high", "method"])
    budget_row = table[table["rule"] == "budget"]
    marginal = (float(budget_row["engagement_gain"].iat[0])
                if len(budget_row) and budget_row["engagement_gain"].notna().iat[0] else None)
    together_outcome = outcomes[-1]
    all_loosened = None if together_outcome.engagement is None else max(0.0, together_outcome.engagement - base)
    return {"table": table, "budget_marginal": marginal, "all_loosened": all_loosened,
            "all_loosened_rules": rules_loosened}


# --- why not this creator ---------------------------------------------------------------------


def why_not(campaign: Campaign, plan: Plan, marginal_per_dollar: Optional[float], top: int = 20) -> pd.DataFrame:
    """For the best-value creators not booked, the rule that kept each out.

    The reason is every rule that adding the creator's first booking (its
    package) to the plan would break. When only the budget stands in the way,
    the money had a better use: the creator's engagement per dollar is set
    against the plan's marginal engagement per dollar.
    """
    creators = campaign.creators
    settings = campaign.settings
    budget = settings.total_budget
    cost = creators["cost_per_post"].to_numpy(float)
    value = creators["post_value"].to_numpy(float) * campaign.niche_weights()
    posts = plan.posts
    spend = posts * cost
    booked = posts > 0
    first = np.maximum(creators["min_posts"].to_numpy(np.int64), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cost > 0, value / cost, np.inf)
    candidates = np.flatnonzero(~booked & (value > 0))
    ranked = -ratio[candidates]
    if len(candidates) > top > 0 and not np.isnan(ranked).any():
        # Only creators at least as good per dollar as the top-th can rank (ties kept): sort those alone.
        candidates = candidates[ranked <= np.partition(ranked, top - 1)[top - 1]]
    order = candidates[np.lexsort((-value[candidates], -ratio[candidates]))][:top]
    cap = effective_max_posts(campaign)
    total, count = spend.sum(), int(booked.sum())
    basis = budget if settings.share_basis == "budget" else None
    members_of = {}  # each group's members, found once: a million-row comparison per group
    rows = []
    for i in order.tolist():
        reasons = []
        package = first[i] * cost[i]
        if creators["include"].iat[i] == EXCLUDE:
            reasons.append("excluded on the Creators sheet")
        elif cap[i] == 0:
            if settings.max_share_per_creator is not None and package > settings.max_share_per_creator * budget + 1e-9:
                reasons.append(f"its {first[i]}-post booking ({money(package)}) is above the per-creator cap "
                               f"({settings.max_share_per_creator:.2%} of budget)")
            else:
                reasons.append("max_posts is 0")
        else:
            if total + package > budget + 1e-6:
                reasons.append("budget")
            if settings.max_creators is not None and count + 1 > settings.max_creators:
                reasons.append(f"max_creators {settings.max_creators}")
            for group in campaign.groups:
                if creators[group.dimension].iat[i] != group.group:
                    continue
                key = (group.dimension, group.group)
                if key not in members_of:
                    members_of[key] = campaign.members(group.dimension, group.group)
                members = members_of[key]
                group_spend = spend[members].sum() + package
                new_total = total + package
                if group.max_share is not None:
                    limit = group.max_share * (basis if basis is not None else new_total)
                    if group_spend > limit + 1e-6:
                        reasons.append(f"{group.dimension} {group.group} max_share {group.max_share:.2%}")
                if group.max_creators is not None and int(booked[members].sum()) + 1 > group.max_creators:
                    reasons.append(f"{group.dimension} {group.group} max_creators {group.max_creators}")
        direct = [r for r in reasons if r.startswith(("excluded", "its ", "max_posts"))]
        if direct:
            reason = direct[0]
        elif reasons == ["budget"]:
            if marginal_per_dollar is not None and ratio[i] < marginal_per_dollar:
                reason = (f"better use of the money: {ratio[i]:,.2f} engagement per dollar, below the "
                          f"{marginal_per_dollar:,.2f} per dollar the plan's last {money(1000, 0)} buys")
            else:
                reason = (f"better use of the money: booking it ({money(package)}) means dropping posts that "
                          "together are worth more within the rules")
        elif reasons:
            reason = ("kept out by: " + "; ".join(r for r in reasons if r != "budget")
                      + (" (and the budget)" if "budget" in reasons else ""))
        else:
            reason = ("booking it would break a minimum elsewhere (shares are of planned spend) "
                      "or displace posts worth more")
        rows.append((creators["creator"].iat[i], creators["niche"].iat[i], creators["tier"].iat[i],
                     creators["platform"].iat[i], cost[i], value[i], ratio[i], reason))
    return pd.DataFrame(rows, columns=["creator", "niche", "tier", "platform", "cost_per_post",
                                       "weighted_engagement_per_post", "engagement_per_dollar", "reason"])


def unspent_reason(campaign: Campaign, plan: Plan) -> Optional[str]:
    """Why budget was left unspent, or None when (nearly) all of it is spent."""
    budget = campaign.settings.total_budget
    left = budget - plan.spend
    creators = campaign.creators
    cost = creators["cost_per_post"].to_numpy(float)
    cap = effective_max_posts(campaign)
    can_add = (plan.posts < cap) & (creators["include"].to_numpy() != EXCLUDE)
    cheapest = cost[can_add].min(initial=math.inf)
    if left <= 1e-6 or (left < cheapest and left < 0.001 * budget):
        return None
    if not math.isfinite(cheapest):
        return f"{money(left)} is left: every creator is booked for as many posts as allowed"
    if left < cheapest:
        handle = creators["creator"].to_numpy()[np.flatnonzero(can_add & (cost == cheapest))[0]]
        return (f"{money(left)} is left: no remaining post costs less than {money(cheapest)} "
                f"(the cheapest remaining post is {handle}'s)")
    rules = plan.rules[plan.rules["binding"] & (plan.rules["rule"] != "budget")]
    if len(rules):
        return f"{money(left)} is left because these rules stop further bookings: {'; '.join(rules['description'])}"
    return f"{money(left)} is left: adding any affordable post would break a rule"


def nothing_booked_reason(campaign: Campaign) -> str:
    """Why the best plan books nobody, in the planner's words (for a plan with no bookings)."""
    settings = campaign.settings
    budget = settings.total_budget
    creators = campaign.creators
    open_ = creators["include"].to_numpy() != EXCLUDE
    if not open_.any():
        return "every creator is marked exclude on the Creators sheet"
    # The cheapest booking of each creator: a package deal books min_posts at once.
    entry = creators["cost_per_post"].to_numpy(float) * np.maximum(creators["min_posts"].to_numpy(np.int64), 1)
    cheapest = float(entry[open_].min())
    if cheapest > budget:
        return (f"the budget ({money(budget)}) is below every creator's cost: the cheapest booking costs "
                f"{money(cheapest)}")
    share = settings.max_share_per_creator
    if share is not None and cheapest > share * budget:
        return (f"no creator fits under the per-creator cap ({share:.2%} of budget = {money(share * budget)}): "
                f"the cheapest booking costs {money(cheapest)}")
    bookable = open_ & (effective_max_posts(campaign) > 0)
    if not np.any(slot_values(campaign)[bookable] > 0):
        return "every creator that can be booked has an expected (weighted) engagement of 0"
    return "every booking would break a rule (see the Rules sheet)"
