""""Proven optimal" is always true: the cases that once broke it, on both solver paths.

Each case is a real workbook through ``planner plan``; the report is read back. The optima
are worked out by hand in each test's comment.
"""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest

from models.campaign import Campaign, Settings, make_creators
from models.plan import Status
from planner.pipeline import load_campaign, make_plan
from tests.conftest import key_values, run_cli, write_workbook

Z = {"creator": "z", "niche": "food", "followers": 1000, "engagement_rate": 0.05, "cost_per_post": 0}


def creator(name, followers, cost, **extra):
    return {"creator": name, "niche": "food", "followers": followers, "engagement_rate": 0.05,
            "cost_per_post": cost, **extra}


def summary(path) -> dict:
    """The Summary's label -> value, with the planner's figures from Run info: the solver's status, the
    proven bound and the gap (the client's Summary states the status in words and no bound)."""
    values = key_values(path, "Summary")
    info = key_values(path, "Run info")
    values["Status in words"] = values["Status"]
    values.update({"Status": info["Status"], "Proven bound on the optimum": info["Proven bound"],
                   "Optimality gap": info["Gap"]})
    return values


def plan_cli(tmp_path, solver, creators, budget, tiers=None):
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={**budget, "solver": solver}, tiers=tiers)
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    return result, out


def test_a_free_creator_under_a_per_creator_cap_is_booked(tmp_path, solver, recwarn):
    # z costs $0: the 50% cap ($500) never binds on it; one post worth 1000 x 0.05 = 50.
    result, out = plan_cli(tmp_path, solver, [Z], {"total_budget": 1000, "max_share_per_creator": 0.5})
    assert result.exit_code == 0, result.output
    assert "proven optimal" in result.output and "creators:    1 booked, 1 posts" in result.output
    values = summary(out)
    assert values["Expected engagement"] == pytest.approx(50)
    assert values["Proven bound on the optimum"] == pytest.approx(50, rel=1e-5)  # CBC: its LP, to 6 digits
    assert values["Planned spend"] == 0
    assert not [w for w in recwarn if "invalid value" in str(w.message)]


def test_a_must_include_free_creator_beside_one_at_the_cap_exactly(tmp_path, solver):
    # a costs $500 = 50% of $1,000 exactly (allowed); a + z = 5,000 + 50.
    creators = [creator("a", 100_000, 500), {**Z, "include": "must"}]
    result, out = plan_cli(tmp_path, solver, creators, {"total_budget": 1000, "max_share_per_creator": 0.5})
    assert result.exit_code == 0, result.output
    values = summary(out)
    assert values["Expected engagement"] == pytest.approx(5050)
    assert values["Planned spend"] == pytest.approx(500)
    assert values["Proven bound on the optimum"] >= 5050 - 1e-6


def test_a_free_creator_alone_when_a_share_of_spend_rules_out_the_paid_one(tmp_path, solver):
    # a (150k followers: mid) would be 100% of spend, above mid's 50%; z alone spends $0 (a share
    # of nothing holds) and is worth 50: the optimum is 50, not the empty plan.
    creators = [creator("a", 150_000, 600), Z]
    result, out = plan_cli(tmp_path, solver, creators,
                           {"total_budget": 1000, "max_share_per_creator": 0.9, "share_basis": "spend"},
                           tiers=[{"tier": "mid", "max_share": 0.5}])
    assert result.exit_code == 0, result.output
    values = summary(out)
    assert values["Expected engagement"] == pytest.approx(50)
    assert values["Creators booked"] == 1
    assert values["Proven bound on the optimum"] >= 50 - 1e-9


def test_the_stated_bound_is_never_below_the_plan(tmp_path, solver):
    # max_creators 1: z (200k x 0.05 = 10,000, $0) beats a (7,500); the bound is 10,000, gap 0.
    creators = [creator("a", 150_000, 600), {**Z, "followers": 200_000}]
    result, out = plan_cli(tmp_path, solver, creators,
                           {"total_budget": 1000, "max_share_per_creator": 0.9, "max_creators": 1})
    assert result.exit_code == 0, result.output
    values = summary(out)
    assert values["Expected engagement"] == pytest.approx(10_000)
    assert values["Proven bound on the optimum"] == pytest.approx(10_000, rel=1e-5)
    assert values["Optimality gap"] == pytest.approx(0, abs=1e-5)


