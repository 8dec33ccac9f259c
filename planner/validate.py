"""Validation: raw sheets in, a typed :class:`Campaign` out, or every problem found.

One small function per rule; each names every offending row (sheet, row,
column, value, what to do), and all problems are collected before anything is
refused. Numbers are parsed in bulk over whole columns, accepting what planners
write: ``12.5K``, ``1.2M``, ``$1,200``, ``1,200.50``, ``3.5%``, ``0.035``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

from models.campaign import (
    DEFAULT_TIERS,
    DIMENSIONS,
    EXCLUDE,
    MUST,
    Campaign,
    GroupRule,
    Settings,
    TierBand,
    tier_of,
)
from models.custom import COUNTS, METRICS, CustomRule
from models.engagement import post_value
from models.scenario import BUILTIN_MIXES, Scenario
from planner.errors import InputError, Problem, shown_value
from planner.money import DEFAULT as DEFAULT_CURRENCY
from planner.money import currency_of
from planner.numbers import (
    clean_text,
    count_control,
    CURRENCIES,
    DECIMAL,
    identity_keys,
    LIMITS,
    object_array,
    parse_numbers,
    ParsedColumn,
    per_distinct,
    SEPARATOR_WORDS,
    vectorised,
)
from planner.processes import SOLVER_CHOICES, solver_name
from planner.workbook import (
    HeaderNotFoundError,
    RawWorkbook,
    first_row_note,
    merged_cell_problems,
    normalise_header,
    table_from_rows,
)

CREATOR_REQUIRED = ("creator", "niche", "followers", "engagement_rate", "cost_per_post")
CREATOR_OPTIONAL = ("platform", "max_posts", "min_posts", "authenticity", "expected_engagement", "include", "tier",
                    "engagement_rate_low", "engagement_rate_high", "expected_reach", "reach_rate", "conversion_rate")
#: The Custom rules sheet's columns.
CUSTOM_COLUMNS = ("rule", "measure", "per", "where", "weight_column", "min", "max", "min_share", "max_share")
CREATOR_SYNONYMS = {
    "handle": "creator",
    "username": "creator",
    "influencer": "creator",
    "creator_handle": "creator",
    "category": "niche",
    "follower_count": "followers",
    "subscribers": "followers",
    "followers_count": "followers",
    "er": "engagement_rate",
    "engagement_rate_%": "engagement_rate",
    "cost": "cost_per_post",
    "price_per_post": "cost_per_post",
    "rate_per_post": "cost_per_post",
}
SETTING_NAMES = tuple(f.name for f in fields(Settings))
SHEETS = {"niche": "Niches", "tier": "Tiers", "platform": "Platforms"}
class _NotATable(Problem):
    """The Creators header was not found (for CSV input: the file is likely not a table at all)."""


@dataclass
class Validation:
    """What validation produced besides the campaign."""

    warnings: list = field(default_factory=list)
    sources: dict = field(default_factory=dict)  # setting -> "input" / "default" / "command line"
    counts: dict = field(default_factory=dict)
    tier_conversion: dict = field(default_factory=dict)  # Tiers sheet: tier -> conversion_rate


class _Collector:
    """Collects problems for one sheet, with Excel row numbers."""

    def __init__(self, sheet, rows, headers):
        self.sheet = sheet
        self.rows = np.asarray(rows)
        self.headers = headers
        self.problems = []

    def add(self, index, column, value, message, group=None):
        """One problem at table index (None for the whole sheet)."""
        row = None if index is None else int(self.rows[index])
        shown = self.headers.get(column, column) if column else None
        self.problems.append(Problem(self.sheet, message, row, shown, value, group))

    def each(self, mask, column, raw, message):
        """One problem per row where mask holds."""
        for i in np.flatnonzero(mask):
            self.add(i, column, raw[i], message)


def _number_column(table, column, collector, *, required, minimum=0.0, allow_percent=False, integer=False,
                   money=False):
    """Parse one numeric column with the checks every number column shares (money: note its currency)."""
    raw = table[column].to_numpy(object) if column in table else np.full(len(table), None, object)
    parsed = parse_numbers(raw)
    if money:
        _note_currencies(parsed, collector.sheet, collector.rows, collector.headers.get(column, column), raw)
    for i in np.flatnonzero(parsed.bad != ""):
        collector.add(i, column, raw[i], parsed.bad[i])
    if required:
        collector.each(parsed.blank, column, raw, "is blank; a value is required")
    if not allow_percent:
        collector.each(parsed.percent, column, raw, "is a percent, but this column takes a plain number")
    values = parsed.values
    with np.errstate(invalid="ignore"):
        if minimum is not None:
            collector.each(values < minimum, column, raw, f"must be at least {minimum:g}")
        if column in LIMITS:
            collector.each(values > LIMITS[column], column, raw,
                           f"is above {LIMITS[column]:,.0f}, more than any campaign has; check the value")
        if integer:
            collector.each(~np.isnan(values) & (np.mod(values, 1) != 0), column, raw, "must be a whole number")
    return parsed, raw


def _fraction_column(table, column, collector, warnings, *, sheet_label):
    """A 0-1 share column: fractions or percent strings; plain numbers in (1, 100] only as a whole column."""
    parsed, raw = _number_column(table, column, collector, required=False, minimum=0.0, allow_percent=True)
    values = parsed.values.copy()
    values[parsed.percent] /= 100.0
    plain = ~parsed.percent & ~np.isnan(parsed.values)
    above_one = plain & (parsed.values > 1)
    if above_one.any():
        if (parsed.values[plain] > 1).all() and (parsed.values[plain] <= 100).all():
            values[plain] /= 100.0
            warnings.append(
                f"{sheet_label}: column '{collector.headers.get(column, column)}' holds plain numbers "
                "between 1 and 100 only; read them as percents (3.5 = 3.5%)"
            )
        else:
            collector.each(
                above_one,
                column,
                raw,
                "is above 1: write a fraction (0.035) or a percent (3.5%); plain numbers above 1 are "
                "read as percents only when the whole column is between 1 and 100",
            )
    collector.each(~np.isnan(values) & (values > 1 + 1e-12) & ~above_one, column, raw, "is above 100%")
    return values, raw


def _note_currencies(parsed: ParsedColumn, sheet, rows, column, raw) -> None:
    """Remember the first cell of each currency symbol a money column carries."""
    seen = CURRENCIES.get()
    if seen is None or parsed.currency is None:
        return
    for symbol in pd.unique(parsed.currency):
        if symbol and symbol not in seen:
            i = int(np.flatnonzero(parsed.currency == symbol)[0])
            seen[symbol] = Problem(sheet, "", int(rows[i]) if rows is not None else None, column, raw[i])


def _currency(settings, report, problems: list):
    """The campaign's currency: the currency setting, else the one symbol money cells carry; mixed is an error."""
    seen = CURRENCIES.get()
    chosen = settings.currency if settings is not None and report.sources.get("currency") != "default" else None
    symbols = list(seen)
    if len(symbols) > 1:
        first = seen[symbols[0]]
        where = f"{first.sheet} row {first.row}" if first.row else first.sheet
        for symbol in symbols[1:]:
            other = seen[symbol]
            problems.append(Problem(other.sheet,
                                    f"this amount is in {symbol}, but {where} ({shown_value(first.value)}) "
                                    f"is in {symbols[0]}; a plan is in one currency, so write every amount "
                                    "in one (or convert them)", other.row, other.column, other.value))
        return chosen
    if chosen is not None and symbols and symbols[0] != chosen:
        first = seen[symbols[0]]
        problems.append(Problem(first.sheet, f"this amount is in {symbols[0]} but the Budget sheet's currency is "
                                             f"{chosen}; write the amounts in {chosen} or change the setting",
                                first.row, first.column, first.value))
    return chosen or (symbols[0] if symbols else None)


