#!/usr/bin/env python3
"""How fast the risk figures and the risk-averse (CVaR) plan are, next to the direct formulations.

Cases, each in this process, timed with ``time.perf_counter`` (the machine's load is printed):

cvar          the risk-averse plan (``risk = cvar``, risk_samples 500, risk_level 10%) of a campaign
              with a 10th-90th percentile range per creator: the planner's outer approximation
              (:func:`planner.risk_plan.cvar_plan`) against the textbook Rockafellar-Uryasev program
              handed whole to HiGHS (one row and one column per sample, every slot in every sample
              row), the same samples, the same gap. Campaigns: the generated 2,000-creator bench
              campaign, and the typical sample (every rule at once), each with the time limit given.
range         P10 / P50 / P90 of a plan of the generated 1,048,575-creator campaign (10,000 draws):
              the planner's figures (:func:`models.risk.plan_risk`: the largest creators of a big niche
              drawn one by one, the rest by their conditional normal sum) against every booked creator
              drawn one by one.

Ranges are added to the campaigns here (the generated ones carry none): creator i's 10th and 90th
percentiles are its rate divided and multiplied by a factor from 1.2 to 2.5, wider for smaller
creators, drawn with seed 5.

Usage::

    python bench/risk.py                                   # both cases, prints the tables
    python bench/risk.py --out bench/RESULTS.md            # ... and (re)writes its section there
    python bench/risk.py --cases cvar --time-limit 120
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import highspy
import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from generate import ensure_campaign  # noqa: E402
from harness import replace_section  # noqa: E402

from models.matrix import build_matrix  # noqa: E402
from models.risk import figures, outcomes  # noqa: E402
from planner.api import read_workbook  # noqa: E402
from planner.core import run_highs  # noqa: E402
from planner.pipeline import make_plan  # noqa: E402
from planner.risk_plan import cvar_plan, multipliers, sampled_cvar  # noqa: E402

TYPICAL = BENCH.parent / "sample_inputs" / "typical_campaign.xlsx"


def with_ranges(campaign):
    """The campaign with a 10th-90th percentile range per creator (see the module's docstring)."""
    creators = campaign.creators.copy()
    rng = np.random.default_rng(5)
    followers = creators["followers"].to_numpy(float)
    small = 1.0 - (np.log10(np.maximum(followers, 1e3)) - 3.0) / 4.0  # 1 at 1K followers, 0 at 10M
    factor = 1.2 + 1.3 * np.clip(small * rng.uniform(0.6, 1.0, len(creators)), 0.0, 1.0)
    creators["engagement_rate_low"] = creators["engagement_rate"] / factor
    creators["engagement_rate_high"] = creators["engagement_rate"] * factor
    return replace(campaign, creators=creators, settings=replace(campaign.settings, risk="cvar"))


def textbook_cvar(campaign, time_limit: float) -> dict:
    """The Rockafellar-Uryasev program whole: max eta - sum u_s / (alpha S), u_s >= eta - V_s(x)."""
    settings = campaign.settings
    program = build_matrix(campaign, allow_zero=True)
    n, m, samples, level = program.columns, program.rows, settings.risk_samples, settings.risk_level
    sample = multipliers(campaign, samples, settings.random_seed)[:, program.creator] * program.objective
    started = time.perf_counter()
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", settings.mip_gap)
    inf = highspy.kHighsInf
    highs.addVars(n + 1 + samples, np.concatenate([np.zeros(n), [-inf], np.zeros(samples)]),
                  np.concatenate([program.col_upper, [inf], np.full(samples, inf)]).astype(float))
    highs.changeColsCost(n + 1 + samples, np.arange(n + 1 + samples, dtype=np.int32),
                         np.concatenate([np.zeros(n), [1.0], np.full(samples, -1.0 / (level * samples))]))
    highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
    counts = np.diff(program.start)
    rows = np.repeat(np.arange(n), counts)  # transpose the CSC program into rows
    order = np.lexsort((rows, program.index))
    row_start = np.concatenate([[0], np.cumsum(np.bincount(program.index, minlength=m))]).astype(np.int32)
    highs.addRows(m, program.row_lower.astype(float), program.row_upper.astype(float), len(order), row_start[:-1],
                  rows[order].astype(np.int32), program.value[order].astype(float))
    columns = np.arange(n, dtype=np.int32)
    for s in range(samples):  # u_s - eta + V_s(x) >= 0
        index = np.concatenate([columns, [n, n + 1 + s]]).astype(np.int32)
        highs.addRow(0.0, inf, len(index), index, np.concatenate([sample[s], [-1.0, 1.0]]))
    highs.changeColsIntegrality(n, columns, np.ones(n, np.int32))
    run_highs(highs, started + time_limit)
    info = highs.getInfo()
    seconds = time.perf_counter() - started
    if info.primal_solution_status != 2:
        return {"seconds": seconds, "value": math.nan, "bound": info.mip_dual_bound, "status": "no plan"}
    x = np.round(np.asarray(highs.getSolution().col_value[:n]))
    value = sampled_cvar(sample @ x, level)
    bound = info.mip_dual_bound
    return {"seconds": seconds, "value": value, "bound": bound, "gap": (bound - value) / value,
            "status": "proven" if (bound - value) / value <= settings.mip_gap else "stopped"}


def cvar_case(name: str, path: Path, time_limit: float, log) -> dict:
    campaign = with_ranges(read_workbook(path))
    neutral = make_plan(campaign)
    started = time.perf_counter()
    posts, outcome = cvar_plan(campaign, time_limit, fallback=neutral.posts)
    seconds = time.perf_counter() - started
    log(f"{name}: planner {seconds:.1f} s, {outcome.status.value}, gap {outcome.gap:.4%}")
    textbook = textbook_cvar(campaign, time_limit)
    log(f"{name}: textbook {textbook['seconds']:.1f} s, {textbook['status']}")
    return {"name": name, "creators": len(campaign.creators),
            "slots": int(build_matrix(campaign, allow_zero=True).columns),
            "samples": campaign.settings.risk_samples, "seconds": seconds, "value": outcome.objective,
            "bound": outcome.bound, "gap": outcome.gap, "status": outcome.status.value, "textbook": textbook,
            "limit": time_limit}


def range_case(n: int, log) -> dict:
    path = ensure_campaign(n)
    campaign = with_ranges(read_workbook(path))
    campaign = replace(campaign, settings=replace(campaign.settings, risk="neutral"))
    plan = make_plan(campaign)
    booked = int((plan.posts > 0).sum())
    level = campaign.settings.risk_level
    started = time.perf_counter()
    fast = figures(outcomes(campaign, plan.posts), level, campaign.settings.random_seed)
    seconds = time.perf_counter() - started
    log(f"range: planner {seconds:.1f} s for {booked:,} booked creators")
    started = time.perf_counter()
    exact = figures(outcomes(campaign, plan.posts, exact_creators=n), level, campaign.settings.random_seed)
    exact_seconds = time.perf_counter() - started
    log(f"range: one by one {exact_seconds:.1f} s")
    return {"creators": n, "booked": booked, "seconds": seconds, "fast": fast, "exact_seconds": exact_seconds,
            "exact": exact}


def section(cvar: list, ranges: list, load: tuple) -> str:
    lines = ["## Risk: the CVaR plan and the range of a plan", "",
             f"`python bench/risk.py` on {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} at the end "
             f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). Measured, not asserted.", ""]
    if cvar:
        lines += ["The risk-averse plan (500 samples, CVaR of the worst 10%, gap 0.01%): "
                  "the planner's outer approximation "
                  "against the whole Rockafellar-Uryasev program in HiGHS, the same samples and time limit.", "",
                  "| campaign | creators | slots | planner s | planner status (gap) | planner CVaR | textbook s | "
                  "textbook status (gap) | textbook CVaR |", "|---|---:|---:|---:|---|---:|---:|---|---:|"]
        for r in cvar:
            t = r["textbook"]
            tgap = f"{t['gap']:.3%}" if "gap" in t else "–"
            lines.append(f"| {r['name']} | {r['creators']:,} | {r['slots']:,} | {r['seconds']:.1f} | {r['status']} "
                         f"({r['gap']:.4%}) | {r['value']:,.0f} | {t['seconds']:.1f} | {t['status']} ({tgap}) | "
                         f"{t['value']:,.0f} |")
        lines.append("")
    if ranges:
        lines += ["P10 / P50 / P90 of the plan over 10,000 draws: the planner's figures (a niche above 2,000 booked "
                  "creators draws its 500 largest one by one and the rest as their conditional normal sum) against "
                  "every booked creator drawn one by one.", "",
                  "| creators | booked | planner s | P10 / P50 / P90 | one by one s | P10 / P50 / P90 |",
                  "|---:|---:|---:|---|---:|---|"]
        for r in ranges:
            f, e = r["fast"], r["exact"]
            lines.append(f"| {r['creators']:,} | {r['booked']:,} | {r['seconds']:.2f} | {f.p10:,.0f} / {f.p50:,.0f} / "
                         f"{f.p90:,.0f} | {r['exact_seconds']:.1f} | {e.p10:,.0f} / {e.p50:,.0f} / {e.p90:,.0f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="cvar,range")
    parser.add_argument("--time-limit", type=float, default=60.0, help="per CVaR solve (default 60 s)")
    parser.add_argument("--size", type=int, default=1_048_575, help="creators of the range case")
    parser.add_argument("--out", type=Path, help="(re)write the risk section of this Markdown file")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    cvar = []
    if "cvar" in cases:
        cvar.append(cvar_case("generated, 2,000 creators", ensure_campaign(2000), args.time_limit, log))
        cvar.append(cvar_case("typical sample", TYPICAL, args.time_limit, log))
    ranges = [range_case(args.size, log)] if "range" in cases else []
    body = section(cvar, ranges, os.getloadavg())
    print(body)
    if args.out:
        replace_section(args.out, "risk", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
