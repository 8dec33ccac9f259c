#!/usr/bin/env python3
"""Generate the sample input workbooks for the campaign planner.

Writes three Excel workbooks that follow the planner's input contract
(sheets ``Creators``, ``Budget``, ``Niches``, ``Tiers`` and ``Platforms``;
lower-case snake-case headers on row 1, data from row 2, blank cell = "no
rule", shares are fractions of ``total_budget``):

``small_campaign.xlsx``
    About 40 creators, 4 niches, a handful of simple rules and no repeat-post
    decay, so the optimum can be checked by hand.
``typical_campaign.xlsx``
    About 2,000 creators, 8 niches, 3 platforms and every rule type in use.
    Feasible with a comfortable margin.
``infeasible_campaign.xlsx``
    About 40 creators whose niche minimum shares add up to 110 % of the
    budget, so no plan can satisfy them all.

Usage::

    python scripts/make_samples.py                # writes sample_inputs/
    python scripts/make_samples.py --seed 7 --out /tmp/samples

The output is fully determined by ``--seed``: every workbook draws from its
own child stream of :class:`numpy.random.SeedSequence`, and the files are
saved with fixed timestamps, so running the script twice produces
byte-identical workbooks.

Data model
----------
All creators are synthetic. The distributions below are approximate
published tier benchmarks, used only to make the synthetic data look
realistic; they are not measurements of any real creator and should not be
quoted as market data.

Tiers (follower bands; lower bound inclusive, upper bound exclusive) follow
the common industry convention used by the sources below and are written to
the ``Tiers`` sheet as nano [0, 10k), micro [10k, 100k), mid [100k, 500k),
macro [500k, 1M), mega [1M, no upper limit).

* **Followers** -- a tier is drawn from a mix weighted heavily toward nano and
  micro creators (HypeAuditor's *State of Influencer Marketing* reports put
  the large majority of Instagram accounts with 1k+ followers in the nano and
  micro bands; a brand's roster over-represents bigger creators relative to
  the population, but is still mostly small creators). Within the tier the
  follower count is log-uniform; sampled nano accounts start at 1k followers
  and mega accounts stop at 10M.
* **Engagement rate** -- median per (platform, tier) from Influencer
  Marketing Hub, *The State of Influencer Marketing: Benchmark Report*
  (influencermarketinghub.com/influencer-marketing-benchmark-report/) and
  HypeAuditor, *State of Influencer Marketing* (hypeauditor.com), which both
  report engagement falling with audience size on Instagram (nano roughly
  2.5-4 %, micro 1.5-2.5 %, mid ~1.2 %, macro ~1 %, mega 0.7-1 %), much higher
  engagement on TikTok (nano ~10 %, mega ~5 %) and lower engagement on
  YouTube. Each creator gets multiplicative lognormal noise around the
  median.
* **Cost per post** -- rate cards from Influencer Marketing Hub,
  *Influencer Rates: How Much Do Influencers Really Cost?*
  (influencermarketinghub.com/influencer-rates/) and Shopify,
  *Influencer Pricing* (shopify.com/blog/influencer-pricing): on Instagram
  roughly $10 per 1,000 followers, i.e. nano $10-100 per post, micro
  $100-500, mid $500-5k, macro $5k-10k, mega $10k+. TikTok rate cards are
  lower (quoted anywhere from a quarter of Instagram's to near parity; we use
  0.6x) and YouTube higher (about $20 per 1,000 subscribers, 2x). A small
  flat fee ($10-30) is added so the smallest accounts still quote a minimum.
  The price rises mildly with the creator's engagement relative to the tier
  benchmark, gets lognormal noise, and is rounded to $10.
* **Authenticity** -- share of real followers, 0.75 + 0.25 * Beta(6, 2), i.e.
  mostly 0.85-1.0 with a tail toward 0.75, in the spirit of the audience
  quality scores reported by audit tools such as HypeAuditor.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import math
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

DEFAULT_SEED = 20261126
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "sample_inputs"

# Fixed timestamp written into the workbook metadata and zip entries so that
# the files are byte-for-byte reproducible.
FIXED_TIMESTAMP = _dt.datetime(2026, 1, 1, 0, 0, 0)

# --------------------------------------------------------------------------
# Benchmarks (approximate published tier figures -- see module docstring)
# --------------------------------------------------------------------------

TIER_NAMES = ("nano", "micro", "mid", "macro", "mega")

# Tier bands exactly as written to the ``Tiers`` sheet; None = no upper limit.
TIER_BOUNDS: dict[str, tuple[int, int | None]] = {
    "nano": (0, 10_000),
    "micro": (10_000, 100_000),
    "mid": (100_000, 500_000),
    "macro": (500_000, 1_000_000),
    "mega": (1_000_000, None),
}

# Follower ranges used for *sampling* (log-uniform).  Nano starts at 1k
# followers (the usual floor for brand deals) and mega is capped at 10M.
TIER_SAMPLING_RANGE: dict[str, tuple[float, float]] = {
    "nano": (1_000, 10_000),
    "micro": (10_000, 100_000),
    "mid": (100_000, 500_000),
    "macro": (500_000, 1_000_000),
    "mega": (1_000_000, 10_000_000),
}

# Median engagement rate (engagements / followers per post) by platform and
# tier. Instagram and TikTok: Influencer Marketing Hub benchmark report and
# HypeAuditor State of Influencer Marketing; YouTube set below Instagram, in
# line with those reports.
ENGAGEMENT_MEDIAN: dict[str, dict[str, float]] = {
    "instagram": {"nano": 0.032, "micro": 0.020, "mid": 0.012, "macro": 0.010, "mega": 0.008},
    "tiktok": {"nano": 0.100, "micro": 0.080, "mid": 0.065, "macro": 0.055, "mega": 0.050},
    "youtube": {"nano": 0.020, "micro": 0.014, "mid": 0.010, "macro": 0.008, "mega": 0.006},
}
ENGAGEMENT_NOISE_SIGMA = 0.35  # lognormal sigma around the median
ENGAGEMENT_CLIP = (0.002, 0.30)

# Dollars per 1,000 followers per sponsored post (Influencer Marketing Hub /
# Shopify rate guides: ~$10/1k on Instagram, cheaper on TikTok, ~$20/1k on
# YouTube).
RATE_PER_1K_FOLLOWERS: dict[str, float] = {"instagram": 10.0, "tiktok": 6.0, "youtube": 20.0}
# Flat per-post fee on top of the follower-based rate (even the smallest
# creators quote a minimum; keeps nano prices in the published $10-100 band).
BASE_FEE: dict[str, float] = {"instagram": 15.0, "tiktok": 10.0, "youtube": 30.0}
COST_NOISE_SIGMA = 0.30  # lognormal sigma on the price
COST_ENGAGEMENT_ELASTICITY = 0.4  # price ~ (er / tier median) ** elasticity
COST_FLOOR = 10  # no one posts for less than this

# --------------------------------------------------------------------------
# Handle vocabulary
# --------------------------------------------------------------------------

ADJECTIVES = (
    "glow", "sunny", "urban", "wild", "cozy", "bold", "little", "happy", "golden",
    "fresh", "daily", "simply", "modern", "tiny", "salty", "sweet", "lazy", "brave",
    "quiet", "lucky", "rosy", "misty", "crisp", "honest", "real", "pure", "savvy",
    "curious", "free", "busy", "velvet", "north", "coastal", "city", "indie", "mellow",
)

NICHE_NOUNS: dict[str, tuple[str, ...]] = {
    "beauty": ("glow", "blush", "lashes", "skin", "gloss", "beauty", "makeup", "brows", "serum", "lipstick"),
    "fashion": ("closet", "style", "threads", "outfits", "wardrobe", "denim", "stitch", "thrift", "runway", "looks"),
    "fitness": ("lifts", "reps", "fit", "gains", "sweat", "yoga", "runner", "pilates", "strength", "moves"),
    "food": ("kitchen", "bites", "eats", "plates", "recipes", "bakes", "spoon", "snacks", "brunch", "pantry"),
    "travel": ("wander", "trails", "nomad", "passport", "journeys", "roads", "getaways", "compass", "suitcase",
               "horizons"),
    "gaming": ("plays", "pixel", "gg", "quest", "respawn", "loot", "arcade", "controller", "speedrun", "gamer"),
    "tech": ("bytes", "gadgets", "code", "circuits", "unboxed", "techie", "specs", "pixels", "devices", "silicon"),
    "parenting": ("mama", "dadlife", "littles", "nursery", "family", "toddler", "momlife", "parenting", "kiddos",
                  "household"),
}

FIRST_NAMES = (
    "maya", "leo", "zoe", "sam", "ava", "noah", "mia", "eli", "lena", "omar", "nina",
    "jay", "sofia", "theo", "ivy", "kai", "emma", "luca", "aria", "finn", "rosa", "max",
    "tara", "ben", "priya", "diego", "hana", "josh", "lily", "ravi", "chloe", "marco",
    "jade", "ezra", "nora", "alex", "yuki", "amir", "elle", "owen",
)

# Free-text notes sprinkled over a few ordinary creators.
GENERIC_NOTES = (
    "Prefers Reels over static posts",
    "Agency-managed; invoice through the agency",
    "Usage rights cost extra",
    "Available from the 15th onward",
    "Bilingual audience (EN/ES)",
    "Needs product samples two weeks ahead",
    "Past campaign performed well",
    "Audience skews 18-24",
    "Will only post on weekdays",
    "Asked for a revision round in the brief",
)

EXCLUDE_NOTES = (
    "Exclusive deal with a competitor this quarter",
    "Failed brand-safety review",
    "Disputed invoice on last campaign",
)

MUST_NOTES = (
    "Existing brand ambassador; contract renewal",
    "Requested by the client",
)

PACKAGE_NOTE = "Package deal: minimum 2 posts"

# --------------------------------------------------------------------------
# Data structures
# --------------------------------------------------------------------------

CREATOR_COLUMNS = (
    "creator", "platform", "niche", "followers", "engagement_rate", "cost_per_post",
    "max_posts", "min_posts", "authenticity", "include", "notes",
)


@dataclass
class Creator:
    """One row of the ``Creators`` sheet (plus the derived tier)."""

    creator: str
    platform: str
    niche: str
    tier: str
    followers: int
    engagement_rate: float
    cost_per_post: int
    max_posts: int
    min_posts: int = 0
    authenticity: float = 1.0
    include: str | None = None
    notes: str | None = None

    def row(self) -> list[Any]:
        """Return the values in ``CREATOR_COLUMNS`` order."""
        return [getattr(self, col) for col in CREATOR_COLUMNS]

    def value_per_post(self, weight: float = 1.0) -> float:
        """Expected real engagements of one post, times the niche weight."""
        return self.followers * self.engagement_rate * self.authenticity * weight


@dataclass
class Campaign:
    """Everything needed to write one input workbook.

    Rule dictionaries map a group name to ``{column: value}``; missing keys
    and ``None`` values are written as blank cells ("no rule").
    """

    name: str
    creators: list[Creator]
    budget: list[tuple[str, Any]]
    niches: dict[str, dict[str, Any]]
    tiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    platforms: dict[str, dict[str, Any]] = field(default_factory=dict)

    def setting(self, key: str) -> Any:
        """Return a value from the ``Budget`` sheet, or None if absent/blank."""
        return dict(self.budget).get(key)


# --------------------------------------------------------------------------
# Sampling helpers
# --------------------------------------------------------------------------


def tier_of(followers: int) -> str:
    """Return the tier name for a follower count.

    Parameters
    ----------
    followers : int
        Follower (or subscriber) count.

    Returns
    -------
    str
        One of ``TIER_NAMES``; bands are lower-bound inclusive.
    """
    for name in TIER_NAMES:
        lo, hi = TIER_BOUNDS[name]
        if followers >= lo and (hi is None or followers < hi):
            return name
    raise ValueError(f"negative follower count: {followers}")


def make_handles(rng: np.random.Generator, niches: Sequence[str]) -> list[str]:
    """Create unique, realistic-looking creator handles.

    Handles combine an adjective, a niche-flavoured noun, a first name and/or
    a number, e.g. ``@sunnybites23``, ``@glowwithmaya``, ``@leo.trails``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random stream.
    niches : sequence of str
        Niche of each creator, in order; one handle is returned per entry.

    Returns
    -------
    list of str
        Lower-case handles starting with ``@``, unique within the list and at
        most 30 characters after the ``@``.
    """
    seen: set[str] = set()
    handles: list[str] = []
    for niche in niches:
        nouns = NICHE_NOUNS.get(niche, NICHE_NOUNS["beauty"])
        for attempt in range(1000):
            adj = ADJECTIVES[rng.integers(len(ADJECTIVES))]
            noun = nouns[rng.integers(len(nouns))]
            name = FIRST_NAMES[rng.integers(len(FIRST_NAMES))]
            num = int(rng.integers(1, 100))
            pattern = int(rng.integers(6))
            if pattern == 0:
                body = f"{adj}{noun}{num}"
            elif pattern == 1:
                body = f"{adj}_{noun}"
            elif pattern == 2:
                body = f"{noun}with{name}"
            elif pattern == 3:
                body = f"{name}.{noun}"
            elif pattern == 4:
                body = f"the{adj}{noun}"
            else:
                body = f"{name}_{noun}{num}"
            if attempt >= 50:  # vocabulary crowded: force a numeric suffix
                body = f"{body}{int(rng.integers(100, 1000))}"
            if adj == noun or len(body) > 30 or body in seen:
                continue
            seen.add(body)
            handles.append("@" + body)
            break
        else:  # pragma: no cover - vocabulary is far larger than any sample
            raise RuntimeError("could not generate a unique handle")
    return handles


def _assignment(
    rng: np.random.Generator, n: int, mix: dict[str, float] | dict[str, int]
) -> list[str]:
    """Assign ``n`` items to categories.

    Integer values are exact counts (shuffled); float values are
    probabilities.
    """
    keys = list(mix)
    values = list(mix.values())
    if all(isinstance(v, (int, np.integer)) for v in values):
        if sum(values) != n:
            raise ValueError(f"counts {mix} do not sum to {n}")
        labels = [k for k, v in zip(keys, values) for _ in range(int(v))]
        order = rng.permutation(n)
        return [labels[i] for i in order]
    p = np.asarray(values, dtype=float)
    idx = rng.choice(len(keys), size=n, p=p / p.sum())
    return [keys[i] for i in idx]


def generate_creators(
    rng: np.random.Generator,
    n: int,
    niche_mix: dict[str, float] | dict[str, int],
    tier_mix: dict[str, float],
    platform_mix: dict[str, float],
    platform_mix_by_niche: dict[str, dict[str, float]] | None = None,
    max_posts_probs: Sequence[float] = (0.25, 0.35, 0.40),
    note_rate: float = 0.05,
) -> list[Creator]:
    """Draw a synthetic creator roster.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random stream.
    n : int
        Number of creators.
    niche_mix : dict
        Niche -> probability, or niche -> exact count (counts must sum to n).
    tier_mix : dict
        Tier -> probability.
    platform_mix : dict
        Platform -> probability (default for every niche).
    platform_mix_by_niche : dict, optional
        Niche -> platform probabilities, overriding ``platform_mix``.
    max_posts_probs : sequence of float
        Probabilities of ``max_posts`` being 1, 2, 3.
    note_rate : float
        Share of creators that get a generic free-text note.

    Returns
    -------
    list of Creator
        Creators with ``min_posts = 0`` and no ``include`` flag; use
        :func:`add_package_deals` and :func:`flag_includes` afterwards.
    """
    niches = _assignment(rng, n, niche_mix)
    tiers = _assignment(rng, n, tier_mix)
    handles = make_handles(rng, niches)
    overrides = platform_mix_by_niche or {}
    creators: list[Creator] = []
    for handle, niche, tier in zip(handles, niches, tiers):
        pmix = overrides.get(niche, platform_mix)
        platform = _assignment(rng, 1, pmix)[0]

        lo, hi = TIER_SAMPLING_RANGE[tier]
        followers = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        followers = min(max(followers, int(lo)), int(hi) - 1)
        tier = tier_of(followers)

        median_er = ENGAGEMENT_MEDIAN[platform][tier]
        er = median_er * math.exp(rng.normal(0.0, ENGAGEMENT_NOISE_SIGMA))
        er = float(np.clip(er, *ENGAGEMENT_CLIP))

        price = (
            (BASE_FEE[platform] + RATE_PER_1K_FOLLOWERS[platform] * followers / 1000.0)
            * (er / median_er) ** COST_ENGAGEMENT_ELASTICITY
            * math.exp(rng.normal(0.0, COST_NOISE_SIGMA))
        )
        cost = max(COST_FLOOR, int(round(price / 10.0)) * 10)

        max_posts = int(rng.choice([1, 2, 3], p=np.asarray(max_posts_probs)))
        authenticity = 0.75 + 0.25 * float(rng.beta(6.0, 2.0))
        note = None
        if rng.random() < note_rate:
            note = GENERIC_NOTES[rng.integers(len(GENERIC_NOTES))]

        creators.append(
            Creator(
                creator=handle,
                platform=platform,
                niche=niche,
                tier=tier,
                followers=followers,
                engagement_rate=round(er, 4),
                cost_per_post=cost,
                max_posts=max_posts,
                authenticity=round(authenticity, 3),
                notes=note,
            )
        )
    return creators


def per_creator_cap(campaign_budget: float, max_share: float | None) -> float:
    """Largest spend allowed on a single creator (``inf`` if unrestricted)."""
    return campaign_budget * max_share if max_share else math.inf


def add_package_deals(
    rng: np.random.Generator, creators: list[Creator], count: int, cap: float
) -> None:
    """Turn ``count`` creators into 2-post package deals (``min_posts = 2``).

    Only creators with ``max_posts >= 2`` whose two posts fit under the
    per-creator cap are eligible, so every package can actually be bought.
    """
    eligible = [
        i for i, c in enumerate(creators)
        if c.max_posts >= 2 and 2 * c.cost_per_post <= cap and c.include is None
        and c.tier in ("micro", "mid")
    ]
    for i in rng.choice(eligible, size=count, replace=False):
        c = creators[int(i)]
        c.min_posts = 2
        c.notes = PACKAGE_NOTE


def flag_includes(
    rng: np.random.Generator,
    creators: list[Creator],
    n_must: int,
    n_exclude: int,
    cap: float,
    weights: dict[str, float] | None = None,
    must_platforms: Sequence[str] = ("instagram", "tiktok"),
) -> None:
    """Mark a few creators ``must`` or ``exclude``.

    ``must`` creators are ordinary micro/mid creators, from different niches,
    whose committed spend (``max(min_posts, 1)`` posts) is at most a third of
    the per-creator cap, so forcing them in is cheap. ``exclude`` creators are
    drawn from the most cost-effective affordable creators so that the
    exclusion visibly changes the optimum.
    """
    weights = weights or {}
    must_pool = [
        i for i, c in enumerate(creators)
        if c.include is None and c.min_posts == 0 and c.tier in ("micro", "mid")
        and c.platform in must_platforms
        and c.cost_per_post <= cap / 3
    ]
    rng.shuffle(must_pool)
    used_niches: set[str] = set()
    chosen = 0
    for i in must_pool:
        if chosen == n_must:
            break
        c = creators[i]
        if c.niche in used_niches:
            continue
        used_niches.add(c.niche)
        c.include = "must"
        c.notes = MUST_NOTES[chosen % len(MUST_NOTES)]
        chosen += 1
    if chosen < n_must:
        raise RuntimeError("not enough candidates for must-include creators")

    def efficiency(c: Creator) -> float:
        return c.value_per_post(weights.get(c.niche, 1.0)) / c.cost_per_post

    pool = sorted(
        (i for i, c in enumerate(creators)
         if c.include is None and c.min_posts == 0 and c.cost_per_post <= cap),
        key=lambda i: -efficiency(creators[i]),
    )[: max(4 * n_exclude, 10)]
    for k, i in enumerate(rng.choice(pool, size=n_exclude, replace=False)):
        c = creators[int(i)]
        c.include = "exclude"
        c.notes = EXCLUDE_NOTES[k % len(EXCLUDE_NOTES)]


def default_tier_rows(rules: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Return the five default tiers with optional rules merged in."""
    rules = rules or {}
    rows = {}
    for name in TIER_NAMES:
        lo, hi = TIER_BOUNDS[name]
        rows[name] = {"min_followers": lo, "max_followers": hi, **rules.get(name, {})}
    return rows


