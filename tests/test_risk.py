"""How sure a plan is: the Monte Carlo figures against closed forms, and the Risk sheet."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import openpyxl
import pytest

from models.campaign import Campaign, Settings, make_creators
from models.risk import Z90, figures, outcomes, plan_risk, sigmas
from tests.conftest import key_values, read_table, run_cli, write_workbook

NORMAL_QUANTILES = {0.1: -Z90, 0.5: 0.0, 0.9: Z90}


def campaign_of(n, value, niches=("food",), cv=None, low=None, high=None, rho=0.2, seed=7):
    """n creators each worth `value` per post (followers x rate), one post each."""
    creators = make_creators([f"@c{i}" for i in range(n)], np.full(n, 100.0), niche=[niches[i % len(niches)] for i in range(n)],
                             followers=np.full(n, 100_000.0), engagement_rate=np.full(n, value / 100_000.0))
    if low is not None:
        creators["engagement_rate_low"] = np.full(n, low)
        creators["engagement_rate_high"] = np.full(n, high)
    settings = Settings(total_budget=100.0 * n, engagement_cv=cv, risk_correlation=rho, random_seed=seed)
    return Campaign(creators=creators, settings=settings)


def test_one_creator_has_the_lognormal_quantiles():
    # Range 3%-8% around 5%: sigma = ln(8/3) / (2 x 1.2816); value 5,000 per post.
    campaign = campaign_of(1, 5_000.0, low=0.03, high=0.08)
    sigma = math.log(0.08 / 0.03) / (2 * Z90)
    assert sigmas(campaign)[0] == pytest.approx(sigma)
    risk = plan_risk(campaign, [1], draws=40_000)
    for q, got in ((0.1, risk.p10), (0.5, risk.p50), (0.9, risk.p90)):
        expected = 5_000 * math.exp(-sigma * sigma / 2 + sigma * NORMAL_QUANTILES[q])
        assert got == pytest.approx(expected, rel=0.02), q
    assert risk.mean == pytest.approx(5_000, abs=4 * risk.mean_error)  # the mean stays the estimate


def test_many_independent_creators_are_close_to_normal():
    # 400 creators, cv 50%, no common niche factor: sd of the total = 1,000 x 0.5 x sqrt(400) = 10,000.
    campaign = campaign_of(400, 1_000.0, cv=0.5, rho=0.0)
    totals = outcomes(campaign, np.ones(400, int), draws=20_000)
    mean, sd = 400_000.0, 1_000.0 * 0.5 * 20
    assert totals.mean() == pytest.approx(mean, abs=4 * sd / math.sqrt(len(totals)))
    assert totals.std() == pytest.approx(sd, rel=0.03)
    risk = figures(totals, 0.1, 7)
    assert risk.p10 == pytest.approx(mean - Z90 * sd, abs=0.05 * sd)
    assert risk.p90 == pytest.approx(mean + Z90 * sd, abs=0.05 * sd)
    # CVaR at 10% of a normal: mean - sd x phi(z10) / 0.1.
    phi = math.exp(-Z90 * Z90 / 2) / math.sqrt(2 * math.pi)
    assert risk.cvar == pytest.approx(mean - sd * phi / 0.1, abs=0.06 * sd)


def test_a_niche_moving_together_spreads_like_one_creator_and_draws_repeat_with_the_seed():
    together = campaign_of(50, 1_000.0, cv=0.4, rho=1.0)
    risk = plan_risk(together, np.ones(50, int), draws=40_000)
    sigma = math.sqrt(math.log1p(0.16))
    assert risk.p10 == pytest.approx(50_000 * math.exp(-sigma * sigma / 2 - sigma * Z90), rel=0.02)
    spread = plan_risk(campaign_of(50, 1_000.0, cv=0.4, rho=0.0), np.ones(50, int))
    assert spread.p90 - spread.p10 < (risk.p90 - risk.p10) / 3  # many independent creators spread the risk
    again = plan_risk(together, np.ones(50, int), draws=40_000)
    assert again == risk  # the same seed, the same draws
    other = plan_risk(Campaign(creators=together.creators, settings=replace(together.settings, random_seed=8)),
                      np.ones(50, int), draws=40_000)
    assert other.p10 != risk.p10


def test_without_uncertainty_there_are_no_figures_and_the_summary_says_what_to_add(tmp_path):
    assert plan_risk(campaign_of(3, 1_000.0), [1, 1, 1]) is None
    rows = [{"creator": f"@c{i}", "niche": "food", "followers": 20_000, "engagement_rate": 0.05, "cost_per_post": 300}
            for i in range(3)]
    out = tmp_path / "plan.xlsx"
    assert run_cli("plan", write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 1000}), "-o", out).exit_code == 0
    assert "Risk" not in openpyxl.load_workbook(out).sheetnames
    assert key_values(out, "Summary")["Range of outcomes"].startswith("Not computed: add engagement_rate_low")


def test_a_plan_with_ranges_gets_a_risk_sheet_and_a_range_on_the_summary(tmp_path):
    rows = [{"creator": f"@c{i}", "niche": ["food", "travel"][i % 2], "followers": 20_000 + 1000 * i,
             "engagement_rate": "5%", "engagement_rate_low": "3%", "engagement_rate_high": "8%", "cost_per_post": 300}
            for i in range(10)]
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 2000, "random_seed": 42})
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert "range:       8 in 10 campaigns land between" in result.output
    risk = dict(read_table(out, "Risk", snake=False).itertuples(index=False))
    assert {"mean", "P10", "P50", "P90", "CVaR 10%", "draws", "random_seed"} <= set(risk)
    assert risk["P10"] < risk["P50"] < risk["P90"] and risk["CVaR 10%"] < risk["P10"]
    assert risk["draws"] == 10_000 and risk["random_seed"] == 42
    assert "8 in 10 campaigns land between" in key_values(out, "Summary")["Range of outcomes"]


@pytest.mark.parametrize("columns, words", [
    ({"engagement_rate_low": 0.03}, "a range needs both columns: add 'engagement_rate_high'"),
    ({"engagement_rate_low": 0.06, "engagement_rate_high": 0.08}, "is above the creator's engagement_rate"),
    ({"engagement_rate_low": 0.03, "engagement_rate_high": 0.04}, "is below the creator's engagement_rate"),
])
def test_a_bad_range_is_refused_naming_the_cell(tmp_path, columns, words):
    rows = [{"creator": "@a", "niche": "food", "followers": 20_000, "engagement_rate": 0.05, "cost_per_post": 300,
             **columns}]
    result = run_cli("validate", write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 1000}))
    assert result.exit_code == 1 and words in result.output, result.output


def test_compare_shows_each_mixs_range_beside_its_mean(tmp_path):
    rows = []
    for i in range(12):
        followers = [5_000, 40_000, 600_000][i % 3]
        rows.append({"creator": f"@c{i}", "niche": ["food", "travel"][i % 2], "followers": followers + i,
                     "engagement_rate": 0.05, "cost_per_post": followers / 100, "max_posts": 2})
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 20_000, "engagement_cv": "40%"})
    out = tmp_path / "compare.xlsx"
    result = run_cli("compare", path, "-o", out)
    assert result.exit_code == 0, result.output
    table = read_table(out, "Scenarios")
    planned = table[table["spend"].notna()]
    assert len(planned) >= 2
    assert (planned["p10"] < planned["expected_engagement"]).all()
    assert (planned["expected_engagement"] < planned["p90"]).all()
    assert (planned["cvar"] < planned["p10"]).all()


def safe_and_volatile(tmp_path, risk):
    """Two groups with the same mean per post and the same cost: 'safe' creators with a tight range
    (4.9%-5.1%), 'volatile' ones with a wide one (1%-15%), in two niches that move together. The
    budget books four of the eight."""
    rows = []
    for i in range(4):
        rows.append({"creator": f"@safe{i}", "niche": "safe", "followers": 20_000, "engagement_rate": 0.05,
                     "engagement_rate_low": 0.049, "engagement_rate_high": 0.051, "cost_per_post": 250})
        rows.append({"creator": f"@wild{i}", "niche": "wild", "followers": 20_000, "engagement_rate": 0.05,
                     "engagement_rate_low": 0.01, "engagement_rate_high": 0.15, "cost_per_post": 250})
    budget = {"total_budget": 1_000, "risk_correlation": 0.5, "risk_samples": 300, "random_seed": 3, "risk": risk}
    return write_workbook(tmp_path / f"in_{risk}.xlsx", rows, budget=budget)


def test_the_cvar_plan_picks_the_safe_group_where_the_mean_is_indifferent(tmp_path):
    out = tmp_path / "cvar.xlsx"
    result = run_cli("plan", safe_and_volatile(tmp_path, "cvar"), "-o", out)
    assert result.exit_code == 0, result.output
    booked = set(read_table(out, "Allocation")["creator"])
    assert booked == {f"@safe{i}" for i in range(4)}
    risk = {row[0]: row[1:] for row in read_table(out, "Risk", snake=False).itertuples(index=False)}
    cvar, neutral_cvar = risk["CVaR 10%"]
    assert cvar >= neutral_cvar  # on fresh draws, never worse in the worst tenth than the best-mean plan
    # The mean is indifferent: every 4-creator plan has the same mean (4,000), so the neutral plan's
    # value equals the cvar plan's mean estimate.
    neutral = tmp_path / "neutral.xlsx"
    assert run_cli("plan", safe_and_volatile(tmp_path, "neutral"), "-o", neutral).exit_code == 0
    summary_n, summary_c = key_values(neutral, "Summary"), key_values(out, "Summary")
    assert summary_n["Weighted engagement (objective, niche weights applied)"] == pytest.approx(4_000)
    assert summary_c["Weighted engagement (objective, niche weights applied)"] == pytest.approx(4_000)


def test_cvar_without_uncertainty_says_what_to_add(tmp_path):
    rows = [{"creator": "@a", "niche": "food", "followers": 20_000, "engagement_rate": 0.05, "cost_per_post": 300}]
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 1_000})
    result = run_cli("plan", path, "-o", tmp_path / "out.xlsx", "--risk", "cvar")
    assert result.exit_code == 1
    assert "risk = cvar needs uncertainty" in result.output and not (tmp_path / "out.xlsx").exists()


def test_the_summary_draws_the_range_beside_its_sentence(tmp_path):
    rows = [{"creator": f"@c{i}", "niche": "food", "followers": 20_000, "engagement_rate": 0.05,
             "cost_per_post": 300} for i in range(4)]
    path = write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 900, "engagement_cv": "30%"})
    out = tmp_path / "plan.xlsx"
    assert run_cli("plan", path, "-o", out).exit_code == 0
    wb = openpyxl.load_workbook(out)
    titles = ["".join(r.t for p in c.title.tx.rich.p for r in (p.r or [])) for c in wb["Summary"]._charts]
    assert "Weighted engagement over the draws" in titles
