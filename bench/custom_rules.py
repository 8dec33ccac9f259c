#!/usr/bin/env python3
"""How much three Custom rules cost on the scale path: ``planner plan`` with and without them.

The generated campaign of ``bench/generate.py`` (100,000 creators by default) is copied twice, both
written the way Excel saves a workbook (``generate.write_xlsx``), with two more Creators columns:
``audience_us`` (uniform 0.2-0.9) and ``agency`` (one of 50 agencies), drawn with seed 7. The second
copy also has a ``Custom rules`` sheet:

US audience      measure engagement, weight_column audience_us, min_share 60% (the roster's mean is 55%)
Agency 7 cap     measure creators, where ``agency = Agency 7``, max 20 (about 2,000 creators are its)
follower floor   measure followers, per creator, min 110% of the followers the greedy pick books (the
                 best weighted engagement per dollar first, within the budget and the per-creator cap)

Each copy is planned by ``planner plan IN -o OUT --no-explain`` in its own subprocess (wall seconds,
peak RSS from ``os.wait4``, as ``bench/harness.py`` measures). Measured, not asserted.

Usage::

    python bench/custom_rules.py                       # prints the table
    python bench/custom_rules.py --out bench/RESULTS.md --size 1048575
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from openpyxl import load_workbook

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from generate import NICHE_WEIGHTS, ensure_campaign, write_xlsx  # noqa: E402
from harness import PY, measure, replace_section  # noqa: E402

RULES_HEADER = ("rule", "measure", "per", "where", "weight_column", "min", "max", "min_share", "max_share")


def read_sheets(path: Path) -> dict:
    """``{sheet name: (header, columns)}`` of the generated workbook."""
    wb = load_workbook(path, read_only=True)
    sheets = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        header = tuple(rows[0])  # a row leaves out its blank cells past the last filled one: pad
        sheets[ws.title] = (header, [[row[j] if j < len(row) else None for row in rows[1:]]
                                     for j in range(len(header))])
    wb.close()
    return sheets


def follower_floor(creators: dict, budget: float, share: float) -> float:
    """110% of the followers booked by the greedy pick (best weighted engagement per dollar first)."""
    followers, cost = np.asarray(creators["followers"], float), np.asarray(creators["cost_per_post"], float)
    value = (followers * np.asarray(creators["engagement_rate"], float) * np.asarray(creators["authenticity"], float)
             * np.asarray([NICHE_WEIGHTS[n] for n in creators["niche"]]))
    order = np.argsort(-value / cost)
    order = order[cost[order] <= share * budget]
    taken = order[np.cumsum(cost[order]) <= budget]
    return float(round(1.1 * followers[taken].sum(), -3))


def write_copies(source: Path, folder: Path) -> tuple:
    """The plain and the ruled copy of the campaign, and the rule rows."""
    sheets = read_sheets(source)
    header, columns = sheets["Creators"]
    creators = dict(zip(header, columns))
    rng = np.random.default_rng(7)
    n = len(columns[0])
    sheets["Creators"] = (header + ("audience_us", "agency"),
                          columns + [np.round(rng.uniform(0.2, 0.9, n), 3),
                                     np.asarray([f"Agency {k}" for k in rng.integers(1, 51, n)], dtype=object)])
    settings = dict(zip(*sheets["Budget"][1]))
    floor = follower_floor(creators, settings["total_budget"], settings["max_share_per_creator"])
    rules = [("US audience", "engagement", None, None, "audience_us", None, None, 0.6, None),
             ("Agency 7 cap", "creators", None, "agency = Agency 7", None, None, 20, None, None),
             ("follower floor", "followers", "creator", None, None, floor, None, None, None)]
    plain, ruled = folder / "plain.xlsx", folder / "rules.xlsx"
    write_xlsx(sheets, plain)
    write_xlsx({**sheets, "Custom rules": (RULES_HEADER, [list(c) for c in zip(*rules)])}, ruled)
    return plain, ruled, rules


def run(path: Path, out: Path, timeout: float, log) -> dict:
    result = measure([PY, "-m", "planner.cli", "plan", str(path), "-o", str(out), "--no-explain"], timeout)
    status = re.search(r"status:\s*(.+)", result["stdout"])
    result["status"] = status.group(1).strip() if status else (
        "timed out" if result["timed_out"] else f"exit {result['returncode']}: "
        + (result["stderr"].strip().splitlines() or ["?"])[-1][:80])
    value = re.search(r"engagement:\s*([\d,.]+)", result["stdout"])
    result["engagement"] = value.group(1) if value else "–"
    log(f"{path.name}: {result['wall']:.1f} s, {result['peak_rss_mb']:,.0f} MB, {result['status']}")
    return result


def describe(rule: tuple) -> str:
    """One rule row in words: ``Agency 7 cap (creators, agency = Agency 7, max 20)``."""
    name, measure_, per, where, weight = rule[:5]
    parts = [measure_] + [f"per {per}"] * bool(per) + [where] * bool(where) + [f"weighted by {weight}"] * bool(weight)
    parts += [f"{k} {v:.0%}" if "share" in k else f"{k} {v:,.0f}"
              for k, v in zip(RULES_HEADER[5:], rule[5:]) if v is not None]
    return f"{name} ({', '.join(parts)})"


def section(n: int, rules: list, plain: dict, ruled: dict, load: tuple) -> str:
    lines = ["## Custom rules at scale", "",
             (f"`python bench/custom_rules.py --size {n}` on {os.cpu_count()} cores, load average "
              f"{load[0]:.1f} / {load[1]:.1f} at the end ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). "
              "`planner plan IN -o OUT --no-explain` in a subprocess; peak memory from `os.wait4`. "
              "Measured, not asserted."), "",
             "Rules: " + "; ".join(describe(r) for r in rules) + ".", "",
             "| creators | rules | wall s | peak MB | engagement | status |", "|---:|---:|---:|---:|---:|---|"]
    for count, r in ((0, plain), (len(rules), ruled)):
        lines.append(f"| {n:,} | {count} | {r['wall']:.1f} | {r['peak_rss_mb']:,.0f} | {r['engagement']} | "
                     f"{r['status']} |")
    lines += ["", (f"With the rules / without: {ruled['wall'] / plain['wall']:.2f}x wall time, "
                   f"{ruled['peak_rss_mb'] / plain['peak_rss_mb']:.2f}x peak memory."), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="creators (default 100,000)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per planner run, seconds (default 1800)")
    parser.add_argument("--out", type=Path, help="(re)write the custom-rules section of this Markdown file")
    args = parser.parse_args(argv)
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="bench-custom-rules-") as folder:
        folder = Path(folder)
        plain_in, ruled_in, rules = write_copies(ensure_campaign(args.size), folder)
        plain = run(plain_in, folder / "plain-plan.xlsx", args.timeout, log)
        ruled = run(ruled_in, folder / "rules-plan.xlsx", args.timeout, log)
    body = section(args.size, rules, plain, ruled, os.getloadavg())
    print(body)
    if args.out:
        replace_section(args.out, "custom-rules", body)
    return 0 if plain["returncode"] == ruled["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
