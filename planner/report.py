"""The plan workbook: client sheets (Summary, Allocation, By niche / tier / platform) in the
client's words and currency, titled with the campaign; planner sheets (Rules, Why not, Run info)
with the technical detail (rule ids, proven bound, gap, solver).

Every table is an Excel table with a frozen header, currency and percent
formats and fitted widths. Text that came from the input is always written as
text (never a formula, even when it starts with ``=``, ``+``, ``-`` or ``@``).
The file is written to a temporary file beside the target and moved into place
atomically, so a failure never leaves a half-written report.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import io
import itertools
import math
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from models.campaign import Campaign
from models.checker import plan_engagement
from models.custom import METRICS
from models.engagement import engagement_of
from models.plan import Plan
from models.rules import KINDS, parse
from planner.errors import OutputError, Problem
from planner.money import current, excel_money, in_campaign_currency, money
from planner.words import header_words, in_objective, share_words, status_words

#: Money formats by name; the run's currency is put in when a cell is written (:func:`number_format_of`).
MONEY = "money"
MONEY_WHOLE = "money:0"
MONEY_FINE = "money:4"
PERCENT = "0.00%"
COUNT = "#,##0"
DECIMAL = "#,##0.00"
TITLE = Font(bold=True, size=14, color="1F3864")
BOLD = Font(bold=True)
LABEL_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
_FORMULA_START = ("=", "+", "-", "@")

#: Tables of more cells than this are streamed into the saved file instead of built cell by cell in
#: openpyxl (about 0.1 ms a cell: 30 s for 18,000 booked creators; streaming takes a tenth of that).
BULK_CELLS = 20_000

#: Sheets for the client (what `--client-copy` keeps) and for the planner.
CLIENT_SHEETS = ("Summary", "Allocation", "By niche", "By tier", "By platform")
PLANNER_SHEETS = ("Rules", "Why not", "Run info")
SHEET_NAMES = CLIENT_SHEETS + PLANNER_SHEETS
#: Rows of one Excel sheet.
SHEET_ROWS = 1_048_576
#: Characters of column width that fit across an A4 or Letter page at 100% (0.7" margins), and the
#: smallest print scale a table is fitted to before it is printed across pages instead.
PAGE_CHARS = {"portrait": 90, "landscape": 130}
MIN_PRINT_SCALE = 0.6
#: Rows of 15 points on one printed page (Letter, the shorter), kept low to leave room for wrapped headers.
PAGE_ROWS = 42
SUBTITLE = Font(italic=True, color="595959")
TOTAL_FONT = Font(bold=True)


def _set(cell, value, number_format=None):
    """Write a value; text is forced to stay text, whatever it starts with."""
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        value = None
    if isinstance(value, str):
        value = "".join(ch if ch >= " " or ch in "\t\n" else " " for ch in value)
        cell.value = value
        cell.data_type = "s"
        if value.startswith(_FORMULA_START) or value.startswith("#"):
            cell.quotePrefix = True
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format_of(number_format)


def number_format_of(name: str) -> str:
    """An Excel number format; the money ones in the run's currency."""
    if name == MONEY or name.startswith(MONEY + ":"):
        return excel_money(int(name.partition(":")[2] or 2))
    return name


def allocation_table(campaign: Campaign, plan: Plan) -> pd.DataFrame:
    """One row per booked creator with what it costs and what it buys."""
    creators = campaign.creators
    posts = plan.posts
    cost = creators["cost_per_post"].to_numpy(float)
    spend = posts * cost
    engagement = engagement_of(posts, creators["post_value"].to_numpy(float), campaign.settings.repeat_post_decay)
    weighted = plan_engagement(campaign, posts)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_engagement = np.where(engagement > 0, spend / engagement, np.nan)
    table = pd.DataFrame(
        {
            "creator": creators["creator"],
            "platform": creators["platform"],
            "niche": creators["niche"],
            "tier": creators["tier"],
            "followers": creators["followers"],
            "engagement_rate": creators["engagement_rate"],
            "authenticity": creators["authenticity"],
            "cost_per_post": cost,
            "posts": posts,
            "spend": spend,
            "expected_engagement": engagement,
            "weighted_engagement": weighted,
            "cost_per_engagement": per_engagement,
            "share_of_budget": spend / campaign.settings.total_budget,
            "include": creators["include"],
            "input_row": creators["row"],
        }
    )
    if not len(campaign.extra.columns) == 0:
        extra = campaign.extra.copy()
        extra.columns = [c if c not in table.columns else f"{c} (input)" for c in extra.columns]
        table = pd.concat([table, extra], axis=1)
    booked = table[posts > 0]
    return booked.sort_values(["niche", "spend", "expected_engagement"], ascending=[True, False, False],
                              kind="stable").reset_index(drop=True)


def allocation_totals(allocation: pd.DataFrame) -> dict:
    """The Allocation's totals row: creators, posts, spend and engagement summed over the rows."""
    engagement = float(allocation["expected_engagement"].sum())
    spend = float(allocation["spend"].sum())
    count = len(allocation)
    return {
        "creator": f"Total: {count:,} creator" + ("" if count == 1 else "s"),
        "posts": int(allocation["posts"].sum()),
        "spend": spend,
        "expected_engagement": engagement,
        "weighted_engagement": float(allocation["weighted_engagement"].sum()),
        "cost_per_engagement": spend / engagement if engagement > 0 else None,
        "share_of_budget": float(allocation["share_of_budget"].sum()),
    }