def validate(raw: RawWorkbook, budget_override=None, overrides=None):
    """Turn a raw workbook into a Campaign, or raise InputError with every problem.

    Parameters
    ----------
    raw : RawWorkbook
    budget_override : float, optional
        ``--budget`` from the command line; required for CSV input without a Budget sheet.
    overrides : dict, optional
        Settings given on the command line (solver, time_limit_seconds, mip_gap).

    Returns
    -------
    (Campaign, Validation)

    Raises
    ------
    InputError
    """
    token = DECIMAL.set((overrides or {}).get("decimal_separator") or _separator_setting(raw))
    seen = CURRENCIES.set({})
    try:
        return _validate(raw, budget_override, overrides)
    finally:
        DECIMAL.reset(token)
        CURRENCIES.reset(seen)


def _separator_setting(raw: RawWorkbook):
    """The Budget sheet's decimal_separator, read before any number (None when absent or unclear)."""
    rows, _, _ = _sheet_rows(raw, "budget")
    for row in rows or ():
        if len(row) > 1 and normalise_header(row[0]) == "decimal_separator":
            return SEPARATOR_WORDS.get(clean_text([row[1]])[0].casefold())
    return None


def _validate(raw: RawWorkbook, budget_override, overrides):
    """:func:`validate` with the decimal separator in place."""
    report = Validation()
    problems = []
    settings, setting_problems = _settings(raw, budget_override, overrides or {}, report)
    problems += setting_problems
    tiers, groups, group_problems = _group_sheets(raw, report)
    problems += group_problems
    custom_rows, custom_problems = _custom_sheet(raw, report.warnings)
    problems += custom_problems
    creators, extra, creator_problems = _creators(raw, tiers, report, settings, custom_rows)
    if raw.kind == "csv" and creators is None and any(isinstance(p, _NotATable) for p in creator_problems):
        raise InputError(
            Problem(
                str(raw.path),
                "is not an Excel workbook, and read as CSV text it has no header row with the columns "
                f"{', '.join(CREATOR_REQUIRED)}{first_row_note(raw.sheets['creators'])}; "
                "give a workbook or a CSV export of the Creators table",
            )
        )
    problems += creator_problems
    custom = ()
    if creators is not None and custom_rows:
        custom, rule_problems = _custom_rules(custom_rows, creators)
        problems += rule_problems
    currency = _currency(settings, report, problems)
    if problems:
        raise InputError(problems)
    settings = replace(settings, currency=currency or DEFAULT_CURRENCY)
    creators, groups = _align_groups(creators, groups, report)
    campaign = Campaign(creators=creators, settings=settings, groups=tuple(groups), tiers=tiers, extra=extra,
                        custom=tuple(custom))
    report.counts = {
        "creators": len(creators),
        "niches": creators["niche"].nunique(),
        "rules": sum(1 for g in groups for v in (g.min_share, g.max_share, g.min_creators, g.max_creators)
                     if v is not None)
        + sum(len(rule.bounds()) for rule in custom),
    }
    return campaign, report


def _sheet_rows(raw: RawWorkbook, key: str):
    """Rows of a sheet by normalised name, with its written name and formulas lacking values."""
    if key not in raw.sheets:
        return None, None, {}
    return raw.sheets[key], raw.names[key], raw.unreadable_cells.get(key, {})


def _unreadable_cell_problems(sheet) -> list:
    """One problem per formula cell with no saved value, then the reader's layout problems (merged cells, ...)."""
    return [
        Problem(sheet.name, message, row, sheet.headers.get(column, column), shown)
        for (row, column), (shown, message) in sorted(sheet.missing_values.items())
        if not column.startswith("_column_")
    ] + list(sheet.problems)