# --------------------------------------------------------------------------
# The three campaigns
# --------------------------------------------------------------------------


def build_small(rng: np.random.Generator) -> Campaign:
    """About 40 creators, 4 niches, simple rules, no repeat-post decay.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random stream for this workbook.

    Returns
    -------
    Campaign
        Feasible, hand-checkable campaign.
    """
    total_budget = 25_000
    max_share_per_creator = 0.15
    cap = per_creator_cap(total_budget, max_share_per_creator)
    creators = generate_creators(
        rng,
        n=40,
        niche_mix={"beauty": 10, "fitness": 10, "food": 10, "travel": 10},
        tier_mix={"nano": 0.40, "micro": 0.45, "mid": 0.15},
        platform_mix={"instagram": 0.6, "tiktok": 0.4},
        note_rate=0.08,
    )
    add_package_deals(rng, creators, count=1, cap=cap)
    flag_includes(rng, creators, n_must=1, n_exclude=1, cap=cap)
    budget = [
        ("total_budget", total_budget),
        ("max_share_per_creator", max_share_per_creator),
        ("min_creators", 5),
        ("max_creators", None),  # blank: no rule
        ("repeat_post_decay", 1),  # no decay: every post worth the same
        ("share_basis", "budget"),
        # no ``solver`` row: the planner's default applies
        ("time_limit_seconds", 60),
        ("mip_gap", 0.0001),
        ("campaign", "Spring skincare launch"),
        ("client", "Glow & Co."),
    ]
    niches = {
        "beauty": {"weight": 1.0},
        "fitness": {"min_share": 0.20, "weight": 1.0},
        "food": {"max_share": 0.25, "weight": 1.0},
        "travel": {"weight": 1.0},
    }
    tiers = default_tier_rows({"micro": {"min_share": 0.15}})
    platforms = {"instagram": {}, "tiktok": {}}
    return Campaign("small_campaign", creators, budget, niches, tiers, platforms)


