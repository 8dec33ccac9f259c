"""The ``planner`` command: parse options, call the library, map errors to exit codes.

Exit codes: 0 plan written; 1 bad input (nothing written); 2 usage;
3 rules cannot all hold; 4 no plan found within the time limit.
"""

from __future__ import annotations

import functools
import sys
import traceback

import click

from planner.errors import EXIT_BAD_INPUT, PlannerError
from planner.solve import SOLVERS


class MoneyType(click.ParamType):
    """A dollar amount written the way planners write it: 50000, 50k, $50,000."""

    name = "amount"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        from planner.validate import parse_numbers

        parsed = parse_numbers([value])
        if parsed.blank[0] or parsed.bad[0] or parsed.percent[0] or parsed.values[0] <= 0:
            self.fail(f"{value!r} is not a positive amount of money (e.g. 50000, 50k or $50,000)", param, ctx)
        return float(parsed.values[0])


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
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # a defect: say so plainly, keep the traceback for --debug
            if debug:
                raise
            click.echo(f"Error: internal error ({type(exc).__name__}: {exc}); run with --debug for details", err=True)
            ctx.exit(70)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="campaign-planner")
def cli(debug):
    """Plan influencer campaigns: the most engagement for the budget, under every rule."""


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=True))
@click.option("-o", "--output", "output_path", required=True, type=click.Path(), help="Report workbook to write (.xlsx).")
@click.option("--solver", type=click.Choice(SOLVERS, case_sensitive=False), help="MIP solver (default: the Budget sheet's, else highs).")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Solver time limit in seconds.")
@click.option("--gap", type=click.FloatRange(min=0, max=1), help="Relative optimality gap to prove (default 0.0001 = 0.01%).")
@click.option("--budget", type=MoneyType(), help="Total budget; overrides the Budget sheet (required for CSV input).")
@_handle_errors
def plan(input_path, output_path, solver, time_limit, gap, budget):
    """Compute the best plan for INPUT and write the client report to OUTPUT.

    Example:

        planner plan sample_inputs/small_campaign.xlsx -o plan.xlsx
    """
    from planner.pipeline import plan_to_workbook

    _, result = plan_to_workbook(input_path, output_path, budget, solver and solver.lower(), time_limit, gap)
    click.echo(f"Plan written to {output_path}")
    click.echo(f"  status:      {result.outcome.describe()}")
    click.echo(f"  spend:       ${result.spend:,.2f}")
    click.echo(f"  engagement:  {result.engagement:,.0f} expected (weighted)")
    click.echo(f"  creators:    {result.creators_booked} booked, {int(result.posts.sum())} posts")
    if result.baseline_engagement:
        lift = (result.engagement - result.baseline_engagement) / result.baseline_engagement
        click.echo(f"  vs rule of thumb: {lift:+.1%} engagement")
    for warning in result.warnings:
        click.echo(f"  warning: {warning}", err=True)


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=True))
@click.option("--budget", type=MoneyType(), help="Total budget, for CSV input without a Budget sheet.")
@_handle_errors
def validate(input_path, budget):
    """Check INPUT and list every problem, or print one OK line with counts.

    Example:

        planner validate sample_inputs/typical_campaign.xlsx
    """
    from planner.pipeline import load_campaign

    campaign, validation, _ = load_campaign(input_path, budget)
    counts = validation.counts
    click.echo(
        f"OK: {counts['creators']:,} creators, {counts['niches']} niches, {counts['rules']} group rules, "
        f"budget ${campaign.settings.total_budget:,.2f}"
    )
    for warning in validation.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.command()
@click.argument("output_path", metavar="OUTPUT", type=click.Path())
@_handle_errors
def template(output_path):
    """Write an input workbook to fill in: instructions, data validation, example rows.

    Example:

        planner template my_campaign.xlsx
    """
    from planner.template import write_template

    write_template(output_path)
    click.echo(f"Template written to {output_path}")


def main():
    """Console-script entry point."""
    sys.exit(cli(standalone_mode=True))


if __name__ == "__main__":
    main()
