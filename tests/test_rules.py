"""Each rule binding on a tiny campaign whose optimum is worked out by hand, on every solver.

Engagement per post is followers x engagement_rate x authenticity (x niche
weight). The comment on each case gives the hand calculation; every case also
states what the plan would be without the rule, so the rule is seen to bind.
"""

from __future__ import annotations

import pytest

from models.checker import check_plan
from planner.pipeline import load_campaign, make_plan
from tests.conftest import assert_checked, c_row, creator, write_workbook


c = c_row  # a creator whose one post is worth exactly `value`


# (id, creators, budget settings, group sheets, expected objective, expected posts, binding rule)
CASES = [
    (
        # A 100/$60 has the best ratio, but A leaves $40: B+C = 75+75 = 150 beats A = 100.
        "budget",
        [c("A", 100, 60), c("B", 75, 50), c("C", 75, 50)],
        {"total_budget": 100},
        {},
        150,
        {"B": 1, "C": 1},
        "budget",
    ),
    (
        # Without the cap: A alone (300). Cap 50% of $100 = $50 rules A ($80) out: B+C = 190.
        "max_share_per_creator",
        [c("A", 300, 80), c("B", 100, 40), c("C", 90, 40)],
        {"total_budget": 100, "max_share_per_creator": 0.5},
        {},
        190,
        {"B": 1, "C": 1},
        None,
    ),
    (
        # Without the rule: A+B = 350. Fitness needs >= $50: F + A = 60 + 200 = 260.
        "niche_min_share",
        [c("A", 200, 50), c("B", 150, 50), c("F", 60, 50, niche="fitness")],
        {"total_budget": 100},
        {"niches": [{"niche": "fitness", "min_share": "50%"}]},
        260,
        {"A": 1, "F": 1},
        "niche_min_share:fitness",
    ),
    (
        # Beauty at most 50% of $100: one beauty creator only: A + F = 260.
        "niche_max_share",
        [c("A", 200, 50), c("B", 150, 50), c("F", 60, 50, niche="fitness")],
        {"total_budget": 100},
        {"niches": [{"niche": "beauty", "max_share": 0.5}]},
        260,
        {"A": 1, "F": 1},
        "niche_max_share:beauty",
    ),
    (
        # Tiers from followers, lower bound inclusive: M has exactly 10,000 followers -> micro.
        # N1 = 5,000 x 4% = 200, N2 = 5,000 x 3% = 150, M = 10,000 x 0.6% = 60.
        # Without the rule N1+N2 = 350; micro >= 50% of $100 forces M: N1 + M = 260.
        "tier_min_share",
        [
            creator("N1", followers=5000, rate=0.04, cost=50),
            creator("N2", followers=5000, rate=0.03, cost=50),
            creator("M", followers=10000, rate=0.006, cost=50),
        ],
        {"total_budget": 100},
        {"tiers": [{"tier": "micro", "min_share": 0.5}]},
        260,
        {"N1": 1, "M": 1},
        "tier_min_share:micro",
    ),
    (
        # A tier cell overrides followers: T (5,000 x 8% = 400) is micro by its tier cell, and
        # micro may take at most 40% ($40 < $50): N + O = 200 + 150 = 350 (as nano, T + N = 600).
        "tier_override_max_share",
        [
            creator("T", followers=5000, rate=0.08, cost=50, tier="micro"),
            creator("N", followers=5000, rate=0.04, cost=50),
            creator("O", followers=5000, rate=0.03, cost=50),
        ],
        {"total_budget": 100},
        {"tiers": [{"tier": "micro", "max_share": 0.4}]},
        350,
        {"N": 1, "O": 1},
        "tier_max_share:micro",
    ),
    (
        # Instagram at most 50%: without it I1+I2 = 300; with it I1 + Y = 200 + 50 = 250.
        "platform_max_share",
        [
            c("I1", 200, 50, platform="instagram"),
            c("I2", 100, 50, platform="instagram"),
            c("Y", 50, 50, platform="youtube"),
        ],
        {"total_budget": 100},
        {"platforms": [{"platform": "instagram", "max_share": 0.5}]},
        250,
        {"I1": 1, "Y": 1},
        "platform_max_share:instagram",
    ),
    (
        # Platform min share: TikTok >= 50% forces T (30): I1 + T = 230 instead of I1 + I2 = 300.
        "platform_min_share",
        [
            c("I1", 200, 50, platform="instagram"),
            c("I2", 100, 50, platform="instagram"),
            c("T", 30, 50, platform="tiktok"),
        ],
        {"total_budget": 100},
        {"platforms": [{"platform": "tiktok", "min_share": 0.5}]},
        230,
        {"I1": 1, "T": 1},
        "platform_min_share:tiktok",
    ),
    (
        # Without the rule A+B = 310 ($100). Three creators: A + C + D = 300 + 5 + 4 = 309 ($100).
        "min_creators",
        [c("A", 300, 90), c("B", 10, 10), c("C", 5, 5), c("D", 4, 5)],
        {"total_budget": 100, "min_creators": 3},
        {},
        309,
        {"A": 1, "C": 1, "D": 1},
        "min_creators",
    ),
    (
        # Without the rule A+B+C = 150; one creator only: D = 120.
        "max_creators",
        [c("A", 50, 10), c("B", 50, 10), c("C", 50, 10), c("D", 120, 30)],
        {"total_budget": 30, "max_creators": 1},
        {},
        120,
        {"D": 1},
        "max_creators",
    ),
    (
        # Without the rule A+B+F1 = 200; two fitness creators: F1 + F2 + A = 10 + 5 + 100 = 115.
        "niche_min_creators",
        [c("A", 100, 10), c("B", 90, 10), c("F1", 10, 10, niche="fitness"), c("F2", 5, 10, niche="fitness")],
        {"total_budget": 30},
        {"niches": [{"niche": "fitness", "min_creators": 2}]},
        115,
        {"A": 1, "F1": 1, "F2": 1},
        "niche_min_creators:fitness",
    ),
    (
        # At most one beauty creator: A + F1 + F2 = 115 instead of A + B + F1 = 210.
        "niche_max_creators",
        [c("A", 100, 10), c("B", 90, 10), c("F1", 10, 10, niche="fitness"), c("F2", 5, 10, niche="fitness")],
        {"total_budget": 30},
        {"niches": [{"niche": "beauty", "max_creators": 1}]},
        115,
        {"A": 1, "F1": 1, "F2": 1},
        "niche_max_creators:beauty",
    ),
    (
        # A's package is 3 posts ($30) and only $20 is there: B + C = 140 (without: A x 2 = 200).
        "min_posts",
        [c("A", 100, 10, max_posts=3, min_posts=3), c("B", 90, 10), c("C", 50, 10)],
        {"total_budget": 20},
        {},
        140,
        {"B": 1, "C": 1},
        None,
    ),
    (
        # Up to 2 posts of A: A x 2 + B = 260 (max_posts 1 would give A + B = 160).
        "max_posts",
        [c("A", 100, 10, max_posts=2), c("B", 60, 10), c("C", 50, 10)],
        {"total_budget": 30},
        {},
        260,
        {"A": 2, "B": 1},
        None,
    ),
    (
        # Decay 0.5: A's posts are worth 100, 50, 25; with B = 80 and $30 the best three
        # slots are 100 + 80 + 50 = 230 (no decay: A x 3 = 300).
        "repeat_post_decay",
        [c("A", 100, 10, max_posts=3), c("B", 80, 10)],
        {"total_budget": 30, "repeat_post_decay": 0.5},
        {},
        230,
        {"A": 2, "B": 1},
        None,
    ),
    (
        # C must be booked: C + A = 10 + 100 = 110 (without: A + B = 190).
        "must_include",
        [c("A", 100, 50), c("B", 90, 50), c("C", 10, 50, include="must")],
        {"total_budget": 100},
        {},
        110,
        {"A": 1, "C": 1},
        None,
    ),
    (
        # A excluded: B + C = 100 (without: A + B = 190).
        "exclude",
        [c("A", 100, 50, include="exclude"), c("B", 90, 50), c("C", 10, 50)],
        {"total_budget": 100},
        {},
        100,
        {"B": 1, "C": 1},
        None,
    ),
    (
        # Weight 1.5 on food: F is worth 80 x 1.5 = 120 > A's 100 with room for one.
        "niche_weight",
        [c("A", 100, 50), c("F", 80, 50, niche="food")],
        {"total_budget": 50},
        {"niches": [{"niche": "food", "weight": 1.5}]},
        120,
        {"F": 1},
        None,
    ),
    (
        # Share of planned spend: beauty <= 40% of spend. All four (A, B, F1, F2 = $200) give
        # beauty 50%; A + F1 + F2 gives 50 / 150 = 33%: 100 + 10 + 10 = 120.
        # (Of budget, $120 would allow both beauty creators: 210.)
        "share_basis_spend",
        [c("A", 100, 50), c("B", 90, 50), c("F1", 10, 50, niche="food"), c("F2", 10, 50, niche="food")],
        {"total_budget": 300, "share_basis": "spend"},
        {"niches": [{"niche": "beauty", "max_share": 0.4}]},
        120,
        {"A": 1, "F1": 1, "F2": 1},
        None,
    ),
    (
        # The same rule of budget: beauty <= $120 allows A and B: 100 + 90 + 10 + 10 = 210.
        "share_basis_budget",
        [c("A", 100, 50), c("B", 90, 50), c("F1", 10, 50, niche="food"), c("F2", 10, 50, niche="food")],
        {"total_budget": 300, "share_basis": "budget"},
        {"niches": [{"niche": "beauty", "max_share": 0.4}]},
        210,
        {"A": 1, "B": 1, "F1": 1, "F2": 1},
        None,
    ),
    (
        # Authenticity scales followers: A = 10,000 x 5% x 0.5 = 250, B = 10,000 x 3% = 300.
        # The override replaces the estimate: C is worth 400 whatever its followers.
        "authenticity_and_override",
        [
            creator("A", followers=10000, rate=0.05, cost=50, authenticity=0.5),
            creator("B", followers=10000, rate=0.03, cost=50),
            creator("C", followers=10, rate=0.01, cost=50, expected_engagement=400),
        ],
        {"total_budget": 100},
        {},
        700,
        {"B": 1, "C": 1},
        None,
    ),
    (
        # A free post (product seeding) is always taken: Z (5, $0) + A (100, $50).
        "zero_cost",
        [c("A", 100, 50), c("B", 90, 60), c("Z", 5, 0)],
        {"total_budget": 50},
        {},
        105,
        {"A": 1, "Z": 1},
        None,
    ),
]