def _creators(raw: RawWorkbook, tiers, report: Validation, settings=None, custom_rows=()):
    """The Creators sheet: every column checked, then typed (with the metrics and the columns the
    objective and the custom rules use)."""
    rows, name, formulas = _sheet_rows(raw, "creators")
    if rows is None:
        found = ", ".join(raw.names.values()) or "none"
        return None, None, [Problem(str(raw.path), f"no sheet named 'Creators' (sheets found: {found}); add one")]
    try:
        sheet = table_from_rows(rows, name, CREATOR_REQUIRED, CREATOR_SYNONYMS, formulas, short_rows=raw.kind == "csv")
    except HeaderNotFoundError as exc:
        return None, None, [_NotATable(**vars(p)) for p in exc.problems]
    table = sheet.table
    problems = _unreadable_cell_problems(sheet)
    missing = [c for c in CREATOR_REQUIRED if c not in table.columns]
    if missing:
        found = ", ".join(h for h in sheet.headers.values() if h) or "none"
        problems.append(
            Problem(name, f"required column(s) missing: {', '.join(missing)} (columns found: {found}); add them", 1)
        )
        return None, None, problems
    if table.empty:
        problems.append(Problem(name, "has no creator rows under its header; add at least one creator"))
        return None, None, problems
    formula_cells = set(sheet.missing_values)
    c = _Collector(name, sheet.rows, sheet.headers)

    creator = clean_text(table["creator"])
    c.each(creator == "", "creator", creator, "creator handle is blank; give every row a unique handle")
    invisible = _nothing_visible(creator)
    c.each(invisible, "creator", creator,
           "creator handle has no visible character (only spaces or invisible marks); type the handle")
    _duplicate_creators(creator, c)

    niche = clean_text(table["niche"])
    c.each(niche == "", "niche", niche, "niche is blank; every creator needs a niche")

    followers, _ = _number_column(table, "followers", c, required=True)
    cost, _ = _number_column(table, "cost_per_post", c, required=True, money=True)
    rate = _engagement_rate(table, c, report)
    rate_low, rate_high = _rate_range(table, c, report, rate)
    authenticity, _ = (
        _fraction_column(table, "authenticity", c, report.warnings, sheet_label=name)
        if "authenticity" in table
        else (np.ones(len(table)), None)
    )
    authenticity = np.where(np.isnan(authenticity), 1.0, authenticity)
    expected = None
    if "expected_engagement" in table:
        expected, _ = _number_column(table, "expected_engagement", c, required=False)
        expected = expected.values
    max_posts, max_raw = _number_column(table, "max_posts", c, required=False, integer=True)
    min_posts, min_raw = _number_column(table, "min_posts", c, required=False, integer=True)
    max_posts = np.where(max_posts.blank | np.isnan(max_posts.values), 1, max_posts.values)
    min_posts = np.where(min_posts.blank | np.isnan(min_posts.values), 0, min_posts.values)
    with np.errstate(invalid="ignore"):
        c.each(min_posts > max_posts, "min_posts", min_raw, "min_posts is above max_posts; lower it or raise max_posts")

    include = (per_distinct(str.casefold, clean_text(table["include"])) if "include" in table
               else np.full(len(table), "", object))
    include = np.where(np.isin(include, ["must include", "must-include", "must_include"]), MUST, include)
    c.each(~np.isin(include, ["", MUST, EXCLUDE]), "include", include, "write 'must', 'exclude' or leave blank")
    c.each((include == MUST) & (max_posts < 1), "include", include,
           "a must-include creator needs max_posts of at least 1")

    platform = clean_text(table["platform"]) if "platform" in table else np.full(len(table), "", object)
    controls = sum(count_control(column) for column in (creator, niche, platform))
    if controls:
        report.warnings.append(
            f"{name}: {controls} text cells hold control characters; the report shows them as spaces"
        )
    tier_cells = clean_text(table["tier"]) if "tier" in table else np.full(len(table), "", object)
    by_name = {band.name.casefold(): band.name for band in tiers}
    tier = per_distinct(lambda cell: by_name.get(cell.casefold(), cell), tier_cells)
    c.each((tier_cells != "") & ~np.isin(tier, [b.name for b in tiers]), "tier", tier_cells,
           f"unknown tier; use one of {', '.join(b.name for b in tiers)} (or edit the Tiers sheet)")
    derived = tier_of(np.nan_to_num(followers.values), tiers)
    tier = np.where(tier_cells == "", derived, tier)
    c.each((tier == "") & (followers.values >= 0), "followers", table["followers"].to_numpy(object),
           "falls in no tier band; edit min_followers / max_followers on the Tiers sheet")

    # A formula with no saved value reads as blank: report it once, as the formula.
    shown = {(row, sheet.headers.get(col, col)) for row, col in formula_cells}
    # A totals row under the creators is told as one thing to delete, not as a creator with odd values.
    # Handles are nearly all distinct: the pattern's own match over the column, no dict of a million texts (7x faster).
    totals = vectorised(_TOTALS.match, creator).astype(bool)
    totals_rows = {int(sheet.rows[i]) for i in np.flatnonzero(totals)}
    problems += [p for p in c.problems if (p.row, p.column) not in shown and p.row not in totals_rows]
    problems += [
        Problem(name, "looks like a totals row, not a creator; delete it (the plan adds up its own totals)",
                int(sheet.rows[i]), sheet.headers.get("creator", "creator"), creator[i])
        for i in np.flatnonzero(totals)
    ]
    if problems:
        return None, None, problems

    values = post_value(followers.values, rate, authenticity, expected)
    creators = pd.DataFrame(
        {
            "creator": creator,
            "platform": platform,
            "niche": niche,
            "tier": tier,
            "followers": followers.values,
            "engagement_rate": rate,
            "authenticity": authenticity,
            "cost_per_post": cost.values,
            "min_posts": min_posts.astype(np.int64),
            "max_posts": max_posts.astype(np.int64),
            "include": include,
            "post_value": values,
            "row": sheet.rows.to_numpy(np.int64),
        }
    )
    if rate_low is not None:
        creators["engagement_rate_low"], creators["engagement_rate_high"] = rate_low, rate_high
    if settings is not None:
        problems = _metrics(table, c, creators, settings, report, custom_rows)
        if problems:
            return None, None, problems
    known = set(CREATOR_REQUIRED) | set(CREATOR_OPTIONAL)
    extra_columns = [col for col in table.columns if col not in known and sheet.headers.get(col)]
    extra = table[extra_columns].rename(columns={col: sheet.headers[col] for col in extra_columns})
    return creators, extra.reset_index(drop=True), []


def _metrics(table, c, creators: pd.DataFrame, settings: Settings, report: Validation, custom_rows) -> list:
    """Reach and conversions per post where the input allows, the numeric and text columns the
    objective and the custom rules name, and ``post_value`` = the objective's value of one post.
    Adds columns to ``creators``; returns the problems found."""
    problems = []
    sheet = c.sheet
    engagement = creators["post_value"].to_numpy(float)
    followers = creators["followers"].to_numpy(float)
    authenticity = creators["authenticity"].to_numpy(float)
    expected_reach = (_number_column(table, "expected_reach", c, required=False)[0].values
                      if "expected_reach" in table else None)
    rate, _ = (_fraction_column(table, "reach_rate", c, report.warnings, sheet_label=sheet)
               if "reach_rate" in table else (None, None))
    default_rate = settings.reach_rate if settings.reach_rate is not None else np.nan
    reach_rate = np.full(len(creators), default_rate) if rate is None else np.where(np.isnan(rate), default_rate, rate)
    reach = followers * reach_rate * authenticity
    if expected_reach is not None:
        reach = np.where(np.isnan(expected_reach), reach, expected_reach)
    conversion = None
    if "conversion_rate" in table:
        conversion, _ = _fraction_column(table, "conversion_rate", c, report.warnings, sheet_label=sheet)
    if report.tier_conversion:
        by_tier = creators["tier"].str.casefold().map(report.tier_conversion).to_numpy(float)
        conversion = by_tier if conversion is None else np.where(np.isnan(conversion), by_tier, conversion)
    if c.problems:
        return c.problems
    if not np.isnan(reach).all():
        creators["reach_value"] = reach
    if conversion is not None and not np.isnan(conversion).all():
        creators["conversion_value"] = engagement * conversion
    needs = {METRICS.get(row["measure"], row["measure"]) for row in custom_rows if row["measure"] not in COUNTS}
    needs |= {row["weight_column"] for row in custom_rows if row["weight_column"]}
    objective = settings.objective
    objective_column = METRICS.get(objective) or normalise_header(objective)
    if objective != "engagement":
        needs.add(objective_column)
    missing = {"reach_value": ("reach", "an expected_reach or reach_rate column on the Creators sheet, or a reach_rate "
                                        "setting on the Budget sheet (the share of followers one post reaches)"),
               "conversion_value": ("conversions", "a conversion_rate column on the Creators sheet or on the Tiers "
                                                   "sheet (conversions per engagement)")}
    for column in sorted(needs):
        if column in ("engagement_value", "post_value"):
            continue
        if column in missing:
            values = creators.get(column)
            metric, what = missing[column]
            blank = np.ones(len(creators), bool) if values is None else np.isnan(values.to_numpy(float))
            if blank.all():
                problems.append(Problem(sheet, f"planning for {metric} needs {what}; add one"))
            elif blank.any():
                c.each(blank, None, creators["creator"].to_numpy(object), f"has no {metric}: give it {what}")
            continue
        if column in creators and column not in ("creator", "platform", "niche", "tier", "include"):
            continue  # a numeric column the planner reads already (followers, cost_per_post, ...)
        if column not in table:
            continue  # named by a rule or the objective but not on the sheet: told there
        parsed, raw = _number_column(table, column, c, required=False, minimum=None, allow_percent=True)
        texts = parsed.bad != ""
        if texts.all() or (texts.any() and (parsed.blank | texts).all()):
            c.problems = [p for p in c.problems if p.column != c.headers.get(column, column)]
            creators[column] = clean_text(table[column])
            continue  # a text column: the rule or the objective naming it is refused, not every cell
        c.each(parsed.blank, column, raw, "is blank; this column is planned on (a measure, weight or the "
                                          "objective): give a number, 0 if none")
        creators[column] = np.where(parsed.percent, parsed.values / 100.0, parsed.values)  # 62% = 0.62
    if objective != "engagement" and not (objective in METRICS and objective_column not in creators):
        if objective_column not in creators or not _numeric(creators[objective_column]):
            known = ", ".join(list(METRICS))
            problems.append(Problem("Budget", f"objective '{objective}' is not {known} or a numeric Creators column; "
                                              "name one of them", None, "value", objective))
        else:
            creators["engagement_value"] = engagement
            creators["post_value"] = creators[objective_column].to_numpy(float)
    for column in {row["where_column"] for row in custom_rows if row["where_column"]}:
        if column not in creators and column in table:
            numbers = parse_numbers(table[column].to_numpy(object))
            creators[column] = (numbers.values if not (numbers.bad != "").any() else clean_text(table[column]))
    return problems + c.problems


