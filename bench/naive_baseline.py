#!/usr/bin/env python3
"""The straightforward script a planner would write: the benchmark's baseline.

pandas.read_excel (openpyxl engine) for the sheets, one PuLP binary (or
integer, when max_posts > 1) per creator, ``lpSum`` over Python lists for
the budget, per-niche and per-tier shares and counts, one constraint per
creator for the per-creator cap, solved by the CBC that ships with PuLP
(``PULP_CBC_CMD(msg=False, gapRel=1e-4)``).

The rules mean what they mean in the planner: one post is worth
followers x engagement_rate x authenticity x niche weight; group shares are
fractions of total_budget; a creator's spend is at most
max_share_per_creator x total_budget; tiers are the Tiers sheet's follower
bands (lower bound inclusive); include = exclude / must. Rules this script
does not implement (repeat-post decay, package deals, platform rules, share
of planned spend, overall creator counts) make it stop with an error rather
than solve a different problem.

Usage::

    python bench/naive_baseline.py CAMPAIGN.xlsx [--json] [--time-limit S]

Prints the objective, the status, the CBC gap and the read / build / solve
seconds (one JSON object with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import sys
import tempfile
import threading
import time
import warnings

import pandas as pd
import pulp


def _unsupported(message: str) -> None:
    raise SystemExit(f"naive baseline: unsupported rule: {message}")


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class ChildPeak:
    """Measurement only: the largest VmHWM of this process's children (CBC), polled.

    ``RUSAGE_CHILDREN`` cannot be used for CBC: a child's ru_maxrss keeps the
    high-water mark of the Python process it was spawned from. VmHWM belongs
    to the address space CBC gets after exec, so it is CBC's own peak.
    Linux only; stays None elsewhere.
    """

    def __init__(self, interval=0.05):
        self.interval = interval
        self.peak_kb = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _poll(self):
        me = os.getpid()
        while not self._stop.is_set():
            try:
                children = open(f"/proc/{me}/task/{me}/children").read().split()
            except OSError:
                return
            for pid in children:
                try:
                    for line in open(f"/proc/{pid}/status"):
                        if line.startswith("VmHWM:"):
                            kb = int(line.split()[1])
                            self.peak_kb = max(self.peak_kb or 0, kb)
                except (OSError, ValueError):
                    pass
            self._stop.wait(self.interval)


def run(path: str, time_limit=None, gap: float = 1e-4) -> dict:
    times = {}

    # --- read -------------------------------------------------------------
    t = time.perf_counter()
    creators = pd.read_excel(path, sheet_name="Creators", engine="openpyxl")
    budget_sheet = pd.read_excel(path, sheet_name="Budget", engine="openpyxl")
    niches = pd.read_excel(path, sheet_name="Niches", engine="openpyxl")
    tiers = pd.read_excel(path, sheet_name="Tiers", engine="openpyxl")
    times["read"] = time.perf_counter() - t

    # --- build ------------------------------------------------------------
    t = time.perf_counter()
    settings = {str(k).strip(): v for k, v in zip(budget_sheet["setting"], budget_sheet["value"]) if not _blank(v)}
    total_budget = float(settings["total_budget"])
    cap_share = settings.get("max_share_per_creator")
    for key in ("min_creators", "max_creators"):
        if key in settings:
            _unsupported(key)
    if float(settings.get("repeat_post_decay", 1)) != 1:
        _unsupported("repeat_post_decay")
    if str(settings.get("share_basis", "budget")).strip().lower() != "budget":
        _unsupported("share_basis")
    if "min_posts" in creators and (creators["min_posts"].fillna(0) > 1).any():
        _unsupported("min_posts > 1 (package deals)")

    weight = {row.niche: (1.0 if _blank(row.weight) else float(row.weight)) for row in niches.itertuples()}

    def tier_of(followers):
        for row in tiers.itertuples():
            hi = math.inf if _blank(row.max_followers) else row.max_followers
            if row.min_followers <= followers < hi:
                return row.tier
        return None

    names = creators["creator"].tolist()
    niche = creators["niche"].tolist()
    tier = [tier_of(f) for f in creators["followers"]]
    cost = creators["cost_per_post"].tolist()
    value = (creators["followers"] * creators["engagement_rate"] * creators["authenticity"].fillna(1.0)).tolist()
    value = [v * weight.get(n, 1.0) for v, n in zip(value, niche)]
    max_posts = creators["max_posts"].fillna(1).astype(int).tolist() if "max_posts" in creators else [1] * len(names)
    include = (creators["include"].astype(object).fillna("").astype(str).str.strip().str.lower().tolist()
               if "include" in creators else [""] * len(names))

    if any(m > 1 for m in max_posts) and any(
        not _blank(getattr(r, "min_creators", None)) or not _blank(getattr(r, "max_creators", None))
        for rules in (niches, tiers) for r in rules.itertuples()
    ):
        _unsupported("creator counts with max_posts > 1")

    prob = pulp.LpProblem("campaign", pulp.LpMaximize)
    x = []
    for i in range(len(names)):
        up = 0 if include[i] == "exclude" else max_posts[i]
        low = 1 if include[i] == "must" else 0
        if up <= 1:
            x.append(pulp.LpVariable(f"x_{i}", lowBound=low, upBound=up, cat="Binary"))
        else:
            x.append(pulp.LpVariable(f"x_{i}", lowBound=low, upBound=up, cat="Integer"))
    prob += pulp.lpSum([value[i] * x[i] for i in range(len(x))])
    prob += pulp.lpSum([cost[i] * x[i] for i in range(len(x))]) <= total_budget, "budget"
    if not _blank(cap_share):
        for i in range(len(x)):
            prob += cost[i] * x[i] <= cap_share * total_budget, f"cap_{i}"
    for dim, rules, key in (("niche", niches, niche), ("tier", tiers, tier)):
        for row in rules.itertuples():
            group = getattr(row, dim)
            members = [i for i in range(len(x)) if key[i] == group]
            spend = pulp.lpSum([cost[i] * x[i] for i in members])
            if not _blank(getattr(row, "min_share", None)):
                prob += spend >= row.min_share * total_budget, f"{dim}_min_share_{group}"
            if not _blank(getattr(row, "max_share", None)):
                prob += spend <= row.max_share * total_budget, f"{dim}_max_share_{group}"
            booked = pulp.lpSum([x[i] for i in members])  # binaries: creators booked
            if not _blank(getattr(row, "min_creators", None)):
                prob += booked >= row.min_creators, f"{dim}_min_creators_{group}"
            if not _blank(getattr(row, "max_creators", None)):
                prob += booked <= row.max_creators, f"{dim}_max_creators_{group}"
    times["build"] = time.perf_counter() - t

    # --- solve ------------------------------------------------------------
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="naive-cbc-") as tmp:
        log = os.path.join(tmp, "cbc.log")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            solver = pulp.PULP_CBC_CMD(msg=False, gapRel=gap, timeLimit=time_limit, logPath=log)
        with ChildPeak() as cbc_memory:
            prob.solve(solver)
        text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
    times["solve"] = time.perf_counter() - t

    objective = sum(value[i] * (x[i].varValue or 0.0) for i in range(len(x)))
    spend = sum(cost[i] * (x[i].varValue or 0.0) for i in range(len(x)))
    gap_found = None
    match = re.search(r"Gap:\s+([0-9.eE+-]+)", text)
    if match:
        gap_found = float(match.group(1))
    elif "Result - Optimal solution found" in text:
        gap_found = 0.0
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "tool": "naive",
        "input": str(path),
        "creators": len(names),
        "status": pulp.LpStatus[prob.status],
        "solution_status": pulp.LpSolution.get(prob.sol_status, str(prob.sol_status)),
        "value": objective,
        "spend": spend,
        "booked": int(sum(1 for v in x if (v.varValue or 0) > 0.5)),
        "gap": gap_found,
        "solver": f"CBC (bundled with PuLP {pulp.__version__})",
        "timings": times,
        "peak_rss_mb": usage_self / 1024,
        "peak_rss_solver_mb": None if cbc_memory.peak_kb is None else cbc_memory.peak_kb / 1024,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Naive pandas + PuLP + CBC campaign plan (benchmark baseline).")
    parser.add_argument("input")
    parser.add_argument("--time-limit", type=float, help="CBC time limit in seconds")
    parser.add_argument("--gap", type=float, default=1e-4, help="relative gap (default 1e-4)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.input, args.time_limit, args.gap)
    if args.json:
        print(json.dumps(result))
    else:
        t = result["timings"]
        gap = "unknown" if result["gap"] is None else f"{result['gap']:.4%}"
        print(f"status:     {result['status']} ({result['solution_status']}), gap {gap}")
        print(f"objective:  {result['value']:,.0f}  spend ${result['spend']:,.0f}  booked {result['booked']}")
        print(f"times:      read {t['read']:.2f} s, build {t['build']:.2f} s, solve {t['solve']:.2f} s")
    return 0 if result["solution_status"] in ("Optimal Solution Found", "Solution Found") else 1


if __name__ == "__main__":
    sys.exit(main())
