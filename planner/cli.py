"""The ``planner`` command: parse options, call the library, map errors to exit codes.

Exit codes: 0 plan written; 1 bad input (nothing written); 2 usage;
3 rules cannot all hold; 4 no plan found within the time limit.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

import click

import planner
from planner.diagnose import explain_infeasible, precheck
from planner.errors import InfeasibleError, OutputError, PlannerError, Problem
from planner.money import money
from planner.numbers import parse_numbers
from planner.pipeline import compare_scenarios, load_campaign, plan_to_workbook, scenarios_to_workbook
from planner.pipeline import export_model as write_model
from planner.processes import SOLVER_CHOICES, ignore_interrupts, kill_child_processes, solver_name
from planner.scenario_report import not_proven_line
from planner.scenarios import BUILTIN_MIXES, parse_budgets, sweep_scenarios
from planner.template import write_template
from planner.validate import read_scenarios
from planner.words import in_objective
from planner.workbook import read_input

#: When the console script started (a time limit bounds the whole command, imports included);
#: None when the CLI is called in-process, where each command counts from its own start.
STARTED = None


class MoneyType(click.ParamType):
    """A dollar amount written the way planners write it: 50000, 50k, $50,000."""

    name = "amount"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        parsed = parse_numbers([value])
        if parsed.blank[0] or parsed.bad[0] or parsed.percent[0] or parsed.values[0] <= 0:
            self.fail(f"{value!r} is not a positive amount of money (e.g. 50000, 50k or $50,000)", param, ctx)
        return float(parsed.values[0])


class SolverType(click.ParamType):
    """highs, cbc, or pulp:NAME (any solver PuLP drives, e.g. a commercial one installed here)."""

    name = "solver"

    def convert(self, value, param, ctx):
        name = solver_name(value)
        if name is None:
            self.fail(f"{value!r}; choose {SOLVER_CHOICES}", param, ctx)
        return name


def _handle_errors(command):
    """Turn our errors into clean messages and exit codes; tracebacks only with --debug."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = ctx.find_root().params.get("debug", False)
        try:
            return command(*args, **kwargs)
        except PlannerError as exc:
            if debug:
                traceback.print_exc()
            for line in exc.messages():
                click.echo(f"Error: {line}" if not line.startswith("  ") else line, err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            # The reader of our output went away (`planner plan ... | head -2`): the work is done; end quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)
        except KeyboardInterrupt as exc:
            if STARTED is not None:  # the console script, now stopping: a second Ctrl-C must not cut that short
                ignore_interrupts()
            kill_child_processes()  # workers and every solver, recursively
            click.echo("Interrupted; nothing was written.", err=True)
            ctx.exit(143 if isinstance(exc, Terminated) else 130)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # a defect: say so plainly, keep the traceback for --debug
            if debug:
                raise
            click.echo(f"Error: internal error ({type(exc).__name__}: {exc}); run with --debug for details", err=True)
            ctx.exit(70)

    return wrapper


#: ``--decimal-comma``: numbers typed as text use a decimal comma; passed on as ``decimal_separator``.
_client_copy = click.option("--client-copy", "client_copy", type=click.Path(dir_okay=False),
                            help="Also write the client sheets alone to this .xlsx (no rule ids, solver or bound).")
_decimal_comma = click.option("--decimal-comma", "decimal_separator", flag_value=",", default=None,
                              help="Numbers typed as text use a decimal comma (1.200,50; 3,5%).")
#: ``--objective``: what one post is worth; overrides the Budget sheet's ``objective``.
_objective = click.option("--objective", "objective", metavar="NAME",
                          help="What to maximise: engagement (default), reach, conversions, "
                               "or a numeric Creators column.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="campaign-planner")
def cli(debug):
    """Plan influencer campaigns: the most engagement for the budget, under every rule."""


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=True))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(),
              help="Report workbook to write (.xlsx).")
@click.option("--solver", type=SolverType(),
              help="MIP solver: highs (default), cbc, or pulp:NAME for any solver PuLP drives.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Solver time limit in seconds.")
@click.option("--gap", type=click.FloatRange(min=0, max=1),
              help="Relative optimality gap to prove (default 0.0001 = 0.01%).")
