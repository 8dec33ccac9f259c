"""The hard regime: campaigns of 400 to 5,000 creators with every rule, planner against plain solvers.

    python bench/hard_regime.py [--sizes 400,1000,2000,5000] [--limit 60] [--seed 11]

Each campaign is the typical sample's (``sample_inputs/typical_campaign.xlsx``: 8 niches with
minimum and maximum shares and creator counts, tier shares and counts, platform shares, up to
3 posts per creator with a 0.85 repeat-post decay, package deals, must-includes and excludes,
a 6 % per-creator cap, ``max_creators``) resampled to N creators: its roster drawn with
replacement (handles made unique), the budget and ``max_creators`` scaled by N / 2,000, every
other rule as written. Three solves of the same campaign, each in its own fresh process and
each stopped at ``--limit`` seconds:

- **planner**: ``make_plan`` (sifting LP, reduced-cost fixing, cores; HiGHS) at the 0.01 % gap;
- **plain HiGHS**: the same array program handed whole to HiGHS (``mip_rel_gap`` 1e-4);
- **plain CBC**: the same rules as the PuLP model (``models/program.py``) through PuLP's CBC.

Wall seconds of the solve alone (building excluded, the same for the two plain runs), the
status and the gap each proves. Prints a Markdown table; measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_inputs" / "typical_campaign.xlsx"

CHILD = r"""
import json, sys, time
from dataclasses import replace
import numpy as np
from planner.api import read_workbook

solver, n, seed, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
typical = read_workbook(sys.argv[5])
rng = np.random.default_rng(seed)
pick = rng.choice(len(typical.creators), n, replace=n > len(typical.creators))
creators = typical.creators.iloc[pick].reset_index(drop=True)
creators["creator"] = [f"{h}_{k}" for k, h in enumerate(creators["creator"])]
creators["row"] = np.arange(2, n + 2)
scale = n / len(typical.creators)
settings = replace(typical.settings, total_budget=round(typical.settings.total_budget * scale, -3),
                   max_creators=max(typical.settings.min_creators, round(typical.settings.max_creators * scale)))
campaign = replace(typical, creators=creators, settings=settings)
result = {"solver": solver, "n": n, "slots": None}
if solver == "planner":
    from planner.planning import make_plan
    started = time.perf_counter()
    plan = make_plan(campaign, time_limit=limit)
    seconds = time.perf_counter() - started
    outcome = plan.outcome
    result.update(seconds=seconds, status=outcome.status.value, value=outcome.objective, bound=outcome.bound)
elif solver == "highs":
    import highspy
    from models.matrix import build_matrix
    from planner.core import _highs, _pass
    program = build_matrix(campaign)
    highs = _highs()
    highs.setOptionValue("mip_rel_gap", 1e-4)
    highs.setOptionValue("time_limit", limit)
    _pass(highs, program, np.ones(program.columns, bool), np.zeros(program.columns), program.col_upper,
          program.row_lower, program.row_upper, integer=True, offset=0.0)
    started = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - started
    info = highs.getInfo()
    proven = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    result.update(seconds=seconds, status="proven optimal" if proven else "best found", slots=program.columns,
                  value=info.objective_function_value, bound=info.mip_dual_bound)
else:
    from models.program import build_program
    from planner.solve import solve
    program = build_program(campaign)
    started = time.perf_counter()
    outcome = solve(program.problem, "cbc", limit, 1e-4)
    seconds = time.perf_counter() - started
    result.update(seconds=seconds, status=outcome.status.value, value=outcome.objective, bound=outcome.bound)
print(json.dumps(result))
"""


def run(solver: str, n: int, seed: int, limit: float) -> dict:
    """One solve in a fresh process (HiGHS and CBC get the machine to themselves)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", CHILD, solver, str(n), str(seed), str(limit), str(SAMPLE)],
                          capture_output=True, text=True, env=env, timeout=limit * 4 + 120)
    if done.returncode != 0:
        return {"solver": solver, "n": n, "status": f"failed: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _gap(row: dict) -> str:
    value, bound = row.get("value"), row.get("bound")
    if value is None or bound is None or not value:
        return "–"
    return f"{max(0.0, bound - value) / abs(value):.3%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="400,1000,2000,5000")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per solve (default 60)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    print("| creators | post slots | planner s | planner status (gap) | plain HiGHS s | HiGHS status (gap) "
          "| plain CBC s | CBC status (gap) | planner value − HiGHS value |")
    print("|---:|---:|---:|---|---:|---|---:|---|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        rows = {solver: run(solver, n, args.seed, args.limit) for solver in ("planner", "highs", "cbc")}
        cells = []
        for solver in ("planner", "highs", "cbc"):
            row = rows[solver]
            seconds = f"{row['seconds']:.1f}" if "seconds" in row else "–"
            cells += [seconds, f"{row['status']} ({_gap(row)})"]
        difference = ("–" if rows["planner"].get("value") is None or rows["highs"].get("value") is None
                      else f"{rows['planner']['value'] - rows['highs']['value']:+,.0f}")
        print(f"| {n:,} | {rows['highs'].get('slots') or '–'} | " + " | ".join(cells) + f" | {difference} |",
              flush=True)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