def _custom_sheet(raw: RawWorkbook, warnings: list) -> tuple:
    """The optional Custom rules sheet, read row by row: ([parsed row], problems)."""
    rows, name, formulas = _sheet_rows(raw, "custom_rules")
    if rows is None or not any(any(v not in (None, "") for v in r) for r in rows):
        return [], []
    try:
        sheet = table_from_rows(rows, name, ("rule", "measure"), {}, formulas)
    except InputError as exc:
        return [], exc.problems
    problems = _unreadable_cell_problems(sheet)
    table = sheet.table
    c = _Collector(name, sheet.rows, sheet.headers)
    for column in table.columns:
        if column not in CUSTOM_COLUMNS and not column.startswith("_column_"):
            c.add(None, column, None, f"unknown column; the Custom rules sheet has {', '.join(CUSTOM_COLUMNS)}")
    rule = clean_text(table["rule"])
    measure = clean_text(table["measure"])
    per = clean_text(table["per"]) if "per" in table else np.full(len(table), "", object)
    where = clean_text(table["where"]) if "where" in table else np.full(len(table), "", object)
    weight = clean_text(table["weight_column"]) if "weight_column" in table else np.full(len(table), "", object)
    bounds = {col: _number_column(table, col, c, required=False, minimum=None)[0].values for col in ("min", "max")}
    for col in ("min_share", "max_share"):
        bounds[col] = _fraction_column(table, col, c, warnings, sheet_label=name)[0]
    c.each(rule == "", "rule", rule, "rule name is blank; name every rule (it names the rule on the Rules sheet)")
    folded = pd.Series([r.casefold() for r in rule])
    c.each(folded.duplicated(keep=False).to_numpy() & (rule != ""), "rule", rule, "rule name given twice; rename one")
    c.each(measure == "", "measure", measure, "measure is blank; give spend, posts, creators, engagement, reach, "
                                              "conversions or a numeric Creators column")
    per_word = np.array([p.casefold() for p in per], dtype=object)
    c.each(~np.isin(per_word, ["", "post", "creator"]), "per", per, "write 'post' (the default) or 'creator'")
    given = np.zeros(len(table), bool)
    for col in bounds:
        given |= ~np.isnan(bounds[col])
    c.each(~given & (rule != ""), "min", rule, "gives no bound; fill min, max, min_share or max_share")
    with np.errstate(invalid="ignore"):
        c.each(bounds["min"] > bounds["max"], "max", table.get("max", pd.Series([None] * len(table))).to_numpy(object),
               "max is below min")
        c.each(bounds["min_share"] > bounds["max_share"], "max_share",
               table.get("max_share", pd.Series([None] * len(table))).to_numpy(object), "max_share is below min_share")
    parsed = []
    for i in range(len(table)):
        condition = _where(where[i])
        if condition is None:
            c.add(i, "where", where[i], "write 'column = value' or 'column in (a, b, c)' (no other comparison), or "
                                        "leave blank for every creator")
            condition = (None, ())
        parsed.append({
            "name": rule[i], "measure": normalise_header(measure[i]), "measure_column": measure[i],
            "per": per_word[i] or "post",
            "where_column": normalise_header(condition[0]) if condition[0] else None, "where_shown": condition[0],
            "where_values": condition[1], "weight_column": normalise_header(weight[i]) or None,
            "weight_shown": weight[i],
            "bounds": {col: (None if np.isnan(v[i]) else float(v[i])) for col, v in bounds.items()},
            "row": int(sheet.rows[i]), "sheet": name, "headers": sheet.headers,
        })
    return parsed, problems + c.problems


_WHERE_IN = re.compile(r"^\s*(.+?)\s+in\s*\((.*)\)\s*$", re.I | re.S)
_WHERE_IS = re.compile(r"^\s*([^=]+?)\s*=\s*(.+?)\s*$", re.S)


def _where(text: str):
    """('column', (values,)) of a where cell; (None, ()) when blank; None when it cannot be read."""
    if text.strip() == "":
        return None, ()
    if re.search(r"[!<>]|==", text):
        return None  # only equality and membership: != or >= read as = would plan on the wrong creators
    match = _WHERE_IN.match(text)
    if match:
        values = tuple(v.strip().strip("'\"").strip() for v in match.group(2).split(","))
        return (match.group(1), values) if values and all(values) else None
    match = _WHERE_IS.match(text)
    if match:
        return match.group(1), (match.group(2).strip("'\"").strip(),)
    return None


