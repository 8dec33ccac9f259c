"""The campaign as a PuLP mixed-integer program.

One binary per post slot: ``x[i, k] = 1`` when creator i makes at least k
posts. Slots of one creator are chained (``x[i, k] <= x[i, k-1]``), so posts
are ``sum_k x[i, k]`` and "booked" is ``x[i, 1]``. The k-th slot is worth
``weight * post_value * decay**(k-1)``; with decay <= 1 the value is concave in
posts, so the program stays linear and exact.

Each rule becomes one named constraint group, built by its own function that
returns early when its data is empty. Rule names are stable and built from the
data key (``niche_max_share:beauty``) so the report, the diagnosis and the
tests can point at them. PuLP constraint names are internal (``r0``, ``r1``,
...) because planners' group names may hold characters LP files refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
import pulp

from models.campaign import EXCLUDE, MUST, Campaign
from models.custom import slot_coefficients

#: Tolerance used when turning a spend cap into a whole number of posts.
_CAP_EPS = 1e-9


class EmptyProgramError(ValueError):
    """No creator can be booked, or none is worth anything: nothing to optimise."""


@dataclass(frozen=True)
class RuleInfo:
    """How a named rule appears in the program.

    ``sense`` is ``"<="`` or ``">="``; ``limit`` is the right-hand side in the
    rule's own unit (dollars or creators); ``scale`` normalises its slack.
    """

    name: str
    sense: str
    limit: float
    scale: float
    per_budget: Optional[float] = None  # limit = per_budget x total_budget, when it follows the budget


@dataclass
class Program:
    """A built program: the PuLP problem, its slot variables and its named rules."""

    problem: pulp.LpProblem
    campaign: Campaign
    max_posts: np.ndarray  # effective post cap per creator (after caps and excludes)
    slots: list  # slots[k] = (creator index array, list of LpVariable) for post k+1
    constraints: dict = field(default_factory=dict)  # rule name -> LpConstraint
    rules: dict = field(default_factory=dict)  # rule name -> RuleInfo
    elastic: dict = field(default_factory=dict)  # rule name -> slack LpVariable
    elastic_rules: Optional[set] = None  # rules allowed to relax (None: all, when elastic)

    def posts(self) -> np.ndarray:
        """Posts per creator in the solver's current solution."""
        posts = np.zeros(len(self.max_posts), dtype=np.int64)
        for index, variables in self.slots:
            values = np.array([v.varValue or 0.0 for v in variables])
            posts[index] += (values > 0.5).astype(np.int64)
        return posts


def set_budget(program: Program, campaign: Campaign) -> None:
    """Re-aim a built program at a campaign that differs only in total_budget.

    Changes the budget row, the shares of budget and the per-creator caps in
    place, so a sweep builds its model once. The program must have been built
    for the largest budget of the sweep (it then holds every slot needed).
    """
    budget = campaign.settings.total_budget
    for name, info in program.rules.items():
        if info.per_budget is not None:
            limit = info.per_budget * budget
            program.constraints[name].constant = -limit
            program.rules[name] = replace(info, limit=limit, scale=max(budget, 1e-9))
    cap = effective_max_posts(campaign)
    for k, (index, variables) in enumerate(program.slots):
        open_slot = (cap[index] > k).tolist()
        for var, is_open in zip(variables, open_slot):
            var.upBound = 1 if is_open else 0
    program.campaign = campaign


def start_values(program, posts) -> Optional[dict]:
    """Slot values of a starting plan, by variable name (None when there is no start)."""
    if posts is None:
        return None
    values = {}
    for k, (index, variables) in enumerate(program.slots):
        for i, var in zip(index.tolist(), variables):
            values[var.name] = 1.0 if posts[i] > k else 0.0
    return values