def plan_case(tmp_path, creators, budget, groups, solver):
    """Write the case as a workbook, read it back and plan it with the given solver."""
    path = write_workbook(tmp_path / "case.xlsx", creators, budget, **groups)
    campaign, _, _ = load_campaign(path, solver=solver, gap=0.0)
    return campaign, make_plan(campaign)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_rule_binds_at_hand_worked_optimum(tmp_path, solver, case):
    _, creators, budget, groups, objective, posts, binding = case
    campaign, plan = plan_case(tmp_path, creators, budget, groups, solver)
    assert_checked(campaign, plan)
    assert plan.engagement == pytest.approx(objective, rel=1e-9)
    booked = {name: int(p) for name, p in zip(campaign.creators["creator"], plan.posts) if p}
    assert booked == posts
    assert plan.outcome.describe() == "proven optimal"
    if binding is not None:
        rules = plan.rules.set_index("rule")
        assert bool(rules.loc[binding, "binding"]), rules


def test_rules_that_bind_change_the_plan(tmp_path):
    """The budget case without its ratio trap: the greedy rule of thumb is beaten by the optimum."""
    _, creators, budget, groups, objective, _, _ = CASES[0]
    _, plan = plan_case(tmp_path, creators, budget, groups, "highs")
    assert plan.baseline_engagement == pytest.approx(100)  # greedy takes A ($60) and nothing fits after
    assert plan.engagement == pytest.approx(objective)


def test_checker_rejects_a_plan_that_breaks_each_rule(tmp_path):
    """The checker is not a rubber stamp: it names broken rules."""
    creators = [c("A", 200, 50, max_posts=2), c("B", 150, 50, include="must"),
                c("F", 60, 50, niche="fitness", include="exclude")]
    path = write_workbook(
        tmp_path / "w.xlsx",
        creators,
        {"total_budget": 100, "max_share_per_creator": 0.6, "max_creators": 1},
        niches=[{"niche": "fitness", "min_share": 0.1}, {"niche": "beauty", "max_share": 0.5}],
    )
    campaign, _, _ = load_campaign(path)
    broken = check_plan(campaign, [2, 0, 1])
    text = "\n".join(broken.violations)
    for expected in ("excluded but booked", "per-creator cap", "Total spend within the budget: planned 150.00",
                     "Book B (must include)", "At most 1 creator: planned 2, limit 1",
                     "Beauty: at most 50% of budget: planned 100%, limit 50%"):
        assert expected in text
    assert check_plan(campaign, [0, 1, 0]).violations == ["Fitness: at least 10% of budget: planned 0%, limit 10%"]
