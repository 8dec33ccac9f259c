"""The campaign program as sparse arrays, built in bulk with numpy.

This is the same program as :mod:`models.program` (same slot variables, same
named rules, same meaning) but held as column arrays and a compressed sparse
column matrix instead of one Python object per variable and term. Building it
for a million creators takes about a second, where a PuLP object model takes
about a minute, and it goes straight into HiGHS (:mod:`planner.core`).

Columns are post slots: column ``j`` is slot ``slot[j]`` (0 for the first
post) of creator ``creator[j]``; slot k of a creator needs slot k-1. Rows are
``row_lower <= A x <= row_upper``; each named rule is one row, and the chain
and package-deal links are unnamed rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from models.campaign import MUST, Campaign
from models.custom import slot_coefficients
from models.program import EmptyProgramError, RuleInfo, effective_max_posts, slot_values


@dataclass
class MatrixProgram:
    """A campaign program as arrays.

    ``objective`` is what the program maximises: weighted expected engagement,
    or minus the spend in target mode (so every program is a maximisation).
    """

    campaign: Campaign
    creator: np.ndarray  # creator index of each column
    slot: np.ndarray  # slot number of each column (0 = first post)
    objective: np.ndarray
    col_upper: np.ndarray
    start: np.ndarray  # CSC column starts (len = columns + 1)
    index: np.ndarray  # CSC row indices
    value: np.ndarray  # CSC values
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_names: list  # rule name, or None for a chain / package link
    rules: dict = field(default_factory=dict)  # rule name -> RuleInfo
    minimise_spend: bool = False

    @property
    def columns(self) -> int:
        return len(self.creator)

    @property
    def rows(self) -> int:
        return len(self.row_lower)

    def posts(self, x: np.ndarray) -> np.ndarray:
        """Posts per creator from a column solution (values rounded to 0/1)."""
        posts = np.zeros(len(self.campaign.creators), dtype=np.int64)
        np.add.at(posts, self.creator, (x > 0.5).astype(np.int64))
        return posts

    def columns_of(self, posts: np.ndarray) -> np.ndarray:
        """The column solution for posts per creator (slot k is on when posts > k)."""
        return (posts[self.creator] > self.slot).astype(float)

    def entries(self, columns: np.ndarray) -> tuple:
        """(starts, positions) of the sub-matrix of ``columns`` (indices): its CSC column starts
        (len = columns + 1), and where its entries sit in ``index`` and ``value``."""
        counts = np.diff(self.start)[columns]
        start = np.zeros(len(columns) + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:])
        return start, np.repeat(self.start[columns], counts) + (np.arange(start[-1]) - np.repeat(start[:-1], counts))

    def activity(self, x: np.ndarray) -> np.ndarray:
        """Row activities A x."""
        counts = np.diff(self.start)
        return np.bincount(self.index, weights=self.value * np.repeat(x, counts), minlength=self.rows)

    def transpose_times(self, y: np.ndarray) -> np.ndarray:
        """A^T y, one number per column."""
        column_of = np.repeat(np.arange(self.columns), np.diff(self.start))
        return np.bincount(column_of, weights=self.value * y[self.index], minlength=self.columns)


class _Rows:
    """Rows collected as (row, column, value) triplets."""

    def __init__(self):
        self.rows, self.cols, self.vals = [], [], []
        self.lower, self.upper, self.names = [], [], []
        self.rules = {}

    def add(self, cols, vals, lower, upper, name=None, info=None):
        row = len(self.lower)
        cols = np.asarray(cols, dtype=np.int64)
        vals = np.broadcast_to(np.asarray(vals, dtype=float), cols.shape)
        keep = vals != 0
        self.rows.append(np.full(int(keep.sum()), row, dtype=np.int64))
        self.cols.append(cols[keep])
        self.vals.append(vals[keep])
        self.lower.append(lower)
        self.upper.append(upper)
        self.names.append(name)
        if name is not None:
            self.rules[name] = info

    def add_links(self, first, second, lower, upper):
        """One row per pair: ``lower <= x[first] - x[second] <= upper``."""
        base = len(self.lower)
        rows = base + np.arange(len(first), dtype=np.int64)
        self.rows += [rows, rows]
        self.cols += [np.asarray(first, np.int64), np.asarray(second, np.int64)]
        self.vals += [np.ones(len(first)), -np.ones(len(first))]
        self.lower.extend([lower] * len(first))
        self.upper.extend([upper] * len(first))
        self.names.extend([None] * len(first))

    def rule(self, name, cols, vals, sense, limit, scale, per_budget=None):
        lower, upper = (-np.inf, limit) if sense == "<=" else (limit, np.inf)
        info = RuleInfo(name, sense, float(limit), float(max(scale, 1e-9)), per_budget)
        self.add(cols, vals, lower, upper, name, info)


def build_matrix(campaign: Campaign, allow_zero: bool = False) -> MatrixProgram:
    """Build the campaign's program as arrays (the rules of :func:`models.program.build_program`).

    ``allow_zero`` builds it even when every bookable creator is worth nothing
    (the rules may still require bookings; any plan keeping them is then optimal).

    Raises
    ------
    EmptyProgramError
        When no creator can be booked or (unless ``allow_zero``) the objective would be empty.
    """
    creators = campaign.creators
    settings = campaign.settings
    cap = effective_max_posts(campaign)
    blocks = [np.flatnonzero(cap > k) for k in range(int(cap.max(initial=0)))]
    if not blocks:
        raise EmptyProgramError("no creator can be booked under the caps and excludes")
    offsets = np.cumsum([0] + [len(b) for b in blocks])
    creator = np.concatenate(blocks)
    slot = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
    cost = creators["cost_per_post"].to_numpy(float)[creator]
    value = slot_values(campaign)[creator] * settings.repeat_post_decay ** slot
    first = np.arange(offsets[1])  # columns of first posts: "booked"
    first_of = np.full(len(creators), -1, dtype=np.int64)
    first_of[blocks[0]] = first
    budget = settings.total_budget

    rows = _Rows()
    # Chains: slot k needs slot k-1 (blocks are nested and sorted, so searchsorted finds k-1).
    for k in range(1, len(blocks)):
        here = offsets[k] + np.arange(len(blocks[k]))
        before = offsets[k - 1] + np.searchsorted(blocks[k - 1], blocks[k])
        rows.add_links(here, before, -np.inf, 0.0)
    rows.rule("budget", np.arange(len(creator)), cost, "<=", budget, budget, per_budget=1.0)
    for i in np.flatnonzero(creators["include"].to_numpy() == MUST).tolist():
        cols = [first_of[i]] if first_of[i] >= 0 else []
        rows.rule(f"must_include:{creators['creator'].iat[i]}", cols, 1.0, ">=", 1, 1)
    min_posts = creators["min_posts"].to_numpy(np.int64)
    for k in range(1, len(blocks)):
        members = blocks[k][min_posts[blocks[k]] > k]
        rows.add_links(offsets[k] + np.searchsorted(blocks[k], members), first_of[members], 0.0, np.inf)
    if settings.min_creators is not None:
        rows.rule("min_creators", first, 1.0, ">=", settings.min_creators, 1)
    if settings.max_creators is not None:
        rows.rule("max_creators", first, 1.0, "<=", settings.max_creators, 1)
    all_columns = np.arange(len(creator))
    of_spend = settings.share_basis == "spend"
    for group in campaign.groups:
        mask = campaign.members(group.dimension, group.group)
        for bound, sense in ((group.min_share, ">="), (group.max_share, "<=")):
            if bound is None:
                continue
            name = f"{group.dimension}_{'min' if sense == '>=' else 'max'}_share:{group.group}"
            if of_spend:
                rows.rule(name, all_columns, cost * (mask[creator] - bound), sense, 0.0, budget)
            else:
                cols = np.flatnonzero(mask[creator])
                rows.rule(name, cols, cost[cols], sense, bound * budget, budget, per_budget=bound)
        booked = first[mask[blocks[0]]]
        if group.min_creators is not None:
            rows.rule(f"{group.dimension}_min_creators:{group.group}", booked, 1.0, ">=", group.min_creators, 1)
        if group.max_creators is not None:
            rows.rule(f"{group.dimension}_max_creators:{group.group}", booked, 1.0, "<=", group.max_creators, 1)
    for mix in campaign.mixes:
        mask = campaign.members(mix.dimension, mix.groups)
        for bound, sense in ((mix.min_share, ">="), (mix.max_share, "<=")):
            if bound is None:
                continue
            name = f"mix_{'min' if sense == '>=' else 'max'}_share:{mix.name}"
            rows.rule(name, all_columns, cost * (mask[creator] - bound), sense, 0.0, budget)
    for rule in campaign.custom:
        scoped, whole = slot_coefficients(creators, rule, creator, slot, settings.repeat_post_decay)
        for name, kind, sense, limit in rule.bounds():
            if kind.endswith("share"):
                rows.rule(name, all_columns, scoped - limit * whole, sense, 0.0, _scale(whole))
            else:
                rows.rule(name, all_columns, scoped, sense, limit, max(abs(limit), 1.0))
    target = settings.target_engagement
    if target is not None:
        rows.rule("target_engagement", all_columns, value, ">=", target, target)
        objective = -cost
    else:
        if not allow_zero and not np.any(value != 0):
            raise EmptyProgramError("every bookable creator has zero expected engagement")
        objective = value

    row_of = np.concatenate(rows.rows) if rows.rows else np.zeros(0, np.int64)
    col_of = np.concatenate(rows.cols) if rows.cols else np.zeros(0, np.int64)
    vals = np.concatenate(rows.vals) if rows.vals else np.zeros(0)
    # Rows were collected in increasing order, so a stable sort by column alone gives CSC order.
    order = np.argsort(col_of, kind="stable")
    start = np.zeros(len(creator) + 1, dtype=np.int64)
    np.cumsum(np.bincount(col_of, minlength=len(creator)), out=start[1:])
    return MatrixProgram(
        campaign=campaign,
        creator=creator,
        slot=slot,
        objective=np.asarray(objective, float),
        col_upper=np.ones(len(creator)),
        start=start,
        index=row_of[order],
        value=vals[order],
        row_lower=np.array(rows.lower, float),
        row_upper=np.array(rows.upper, float),
        row_names=rows.names,
        rules=rows.rules,
        minimise_spend=target is not None,
    )


def _scale(coefficients: np.ndarray) -> float:
    """A share rule's size, for its slack's price: the largest single term."""
    return float(np.abs(coefficients).max(initial=1.0)) or 1.0


def set_matrix_budget(program: MatrixProgram, campaign: Campaign) -> Optional[MatrixProgram]:
    """The program re-aimed at a campaign differing only in total_budget, or None if it must be rebuilt.

    Shares of budget and the budget row follow the new budget. A per-creator
    cap (a share of the budget) that shrinks drops the slots above it, which is
    the program a fresh build gives (a dropped slot's link rows are left empty
    and always hold); a cap that grows needs slots the program lacks: a rebuild.
    """
    cap = effective_max_posts(campaign)
    built = effective_max_posts(program.campaign)
    if (cap > built).any():
        return None
    changed = MatrixProgram(**{**program.__dict__})
    if (cap < built).any():
        keep = program.slot < cap[program.creator]
        if not np.any(program.objective[keep] != 0):
            return None  # nothing left worth booking: the rebuild says so
        _keep_columns(changed, keep)
    budget = campaign.settings.total_budget
    lower, upper = program.row_lower.copy(), program.row_upper.copy()
    rules = dict(program.rules)
    for row, name in enumerate(program.row_names):
        info = rules.get(name) if name is not None else None
        if info is None or info.per_budget is None:
            continue
        limit = info.per_budget * budget
        if info.sense == "<=":
            upper[row] = limit
        else:
            lower[row] = limit
        rules[name] = RuleInfo(name, info.sense, limit, max(budget, 1e-9), info.per_budget)
    changed.row_lower, changed.row_upper, changed.rules, changed.campaign = lower, upper, rules, campaign
    return changed


def _keep_columns(program: MatrixProgram, keep: np.ndarray) -> None:
    """Drop the columns not in ``keep`` (a boolean mask), in place."""
    columns = np.flatnonzero(keep)
    start, take = program.entries(columns)
    program.creator, program.slot = program.creator[columns], program.slot[columns]
    program.objective, program.col_upper = program.objective[columns], program.col_upper[columns]
    program.start, program.index, program.value = start, program.index[take], program.value[take]