def _custom_rules(rows: list, creators: pd.DataFrame) -> tuple:
    """The parsed Custom rules rows checked against the creators table: ([CustomRule], problems)."""
    rules, problems = [], []
    for row in rows:
        def problem(column, value, message):
            problems.append(Problem(row["sheet"], message, row["row"], row["headers"].get(column, column), value))

        measure, ok = row["measure"], True
        if measure not in METRICS and measure not in COUNTS:
            if measure not in creators:
                problem("measure", row["measure_column"], "is not a measure or a Creators column; give spend, posts, "
                        "creators, engagement, reach, conversions or the name of a numeric Creators column")
                ok = False
            elif not _numeric(creators[measure]):
                problem("measure", measure, "is a text column; a measure must be numeric")
                ok = False
        elif measure in ("reach", "conversions") and METRICS[measure] not in creators:
            problem("measure", measure, f"cannot be measured: the input gives no {measure} per post (add "
                    + ("expected_reach or reach_rate" if measure == "reach" else "conversion_rate") + ")")
            ok = False
        weight = row["weight_column"]
        if weight is not None and (weight not in creators or not _numeric(creators[weight])):
            problem("weight_column", row["weight_shown"],
                    "is not a numeric Creators column; name one (e.g. audience_us)")
            ok = False
        values = ()
        column = row["where_column"]
        if column is not None:
            if column not in creators:
                problem("where", row["where_shown"], f"no Creators column '{row['where_shown']}'; name a column of the "
                        "Creators sheet")
                ok = False
            else:
                values, unknown = _where_values(creators[column], row["where_values"])
                for value in unknown:
                    problem("where", value, f"no creator has {row['where_shown']} = {value}; check the spelling")
                ok = ok and not unknown
        bounds = row["bounds"]
        for kind in ("min_share", "max_share"):
            if bounds[kind] is not None and column is None and weight is None:
                problem(kind, bounds[kind], "a share needs where or weight_column (a share of the whole plan of itself "
                        "is always 100%)")
                ok = False
        shares = bounds["min_share"] is not None or bounds["max_share"] is not None
        for named, shown in ((measure, row["measure_column"]), (weight, row["weight_shown"])):
            if (ok and shares and named in creators and named not in COUNTS
                    and (creators[named].to_numpy(float) < 0).any()):
                problem("measure" if named == measure else "weight_column", shown,
                        "has negative values; a share of the plan is only meaningful for values of 0 or more")
                ok = False
        if ok:
            rules.append(CustomRule(row["name"], measure, row["per"], column, values, weight, bounds["min"],
                                    bounds["max"], bounds["min_share"], bounds["max_share"], row["row"]))
    return rules, problems


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _where_values(column: pd.Series, wanted: tuple) -> tuple:
    """(the column's values the where names, the names no creator has): text matched without case."""
    if _numeric(column):
        numbers = parse_numbers(list(wanted))
        values = np.where(numbers.percent, numbers.values / 100.0, numbers.values)  # 80% is 0.8, as the column holds it
        found = [float(v) for v, bad in zip(values, numbers.bad) if not bad and np.isclose(column, v, rtol=1e-12).any()]
        unknown = [w for w, v, bad in zip(wanted, values, numbers.bad)
                   if bad or not np.isclose(column, v, rtol=1e-12).any()]
        return tuple(found), unknown
    spelled = {}
    for value in pd.unique(column):
        spelled.setdefault(str(value).casefold(), []).append(value)
    found, unknown = [], []
    for w in wanted:
        matches = spelled.get(w.casefold())
        if matches:
            found += matches
        else:
            unknown.append(w)
    return tuple(found), unknown


#: A creator cell that says the row is a sum of the rows above ("Total", "Grand total:", "Sum", "Subtotal", ...).
_TOTALS = re.compile(r"^\s*(grand\s+)?(sub-?\s?)?(totals?|sum|summe|gesamt|totaal|totale|toplam)\s*:?\s*$", re.I)


def _visible(ch: str) -> bool:
    """A character that shows: not a space, a control or an invisible format mark (zero-width space, ...)."""
    return not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me")


def _nothing_visible(texts: np.ndarray) -> np.ndarray:
    """Which cleaned texts are not blank yet show no character (only spaces, controls or invisible marks).

    Cleaned ASCII text is trimmed, so when the whole column is printable ASCII (one C scan of it
    joined: the usual handle column) every text that is not blank shows its first character, and
    none is looked at one by one (a million distinct handles: 3 s).
    """
    joined = "".join(texts)
    if joined.isascii() and joined.isprintable():
        return np.zeros(len(texts), bool)
    return per_distinct(lambda text: text != "" and not any(_visible(ch) for ch in text), texts).astype(bool)


def _duplicate_creators(creator: np.ndarray, collector: _Collector) -> None:
    """One problem per row whose handle is another row's once normalised (:func:`identity_keys`),
    naming all their rows."""
    keys = identity_keys(creator)
    if len(set(keys)) == len(keys):  # the usual case, told by a set faster than by factorize
        return
    codes, _ = pd.factorize(object_array(keys))
    counts = np.bincount(codes)
    repeated = (counts[codes] > 1) & (creator != "")
    # Row indices grouped by key (ascending within a key) so each key's rows are one slice, not a scan of the column.
    by_key = np.argsort(codes, kind="stable")
    starts = np.cumsum(counts) - counts
    for code in pd.unique(codes[repeated]):  # keys in the order their first repeated row appears
        where = by_key[starts[code]:starts[code] + counts[code]]
        # One message per handle: its copies' rows are listed together when the messages are collapsed.
        for i in where:
            collector.add(i, "creator", creator[i], "duplicate creator; keep one row per creator", group=code)


def _engagement_rate(table, collector, report, column="engagement_rate", required=True) -> np.ndarray:
    """An engagement rate column: a fraction or a percent string; plain 1-100 only as a whole column."""
    parsed, raw = _number_column(table, column, collector, required=required, allow_percent=True)
    values = parsed.values.copy()
    values[parsed.percent] /= 100.0
    plain = ~parsed.percent & ~np.isnan(parsed.values)
    above_one = plain & (parsed.values > 1)
    if above_one.any() and (parsed.values[plain] > 1).all() and (parsed.values[plain] <= 100).all():
        values[plain] /= 100.0
        report.warnings.append(
            f"{collector.sheet}: every {column} written as a plain number is between 1 and 100, "
            "so they were read as percents (3.5 = 3.5%)"
        )
    else:
        collector.each(
            above_one & (parsed.values <= 100),
            column,
            raw,
            "is above 1 but the column is not entirely between 1 and 100, so it cannot be read as a "
            "percent: write a fraction (0.035) or a percent (3.5%)",
        )
        collector.each(above_one & (parsed.values > 100), column, raw, "is above 100%; engagement rate is at most 100%")
    collector.each(parsed.percent & (values > 1), column, raw, "is above 100%; engagement rate is at most 100%")
    return values


#: The optional range of each creator's per-post rate: its 10th and 90th percentiles.
RATE_RANGE = ("engagement_rate_low", "engagement_rate_high")


def _rate_range(table, collector, report, rate) -> tuple:
    """(low, high) per creator, NaN where not given; both columns or neither."""
    given = [column for column in RATE_RANGE if column in table]
    if not given:
        return None, None
    if len(given) == 1:
        missing = next(c for c in RATE_RANGE if c not in table)
        which = "90th" if missing.endswith("high") else "10th"
        collector.add(None, given[0], None, f"a range needs both columns: add '{missing}' (the {which} "
                                            "percentile of the creator's rate per post)")
        return None, None
    low = _engagement_rate(table, collector, report, "engagement_rate_low", required=False)
    high = _engagement_rate(table, collector, report, "engagement_rate_high", required=False)
    raw_low = table["engagement_rate_low"].to_numpy(object)
    raw_high = table["engagement_rate_high"].to_numpy(object)
    with np.errstate(invalid="ignore"):
        collector.each(np.isnan(low) != np.isnan(high), "engagement_rate_low", raw_low,
                       "give both ends of the range (low and high) or neither")
        collector.each(low <= 0, "engagement_rate_low", raw_low, "must be above 0 (a rate range is a ratio of rates)")
        collector.each(low > rate, "engagement_rate_low", raw_low, "is above the creator's engagement_rate")
        collector.each(high < rate, "engagement_rate_high", raw_high, "is below the creator's engagement_rate")
    return low, high