def effective_max_posts(campaign: Campaign) -> np.ndarray:
    """Post cap per creator after excludes and the per-creator spend cap."""
    creators = campaign.creators
    cap = creators["max_posts"].to_numpy(np.int64).copy()
    cap[creators["include"].to_numpy() == EXCLUDE] = 0
    # No creator gets more post slots than the budget (or the per-creator cap) can pay for, so
    # a max_posts far above what the money buys never grows the program. Only paid posts count:
    # a $0 creator (product seeding) keeps max_posts.
    cost = creators["cost_per_post"].to_numpy(float)
    paid = np.flatnonzero(cost > 0)
    share = campaign.settings.max_share_per_creator
    limit = campaign.settings.total_budget * (1.0 if share is None else min(share, 1.0))
    with np.errstate(over="ignore"):
        affordable = np.floor(limit / cost[paid] + _CAP_EPS)
    # Compared as floats, so a huge (or infinite) ratio never goes through an integer cast.
    cap[paid] = np.minimum(cap[paid], affordable).astype(np.int64)
    # A package deal that cannot be met in full cannot be booked at all.
    cap[cap < creators["min_posts"].to_numpy(np.int64)] = 0
    return cap


def slot_values(campaign: Campaign) -> np.ndarray:
    """Weighted value of each creator's first post."""
    return campaign.creators["post_value"].to_numpy(float) * campaign.niche_weights()


def build_program(campaign: Campaign, elastic: bool = False, elastic_rules=None, allow_zero: bool = False) -> Program:
    """Build the program for a campaign.

    Parameters
    ----------
    campaign : Campaign
        Validated inputs.
    elastic : bool
        When True, every rule gets a non-negative slack variable and the
        objective becomes the total relative relaxation; used to explain
        rules that cannot all hold.
    elastic_rules : set of str, optional
        With ``elastic``, give slack only to these rules (the others stay hard).
    allow_zero : bool
        Build even when every bookable creator is worth nothing (the rules may
        still require bookings; any plan keeping them is then optimal).

    Returns
    -------
    Program

    Raises
    ------
    EmptyProgramError
        When no creator can be booked or the objective would be empty.
    """
    target = campaign.settings.target_engagement
    minimise = elastic or target is not None
    problem = pulp.LpProblem("campaign", pulp.LpMinimize if minimise else pulp.LpMaximize)
    program = Program(problem, campaign, effective_max_posts(campaign), [])
    program.elastic_rules = elastic_rules
    _add_slot_variables(program)
    if not program.slots and not elastic:
        raise EmptyProgramError("no creator can be booked under the caps and excludes")
    builders = (
        _add_budget,
        _add_must_include,
        _add_min_posts,
        _add_creator_counts,
        _add_group_shares,
        _add_group_counts,
        _add_mix_shares,
        _add_custom,
        _add_target,
    )
    for build in builders:
        build(program, elastic)
    if elastic:
        problem.setObjective(
            pulp.lpSum(var * (1.0 / program.rules[name].scale) for name, var in program.elastic.items())
        )
    elif target is not None:
        problem.setObjective(pulp.LpAffineExpression(_spend_terms(program)))
    else:
        objective = _engagement_expression(program)
        if not objective and not allow_zero:
            raise EmptyProgramError("every bookable creator has zero expected engagement")
        problem.setObjective(objective)
    return program


def _add_slot_variables(program: Program) -> None:
    """One binary per post slot, chained so slot k needs slot k-1."""
    cap = program.max_posts
    for k in range(int(cap.max(initial=0))):
        index = np.flatnonzero(cap > k)
        variables = [program.problem.add_variable(f"x{i}_{k + 1}", 0, 1, pulp.LpBinary) for i in index]
        program.slots.append((index, variables))
        if k == 0:
            continue
        previous = dict(zip(program.slots[k - 1][0].tolist(), program.slots[k - 1][1]))
        for i, var in zip(index.tolist(), variables):
            program.problem.addConstraint(var - previous[i] <= 0, f"chain{i}_{k + 1}")


def _booked(program: Program) -> dict:
    """Creator index -> its first-slot variable (1 when booked)."""
    if not program.slots:
        return {}
    index, variables = program.slots[0]
    return dict(zip(index.tolist(), variables))


