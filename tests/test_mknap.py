"""The planner against the OR-Library multidimensional knapsack instances (Beasley; Chu & Beasley 1998).

Each instance becomes a workbook: one creator per item (cost 0, one post at most, so the budget never
binds), the item's profit and its coefficient in every constraint row as numeric Creators columns
(``profit``, ``a1`` ... ``am``), ``objective = profit`` on the Budget sheet and one Custom rule per
constraint row (measure ``a<j>``, per creator, max = the row's capacity). The plan's profit must equal
the published optimum. Both totals are recomputed here from the instance data and the creators the
Allocation sheet books, not taken from the report.

The instances are third-party data read from ``../shared/data/knapsack/mkp_orlib`` (or
``$PLANNER_SHARED_DATA/knapsack/mkp_orlib``); without that folder the module is skipped. File format
(``file-format.txt`` there): a token stream, K problems, each ``n m opt``, n profits, m rows of n
coefficients, m capacities. The 7 mknap1 problems and problems 0, 10 and 20 of mknapcb1 (100 items x
5 rows) run by default; the other 27 mknapcb1 problems are marked slow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import read_table, run_cli, write_workbook

DATA = (Path(os.environ["PLANNER_SHARED_DATA"]) if os.environ.get("PLANNER_SHARED_DATA")
        else Path(__file__).resolve().parents[1].parent / "shared" / "data") / "knapsack" / "mkp_orlib"
if not DATA.is_dir():
    pytest.skip(f"external benchmark data {DATA} not found (../shared/data beside the checkout; see README)",
                allow_module_level=True)

#: Published optima, as ../shared/data/README.md lists them (row mkp_orlib).
PUBLISHED = {
    "mknap1": [3800, 8706.1, 4015, 6120, 12400, 10618, 16537],
    "mknapcb1": [24381, 24274, 23551, 23534, 23991, 24613, 25591, 23410, 24216, 24411,
                 42757, 42545, 41968, 45090, 42218, 42927, 42009, 45020, 43441, 44554,
                 59822, 62081, 59802, 60479, 61091, 58959, 61538, 61520, 59453, 59965],
}
#: mknapcb1 problems run by default (one per tightness class); the rest are slow.
FAST_CB = {0, 10, 20}
#: Creators columns every item shares (the plan's value comes from ``profit`` alone).
ITEM = {"niche": "items", "followers": 1000, "engagement_rate": 0.01, "cost_per_post": 0, "max_posts": 1}
RULES_HEADER = ["rule", "measure", "per", "where", "weight_column", "min", "max", "min_share", "max_share"]


@dataclass(frozen=True, eq=False)
class Problem:
    """One multidimensional knapsack: maximise profit @ x s.t. weights @ x <= capacity, x binary."""

    name: str
    profit: np.ndarray  # (n,)
    weights: np.ndarray  # (m, n)
    capacity: np.ndarray  # (m,)
    file_opt: float  # the file's own optimum token (0 = not given)


def read_problems(path: Path) -> list:
    """Every problem of one OR-Library mknap file, read as a whitespace token stream."""
    tokens = path.read_text().split()
    k, at = int(tokens[0]), 1
    problems = []
    for number in range(k):
        n, m, opt = int(tokens[at]), int(tokens[at + 1]), float(tokens[at + 2])
        at += 3
        block = np.asarray(tokens[at:at + n + m * n + m], dtype=float)
        assert len(block) == n + m * n + m, f"{path.name} problem {number}: file ends early"
        at += len(block)
        problems.append(Problem(f"{path.stem}-{number}", block[:n], block[n:n + m * n].reshape(m, n),
                                block[n + m * n:], opt))
    assert at == len(tokens), f"{path.name}: {len(tokens) - at} tokens after its {k} problems"
    return problems


def cases():
    params = []
    for stem, optima in PUBLISHED.items():
        problems = read_problems(DATA / f"{stem}.txt")
        assert len(problems) == len(optima), f"{stem}.txt holds {len(problems)} problems, README {len(optima)}"
        for number, (problem, optimum) in enumerate(zip(problems, optima)):
            slow = stem == "mknapcb1" and number not in FAST_CB
            params.append(pytest.param(problem, optimum, id=problem.name, marks=[pytest.mark.slow] if slow else []))
    return params


CASES = cases()
BY_NAME = {p.id: p.values for p in CASES}


def write_instance(path: Path, problem: Problem) -> Path:
    """The planner workbook of one problem (see the module's docstring)."""
    m, n = problem.weights.shape
    creators = []
    for i in range(n):
        row = {"creator": f"item{i + 1}", **ITEM, "profit": float(problem.profit[i])}
        row.update({f"a{j + 1}": float(problem.weights[j, i]) for j in range(m)})
        creators.append(row)
    rules = [RULES_HEADER] + [[f"capacity {j + 1}", f"a{j + 1}", "creator", None, None, None,
                               float(problem.capacity[j]), None, None] for j in range(m)]
    budget = {"total_budget": 1, "objective": "profit", "mip_gap": 0}
    return write_workbook(path, creators, budget=budget, extra_sheets={"Custom rules": rules})


def booked(out: Path, n: int) -> np.ndarray:
    """The 0/1 selection the report's Allocation sheet books."""
    table = read_table(out, "Allocation")
    if "posts" in table.columns:
        table = table[table["posts"].fillna(0).astype(float) > 0]
        assert set(table["posts"].astype(float)) <= {1.0}, "an item booked more than once"
    names = [str(c) for c in table["creator"]]
    assert len(set(names)) == len(names), "a creator listed twice"
    x = np.zeros(n)
    for name in names:
        assert name.startswith("item") and 1 <= int(name[4:]) <= n, f"unknown creator {name!r}"
        x[int(name[4:]) - 1] = 1
    return x


def assert_plans_optimum(tmp_path: Path, problem: Problem, optimum: float, *options):
    path = write_instance(tmp_path / f"{problem.name}.xlsx", problem)
    out = tmp_path / f"{problem.name}-plan.xlsx"
    result = run_cli("plan", path, "-o", out, *options)
    assert result.exit_code == 0, result.output
    x = booked(out, len(problem.profit))
    used = problem.weights @ x
    for j, (left, cap) in enumerate(zip(used, problem.capacity), start=1):
        assert left <= cap + 1e-9, f"{problem.name}: constraint {j} uses {left:g} > capacity {cap:g}"
    assert float(problem.profit @ x) == pytest.approx(optimum, rel=1e-9), result.output


def test_files_read_as_declared():
    """The files hold what the README says: 7 + 30 problems, their sizes, their own optima."""
    sizes = [(len(p.profit), len(p.capacity)) for p, _ in BY_NAME.values()]
    assert sizes[:7] == [(6, 10), (10, 10), (15, 10), (20, 10), (28, 10), (39, 5), (50, 5)]
    assert sizes[7:] == [(100, 5)] * 30
    for problem, optimum in BY_NAME.values():
        assert problem.weights.shape == (len(problem.capacity), len(problem.profit))
        assert (problem.weights >= 0).all() and (problem.profit >= 0).all() and (problem.capacity >= 0).all()
        if problem.file_opt:
            assert problem.file_opt == optimum, f"{problem.name}: the file says {problem.file_opt:g}"


@pytest.mark.parametrize("problem, optimum", CASES)
def test_published_optimum(tmp_path, problem, optimum):
    # The explanation's re-solves are only run on the small mknap1 problems (they cost a solve each).
    options = ["--no-explain"] if problem.name.startswith("mknapcb1") else []
    assert_plans_optimum(tmp_path, problem, optimum, *options)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_both_solvers(tmp_path, solver):
    """One instance with fractional profits on both solver paths (highs is the default)."""
    problem, optimum = BY_NAME["mknap1-1"]
    assert_plans_optimum(tmp_path, problem, optimum, *(["--solver", "cbc"] if solver == "cbc" else []))