@click.option("--budget", type=MoneyType(), help="Total budget; overrides the Budget sheet (required for CSV input).")
@click.option("--target-engagement", type=MoneyType(),
              help="Find the smallest spend that reaches this weighted expected engagement.")
@click.option("--explain/--no-explain", default=True, show_default=True,
              help="Re-solve to price each binding rule and say why top creators were left out.")
@click.option("--risk", type=click.Choice(["neutral", "cvar"], case_sensitive=False),
              help="neutral: the best mean (default); cvar: the best mean of the worst risk_level share of outcomes.")
@_decimal_comma
@_objective
@_client_copy
@_handle_errors
def plan(input_path, output_path, solver, time_limit, gap, budget, target_engagement, explain, risk, decimal_separator,
         objective, client_copy):
    """Compute the best plan for INPUT and write the client report to OUTPUT.

    Example:

        planner plan sample_inputs/small_campaign.xlsx -o plan.xlsx
    """
    started = STARTED if STARTED is not None else time.perf_counter()
    raw = _read(input_path)
    _, result = plan_to_workbook(
        input_path, output_path, budget, solver, time_limit, gap, target_engagement, explain, raw,
        started=started, decimal_separator=decimal_separator, client_copy=client_copy, risk=risk and risk.lower(),
        objective=objective,
    )
    click.echo(f"Plan written to {output_path}" + (f" (client copy: {client_copy})" if client_copy else ""))
    click.echo(f"  status:      {result.outcome.describe()}")
    click.echo(f"  spend:       {money(result.spend)}")
    click.echo(f"  {in_objective('engagement') + ':':<13}{result.engagement:,.0f} expected (weighted)")
    click.echo(f"  creators:    {result.creators_booked} booked, {int(result.posts.sum())} posts")
    if result.empty_reason:
        click.echo(f"  nothing booked: {result.empty_reason}")
    if result.risk is not None:
        click.echo(f"  range:       8 in 10 campaigns land between {result.risk.p10:,.0f} and {result.risk.p90:,.0f}")
    if result.baseline_engagement:
        lift = (result.engagement - result.baseline_engagement) / result.baseline_engagement
        click.echo(in_objective(f"  vs rule of thumb: {lift:+.1%} engagement"))
    costs = (result.explanation or {}).get("costs")
    if costs and costs["budget_marginal"] is not None:
        click.echo(in_objective(f"  each extra {money(1000, 0)} of budget buys about "
                                f"{costs['budget_marginal']:,.0f} engagement"))
    for warning in result.warnings:
        click.echo(f"  warning: {warning}", err=True)


def _read(input_path):
    """Read (and guard) the input, loading the solver stack meanwhile in a second thread.

    A bad file is still refused as soon as it is read: the loading thread is a
    daemon and never delays the exit. The reader is imported first, so the two
    threads never wait on each other's half-imported modules.
    """
    threading.Thread(target=importlib.import_module, args=("planner.pipeline",), daemon=True).start()
    return read_input(input_path)


def _solver_options(command):
    """--solver, --time-limit, --gap and --workers, shared by the multi-scenario commands."""
    command = click.option("--workers", type=click.IntRange(min=1),
                           help="Processes to run scenarios in (default: one per core).")(command)
    command = click.option("--gap", type=click.FloatRange(min=0, max=1),
                           help="Relative optimality gap to prove per scenario.")(command)
    command = click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
                           help="Solver time limit per scenario, seconds.")(command)
    command = click.option("--solver", type=SolverType(), help="MIP solver: highs, cbc or pulp:NAME.")(command)
    return command


def _progress(total: int):
    """A progress bar on stderr when it is a terminal; silent otherwise."""
    stream = sys.stderr
    if not stream.isatty():
        return contextlib.nullcontext(lambda result: None)
    bar = click.progressbar(length=total, label="Planning scenarios", file=stream, show_pos=True, show_eta=True)

    @contextlib.contextmanager
    def running():
        with bar:
            yield lambda result: bar.update(1)

    return running()