def _spend_terms(program: Program, mask=None) -> list:
    """(variable, cost) pairs for the spend of the creators in mask (all if None)."""
    cost = program.campaign.creators["cost_per_post"].to_numpy(float)
    terms = []
    for index, variables in program.slots:
        keep = np.ones(len(index), bool) if mask is None else mask[index]
        terms.extend(
            (var, c) for var, c, k in zip(variables, cost[index].tolist(), keep.tolist()) if k and c != 0
        )
    return terms


def _engagement_expression(program: Program) -> pulp.LpAffineExpression:
    """Objective: weighted expected engagement of the chosen slots."""
    value = slot_values(program.campaign)
    decay = program.campaign.settings.repeat_post_decay
    terms = []
    for k, (index, variables) in enumerate(program.slots):
        coef = value[index] * decay**k
        terms.extend((var, c) for var, c in zip(variables, coef.tolist()) if c != 0)
    return pulp.LpAffineExpression(terms)


def _add_rule(program, name, terms, sense, limit, scale, elastic, rhs_terms=(), per_budget=None) -> None:
    """Add one named rule: sum(terms) - sum(rhs_terms) (sense) limit."""
    expr = pulp.LpAffineExpression(list(terms))
    for var, coef in rhs_terms:
        expr[var] = expr.get(var, 0.0) - coef
    if elastic and (program.elastic_rules is None or name in program.elastic_rules):
        slack = program.problem.add_variable(f"s{len(program.rules)}", lowBound=0)
        program.elastic[name] = slack
        expr[slack] = expr.get(slack, 0.0) + (-1.0 if sense == "<=" else 1.0)
    internal = f"r{len(program.rules)}"
    constraint = expr <= limit if sense == "<=" else expr >= limit
    program.problem.addConstraint(constraint, internal)
    program.constraints[name] = program.problem.get_constraint_by_name(internal)
    program.rules[name] = RuleInfo(name, sense, float(limit), float(max(scale, 1e-9)), per_budget)


def _add_budget(program: Program, elastic: bool) -> None:
    """Total spend within the budget."""
    budget = program.campaign.settings.total_budget
    _add_rule(program, "budget", _spend_terms(program), "<=", budget, budget, elastic, per_budget=1.0)


def _add_must_include(program: Program, elastic: bool) -> None:
    """Must-include creators are booked (their min_posts follow from the package rule)."""
    creators = program.campaign.creators
    booked = _booked(program)
    for i in np.flatnonzero(creators["include"].to_numpy() == MUST).tolist():
        # A must-include creator the caps leave no slot for yields an empty,
        # unsatisfiable row: the solver then reports the rules cannot all hold.
        terms = [(booked[i], 1.0)] if i in booked else []
        _add_rule(program, f"must_include:{creators['creator'].iat[i]}", terms, ">=", 1, 1, elastic)


def _add_min_posts(program: Program, elastic: bool) -> None:
    """Package deals: a booked creator fills every slot up to min_posts."""
    min_posts = program.campaign.creators["min_posts"].to_numpy(np.int64)
    if not program.slots or (min_posts <= 1).all():
        return
    booked = _booked(program)
    for k in range(1, len(program.slots)):
        index, variables = program.slots[k]
        for i, var in zip(index.tolist(), variables):
            if min_posts[i] > k:
                program.problem.addConstraint(var - booked[i] >= 0, f"package{i}_{k + 1}")


def _add_creator_counts(program: Program, elastic: bool) -> None:
    """Overall min_creators / max_creators."""
    settings = program.campaign.settings
    terms = [(v, 1.0) for v in _booked(program).values()]
    if settings.min_creators is not None:
        _add_rule(program, "min_creators", terms, ">=", settings.min_creators, 1, elastic)
    if settings.max_creators is not None:
        _add_rule(program, "max_creators", terms, "<=", settings.max_creators, 1, elastic)


