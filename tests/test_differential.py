"""The planner against an independent formulation on a few hundred random campaigns.

``bench/differential.py`` generates campaigns with every rule and the edge cases that
once broke "proven optimal" ($0 creators under a per-creator cap, ties, package deals,
must / exclude, shares of planned spend, budgets below every cost, rules set exactly at a
feasible plan's values) and solves each with a formulation written from the README alone
(one yes/no variable per creator and post count, HiGHS at a 1e-9 gap). Here 300 of them
run on both solver paths; the bench runs thousands (bench/RESULTS.md).
"""

from __future__ import annotations

import pytest

from bench.differential import check_one

CHUNK = 25


@pytest.mark.parametrize("first", range(0, 300, CHUNK))
def test_planner_agrees_with_the_independent_optimum(tmp_path, first):
    failures = []
    for seed in range(first, first + CHUNK):
        solver = ("highs", "cbc")[seed % 2]
        # Every fifth campaign goes through the whole `planner plan` job (report written).
        spec, optimum, outcome, problems = check_one(seed, tmp_path, solver, report=seed % 5 == 0)
        if problems:
            failures.append(f"seed {seed} ({solver}, {len(spec.creators)} creators): {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


def test_the_comparison_catches_a_wrong_bound_and_a_wrong_exit_code(tmp_path):
    # The harness itself must be able to fail: a plan claimed proven with a bound below the optimum.
    from bench.differential import Optimum, Outcome, compare, random_spec

    spec = random_spec(0)
    optimum = Optimum(True, 100.0)
    assert compare(spec, optimum, Outcome(0, 99.0, 99.0, 0.0, 1e-4, True))  # bound below the optimum
    assert compare(spec, optimum, Outcome(0, 100.0, 100.0, 0.5, 1e-4, True))  # gap not (bound - plan) / plan
    assert compare(spec, optimum, Outcome(3))  # a plan exists, the planner said none
    assert compare(spec, Optimum(False), Outcome(0, 1.0, 1.0, 0.0, 1e-4, True))
    assert not compare(spec, optimum, Outcome(0, 100.0, 100.005, 5e-5, 1e-4, True))