def group_table(campaign: Campaign, plan: Plan, dimension: str) -> pd.DataFrame:
    """Spend, engagement and rules per group of one dimension."""
    creators = campaign.creators
    cost = creators["cost_per_post"].to_numpy(float)
    spend = plan.posts * cost
    engagement = engagement_of(plan.posts, creators["post_value"].to_numpy(float), campaign.settings.repeat_post_decay)
    frame = pd.DataFrame(
        {
            dimension: creators[dimension].replace("", "(not given)"),
            "candidates": 1,
            "creators_booked": (plan.posts > 0).astype(int),
            "posts": plan.posts,
            "spend": spend,
            "expected_engagement": engagement,
        }
    )
    table = frame.groupby(dimension, sort=True).sum().reset_index()
    total_spend = spend.sum()
    table["share_of_budget"] = table["spend"] / campaign.settings.total_budget
    table["share_of_spend"] = table["spend"] / total_spend if total_spend > 0 else 0.0
    total_engagement = engagement.sum()
    table["share_of_engagement"] = table["expected_engagement"] / total_engagement if total_engagement > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        table["cost_per_engagement"] = np.where(
            table["expected_engagement"] > 0, table["spend"] / table["expected_engagement"], np.nan
        )
    rules = {g.group: g for g in campaign.rules_for(dimension)}
    for column in ("min_share", "max_share", "min_creators", "max_creators"):
        table[column] = [getattr(rules[g], column) if g in rules else None for g in table[dimension]]
    if dimension == "niche":
        table["weight"] = [rules[g].weight if g in rules else 1.0 for g in table[dimension]]
    if dimension == "tier":  # in size order, nano to mega, not by spend
        order = {band.name: k for k, band in enumerate(campaign.tiers)}
        return table.sort_values(
            "tier", key=lambda names: names.map(lambda n: order.get(n, len(order)))
        ).reset_index(drop=True)
    return table.sort_values("spend", ascending=False).reset_index(drop=True)


_FORMATS = {
    "followers": COUNT,
    "engagement_rate": PERCENT,
    "authenticity": "0%",
    "cost_per_post": MONEY,
    "posts": COUNT,
    "spend": MONEY,
    "expected_engagement": COUNT,
    "weighted_engagement": COUNT,
    "cost_per_engagement": MONEY_FINE,
    "share_of_budget": PERCENT,
    "share_of_spend": PERCENT,
    "share_of_engagement": PERCENT,
    "min_share": PERCENT,
    "max_share": PERCENT,
    "candidates": COUNT,
    "creators_booked": COUNT,
    "weight": DECIMAL,
}


def _write_table(ws, frame: pd.DataFrame, name: str, first_row: int = 1, formats=None, totals=None) -> None:
    """Write a DataFrame as a styled Excel table with a frozen header in words.

    ``totals`` (column -> value) is written as the table's totals row under the rows.
    """
    formats = {**_FORMATS, **(formats or {})}
    columns = list(frame.columns)
    if totals is not None:
        row = pd.DataFrame([{c: totals.get(c) for c in columns}], columns=columns)
        with warnings.catch_warnings():
            # The totals row leaves most columns empty; they must not turn a numeric column into text.
            warnings.simplefilter("ignore", FutureWarning)
            frame = pd.concat([frame, row], ignore_index=True)
    headers = [header_words(column) for column in columns]
    for j, header in enumerate(headers, start=1):
        _set(ws.cell(row=first_row, column=j), header)
        ws.cell(row=first_row, column=j).font = HEADER_FONT
        ws.cell(row=first_row, column=j).fill = HEADER_FILL
    bulk = len(frame) > 1 and frame.size > BULK_CELLS
    values = frame.head(1).to_numpy(object) if bulk else frame.to_numpy(object)
    if bulk:
        # Only the first row goes through openpyxl (it registers the cell styles); the
        # others are streamed into the saved file by _stream_rows.
        ws.parent._planner_bulk = getattr(ws.parent, "_planner_bulk", {})
        ws.parent._planner_bulk[ws.title] = (frame, first_row + 2)
    for i, row in enumerate(values, start=first_row + 1):
        for j, value in enumerate(row, start=1):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            _set(ws.cell(row=i, column=j), value, formats.get(columns[j - 1]))
    last_row = first_row + max(len(frame), 1)
    if totals is not None and not bulk:
        for j in range(1, len(columns) + 1):
            ws.cell(row=last_row, column=j).font = TOTAL_FONT
    ref = f"A{first_row}:{get_column_letter(len(columns))}{last_row}"
    table = Table(displayName=name, ref=ref)
    # Named up front, or openpyxl reads every cell of the range to name them when saving.
    table.tableColumns = [TableColumn(id=j, name=header) for j, header in enumerate(headers, start=1)]
    # Filter buttons on the header, over the rows (not the totals row).
    table.autoFilter = AutoFilter(
        ref=f"A{first_row}:{get_column_letter(len(columns))}{last_row - (totals is not None)}"
    )
    if totals is not None:
        table.totalsRowCount = 1
        table.tableColumns[0].totalsRowLabel = str(totals.get(columns[0], "Total"))
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = ws.cell(row=first_row + 1, column=2 if name == "Allocation" else 1)
    ws.print_title_rows = f"{first_row}:{first_row}"
    _fit_widths(ws, frame, first_row, headers)
    _print_setup(ws)


