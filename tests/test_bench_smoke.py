"""CI smoke test of the benchmark harness: `bench/harness.py --quick` runs and both plans agree.

No timing assertions: only that the harness finishes, that the planner and the
naive baseline each report a plan value for the same 500-creator campaign,
and that the planner's plan is at least as good as the baseline's (both are
proven within 0.01 % of the same optimum).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

HARNESS = REPO / "bench" / "harness.py"
#: Both solvers stop within a relative gap of 1e-4 of the optimum.
TOLERANCE = 2e-4


def test_quick_benchmark_reports_both_plans(tmp_path):
    out_md = tmp_path / "RESULTS.md"
    out_json = tmp_path / "quick.json"
    result = subprocess.run(
        [sys.executable, str(HARNESS), "--quick", "--out", str(out_md), "--json-out", str(out_json),
         "--cache-dir", str(tmp_path / "cache"), "--timeout", "300"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(out_json.read_text(encoding="utf-8"))
    tools = {run["tool"]: run for run in summary["runs"]}
    assert set(tools) == {"planner", "naive"}
    planner, naive = tools["planner"], tools["naive"]
    assert planner["ok"] and naive["ok"]
    assert planner["value"] > 0 and naive["value"] > 0
    assert planner["value"] >= naive["value"] * (1 - TOLERANCE), (planner["value"], naive["value"])
    assert planner["status"] == "proven optimal"
    text = out_md.read_text(encoding="utf-8")
    assert "Quick check (500 creators)" in text
    assert "planner value:" in result.stdout and "baseline value:" in result.stdout
