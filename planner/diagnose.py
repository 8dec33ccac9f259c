"""Why rules cannot all hold, in the planner's words.

Two layers: instant pre-checks for the common conflicts (each names the sheet,
group and numbers), then, when none fires, an elastic re-solve that gives each
rule a slack, minimises the total relative relaxation, and names every rule
that had to give, with how far. The elastic solution is itself a plan that
meets the relaxed rules, so the relaxation it reports is one that works.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.campaign import EXCLUDE, MUST, Campaign
from models.program import build_program, effective_max_posts
from planner.solve import solve
from planner.money import money

_SHEETS = {"niche": "Niches", "tier": "Tiers", "platform": "Platforms"}


def rule_words(campaign: Campaign, name: str) -> str:
    """Where a rule lives and what it says: 'Niches sheet, beauty: min_share 40%'."""
    kind, _, key = name.partition(":")
    settings = campaign.settings
    if kind == "budget":
        return f"Budget sheet: total_budget {money(settings.total_budget)}"
    if kind in ("min_creators", "max_creators"):
        return f"Budget sheet: {kind} {getattr(settings, kind)}"
    if kind.startswith("mix_"):
        for mix in campaign.mixes:
            if mix.name == key:
                return f"mix {mix.describe()}"
    if kind == "target_engagement":
        return f"target engagement {settings.target_engagement:,.0f}"
    if kind.startswith("custom_"):
        bound = kind[len("custom_"):]
        for rule in campaign.custom:
            if rule.name == key and getattr(rule, bound) is not None:
                return f"Custom rules sheet, row {rule.row}: {rule.describe(bound, getattr(rule, bound))}"
    if kind == "must_include":
        rows = campaign.creators.loc[campaign.creators["creator"] == key, "row"]
        row = f"row {int(rows.iat[0])}, " if len(rows) else ""
        return f"Creators sheet, {row}include = must for {key}"
    dimension, _, column = kind.partition("_")
    for rule in campaign.rules_for(dimension):
        if rule.group == key:
            value = getattr(rule, column)
            shown = f"{value:.2%}" if column.endswith("share") else f"{value}"
            return f"{_SHEETS[dimension]} sheet, {dimension} {key}: {column} {shown}"
    return name


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
        for dimension, sheet in _SHEETS.items():
            mins = [(r.group, r.min_share) for r in campaign.rules_for(dimension) if r.min_share]
            total = sum(share for _, share in mins)
            if total > 1 + 1e-9:
                parts = ", ".join(f"{g} {s:.0%}" for g, s in mins)
                problems.append(Conflict(
                    f"{sheet} sheet: min_share values add up to {total:.0%} of the budget ({parts}); "
                    "together they may not exceed 100%",
                    tuple(f"{dimension}_min_share:{g}" for g, _ in sorted(mins, key=lambda m: -m[1])),
                ))

    for i in np.flatnonzero(must & (cap == 0)):
        reason = "is excluded" if creators["include"].iat[i] == EXCLUDE else "cannot be booked"
        rules = (f"must_include:{names[i]}",)
        if settings.max_share_per_creator is not None and first[i] * cost[i] > settings.max_share_per_creator * budget:
            reason = (
                f"costs {money(first[i] * cost[i])} for {first[i]} post(s), above the per-creator cap "
                f"of {settings.max_share_per_creator:.2%} of budget ({money(settings.max_share_per_creator * budget)})"
            )
            rules = ("max_share_per_creator", f"must_include:{names[i]}")
        elif creators["max_posts"].iat[i] < first[i]:
            reason = f"has max_posts {creators['max_posts'].iat[i]} below what booking needs ({first[i]})"
        problems.append(Conflict(f"Creators sheet, row {rows[i]}: {names[i]} is a must-include but {reason}", rules))

    must_cost = float((first * cost)[must].sum())
    if must_cost > budget + 1e-9:
        problems.append(Conflict(
            f"Creators sheet: the {int(must.sum())} must-include creators cost {money(must_cost)} "
            f"together, above total_budget {money(budget)}",
            ("budget",) + tuple(f"must_include:{n}" for n in names[must]),
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
        sheet = _SHEETS[rule.dimension]
        where = f"{sheet} sheet, {rule.dimension} {rule.group}"
        key = f"{rule.dimension}_{{}}:{rule.group}"
        if rule.min_creators and rule.min_creators > members.sum():
            problems.append(Conflict(
                f"{where}: min_creators {rule.min_creators} but only {int(members.sum())} of its creators can be booked",
                (key.format("min_creators"),),
            ))
        elif rule.min_creators:
            cheapest = np.sort((first * cost)[members])[: rule.min_creators].sum()
            if cheapest > budget + 1e-9:
                problems.append(Conflict(
                    f"{where}: min_creators {rule.min_creators} needs at least {money(cheapest)} "
                    f"(its {rule.min_creators} cheapest bookings), above total_budget {money(budget)}",
                    (key.format("min_creators"), "budget"),
                ))
        if rule.min_share and settings.share_basis == "budget":
            most = float((cap * cost)[members].sum())
            if most < rule.min_share * budget - 1e-6:
                problems.append(Conflict(
                    f"{where}: min_share {rule.min_share:.2%} needs {money(rule.min_share * budget)}, "
                    f"but all its creators at max_posts cost only {money(most)}",
                    (key.format("min_share"),),
                ))
    for mix in campaign.mixes:
        members = campaign.members(mix.dimension, mix.groups) & bookable
        if mix.min_share and not members.any():
            problems.append(Conflict(
                f"mix {mix.describe()}, but no creator in {' or '.join(mix.groups)} can be booked",
                (f"mix_min_share:{mix.name}",),
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
    from planner.explain import cap_fix, combined_fix, single_rule_fix

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
        others = [n for n in active if not n.startswith("must_include:")] + [n for n in active if n.startswith("must_include:")]
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
