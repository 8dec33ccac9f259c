"""The rule registry: every rule kind is built from it, in the array program, the PuLP program
emitted from it, the checker, the report's words and the diagnosis."""

from __future__ import annotations

import numpy as np
import pytest

from models.campaign import Campaign, GroupRule, MixRule, Settings, make_creators
from models.checker import CHECKS, check_plan
from models.custom import CustomRule
from models.matrix import ROWS, build_matrix
from models.program import build_program
from models.rules import KINDS, campaign_rules, find, parse, rule_name, with_limit
from planner.diagnose import rule_words
from planner.explain import loosen
from planner.pipeline import make_plan

N = 24


def every_kind(target: bool = False) -> Campaign:
    """A campaign stating every kind of rule (all but target_engagement, or with it in target mode)."""
    niches = ["beauty", "food", "tech"]
    creators = make_creators([f"@c{i}" for i in range(N)], np.linspace(200, 900, N),
                             niche=[niches[i % 3] for i in range(N)],
                             platform=["instagram" if i % 2 else "tiktok" for i in range(N)],
                             followers=np.linspace(5_000, 400_000, N), engagement_rate=np.full(N, 0.04),
                             max_posts=np.full(N, 3), include=["must" if i == 5 else "" for i in range(N)])
    creators["agency"] = ["Acme" if i % 4 == 0 else "Other" for i in range(N)]
    groups = (GroupRule("niche", "beauty", min_share=0.1, max_share=0.6, min_creators=1, max_creators=8),
              GroupRule("platform", "tiktok", min_share=0.05, max_share=0.8))
    mixes = (MixRule("small", "niche", ("food", "tech"), min_share=0.1, max_share=0.9),)
    custom = (CustomRule("Acme cap", "creators", per="creator", where_column="agency", where_values=("Acme",),
                         min=1, max=4, row=2),
              CustomRule("Acme share", "spend", where_column="agency", where_values=("Acme",),
                         min_share=0.01, max_share=0.7, row=3))
    settings = Settings(total_budget=8_000.0, max_share_per_creator=0.3, min_creators=3, max_creators=15,
                        repeat_post_decay=0.8, target_engagement=20_000.0 if target else None)
    return Campaign(creators=creators, settings=settings, groups=groups, mixes=mixes, custom=custom)


def test_every_kind_has_a_row_builder_and_an_evaluation():
    assert set(ROWS) == set(KINDS) == set(CHECKS)


def test_the_campaigns_below_state_every_kind():
    kinds = {r.kind for r in campaign_rules(every_kind())} | {r.kind for r in campaign_rules(every_kind(True))}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("target", [False, True])
def test_each_rule_is_in_the_program_the_pulp_model_the_checker_the_words_and_the_diagnosis(target):
    campaign = every_kind(target)
    matrix = build_matrix(campaign)
    pulp_program = build_program(campaign)
    elastic = build_program(campaign, elastic=True)
    plan = make_plan(campaign)
    checked = check_plan(campaign, plan.posts).rules.set_index("rule")
    assert plan.outcome.status.value == "proven optimal"
    for rule in campaign_rules(campaign):
        name = rule.name
        # The id and its inverse.
        assert rule_name(*parse(name)) == name and find(campaign, name) == rule
        # The program: one row per rule (the per-creator cap is kept by the slots each creator gets).
        if rule.kind == "max_share_per_creator":
            assert name not in matrix.row_names
            uncapped = build_matrix(with_limit(campaign, name, None))
            assert matrix.columns < uncapped.columns
        else:
            assert matrix.row_names.count(name) == 1
            assert name in pulp_program.rules and name in pulp_program.constraints
            assert name in elastic.elastic  # the diagnosis can relax it
            row = matrix.row_names.index(name)
            assert np.isclose(matrix.rules[name].limit,
                              matrix.row_lower[row] if rule.sense == ">=" else matrix.row_upper[row])
            assert pulp_program.rules[name] == matrix.rules[name]
        # The checker evaluates it, in words, and the plan keeps it.
        assert name in checked.index
        words = checked.at[name, "description"]
        assert words and words != name and "_" not in words.replace(rule.subject or "", "")
        assert checked.at[name, "holds"]
        # The diagnosis names where it lives.
        assert rule_words(campaign, name) != name
        if rule.kind != "target_engagement":
            loosened = loosen(campaign, name)
            assert loosened is not None
            moved = find(loosened[0], name)
            assert moved is None or moved.limit != rule.limit  # a dropped must-include is no rule at all