def _scenario_summary(results) -> None:
    """A compact table of the scenarios on the terminal, then every plan not proven within its gap."""
    noun = in_objective("engagement")
    click.echo(f"{'scenario':<28} {'budget':>12} {'spend':>12} {noun[:12]:>12} {'creators':>8}  status")
    for r in results:
        budget = r.campaign.settings.total_budget if r.campaign else (r.scenario.budget or 0)
        name = r.scenario.name[:28]
        if r.plan is not None:
            click.echo(f"{name:<28} {budget:>12,.0f} {r.plan.spend:>12,.0f} "
                       f"{r.plan.engagement:>12,.0f} {r.plan.creators_booked:>8}  {r.plan.outcome.describe()}")
        else:
            click.echo(f"{name:<28} {budget:>12,.0f} {'-':>12} {'-':>12} {'-':>8}  {r.status.value}")
    line = not_proven_line(results)
    if line:
        click.echo(line)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=True))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(), help="Workbook to write (.xlsx).")
@click.option("--budgets", required=True,
              help="start:stop:step (inclusive) or a comma list, e.g. 20000:200000:20000 or 20k,50k,80k.")
@click.option("--mix", "mixes", multiple=True,
              help="Sweep each of these built-in mixes too (many-micro, few-macro, balanced).")
@click.option("--mix-share", type=click.FloatRange(min=0, max=1),
              help="Minimum share of planned spend for a mix's tiers (default 0.70).")
@click.option("--budget", type=MoneyType(),
              help="The campaign's total budget, as for plan "
                   "(default: the Budget sheet's; for CSV input, the largest swept).")
@_solver_options
@_decimal_comma
@_objective
@_client_copy
@_handle_errors
def sweep(input_path, output_path, budgets, mixes, mix_share, budget, solver, time_limit, gap, workers,
          decimal_separator, objective, client_copy):
    """Plan INPUT once per budget: the efficient frontier of engagement against budget.

    Example:

        planner sweep sample_inputs/typical_campaign.xlsx -o sweep.xlsx --budgets 20000:200000:20000
    """
    raw = _read(input_path)
    try:
        amounts = parse_budgets(budgets)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--budgets") from None
    for mix in mixes:
        if mix.casefold() not in BUILTIN_MIXES:
            raise click.BadParameter(f"{mix!r}; choose from {', '.join(BUILTIN_MIXES)}", param_hint="--mix")
    lines = [m.casefold() for m in mixes] or [None]
    title = f"Budget sweep: {len(amounts)} budget{'s' if len(amounts) != 1 else ''}"
    with _progress(len(amounts) * len(lines)) as progress:
        # Scenarios are named once the campaign (and so its currency) is known.
        results = scenarios_to_workbook(
            input_path, output_path, lambda campaign, raw: (sweep_scenarios(amounts, lines, mix_share), []), title,
            budget=budget if budget is not None or raw.kind != "csv" else max(amounts),
            solver=solver, time_limit=time_limit, gap=gap, workers=workers, progress=progress, raw=raw,
            decimal_separator=decimal_separator, client_copy=client_copy, objective=objective,
        )
    click.echo(f"Sweep written to {output_path}" + (f" (client copy: {client_copy})" if client_copy else ""))
    _scenario_summary(results)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=True))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(), help="Workbook to write (.xlsx).")
@click.option("--mix", "mixes", multiple=True,
              help="Compare only these: built-in mixes (many-micro, few-macro, balanced) or Scenarios-sheet names.")
@click.option("--mix-share", type=click.FloatRange(min=0, max=1),
              help="Minimum share of planned spend for a mix's tiers (default 0.70).")
@click.option("--budget", type=MoneyType(), help="Budget for every scenario without its own.")
@click.option("--target-engagement", type=MoneyType(),
              help="Compare the smallest spend each scenario needs to reach this engagement.")
@click.option("--frontier-points", type=click.IntRange(min=1), default=3, show_default=True,
              help="Budgets per scenario on the frontier chart (from 50% to 150% of its budget; 1 = none extra).")