def build_typical(rng: np.random.Generator) -> Campaign:
    """About 2,000 creators, 8 niches, 3 platforms, every rule in use.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random stream for this workbook.

    Returns
    -------
    Campaign
        Feasible campaign with a comfortable margin on every rule.
    """
    total_budget = 150_000
    max_share_per_creator = 0.06
    cap = per_creator_cap(total_budget, max_share_per_creator)
    niche_weights = {
        "beauty": 1.2, "fashion": 1.1, "fitness": 1.0, "food": 0.9,
        "travel": 1.0, "gaming": 0.8, "tech": 1.3, "parenting": 1.1,
    }
    creators = generate_creators(
        rng,
        n=2000,
        niche_mix={
            "beauty": 0.17, "fashion": 0.15, "fitness": 0.13, "food": 0.13,
            "travel": 0.11, "gaming": 0.11, "tech": 0.10, "parenting": 0.10,
        },
        tier_mix={"nano": 0.45, "micro": 0.35, "mid": 0.13, "macro": 0.045, "mega": 0.025},
        platform_mix={"instagram": 0.50, "tiktok": 0.35, "youtube": 0.15},
        platform_mix_by_niche={
            "gaming": {"instagram": 0.20, "tiktok": 0.40, "youtube": 0.40},
            "tech": {"instagram": 0.30, "tiktok": 0.30, "youtube": 0.40},
        },
        note_rate=0.04,
    )
    add_package_deals(rng, creators, count=6, cap=cap)
    flag_includes(rng, creators, n_must=2, n_exclude=3, cap=cap, weights=niche_weights)
    budget = [
        ("total_budget", total_budget),
        ("max_share_per_creator", max_share_per_creator),
        ("min_creators", 20),
        ("max_creators", 120),
        ("repeat_post_decay", 0.85),
        ("share_basis", "budget"),
        ("solver", "highs"),
        ("time_limit_seconds", 60),
        ("mip_gap", 0.0001),
        ("campaign", "Autumn lifestyle push"),
        ("client", "Northwind Outfitters"),
    ]
    niche_rules = {  # (min_share, max_share, min_creators)
        "beauty": (0.08, 0.25, 3),
        "fashion": (0.08, 0.25, 3),
        "fitness": (0.06, 0.20, 2),
        "food": (0.05, 0.20, 2),
        "travel": (0.05, 0.20, 2),
        "gaming": (0.03, 0.15, 2),
        "tech": (0.05, 0.20, 2),
        "parenting": (0.04, 0.15, 2),
    }
    niches = {
        k: {"min_share": lo, "max_share": hi, "min_creators": mc, "weight": niche_weights[k]}
        for k, (lo, hi, mc) in niche_rules.items()
    }
    tiers = default_tier_rows({
        "nano": {"min_share": 0.03, "min_creators": 10},
        "micro": {"min_share": 0.15, "min_creators": 10},
        "mid": {"max_share": 0.50},
        "macro": {"max_share": 0.35},
        "mega": {"max_share": 0.10},
    })
    platforms = {
        "instagram": {"min_share": 0.30, "max_share": 0.70, "min_creators": 5},
        "tiktok": {"min_share": 0.15, "max_share": 0.50, "min_creators": 5},
        "youtube": {"min_share": 0.05, "max_share": 0.30, "min_creators": 3},
    }
    return Campaign("typical_campaign", creators, budget, niches, tiers, platforms)


