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
    creators = make_creators([f"@c{i}" for i in range(n)], np.full(n, 100.0),
                             niche=[niches[i % len(niches)] for i in range(n)],
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
    assert run_cli("plan", write_workbook(tmp_path / "in.xlsx", rows, budget={"total_budget": 1000}),
                   "-o", out).exit_code == 0
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
    frontier = read_table(out, "Frontier")  # the band around each line
    assert (frontier["p10"] < frontier["weighted_engagement"]).all()
    assert (frontier["weighted_engagement"] < frontier["p90"]).all()
    import zipfile
    with zipfile.ZipFile(out) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart")]
    frontier_chart = [c for c in charts if "Efficient frontier" in c]
    assert len(frontier_chart) == 1
    assert frontier_chart[0].count("P10</v>") == frontier_chart[0].count("P90</v>") == len(set(frontier["series"]))


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


@pytest.mark.parametrize("seed, gap", [(3, 1e-9), (11, 1e-9), (29, 1e-9), (3, 0.0)])
def test_the_cvar_search_finds_the_best_sampled_cvar_of_every_plan(seed, gap):
    """Exhaustive check of the outer-approximation search: 9 creators (up to 2 posts each, decay),
    every affordable plan enumerated and its CVaR over the same samples computed by hand."""
    import itertools

    from models.checker import check_plan, plan_engagement
    from planner.risk_plan import cvar_plan, multipliers, sampled_cvar

    rng = np.random.default_rng(seed)
    n = 9
    creators = make_creators([f"@c{i}" for i in range(n)], rng.integers(200, 900, n).astype(float),
                             niche=[("food", "tech", "pets")[i % 3] for i in range(n)],
                             followers=rng.integers(20_000, 400_000, n).astype(float),
                             engagement_rate=rng.uniform(0.01, 0.06, n), max_posts=np.full(n, 2))
    creators["engagement_rate_low"] = creators["engagement_rate"] * rng.uniform(0.3, 0.9, n)
    creators["engagement_rate_high"] = creators["engagement_rate"] * rng.uniform(1.1, 2.5, n)
    settings = Settings(total_budget=2_500.0, repeat_post_decay=0.7, max_share_per_creator=0.5, risk="cvar",
                        risk_samples=60, risk_level=0.1, random_seed=seed, mip_gap=gap)  # 0: must still stop
    campaign = Campaign(creators=creators, settings=settings)
    factor = multipliers(campaign, 60, seed)  # samples x creators
    every = np.array(list(itertools.product(range(3), repeat=n)))  # posts per creator, every plan
    cost = creators["cost_per_post"].to_numpy(float)
    spend = every * cost
    fits = (spend.sum(axis=1) <= 2_500.0) & (spend.max(axis=1) <= 0.5 * 2_500.0)
    per_post = creators["followers"].to_numpy(float) * creators["engagement_rate"].to_numpy(float)
    value = per_post * np.where(every == 2, 1.7, every)  # the second post is worth 0.7 of the first
    best = max(sampled_cvar(factor @ row, 0.1) for row in value[fits])
    found, outcome = cvar_plan(campaign)
    assert check_plan(campaign, found).ok
    assert outcome.objective == pytest.approx(best, rel=1e-9)
    assert sampled_cvar(factor @ plan_engagement(campaign, found), 0.1) == pytest.approx(best, rel=1e-9)
    assert outcome.bound >= best * (1 - 1e-9) and outcome.status.value == "proven optimal"


@pytest.mark.slow
def test_on_the_typical_sample_the_cvar_plan_is_better_in_the_worst_tenth_on_fresh_draws():
    """The typical sample with a 10th-90th percentile range per creator (wider for bigger creators),
    fitted to 2,000 samples: the risk-averse plan's CVaR on draws it was not fitted on is above the
    best-mean plan's, and it pays for that with a lower mean."""
    from planner.api import read_workbook
    from planner.pipeline import make_plan
    from planner.risk_plan import risk_averse
    from tests.conftest import SAMPLES

    campaign = read_workbook(SAMPLES / "typical_campaign.xlsx")
    creators = campaign.creators.copy()
    rng = np.random.default_rng(5)
    spread = 1.2 + 0.1 * np.log10(creators["followers"].to_numpy(float)) * rng.uniform(0.5, 1.5, len(creators))
    creators["engagement_rate_low"] = creators["engagement_rate"] / spread
    creators["engagement_rate_high"] = creators["engagement_rate"] * spread
    settings = replace(campaign.settings, risk="cvar", risk_samples=2_000)
    campaign = replace(campaign, creators=creators, settings=settings)
    neutral = make_plan(campaign)
    plan = risk_averse(campaign, neutral, time_limit=120)
    assert plan.risk.draws == 10_000 and plan.risk.seed == campaign.settings.random_seed + 1
    assert not plan.warnings and not np.array_equal(plan.posts, neutral.posts)
    assert plan.risk.cvar > plan.risk_neutral.cvar
    assert plan.risk.mean < plan.risk_neutral.mean
    assert plan.outcome.bound >= plan.outcome.objective
    if plan.outcome.status.value != "proven optimal":  # stopped by its time limit: the gap it states is honest
        assert plan.outcome.gap == pytest.approx((plan.outcome.bound - plan.outcome.objective) / plan.outcome.objective)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_plan_that_only_fits_its_few_samples_gives_way_to_the_best_mean_plan(seed):
    """40 creators alike but for one with a 5% higher rate, independent, one post affordable, fitted
    to 10 samples (its CVaR is the worst one): the search proves a creator whose worst sample
    happened to be good, which does worse than the best-mean creator on held-out draws, so the
    best-mean plan is kept, said, and its sampled CVaR stated against the bound the search proved."""
    from models.checker import plan_engagement
    from planner.pipeline import make_plan
    from planner.risk_plan import cvar_plan, multipliers, paired_cvar, risk_averse, sampled_cvar

    n = 40
    rate = np.full(n, 0.05)
    rate[0] = 0.0525
    creators = make_creators([f"@c{i}" for i in range(n)], np.full(n, 100.0), niche=["food"] * n,
                             followers=np.full(n, 100_000.0), engagement_rate=rate)
    creators["engagement_rate_low"], creators["engagement_rate_high"] = rate / 2, rate * 2
    settings = Settings(total_budget=100.0, risk="cvar", risk_samples=10, risk_correlation=0.0, random_seed=seed)
    campaign = Campaign(creators=creators, settings=settings)
    neutral = make_plan(campaign)
    assert np.flatnonzero(neutral.posts).tolist() == [0]
    fitted, searched = cvar_plan(campaign)
    assert searched.status.value == "proven optimal" and fitted[0] == 0  # the samples favour another creator
    held_out = paired_cvar(campaign, (fitted, neutral.posts), 10_000, seed + 2)
    assert held_out[0] < held_out[1]

    plan = risk_averse(campaign, neutral)
    assert np.array_equal(plan.posts, neutral.posts)
    assert (len(plan.warnings) == 1
            and "so the best-mean plan is kept: raise risk_samples (e.g. to 40)" in plan.warnings[0])
    assert f"({held_out[0]:,.0f} against {held_out[1]:,.0f})" in plan.warnings[0]
    in_sample = sampled_cvar(multipliers(campaign, 10, seed) @ plan_engagement(campaign, neutral.posts), 0.1)
    assert plan.outcome.objective == pytest.approx(in_sample, rel=1e-12)
    assert plan.outcome.bound == pytest.approx(searched.objective, rel=1e-9) and plan.outcome.bound > in_sample
    assert plan.outcome.status.value == "best found"
    assert "time limit" not in plan.outcome.describe() and "the best-mean plan, kept" in plan.outcome.describe()
    assert plan.outcome.gap == pytest.approx((plan.outcome.bound - in_sample) / in_sample)
    assert plan.risk.cvar == plan.risk_neutral.cvar


def test_held_out_draws_are_shared_by_the_plans_compared():
    """Two plans that share every creator but one are compared on the same draws of the shared ones: a plan
    with one creator more is worth at least as much in every draw, so its CVaR is higher; and a plan compared
    with itself ties exactly."""
    from planner.risk_plan import paired_cvar

    campaign = campaign_of(30, 1_000.0, niches=("food", "tech"), cv=0.5, rho=0.0)
    smaller = np.r_[np.ones(10, np.int64), np.zeros(20, np.int64)]
    larger = smaller.copy()
    larger[10] = 1
    bigger, small = paired_cvar(campaign, (larger, smaller), 10_000, 5)
    assert bigger > small
    same = paired_cvar(campaign, (smaller, smaller.copy()), 10_000, 5)
    assert same[0] == same[1]


def test_the_advice_for_more_samples_stays_within_what_the_program_allows():
    from planner.risk_plan import MAX_ENTRIES, _more_samples

    campaign = campaign_of(2_000, 1_000.0, cv=0.5)  # 2,000 post slots: at most 10,000 samples
    assert MAX_ENTRIES // 2_000 == 10_000
    assert "raise risk_samples (e.g. to 2,000)" in _more_samples(campaign.with_settings(risk_samples=500))
    assert "raise risk_samples (e.g. to 10,000)" in _more_samples(campaign.with_settings(risk_samples=5_000))
    words = _more_samples(campaign.with_settings(risk_samples=10_000))
    assert "risk_samples (10,000) is already the most 2,000 post slots allow" in words and "raise" not in words


def test_a_kept_best_mean_plan_is_said_on_the_summary(tmp_path):
    """The same overfitted case through the CLI: the report says the best-mean plan was kept and why."""
    rows = [{"creator": f"@c{i}", "niche": "food", "followers": 100_000, "engagement_rate": 0.0525 if i == 0 else 0.05,
             "engagement_rate_low": "2.625%" if i == 0 else "2.5%",
             "engagement_rate_high": "10.5%" if i == 0 else "10%",
             "cost_per_post": 100} for i in range(40)]
    budget = {"total_budget": 100, "risk": "cvar", "risk_samples": 10, "risk_correlation": 0, "random_seed": 0}
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", write_workbook(tmp_path / "in.xlsx", rows, budget=budget), "-o", out)
    assert result.exit_code == 0, result.output
    assert set(read_table(out, "Allocation")["creator"]) == {"@c0"}
    cells = [str(c.value) for row in openpyxl.load_workbook(out)["Summary"].iter_rows() for c in row if c.value]
    assert any("so the best-mean plan is kept: raise risk_samples" in c for c in cells)
    status = key_values(out, "Summary")["Status"]
    assert "the best-mean plan, kept" in status and "time limit" not in status
    # It is the best-mean plan, so its rules are priced as any other plan's are.
    assert not any("not explained for the risk-averse plan" in c for c in cells)
    assert any(c.startswith("Engagement per extra $1,000 of budget (re-solved)") for c in cells)


@pytest.mark.parametrize("rho, exact", [(0.0, 0), (0.3, 300)])
def test_large_niches_summed_by_their_conditional_law_match_the_creator_by_creator_draws(rho, exact):
    """Above EXACT_CREATORS booked creators in a niche, the rest of the niche is drawn as one normal
    sum given the niche's draw: its P10 / P50 / P90, mean and CVaR agree with drawing every creator
    one by one, within Monte Carlo error (the two use different draws)."""
    rng = np.random.default_rng(4)
    n, draws = 24_000, 4_000
    value = rng.lognormal(6.0, 1.0, n)  # a few creators worth far more than most
    creators = make_creators([f"@c{i}" for i in range(n)], np.full(n, 10.0),
                             niche=[("a", "b", "c")[i % 3] for i in range(n)],
                             followers=value * 100.0, engagement_rate=np.full(n, 0.01))
    ratio = rng.uniform(1.2, 3.0, n)
    creators["engagement_rate_low"] = 0.01 / ratio
    creators["engagement_rate_high"] = 0.01 * ratio
    campaign = Campaign(creators=creators,
                        settings=Settings(total_budget=10.0 * n, risk_correlation=rho, random_seed=3))
    posts = np.ones(n, dtype=int)
    one_by_one = outcomes(campaign, posts, draws, exact_creators=n)
    summed = outcomes(campaign, posts, draws, seed=99, exact_creators=exact)
    sd = one_by_one.std()
    for q in (0.1, 0.5, 0.9):
        assert np.quantile(summed, q) == pytest.approx(np.quantile(one_by_one, q), abs=0.12 * sd)
    assert summed.mean() == pytest.approx(one_by_one.mean(), abs=0.12 * sd)
    assert summed.std() == pytest.approx(sd, rel=0.08)
    worst = int(0.1 * draws)
    assert np.sort(summed)[:worst].mean() == pytest.approx(np.sort(one_by_one)[:worst].mean(), abs=0.15 * sd)
