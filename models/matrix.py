"""The campaign program as sparse arrays, built in bulk with numpy.

This is the formulation: one row per rule of the registry (:mod:`models.rules`),
held as column arrays and a compressed sparse column matrix instead of one
Python object per variable and term. Building it for a million creators takes
about a second, and it goes straight into HiGHS (:mod:`planner.core`);
:mod:`models.program` emits the same rows as a PuLP model for other solvers
and for export.

Columns are post slots: column ``j`` is slot ``slot[j]`` (0 for the first
post) of creator ``creator[j]``; slot k of a creator needs slot k-1. Rows are
``row_lower <= A x <= row_upper``; each named rule is one row, and the chain
and package-deal links are unnamed rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from models.campaign import EXCLUDE, Campaign
from models.custom import slot_coefficients
from models.rules import Rule, campaign_rules


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


def build_matrix(campaign: Campaign, allow_zero: bool = False, allow_empty: bool = False) -> MatrixProgram:
    """Build the campaign's program as arrays: its post slots and one row per rule.

    ``allow_zero`` builds it even when every bookable creator is worth nothing
    (the rules may still require bookings; any plan keeping them is then optimal),
    ``allow_empty`` even when no creator can be booked (every rule's row is then
    empty: what the diagnosis of rules that cannot hold needs).

    Raises
    ------
    EmptyProgramError
        When no creator can be booked or (unless ``allow_zero``) the objective would be empty.
    """
    creators = campaign.creators
    settings = campaign.settings
    cap = effective_max_posts(campaign)
    blocks = [np.flatnonzero(cap > k) for k in range(int(cap.max(initial=0)))]
    if not blocks and allow_empty:
        blocks = [np.zeros(0, np.int64)]
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

    rows = _Rows()
    # Chains: slot k needs slot k-1 (blocks are nested and sorted, so searchsorted finds k-1).
    for k in range(1, len(blocks)):
        here = offsets[k] + np.arange(len(blocks[k]))
        before = offsets[k - 1] + np.searchsorted(blocks[k - 1], blocks[k])
        rows.add_links(here, before, -np.inf, 0.0)
    min_posts = creators["min_posts"].to_numpy(np.int64)
    for k in range(1, len(blocks)):
        members = blocks[k][min_posts[blocks[k]] > k]
        rows.add_links(offsets[k] + np.searchsorted(blocks[k], members), first_of[members], 0.0, np.inf)
    slots = _Slots(campaign, creator, slot, cost, value, first, first_of, blocks[0])
    for rule in campaign_rules(campaign):
        built = ROWS[rule.kind](slots, rule)
        if built is not None:
            rows.rule(rule.name, *built)
    if settings.target_engagement is not None:
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
        minimise_spend=settings.target_engagement is not None,
    )


@dataclass
class _Slots:
    """What the row builders need of the program's columns."""

    campaign: Campaign
    creator: np.ndarray
    slot: np.ndarray
    cost: np.ndarray
    value: np.ndarray
    first: np.ndarray  # the columns of first posts ("booked")
    first_of: np.ndarray  # each creator's first-post column, -1 when it has none
    bookable: np.ndarray  # creators with a first-post column, in column order
    measured: dict = field(default_factory=dict)  # custom rule name -> its coefficients (both bounds share them)
    masks: dict = field(default_factory=dict)  # (dimension, groups) -> members (a group's rules share them)

    def members(self, dimension: str, groups) -> np.ndarray:
        """The creators in a group (or a mix's groups), found once for all the rules on it."""
        key = (dimension, groups)
        if key not in self.masks:
            self.masks[key] = self.campaign.members(dimension, groups)
        return self.masks[key]

    @property
    def every(self) -> np.ndarray:
        return np.arange(len(self.creator))

    def spend_share(self, mask: np.ndarray, rule: Rule, of_spend: bool) -> tuple:
        """A share of spend: of the budget (a row that follows it) or of the plan's own spend."""
        budget = self.campaign.settings.total_budget
        if of_spend:
            return self.every, self.cost * (mask[self.creator] - rule.limit), rule.sense, 0.0, budget
        cols = np.flatnonzero(mask[self.creator])
        return cols, self.cost[cols], rule.sense, rule.limit * budget, budget, rule.limit

    def custom(self, rule: Rule) -> tuple:
        """(scoped, whole) coefficients of a custom rule's measure over the columns."""
        if rule.subject not in self.measured:
            self.measured[rule.subject] = slot_coefficients(
                self.campaign.creators, rule.record, self.creator, self.slot, self.campaign.settings.repeat_post_decay
            )
        return self.measured[rule.subject]


def _budget(s: _Slots, rule: Rule) -> tuple:
    return s.every, s.cost, "<=", rule.limit, rule.limit, 1.0


def _must_include(s: _Slots, rule: Rule) -> tuple:
    # A must-include creator the caps leave no slot for yields an empty row no plan can keep.
    cols = [s.first_of[rule.index]] if s.first_of[rule.index] >= 0 else []
    return cols, 1.0, ">=", 1, 1


def _creator_count(s: _Slots, rule: Rule) -> tuple:
    return s.first, 1.0, rule.sense, rule.limit, 1


def _group_share(s: _Slots, rule: Rule) -> tuple:
    mask = s.members(rule.dimension, rule.subject)
    return s.spend_share(mask, rule, s.campaign.settings.share_basis == "spend")


def _group_count(s: _Slots, rule: Rule) -> tuple:
    mask = s.members(rule.dimension, rule.subject)
    return s.first[mask[s.bookable]], 1.0, rule.sense, rule.limit, 1


def _mix_share(s: _Slots, rule: Rule) -> tuple:
    return s.spend_share(s.members(rule.dimension, rule.record.groups), rule, True)


def _custom_bound(s: _Slots, rule: Rule) -> tuple:
    scoped, _ = s.custom(rule)
    return s.every, scoped, rule.sense, rule.limit, max(abs(rule.limit), 1.0)


def _custom_share(s: _Slots, rule: Rule) -> tuple:
    scoped, whole = s.custom(rule)
    return s.every, scoped - rule.limit * whole, rule.sense, 0.0, _scale(whole)


def _target(s: _Slots, rule: Rule) -> tuple:
    return s.every, s.value, ">=", rule.limit, rule.limit


def _no_row(s: _Slots, rule: Rule) -> None:
    """max_share_per_creator: kept by the post slots each creator gets (effective_max_posts)."""
    return None


#: Each rule kind's row: (columns, coefficients, sense, limit, scale[, per_budget]) or None.
ROWS = {
    "budget": _budget,
    "must_include": _must_include,
    "max_share_per_creator": _no_row,
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