def _hard_campaign(n=120, seed=3):
    """Values close to costs with creator counts: CBC stops at its gap tolerance, not at the optimum."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(1000, 2000, n).astype(float)
    value = cost + rng.integers(0, 60, n)
    niche = np.where(np.arange(n) % 2 == 0, "food", "beauty")
    creators = make_creators([f"c{i}" for i in range(n)], cost, value, niche=niche, tier="all")
    from models.campaign import GroupRule

    settings = Settings(total_budget=float(cost.sum() // 3), solver="cbc", mip_gap=0.005)
    return Campaign(creators, settings, groups=(GroupRule("niche", "food", max_creators=12),))


def test_a_cbc_plan_states_cbcs_own_bound_and_the_true_gap():
    campaign = _hard_campaign()
    plan = make_plan(campaign)
    outcome = plan.outcome
    exact = make_plan(campaign.with_settings(solver="highs", mip_gap=1e-9)).engagement
    assert outcome.status is Status.OPTIMAL
    assert outcome.bound >= exact - 1e-6
    assert outcome.gap == pytest.approx((outcome.bound - plan.engagement) / plan.engagement, abs=1e-12)
    assert outcome.gap <= 0.005 + 1e-12
    if plan.engagement < exact - 1e-6:  # stopped inside the gap: never "gap 0"
        assert outcome.gap > 0


EMPTY_CAUSES = {
    "budget below every cost": ([creator("a", 10_000, 600), creator("b", 20_000, 700)], {"total_budget": 500},
                                "below every creator's cost"),
    "per-creator cap below every cost": ([creator("a", 10_000, 600)], {"total_budget": 1000,
                                                                      "max_share_per_creator": 0.5},
                                         "per-creator cap"),
    "every creator excluded": ([creator("a", 10_000, 600, include="exclude")], {"total_budget": 1000},
                               "marked exclude"),
    "every creator worth 0": ([{**creator("a", 10_000, 600), "engagement_rate": 0}], {"total_budget": 1000},
                              "engagement of 0"),
}


@pytest.mark.parametrize("cause", EMPTY_CAUSES)
def test_only_an_empty_plan_is_a_plan_with_its_reason(tmp_path, solver, cause):
    creators, budget, words = EMPTY_CAUSES[cause]
    result, out = plan_cli(tmp_path, solver, creators, budget)
    assert result.exit_code == 0, result.output
    assert "creators:    0 booked" in result.output and words in result.output
    values = summary(out)
    assert values["Status"] == "proven optimal"
    assert words in values["Why nothing is booked"]
    assert values["Creators booked"] == 0 and values["Proven bound on the optimum"] == 0


def test_an_empty_plan_that_breaks_a_rule_is_rules_that_cannot_hold(tmp_path, solver):
    # Nobody fits the budget, but one creator must be booked: exit 3 with the diagnosis.
    creators = [creator("a", 10_000, 600, include="must")]
    result, out = plan_cli(tmp_path, solver, creators, {"total_budget": 500})
    assert result.exit_code == 3, result.output


def test_creators_worth_nothing_still_meet_a_minimum_count(tmp_path, solver):
    # Every engagement rate is 0 and min_creators is 1: any plan booking one creator is optimal (0).
    creators = [{**creator("a", 10_000, 600), "engagement_rate": 0},
                {**creator("b", 10_000, 300), "engagement_rate": 0}]
    result, out = plan_cli(tmp_path, solver, creators, {"total_budget": 1000, "min_creators": 1})
    assert result.exit_code == 0, result.output
    values = summary(out)
    assert values["Creators booked"] >= 1 and values["Expected engagement"] == 0


def test_one_workbook_gives_one_plan(tmp_path):
    # A campaign whose core is solved as a MILP: the same plan, value and bound on every run.
    campaign = _hard_campaign(n=400, seed=5).with_settings(solver="highs", mip_gap=1e-4)
    plans = [make_plan(campaign) for _ in range(3)]
    for plan in plans[1:]:
        np.testing.assert_array_equal(plan.posts, plans[0].posts)
        assert plan.outcome.bound == plans[0].outcome.bound


def test_reading_the_campaign_from_the_workbook_gives_the_same_plan_twice(tmp_path, solver):
    rows = [creator(f"c{i}", 10_000 + 997 * i, 100 + (i * 37) % 250) for i in range(60)]
    path = write_workbook(tmp_path / "in.xlsx", rows,
                          budget={"total_budget": 3000, "max_creators": 9, "solver": solver})
    first = make_plan(load_campaign(path)[0])
    second = make_plan(load_campaign(path)[0])
    np.testing.assert_array_equal(first.posts, second.posts)


def test_a_time_limit_bounds_the_whole_plan_command(tmp_path):
    # The typical sample takes well over 5 s to prove with its explanations; with --time-limit 5 the
    # command still answers, with an honest status, and says what it skipped. (A contract check
    # with a generous margin, not a benchmark: bench/ measures the time.)
    import time

    from tests.conftest import SAMPLES

    out = tmp_path / "plan.xlsx"
    started = time.perf_counter()
    result = run_cli("plan", SAMPLES / "typical_campaign.xlsx", "-o", out, "--time-limit", 5)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert elapsed < 5 + 5
    status = summary(out)["Status"]
    assert status.startswith("proven optimal") or status.startswith("best found, gap")
    if status.startswith("best found"):
        assert "time limit reached" in result.output
    run_info = [row[0] for row in openpyxl.load_workbook(out)["Run info"].iter_rows(values_only=True) if row[0]]
    explained = openpyxl.load_workbook(out)["Rules"].max_column > 9
    assert explained or any("explanations skipped" in str(text) for text in run_info)


def test_nothing_left_to_add_binds_nothing_and_the_summary_says_why_money_is_left(tmp_path):
    # Both creators booked at max_posts with $3,450 left: the budget does not bind, nor does a
    # max share of a tier with no creators; the Summary says why the money is left, never "$inf".
    creators = [creator("a", 20_000, 500), creator("b", 30_000, 1050)]
    path = write_workbook(tmp_path / "in.xlsx", creators, budget={"total_budget": 5000},
                          tiers=[{"tier": "mega", "max_share": 0.3}])
    out = tmp_path / "plan.xlsx"
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code == 0, result.output
    values = summary(out)
    assert values["What limits the plan"].startswith("No rule holds the plan back")
    assert "inf" not in values["Budget left unspent"]
    assert "every creator is booked for as many posts as allowed" in values["Budget left unspent"]