def test_the_pulp_model_is_the_array_program_row_for_row():
    """Every rule row of the PuLP model holds the array program's coefficients."""
    campaign = every_kind()
    matrix = build_matrix(campaign)
    program = build_program(campaign)
    variables = {v.name: v for v in program.problem.variables()}
    names = [f"x{i}_{k + 1}" for i, k in zip(matrix.creator.tolist(), matrix.slot.tolist())]
    column_of = np.repeat(np.arange(matrix.columns), np.diff(matrix.start))
    for row, name in enumerate(matrix.row_names):
        if name is None:
            continue
        expected = {names[j]: v for j, v in zip(column_of[matrix.index == row], matrix.value[matrix.index == row])}
        constraint = program.constraints[name]
        got = {var.name: coefficient for var, coefficient in constraint.items()}
        assert got.keys() == expected.keys() and all(np.isclose(got[k], expected[k]) for k in got)
        assert all(k in variables for k in got)
    links = program.problem.numConstraints() - len(program.rules)  # the chains and package deals
    assert links == sum(n is None for n in matrix.row_names) > 0


def test_a_rule_id_that_names_no_kind_parses_to_nothing():
    assert parse("niche_mean_share:beauty") == (None, None, None)
    assert parse("agency_min_share:acme") == (None, None, None)
    assert find(every_kind(), "niche_min_share:nobody") is None


@pytest.mark.parametrize("target", [False, True])
def test_cbc_on_the_emitted_pulp_model_finds_the_array_programs_optimum(target):
    """The PuLP model solved by CBC (objective sense and sign, links, every rule) and the array program
    solved by HiGHS agree on the optimum of a campaign with every kind of rule, both at a 1e-9 gap."""
    from planner.solve import solve_campaign

    campaign = every_kind(target)
    highs = solve_campaign(campaign, "highs", gap=1e-9)
    cbc = solve_campaign(campaign, "cbc", gap=1e-9)
    assert highs.outcome.status.value == cbc.outcome.status.value == "proven optimal"
    assert cbc.outcome.objective == pytest.approx(highs.outcome.objective, rel=1e-7)
    assert check_plan(campaign, cbc.posts).ok


def test_the_elastic_model_relaxes_exactly_the_rule_that_cannot_hold():
    """Elastic: a niche minimum of creators above the niche's size (beauty has 8 creators, 9 asked) is the
    one rule the relaxation moves, by exactly one creator."""
    from planner.solve import solve

    campaign = with_limit(every_kind(), "niche_min_creators:beauty", 9)
    program = build_program(campaign, elastic=True)
    outcome = solve(program.problem, "cbc", None, 1e-9)
    assert outcome.status.has_plan
    moved = {name: var.varValue for name, var in program.elastic.items() if (var.varValue or 0.0) > 1e-6}
    assert moved.keys() == {"niche_min_creators:beauty"}
    assert moved["niche_min_creators:beauty"] == pytest.approx(1.0)


def test_a_suggestion_names_the_sheet_of_its_rule_whatever_the_limit_looks_like():
    """The diagnosis ends each suggested change with where the rule is set; a limit written with a
    thousands separator (a 20,000 target) is not cut at its comma."""
    from models.rules import where
    from planner.diagnose import explain_infeasible

    campaign = every_kind(target=True)
    kinds = {r.kind: where(r) for r in campaign_rules(campaign) + campaign_rules(every_kind())}
    assert kinds["target_engagement"] == kinds["budget"] == kinds["min_creators"] == "Budget sheet"
    assert kinds["group_min_share"] in ("Niches sheet", "Platforms sheet") and kinds["mix_min_share"] == "mix small"
    assert kinds["custom_max"] == "Custom rules sheet" and kinds["must_include"] == "Creators sheet"
    impossible = with_limit(campaign, "target_engagement", 10_000_000.0)
    lines, suggestions = explain_infeasible(impossible, "highs")
    target = [s for s in suggestions if s.rule == "target_engagement"]
    assert target and target[0].change.endswith("(Budget sheet)"), [s.change for s in suggestions]