def _print_setup(ws, landscape=None, one_page: bool = False) -> None:
    """Print legibly on A4 or Letter: fitted to the page width when that keeps at least 60% size,
    otherwise printed across pages at 60% with the first column and the header repeated."""
    width = sum(ws.column_dimensions[get_column_letter(j)].width or 8.43 for j in range(1, ws.max_column + 1))
    if landscape is None:
        landscape = width > PAGE_CHARS["portrait"]
    orientation = "landscape" if landscape else "portrait"
    ws.page_setup.orientation = orientation
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.5
    capacity = PAGE_CHARS[orientation]
    if one_page:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1
    elif width <= capacity / MIN_PRINT_SCALE:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ws.page_setup.scale = int(MIN_PRINT_SCALE * 100)
        ws.print_title_cols = "A:A"


def _fit_widths(ws, frame: pd.DataFrame, first_row: int, headers=None) -> None:
    """Column widths from a sample of the values; long headers wrap on words, and text longer than
    its column (up to 50 characters wide) wraps in its cells instead of running into the next."""
    sample = frame.head(200)
    headers = headers or [str(c) for c in frame.columns]
    header_lines = 1
    for j, (column, header) in enumerate(zip(frame.columns, headers), start=1):
        values = [f"{v:,.2f}" if isinstance(v, float) else str(v) for v in sample[column].tolist() if v is not None]
        longest = max((len(t) for t in values), default=0)
        widest_word = max((len(w) for w in header.split()), default=0)
        width = max(min(longest + 3, 50), widest_word + 3, min(len(header) + 2, 16), 9)
        ws.column_dimensions[get_column_letter(j)].width = width
        ws.cell(row=first_row, column=j).alignment = Alignment(wrap_text=True, vertical="bottom")
        header_lines = max(header_lines, wrapped_lines(header, width - 2))
        if longest + 3 > width and len(frame) * len(headers) <= BULK_CELLS:
            for i in range(first_row + 1, first_row + 1 + len(frame)):
                ws.cell(row=i, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    if header_lines > 1:
        ws.row_dimensions[first_row].height = 15 * header_lines


def wrapped_lines(text: str, width: int) -> int:
    """Lines a text takes when wrapped on words at this width."""
    lines, used = 1, 0
    for word in str(text).split():
        if used and used + 1 + len(word) > width:
            lines, used = lines + 1, len(word)
        else:
            used += (1 if used else 0) + len(word)
    return lines


def _title(ws, heading: str, identity: dict) -> int:
    """A client sheet's title: the campaign and what the sheet shows, then the client and the date.

    Returns the first row under it (the table's header row).
    """
    name = identity.get("campaign")
    _set(ws.cell(row=1, column=1), f"{name}: {heading}" if name else heading)
    ws.cell(row=1, column=1).font = TITLE
    client = identity.get("client")
    line = (f"Prepared for {client}, " if client else "Prepared ") + identity.get("date", "")
    _set(ws.cell(row=2, column=1), line)
    ws.cell(row=2, column=1).font = SUBTITLE
    return 4


def identity_of(settings) -> dict:
    """The campaign, the client and today's date, as every client sheet's title shows them."""
    today = datetime.date.today()
    return {"campaign": settings.campaign, "client": settings.client,
            "date": f"{today.day} {today:%B %Y}"}


def _chart_row(ws, row: int, chart_rows: int) -> int:
    """The row to anchor a chart at so no page break cuts it: a manual break before it when needed."""
    if (row - 1) % PAGE_ROWS + chart_rows > PAGE_ROWS:
        ws.row_breaks.append(Break(id=row - 1))
    return row


def _key_values(ws, rows, start_row: int, label_chars: int = 40, value_chars: int = 70) -> int:
    """Label | value rows, both wrapped within their column widths; returns the next free row."""
    r = start_row
    for label, value, number_format in rows:
        _set(ws.cell(row=r, column=1), label)
        ws.cell(row=r, column=1).font = BOLD
        ws.cell(row=r, column=1).fill = LABEL_FILL
        _set(ws.cell(row=r, column=2), value, number_format)
        ws.cell(row=r, column=2).alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
        ws.cell(row=r, column=1).alignment = Alignment(vertical="top", wrap_text=True)
        lines = max(math.ceil(len(str(label)) / label_chars),
                    math.ceil(len(value) / value_chars) if isinstance(value, str) else 1, 1)
        if lines > 1:  # viewers do not all grow wrapped rows by themselves
            ws.row_dimensions[r].height = 15 * lines
        r += 1
    return r


@in_campaign_currency
def build_workbook(campaign: Campaign, plan: Plan, run_info: dict) -> Workbook:
    """Assemble the plan workbook: client sheets first, then the planner's.

    Parameters
    ----------
    campaign : Campaign
    plan : Plan
    run_info : dict
        Keys: input, sha256, settings (list of (setting, value, source)),
        versions (dict), warnings (list of str), timings (dict).

    Returns
    -------
    openpyxl.Workbook
    """
    identity = identity_of(campaign.settings)
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    allocation = allocation_table(campaign, plan)

    ws = wb.create_sheet("Allocation")
    # A full sheet of bookings leaves no room for the title rows (and then the totals row): they give way.
    first_row = _title(ws, "Who to book", identity) if len(allocation) + 5 <= SHEET_ROWS else 1
    totals = allocation_totals(allocation) if first_row + len(allocation) + 1 <= SHEET_ROWS else None
    _write_table(ws, allocation, "Allocation", first_row=first_row, totals=totals)

    for dimension, title in (("niche", "By niche"), ("tier", "By tier"), ("platform", "By platform")):
        ws = wb.create_sheet(title)
        table = group_table(campaign, plan, dimension)
        first_row = _title(ws, in_objective(f"Spend and engagement by {dimension}"), identity)
        _write_table(ws, table, title.replace(" ", "_"), first_row=first_row)
        if len(table) > 1:
            _spend_chart(ws, table, dimension, first_row)
        if dimension == "tier":
            by_tier, tier_sheet, tier_row = table, ws, first_row
    draws = None
    if plan.risk is not None:
        draws = _risk_sheet(wb.create_sheet("Risk"), plan.risk, identity, plan.risk_neutral)
    _summary_sheet(summary, campaign, plan, allocation, identity, tier_sheet, by_tier, tier_row, draws)

    ws = wb.create_sheet("Rules")
    rules = plan.rules.copy()
    rules["holds"] = rules["holds"].map({True: "yes", False: "NO"})
    rules["binding"] = rules["binding"].map({True: "binding", False: ""})
    rules = rules[["description", "rule", *[c for c in rules.columns if c not in ("description", "rule")]]]
    explanation = plan.explanation or {}
    costs = explanation.get("costs")
    if costs is not None and len(costs["table"]):
        priced = costs["table"].rename(columns={"step": "loosened_by"})
        rules = rules.merge(priced, on="rule", how="left")
    _write_table(ws, rules, "Rules", formats={"limit": DECIMAL, "planned": DECIMAL, "slack": DECIMAL,
                                              "engagement_gain": COUNT, "gain_low": COUNT, "gain_high": COUNT})
    _format_rule_units(ws, rules)
    if costs is not None:
        note = len(rules) + 3
        _set(ws.cell(row=note, column=1), "Engagement gain: re-solving with the rule loosened by the step shown "
                                          "(not LP duals); gain low/high bracket it when a re-solve stops early.")

    if explanation.get("why_not") is not None:
        ws = wb.create_sheet("Why not")
        _write_table(ws, explanation["why_not"], "Why_not", formats={
            "cost_per_post": MONEY, "weighted_engagement_per_post": COUNT, "engagement_per_dollar": DECIMAL})

    _run_info_sheet(wb.create_sheet("Run info"), plan, run_info)
    return wb


def _summary_sheet(ws, campaign: Campaign, plan: Plan, allocation: pd.DataFrame, identity: dict,
                   tier_sheet, by_tier: pd.DataFrame, tier_row: int, draws=None) -> None:
    """A one-page brief: the headline numbers, what limits the plan, the lift, a chart by tier."""
    budget = campaign.settings.total_budget
    first_row = _title(ws, "Campaign plan", identity)
    engagement = float(allocation["expected_engagement"].sum())
    weighted = plan.engagement
    baseline = plan.baseline_engagement or 0.0
    lift = (weighted - baseline) / baseline if baseline > 0 else None
    rows = [
        ("Status", status_words(plan.outcome), None),
        *([("Why nothing is booked", plan.empty_reason, None)] if plan.empty_reason else []),
        ("Total budget", budget, MONEY),
        ("Planned spend", plan.spend, MONEY),
        ("Budget left", budget - plan.spend, MONEY),
        ("Share of budget spent", plan.spend / budget, PERCENT),
        ("Creators booked", plan.creators_booked, COUNT),
        ("Posts", int(plan.posts.sum()), COUNT),
        ("Expected engagement", engagement, COUNT),
        # What the plan maximises (the Expected engagement above unless a niche weight is not 1).
        ("Weighted engagement (objective, niche weights applied)", weighted, COUNT),
        ("Cost per engagement", plan.spend / engagement if engagement > 0 else None, MONEY_FINE),
        ("Rule-of-thumb plan (best engagement per dollar first)", baseline, COUNT),
        ("Lift over the rule-of-thumb plan", lift, PERCENT),
        ("Against the rule of thumb", _lift_words(plan, lift), None),
        ("Rules the rule-of-thumb plan breaks",
         "; ".join(plan.baseline_violations) if plan.baseline_violations else "none", None),
    ]
    # The planner's own words name the objective; rule descriptions and handles stay as written.
    own = {"Against the rule of thumb"}
    rows = [(in_objective(label), in_objective(value) if label in own else value, fmt) for label, value, fmt in rows]
    rows += _other_metrics(campaign, plan)
    rows.append(_range_row(plan))
    limits = _limit_sentences(plan)
    rows += [("What limits the plan" if k == 0 else "", sentence, None) for k, sentence in enumerate(limits)]
    explanation = plan.explanation or {}
    costs = explanation.get("costs")
    if costs is not None:
        rows.append((in_objective(f"Engagement per extra {money(1000, 0)} of budget (re-solved)"),
                     costs["budget_marginal"], COUNT))
    if explanation.get("unspent"):
        rows.append(("Budget left unspent", explanation["unspent"], None))
    next_row = _key_values(ws, rows, first_row)
    if plan.warnings:
        _set(ws.cell(row=next_row + 1, column=1), "Notes")
        ws.cell(row=next_row + 1, column=1).font = BOLD
        for k, warning in enumerate(plan.warnings):
            _set(ws.cell(row=next_row + 2 + k, column=1), warning)
        next_row += len(plan.warnings) + 2
    ws.column_dimensions["A"].width = 42
    ws.column_dimensions["B"].width = 72
    if by_tier is not None and plan.spend > 0 and len(by_tier) > 1:
        _tier_chart(ws, tier_sheet, by_tier, tier_row, next_row + 1)
        next_row += 16
    if draws is not None:  # the range as a picture: how the plan's value spreads over the draws
        ws.add_chart(_draws_chart(*draws), f"A{next_row + 1}")
    _print_setup(ws, landscape=False, one_page=True)


def _other_metrics(campaign: Campaign, plan: Plan) -> list:
    """What the plan buys in every other metric the input allows (engagement, reach, conversions)."""
    creators, objective = campaign.creators, campaign.settings.objective
    rows = []
    for metric, column in METRICS.items():
        if metric == objective or column not in creators and not (metric == "engagement" and objective != "engagement"):
            continue
        values = creators[column if column in creators else "post_value"].to_numpy(float)
        if np.isnan(values[plan.posts > 0]).any():
            rows.append((f"Expected {metric} (not planned for)", f"not given for every booked creator (the input "
                         f"gives no {metric} for some)", None))
            continue
        total = float(np.nansum(engagement_of(plan.posts, values, campaign.settings.repeat_post_decay)))
        rows.append((f"Expected {metric} (not planned for)", total, COUNT))
    return rows


def _range_row(plan: Plan) -> tuple:
    """How sure the plan is, in one sentence (or what to add to the input to know)."""
    risk = plan.risk
    noun = in_objective("engagement")
    if risk is None and noun not in ("engagement", "conversions"):
        return ("Range of outcomes", f"Not computed: the plan is made for {noun}, which does not move with the "
                                     "engagement rate the ranges describe", None)
    if risk is None:
        return ("Range of outcomes", "Not computed: add engagement_rate_low and engagement_rate_high columns (the "
                "10th and 90th percentiles of each creator's rate), or an engagement_cv setting", None)
    return ("Range of outcomes",
            in_objective(f"Expected {risk.mean:,.0f} weighted engagement; 8 in 10 campaigns land "
                         f"between {risk.p10:,.0f} and {risk.p90:,.0f} (see the Risk sheet)"),
            None)


def _risk_sheet(ws, risk, identity: dict, neutral=None) -> None:
    """Risk figures of the plan's value (statistic | value) and the distribution of the draws."""
    first_row = _title(ws, "How sure the plan is", identity)
    table = pd.DataFrame(risk.rows(), columns=["statistic", "value"])
    if neutral is not None:  # a risk-averse plan beside the best-mean plan, on the same fresh draws
        table["best_mean_plan"] = [value for _, value in neutral.rows()]
    _write_table(ws, table, "Risk", first_row=first_row, formats={"value": COUNT, "best_mean_plan": COUNT})
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 16
    note = first_row + len(table) + 2
    lines = (f"Each creator's rate is drawn {risk.draws:,} times around its estimate (lognormal),",
             "one draw for all its posts, creators of a niche moving partly together.",
             f"P10: 1 campaign in 10 does worse. CVaR: the mean of the worst {risk.level:.0%} of campaigns.")
    for k, line in enumerate(lines):
        _set(ws.cell(row=note + k, column=1), line)
    edges, counts = risk.histogram
    chart_row = note + len(lines) + 1
    start = chart_row + 17  # the chart's data under it
    _set(ws.cell(row=start, column=1), in_objective("Weighted engagement (middle of the bin)"))
    _set(ws.cell(row=start, column=2), "Draws")
    for cell in (ws.cell(row=start, column=1), ws.cell(row=start, column=2)):
        cell.font = BOLD
    for k, count in enumerate(counts, start=start + 1):
        _set(ws.cell(row=k, column=1), f"{(edges[k - start - 1] + edges[k - start]) / 2:,.0f}")
        _set(ws.cell(row=k, column=2), int(count), COUNT)
    ws.add_chart(_draws_chart(ws, start, len(counts)), f"A{chart_row}")
    _print_setup(ws, one_page=True)
    return ws, start, len(counts)


def _draws_chart(ws, start: int, bins: int) -> BarChart:
    """Columns of draws per bin of the plan's value, from the Risk sheet's bin table."""
    chart = BarChart()
    chart.type = "col"
    chart.title = in_objective("Weighted engagement over the draws")
    chart.gapWidth = 10
    chart.legend = None
    chart.add_data(Reference(ws, min_col=2, min_row=start, max_row=start + bins), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=start + 1, max_row=start + bins))
    chart.height, chart.width = 7.5, 16
    return chart