@_solver_options
@_decimal_comma
@_objective
@_client_copy
@_handle_errors
def compare(input_path, output_path, mixes, mix_share, budget, target_engagement, frontier_points, solver, time_limit,
            gap, workers, decimal_separator, objective, client_copy):
    """Plan several mixes of INPUT side by side at the same budget.

    Built in: many-micro (nano + micro tiers take at least 70% of spend),
    few-macro (macro + mega at least 70%), balanced (no tier rule), plus every
    row of the input's Scenarios sheet.

    Example:

        planner compare sample_inputs/typical_campaign.xlsx -o compare.xlsx
    """
    raw = _read(input_path)
    def make(campaign, raw):
        return compare_scenarios(campaign, raw, mixes, mix_share, target_engagement, frontier_points)

    with _progress(1) as progress:
        results = scenarios_to_workbook(
            input_path, output_path, make, "Mix comparison", budget=budget, solver=solver,
            time_limit=time_limit, gap=gap, workers=workers, progress=progress, raw=raw,
            decimal_separator=decimal_separator, client_copy=client_copy, objective=objective,
        )
    click.echo(f"Comparison written to {output_path}" + (f" (client copy: {client_copy})" if client_copy else ""))
    _scenario_summary(results)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=True))
@click.option("--budget", type=MoneyType(), help="Total budget, for CSV input without a Budget sheet.")
@_decimal_comma
@_handle_errors
def validate(input_path, budget, decimal_separator):
    """Check INPUT and list every problem, or print one OK line with counts.

    Example:

        planner validate sample_inputs/typical_campaign.xlsx
    """
    raw = _read(input_path)
    campaign, validation, _ = load_campaign(input_path, budget, raw=raw, decimal_separator=decimal_separator)
    scenarios = read_scenarios(raw, campaign)
    # The instant checks `plan` runs first: "OK" means plan will not refuse the rules at once.
    conflicts = precheck(campaign)
    if conflicts:
        raise InfeasibleError(*explain_infeasible(campaign, campaign.settings.solver, None, conflicts))
    counts = validation.counts
    extra = f", {len(scenarios)} scenarios" if scenarios else ""
    click.echo(
        f"OK: {counts['creators']:,} creators, {counts['niches']} niches, {counts['rules']} group rules{extra}, "
        f"budget {money(campaign.settings.total_budget)}"
    )
    for warning in validation.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command("export-model")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=True))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False),
              help="Model file to write: .lp or .mps.")
@click.option("--budget", type=MoneyType(), help="Total budget; overrides the Budget sheet (required for CSV input).")
@_decimal_comma
@_handle_errors
def export_model(input_path, output_path, budget, decimal_separator):
    """Write INPUT's program as a PuLP model in LP or MPS form, for any MIP solver.

    The same rules the planner solves: one binary per post slot of each creator, engagement
    (with niche weights and decay) maximised. Solve it elsewhere, or here with --solver pulp:NAME.

    Example:

        planner export-model sample_inputs/typical_campaign.xlsx -o typical.mps
    """
    raw = _read(input_path)
    written, variables, constraints = write_model(input_path, output_path, budget, raw, decimal_separator)
    click.echo(f"Model written to {written}: {variables:,} variables, {constraints:,} constraints (maximise)")


@cli.command()
@click.argument("output_path", metavar="OUTPUT", type=click.Path())
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@_handle_errors
def template(output_path, force):
    """Write an input workbook to fill in: instructions, data validation, example rows.

    Example:

        planner template my_campaign.xlsx
    """
    if os.path.lexists(output_path) and not force:
        raise OutputError(Problem(output_path, "already exists; choose another name, or pass --force to replace it"))

    write_template(output_path)
    click.echo(f"Template written to {output_path}")


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop the solver, write nothing, exit 143."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main():
    """Console-script entry point: a private temporary folder and clean interrupts around the CLI."""
    global STARTED
    STARTED = planner.LOADED  # before this module's imports: they count against a time limit too
    signal.signal(signal.SIGTERM, _on_sigterm)
    private = tempfile.mkdtemp(prefix="planner-run-")
    # Solver files and scenario workers (which inherit TMPDIR) all write inside it; it goes on every exit.
    os.environ["TMPDIR"] = private
    tempfile.tempdir = private
    code = 0
    try:
        cli(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        raise
    finally:
        shutil.rmtree(private, ignore_errors=True)
        core = sys.modules.get("planner.core")
        if core is not None and core.abandoned():
            # An interrupted HiGHS solve that has not stopped yet: leave without finalising.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    main()
