"""The scenarios workbook: side by side, who is booked where, and the charts that compare them.

Client sheets (what ``--client-copy`` keeps), each titled with the campaign and
in the client's words and currency: Summary (what was run, how many plans are
proven, the best scenario), Scenarios (one row per scenario), Frontier
(engagement against budget, one line per mix), Tier mix and Niche mix (spend
per group per scenario, stacked bars). Planner sheets: Bookings (who each
scenario books), Differences (creators not booked the same way everywhere),
Run info (the solver, each solve's gap and bound, the input and settings).

A scenario whose plan is not proven the best possible within its gap is set
apart everywhere: its status is filled orange with its gap beside it, the
frontier draws it as an orange "Not proven" diamond off the proven lines (which
join proven plans only), the Summary counts it, and the terminal names it
(:func:`not_proven_line`).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.marker import Marker
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.spreadsheet_drawing import OneCellAnchor
from openpyxl.drawing.line import LineProperties
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.units import cm_to_EMU, pixels_to_EMU
from openpyxl.worksheet.pagebreak import Break

from models.engagement import engagement_of
from models.risk import plan_risk
from models.plan import SolveOutcome, Status, percent
from planner.money import current, money, using
from planner.report import (
    COUNT,
    MONEY,
    MONEY_FINE,
    MONEY_WHOLE,
    SUBTITLE,
    PAGE_CHARS,
    TITLE,
    _FORMATS,
    _key_values,
    _print_setup,
    _run_info_rows,
    _set,
    _title,
    _write_table,
    allocation_table,
    identity_of,
    number_format_of,
    wrapped_lines,
)
from planner.scenarios import marginal_per_thousand
from planner.words import header_words, in_objective, is_proven, status_words

SCENARIO_SHEETS = ("Summary", "Scenarios", "Frontier", "Bookings", "Differences", "Tier mix", "Niche mix", "Run info")
#: Sheets for the client (what `--client-copy` keeps) and for the planner.
SCENARIO_CLIENT_SHEETS = ("Summary", "Scenarios", "Frontier", "Tier mix", "Niche mix")
SCENARIO_PLANNER_SHEETS = ("Bookings", "Differences", "Run info")

#: A plan not proven the best possible within its gap: its status cell's fill, its frontier marker.
NOT_PROVEN_FILL = PatternFill("solid", fgColor="FCE4D6")
NOT_PROVEN_COLOR = "C55A11"
NOT_PROVEN_SERIES = "Not proven"
#: Gaps: 0.0038%, 0.58%, 213.0% (never rounded to 0.00%).
GAP = "0.0###%"
SHARE = "0.0%"
#: Names listed in one Summary sentence before "and N more".
LISTED = 5
#: Widths (characters) at which the long text columns wrap.
WRAPPED = {"scenario": 28, "status": 34, "note": 44}
#: Points of sheet height a printed page holds at 100% (A4 or Letter, the shorter, less 1" margins).
PAGE_POINTS = {"portrait": 648, "landscape": 451}
#: Text of ordinary weight fits about this many characters per unit of column width.
CHARS_PER_WIDTH = 1.1
#: The P10-P90 band's thin lines around the first, second, ... frontier line.
BAND_COLORS = ("7F7F7F", "9DC3E6", "F4B183", "A9D18E")
#: Frontier lines: marker and dash of the first, second, ... line.
SYMBOLS = ("circle", "square", "triangle", "diamond", "star", "x", "plus")
DASHES = ("solid", "dash", "sysDot", "lgDash", "dashDot", "sysDash", "lgDashDot")
_RULE_ID = re.compile(r"\b[a-z]+(?:_[a-z]+)+:[^\s,;)]+")
_SNAKE = re.compile(r"(?<=[a-z])_(?=[a-z])")
_CHANGES = ("; any one of these changes", "; no single change", "; these changes together")


# --- words -----------------------------------------------------------------------------------


def gap_words(gap) -> str:
    """How far from the best possible a plan may be: '213.0%', '0.58%'."""
    if gap is None or not math.isfinite(gap):
        return "an unknown distance"
    return percent(gap)


def _stopped(result) -> bool:
    """A plan that is not proven the best possible within its gap (stopped at the time limit)."""
    return result.plan is not None and not is_proven(result.plan.outcome)


def _status_words(result) -> str:
    """The scenario's status as a client reads it."""
    if result.plan is not None:
        return status_words(result.plan.outcome)
    return status_words(SolveOutcome(result.status, None, None, None, 0.0, ""))


