"""The planner against published 0/1 knapsack optima.

With every rule off, a campaign is exactly a 0/1 knapsack (value = expected
engagement, weight = cost, capacity = budget), so the plan's engagement must
equal each instance's known optimum. The instances are third-party data read
from ``../shared/data/knapsack`` (or ``$PLANNER_SHARED_DATA``); without that
folder every test here is skipped with the reason below.

Exactness tests run with ``gap=0``: the default relative gap (1e-4) lets a
solver stop legally before the optimum. The Jooken et al. instances are hard;
they run under a 10 s time limit and check that whatever the solver reports
(proven optimal, or best found with a gap) is true.

Measured on a 2-core machine: the whole file takes about 80 s, of which
~30 s are the three CBC runs that hit the Jooken time limit and ~26 s all 300
Pisinger instances on both HiGHS and CBC (so CBC runs on every one of them).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

try:  # tests/ as a package (tests/__init__.py) or as a plain folder on sys.path
    from tests.knapsack_instances import (
        Instance,
        artemisa_instances,
        jooken_instances,
        knapsack_dir,
        ortools_instances,
        pisinger_instances,
    )
except ModuleNotFoundError:
    from knapsack_instances import (
        Instance,
        artemisa_instances,
        jooken_instances,
        knapsack_dir,
        ortools_instances,
        pisinger_instances,
    )
from models.campaign import knapsack_campaign
from models.checker import check_plan
from models.plan import Status
from planner.pipeline import make_plan

SKIP_REASON = "external benchmark data ../shared/data not found; see README"
HAVE_DATA = knapsack_dir() is not None

#: Optima as shared/data/README.md states them (the files must agree).
README_OPTIMA = {
    "f1_l-d_kp_10_269": 295,
    "f5_l-d_kp_15_375": 481.0694,
    "f8_l-d_kp_23_10000": 9767,
    "knapPI_1_100_1000_1": 9147,
    "knapPI_3_1000_1000_1": 14390,
    "knapPI_2_10000_1000_1": 90204,
    "knapsack_50_items": 7534,
    "n_400_c_1000000_g_2_f_0.1_eps_0_s_200": 503787,
    "n_400_c_10000000000_g_2_f_0.1_eps_0.001_s_200": 5010004519,
    "n_1200_c_100000000_g_14_f_0.3_eps_1e-05_s_100": 100014610,
}

PISINGER_FILES = ("knapPI_11_20_1000", "knapPI_1_100_100000", "knapPI_1_50_1000")

ORTEGA = artemisa_instances("low_dimensional") + artemisa_instances("large_scale")
ORTOOLS = ortools_instances()
PISINGER = pisinger_instances()
JOOKEN = jooken_instances()

#: Seconds per Jooken solve (each runs with gap=0: prove the optimum or say how far off).
JOOKEN_TIME_LIMIT = 10


def cases(instances):
    """pytest params with the instance name as id, or one skipped placeholder."""
    if not HAVE_DATA or not instances:
        return [pytest.param(None, id="no-data", marks=pytest.mark.skip(reason=SKIP_REASON))]
    return [pytest.param(inst, id=inst.name) for inst in instances]


def needs_data():
    """Skip the calling test when the shared data folder is absent."""
    if not HAVE_DATA:
        pytest.skip(SKIP_REASON)


def size_from_name(name):
    """(n, capacity or None) as encoded in an instance's name, independent of its file."""
    patterns = (
        (r"^f\d+_l-d_kp_(\d+)_(\d+)$", True),  # Ortega low-dimensional: n, capacity
        (r"^n_(\d+)_c_(\d+)_", True),  # Jooken: n, capacity
        (r"^knapPI_\d+_(\d+)_\d+(?:_\d+)?$", False),  # Pisinger generator: type, n, range, [index]
        (r"^knapsack_(\d+)_items$", False),  # OR-Tools example
    )
    for pattern, has_capacity in patterns:
        match = re.match(pattern, name)
        if match:
            return int(match.group(1)), (float(match.group(2)) if has_capacity else None)
    raise AssertionError(f"no size encoded in the name {name!r}")


