"""Property: a campaign's numbers written in any valid form give the same plan.

Random small campaigns are written twice into real workbooks: once with plain numbers, once
with every number in another form a planner might type -- K/M suffixes, a currency sign (one
per workbook), percents, and decimal commas with ``decimal_separator = ","`` on the Budget
sheet. Both are read and planned with the real solver; the plans must be the same.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.pipeline import load_campaign, make_plan
from tests.conftest import write_workbook

NICHES = ("beauty", "food", "travel")


def comma(text: str) -> str:
    """1,234.5 -> 1.234,5 (swap the separators)."""
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def money_form(cents: int, form: str, symbol: str) -> str:
    value = cents / 100
    if form == "suffix" and cents % 100_000 == 0:
        return f"{symbol}{value / 1000:g}k"
    text = f"{value:,.2f}"
    if form == "comma":
        return f"{comma(text)} {symbol}".strip()
    return f"{symbol}{text}"


def count_form(count: int, form: str) -> str:
    if form == "suffix" and count % 1000 == 0:
        return f"{count / 1000:g}K"
    if form == "comma":
        return comma(f"{count:,}") if count >= 1000 else str(count)
    return f"{count:,}"


def rate_form(basis_points: int, form: str) -> str:
    percent = f"{basis_points / 100:g}%"
    fraction = f"{basis_points / 10_000:g}"
    if form == "comma":
        return comma(percent if basis_points % 2 else fraction)
    return percent


@st.composite
def campaigns(draw):
    n = draw(st.integers(2, 7))
    thousands = draw(st.lists(st.integers(1, 900), min_size=n, max_size=n))
    odd = draw(st.lists(st.sampled_from([0, 0, 137]), min_size=n, max_size=n))
    followers = [k * 1000 + extra for k, extra in zip(thousands, odd)]
    cents = draw(st.lists(st.integers(1, 400).map(lambda k: k * 2_500), min_size=n, max_size=n))
    basis_points = draw(st.lists(st.integers(50, 1_500), min_size=n, max_size=n))
    niches = draw(st.lists(st.sampled_from(NICHES), min_size=n, max_size=n))
    max_posts = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    budget_cents = draw(st.integers(5, 60).map(lambda k: k * 100_000))
    share = draw(st.sampled_from([None, 10, 25, 40]))
    form = draw(st.sampled_from(["suffix", "symbol", "comma"]))
    symbol = draw(st.sampled_from(["$", "€", "£"]))
    return followers, cents, basis_points, niches, max_posts, budget_cents, share, form, symbol


def write(path, data, written: bool):
    followers, cents, basis_points, niches, max_posts, budget_cents, share, form, symbol = data
    rows = []
    for i in range(len(followers)):
        rows.append({
            "creator": f"@c{i}", "niche": niches[i],
            "followers": count_form(followers[i], form) if written else followers[i],
            "engagement_rate": rate_form(basis_points[i], form) if written else basis_points[i] / 10_000,
            "cost_per_post": money_form(cents[i], form, symbol) if written else cents[i] / 100,
            "max_posts": max_posts[i],
        })
    budget = {"total_budget": money_form(budget_cents, form, symbol) if written else budget_cents / 100}
    if share is not None:
        budget["max_share_per_creator"] = (comma(f"{share / 100:g}") if form == "comma" else f"{share}%") \
            if written else share / 100
    if written and form == "comma":
        budget["decimal_separator"] = ","
    return write_workbook(path, rows, budget=budget)


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=campaigns())
def test_every_number_in_another_valid_form_gives_the_same_plan(tmp_path, data):
    plain, _, _ = load_campaign(write(tmp_path / "plain.xlsx", data, written=False))
    typed, _, _ = load_campaign(write(tmp_path / "typed.xlsx", data, written=True))
    for column in ("followers", "engagement_rate", "cost_per_post", "max_posts"):
        assert np.allclose(plain.creators[column], typed.creators[column], rtol=1e-12, atol=0), column
    assert plain.settings.total_budget == pytest.approx(typed.settings.total_budget, rel=1e-12)
    assert plain.settings.max_share_per_creator == typed.settings.max_share_per_creator or \
        plain.settings.max_share_per_creator == pytest.approx(typed.settings.max_share_per_creator, rel=1e-12)
    first, second = make_plan(plain), make_plan(typed)
    assert first.engagement == pytest.approx(second.engagement, rel=1e-9)
    assert first.spend == pytest.approx(second.spend, rel=1e-9)
    assert typed.settings.currency == data[-1]  # the sign the money cells carried
    assert plain.settings.currency == "$"
