#!/usr/bin/env python3
"""Run the planner library on one workbook, stage by stage, and print JSON.

The harness runs this in its own subprocess, so the peak memory it measures
is the planner's alone. Stages:

read      planner.workbook.read_input
validate  planner.validate.validate
build, solve, check
          planner.pipeline.make_plan (its own ``timings``); ``plan_other``
          is the rest of make_plan (the pre-check of the rules)
explain   (``--explain``, when the planner has it) planner.pipeline.explain_plan:
          the re-solves ``planner plan`` runs by default to price binding rules
write     planner.pipeline.run_info + planner.report.build_workbook +
          planner.report.save_atomically

Wall seconds (``timings``), CPU seconds of this process and its threads
(``cpu``) and the peak resident memory after each stage (``rss_after_mb``)
are reported.

Usage::

    python bench/run_planner.py CAMPAIGN.xlsx OUT.xlsx [--solver highs] [--gap G] [--time-limit S]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _mark_substages(pipeline, progress) -> None:
    """Log when make_plan enters and leaves building and solving (stderr only).

    Wraps the names make_plan looks up in planner.pipeline, in this process
    only, so a run killed by the harness's timeout still says which step it
    was in. The planner's code is not changed; results are unaffected.
    """
    for name, label in (("precheck", "precheck"), ("build_campaign_program", "build"), ("solve_campaign", "solve")):
        original = getattr(pipeline, name, None)
        if original is None:
            continue

        def wrapped(*args, __original=original, __label=label, **kwargs):
            print(f"enter {__label} at {time.perf_counter():.3f}", file=sys.stderr, flush=True)
            started = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                progress(f"{__label}_done", time.perf_counter() - started, _rss_mb())

        setattr(pipeline, name, wrapped)


def run(input_path, output_path, solver=None, gap=None, time_limit=None, explain=False) -> dict:
    timings, cpu, rss = {}, {}, {}

    def stage(name, started, cpu_started):
        timings[name] = time.perf_counter() - started
        cpu[name] = time.process_time() - cpu_started
        rss[name] = _rss_mb()
        progress(name, timings[name], rss[name])

    def progress(name, seconds, mb):
        # One line per finished stage on stderr, so a run killed by the harness's timeout
        # still shows how far it got.
        print(f"stage {name} {seconds:.3f} s, peak {mb:.0f} MB", file=sys.stderr, flush=True)

    t, c = time.perf_counter(), time.process_time()
    from planner import pipeline
    from planner.pipeline import make_plan, run_info
    from planner.report import build_workbook, save_atomically
    from planner.validate import validate
    from planner.workbook import read_input
    stage("import", t, c)

    t, c = time.perf_counter(), time.process_time()
    raw = read_input(input_path)
    stage("read", t, c)

    t, c = time.perf_counter(), time.process_time()
    overrides = {"solver": solver, "time_limit_seconds": time_limit, "mip_gap": gap}
    campaign, validation = validate(raw, overrides=overrides)
    del raw
    stage("validate", t, c)

    _mark_substages(pipeline, progress)
    t, c = time.perf_counter(), time.process_time()
    plan = make_plan(campaign)
    plan_wall, plan_cpu = time.perf_counter() - t, time.process_time() - c
    for name in ("build", "solve", "check"):
        timings[name] = plan.timings.get(name)
    timings["plan_other"] = plan_wall - sum(v for v in plan.timings.values() if v)
    cpu["make_plan"] = plan_cpu
    rss["make_plan"] = _rss_mb()
    progress("make_plan", plan_wall, rss["make_plan"])

    explain_plan = getattr(pipeline, "explain_plan", None)
    if explain and explain_plan is not None:
        t, c = time.perf_counter(), time.process_time()
        plan.explanation = explain_plan(campaign, plan)
        stage("explain", t, c)

    t, c = time.perf_counter(), time.process_time()
    warnings = validation.warnings + plan.warnings
    stage_timings = {"read and validate": timings["read"] + timings["validate"], **plan.timings}
    if "explain" in timings:
        stage_timings["explain"] = timings["explain"]
    info = run_info(input_path, campaign, validation, warnings, stage_timings)
    workbook = build_workbook(campaign, plan, info)
    save_atomically(workbook, output_path)
    stage("write", t, c)

    outcome = plan.outcome
    return {
        "tool": "planner",
        "input": str(input_path),
        "creators": int(len(campaign.creators)),
        "status": outcome.status.value,
        "describe": outcome.describe(),
        "value": float(plan.engagement),
        "spend": float(plan.spend),
        "booked": int(plan.creators_booked),
        "gap": outcome.gap,
        "bound": outcome.bound,
        "solver": outcome.solver,
        "rule_of_thumb_value": plan.baseline_engagement,
        "timings": timings,
        "cpu": cpu,
        "rss_after_mb": rss,
        "peak_rss_mb": _rss_mb(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Planner library run with per-stage timings (JSON on stdout).")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--solver", choices=("highs", "cbc"))
    parser.add_argument("--gap", type=float)
    parser.add_argument("--time-limit", type=float)
    parser.add_argument("--explain", action="store_true",
                        help="also time planner.pipeline.explain_plan (as `planner plan` does)")
    args = parser.parse_args(argv)
    from planner.errors import PlannerError

    try:
        result = run(args.input, args.output, args.solver, args.gap, args.time_limit, args.explain)
    except PlannerError as exc:
        print(json.dumps({"tool": "planner", "error": " | ".join(exc.messages()), "exit_code": exc.exit_code}))
        return exc.exit_code
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