def build_infeasible(rng: np.random.Generator) -> Campaign:
    """About 40 creators whose niche minimum shares sum to 110 %.

    beauty >= 40 %, fashion >= 40 % and fitness >= 30 % of ``total_budget``
    cannot all hold because spend may not exceed the budget. Any two of the
    three rules can be met together, so the conflict is exactly the sum.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random stream for this workbook.

    Returns
    -------
    Campaign
        Deliberately infeasible campaign.
    """
    total_budget = 20_000
    max_share_per_creator = 0.15
    cap = per_creator_cap(total_budget, max_share_per_creator)
    creators = generate_creators(
        rng,
        n=40,
        niche_mix={"beauty": 12, "fashion": 12, "fitness": 10, "food": 6},
        tier_mix={"nano": 0.25, "micro": 0.50, "mid": 0.25},
        platform_mix={"instagram": 0.6, "tiktok": 0.4},
        max_posts_probs=(0.15, 0.35, 0.50),
        note_rate=0.05,
    )
    flag_includes(rng, creators, n_must=0, n_exclude=1, cap=cap)
    budget = [
        ("total_budget", total_budget),
        ("max_share_per_creator", max_share_per_creator),
        ("min_creators", 5),
        ("max_creators", None),
        ("repeat_post_decay", 0.9),
        ("share_basis", "budget"),
        ("solver", "highs"),
        ("time_limit_seconds", 60),
        ("mip_gap", 0.0001),
    ]
    niches = {
        "beauty": {"min_share": 0.40, "weight": 1.0},
        "fashion": {"min_share": 0.40, "weight": 1.0},
        "fitness": {"min_share": 0.30, "weight": 1.0},
        "food": {"weight": 1.0},
    }
    tiers = default_tier_rows()
    platforms = {"instagram": {}, "tiktok": {}}
    return Campaign("infeasible_campaign", creators, budget, niches, tiers, platforms)


