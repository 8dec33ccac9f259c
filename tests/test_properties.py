"""Property tests (hypothesis): random rosters and rules, on both solvers.

For every random campaign the planner can plan:

* the plan passes the independent checker;
* it is never worse than the rule-of-thumb plan, whenever that plan itself
  keeps every rule;
* planning again gives the same posts.

And for the reader: random rosters written the way planners write numbers
(``12.5K``, ``$1,200.50``, ``3.5%``), in a CSV or a workbook, read back to
exactly the numbers that were meant.

Runs are deterministic (``derandomize=True``) and small (3-12 creators).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from models.campaign import DEFAULT_TIERS, Campaign, GroupRule, Settings, make_creators
from models.checker import check_plan
from planner.errors import InfeasibleError, InputError
from planner.pipeline import load_campaign, make_plan
from tests.conftest import SOLVERS, write_workbook

NICHES = ("beauty", "food", "travel", "tech")
PLATFORMS = ("instagram", "tiktok", "youtube")
TIERS = tuple(band.name for band in DEFAULT_TIERS)
TOLERANCE = 1e-6

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def campaigns(draw) -> Campaign:
    """A small random campaign: creators, budget settings and group rules."""
    n = draw(st.integers(3, 12))

    def column(strategy):
        return draw(st.lists(strategy, min_size=n, max_size=n))

    followers = column(st.integers(500, 3_000_000))
    rates = column(st.floats(0.002, 0.15, allow_nan=False))
    costs = column(st.integers(20, 5_000))
    niches = column(st.sampled_from(NICHES))
    platforms = column(st.sampled_from(PLATFORMS))
    max_posts = column(st.integers(1, 3))
    min_posts = [draw(st.integers(0, cap)) if draw(st.integers(0, 4)) == 0 else 0 for cap in max_posts]
    full_price = float(np.dot(costs, max_posts))
    budget = float(draw(st.integers(min(costs), max(min(costs), int(full_price)))))
    budget = max(budget, float(draw(st.integers(0, int(full_price)))))  # skewed towards roomier budgets
    affordable = [cost * max(1, low) <= budget / 4 for cost, low in zip(costs, min_posts)]
    include = [draw(st.sampled_from([""] * 8 + (["must", "exclude"] if ok else ["exclude"]))) for ok in affordable]
    creators = make_creators(
        [f"creator{i}" for i in range(n)],
        costs,
        niche=niches,
        platform=platforms,
        followers=followers,
        engagement_rate=rates,
        min_posts=min_posts,
        max_posts=max_posts,
        include=include,
    )
    min_creators = draw(maybe(st.integers(0, 2)))
    max_creators = draw(maybe(st.integers(max(1, min_creators or 0), n)))
    plan_settings = Settings(
        total_budget=budget,
        max_share_per_creator=draw(maybe(st.floats(0.1, 1.0))),
        min_creators=min_creators,
        max_creators=max_creators,
        repeat_post_decay=draw(st.sampled_from([1.0, 1.0, 0.8, 0.5])),
        share_basis=draw(st.sampled_from(["budget", "spend"])),
    )
    groups = []
    present = {"niche": sorted(set(niches)), "platform": sorted(set(platforms)), "tier": sorted(set(creators["tier"]))}
    for dimension, names in present.items():
        for name in names:
            if draw(st.integers(0, 2)) != 0:
                continue
            low = draw(maybe(st.floats(0.0, 0.3)))
            high = draw(maybe(st.floats(max(low or 0.0, 0.2), 1.0)))
            low_count = draw(maybe(st.integers(0, 1)))
            high_count = draw(maybe(st.integers(low_count or 0, n)))
            weight = draw(st.sampled_from([1.0, 1.0, 0.5, 2.0])) if dimension == "niche" else 1.0
            groups.append(GroupRule(dimension, name, low, high, low_count, high_count, weight))
    return Campaign(creators=creators, settings=plan_settings, groups=tuple(groups))


def plan_or_none(campaign, solver):
    """The proven-optimal plan, or None when the rules cannot all hold (or nothing can be booked)."""
    try:
        plan = make_plan(campaign, solver=solver, gap=0)
    except (InfeasibleError, InputError) as exc:
        event(f"not planned: {type(exc).__name__}")
        return None
    event("planned" + (", rule of thumb keeps every rule" if not plan.baseline_violations else ""))
    return plan


@pytest.mark.parametrize("solver", SOLVERS)
@PROPERTY
@given(campaign=campaigns())
def test_random_plans_pass_the_checker_beat_the_rule_of_thumb_and_repeat(solver, campaign):
    plan = plan_or_none(campaign, solver)
    if plan is None:
        return
    check = check_plan(campaign, plan.posts)
    assert check.ok, check.violations
    assert check.engagement == pytest.approx(plan.engagement, rel=1e-9, abs=1e-9)
    if not plan.baseline_violations:
        floor = plan.baseline_engagement - TOLERANCE * max(1.0, abs(plan.baseline_engagement))
        assert plan.engagement >= floor, (plan.engagement, plan.baseline_engagement)
    again = make_plan(campaign, solver=solver, gap=0)
    assert np.array_equal(again.posts, plan.posts)


@PROPERTY
@given(campaign=campaigns())
def test_both_solvers_agree_on_the_optimum(campaign):
    plans = [plan_or_none(campaign, solver) for solver in SOLVERS]
    if any(p is None for p in plans):
        assert all(p is None for p in plans), "one solver planned what the other called impossible"
        return
    scale = max(1.0, abs(plans[0].engagement))
    assert abs(plans[0].engagement - plans[1].engagement) <= 1e-6 * scale


# --------------------------------------------------------------------------- reading what planners write


def money_text(cents: int, draw) -> str:
    """A dollar amount in one of the ways planners write it."""
    value = cents / 100
    style = draw(st.sampled_from(["plain", "dollar", "grouped", "dollar-grouped", "k"]))
    if style == "k" and cents % 10_000 == 0 and cents >= 100_000:
        return f"{value / 1000:g}K"
    text = f"{value:,.2f}" if "grouped" in style else f"{value:.2f}"
    return ("$" + text) if "dollar" in style else text


def count_text(count: int, draw) -> str:
    """A follower count: plain, grouped, or with a K/M suffix when exact."""
    style = draw(st.sampled_from(["plain", "grouped", "suffix"]))
    if style == "suffix" and count % 100_000 == 0:
        return f"{count / 1_000_000:g}M"
    if style == "suffix" and count % 100 == 0:
        return f"{count / 1000:g}K"
    return f"{count:,}" if style == "grouped" else str(count)


@st.composite
def written_rosters(draw):
    """(rows as written, followers, costs in cents, rates in basis points)."""
    n = draw(st.integers(1, 8))
    followers = draw(st.lists(st.integers(1, 5_000_000), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(100, 1_000_000), min_size=n, max_size=n))
    basis_points = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n))
    header = draw(st.sampled_from([
        ["creator", "niche", "followers", "engagement_rate", "cost_per_post"],
        ["Handle", "Category", "Followers", "Engagement Rate", "Cost per Post"],
        ["USERNAME", " niche ", "follower count", "ER", "price per post"],
    ]))
    rows = [header]
    for i in range(n):
        rate = f"{basis_points[i] / 100:g}%" if draw(st.booleans()) else f"{basis_points[i] / 10_000:g}"
        niche = draw(st.sampled_from(NICHES))
        rows.append([f"c{i}", niche, count_text(followers[i], draw), rate, money_text(cents[i], draw)])
    return rows, followers, cents, basis_points


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(roster=written_rosters())
def test_numbers_as_planners_write_them_read_back_exactly(tmp_path, kind, roster):
    rows, followers, cents, basis_points = roster
    if kind == "csv":
        path = tmp_path / "roster.csv"
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    else:
        path = write_workbook(tmp_path / "roster.xlsx", rows)
    campaign, _, _ = load_campaign(path, budget=1_000_000)
    table = campaign.creators
    assert np.allclose(table["followers"], followers, rtol=1e-12, atol=0)
    assert np.allclose(table["cost_per_post"], np.array(cents) / 100, rtol=1e-12, atol=0)
    assert np.allclose(table["engagement_rate"], np.array(basis_points) / 10_000, rtol=1e-12, atol=0)