def _lift_words(plan: Plan, lift) -> str:
    """The lift over the rule of thumb as a sentence."""
    if lift is None:
        return "The rule of thumb (best engagement per dollar first) books nothing here."
    if abs(lift) < 5e-5:
        text = "The same engagement as booking the best engagement per dollar first (the rule of thumb)"
    else:
        more = "more" if lift > 0 else "less"
        text = (f"{share_words(round(abs(lift), 4))} {more} engagement than booking the best engagement per dollar "
                "first (the rule of thumb)")
    broken = len(plan.baseline_violations)
    if broken:
        text += f", which breaks {broken} rule{'s' if broken > 1 else ''}"
    return text + "."


def _limit_sentences(plan: Plan) -> list:
    """One sentence per rule that stops a better plan, with what loosening it would add when priced."""
    rules = plan.rules[plan.rules["binding"]]
    costs = (plan.explanation or {}).get("costs")
    priced = costs["table"].set_index("rule") if costs is not None and len(costs["table"]) else None
    sentences = []
    for rule in rules.itertuples():
        if rule.rule == "budget":
            text = "The budget: no further post fits in what is left"
        else:
            text = f"{rule.description}: the plan is at this limit"
        if priced is not None and rule.rule in priced.index:
            gain = priced.loc[rule.rule, "engagement_gain"]
            step = priced.loc[rule.rule, "step"]
            if isinstance(gain, (int, float)) and math.isfinite(gain):
                text += in_objective(f"; loosening it ({step}) would add about {gain:,.0f} engagement")
        sentences.append(text + ".")
    return sentences or ["No rule holds the plan back: every creator worth booking is booked as often as allowed."]