# --------------------------------------------------------------------------
# Sanity checks
# --------------------------------------------------------------------------


def _reachable(creators: list[Creator], cap: float) -> tuple[float, list[float]]:
    """Most each creator can absorb (posts x price, within the cap).

    Returns the total and the per-creator amounts sorted descending.
    """
    amounts = []
    for c in creators:
        if c.include == "exclude":
            continue
        posts = min(c.max_posts, int(cap // c.cost_per_post) if math.isfinite(cap) else c.max_posts)
        if posts < max(c.min_posts, 1):
            continue
        amounts.append(posts * c.cost_per_post)
    amounts.sort(reverse=True)
    return float(sum(amounts)), amounts


def check_campaign(campaign: Campaign, verbose: bool = True) -> list[str]:
    """Check necessary feasibility conditions and summarise them.

    For every rule dimension this checks that minimum shares sum to at most
    100 %, that each group with a minimum share has enough selectable
    creators to reach it, and that ``must`` creators fit under the
    per-creator cap. These conditions are necessary, not sufficient; the
    planner itself is the final word.

    Parameters
    ----------
    campaign : Campaign
        Campaign to check.
    verbose : bool
        Print a summary of the rules and the headroom for each one.

    Returns
    -------
    list of str
        Problems found (empty if none).
    """
    say = print if verbose else (lambda *args, **kwargs: None)
    problems: list[str] = []
    budget = float(campaign.setting("total_budget"))
    cap = per_creator_cap(budget, campaign.setting("max_share_per_creator"))
    creators = campaign.creators
    say(f"  creators: {len(creators)}  budget: ${budget:,.0f}  per-creator cap: "
          + ("none" if math.isinf(cap) else f"${cap:,.0f}"))

    dims = {
        "niche": (campaign.niches, lambda c: c.niche),
        "tier": (campaign.tiers, lambda c: c.tier),
        "platform": (campaign.platforms, lambda c: c.platform),
    }
    min_creators_needed: dict[str, int] = {}
    for dim, (rules, key) in dims.items():
        mins = sum(r.get("min_share") or 0 for r in rules.values())
        maxes = [r.get("max_share") for r in rules.values()]
        max_text = "n/a" if any(m is None for m in maxes) else f"{sum(maxes):.2f}"
        say(f"  {dim:8s} sum(min_share)={mins:.2f}  sum(max_share)={max_text}")
        if mins > 1 + 1e-9:
            problems.append(f"{dim} minimum shares sum to {mins:.0%} of the budget")
        needed_total = 0
        for group, r in rules.items():
            members = [c for c in creators if key(c) == group]
            total, amounts = _reachable(members, cap)
            need = (r.get("min_share") or 0) * budget
            # fewest creators that can carry the minimum share
            k, acc = 0, 0.0
            while acc < need and k < len(amounts):
                acc += amounts[k]
                k += 1
            k = max(k, int(r.get("min_creators") or 0))
            needed_total += k
            if need > total:
                problems.append(
                    f"{dim} {group!r}: min share needs ${need:,.0f} but its creators "
                    f"can absorb at most ${total:,.0f}")
            if (r.get("min_creators") or 0) > len(amounts):
                problems.append(f"{dim} {group!r}: min_creators exceeds selectable creators")
            if need or r.get("min_creators"):
                say(f"    {group:10s} n={len(members):4d}  needs ${need:>9,.0f}  "
                      f"reachable ${total:>11,.0f}  >= {k} creators")
        min_creators_needed[dim] = needed_total

    max_creators = campaign.setting("max_creators")
    if max_creators is not None:
        for dim, k in min_creators_needed.items():
            if k > max_creators:
                problems.append(f"{dim} rules need at least {k} creators > max_creators")

    musts = [c for c in creators if c.include == "must"]
    must_spend = sum(max(c.min_posts, 1) * c.cost_per_post for c in musts)
    for c in musts:
        if max(c.min_posts, 1) * c.cost_per_post > cap:
            problems.append(f"must creator {c.creator} exceeds the per-creator cap")
    say(f"  must: {len(musts)} (committed ${must_spend:,.0f})  "
          f"exclude: {sum(c.include == 'exclude' for c in creators)}  "
          f"packages: {sum(c.min_posts >= 2 for c in creators)}")
    cheapest = sorted(c.cost_per_post * max(c.min_posts, 1) for c in creators
                      if c.include != "exclude")
    min_n = int(campaign.setting("min_creators") or 0)
    floor = max(sum(cheapest[:min_n]), must_spend)
    say(f"  cheapest {min_n} admissible creators cost ${sum(cheapest[:min_n]):,.0f} "
          f"(budget ${budget:,.0f})")
    if floor > budget:
        problems.append("even the cheapest admissible selection exceeds the budget")
    return problems


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

BUDGET_COLUMNS = ("setting", "value")
NICHE_COLUMNS = ("niche", "min_share", "max_share", "min_creators", "weight")
TIER_COLUMNS = ("tier", "min_followers", "max_followers", "min_share", "max_share", "min_creators")
PLATFORM_COLUMNS = ("platform", "min_share", "max_share", "min_creators")

NUMBER_FORMATS = {
    "followers": "#,##0",
    "cost_per_post": "#,##0",
    "min_followers": "#,##0",
    "max_followers": "#,##0",
    "engagement_rate": "0.0000",
    "authenticity": "0.000",
}


def _rule_rows(columns: Sequence[str], rules: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [[name] + [r.get(col) for col in columns[1:]] for name, r in rules.items()]


def _write_sheet(wb: Workbook, title: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
    ws = wb.create_sheet(title)
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    for j, col in enumerate(columns, start=1):
        letter = get_column_letter(j)
        values = [col] + [r[j - 1] for r in rows[:500]]
        width = max(len(str(v)) for v in values if v is not None)
        ws.column_dimensions[letter].width = min(max(width + 2, 8), 48)
        fmt = NUMBER_FORMATS.get(col)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
    if title == "Creators":
        ws.auto_filter.ref = ws.dimensions


def build_workbook(campaign: Campaign) -> Workbook:
    """Lay out a campaign as an openpyxl workbook following the contract.

    Parameters
    ----------
    campaign : Campaign
        Campaign to write.

    Returns
    -------
    openpyxl.Workbook
        Workbook with sheets Creators, Budget, Niches, Tiers, Platforms.
    """
    wb = Workbook()
    wb.remove(wb.active)
    _write_sheet(wb, "Creators", CREATOR_COLUMNS, [c.row() for c in campaign.creators])
    _write_sheet(wb, "Budget", BUDGET_COLUMNS, [list(kv) for kv in campaign.budget])
    _write_sheet(wb, "Niches", NICHE_COLUMNS, _rule_rows(NICHE_COLUMNS, campaign.niches))
    _write_sheet(wb, "Tiers", TIER_COLUMNS, _rule_rows(TIER_COLUMNS, campaign.tiers))
    _write_sheet(wb, "Platforms", PLATFORM_COLUMNS, _rule_rows(PLATFORM_COLUMNS, campaign.platforms))
    wb.properties.creator = "scripts/make_samples.py"
    wb.properties.title = campaign.name
    wb.properties.created = FIXED_TIMESTAMP
    return wb


def save_reproducibly(wb: Workbook, path: Path) -> None:
    """Save a workbook with fixed timestamps so identical data gives identical bytes.

    openpyxl stamps the save time into ``docProps/core.xml`` and into every
    zip entry; both are replaced with ``FIXED_TIMESTAMP``.
    """
    buf = io.BytesIO()
    wb.save(buf)
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    data,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zout.writestr(entry, data)
    path.write_bytes(out.getvalue())


MAX_ATTEMPTS = 50


def _only_designed_conflict(problems: list[str]) -> bool:
    """True if the sole problem is the niche minimum shares exceeding 100 %."""
    return len(problems) == 1 and problems[0].startswith("niche minimum shares sum to")


# (file name, builder, acceptance test on the problems found by check_campaign)
BUILDERS = (
    ("small_campaign.xlsx", build_small, lambda problems: not problems),
    ("typical_campaign.xlsx", build_typical, lambda problems: not problems),
    ("infeasible_campaign.xlsx", build_infeasible, _only_designed_conflict),
)


def make_samples(out_dir: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Build, check and write all sample workbooks.

    A roster that fails its acceptance test (a feasible workbook breaking a
    necessary condition, or the infeasible workbook having any conflict other
    than the designed one) is redrawn from the same random stream, so the
    result stays deterministic for a given seed.

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory to write into (created if missing).
    seed : int
        Master seed; each workbook uses its own spawned child stream.

    Returns
    -------
    list of pathlib.Path
        Paths written.

    Raises
    ------
    RuntimeError
        If no acceptable roster is found within ``MAX_ATTEMPTS`` draws.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    streams = np.random.SeedSequence(seed).spawn(len(BUILDERS))
    written = []
    for (filename, builder, acceptable), ss in zip(BUILDERS, streams):
        rng = np.random.default_rng(ss)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            campaign = builder(rng)
            problems = check_campaign(campaign, verbose=False)
            if acceptable(problems):
                break
        else:
            raise RuntimeError(f"{filename}: no acceptable roster in {MAX_ATTEMPTS} draws: {problems}")
        print(f"{filename}:" + (f" (draw {attempt})" if attempt > 1 else ""))
        check_campaign(campaign, verbose=True)
        for p in problems:
            print(f"  conflict (intended): {p}")
        path = out_dir / filename
        save_reproducibly(build_workbook(campaign), path)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"master random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory (default: sample_inputs/ in the repo root)")
    args = parser.parse_args(argv)
    for path in make_samples(args.out, args.seed):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