def not_proven_line(results):
    """The terminal's line naming every plan not proven within its gap, or None when all are."""
    stopped = [r for r in results if _stopped(r)]
    if not stopped:
        return None
    parts = []
    for r in stopped:
        gap = r.plan.outcome.gap
        where = (f"stopped at {gap_words(gap)} from the best possible" if gap is not None
                 else "stopped at the time limit, how far from the best possible is not known")
        parts.append(f"{r.scenario.name} ({where}; raise --time-limit)")
    return "Not proven within the gap: " + ", ".join(parts)


def _client_reason(result) -> str:
    """Why a scenario has no plan, in the client's words (the full diagnosis is on Run info)."""
    if result.status is Status.NO_SOLUTION:
        return "No plan was found before the time limit; raise the time limit"
    text = result.message or ""
    for cut in _CHANGES:
        text = text.split(cut)[0]
    text = _SNAKE.sub(" ", _RULE_ID.sub("", text)).strip()
    return text[:1].upper() + text[1:]


def _listed(names) -> str:
    """'a, b and c'; past :data:`LISTED` names, 'and N more'."""
    names = list(names)
    if len(names) > LISTED:
        names = names[:LISTED] + [f"{len(names) - LISTED} more"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- tables ----------------------------------------------------------------------------------


def tier_order(campaign) -> list:
    """Tiers in size order (the campaign's bands, nano to mega), then any other tier the creators name."""
    bands = [band.name for band in campaign.tiers]
    others = sorted(set(campaign.creators["tier"].replace("", "(not given)")) - set(bands))
    return bands + others


def _budget(result) -> float:
    return result.campaign.settings.total_budget if result.campaign is not None else result.scenario.budget


def frontier_notes(results) -> dict:
    """Scenario name -> why the point is worth less than a cheaper one on the same line."""
    lines = {}
    for r in results:
        if r.plan is not None and r.scenario.target_engagement is None:
            lines.setdefault(r.scenario.series, []).append(r)
    notes = {}
    for points in lines.values():
        points.sort(key=_budget)
        best = None  # the cheaper point worth most so far
        for r in points:
            if best is None:
                best = r
                continue
            tolerance = 1e-9 * max(1.0, abs(best.plan.engagement))
            if _budget(best) < _budget(r) and r.plan.engagement < best.plan.engagement - tolerance:
                notes[r.scenario.name] = _dip_note(r, best)
            if r.plan.engagement > best.plan.engagement:
                best = r
    return notes


def _dip_note(point, cheaper) -> str:
    """Why ``point`` is worth less than the cheaper plan ``cheaper`` of its line."""
    than = f"Worth less than the {money(_budget(cheaper), 0)} plan on this line"
    outcome = point.plan.outcome
    if not is_proven(outcome):
        return f"{than}: not proven, it stopped at the time limit ({gap_words(outcome.gap)} from the best possible)"
    slack = max(outcome.gap or 0.0, outcome.gap_limit or 0.0, cheaper.plan.outcome.gap_limit or 0.0)
    if cheaper.plan.engagement <= point.plan.engagement * (1 + slack) + 1e-9:
        return f"{than}, by less than the {percent(slack)} both plans are proven within"
    settings = point.campaign.settings
    if settings.share_basis == "budget" and any(g.min_share for g in point.campaign.groups):
        return (f"{than}: minimum shares of the total budget force money into lower-value groups as the budget "
                "grows; share_basis = spend (Budget sheet) avoids it")
    return f"{than}: a rule tied to the size of the budget holds it back"


def scenarios_table(results, tiers, notes=None) -> pd.DataFrame:
    """One row per scenario: what it costs, what it buys, its tier mix, its status, gap and note."""
    marginal = marginal_per_thousand(results)
    notes = notes or {}
    rows = []
    for k, result in enumerate(results):
        scenario, plan, campaign = result.scenario, result.plan, result.campaign
        row = {"scenario": scenario.name, "series": scenario.series, "budget": _budget(result)}
        if scenario.target_engagement is not None:
            row["target_engagement"] = scenario.target_engagement
        if plan is not None:
            engagement = float(engagement_of(plan.posts, campaign.creators["post_value"].to_numpy(float),
                                             campaign.settings.repeat_post_decay).sum())
            spend = plan.posts * campaign.creators["cost_per_post"].to_numpy(float)
            tier_of = campaign.creators["tier"].replace("", "(not given)").to_numpy()
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
                row[f"{tier}_share"] = spend[tier_of == tier].sum() / plan.spend if plan.spend > 0 else 0.0
            row["gap"] = plan.outcome.gap
            risk = _risk(result)
            if risk is not None:  # the plan's range: 1 campaign in 10 below P10, 1 in 10 above P90
                row.update(p10=risk.p10, p90=risk.p90, cvar=risk.cvar)
            said = ["Not proven the best possible: raise the time limit to prove it"] if _stopped(result) else []
            said += [notes[scenario.name]] if scenario.name in notes else []
            row["note"] = "; ".join(said)
        else:
            row["note"] = _client_reason(result)
        row["status"] = _status_words(result)
        rows.append(row)
    order = ["scenario", "series", "budget", "target_engagement", "spend", "expected_engagement",
             "weighted_engagement", "cost_per_engagement", "creators", "posts", "marginal_engagement_per_1000"]
    order += ["p10", "p90", "cvar"] + [f"{t}_share" for t in tiers] + ["status", "gap", "note"]
    table = pd.DataFrame(rows).reindex(columns=order)
    drop = [c for c in ("target_engagement", "marginal_engagement_per_1000", "p10", "p90", "cvar")
            if table[c].isna().all()]
    if (table["series"] == table["scenario"]).all() or table["series"].nunique() <= 1:
        drop.append("series")
    if np.allclose(table["weighted_engagement"].astype(float), table["expected_engagement"].astype(float),
                   rtol=1e-12, equal_nan=True):
        drop.append("weighted_engagement")  # every niche weight is 1: the two are one number
    if not (table["note"].fillna("") != "").any():
        drop.append("note")
    return table.drop(columns=drop)


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


def mix_table(results, dimension: str, order=None) -> pd.DataFrame:
    """Spend per group (columns) per scenario (rows); groups in ``order`` when given (tiers: by
    size), else the most spent on first."""
    rows = []
    for result in results:
        if result.plan is None:
            continue
        spend = result.plan.posts * result.campaign.creators["cost_per_post"].to_numpy(float)
        labels = result.campaign.creators[dimension].replace("", "(not given)").to_numpy()
        by_group = pd.Series(spend).groupby(labels).sum()
        rows.append({"scenario": result.scenario.name, **by_group.to_dict()})
    table = pd.DataFrame(rows).fillna(0.0)
    if not len(table):
        return table
    groups = [c for c in table.columns if c != "scenario"]
    keep = [g for g in groups if table[g].sum() > 0] or groups
    if order is not None:
        rank = {name: k for k, name in enumerate(order)}
        keep.sort(key=lambda g: (rank.get(g, len(rank)), str(g)))
    else:
        keep.sort(key=lambda g: -table[g].sum())
    return table[["scenario"] + keep]


def _risk(result):
    """The plan's risk figures (computed once per plan; None without uncertainty in the input)."""
    plan = result.plan
    if plan.risk is None:
        plan.risk = plan_risk(result.campaign, plan.posts)
    return plan.risk


def frontier_table(results, notes=None) -> pd.DataFrame:
    """Budget against engagement for every point, grouped by line, with the marginal value of budget,
    and the plan's P10 and P90 where the input gives ranges (the band around the line)."""
    marginal = marginal_per_thousand(results)
    notes = notes or {}
    rows = []
    for k, r in enumerate(results):
        if r.plan is None or r.scenario.target_engagement is not None:
            continue
        risk = _risk(r)
        rows.append({
            "series": r.scenario.series,
            "scenario": r.scenario.name,
            "budget": r.campaign.settings.total_budget,
            "weighted_engagement": r.plan.engagement,
            "p10": risk.p10 if risk is not None else np.nan,
            "p90": risk.p90 if risk is not None else np.nan,
            "spend": r.plan.spend,
            "marginal_engagement_per_1000": marginal[k],
            "status": status_words(r.plan.outcome),
            "note": notes.get(r.scenario.name, ""),
            "proven": is_proven(r.plan.outcome),
        })
    table = pd.DataFrame(rows, columns=["series", "scenario", "budget", "weighted_engagement", "p10", "p90", "spend",
                                        "marginal_engagement_per_1000", "status", "note", "proven"])
    if table[["p10", "p90"]].isna().all().all():
        table = table.drop(columns=["p10", "p90"])
    order = {name: k for k, name in enumerate(pd.unique(table["series"]))}
    table["_order"] = table["series"].map(order)
    return table.sort_values(["_order", "budget"], kind="stable").drop(columns="_order").reset_index(drop=True)


# --- the workbook ----------------------------------------------------------------------------


def build_scenarios_workbook(results, run_info: dict, title: str, frontier_results=None) -> Workbook:
    """Assemble the scenarios workbook.

    Parameters
    ----------
    results : list of ScenarioResult
    run_info : dict
        As for :func:`planner.report.build_workbook`.
    title : str
        What was run, the Summary sheet's heading.
    frontier_results : list of ScenarioResult, optional
        Points for the frontier (default: ``results``).

    Returns
    -------
    openpyxl.Workbook
    """
    campaign = next(r.campaign for r in results if r.campaign is not None)
    with using(campaign.settings.currency):
        return _build(results, run_info, title, frontier_results if frontier_results is not None else results,
                      campaign)


def _build(results, run_info, title, everything, campaign) -> Workbook:
    identity = identity_of(campaign.settings)
    tiers = tier_order(campaign)
    notes = frontier_notes(everything)
    table = scenarios_table(results, tiers, notes)
    frontier = frontier_table(everything, notes)
    wb = Workbook()
    _summary(wb.active, results, everything, table, title, identity)

    ws = wb.create_sheet("Scenarios")
    first_row = _title(ws, "Scenarios side by side", identity)
    formats = {"budget": MONEY, "spend": MONEY, "expected_engagement": COUNT, "weighted_engagement": COUNT,
               "p10": COUNT, "p90": COUNT, "cvar": COUNT,
               "cost_per_engagement": MONEY_FINE, "creators": COUNT, "posts": COUNT,
               "marginal_engagement_per_1000": COUNT, "gap": GAP, "target_engagement": COUNT}
    formats.update({f"{t}_share": SHARE for t in tiers})
    _write_table(ws, table, "Scenarios", first_row=first_row, formats=formats)
    _mark_not_proven(ws, table, first_row, [_stopped(r) for r in results])
    _legend(ws, first_row + len(table) + 2, [
        "Shares are of each plan's spend." + (" Marginal engagement per 1000: what each extra 1,000 of budget buys "
                                             "over the next smaller budget of the same rules."
                                             if "marginal_engagement_per_1000" in table else ""),
        *(["Orange: not proven the best possible before the time limit; Gap is how far from the best possible "
           "the plan may be."] if any(_stopped(r) for r in results) else []),
    ])
    _shape(ws, table, first_row, formats)

    ws = wb.create_sheet("Frontier")
    first_row = _title(ws, in_objective("Engagement by budget (efficient frontier)"), identity)
    shown = frontier.drop(columns=["proven"] + (["series"] if frontier["series"].nunique() <= 1 else [])
                          + (["note"] if not (frontier["note"] != "").any() else []))
    _write_table(ws, shown, "Frontier", first_row=first_row, formats=formats)
    _mark_not_proven(ws, shown, first_row, list(~frontier["proven"].astype(bool)))
    after = _legend(ws, first_row + len(shown) + 2, [
        in_objective("Each line is one set of rules at several budgets. Marginal engagement per 1000: what each extra "
                     "1,000 of budget buys over the next smaller budget on the line."),
        *([f"Orange diamonds ({NOT_PROVEN_SERIES}): plans stopped at the time limit, not proven the best "
           "possible; the lines join proven plans only."] if not frontier["proven"].all() else []),
        *(["Dotted lines: each plan's P10 and P90 (engagement rates drawn from each creator's range, 10,000 "
           "times): 8 campaigns in 10 land between them."] if "p10" in shown else []),
    ])
    _shape(ws, shown, first_row, formats)
    if len(frontier):
        _frontier_chart(ws, shown, frontier["series"].tolist(), frontier["proven"].astype(bool).tolist(),
                        first_row, after)
    else:
        _set(ws.cell(row=after, column=1), "No budget points: these scenarios aim at a target engagement.")

    ws = wb.create_sheet("Bookings")
    _write_table(ws, bookings_table(results), "Bookings")

    ws = wb.create_sheet("Differences")
    differences = _unique_headers(differences_table(results))
    _write_table(ws, differences, "Differences", formats={c: COUNT for c in differences.columns[4:]})
    if not len(differences):
        _set(ws.cell(row=4, column=1), "Every scenario with a plan books the same creators the same number of times.")

    for sheet, dimension, order in (("Tier mix", "tier", tiers), ("Niche mix", "niche", None)):
        ws = wb.create_sheet(sheet)
        first_row = _title(ws, f"Spend by {dimension} per scenario", identity)
        mix = _unique_headers(mix_table(results, dimension, order))
        money_formats = {c: MONEY for c in mix.columns[1:]}
        _write_table(ws, mix, sheet.replace(" ", "_"), first_row=first_row, formats=money_formats)
        _shape(ws, mix, first_row, money_formats)
        _stacked_chart(ws, mix, f"Spend by {dimension} per scenario", first_row)

    _run_info_sheet(wb.create_sheet("Run info"), everything, run_info)
    return wb


def _summary(ws, results, everything, table: pd.DataFrame, title: str, identity: dict) -> None:
    """What was run, how many plans are proven, the best scenario and the cheapest engagement, in words."""
    ws.title = "Summary"
    first_row = _title(ws, title, identity)
    rows = [("What was run", _what_was_run(results, everything), None),
            ("Proven the best possible", _proven_sentence(results), None)]
    planned = table[table["spend"].notna()] if "spend" in table else table.iloc[:0]
    if len(planned):
        named = {r.scenario.name: r for r in results}
        if "target_engagement" in planned:
            least = planned.loc[planned["spend"].astype(float).idxmin()]
            rows.append(("Least spend to reach the target", f"{least['scenario']}: {money(least['spend'])}"
                         f"{_unproven_mark(named[least['scenario']])}", None))
        else:
            column = "weighted_engagement" if "weighted_engagement" in planned else "expected_engagement"
            best = planned.loc[planned[column].astype(float).idxmax()]
            rows.append(("Most engagement", f"{best['scenario']}: {best[column]:,.0f} engagement for "
                         f"{money(best['spend'])}{_unproven_mark(named[best['scenario']])}", None))
        costs = planned["cost_per_engagement"].astype(float)
        if costs.notna().any():
            cheapest = planned.loc[costs.idxmin()]
            rows.append(("Lowest cost per engagement", f"{cheapest['scenario']}: "
                         f"{money(cheapest['cost_per_engagement'], 4)} per engagement"
                         f"{_unproven_mark(named[cheapest['scenario']])}", None))
    for line, text in _line_sentences(everything):
        rows.append((f"Frontier: {line}" if line else "Frontier", text, None))
    extra = [r for r in everything[len(results):] if _stopped(r)]
    if extra:
        rows.append(("Frontier points not proven", _listed(r.scenario.name for r in extra) + ": stopped at the time "
                     "limit; drawn apart on the Frontier chart", None))
    dips = frontier_notes(everything)
    if dips:
        rows.append(("Worth less at a larger budget",
                     f"{_listed(dips)}: see the note beside each on the Frontier sheet", None))
    for result in results:
        if result.plan is None:
            reason = f"{_status_words(result)}. {_client_reason(result)}".rstrip(". ") + "."
            rows.append((f"No plan: {result.scenario.name}", reason, None))
    # The planner's own sentences name the objective; scenario and rule names stay as written.
    own = ("Most engagement", "Lowest cost per engagement", "Frontier")
    rows = [(in_objective(label),
             in_objective(value) if label.startswith(own) and isinstance(value, str) else value,
             fmt)
            for label, value, fmt in rows]
    _key_values(ws, rows, first_row)
    ws.column_dimensions["A"].width = 42
    ws.column_dimensions["B"].width = 72
    _print_setup(ws, landscape=False, one_page=True)


def _unproven_mark(result) -> str:
    return " (not proven: stopped at the time limit)" if _stopped(result) else ""


def _what_was_run(results, everything) -> str:
    """'3 scenarios at a budget of €25,000: many-micro, few-macro and balanced; ...'."""
    count = len(results)
    text = f"{count} scenario{'s' if count != 1 else ''}"
    budgets = sorted({_budget(r) for r in results if _budget(r) is not None})
    if len(budgets) == 1:
        text += f" at a budget of {money(budgets[0], 0)}"
    elif budgets:
        text += f", budgets from {money(budgets[0], 0)} to {money(budgets[-1], 0)}"
    targets = sorted({r.scenario.target_engagement for r in results if r.scenario.target_engagement is not None})
    if targets:
        text += f", each the least spend to reach {_listed(f'{t:,.0f}' for t in targets)} engagement"
    lines = list(dict.fromkeys(r.scenario.series for r in results))
    if 1 < len(lines) < count:
        text += f", on {len(lines)} lines: {_listed(lines)}"
    elif all(r.scenario.series == r.scenario.name for r in results) and count <= 2 * LISTED:  # side by side
        text += f": {_listed(r.scenario.name for r in results)}"
    extra = len(everything) - count
    if extra > 0:
        text += f"; the frontier adds {extra} more budget{'s' if extra != 1 else ''}"
    return text + "."


def _proven_sentence(results) -> str:
    """'2 of 3 proven; few-macro stopped at 213.0% from the best possible'."""
    proven = sum(1 for r in results if r.plan is not None and is_proven(r.plan.outcome))
    parts = [f"{proven} of {len(results)} proven"]
    stopped = [r for r in results if _stopped(r)]
    if stopped:
        said = [f"{r.scenario.name} stopped at {gap_words(r.plan.outcome.gap)} from the best possible" for r in stopped]
        if len(said) > LISTED:
            said = said[:LISTED] + [f"{len(said) - LISTED} more stopped at the time limit"]
        parts.append(", ".join(said) + " (raise the time limit to prove them)")
    failed = [r.scenario.name for r in results if r.plan is None]
    if failed:
        parts.append(f"{_listed(failed)} {'has' if len(failed) == 1 else 'have'} no plan")
    return "; ".join(parts)


def _line_sentences(everything) -> list:
    """Per frontier line with several budgets: the engagement at the smallest and largest."""
    lines = {}
    for r in everything:
        if r.plan is not None and r.scenario.target_engagement is None:
            lines.setdefault(r.scenario.series, []).append(r)
    out = []
    for line, points in lines.items():
        if len(points) < 2:
            continue
        points.sort(key=_budget)
        low, high = points[0], points[-1]
        out.append((line if len(lines) > 1 else "",
                    f"{low.plan.engagement:,.0f} engagement at {money(_budget(low), 0)}, "
                    f"{high.plan.engagement:,.0f} at {money(_budget(high), 0)}"))
    return out if len(out) <= LISTED else []


def _legend(ws, row: int, lines) -> int:
    """Explanatory lines under a table; returns the row after them (none under a streamed table)."""
    if _is_bulk(ws):
        return row
    for k, line in enumerate(lines):
        _set(ws.cell(row=row + k, column=1), line)
        ws.cell(row=row + k, column=1).font = SUBTITLE
    return row + len(lines) + 1


def _mark_not_proven(ws, frame: pd.DataFrame, first_row: int, stopped) -> None:
    """Fill the status (and gap) cell of every plan not proven within its gap."""
    if _is_bulk(ws):
        return
    columns = [c for c in ("status", "gap") if c in frame.columns]
    for i, flag in enumerate(stopped):
        if flag:
            for column in columns:
                ws.cell(row=first_row + 1 + i, column=list(frame.columns).index(column) + 1).fill = NOT_PROVEN_FILL


def _shape(ws, frame: pd.DataFrame, first_row: int, formats=None) -> None:
    """Fit a table for reading and print: each column as wide as its values and its header's longest
    word (headers wrap), the long text columns (:data:`WRAPPED`) wrapped, rows grown to fit, cells
    aligned at the top; then the print setup for the final widths."""
    formats = {**_FORMATS, **(formats or {})}
    columns = list(frame.columns)
    heights = [1] * len(frame)
    header_lines = 1
    for j, column in enumerate(columns, start=1):
        header = header_words(column)
        shown = [_shown(v, formats.get(column)) for v in frame[column].head(200).tolist()]
        longest = max((len(t) for t in shown), default=0)
        widest_word = max((len(w) for w in header.split()), default=0)
        width = max(longest + 2, widest_word + 3, 8)
        width = min(width, WRAPPED.get(column, 40))
        ws.column_dimensions[get_column_letter(j)].width = width
        header_lines = max(header_lines, wrapped_lines(header, width - 2))
        if column in WRAPPED:
            for i, value in enumerate(frame[column].tolist()):
                if isinstance(value, str) and value:
                    heights[i] = max(heights[i], wrapped_lines(value, int((width - 1) * CHARS_PER_WIDTH)))
    ws.row_dimensions[first_row].height = 15 * header_lines if header_lines > 1 else None
    for i, lines in enumerate([] if _is_bulk(ws) else heights):
        row = first_row + 1 + i
        for j, column in enumerate(columns, start=1):
            indent = 1 if column in WRAPPED and j > 1 else 0  # clear of the number to its left
            ws.cell(row=row, column=j).alignment = Alignment(vertical="top", wrap_text=column in WRAPPED, indent=indent)
        if lines > 1:
            ws.row_dimensions[row].height = 15 * lines
    _clear_print_titles(ws, cols=True)  # _print_setup repeats the first column again if it must
    _print_setup(ws)


def _shown(value, number_format) -> str:
    """About the text a cell shows in its number format (for column widths)."""
    if value is None or isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return "" if value is None or not isinstance(value, bool) else str(value)
    if isinstance(value, str):
        return value
    number_format = number_format or ""
    if number_format == MONEY or number_format.startswith(MONEY + ":"):
        return money(value, int(number_format.partition(":")[2] or 2))
    if number_format.endswith("%"):
        return f"{value * 100:,.2f}%"
    if number_format == COUNT:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def _visible_width(ws) -> float:
    """Characters of column width the printed columns take."""
    return sum(ws.column_dimensions[get_column_letter(j)].width or 8.43 for j in range(1, ws.max_column + 1)
               if not ws.column_dimensions[get_column_letter(j)].hidden)


def _chart_width(ws) -> float:
    """A chart's width (cm): the table's, between 16 and 24 cm (a page's printable width)."""
    return min(24.0, max(16.0, 0.19 * _visible_width(ws)))


def _place_chart(ws, chart, row: int) -> None:
    """Anchor a chart at ``row``, after a manual page break when the printed page it would start on
    has no room for it (row heights, orientation and print scale counted)."""
    width = _visible_width(ws)
    orientation = ws.page_setup.orientation or "portrait"
    if ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage:
        scale = min(1.0, PAGE_CHARS[orientation] / max(width, 1.0))
    else:
        scale = (ws.page_setup.scale or 100) / 100
    page = PAGE_POINTS[orientation] / scale
    breaks = {b.id for b in ws.row_breaks.brk}
    used, pages = 0.0, 1
    for r in range(1, row):
        height = ws.row_dimensions[r].height or 15.0
        if used + height > page or r - 1 in breaks:
            used, pages = 0.0, pages + 1
        used += height
    if used > 0 and used + chart.height * 28.35 + 15 > page * 0.95:
        ws.row_breaks.append(Break(id=row - 1))
        if pages == 1:
            _clear_print_titles(ws, rows=True)  # the table fits its page: no header over the chart's page
    # A little below the row's top edge: on the page break itself, a viewer prints the chart's top
    # border at the foot of the page before.
    anchor = OneCellAnchor()
    anchor._from.row, anchor._from.col, anchor._from.rowOff = row - 1, 0, pixels_to_EMU(4)
    anchor.ext.width, anchor.ext.height = cm_to_EMU(chart.width), cm_to_EMU(chart.height)
    chart.anchor = anchor
    ws.add_chart(chart)


def _unique_headers(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns renamed where their headers in words would clash (an Excel table needs unique headers)."""
    seen, names = set(), []
    for column in frame.columns:
        name, k = column, 2
        while header_words(name).casefold() in seen:
            name, k = f"{column} ({k})", k + 1
        seen.add(header_words(name).casefold())
        names.append(name)
    return frame.set_axis(names, axis=1) if names != list(frame.columns) else frame


def _frontier_chart(ws, frame: pd.DataFrame, series: list, proven: list, first_row: int, row: int) -> None:
    """Engagement against budget: one straight line per series through its proven plans, and the plans
    not proven as hollow orange diamonds of their own series (from two hidden columns beside the table)."""
    columns = list(frame.columns)
    x_col = columns.index("budget") + 1
    y_col = columns.index("weighted_engagement") + 1
    top = first_row + 1
    chart = ScatterChart()
    chart.title = in_objective("Efficient frontier: engagement by budget")
    chart.scatterStyle = "lineMarker"
    chart.display_blanks = "span"  # a line runs on past a point drawn apart
    chart.visible_cells_only = False  # the hidden helper columns are plotted
    chart.x_axis.title = f"Budget ({current()})"
    chart.y_axis.title = in_objective("Weighted expected engagement")
    chart.x_axis.number_format = number_format_of(MONEY_WHOLE)
    chart.y_axis.number_format = "#,##0"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    values = frame["weighted_engagement"].to_numpy(float)
    helpers = None
    if _is_bulk(ws):
        proven = [True] * len(proven)  # no helper cells beside a streamed table: one line through every point
    if not all(proven):
        helpers = len(columns) + 2
        for j, (heading, keep) in enumerate((("Engagement, proven", True), ("Engagement, not proven", False))):
            column = helpers + j
            _set(ws.cell(row=first_row, column=column), heading)
            for i, flag in enumerate(proven):
                if flag == keep:
                    _set(ws.cell(row=top + i, column=column), float(values[i]), COUNT)
            ws.column_dimensions[get_column_letter(column)].hidden = True
    names = np.asarray(series, dtype=object)
    for k, name in enumerate(pd.unique(names)):
        rows = np.flatnonzero(names == name)
        flags = [proven[i] for i in rows]
        if not any(flags):
            continue
        first, last = top + int(rows.min()), top + int(rows.max())  # a line's rows are contiguous
        ys = Reference(ws, min_col=y_col if all(flags) else helpers, min_row=first, max_row=last)
        line = Series(ys, Reference(ws, min_col=x_col, min_row=first, max_row=last), title=str(name))
        # Lines of two mixes often coincide: each its own marker and dash, so neither hides the other.
        line.marker = Marker(symbol=SYMBOLS[k % len(SYMBOLS)], size=7)
        line.graphicalProperties = GraphicalProperties(ln=LineProperties(prstDash=DASHES[k % len(DASHES)], w=19050))
        line.smooth = False
        chart.series.append(line)
        if "p10" in columns:  # the band: 8 campaigns in 10 land between these two thin lines
            for edge, words in (("p10", "P10"), ("p90", "P90")):
                ys = Reference(ws, min_col=columns.index(edge) + 1, min_row=first, max_row=last)
                band = Series(ys, Reference(ws, min_col=x_col, min_row=first, max_row=last),
                              title=f"{name}: {words}" if len(pd.unique(names)) > 1 else words)
                band.marker = Marker(symbol="none")
                band.graphicalProperties = GraphicalProperties(ln=LineProperties(
                    prstDash="sysDot", w=9525, solidFill=BAND_COLORS[k % len(BAND_COLORS)]))
                band.smooth = False
                chart.series.append(band)
    if helpers is not None:
        last = top + len(frame) - 1
        ys = Reference(ws, min_col=helpers + 1, min_row=top, max_row=last)
        apart = Series(ys, Reference(ws, min_col=x_col, min_row=top, max_row=last), title=NOT_PROVEN_SERIES)
        apart.marker = Marker(symbol="diamond", size=10, spPr=GraphicalProperties(
            noFill=True, ln=LineProperties(solidFill=NOT_PROVEN_COLOR, w=22225)))
        apart.graphicalProperties = GraphicalProperties(ln=LineProperties(noFill=True))
        apart.smooth = False
        chart.series.append(apart)
    chart.legend.position = "b"
    chart.height, chart.width = 10, _chart_width(ws)
    _place_chart(ws, chart, row)


def _stacked_chart(ws, table: pd.DataFrame, title: str, first_row: int = 1) -> None:
    """Stacked bars under the table: spend per group for each scenario."""
    if table.empty or len(table.columns) < 2:
        return
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = title
    chart.y_axis.title = f"Spend ({current()})"
    chart.y_axis.number_format = number_format_of(MONEY_WHOLE)
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    last = first_row + len(table)
    chart.add_data(Reference(ws, min_col=2, max_col=len(table.columns), min_row=first_row, max_row=last),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first_row + 1, max_row=last))
    chart.legend.position = "b"
    longest = max((len(str(name)) for name in table["scenario"]), default=0)
    # Many scenarios' names are written slanted under the bars: room for them below the plot.
    chart.height = 9 + (min(3.0, 0.15 * longest) if len(table) > 5 else 0.0)
    chart.width = max(_chart_width(ws), min(24, 2 + 1.5 * len(table)))
    _place_chart(ws, chart, last + 3)


def _run_info_sheet(ws, everything, run_info: dict) -> None:
    """The planner's detail: the solver, the input and settings, then every solve's status, gap and bound."""
    _set(ws.cell(row=1, column=1), "Run info")
    ws.cell(row=1, column=1).font = TITLE
    solvers = sorted({r.plan.outcome.solver for r in everything if r.plan is not None})
    _key_values(ws, [("Solver", ", ".join(solvers) or "-", None)], 3)
    _run_info_rows(ws, run_info, start_row=5)
    solves = pd.DataFrame([{
        "scenario": r.scenario.name,
        "status": r.plan.outcome.describe() if r.plan is not None else r.status.value,
        "gap": r.plan.outcome.gap if r.plan is not None else None,
        "gap_limit": r.plan.outcome.gap_limit if r.plan is not None else None,
        "proven_bound": r.plan.outcome.bound if r.plan is not None else None,
        "objective": r.plan.outcome.objective if r.plan is not None else None,
        "solver_seconds": r.plan.outcome.seconds if r.plan is not None else None,
        "note": r.message,
    } for r in everything])
    # Last on the sheet: a long table is streamed into the saved file, after every cell written here.
    row = ws.max_row + 2
    _set(ws.cell(row=row, column=1), "Every solve (the frontier's extra budgets too)")
    ws.cell(row=row, column=1).font = Font(bold=True)
    _write_table(ws, solves, "Solves", first_row=row + 1, formats={
        "gap": GAP, "gap_limit": GAP, "proven_bound": COUNT, "objective": COUNT, "solver_seconds": "0.000"})
    ws.freeze_panes = None
    _clear_print_titles(ws, rows=True, cols=True)
    note = len(solves.columns)
    for letter, width in (("A", 40), ("B", 70), ("C", 16), (get_column_letter(note), 34)):
        ws.column_dimensions[letter].width = width
    if not _is_bulk(ws):
        for i, text in enumerate(solves["note"].tolist(), start=row + 2):
            for j in range(1, note + 1):
                ws.cell(row=i, column=j).alignment = Alignment(wrap_text=j == note, vertical="top")
            if text:
                ws.row_dimensions[i].height = 15 * wrapped_lines(text, int(33 * CHARS_PER_WIDTH))
    _print_setup(ws, landscape=True)


def _clear_print_titles(ws, rows=False, cols=False) -> None:
    """No rows (or columns) repeated on every printed page (openpyxl's setters ignore None)."""
    if rows:
        ws._print_rows = None
    if cols:
        ws._print_cols = None


def _is_bulk(ws) -> bool:
    """True when the sheet's table is streamed into the saved file (:data:`planner.report.BULK_CELLS`):
    no cell under its first row may then be written here."""
    return ws.title in getattr(ws.parent, "_planner_bulk", {})