def _settings(raw: RawWorkbook, budget_override, overrides, report):
    """The Budget sheet's setting | value rows, with defaults applied and recorded."""
    problems = []
    values = {}
    rows, name, formulas = _sheet_rows(raw, "budget")
    defaults = Settings(total_budget=0.0)
    if rows is not None:
        header = next(
            (i for i, row in enumerate(rows[:20]) if {normalise_header(c) for c in row[:2]} >= {"setting", "value"}),
            -1,
        )
        problems += merged_cell_problems(rows, name, max(header, 0), [0, 1])
        for index, row in enumerate(rows):
            if index <= header or not row or all(v is None or str(v).strip() == "" for v in row[:2]):
                continue
            excel_row = index + 1
            key = normalise_header(row[0])
            cell = row[1] if len(row) > 1 else None
            if (excel_row, "B") in formulas:
                shown, message = formulas[(excel_row, "B")]
                problems.append(Problem(name, f"{key}: {message}", excel_row, "value", shown))
                continue
            if key not in SETTING_NAMES:
                close = difflib.get_close_matches(key, SETTING_NAMES, n=1)
                if close:
                    problems.append(Problem(name, f"unknown setting; did you mean '{close[0]}'?", excel_row,
                                            "setting", row[0]))
                else:
                    report.warnings.append(f"{name} row {excel_row}: setting '{row[0]}' "
                                           "is not one the planner knows; ignored")
                continue
            if key in values:
                problems.append(Problem(name, "setting given twice; keep one row", excel_row, "setting", row[0]))
                continue
            parsed, problem = _setting_value(key, cell, name, excel_row)
            if problem:
                problems.append(problem)
            elif parsed is not None:
                values[key] = parsed
    for key in values:
        report.sources[key] = "input"
    if budget_override is not None:
        values["total_budget"] = float(budget_override)
        report.sources["total_budget"] = "command line"
    for key, value in (overrides or {}).items():
        if key == "objective" and value is not None:  # as typed: read like the Budget sheet's cell
            value, problem = _setting_value(key, value, "command line", None)
            problems += [problem] if problem else []
        if value is not None:
            values[key] = value
            report.sources[key] = "command line"
    if "total_budget" not in values and not any(p.message.startswith("total_budget") for p in problems):
        problems.append(
            Problem(
                name or str(raw.path),
                "total_budget is missing; add a row 'total_budget | 50000' to the Budget sheet (or pass --budget)",
            )
        )
    for f in fields(Settings):
        if f.name not in report.sources:
            report.sources[f.name] = "default"
    if problems:
        return None, problems
    settings = replace(defaults, **values)
    if (settings.min_creators is not None and settings.max_creators is not None
            and settings.min_creators > settings.max_creators):
        problems.append(Problem(name or "Budget",
                                f"min_creators {settings.min_creators} is above max_creators {settings.max_creators}"))
    return settings, problems


def _setting_value(key, cell, sheet, row):
    """Parse one setting's value; return (value, problem)."""

    def problem(message):
        return None, Problem(sheet, f"{key} {message}", row, "value", cell)

    if key == "decimal_separator":
        text = clean_text([cell])[0].casefold()
        if text == "":
            return None, None
        if text not in SEPARATOR_WORDS:
            return problem("must be '.' (1,200.50) or ',' (1.200,50)")
        return SEPARATOR_WORDS[text], None
    if key == "currency":
        text = clean_text([cell])[0]
        if text == "":
            return None, None
        symbol = currency_of(text)
        if symbol is None:
            return problem("must be a currency symbol ($, €, £, ¥) or a three-letter code such as EUR, GBP or CHF")
        return symbol, None
    if key in ("campaign", "client"):
        text = clean_text([cell])[0].strip()
        if len(text) > 100:
            return problem("is longer than 100 characters; shorten it (it is the title of every client sheet)")
        return (text or None), None
    if key == "solver":
        text = clean_text([cell])[0]
        if text == "":
            return None, None
        name = solver_name(text)
        return (name, None) if name else problem(f"must be {SOLVER_CHOICES}")
    if key == "risk":
        text = clean_text([cell])[0].casefold()
        if text == "":
            return None, None
        if text not in ("neutral", "cvar"):
            return problem("must be 'neutral' (the best mean) or 'cvar' (the best worst-10% mean)")
        return text, None
    if key == "objective":
        text = clean_text([cell])[0].strip()
        if text == "":
            return None, None
        folded = normalise_header(text)
        return (folded if folded in METRICS else text), None
    if key == "share_basis":
        text = clean_text([cell])[0].casefold()
        if text == "":
            return None, None
        if text not in ("budget", "spend"):
            return problem("must be one of: budget, spend")
        return text, None
    parsed = parse_numbers([cell])
    if parsed.blank[0]:
        if key == "total_budget":
            return problem("is blank; give the campaign budget in dollars (e.g. 50000)")
        return None, None
    if parsed.bad[0]:
        return problem(parsed.bad[0])
    value = float(parsed.values[0])
    percent = bool(parsed.percent[0])
    if key == "total_budget":
        _note_currencies(parsed, sheet, [row], "value", [cell])
        if percent or value <= 0:
            return problem("must be a positive amount of money (e.g. 50000 or $50,000)")
        if value > LIMITS["total_budget"]:
            return problem(f"is above {LIMITS['total_budget']:,.0f}, more than any campaign has; check the value")
        return value, None
    if key in ("min_creators", "max_creators"):
        if percent or value < 0 or not float(value).is_integer():
            return problem("must be a whole number of creators, 0 or more")
        return int(value), None
    if key in ("max_share_per_creator", "mip_gap"):
        if percent:
            value /= 100.0
        elif key == "max_share_per_creator" and 1 < value <= 100:
            return problem("is above 1: write a fraction (0.08) or a percent (8%)")
        if value < 0 or value > 1 or (key == "max_share_per_creator" and value == 0):
            return problem("must be a fraction between 0 and 1 (or a percent such as 8%)")
        return value, None
    if key == "repeat_post_decay":
        if percent:
            value /= 100.0
        if not 0 < value <= 1:
            return problem("must be above 0 and at most 1 (1 = every post worth the same)")
        return value, None
    if key in ("engagement_cv", "risk_correlation"):
        if percent:
            value /= 100.0
        upper = 10.0 if key == "engagement_cv" else 1.0
        if not 0 <= value <= upper:
            return problem("must be between 0 and 1 (or a percent such as 20%)" if key == "risk_correlation"
                           else "must be 0 or more (0.3 or 30%: the realised rate is typically within 30% of it)")
        return value, None
    if key == "reach_rate":
        if percent:
            value /= 100.0
        if not 0 <= value <= 1:
            return problem("must be a share of followers between 0 and 1 (or a percent such as 30%)")
        return value, None
    if key == "risk_level":
        if percent:
            value /= 100.0
        if not 0 < value < 1:
            return problem("must be a share above 0 and below 1 (10% = the worst 1 campaign in 10)")
        return value, None
    if key == "risk_samples":
        if percent or not float(value).is_integer() or not 10 <= value <= 100_000:
            return problem("must be a whole number of samples, 10 to 100,000")
        return int(value), None
    if key == "random_seed":
        if percent or value < 0 or not float(value).is_integer() or value >= 2**63:
            return problem("must be a whole number, 0 or more")
        return int(value), None
    if key == "time_limit_seconds":
        if percent or value <= 0:
            return problem("must be a positive number of seconds")
        return value, None
    return value, None


