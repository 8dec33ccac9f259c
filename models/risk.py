"""How sure a plan is: the spread of its total value when each creator's rate lands above or below
its estimate.

The model (stated so others can reproduce the figures): creator *i*'s realised rate is
``engagement_rate_i * exp(sigma_i * Z_i - sigma_i**2 / 2)``, a lognormal with mean
``engagement_rate_i``. ``sigma_i = (ln high_i - ln low_i) / (2 * 1.2816)`` from the creator's 10th and
90th percentiles (``engagement_rate_low`` / ``engagement_rate_high``), else
``sqrt(ln(1 + cv**2))`` from the Budget setting ``engagement_cv``. One draw applies to all of a
creator's posts. ``Z_i = sqrt(rho) * G_niche(i) + sqrt(1 - rho) * eps_i`` with a standard normal
``G`` per niche and ``eps`` per creator, ``rho`` = ``risk_correlation``. A plan's value (weighted,
with decay) scales with each booked creator's draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from models.campaign import Campaign
from models.checker import plan_engagement

#: The standard normal's 90th percentile: a 10th-90th range spans 2 x 1.2816 sigmas.
Z90 = 1.2815515655446004
#: Draws per plan, and how many creators' draws are made at once (bounds memory on big plans).
DRAWS = 10_000
CHUNK_CELLS = 5_000_000


@dataclass(frozen=True)
class RiskFigures:
    """The distribution of a plan's total value over the draws."""

    mean: float
    p10: float
    p50: float
    p90: float
    cvar: float  # mean of the worst `level` share of outcomes
    level: float
    draws: int
    seed: int
    mean_error: float  # Monte Carlo standard error of the mean
    histogram: tuple = field(default=(), compare=False)  # (bin edges, counts) of the sampled totals, for the distribution chart

    def rows(self) -> list:
        """(statistic, value) rows, as the Risk sheet lists them."""
        return [("mean", self.mean), ("P10", self.p10), ("P50", self.p50), ("P90", self.p90),
                (f"CVaR {self.level:.0%}", self.cvar), ("standard error of the mean", self.mean_error),
                ("draws", self.draws), ("random_seed", self.seed)]


def sigmas(campaign: Campaign) -> Optional[np.ndarray]:
    """Each creator's sigma, or None when the input gives no uncertainty at all."""
    creators = campaign.creators
    cv = campaign.settings.engagement_cv
    fallback = math.sqrt(math.log1p(cv * cv)) if cv is not None else np.nan
    sigma = np.full(len(creators), fallback)
    if "engagement_rate_low" in creators:
        low = creators["engagement_rate_low"].to_numpy(float)
        high = creators["engagement_rate_high"].to_numpy(float)
        ranged = np.isfinite(low) & np.isfinite(high) & (low > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma[ranged] = (np.log(high[ranged]) - np.log(low[ranged])) / (2 * Z90)
    if np.isnan(sigma).all():
        return None
    return np.nan_to_num(sigma, nan=0.0)  # a creator with no range and no cv: its estimate, exactly


def outcomes(campaign: Campaign, posts, draws: int = DRAWS, seed: Optional[int] = None) -> Optional[np.ndarray]:
    """The plan's total weighted value in each of ``draws`` draws (None without uncertainty)."""
    sigma = sigmas(campaign)
    if sigma is None:
        return None
    seed = campaign.settings.random_seed if seed is None else seed
    value = plan_engagement(campaign, np.asarray(posts))
    booked = np.flatnonzero(value > 0)
    rng = np.random.default_rng(seed)
    niches, niche_of = np.unique(campaign.creators["niche"].to_numpy(object), return_inverse=True)
    rho = campaign.settings.risk_correlation
    common = rng.standard_normal((draws, len(niches))) * math.sqrt(rho)
    total = np.zeros(draws)
    step = max(1, CHUNK_CELLS // max(draws, 1))
    for start in range(0, len(booked), step):
        chunk = booked[start:start + step]
        s = sigma[chunk]
        z = common[:, niche_of[chunk]] + rng.standard_normal((draws, len(chunk))) * math.sqrt(1.0 - rho)
        total += np.exp(z * s - 0.5 * s * s) @ value[chunk]
    return total


def figures(totals: np.ndarray, level: float, seed: int) -> RiskFigures:
    """Mean, P10 / P50 / P90 and CVaR (mean of the worst ``level`` share) of sampled totals."""
    ordered = np.sort(totals)
    worst = max(1, int(math.floor(level * len(ordered))))
    p10, p50, p90 = np.quantile(ordered, [0.1, 0.5, 0.9])
    counts, edges = np.histogram(ordered, bins=20)
    return RiskFigures(float(ordered.mean()), float(p10), float(p50), float(p90), float(ordered[:worst].mean()),
                       level, len(ordered), seed, float(ordered.std(ddof=1) / math.sqrt(len(ordered))),
                       (edges, counts))


def plan_risk(campaign: Campaign, posts, level: float = 0.1, draws: int = DRAWS) -> Optional[RiskFigures]:
    """The plan's risk figures, or None when the input states no uncertainty."""
    totals = outcomes(campaign, posts, draws)
    return None if totals is None else figures(totals, level, campaign.settings.random_seed)
