"""Campaign records: the creators table and the rules a plan must respect.

Everything here is plain data, free of I/O. A :class:`Campaign` is what the
workbook reader and validator produce and what the program, the checker and
the baseline consume.

The creators table is a pandas DataFrame with one row per candidate and these
typed columns (see :data:`CREATOR_COLUMNS`):

``creator`` (str), ``platform`` (str), ``niche`` (str), ``tier`` (str),
``followers`` (float), ``engagement_rate`` (float, a fraction),
``authenticity`` (float, 0-1), ``cost_per_post`` (float, dollars),
``min_posts`` (int), ``max_posts`` (int), ``include`` ("must", "exclude" or
""), ``post_value`` (float: expected engagement of one post, before the niche
weight), ``row`` (int: the source row, for messages).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
import pandas as pd

from models.plan import share_text

#: Group dimensions a share or count rule can apply to.
DIMENSIONS = ("niche", "tier", "platform")

#: Columns of the typed creators table, in report order.
CREATOR_COLUMNS = (
    "creator",
    "platform",
    "niche",
    "tier",
    "followers",
    "engagement_rate",
    "authenticity",
    "cost_per_post",
    "min_posts",
    "max_posts",
    "include",
    "post_value",
    "row",
)

MUST = "must"
EXCLUDE = "exclude"


@dataclass(frozen=True)
class TierBand:
    """A follower band: ``min_followers <= followers < max_followers``."""

    name: str
    min_followers: float
    max_followers: float = math.inf


#: Default tier bands (sources disagree on cut-offs, so the Tiers sheet may edit them).
DEFAULT_TIERS = (
    TierBand("nano", 0, 10_000),
    TierBand("micro", 10_000, 100_000),
    TierBand("mid", 100_000, 500_000),
    TierBand("macro", 500_000, 1_000_000),
    TierBand("mega", 1_000_000, math.inf),
)


@dataclass(frozen=True)
class GroupRule:
    """Rules on one group of creators (a niche, a tier or a platform).

    Parameters
    ----------
    dimension : str
        ``"niche"``, ``"tier"`` or ``"platform"``.
    group : str
        The group's name as planners spell it.
    min_share, max_share : float or None
        Bounds on the group's spend as a fraction of the share basis.
    min_creators, max_creators : int or None
        Bounds on the number of booked creators in the group.
    weight : float
        Value of one engagement in this group (niches only; 1 elsewhere).
    """

    dimension: str
    group: str
    min_share: Optional[float] = None
    max_share: Optional[float] = None
    min_creators: Optional[int] = None
    max_creators: Optional[int] = None
    weight: float = 1.0


@dataclass(frozen=True)
class Settings:
    """Budget-sheet settings, all validated.

    Parameters
    ----------
    total_budget : float
        Spend may not exceed it; shares are fractions of it by default.
    max_share_per_creator : float or None
        Each creator's spend is at most this fraction of ``total_budget``.
    min_creators, max_creators : int or None
        Bounds on the number of booked creators overall.
    repeat_post_decay : float
        The k-th post by one creator is worth ``decay**(k-1)`` of the first.
    share_basis : str
        ``"budget"`` (shares of total_budget) or ``"spend"`` (of planned spend).
    solver : str
        ``"highs"`` or ``"cbc"``.
    time_limit_seconds : float or None
        Solver time limit; None means no limit.
    mip_gap : float
        Relative optimality gap at which the plan counts as proven.
    target_engagement : float or None
        When set, the plan minimises spend subject to weighted expected
        engagement reaching this target (total_budget stays an upper limit).
    decimal_separator : str or None
        ``"."`` or ``","``: how the input writes decimals in text cells; None
        when each column showed its own (or had no decimals in text).
    currency : str
        The symbol (``$``, ``€``, ``£``, ``¥``) or ISO code (``CHF``) every amount is
        written in: the Budget sheet's ``currency``, else the symbol the input's money
        cells carry, else ``$``.
    campaign, client : str or None
        Names shown as the title of every client sheet.
    engagement_cv : float or None
        Coefficient of variation of every creator's realised rate (when the Creators sheet gives
        no engagement_rate_low / engagement_rate_high range for it).
    risk_correlation : float
        Share of a creator's surprise common to its niche (0: independent, 1: the whole niche moves together).
    random_seed : int
        Seed of the Monte Carlo draws, so the risk figures can be reproduced.
    risk : str
        ``"neutral"`` (maximise the mean) or ``"cvar"`` (maximise the mean of the worst
        ``risk_level`` share of ``risk_samples`` sampled outcomes).
    objective : str
        What one post is worth (``post_value``): ``engagement``, ``reach``, ``conversions`` or the
        name of a numeric Creators column (see :mod:`models.custom`).
    reach_rate : float or None
        Share of followers one post reaches, for creators without their own reach_rate or expected_reach.
    """

    total_budget: float
    max_share_per_creator: Optional[float] = None
    min_creators: Optional[int] = None
    max_creators: Optional[int] = None
    repeat_post_decay: float = 1.0
    share_basis: str = "budget"
    solver: str = "highs"
    time_limit_seconds: Optional[float] = None
    mip_gap: float = 1e-4
    target_engagement: Optional[float] = None
    decimal_separator: Optional[str] = None
    currency: str = "$"
    campaign: Optional[str] = None
    client: Optional[str] = None
    engagement_cv: Optional[float] = None
    risk_correlation: float = 0.2
    random_seed: int = 1
    risk: str = "neutral"
    risk_level: float = 0.1
    risk_samples: int = 500
    objective: str = "engagement"
    reach_rate: Optional[float] = None


@dataclass(frozen=True)
class MixRule:
    """A bound on the share of planned spend going to a set of groups.

    For example many-micro: nano + micro tiers take at least 70% of spend.
    Shares are always of planned spend, whatever ``share_basis`` says.
    """

    name: str
    dimension: str
    groups: tuple
    min_share: Optional[float] = None
    max_share: Optional[float] = None

    def describe(self) -> str:
        """'Nano + micro tiers: at least 70% of planned spend (many-micro)'."""
        parts = []
        if self.min_share is not None:
            parts.append(f"at least {share_text(self.min_share)}")
        if self.max_share is not None:
            parts.append(f"at most {share_text(self.max_share)}")
        names = " + ".join(self.groups)
        names = names[:1].upper() + names[1:]
        kind = {"tier": " tiers", "niche": " niches", "platform": " platforms"}.get(self.dimension, "")
        if len(self.groups) == 1:
            kind = kind[:-1]
        return f"{names}{kind}: {' and '.join(parts)} of planned spend ({self.name})"



@dataclass(frozen=True)
class Campaign:
    """Everything a plan is computed from.

    Parameters
    ----------
    creators : pandas.DataFrame
        The typed creators table (columns :data:`CREATOR_COLUMNS`).
    settings : Settings
        Budget and solver settings.
    groups : tuple of GroupRule
        Share, count and weight rules per niche, tier and platform.
    tiers : tuple of TierBand
        The follower bands tiers were derived from.
    mixes : tuple of MixRule
        Spend-share rules over sets of groups (scenario mixes).
    custom : tuple of models.custom.CustomRule
        The Custom rules sheet's rules.
    extra : pandas.DataFrame
        Input columns the planner does not use, carried through to the report.
    """

    creators: pd.DataFrame
    settings: Settings
    groups: tuple = ()
    tiers: tuple = DEFAULT_TIERS
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)
    mixes: tuple = ()
    custom: tuple = ()

    def with_settings(self, **changes) -> "Campaign":
        """Return a copy with some settings replaced."""
        return replace(self, settings=replace(self.settings, **changes))

    def rules_for(self, dimension: str) -> list:
        """Group rules of one dimension."""
        return [g for g in self.groups if g.dimension == dimension]

    def niche_weights(self) -> np.ndarray:
        """Weight of each creator's niche (1 where no weight is given)."""
        weights = {g.group: g.weight for g in self.rules_for("niche")}
        labels, names = self._labels("niche")
        per_name = np.array([weights.get(name, 1.0) for name in names] + [1.0], dtype=float)
        return per_name[labels]  # label -1 (a missing niche) takes the trailing 1.0

    def members(self, dimension: str, groups) -> np.ndarray:
        """Which creators belong to a group (or to any of several) of a dimension: a boolean mask.

        Each group's label is looked up, not searched for among the names, and a group no
        creator is in costs no comparison: rules on 100,000 niches stay linear.
        """
        labels, _, code_of = self._labelled(dimension)
        wanted = groups if isinstance(groups, (list, tuple, set, frozenset)) else (groups,)
        codes = sorted({code_of[name] for name in wanted if name in code_of})
        if not codes:
            return np.zeros(len(labels), bool)
        if len(codes) == 1:
            return labels == codes[0]
        return np.isin(labels, codes)

    def _labels(self, dimension: str) -> tuple:
        """(label per creator, group names) of a dimension; -1 labels a missing value.

        Campaigns changed by a scenario or a loosened rule share one creators table, and
        the checker, the program and the explanations all ask which creators are in which
        group: label each dimension once (comparing a million texts costs 30 ms a group).
        """
        return self._labelled(dimension)[:2]

    def _labelled(self, dimension: str) -> tuple:
        """(label per creator, group names, name -> label) of a dimension, computed once per table."""
        table = self.creators
        key = (id(table), dimension)
        entry = _LABELS.get(key)
        if entry is None or entry[0]() is not table or len(entry[1][0]) != len(table):
            labels, names = pd.factorize(table[dimension], use_na_sentinel=True)
            names = list(names)
            code_of = {name: code for code, name in enumerate(names)}
            entry = (weakref.ref(table, lambda _, key=key: _LABELS.pop(key, None)), (labels, names, code_of))
            _LABELS[key] = entry
        return entry[1]