def is_integral(inst: Instance) -> bool:
    """True when every value and weight is a whole number."""
    return bool(np.all(inst.values == np.round(inst.values)) and np.all(inst.weights == np.round(inst.weights)))


def assert_read_as_declared(inst: Instance):
    """The parser read as many items (and the capacity) the instance's name says."""
    n, capacity = size_from_name(inst.name)
    assert inst.n == n == len(inst.weights), f"{inst.name}: read {inst.n} items, the name says {n}"
    if capacity is not None:
        assert inst.capacity == capacity
    assert np.all(inst.weights >= 0) and np.all(inst.values >= 0)


def assert_checked_plan(inst: Instance, campaign, plan):
    """The plan is a 0/1 selection within capacity that the independent checker accepts."""
    posts = np.asarray(plan.posts)
    assert posts.shape == (inst.n,)
    assert np.isin(posts, (0, 1)).all(), "a knapsack plan books each item at most once"
    check = check_plan(campaign, posts)
    assert check.ok, check.violations
    assert plan.spend <= inst.capacity, f"spend {plan.spend!r} above capacity {inst.capacity!r}"
    # Recompute both totals from the raw data, not from the library.
    assert math.isclose(plan.spend, float(inst.weights @ posts), rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(plan.engagement, float(inst.values @ posts), rel_tol=1e-12, abs_tol=1e-9)


def assert_exact_optimum(inst: Instance, solver: str):
    """Plan the instance with gap 0 and no time limit: proven optimal, at the optimum."""
    assert_read_as_declared(inst)
    campaign = knapsack_campaign(inst.values, inst.weights, inst.capacity)
    plan = make_plan(campaign, solver=solver, gap=0)
    assert_checked_plan(inst, campaign, plan)
    outcome = plan.outcome
    assert outcome.status is Status.OPTIMAL, outcome.describe()
    assert outcome.describe().startswith("proven optimal")
    # Solved to gap 0 and proven: the reported gap (and bound, below) must say so.
    assert outcome.gap is not None and outcome.gap <= 1e-6, outcome
    if is_integral(inst):
        assert math.isclose(plan.engagement, inst.optimum, rel_tol=1e-6), (plan.engagement, inst.optimum)
    else:
        # f5_l-d_kp_15_375: float data, optimum published to 4 decimals.
        assert math.isclose(plan.engagement, inst.optimum, rel_tol=0, abs_tol=1e-4), (plan.engagement, inst.optimum)
    if outcome.bound is not None:  # a proven bound can never be below the optimum
        assert outcome.bound >= inst.optimum * (1 - 1e-9) - 1e-4
    return plan


# --------------------------------------------------------------------------- data


def test_instances_present_with_readme_optima():
    """Every instance the README lists is found, and its optimum file agrees with the README."""
    needs_data()
    found = {inst.name: inst.optimum for inst in ORTEGA + ORTOOLS + JOOKEN}
    assert found.keys() == README_OPTIMA.keys()
    for name, optimum in README_OPTIMA.items():
        assert found[name] == optimum, f"{name}: file says {found[name]}, README says {optimum}"


def test_pisinger_archives_hold_300_instances():
    """Three archives of 100 instances each, named <stem>_1 .. <stem>_100 (not by the broken name line)."""
    needs_data()
    names = [inst.name for inst in PISINGER]
    assert len(PISINGER) == 300
    assert sorted(names) == sorted(f"{stem}_{k}" for stem in PISINGER_FILES for k in range(1, 101))
    for inst in PISINGER:
        assert_read_as_declared(inst)


def test_published_solutions_attain_the_optimum():
    """Where a file ships an optimal selection, it fits and is worth exactly the stated optimum."""
    needs_data()
    with_solution = [inst for inst in ORTEGA + PISINGER if inst.solution is not None]
    assert len(with_solution) == 303  # 300 Pisinger + 3 large-scale Ortega files
    wrong = [
        inst.name
        for inst in with_solution
        if inst.values @ inst.solution != inst.optimum or inst.weights @ inst.solution > inst.capacity
    ]
    assert not wrong, f"published solutions that do not match their optimum: {wrong}"


# ------------------------------------------------------------------- exact optima


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("inst", cases(ORTEGA))
def test_ortega_optimum(inst, solver):
    assert_exact_optimum(inst, solver)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("inst", cases(ORTOOLS))
def test_ortools_example_optimum(inst, solver):
    plan = assert_exact_optimum(inst, solver)
    assert inst.optimum == 7534
    free = inst.weights == 0
    assert free.sum() == 4 and np.all(inst.values[free] > 0)
    assert np.all(plan.posts[free] == 1), "a correct plan takes every zero-weight item"


# All 300 Pisinger instances on both solvers: ~14 s on HiGHS and ~12 s on CBC
# as measured, well under the 2-minute budget, so no CBC subset is needed.
@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("inst", cases(PISINGER))
def test_pisinger_optimum(inst, solver):
    assert_exact_optimum(inst, solver)


# ------------------------------------------------------- hard instances, honesty


def assert_honest(inst: Instance, solver: str, time_limit: float):
    """Plan under a time limit with gap 0; whatever the outcome claims must be true."""
    assert_read_as_declared(inst)
    campaign = knapsack_campaign(inst.values, inst.weights, inst.capacity)
    plan = make_plan(campaign, solver=solver, time_limit=time_limit, gap=0)
    assert_checked_plan(inst, campaign, plan)
    outcome = plan.outcome
    described = outcome.describe()
    # The solver's objective is the recomputed engagement (integral data < 2**53: exact sums).
    assert math.isclose(outcome.objective, plan.engagement, rel_tol=1e-9)
    assert plan.engagement <= inst.optimum, "a plan cannot beat the proven optimum"
    if outcome.bound is not None:
        assert outcome.bound >= inst.optimum * (1 - 1e-9), f"bound {outcome.bound} below the optimum {inst.optimum}"

    if outcome.status is Status.OPTIMAL:
        claim = f"claimed {described!r} at {plan.engagement}, optimum {inst.optimum}"
        assert plan.engagement == inst.optimum, claim
        assert outcome.gap is not None and outcome.gap <= 1e-6, claim  # gap=0 was asked for
        assert described.startswith("proven optimal")
        assert not plan.warnings
    else:
        assert outcome.status is Status.FEASIBLE, described
        assert outcome.gap is not None and outcome.gap > 0, described
        assert outcome.bound is not None, "a best-found plan must come with the bound its gap is measured from"
        implied = (outcome.bound - plan.engagement) / plan.engagement
        assert math.isclose(outcome.gap, implied, rel_tol=1e-6), (outcome.gap, implied)
        # The true gap to the optimum is within what is reported.
        assert (inst.optimum - plan.engagement) / plan.engagement <= outcome.gap * (1 + 1e-9)
        assert "best found, gap" in described
        assert any("time limit reached" in w for w in plan.warnings), plan.warnings
        assert outcome.seconds >= time_limit * 0.9, f"stopped after {outcome.seconds:.1f} s without a proof"
    return plan


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("inst", cases(JOOKEN))
def test_jooken_reports_honestly(inst, solver):
    """10 s, gap 0: proven optimal at the optimum, or best found with a true gap.

    Observed here: HiGHS proves all three (0.1-3 s); CBC stops at 10 s on all
    three, on the 400-item ones holding the optimum but with its LP bound
    (gap ~99%), on the 1200-item one at 100014264 (gap 0.00035%).
    """
    assert_honest(inst, solver, JOOKEN_TIME_LIMIT)


def test_cbc_stops_at_time_limit_on_1200_items():
    """CBC cannot prove the 1200-item instance in 2 s: it must say "best found" with a gap.

    CBC needs ~19 s to prove it on the 2-core machine this was measured on
    (README: 1-2 minutes), so the 10 s runs above are only ~2x short of a
    proof on a faster runner; 2 s keeps a ~10x margin. Observed every run:
    FEASIBLE, gap 0.00035-0.00055%, bound 100014616.8.
    """
    big = [inst for inst in JOOKEN if inst.n == 1200]
    if not HAVE_DATA or not big:
        pytest.skip(SKIP_REASON)
    plan = assert_honest(big[0], "cbc", time_limit=2)
    assert plan.outcome.status is Status.FEASIBLE, plan.outcome.describe()
    assert plan.engagement < big[0].optimum