_GROUP_COLUMNS = ("min_share", "max_share", "min_creators", "max_creators", "weight", "min_followers", "max_followers")


def _group_sheets(raw: RawWorkbook, report: Validation):
    """Niches, Tiers and Platforms sheets: one row per group."""
    problems, groups = [], []
    tiers = DEFAULT_TIERS
    for dimension, label in SHEETS.items():
        rows, name, formulas = _sheet_rows(raw, normalise_header(label))
        if rows is None or not any(any(v not in (None, "") for v in r) for r in rows):
            continue
        try:
            sheet = table_from_rows(rows, name, (dimension,), {"name": dimension, "group": dimension}, formulas)
        except InputError as exc:
            problems += exc.problems
            continue
        problems += _unreadable_cell_problems(sheet)
        table = sheet.table
        c = _Collector(name, sheet.rows, sheet.headers)
        group = clean_text(table[dimension])
        c.each(group == "", dimension, group, f"{dimension} name is blank")
        folded = pd.Series([g.casefold() for g in group])
        c.each(folded.duplicated(keep=False).to_numpy() & (group != ""), dimension, group,
               f"{dimension} listed twice; keep one row")
        min_share, _ = _fraction_column(table, "min_share", c, report.warnings, sheet_label=name)
        max_share, max_raw = _fraction_column(table, "max_share", c, report.warnings, sheet_label=name)
        with np.errstate(invalid="ignore"):
            c.each(min_share > max_share, "max_share", max_raw, "max_share is below min_share")
        counts = {}
        for col in ("min_creators", "max_creators"):
            parsed, _ = _number_column(table, col, c, required=False, integer=True)
            counts[col] = parsed.values
        with np.errstate(invalid="ignore"):
            c.each(counts["min_creators"] > counts["max_creators"], "max_creators",
                   table.get("max_creators", pd.Series([None] * len(table))).to_numpy(object),
                   "max_creators is below min_creators")
        weight = np.ones(len(table))
        if dimension == "niche" and "weight" in table:
            parsed, _ = _number_column(table, "weight", c, required=False)
            weight = np.where(parsed.blank | np.isnan(parsed.values), 1.0, parsed.values)
        if dimension == "tier":
            tiers = _tier_bands(table, group, c)
            if "conversion_rate" in table:
                rates, _ = _fraction_column(table, "conversion_rate", c, report.warnings, sheet_label=name)
                report.tier_conversion = {g.casefold(): r for g, r in zip(group, rates.tolist()) if g != "" and r == r}
        for col in table.columns:
            if (col not in (dimension,) + _GROUP_COLUMNS and not col.startswith("_column_")
                    and not (dimension == "niche" and col == "weight")
                    and not (dimension == "tier" and col == "conversion_rate")):
                report.warnings.append(f"{name}: column '{sheet.headers[col]}' is not a rule column; ignored")
        problems += c.problems

        def opt(values, cast=float):
            """A column as Python values, None where blank: one pass over floats, not a NumPy scalar per cell."""
            return [None if value != value else cast(value) for value in np.asarray(values, float).tolist()]

        for g, *rule in zip(group, opt(min_share), opt(max_share), opt(counts["min_creators"], int),
                            opt(counts["max_creators"], int), np.asarray(weight, float).tolist()):
            if g != "":
                groups.append(GroupRule(dimension, g, *rule))
    return tiers, groups, problems


def _tier_bands(table, names, collector):
    """Follower bands from the Tiers sheet; default thresholds for default names left blank."""
    defaults = {band.name: band for band in DEFAULT_TIERS}
    lows, _ = _number_column(table, "min_followers", collector, required=False)
    highs, high_raw = _number_column(table, "max_followers", collector, required=False)
    given = ~np.isnan(lows.values) | ~np.isnan(highs.values)
    if not given.any():
        return DEFAULT_TIERS
    bands = []
    for i, name in enumerate(names):
        key = name.casefold()
        if not given[i]:
            if key in defaults:
                bands.append(replace(defaults[key], name=name))
            else:
                collector.add(i, "min_followers", None, f"tier '{name}' needs min_followers / max_followers")
            continue
        low = lows.values[i] if not np.isnan(lows.values[i]) else defaults.get(key, TierBand(name, 0)).min_followers
        high = highs.values[i] if not np.isnan(highs.values[i]) else defaults.get(key, TierBand(name, 0)).max_followers
        if high <= low:
            collector.add(i, "max_followers", high_raw[i], "max_followers must be above min_followers")
            continue
        bands.append(TierBand(name, float(low), float(high)))
    bands.sort(key=lambda b: b.min_followers)
    for a, b in zip(bands, bands[1:]):
        if b.min_followers < a.max_followers:
            collector.add(None, None, None,
                          f"tier bands {a.name} and {b.name} overlap ({a.name} ends at {a.max_followers:,.0f}, "
                          f"{b.name} starts at {b.min_followers:,.0f}); fix min_followers / max_followers")
    return tuple(bands)


def _align_groups(creators: pd.DataFrame, groups: list, report: Validation):
    """Match group names case-insensitively; warn about rules on groups with no creators."""
    aligned = []
    for dimension in DIMENSIONS:
        column = creators[dimension].to_numpy(object)
        distinct = dict.fromkeys(column)  # in the order they first appear
        spelling = {}
        for value in distinct:
            spelling.setdefault(value.casefold(), value)
        if len(spelling) < len(distinct):  # usually every value is spelled one way: nothing to rewrite
            creators[dimension] = per_distinct(lambda value: spelling[value.casefold()], column)
        empty = []
        for rule in (g for g in groups if g.dimension == dimension):
            name = spelling.get(rule.group.casefold())
            has_rule = any(v is not None
                           for v in (rule.min_share, rule.max_share, rule.min_creators, rule.max_creators))
            if name is None and (has_rule or rule.weight != 1.0):
                empty.append(rule.group)
            name = name or rule.group
            aligned.append(rule if name == rule.group else replace(rule, group=name))  # a copy only when respelled
        if empty:  # one warning, naming the first few: a sheet of 100,000 empty groups is one line, not 100,000
            shown = (", ".join(f"'{group}'" for group in empty[:5])
                     + (f" and {len(empty) - 5:,} more" if len(empty) > 5 else ""))
            several = len(empty) > 1
            report.warnings.append(f"{SHEETS[dimension]} sheet: {dimension}{'s' if several else ''} {shown} "
                                   f"{'have' if several else 'has'} no creators on the Creators sheet")
    return creators, aligned