def _add_group_shares(program: Program, elastic: bool) -> None:
    """Per-group min_share / max_share of spend (of budget, or of planned spend)."""
    campaign = program.campaign
    budget = campaign.settings.total_budget
    of_spend = campaign.settings.share_basis == "spend"
    all_spend = _spend_terms(program) if of_spend else []
    for rule in campaign.groups:
        if rule.min_share is None and rule.max_share is None:
            continue
        mask = campaign.members(rule.dimension, rule.group)
        group_spend = _spend_terms(program, mask)
        for bound, sense in ((rule.min_share, ">="), (rule.max_share, "<=")):
            if bound is None:
                continue
            name = f"{rule.dimension}_{'min' if sense == '>=' else 'max'}_share:{rule.group}"
            if of_spend:
                rhs = [(var, bound * c) for var, c in all_spend]
                _add_rule(program, name, group_spend, sense, 0.0, budget, elastic, rhs)
            else:
                _add_rule(program, name, group_spend, sense, bound * budget, budget, elastic, per_budget=bound)


def _add_group_counts(program: Program, elastic: bool) -> None:
    """Per-group min_creators / max_creators."""
    campaign = program.campaign
    booked = _booked(program)
    for rule in campaign.groups:
        if rule.min_creators is None and rule.max_creators is None:
            continue
        members = np.flatnonzero(campaign.members(rule.dimension, rule.group))
        terms = [(booked[i], 1.0) for i in members.tolist() if i in booked]
        if rule.min_creators is not None:
            name = f"{rule.dimension}_min_creators:{rule.group}"
            _add_rule(program, name, terms, ">=", rule.min_creators, 1, elastic)
        if rule.max_creators is not None:
            name = f"{rule.dimension}_max_creators:{rule.group}"
            _add_rule(program, name, terms, "<=", rule.max_creators, 1, elastic)


def _add_mix_shares(program: Program, elastic: bool) -> None:
    """Spend share of a set of groups, of planned spend (e.g. nano + micro >= 70%)."""
    campaign = program.campaign
    if not campaign.mixes:
        return
    all_spend = _spend_terms(program)
    for mix in campaign.mixes:
        mask = np.isin(campaign.creators[mix.dimension].to_numpy(), list(mix.groups))
        mix_spend = _spend_terms(program, mask)
        for bound, sense in ((mix.min_share, ">="), (mix.max_share, "<=")):
            if bound is None:
                continue
            name = f"mix_{'min' if sense == '>=' else 'max'}_share:{mix.name}"
            rhs = [(var, bound * c) for var, c in all_spend]
            _add_rule(program, name, mix_spend, sense, 0.0, campaign.settings.total_budget, elastic, rhs)


def _add_custom(program: Program, elastic: bool) -> None:
    """The Custom rules sheet's bounds (the coefficients of models.custom, as the array program)."""
    campaign = program.campaign
    if not campaign.custom or not program.slots:
        return
    creator = np.concatenate([index for index, _ in program.slots])
    slot = np.concatenate([np.full(len(index), k) for k, (index, _) in enumerate(program.slots)])
    variables = [var for _, vs in program.slots for var in vs]
    for rule in campaign.custom:
        scoped, whole = slot_coefficients(campaign.creators, rule, creator, slot, campaign.settings.repeat_post_decay)
        for name, kind, sense, limit in rule.bounds():
            if kind.endswith("share"):
                coefficients = scoped - limit * whole
                scale, bound = float(np.abs(whole).max(initial=1.0)) or 1.0, 0.0
            else:
                coefficients, scale, bound = scoped, max(abs(limit), 1.0), limit
            terms = [(var, c) for var, c in zip(variables, coefficients.tolist()) if c != 0]
            _add_rule(program, name, terms, sense, bound, scale, elastic)


def _add_target(program: Program, elastic: bool) -> None:
    """Target mode: weighted expected engagement at least the target."""
    target = program.campaign.settings.target_engagement
    if target is None:
        return
    terms = list(_engagement_expression(program).items())
    _add_rule(program, "target_engagement", terms, ">=", target, target, elastic)
