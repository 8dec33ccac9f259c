"""The jobs: read and validate a workbook, plan it (:mod:`planner.planning`), explain the plan
and write the report; and the scenario jobs of sweep and compare.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import importlib.metadata
import platform
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Optional

import numpy as np

from models.campaign import Campaign
from models.plan import Plan
from models.matrix import EmptyProgramError
from models.risk import plan_risk
from planner.explain import rule_costs, unspent_reason, why_not
from planner.errors import (
    InfeasibleError,
    InputError,
    OutputError,
    Problem,
)
from planner.money import money, set_currency
from planner.planning import make_plan
from planner.report import (
    CLIENT_SHEETS,
    build_diagnosis_workbook,
    build_workbook,
    check_output_path,
    save_atomically,
    save_client_copy,
)
from planner.risk_plan import risk_averse
from planner.scenario_report import SCENARIO_CLIENT_SHEETS, build_scenarios_workbook
from planner.scenarios import BUILTIN_MIXES, Scenario, apply_scenario, mix_scenarios, run_scenarios
from planner.solve import build_for_solver
from planner.validate import read_scenarios, validate
from planner.words import set_objective
from planner.workbook import read_input


def load_campaign(input_path, budget=None, solver=None, time_limit=None, gap=None, raw=None, decimal_separator=None,
                  objective=None):
    """Read and validate an input file.

    Parameters
    ----------
    input_path : str or Path
    budget, solver, time_limit, gap, decimal_separator, objective : optional
        Command-line values that override the Budget sheet.

    Returns
    -------
    (Campaign, Validation, float)
        The campaign, the validation report and the read+validate seconds.

    Raises
    ------
    InputError
    """
    started = time.perf_counter()
    raw = raw if raw is not None else read_input(input_path)
    overrides = _overrides(solver, time_limit, gap, decimal_separator, objective)
    campaign, validation = validate(raw, budget_override=budget, overrides=overrides)
    set_currency(campaign.settings.currency)  # every amount this run writes is in the campaign's currency
    set_objective(campaign.settings.objective)
    return campaign, validation, time.perf_counter() - started


def _overrides(solver, time_limit, gap, decimal_separator, objective=None) -> dict:
    """Command-line values that replace the Budget sheet's settings (None: keep the sheet's)."""
    return {"solver": solver, "time_limit_seconds": time_limit, "mip_gap": gap, "decimal_separator": decimal_separator,
            "objective": objective}


def plan_to_workbook(input_path, output_path, budget=None, solver=None, time_limit=None, gap=None, target=None,
                     explain=True, raw=None, started=None, decimal_separator=None, client_copy=None, risk=None,
                     objective=None):
    """Read, validate, plan, check and write the report: the ``planner plan`` job.

    Parameters
    ----------
    input_path, output_path : str or Path
    budget, solver, time_limit, gap : optional
        Command-line overrides of the Budget sheet.
    target : float, optional
        Find the smallest spend reaching this weighted expected engagement.
    explain : bool
        Also re-solve to price each binding rule and say why top creators were left out.
    raw : RawWorkbook, optional
        The input already read (the CLI reads first, to refuse bad files fast).
    started : float, optional
        ``time.perf_counter()`` when the command started: a time limit counts from there
        (default: now).
    decimal_separator : str, optional
        ``","`` for a decimal comma (``--decimal-comma``), ``"."``; default: the Budget
        sheet's setting, else each column's own evidence.
    client_copy : str or Path, optional
        Also write the client sheets alone (Summary, Allocation, By niche / tier / platform) here.

    Returns
    -------
    (Campaign, Plan)

    Raises
    ------
    PlannerError
        Bad input, rules that cannot all hold, no plan in time; nothing is written.
    """
    started = time.perf_counter() if started is None else started
    output_path = check_output_path(output_path, input_path)
    client_copy = _client_copy_path(client_copy, output_path, input_path)
    with concurrent.futures.ThreadPoolExecutor(1) as hashing:
        # The input's hash (for Run info) is read while the plan is made: hashlib releases the GIL.
        digest = hashing.submit(file_sha256, input_path)
        campaign, validation, read_seconds = load_campaign(input_path, budget, solver, time_limit, gap, raw,
                                                           decimal_separator, objective)
        if risk is not None:
            campaign = campaign.with_settings(risk=risk)
            validation.sources["risk"] = "command line"
        if target is not None:
            campaign = apply_scenario(campaign, Scenario("target", target_engagement=target))
            validation.sources["target_engagement"] = "command line"
            validation.sources["share_basis"] = "target mode (shares of planned spend)"
        # time_limit_seconds bounds the whole command: the solve gets what reading left, less
        # the time the report takes to write; explanations get what the solve left.
        limit = campaign.settings.time_limit_seconds
        deadline = None if limit is None else started + limit - _write_reserve(campaign)
        try:
            plan = make_plan(campaign,
                             time_limit=None if deadline is None else max(deadline - time.perf_counter(), 0.1))
        except InfeasibleError as exc:
            info = run_info(input_path, campaign, validation, validation.warnings, {"read and validate": read_seconds},
                            digest.result())
            save_atomically(build_diagnosis_workbook(campaign, exc.explanation, exc.suggestions, info), output_path)
            exc.written = output_path
            raise
        plan.warnings = validation.warnings + plan.warnings
        plan.timings = {"read and validate": read_seconds, **plan.timings}
        risk_started = time.perf_counter()
        if campaign.settings.risk == "cvar":
            # The best-mean plan in hand, the plan that does best in the worst outcomes is found and
            # both are measured on the same fresh draws.
            neutral = plan
            plan = risk_averse(campaign, neutral,
                               None if deadline is None else max(deadline - time.perf_counter(), 0.1))
            plan.warnings, plan.timings = (neutral.warnings + plan.warnings,
                                           {**neutral.timings, "risk-averse": plan.timings["solve"]})
            if not np.array_equal(plan.posts, neutral.posts):
                explain = False  # rule costs are priced for the mean; the risk-averse objective is not
                plan.warnings.append("risk = cvar: rule costs and left-out creators are not explained for the "
                                     "risk-averse plan (they are priced for the mean)")
        else:
            neutral = plan
            plan.risk = plan_risk(campaign, plan.posts)
        plan.timings["risk"] = time.perf_counter() - risk_started
        if explain:
            explain_started = time.perf_counter()
            plan.explanation = explain_plan(campaign, neutral, deadline)  # the best-mean plan's solve
            plan.timings["explain"] = time.perf_counter() - explain_started
            if plan.explanation is None:
                plan.warnings.append(f"explanations skipped: the time limit ({limit:g} s) left no time for them; "
                                     "raise time_limit_seconds to have each binding rule priced")
        info = run_info(input_path, campaign, validation, plan.warnings, plan.timings, digest.result())
    started = time.perf_counter()
    workbook = build_workbook(campaign, plan, info)
    save_atomically(workbook, output_path)
    if client_copy is not None:
        save_client_copy(workbook, client_copy, CLIENT_SHEETS + ("Risk",))
    plan.timings["write"] = time.perf_counter() - started
    return campaign, plan


def _client_copy_path(client_copy, output_path, input_path):
    """The client copy's path, checked like the report's and never the report itself (None: no copy)."""
    if client_copy is None:
        return None
    client_copy = check_output_path(client_copy, input_path)
    if client_copy.resolve() == output_path.resolve():
        raise OutputError(Problem(str(client_copy),
                                  "the client copy would replace the full report; give it its own name"))
    return client_copy


def scenarios_to_workbook(input_path, output_path, make_scenarios, title, budget=None, solver=None,
                          time_limit=None, gap=None, workers=None, progress=None, raw=None, decimal_separator=None,
                          client_copy=None, objective=None):
    """Read, validate, run several scenarios and write the comparison workbook.

    Parameters
    ----------
    input_path, output_path : str or Path
    make_scenarios : callable
        ``make_scenarios(campaign, raw) -> (scenarios, frontier_points)``: the
        scenarios compared, and extra budgets drawn only on the frontier.
    title : str
        Heading of the Summary sheet.
    budget, solver, time_limit, gap, decimal_separator : optional
        Command-line overrides.
    workers : int, optional
        Processes to run scenarios in.
    progress : callable, optional
        Called with each finished scenario.
    client_copy : str or Path, optional
        Also write the client sheets alone (Summary, Scenarios, Frontier, Tier mix, Niche mix) here.

    Returns
    -------
    list of ScenarioResult
    """
    output_path = check_output_path(output_path, input_path)
    client_copy = _client_copy_path(client_copy, output_path, input_path)
    started = time.perf_counter()
    raw = raw if raw is not None else read_input(input_path)
    campaign, validation = validate(raw, budget_override=budget,
                                    overrides=_overrides(solver, time_limit, gap, decimal_separator, objective))
    set_currency(campaign.settings.currency)
    set_objective(campaign.settings.objective)
    scenarios, frontier_points = make_scenarios(campaign, raw)
    timings = {"read and validate": time.perf_counter() - started}
    started = time.perf_counter()
    everything = run_scenarios(campaign, list(scenarios) + list(frontier_points), workers=workers, progress=progress)
    results = everything[: len(scenarios)]
    timings["scenarios"] = time.perf_counter() - started
    warnings = list(validation.warnings)
    for result in results:
        if result.plan is not None and result.plan.warnings:
            warnings += [f"{result.scenario.name}: {w}" for w in result.plan.warnings]
    info = run_info(input_path, campaign, validation, warnings, timings)
    workbook = build_scenarios_workbook(results, info, title, frontier_results=everything)
    save_atomically(workbook, output_path)
    if client_copy is not None:
        save_client_copy(workbook, client_copy, SCENARIO_CLIENT_SHEETS)
    return results


def run_info(input_path, campaign, validation, warnings, timings, sha256=None) -> dict:
    """Provenance for the Run info sheet (``sha256``: the input's, when already computed)."""
    settings = campaign.settings
    return {
        "input": Path(input_path).name,  # the file's name, never this machine's folders
        "sha256": sha256 if sha256 is not None else file_sha256(input_path),
        "written_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": [(f.name, getattr(settings, f.name), validation.sources.get(f.name, "default"))
                     for f in fields(settings)],
        "versions": versions(),
        "warnings": warnings,
        "timings": timings,
    }


#: Seconds the shortest useful explanation re-solve needs; with less left, explanations are skipped.
MIN_EXPLAIN_SECONDS = 0.5


def _write_reserve(campaign: Campaign) -> float:
    """Seconds kept back from a time limit for checking and writing the report."""
    return 0.3 + 2e-5 * len(campaign.creators)


def explain_plan(campaign: Campaign, plan: Plan, deadline=None) -> Optional[dict]:
    """Rule costs, the marginal value of budget, why top creators were left out, unspent budget.

    ``deadline`` (a ``time.perf_counter()`` value) is when the explanations must be done; None
    is returned when there is no time left for them.
    """
    settings = campaign.settings
    if settings.target_engagement is not None or plan.empty_reason is not None:
        # An empty plan is explained by its reason (Summary) and the creators left out (Why not).
        return {"why_not": why_not(campaign, plan, None), "unspent": None, "costs": None}
    # Each re-solve starts from the plan and may take about as long as the plan did (3-10 s); one
    # stopped early still gives an honest gain interval from its proven bound.
    limit = max(3.0, min(10.0, plan.timings.get("solve", 3.0)))
    # Spawning solver processes costs seconds: only worth it when solves are slow.
    # Large campaigns re-solve in this process: each worker would be sent the whole campaign.
    workers = None if plan.timings.get("solve", 0.0) > 2.0 and len(campaign.creators) <= 100_000 else 1
    if deadline is not None:
        # Under a time limit the re-solves run one after another in this process, sharing what is left.
        resolves = 2 + int(plan.rules["binding"].sum())
        left = deadline - time.perf_counter()
        limit, workers = min(limit, left / resolves), 1
        if limit < MIN_EXPLAIN_SECONDS:
            return None
    costs = rule_costs(campaign, plan, settings.solver, time_limit=limit, workers=workers)
    per_dollar = costs["budget_marginal"] / 1000.0 if costs["budget_marginal"] is not None else None
    return {"costs": costs, "why_not": why_not(campaign, plan, per_dollar), "unspent": unspent_reason(campaign, plan)}


def file_sha256(path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def versions() -> dict:
    """Versions of the planner, Python and the libraries that shaped the result."""
    found = {"planner": _version("campaign-planner"), "python": platform.python_version()}
    for package in ("pulp", "highspy", "pandas", "numpy", "openpyxl", "python-calamine"):
        found[package] = _version(package)
    return found


def _version(package: str) -> str:
    """Installed version of a package, or 'not installed'."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def compare_scenarios(campaign, raw, mixes, mix_share, target, frontier_points):
    """The scenarios `compare` runs, and the extra budgets drawn on its frontier.

    ``raw`` is the input as read (its Scenarios sheet is compared too); None when there is none.
    """
    sheet = read_scenarios(raw, campaign) if raw is not None else []
    by_name = {s.name.casefold(): s for s in sheet}
    if mixes:
        chosen = []
        for name in mixes:
            key = name.casefold()
            if key in by_name:
                chosen.append(by_name[key])
            elif key in BUILTIN_MIXES:
                chosen += mix_scenarios([key], mix_share=mix_share)
            else:
                known = ", ".join(list(BUILTIN_MIXES) + [s.name for s in sheet])
                raise InputError(Problem("Scenarios", f"no scenario or mix named {name!r}; choose from {known}"))
    else:
        chosen = mix_scenarios(list(BUILTIN_MIXES), mix_share=mix_share) + sheet
    if target is not None:
        chosen = [replace(s, target_engagement=target) for s in chosen]
    extra = []
    if target is None and frontier_points > 1:
        factors = np.linspace(0.5, 1.5, frontier_points)
        for scenario in chosen:
            budget = scenario.budget or campaign.settings.total_budget
            for factor in factors:
                if abs(factor - 1.0) > 1e-9:
                    extra.append(replace(
                        scenario, name=f"{scenario.name} @ {money(budget * factor, 0)}", budget=budget * factor,
                        line=scenario.series,
                    ))
    return chosen, extra


def export_model(input_path, output_path, budget=None, raw=None, decimal_separator=None):
    """Write the campaign's PuLP program as .lp or .mps; returns (path, variables, constraints).

    Raises
    ------
    PlannerError
        Bad input, or an output that is neither .lp nor .mps or cannot be written.
    """
    output_path = Path(output_path)
    suffix = output_path.suffix.lower()
    if suffix not in (".lp", ".mps"):
        raise OutputError(Problem(str(output_path), "the model file must end in .lp or .mps"))
    if not output_path.parent.is_dir():
        raise OutputError(Problem(str(output_path), f"the folder {output_path.parent} does not exist"))
    campaign, _, _ = load_campaign(input_path, budget, raw=raw, decimal_separator=decimal_separator)
    try:
        program = build_for_solver(campaign, "cbc", allow_zero=True)
    except EmptyProgramError as exc:
        raise InputError(Problem(str(input_path), f"there is nothing to model: {exc}")) from None
    problem = program.problem
    try:
        if suffix == ".lp":
            problem.writeLP(str(output_path))
        else:
            problem.writeMPS(str(output_path))
    except OSError as exc:
        raise OutputError(Problem(str(output_path), f"could not be written ({exc.strerror or exc})")) from None
    return output_path, problem.numVariables(), problem.numConstraints()