_SCENARIO_SETTINGS = ("max_share_per_creator", "min_creators", "max_creators", "repeat_post_decay", "share_basis")
_GROUP_FIELDS = ("min_share", "max_share", "min_creators", "max_creators")


def read_scenarios(raw: RawWorkbook, campaign: Campaign) -> list:
    """The optional Scenarios sheet: one row per named scenario.

    Columns: ``scenario`` (name), ``budget``, ``mix`` (many-micro, few-macro,
    balanced), ``mix_share``, ``target_engagement``, any Budget setting of
    :data:`_SCENARIO_SETTINGS`, and group rules written as ``<group> <rule>``,
    e.g. ``micro min_share`` or ``beauty max_share`` (prefix the dimension,
    ``tier micro min_share``, when a name is both a niche and a tier). Blank
    cells keep the input's rule.

    Returns
    -------
    list of Scenario

    Raises
    ------
    InputError
        With every problem found on the sheet.
    """
    token = DECIMAL.set(campaign.settings.decimal_separator)
    try:
        return _read_scenarios(raw, campaign)
    finally:
        DECIMAL.reset(token)


def _read_scenarios(raw: RawWorkbook, campaign: Campaign) -> list:
    """:func:`read_scenarios` with the workbook's decimal separator in place."""
    rows, name, formulas = _sheet_rows(raw, "scenarios")
    if rows is None or not any(any(v not in (None, "") for v in r) for r in rows):
        return []
    try:
        sheet = table_from_rows(rows, name, ("scenario",), {"name": "scenario"}, formulas)
    except InputError as exc:
        raise InputError(exc.problems) from None
    problems = _unreadable_cell_problems(sheet)
    table = sheet.table
    c = _Collector(name, sheet.rows, sheet.headers)
    names = clean_text(table["scenario"])
    c.each(names == "", "scenario", names, "scenario name is blank; give every row a name")
    folded = pd.Series([n.casefold() for n in names])
    c.each(folded.duplicated(keep=False).to_numpy() & (names != ""), "scenario", names, "scenario name used twice")

    known = {dimension: {} for dimension in DIMENSIONS}
    for dimension in DIMENSIONS:
        values = list(pd.unique(campaign.creators[dimension])) + [g.group for g in campaign.rules_for(dimension)]
        if dimension == "tier":
            values += [band.name for band in campaign.tiers]
        for value in values:
            if value:
                known[dimension].setdefault(normalise_header(value), value)

    columns = {}
    for column in table.columns:
        if column in ("scenario", "budget", "mix", "mix_share", "target_engagement") + _SCENARIO_SETTINGS:
            continue
        if column.startswith("_column_") or not sheet.headers.get(column):
            continue
        field_name = next((f for f in _GROUP_FIELDS if column.endswith("_" + f)), None)
        base = column[: -len(field_name) - 1] if field_name else ""
        dimension = next((d for d in DIMENSIONS if base.startswith(d + "_") and base[len(d) + 1:] in known[d]), None)
        if dimension:
            base = base[len(dimension) + 1:]
            matches = [dimension]
        else:
            matches = [d for d in DIMENSIONS if base in known[d]]
        if field_name is None or not matches:
            c.add(None, column, None, "is not a scenario column: use budget, mix, mix_share, target_engagement, "
                  f"{', '.join(_SCENARIO_SETTINGS)}, or '<niche, tier or platform> <{' | '.join(_GROUP_FIELDS)}>'")
            continue
        if len(matches) > 1:
            c.add(None, column, None,
                  f"'{base}' is a {' and a '.join(matches)}; prefix it, e.g. '{matches[0]} {base} {field_name}'")
            continue
        columns[column] = (matches[0], known[matches[0]][base], field_name)

    def numbers(column, **kwargs):
        if column not in table:
            return np.full(len(table), np.nan)
        parsed, _ = _number_column(table, column, c, required=False, **kwargs)
        return parsed.values

    budgets = numbers("budget", minimum=0.0)
    c.each(budgets == 0, "budget", budgets, "budget must be above 0")
    targets = numbers("target_engagement", minimum=0.0)
    mix_shares = _scenario_fractions(table, "mix_share", c)
    mixes = [m.casefold() for m in clean_text(table["mix"])] if "mix" in table else [""] * len(table)
    for i, mix in enumerate(mixes):
        if mix and mix not in BUILTIN_MIXES:
            c.add(i, "mix", mix, f"unknown mix; use {', '.join(BUILTIN_MIXES)} or leave blank")
    settings_values = {}
    for key in _SCENARIO_SETTINGS:
        if key not in table:
            continue
        for i, cell in enumerate(table[key].to_numpy(object)):
            value, problem = _setting_value(key, cell, name, int(sheet.rows[i]))
            if problem:
                problems.append(problem)
            elif value is not None:
                settings_values.setdefault(i, []).append((key, value))
    group_values = {}
    for column, (dimension, group, field_name) in columns.items():
        if field_name.endswith("share"):
            values = _scenario_fractions(table, column, c)
        else:
            values = numbers(column, integer=True)
        for i, value in enumerate(values):
            if not np.isnan(value):
                group_values.setdefault(i, []).append(
                    (dimension, group, field_name, float(value) if field_name.endswith("share") else int(value))
                )
    problems += c.problems
    if problems:
        raise InputError(problems)
    return [
        Scenario(
            name=names[i],
            budget=None if np.isnan(budgets[i]) else float(budgets[i]),
            mix=mixes[i] if mixes[i] not in ("", "balanced") else None,
            mix_share=None if np.isnan(mix_shares[i]) else float(mix_shares[i]),
            settings=tuple(settings_values.get(i, ())),
            groups=tuple(group_values.get(i, ())),
            target_engagement=None if np.isnan(targets[i]) else float(targets[i]),
            line=names[i],
        )
        for i in range(len(table))
    ]


def _scenario_fractions(table, column, collector) -> np.ndarray:
    """A share column on the Scenarios sheet: 0.7 or 70%; plain numbers above 1 refused."""
    if column not in table:
        return np.full(len(table), np.nan)
    parsed, raw = _number_column(table, column, collector, required=False, allow_percent=True)
    values = parsed.values.copy()
    values[parsed.percent] /= 100.0
    with np.errstate(invalid="ignore"):
        collector.each(values > 1, column, raw, "is above 100%: write a fraction (0.7) or a percent (70%)")
    return values
