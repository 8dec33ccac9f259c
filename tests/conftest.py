"""Shared test helpers: real workbooks written with openpyxl, both real solvers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from models.checker import check_plan
from planner.cli import cli

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_inputs"
SOLVERS = ("highs", "cbc")


def assert_same_rows(bulk, calamine, where=""):
    """Rows equal value for value and type for type (NaN equals NaN), merged ranges too."""
    assert len(bulk) == len(calamine), where
    for number, (mine, theirs) in enumerate(zip(bulk, calamine), start=1):
        assert len(mine) == len(theirs), f"{where} row {number}"
        for a, b in zip(mine, theirs):
            assert type(a) is type(b) and (a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))), (
                f"{where} row {number}: {a!r} (bulk) vs {b!r} (calamine)")
    assert tuple(bulk.merged) == tuple(calamine.merged), where


@pytest.fixture(autouse=True)
def bulk_reader_matches_calamine(monkeypatch):
    """Every sheet any test's workbook has read in bulk is read by calamine too: they must agree."""
    from planner import workbook

    bulk = workbook._bulk_sheets

    def checked(archive, path, label, layout):
        names, visible, ready = bulk(archive, path, label, layout)
        if ready:
            sheets, calamine_names = workbook._calamine_sheets(Path(path), label, "xlsx")
            assert names == calamine_names
            for key, rows in ready.items():
                assert_same_rows(rows, sheets[key], f"{label}:{key}")
        return names, visible, ready

    monkeypatch.setattr(workbook, "_bulk_sheets", checked)


def write_workbook(path, creators, budget=None, niches=None, tiers=None, platforms=None, extra_sheets=None):
    """Write an input workbook from plain rows.

    Parameters
    ----------
    path : Path
    creators : list of dict or list of list
        Dicts (header = keys of the first) or rows with the header first.
    budget : dict, optional
        setting -> value rows of the Budget sheet.
    niches, tiers, platforms : list of dict, optional
        Group rule rows.
    extra_sheets : dict, optional
        Sheet name -> rows (lists), written as given.

    Returns
    -------
    Path
    """
    wb = Workbook()
    wb.remove(wb.active)
    _rows(wb.create_sheet("Creators"), creators)
    if budget is not None:
        ws = wb.create_sheet("Budget")
        ws.append(["setting", "value"])
        for key, value in budget.items():
            ws.append([key, value])
    for title, rows in (("Niches", niches), ("Tiers", tiers), ("Platforms", platforms)):
        if rows is not None:
            _rows(wb.create_sheet(title), rows)
    for title, rows in (extra_sheets or {}).items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return Path(path)


def _rows(ws, rows):
    """Append dict rows (header from the union of keys, in order) or list rows."""
    if rows and isinstance(rows[0], dict):
        header = []
        for row in rows:
            header += [k for k in row if k not in header]
        ws.append(header)
        for row in rows:
            ws.append([row.get(k) for k in header])
    else:
        for row in rows:
            ws.append(list(row))


def creator(name, niche="beauty", followers=10_000, rate=0.05, cost=100, **extra):
    """One Creators row; engagement per post = followers x rate (authenticity 1)."""
    return {"creator": name, "niche": niche, "followers": followers, "engagement_rate": rate, "cost_per_post": cost,
            **extra}


def run_cli(*args):
    """Invoke the planner CLI in-process; returns click's Result."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_checked(campaign, plan):
    """Every plan in the suite passes the independent checker."""
    result = check_plan(campaign, plan.posts)
    assert result.ok, result.violations
    assert np.isclose(result.engagement, plan.engagement)


@pytest.fixture(params=SOLVERS)
def solver(request):
    """Run the test once per installed solver."""
    return request.param


def c_row(name, value, cost, niche="beauty", **extra):
    """A creator whose one post is worth exactly `value` (followers = value x 100, rate 1%)."""
    return creator(name, niche=niche, followers=value * 100, rate=0.01, cost=cost, **extra)


def read_table(path, sheet, snake=True, totals=False):
    """The Excel table on a report sheet as a DataFrame, wherever it starts (client sheets have
    title rows above it); without its totals row unless asked. Headers are turned back into the
    column keys (``Cost per post`` -> ``cost_per_post``) unless snake is False."""
    import openpyxl
    import pandas as pd
    from openpyxl.utils import range_boundaries

    from planner.words import COLUMN_WORDS

    ws = openpyxl.load_workbook(path)[sheet]
    table = next(iter(ws.tables.values()))
    low_col, low_row, high_col, high_row = range_boundaries(table.ref)
    if table.totalsRowCount and not totals:
        high_row -= 1
    rows = list(ws.iter_rows(min_row=low_row, max_row=high_row, min_col=low_col, max_col=high_col, values_only=True))
    header = list(rows[0])
    if snake:
        keys = {words: key for key, words in COLUMN_WORDS.items()}
        header = [keys.get(h, str(h).lower().replace(" ", "_")) for h in header]
    return pd.DataFrame(rows[1:], columns=header)


def key_values(path, sheet):
    """A Summary / Run info sheet as label -> value."""
    import openpyxl

    ws = openpyxl.load_workbook(path)[sheet]
    return {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row and row[0] is not None and len(row) > 1}
