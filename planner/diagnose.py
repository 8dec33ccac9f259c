"""Why rules cannot all hold, in the planner's words.

Two layers: instant pre-checks for the common conflicts (each names the sheet,
group and numbers), then, when none fires, an elastic re-solve that gives each
rule a slack, minimises the total relative relaxation, and names every rule
that had to give, with how far. The elastic solution is itself a plan that
meets the relaxed rules, so the relaxation it reports is one that works.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from models.campaign import EXCLUDE, MUST, Campaign
from models.checker import check_plan
from models.matrix import effective_max_posts
from models.program import build_program
from models.rules import SHEETS, find, parse, rule_name, setting_words, source, where, with_limit
from planner.explain import current_limit
from planner.solve import solve, solve_campaign
from planner.money import money



def rule_words(campaign: Campaign, name: str) -> str:
    """Where a rule lives and what it says: 'Niches sheet, niche beauty: min_share 40.00%'."""
    rule = find(campaign, name)
    return name if rule is None else source(campaign, rule, money)


@dataclass(frozen=True)
class Conflict:
    """A conflict found by a pre-check: the sentence, and the rules that could give way."""

    message: str
    rules: tuple

    def __str__(self) -> str:
        return self.message


def precheck(campaign: Campaign) -> list:
    """Instant checks for the common conflicts; one :class:`Conflict` each, empty when none fires."""
    creators = campaign.creators
    settings = campaign.settings
    budget = settings.total_budget
    cost = creators["cost_per_post"].to_numpy(float)
    names = creators["creator"].to_numpy()
    rows = creators["row"].to_numpy()
    cap = effective_max_posts(campaign)
    first = np.maximum(creators["min_posts"].to_numpy(np.int64), 1)
    must = creators["include"].to_numpy() == MUST
    problems = []

    if settings.share_basis == "budget":
        for dimension, sheet in SHEETS.items():
            mins = [(r.group, r.min_share) for r in campaign.rules_for(dimension) if r.min_share]
            total = sum(share for _, share in mins)
            if total > 1 + 1e-9:
                parts = ", ".join(f"{g} {s:.0%}" for g, s in mins)
                problems.append(Conflict(
                    f"{sheet} sheet: min_share values add up to {total:.0%} of the budget ({parts}); "
                    "together they may not exceed 100%",
                    tuple(rule_name("group_min_share", dimension, g) for g, _ in sorted(mins, key=lambda m: -m[1])),
                ))

    for i in np.flatnonzero(must & (cap == 0)):
        reason = "is excluded" if creators["include"].iat[i] == EXCLUDE else "cannot be booked"
        rules = (rule_name("must_include", subject=names[i]),)
        if settings.max_share_per_creator is not None and first[i] * cost[i] > settings.max_share_per_creator * budget:
            reason = (
                f"costs {money(first[i] * cost[i])} for {first[i]} post(s), above the per-creator cap "
                f"of {settings.max_share_per_creator:.2%} of budget ({money(settings.max_share_per_creator * budget)})"
            )
            rules = ("max_share_per_creator", rule_name("must_include", subject=names[i]))
        elif creators["max_posts"].iat[i] < first[i]:
            reason = f"has max_posts {creators['max_posts'].iat[i]} below what booking needs ({first[i]})"
        problems.append(Conflict(f"Creators sheet, row {rows[i]}: {names[i]} is a must-include but {reason}", rules))

    must_cost = float((first * cost)[must].sum())
    if must_cost > budget + 1e-9:
        problems.append(Conflict(
            f"Creators sheet: the {int(must.sum())} must-include creators cost {money(must_cost)} "
            f"together, above total_budget {money(budget)}",
            ("budget",) + tuple(rule_name("must_include", subject=n) for n in names[must]),
        ))

    bookable = cap > 0
    entry = np.sort((first * cost)[bookable])
    count = settings.min_creators
    if count is not None:
        if count > bookable.sum():
            problems.append(Conflict(
                f"Budget sheet: min_creators {count} but only {int(bookable.sum())} creators can be booked",
                ("min_creators",),
            ))
        elif entry[:count].sum() > budget + 1e-9:
            problems.append(Conflict(
                f"Budget sheet: min_creators {count} needs at least {money(entry[:count].sum())} "
                f"(the {count} cheapest bookings), above total_budget {money(budget)}",
                ("min_creators", "budget"),
            ))

    for rule in campaign.groups:
        if not rule.min_creators and not (rule.min_share and settings.share_basis == "budget"):
            continue  # only a minimum can conflict here: a rule without one costs no pass over the creators
        members = campaign.members(rule.dimension, rule.group) & bookable
        sheet = SHEETS[rule.dimension]
        where = f"{sheet} sheet, {rule.dimension} {rule.group}"
        if rule.min_creators and rule.min_creators > members.sum():
            problems.append(Conflict(
                f"{where}: min_creators {rule.min_creators} but only {int(members.sum())} "
                "of its creators can be booked",
                (rule_name("group_min_creators", rule.dimension, rule.group),),
            ))
        elif rule.min_creators:
            cheapest = np.sort((first * cost)[members])[: rule.min_creators].sum()
            if cheapest > budget + 1e-9:
                problems.append(Conflict(
                    f"{where}: min_creators {rule.min_creators} needs at least {money(cheapest)} "
                    f"(its {rule.min_creators} cheapest bookings), above total_budget {money(budget)}",
                    (rule_name("group_min_creators", rule.dimension, rule.group), "budget"),
                ))
        if rule.min_share and settings.share_basis == "budget":
            most = float((cap * cost)[members].sum())
            if most < rule.min_share * budget - 1e-6:
                problems.append(Conflict(
                    f"{where}: min_share {rule.min_share:.2%} needs {money(rule.min_share * budget)}, "
                    f"but all its creators at max_posts cost only {money(most)}",
                    (rule_name("group_min_share", rule.dimension, rule.group),),
                ))
    for mix in campaign.mixes:
        members = campaign.members(mix.dimension, mix.groups) & bookable
        if mix.min_share and not members.any():
            problems.append(Conflict(
                f"mix {mix.describe()}, but no creator in {' or '.join(mix.groups)} can be booked",
                (rule_name("mix_min_share", subject=mix.name),),
            ))
    return problems


def explain_infeasible(campaign: Campaign, solver: str, time_limit=None, conflicts=None) -> tuple:
    """Name the rules that conflict, and changes that each let a plan exist.

    Parameters
    ----------
    campaign : Campaign
    solver : str
    time_limit : float, optional
        Per diagnostic solve.
    conflicts : list of Conflict, optional
        What the pre-checks found (None: ask the solver).

    Returns
    -------
    (list of str, list of Suggestion)
        Plain sentences, most important first, and the verified suggestions.
    """
    lines, candidates, relaxed_names = [], [], []
    if conflicts:
        lines += [c.message for c in conflicts]
        for conflict in conflicts:
            candidates += [r for r in conflict.rules if r not in candidates]
    else:
        program = build_program(campaign, elastic=True)
        outcome = solve(program.problem, solver, time_limit, 1e-6)
        if not outcome.status.has_plan:
            return ["the rules cannot all hold, and the diagnosis could not finish in time; "
                    "check per-creator rules (min_posts, max_posts, must-include)"], []
        relaxed, active = [], []
        for name, var in program.elastic.items():
            slack = var.varValue or 0.0
            info = program.rules[name]
            if slack > 1e-6 * max(1.0, info.scale):
                relaxed.append((slack / info.scale, name))
            elif abs(program.constraints[name].value()) <= 1e-6 * max(1.0, info.scale):
                active.append(name)  # at its limit: it may be part of the conflict too
        if not relaxed:
            return ["the rules cannot all hold together (per-creator rules: min_posts, max_posts, must-include)"], []
        relaxed_names = [name for _, name in sorted(relaxed, key=lambda item: -item[0])]
        others = sorted(active, key=lambda n: parse(n)[0] == "must_include")  # must-includes last
        candidates = (relaxed_names + others)[:12]
    if "budget" not in candidates and campaign.settings.target_engagement is None:
        candidates.append("budget")
    suggestions = []
    if "max_share_per_creator" in candidates:
        fix = cap_fix(campaign, solver, time_limit)
        if fix:
            suggestions.append(fix)
    for name in candidates:
        if name != "max_share_per_creator":
            fix = single_rule_fix(campaign, name, solver, time_limit)
            if fix:
                suggestions.append(fix)
    if not conflicts:
        # A rule that one change fixes is in every conflicting set: name those, then the rest the solver relaxed.
        named = [s.rule for s in suggestions if s.rule in program.rules]
        named += [n for n in relaxed_names if n not in named]
        lines += [f"{rule_words(campaign, name)} conflicts with the others" for name in named]
    if suggestions:
        lines.append("any one of these changes lets a plan exist (each checked by re-planning): "
                     + "; or ".join(s.change for s in suggestions))
        return lines, suggestions
    together = combined_fix(campaign, solver, time_limit)
    if together and all(s.verified for s in together):
        lines.append("no single change is enough; these changes together let a plan exist (checked by re-planning): "
                     + "; and ".join(s.change for s in together))
        return lines, together
    lines.append("no single change to these rules is enough; relax several of them")
    return lines, []


# --- rules that cannot all hold ----------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """One change that, on its own, lets a plan exist (verified by re-planning)."""

    rule: str
    change: str
    new_value: object
    verified: bool


def has_plan(campaign: Campaign, solver: str, time_limit=None) -> bool:
    """True when some plan meets every rule (any feasible plan; no optimality needed)."""
    if precheck(campaign):
        return False
    try:
        posts = solve_campaign(campaign, solver, time_limit, 1.0).posts
    except ValueError:
        return False
    return posts is not None and check_plan(campaign, posts).ok


def single_rule_fix(campaign: Campaign, name: str, solver: str, time_limit=None) -> Optional[Suggestion]:
    """The smallest change of one rule alone that lets a plan exist, checked by re-planning."""
    kind, _, subject = parse(name)
    if kind == "must_include":
        relaxed = with_limit(campaign, name, None)
        if has_plan(relaxed, solver, time_limit):
            return Suggestion(name, f"drop the must-include of {subject} (Creators sheet)", None, True)
        return None
    try:
        program = build_program(campaign, elastic=True, elastic_rules={name})
    except ValueError:
        return None
    if name not in program.elastic:
        return None
    outcome = solve(program.problem, solver, time_limit, 1e-6)
    if not outcome.status.has_plan:
        return None
    value, text = _new_limit(campaign, program, name)
    if not has_plan(with_limit(campaign, name, value), solver, time_limit):
        return None
    return Suggestion(name, text, value, True)


def combined_fix(campaign: Campaign, solver: str, time_limit=None) -> list:
    """When no single change is enough: the smallest joint relaxation, checked by re-planning."""
    try:
        program = build_program(campaign, elastic=True)
    except ValueError:
        return []
    outcome = solve(program.problem, solver, time_limit, 1e-6)
    if not outcome.status.has_plan:
        return []
    changes, relaxed = [], campaign
    for name, var in program.elastic.items():
        if (var.varValue or 0.0) > 1e-6 * max(1.0, program.rules[name].scale):
            kind, _, subject = parse(name)
            if kind == "must_include":
                value, text = None, f"drop the must-include of {subject} (Creators sheet)"
            else:
                value, text = _new_limit(campaign, program, name)
            changes.append((name, text, value))
            relaxed = with_limit(relaxed, name, value)
    verified = bool(changes) and has_plan(relaxed, solver, time_limit)
    return [Suggestion(name, text, value, verified) for name, text, value in changes]


def _new_limit(campaign: Campaign, program, name: str):
    """The limit an elastic solution moved one rule to, rounded the loosening way; (value, words)."""
    rule = find(campaign, name)
    slack = program.elastic[name].varValue or 0.0
    info = program.rules[name]
    limit = current_limit(campaign, name)
    loosening_up = info.sense == "<="
    verb = "raise" if loosening_up else "lower"
    if rule.kind == "budget":
        value = math.ceil((info.limit + slack) / 10.0 - 1e-9) * 10.0
        text = f"raise total_budget from {money(limit)} to {money(value)}"
    elif rule.scope == "custom":
        value, text = _custom_limit(campaign, program, rule, loosening_up)
    elif rule.column.endswith("share"):
        if info.per_budget is not None:
            moved = info.per_budget + (slack if loosening_up else -slack) / campaign.settings.total_budget
        else:
            spend = sum(c * (v.varValue or 0.0) for v, c in _spend_pairs(program))
            moved = limit + (slack if loosening_up else -slack) / spend if spend > 0 else (1.0 if loosening_up else 0.0)
        value = (math.ceil(moved * 10000 - 1e-6) if loosening_up else math.floor(moved * 10000 + 1e-6)) / 10000
        value = min(max(value, 0.0), 1.0)
        text = f"{verb} {setting_words(rule)} from {limit:.2%} to {value:.2%}"
    elif rule.kind == "target_engagement":
        value = math.floor(info.limit - slack)
        text = f"lower the target engagement from {limit:,.0f} to {value:,.0f}"
    else:
        moved = info.limit + (slack if loosening_up else -slack)
        value = int(math.ceil(moved - 1e-6)) if loosening_up else max(int(math.floor(moved + 1e-6)), 0)
        text = f"{verb} {setting_words(rule)} from {limit} to {value}"
    return value, f"{text} ({where(rule)})"


def _spend_pairs(program):
    """(variable, cost) of every post slot."""
    cost = program.campaign.creators["cost_per_post"].to_numpy(float)
    for index, variables in program.slots:
        yield from zip(variables, cost[index].tolist())


def _custom_limit(campaign: Campaign, program, rule, loosening_up: bool) -> tuple:
    """A custom rule's bound moved to what the elastic plan reaches (checked from its posts); (value, words)."""
    reached = check_plan(campaign, program.posts()).rules.set_index("rule").at[rule.name, "planned"]
    verb = "raise" if loosening_up else "lower"
    if rule.column.endswith("share"):
        value = (math.ceil(reached * 10000 - 1e-6) if loosening_up else math.floor(reached * 10000 + 1e-6)) / 10000
        value = min(max(value, 0.0), 1.0)
        return value, f"{verb} {setting_words(rule)} from {rule.limit:.2%} to {value:.2%}"
    value = math.ceil(reached - 1e-6) if loosening_up else math.floor(reached + 1e-6)
    return value, f"{verb} {setting_words(rule)} from {rule.limit:,.6g} to {value:,.6g}"


def cap_fix(campaign: Campaign, solver: str, time_limit=None) -> Optional[Suggestion]:
    """Must-include creators above the per-creator cap: the cap that admits them all."""
    settings = campaign.settings
    if settings.max_share_per_creator is None:
        return None
    creators = campaign.creators
    must = creators["include"].to_numpy() == MUST
    first = np.maximum(creators["min_posts"].to_numpy(np.int64), 1)
    package = (first * creators["cost_per_post"].to_numpy(float))[must]
    if not len(package) or package.max() <= settings.max_share_per_creator * settings.total_budget:
        return None
    value = math.ceil(package.max() / settings.total_budget * 10000 - 1e-6) / 10000
    if value > 1:
        return None
    relaxed = campaign.with_settings(max_share_per_creator=value)
    if not has_plan(relaxed, solver, time_limit):
        return None
    return Suggestion("max_share_per_creator", f"raise max_share_per_creator from "
                      f"{settings.max_share_per_creator:.2%} to {value:.2%} (Budget sheet)", value, True)