def _tier_chart(ws, tier_sheet, by_tier: pd.DataFrame, first_row: int, row: int) -> None:
    """Share of spend beside share of engagement per tier (from the By tier sheet), under the brief."""
    columns = list(by_tier.columns)
    spend = columns.index("share_of_spend") + 1
    engagement = columns.index("share_of_engagement") + 1
    last = first_row + len(by_tier)
    chart = BarChart()
    chart.type = "col"
    chart.title = in_objective("Share of spend and of engagement by tier")
    chart.y_axis.numFmt = "0%"
    chart.y_axis.majorGridlines = None
    for column in (spend, engagement):
        chart.add_data(Reference(tier_sheet, min_col=column, min_row=first_row, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(tier_sheet, min_col=1, min_row=first_row + 1, max_row=last))
    chart.legend.position = "b"
    chart.height = 7
    chart.width = 18
    ws.add_chart(chart, f"A{row}")


def _spend_chart(ws, table: pd.DataFrame, dimension: str, first_row: int = 1) -> None:
    """A native bar chart of spend per group, under the table, never split by a page break."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = f"Spend by {dimension}"
    chart.y_axis.title = f"Spend ({current()})"
    chart.y_axis.numFmt = number_format_of(MONEY_WHOLE)
    spend_col = list(table.columns).index("spend") + 1
    last = first_row + len(table)
    data = Reference(ws, min_col=spend_col, min_row=first_row, max_row=last)
    labels = Reference(ws, min_col=1, min_row=first_row + 1, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(labels)
    chart.legend = None
    chart.x_axis.scaling.orientation = "maxMin"  # groups top to bottom, in the table's order
    chart.height = max(7.5, 0.6 * len(table) + 3)
    chart.width = 16
    chart_rows = math.ceil(chart.height * 28.35 / 15) + 1
    ws.add_chart(chart, f"A{_chart_row(ws, last + 3, chart_rows)}")


def _format_rule_units(ws, rules: pd.DataFrame) -> None:
    """Per-row formats on the Rules sheet: shares as percents, money as dollars, counts whole."""
    columns = list(rules.columns)
    targets = [columns.index(c) + 1 for c in ("limit", "planned", "slack")]
    for i, unit in enumerate(rules["unit"].tolist(), start=2):
        number_format = PERCENT if unit.startswith("share") else MONEY if unit == "$" else COUNT
        for j in targets:
            ws.cell(row=i, column=j).number_format = number_format_of(number_format)


def _run_info_sheet(ws, plan: Plan, info: dict) -> None:
    """Provenance of one plan: the solve, then input, settings, versions, warnings."""
    _set(ws.cell(row=1, column=1), "Run info")
    ws.cell(row=1, column=1).font = TITLE
    outcome = plan.outcome
    rows = [
        ("Solver", outcome.solver, None),
        ("Status", outcome.describe(), None),
        ("Status in the client's words", status_words(outcome), None),
        (in_objective("Objective (weighted engagement)"), outcome.objective, COUNT),
        ("Proven bound", outcome.bound, COUNT),
        ("Gap", outcome.gap, "0.0000%"),
        ("Gap limit", outcome.gap_limit, "0.0000%"),
        ("Independent check", "passed: every rule holds", None),
    ]
    _run_info_rows(ws, info, _key_values(ws, rows, 3))


def _run_info_rows(ws, info: dict, start_row: int) -> None:
    """Input file and hash, times, versions, settings with their source, warnings."""
    rows = [
        ("Input file", info.get("input", ""), None),
        ("Input SHA-256", info.get("sha256", ""), None),
        ("Written at", info.get("written_at", ""), None),
    ]
    rows += [(f"Time: {stage} (s)", seconds, "0.000") for stage, seconds in info.get("timings", {}).items()]
    rows += [(f"Version: {name}", version, None) for name, version in info.get("versions", {}).items()]
    r = _key_values(ws, rows, start_row) + 1
    settings = pd.DataFrame(info.get("settings", []), columns=["setting", "value", "source"])
    settings["value"] = settings["value"].map(lambda v: "(none)" if v is None else v)
    _set(ws.cell(row=r, column=1), "Settings (source: input, default or command line)")
    ws.cell(row=r, column=1).font = BOLD
    _write_table(ws, settings, "Settings", first_row=r + 1)
    r += len(settings) + 3
    _set(ws.cell(row=r, column=1), "Warnings")
    ws.cell(row=r, column=1).font = BOLD
    for k, warning in enumerate(info.get("warnings", []) or ["none"], start=1):
        _set(ws.cell(row=r + k, column=1), warning)
    ws.freeze_panes = None
    ws.print_title_rows = None
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 16
    _print_setup(ws, landscape=True)


@in_campaign_currency
def build_diagnosis_workbook(campaign: Campaign, explanation: list, suggestions: list, run_info: dict) -> Workbook:
    """The workbook written when the rules cannot all hold: Diagnosis and Run info."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Diagnosis"
    _set(ws.cell(row=1, column=1), "The rules cannot all hold")
    ws.cell(row=1, column=1).font = TITLE
    for k, line in enumerate(explanation, start=3):
        _set(ws.cell(row=k, column=1), line)
        ws.cell(row=k, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[k].height = 15 * max(1, math.ceil(len(line) / 85))
    row = len(explanation) + 4
    if suggestions:
        _set(ws.cell(row=row, column=1), "Changes that each let a plan exist (each verified by re-planning)")
        ws.cell(row=row, column=1).font = BOLD
        table = pd.DataFrame(
            [(s.change, s.rule, s.new_value, "yes" if s.verified else "no") for s in suggestions],
            columns=["change", "rule", "new_value", "verified"],
        )
        _write_table(ws, table, "Suggestions", first_row=row + 1)
        for k, suggestion in enumerate(suggestions, start=row + 2):  # each new value in its rule's unit
            kind = parse(suggestion.rule)[0]
            unit = KINDS[kind].unit if kind is not None else None
            number_format = PERCENT if unit == "share" else MONEY if unit == "$" else COUNT
            if isinstance(suggestion.new_value, (int, float)):
                ws.cell(row=k, column=3).number_format = number_format_of(number_format)
            ws.cell(row=k, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = None
    ws.column_dimensions["A"].width = 90
    ws.column_dimensions["B"].width = 34
    ws.column_dimensions["C"].width = 14
    ws.column_dimensions["D"].width = 10
    _print_setup(ws, landscape=True)
    info = wb.create_sheet("Run info")
    _set(info.cell(row=1, column=1), "Run info")
    info.cell(row=1, column=1).font = TITLE
    _run_info_rows(info, run_info, 3)
    return wb


def check_output_path(output, input_path=None) -> Path:
    """Refuse outputs that are not .xlsx or that would replace the input."""
    output = Path(output)
    if output.suffix.lower() != ".xlsx":
        raise OutputError(Problem(str(output), "the report must be an .xlsx file; give a name ending in .xlsx"))
    if len(output.name.encode("utf-8")) > 255:
        raise OutputError(Problem(str(output), "the file name is too long for the file system; choose a shorter one"))
    if input_path is not None:
        source = Path(input_path)
        same = output.resolve() == source.resolve()
        if not same and output.exists() and source.exists():
            same = os.path.samefile(output, source)
        if not same and output.parent.resolve() == source.parent.resolve():
            same = output.name.casefold() == source.name.casefold()
        if same:
            raise OutputError(Problem(str(output), "the report would replace the input file; choose another name"))
    folder = output.parent
    for part in [folder, *folder.parents]:
        if part.is_file():
            raise OutputError(Problem(str(output), f"{part} is a file, not a folder; choose a folder for the report"))
    if not folder.exists():
        raise OutputError(Problem(str(output), f"the folder {folder} does not exist"))
    if output.is_dir():
        raise OutputError(Problem(str(output), "is a folder; give a file name ending in .xlsx"))
    # Fail before any solving, not after: the report is written to a temporary file in this folder
    # and moved into place, so both must be possible.
    try:
        handle, probe = tempfile.mkstemp(prefix=".planner-check-", suffix=".xlsx", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(Problem(str(output), f"cannot write in the folder {folder} ({exc.strerror or exc}); "
                                  "choose a folder you can write to")) from None
    if output.exists() and not os.access(output, os.W_OK):
        raise OutputError(Problem(str(output), "exists and cannot be replaced (read-only); choose another name"))
    return output


def save_atomically(wb: Workbook, output) -> None:
    """Save to a temporary file beside the target, then move it into place."""
    output = Path(output)
    handle, temporary = tempfile.mkstemp(prefix=".planner-", suffix=".xlsx", dir=output.parent)
    os.close(handle)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # an ordinary file, not mkstemp's private 0600
        wb.save(temporary)
        bulk = getattr(wb, "_planner_bulk", {})
        if bulk:
            _stream_rows(temporary, {
                f"xl/worksheets/sheet{wb.worksheets.index(wb[title]) + 1}.xml": (frame.iloc[1:], first_row)
                for title, (frame, first_row) in bulk.items()
            })
        os.replace(temporary, output)
    except BaseException as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise OutputError(Problem(str(output), f"could not be written ({exc.strerror or exc}); if it is open in "
                                      "Excel close it, check the disk has room, and run again")) from None
        raise


def save_client_copy(wb: Workbook, output, client_sheets) -> None:
    """Save the client sheets of a saved report alone: nothing internal (rule ids, solver, bound) goes along."""
    for ws in list(wb.worksheets):
        if ws.title not in client_sheets:
            wb.remove(ws)
            getattr(wb, "_planner_bulk", {}).pop(ws.title, None)
    wb.active = 0
    save_atomically(wb, output)


#: Deflate level of streamed sheets: level 1 compresses a 185,000-row sheet (160 MB of XML) in
#: about a second to 26 MB; the default level 6 takes three times as long for 20 MB.
STREAM_LEVEL = 1
#: Rows built per chunk of a streamed sheet; each chunk is compressed while the next is built.
STREAM_CHUNK = 10_000

_CELL_STYLE = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(/?)>')
_STYLE_ID = re.compile(r'\ss="(\d+)"')
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")
_ESCAPED = re.compile("[\x00-\x08\x0b-\x1f&<>]")


def _stream_rows(path, tables: dict) -> None:
    """Append each table's remaining rows to its saved sheet, styled like the row openpyxl wrote.

    ``tables`` maps a sheet's part name to (rows to add, number of the first
    of them). The saved file is rewritten in place, with each streamed sheet
    deflated in a second thread while the next rows are built. Text is written
    as inline strings, which a spreadsheet never evaluates, so a creator named
    ``=1+2`` stays text as it does in the cells openpyxl writes.
    """
    with open(path, "rb") as handle:
        saved = io.BytesIO(handle.read())  # small: openpyxl wrote one row of each streamed table
    with zipfile.ZipFile(saved) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=STREAM_LEVEL) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename not in tables:
                target.writestr(info, data)  # as openpyxl compressed it
                continue
            frame, first_row = tables[info.filename]
            xml = data.decode("utf-8")
            styles = {}
            for column, row, attributes, _ in _CELL_STYLE.findall(xml):
                if int(row) == first_row - 1:
                    found = _STYLE_ID.search(attributes)
                    styles[column] = f' s="{found.group(1)}"' if found else ""
            cut = xml.index("</sheetData>")
            last = first_row + len(frame) - 1
            head = re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:{get_column_letter(frame.shape[1])}{last}"',
                          xml[:cut], count=1)
            with target.open(info.filename, "w", force_zip64=True) as out, \
                    concurrent.futures.ThreadPoolExecutor(1) as writer:
                # zlib and the file write release the GIL: compressing one chunk overlaps building the next.
                pending = writer.submit(out.write, head.encode("utf-8"))
                for chunk in _row_chunks(frame, first_row, styles):
                    data = chunk.encode("utf-8")
                    pending.result()
                    pending = writer.submit(out.write, data)
                pending.result()
                out.write(xml[cut:].encode("utf-8"))


def _row_chunks(frame: pd.DataFrame, first_row: int, styles: dict):
    """The rows' XML, :data:`STREAM_CHUNK` rows a string.

    Each column is turned into text in bulk; a row is then the row number and
    the column texts between fixed pieces of markup, all joined in one pass.
    """
    numbers = list(map(str, range(first_row, first_row + len(frame))))
    pieces = ['<row r="', numbers, '">']
    for j in range(frame.shape[1]):
        letter = get_column_letter(j + 1)
        style = styles.get(letter, "")
        kind, texts = _column_texts(frame.iloc[:, j], letter, style, first_row)
        if kind == "number":
            pieces += [f'<c r="{letter}', numbers, f'"{style}><v>', texts, "</v></c>"]
        elif kind == "text":
            pieces += [f'<c r="{letter}', numbers, f'"{style} t="inlineStr"><is><t xml:space="preserve">', texts,
                       "</t></is></c>"]
        else:
            pieces.append(texts)
    pieces.append("</row>")
    merged = []  # neighbouring fixed pieces as one
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    rows = zip(*[itertools.repeat(piece) if isinstance(piece, str) else piece for piece in merged])
    while True:
        chunk = "".join(itertools.chain.from_iterable(itertools.islice(rows, STREAM_CHUNK)))
        if not chunk:
            return
        yield chunk


def _column_texts(values: pd.Series, letter: str, style: str, first_row: int):
    """A column as ("number", value texts), ("text", escaped texts) or ("cell", whole cell tags, '' for a blank)."""
    if values.dtype.kind in "iuf":
        numbers = values.to_numpy()
        if values.dtype.kind != "f" or np.isfinite(numbers).all():
            return "number", list(map(repr, numbers.tolist()))  # Python's shortest round-trip text
    else:
        texts = values.tolist()
        if all(type(t) is str for t in texts):
            if _ESCAPED.search("".join(texts)) is not None:
                texts = [_escape(t) for t in texts]
            return "text", texts
    return "cell", _column_cells(values, letter, style, first_row)


def _escape(text: str) -> str:
    """Text safe inside an XML element: control characters as spaces, markup characters escaped."""
    return _CONTROL.sub(" ", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column_cells(values: pd.Series, letter: str, style: str, first_row: int) -> list:
    """Each value of a column with blanks or mixed types as a cell tag ('' for a blank)."""
    rows = range(first_row, first_row + len(values))
    cells = []
    for r, value in zip(rows, values.tolist()):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            cells.append("")
        elif isinstance(value, bool):
            cells.append(f'<c r="{letter}{r}"{style} t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, (int, float)):
            cells.append(f'<c r="{letter}{r}"{style}><v>{value!r}</v></c>')
        else:
            cells.append(f'<c r="{letter}{r}"{style} t="inlineStr">'
                         f'<is><t xml:space="preserve">{_escape(str(value))}</t></is></c>')
    return cells
