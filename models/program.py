"""The campaign as a PuLP mixed-integer program: the array program's rows, emitted as PuLP.

The formulation is :mod:`models.matrix` (one binary per post slot, ``x[i, k] = 1`` when
creator i makes at least k posts, slots chained, one row per rule of :mod:`models.rules`).
This module emits the same columns and rows as a ``pulp.LpProblem``: the model a user can
export (``planner export-model``) or hand to any solver PuLP drives, and the elastic model the
diagnosis solves (every rule, or some, given a priced slack).

Rule names are the registry's ids (``niche_max_share:beauty``) so the report, the diagnosis and
the tests can point at them. PuLP constraint names are internal (``r0``, ``r1``, ...) because
planners' group names may hold characters LP files refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
import pulp

from models.campaign import Campaign
from models.matrix import MatrixProgram, RuleInfo, build_matrix, effective_max_posts


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


def build_program(campaign: Campaign, elastic: bool = False, elastic_rules=None, allow_zero: bool = False) -> Program:
    """Build the PuLP program for a campaign: the array program's columns and rows.

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
        When no creator can be booked or the objective would be empty (never when elastic).
    """
    matrix = build_matrix(campaign, allow_zero=allow_zero or elastic, allow_empty=elastic)
    target = campaign.settings.target_engagement
    problem = pulp.LpProblem("campaign", pulp.LpMinimize if elastic or target is not None else pulp.LpMaximize)
    program = Program(problem, campaign, effective_max_posts(campaign), [])
    program.elastic_rules = elastic_rules
    creator, slot = matrix.creator.tolist(), matrix.slot.tolist()
    variables = [problem.add_variable(f"x{i}_{k + 1}", 0, 1, pulp.LpBinary) for i, k in zip(creator, slot)]
    for k in range(int(matrix.slot.max(initial=-1)) + 1):
        columns = np.flatnonzero(matrix.slot == k)
        program.slots.append((matrix.creator[columns], [variables[j] for j in columns.tolist()]))
    for name, columns, values, lower, upper in _rows(matrix):
        terms = [(variables[j], v) for j, v in zip(columns, values)]
        if name is None:  # a post slot's link: slot k needs slot k-1, or a package deal's slot k needs the first
            later = columns[int(np.argmax(values))]
            link = "chain" if np.isinf(lower) else "package"
            expression = pulp.LpAffineExpression(terms)
            constraint = expression <= upper if link == "chain" else expression >= lower
            problem.addConstraint(constraint, f"{link}{creator[later]}_{slot[later] + 1}")
            continue
        info = matrix.rules[name]
        _add_rule(program, name, terms, info.sense, info.limit, info.scale, elastic, per_budget=info.per_budget)
    if elastic:
        problem.setObjective(
            pulp.lpSum(var * (1.0 / program.rules[name].scale) for name, var in program.elastic.items())
        )
    else:  # the array program maximises; in target mode its objective is minus the spend
        sign = -1.0 if matrix.minimise_spend else 1.0
        problem.setObjective(pulp.LpAffineExpression(
            [(variables[j], sign * c) for j, c in enumerate(matrix.objective.tolist()) if c != 0]))
    return program


def _rows(matrix: MatrixProgram):
    """Each row of the array program: (rule name or None, its columns, values, lower, upper)."""
    column_of = np.repeat(np.arange(matrix.columns), np.diff(matrix.start))
    order = np.argsort(matrix.index, kind="stable")
    start = np.zeros(matrix.rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(matrix.index, minlength=matrix.rows), out=start[1:])
    columns, values = column_of[order].tolist(), matrix.value[order].tolist()
    for row, name in enumerate(matrix.row_names):
        here = slice(start[row], start[row + 1])
        yield name, columns[here], values[here], matrix.row_lower[row], matrix.row_upper[row]


def _add_rule(program, name, terms, sense, limit, scale, elastic, per_budget=None) -> None:
    """Add one named rule: sum(terms) (sense) limit."""
    expr = pulp.LpAffineExpression(list(terms))
    if elastic and (program.elastic_rules is None or name in program.elastic_rules):
        slack = program.problem.add_variable(f"s{len(program.rules)}", lowBound=0)
        program.elastic[name] = slack
        expr[slack] = expr.get(slack, 0.0) + (-1.0 if sense == "<=" else 1.0)
    internal = f"r{len(program.rules)}"
    constraint = expr <= limit if sense == "<=" else expr >= limit
    program.problem.addConstraint(constraint, internal)
    program.constraints[name] = program.problem.get_constraint_by_name(internal)
    program.rules[name] = RuleInfo(name, sense, float(limit), float(max(scale, 1e-9)), per_budget)