#: (id(creators table), dimension) -> (weak reference to the table, (label per creator, group
#: names, name -> label)); an entry goes when its table does. Tables are not changed once a
#: Campaign holds them.
_LABELS: dict = {}


def tier_of(followers: np.ndarray, bands=DEFAULT_TIERS) -> np.ndarray:
    """Tier name of each follower count (lower bound inclusive); "" if in no band."""
    followers = np.asarray(followers, dtype=float)
    out = np.full(len(followers), "", dtype=object)
    unnamed = np.ones(len(followers), bool)  # out == "", kept as a mask: comparing text cells is slow
    for band in bands:
        inside = unnamed & (followers >= band.min_followers) & (followers < band.max_followers)
        out[inside] = band.name
        unnamed[inside] = band.name == ""
    return out


def make_creators(
    creator,
    cost_per_post,
    post_value=None,
    *,
    niche="all",
    platform="any",
    followers=None,
    engagement_rate=None,
    authenticity=1.0,
    min_posts=0,
    max_posts=1,
    include="",
    tier=None,
    tiers=DEFAULT_TIERS,
) -> pd.DataFrame:
    """Build a typed creators table from arrays (for programs, tests and benchmarks).

    Parameters
    ----------
    creator : sequence of str
        Unique handles.
    cost_per_post : array-like
        Dollars per post.
    post_value : array-like, optional
        Expected engagement of one post; computed from followers,
        engagement_rate and authenticity when omitted.
    niche, platform, followers, engagement_rate, authenticity, min_posts,
    max_posts, include, tier : scalar or array-like
        Column values; scalars are broadcast.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CREATOR_COLUMNS`.
    """
    n = len(creator)

    def col(value, dtype):
        arr = np.asarray(value, dtype=dtype)
        return np.full(n, value, dtype=dtype) if arr.ndim == 0 else arr

    if followers is None:
        followers = np.zeros(n)
    if engagement_rate is None:
        engagement_rate = np.zeros(n)
    followers = col(followers, float)
    engagement_rate = col(engagement_rate, float)
    authenticity = col(authenticity, float)
    if post_value is None:
        post_value = followers * engagement_rate * authenticity
    frame = pd.DataFrame(
        {
            "creator": col(creator, object),
            "platform": col(platform, object),
            "niche": col(niche, object),
            "tier": col(tier, object) if tier is not None else tier_of(followers, tiers),
            "followers": followers,
            "engagement_rate": engagement_rate,
            "authenticity": authenticity,
            "cost_per_post": col(cost_per_post, float),
            "min_posts": col(min_posts, np.int64),
            "max_posts": col(max_posts, np.int64),
            "include": col(include, object),
            "post_value": col(post_value, float),
            "row": np.arange(2, n + 2, dtype=np.int64),
        }
    )
    return frame


def knapsack_campaign(values, weights, capacity, **settings) -> Campaign:
    """A campaign that is exactly a 0/1 knapsack: value = engagement, weight = cost.

    Parameters
    ----------
    values, weights : array-like
        Item values and weights.
    capacity : float
        The knapsack capacity, used as the total budget.
    **settings
        Further :class:`Settings` fields (solver, time_limit_seconds, ...).

    Returns
    -------
    Campaign
    """
    values = np.asarray(values, dtype=float)
    names = [f"item{i + 1}" for i in range(len(values))]
    creators = make_creators(names, weights, values, tier="all")
    return Campaign(creators=creators, settings=Settings(total_budget=float(capacity), **settings))
