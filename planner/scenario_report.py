"""The scenarios workbook: side by side, who is booked where, and the charts that compare them.

Sheets: Summary, Scenarios (one row per scenario, with the frontier chart),
Bookings (who each scenario books), Differences (creators not booked the same
way everywhere), Tier mix and Niche mix (spend per group per scenario, stacked
bars), Run info.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, ScatterChart, Series

from models.engagement import engagement_of
from planner.report import (
    COUNT,
    MONEY,
    MONEY_WHOLE,
    PERCENT,
    TITLE,
    _key_values,
    _print_setup,
    _run_info_rows,
    _set,
    _write_table,
    allocation_table,
)
from planner.scenarios import marginal_per_thousand

SCENARIO_SHEETS = ("Summary", "Scenarios", "Frontier", "Bookings", "Differences", "Tier mix", "Niche mix", "Run info")


def scenarios_table(results, tiers) -> pd.DataFrame:
    """One row per scenario: what it costs, what it buys, its tier mix, status and gap."""
    marginal = marginal_per_thousand(results)
    rows = []
    for k, result in enumerate(results):
        scenario, plan, campaign = result.scenario, result.plan, result.campaign
        row = {
            "scenario": scenario.name,
            "series": scenario.series,
            "budget": campaign.settings.total_budget if campaign else scenario.budget,
        }
        if plan is not None:
            engagement = float(engagement_of(plan.posts, campaign.creators["post_value"].to_numpy(float),
                                             campaign.settings.repeat_post_decay).sum())
            spend = plan.posts * campaign.creators["cost_per_post"].to_numpy(float)
            row.update(
                spend=plan.spend,
                expected_engagement=engagement,
                weighted_engagement=plan.engagement,
                cost_per_engagement=plan.spend / engagement if engagement > 0 else None,
                creators=plan.creators_booked,
                posts=int(plan.posts.sum()),
                marginal_engagement_per_1000=marginal[k],
            )
            for tier in tiers:
                members = campaign.members("tier", tier)
                row[f"share_{tier}"] = spend[members].sum() / plan.spend if plan.spend > 0 else 0.0
            row["status"] = plan.outcome.status.value
            row["gap"] = plan.outcome.gap
            row["note"] = ""
        else:
            row["status"] = result.status.value
            row["note"] = result.message
        if scenario.target_engagement is not None:
            row["target_engagement"] = scenario.target_engagement
        rows.append(row)
    table = pd.DataFrame(rows)
    order = ["scenario", "series", "budget", "target_engagement", "spend", "expected_engagement",
             "weighted_engagement", "cost_per_engagement", "creators", "posts", "marginal_engagement_per_1000"]
    order += [f"share_{t}" for t in tiers] + ["status", "gap", "note"]
    table = table.reindex(columns=[c for c in order if c in table.columns or c in ("status", "note")])
    empty = [c for c in ("target_engagement", "marginal_engagement_per_1000") if c in table and table[c].isna().all()]
    return table.drop(columns=empty)


def bookings_table(results) -> pd.DataFrame:
    """Who each scenario books: the allocation with a scenario column."""
    frames = []
    for result in results:
        if result.plan is None:
            continue
        allocation = allocation_table(result.campaign, result.plan)
        allocation.insert(0, "scenario", result.scenario.name)
        frames.append(allocation)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["scenario", "creator"])


def differences_table(results) -> pd.DataFrame:
    """Creators not booked identically in every scenario: posts per scenario (0 = not booked)."""
    planned = [r for r in results if r.plan is not None]
    if not planned:
        return pd.DataFrame(columns=["creator"])
    creators = planned[0].campaign.creators
    posts = pd.DataFrame({r.scenario.name: r.plan.posts for r in planned})
    differs = (posts.nunique(axis=1) > 1).to_numpy()
    table = pd.concat([creators.loc[differs, ["creator", "niche", "tier", "platform"]].reset_index(drop=True),
                       posts[differs].reset_index(drop=True)], axis=1)
    table.insert(4, "booked_in", (posts[differs] > 0).sum(axis=1).to_numpy())
    return table.sort_values(["booked_in", "creator"], ascending=[False, True]).reset_index(drop=True)


def mix_table(results, dimension: str) -> pd.DataFrame:
    """Spend per group (columns) per scenario (rows)."""
    rows = []
    for result in results:
        if result.plan is None:
            continue
        spend = result.plan.posts * result.campaign.creators["cost_per_post"].to_numpy(float)
        by_group = pd.Series(spend).groupby(result.campaign.creators[dimension].replace("", "(not given)").to_numpy()).sum()
        rows.append({"scenario": result.scenario.name, **by_group.to_dict()})
    table = pd.DataFrame(rows).fillna(0.0)
    groups = [c for c in table.columns if c != "scenario"]
    keep = [g for g in groups if table[g].sum() > 0] or groups
    return table[["scenario"] + keep] if len(table) else table


def frontier_table(results) -> pd.DataFrame:
    """Budget against engagement for every point, grouped by line, with the marginal value of budget."""
    marginal = marginal_per_thousand(results)
    rows = [
        {
            "series": r.scenario.series,
            "scenario": r.scenario.name,
            "budget": r.campaign.settings.total_budget,
            "weighted_engagement": r.plan.engagement,
            "spend": r.plan.spend,
            "marginal_engagement_per_1000": marginal[k],
            "status": r.plan.outcome.status.value,
        }
        for k, r in enumerate(results)
        if r.plan is not None and r.scenario.target_engagement is None
    ]
    table = pd.DataFrame(rows, columns=["series", "scenario", "budget", "weighted_engagement", "spend",
                                        "marginal_engagement_per_1000", "status"])
    order = {name: k for k, name in enumerate(pd.unique(table["series"]))}
    table["_order"] = table["series"].map(order)
    return table.sort_values(["_order", "budget"]).drop(columns="_order").reset_index(drop=True)


def build_scenarios_workbook(results, run_info: dict, title: str, frontier_results=None) -> Workbook:
    """Assemble the scenarios workbook.

    Parameters
    ----------
    results : list of ScenarioResult
    run_info : dict
        As for :func:`planner.report.build_workbook`.
    title : str
        What was run, for the Summary sheet.
    frontier_results : list of ScenarioResult, optional
        Points for the frontier (default: ``results``).

    Returns
    -------
    openpyxl.Workbook
    """
    tiers = [band.name for band in next(r.campaign for r in results if r.campaign is not None).tiers]
    table = scenarios_table(results, tiers)
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    _summary(summary, results, table, title)

    ws = wb.create_sheet("Scenarios")
    formats = {"budget": MONEY, "spend": MONEY, "expected_engagement": COUNT, "weighted_engagement": COUNT,
               "cost_per_engagement": '"$"#,##0.0000', "creators": COUNT, "posts": COUNT,
               "marginal_engagement_per_1000": COUNT, "gap": "0.0000%", "target_engagement": COUNT}
    formats.update({f"share_{t}": PERCENT for t in tiers})
    _write_table(ws, table, "Scenarios", formats=formats)

    ws = wb.create_sheet("Frontier")
    frontier = frontier_table(frontier_results if frontier_results is not None else results)
    _write_table(ws, frontier, "Frontier", formats=formats)
    _frontier_chart(ws, frontier)

    ws = wb.create_sheet("Bookings")
    _write_table(ws, bookings_table(results), "Bookings")

    ws = wb.create_sheet("Differences")
    differences = differences_table(results)
    _write_table(ws, differences, "Differences", formats={c: COUNT for c in differences.columns[4:]})

    for sheet, dimension in (("Tier mix", "tier"), ("Niche mix", "niche")):
        ws = wb.create_sheet(sheet)
        mix = mix_table(results, dimension)
        _write_table(ws, mix, sheet.replace(" ", "_"), formats={c: MONEY for c in mix.columns[1:]})
        _stacked_chart(ws, mix, f"Spend by {dimension} per scenario")

    ws = wb.create_sheet("Run info")
    _set(ws.cell(row=1, column=1), "Run info")
    ws.cell(row=1, column=1).font = TITLE
    _run_info_rows(ws, run_info, start_row=3)
    return wb


def _summary(ws, results, table: pd.DataFrame, title: str) -> None:
    """What was run and the headline comparison."""
    _set(ws.cell(row=1, column=1), title)
    ws.cell(row=1, column=1).font = TITLE
    planned = table[table["status"].isin(["proven optimal", "best found"])]
    rows = [("Scenarios run", len(table), COUNT), ("Scenarios with a plan", len(planned), COUNT)]
    if len(planned):
        best = planned.loc[planned["weighted_engagement"].idxmax()]
        cheapest = planned.loc[planned["cost_per_engagement"].astype(float).idxmin()]
        rows += [
            ("Most engagement", f"{best['scenario']}: {best['weighted_engagement']:,.0f} for ${best['spend']:,.2f}", None),
            ("Lowest cost per engagement", f"{cheapest['scenario']}: ${cheapest['cost_per_engagement']:,.4f}", None),
        ]
    failed = table[~table["status"].isin(["proven optimal", "best found"])]
    for _, row in failed.iterrows():
        rows.append((f"No plan: {row['scenario']}", f"{row['status']}: {row['note']}", None))
    _key_values(ws, rows, 3)
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 90
    _print_setup(ws, landscape=False)


def _frontier_chart(ws, table: pd.DataFrame) -> None:
    """Engagement against budget, one line per series (mix), below the table."""
    chart = ScatterChart()
    chart.title = "Efficient frontier: engagement by budget"
    chart.x_axis.title = "Budget ($)"
    chart.y_axis.title = "Weighted expected engagement"
    chart.x_axis.number_format = MONEY_WHOLE
    chart.y_axis.number_format = "#,##0"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    columns = list(table.columns)
    if "weighted_engagement" not in columns:
        return
    x_col = columns.index("budget") + 1
    y_col = columns.index("weighted_engagement") + 1
    for series_name in pd.unique(table["series"]):
        rows = np.flatnonzero((table["series"] == series_name).to_numpy() & table["weighted_engagement"].notna().to_numpy())
        if not len(rows):
            continue
        # Rows of one series are contiguous when scenarios were generated per series.
        first, last = int(rows.min()) + 2, int(rows.max()) + 2
        xs = Reference(ws, min_col=x_col, min_row=first, max_row=last)
        ys = Reference(ws, min_col=y_col, min_row=first, max_row=last)
        series = Series(ys, xs, title=str(series_name))
        series.marker.symbol = "circle"
        chart.series.append(series)
    chart.height, chart.width = 9, 18
    ws.add_chart(chart, f"A{len(table) + 4}")


def _stacked_chart(ws, table: pd.DataFrame, title: str) -> None:
    """Stacked bars: spend per group for each scenario."""
    if table.empty or len(table.columns) < 2:
        return
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = title
    chart.y_axis.title = "Spend ($)"
    chart.y_axis.number_format = MONEY_WHOLE
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    data = Reference(ws, min_col=2, max_col=len(table.columns), min_row=1, max_row=len(table) + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(table) + 1))
    chart.height, chart.width = 9, max(16, 2 + 1.5 * len(table))
    ws.add_chart(chart, f"A{len(table) + 4}")
