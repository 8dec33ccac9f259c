#!/usr/bin/env python3
"""Generate realistic campaigns of N creators as planner input workbooks.

The creator data model is the one of ``scripts/make_samples.py`` (tiers,
follower bands, engagement medians by platform and tier, rate cards, noise,
authenticity, handle vocabulary, the typical campaign's niche, tier and
platform mixes and its niche and tier rules); its constants and ``tier_of``
are imported from there. Its own roster generator draws one creator at a
time and its handle generator retries until a handle is unique, which is
fine for 2,000 creators but far too slow (and, past ~600k creators, out of
handle vocabulary) at 1,048,575; this module draws the same distributions
with vectorised numpy calls instead.

The benchmark campaign
----------------------
* N creators (1 ... 1,048,575, the most rows an Excel sheet holds under its
  header), 8 niches, 3 platforms, the 5 default tiers.
* One post per creator (``max_posts = 1``, ``min_posts = 0``), no include
  flags, no repeat-post decay.
* ``total_budget = max($50,000, $75 x N)``.
* A per-creator cap of about $10,000: ``max_share_per_creator`` is
  $10,000 / total_budget rounded to two significant digits, so the cap stays
  a dollar amount a brand would set, whatever the campaign size (it rules out
  most macro and mega creators).
* Niche rules (min_share, max_share, min_creators, weight) and tier rules
  (min_share / max_share) of the typical sample campaign.
* Feasible: the necessary conditions (minimum shares add up to at most 100 %
  per dimension, every group with a minimum share or count has enough
  affordable creators) are checked before writing.

Workbooks are written as Excel saves them (text in a shared-strings table) and cached
under ``bench/.cache/`` keyed by N, seed and generator version, so each
size is generated once.

Usage::

    python bench/generate.py 100000            # prints the cached path
    python bench/generate.py 1000 --seed 7 --out /tmp/c1k.xlsx
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE_DIR = BENCH / ".cache"

#: Bump when the generated data changes, so cached workbooks are regenerated.
GENERATOR_VERSION = 2
DEFAULT_SEED = 20261126
#: An Excel sheet has 1,048,576 rows; one holds the header.
MAX_CREATORS = 1_048_575

BUDGET_PER_CREATOR = 75.0
MIN_BUDGET = 50_000.0
CREATOR_CAP_DOLLARS = 10_000.0


def _load_make_samples():
    """Import scripts/make_samples.py (a script folder, not a package)."""
    name = "make_samples"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


ms = _load_make_samples()

# The typical sample campaign's mixes and rules (scripts/make_samples.py, build_typical).
NICHE_MIX = {
    "beauty": 0.17, "fashion": 0.15, "fitness": 0.13, "food": 0.13,
    "travel": 0.11, "gaming": 0.11, "tech": 0.10, "parenting": 0.10,
}
NICHE_WEIGHTS = {
    "beauty": 1.2, "fashion": 1.1, "fitness": 1.0, "food": 0.9,
    "travel": 1.0, "gaming": 0.8, "tech": 1.3, "parenting": 1.1,
}
NICHE_RULES = {  # (min_share, max_share, min_creators)
    "beauty": (0.08, 0.25, 3),
    "fashion": (0.08, 0.25, 3),
    "fitness": (0.06, 0.20, 2),
    "food": (0.05, 0.20, 2),
    "travel": (0.05, 0.20, 2),
    "gaming": (0.03, 0.15, 2),
    "tech": (0.05, 0.20, 2),
    "parenting": (0.04, 0.15, 2),
}
TIER_MIX = {"nano": 0.45, "micro": 0.35, "mid": 0.13, "macro": 0.045, "mega": 0.025}
TIER_RULES = {  # (min_share, max_share)
    "nano": (0.03, None),
    "micro": (0.15, None),
    "mid": (None, 0.50),
    "macro": (None, 0.35),
    "mega": (None, 0.10),
}
PLATFORM_MIX = {"instagram": 0.50, "tiktok": 0.35, "youtube": 0.15}
PLATFORM_MIX_BY_NICHE = {
    "gaming": {"instagram": 0.20, "tiktok": 0.40, "youtube": 0.40},
    "tech": {"instagram": 0.30, "tiktok": 0.30, "youtube": 0.40},
}

CREATOR_COLUMNS = (
    "creator", "platform", "niche", "followers", "engagement_rate", "cost_per_post",
    "max_posts", "min_posts", "authenticity", "include",
)
NICHE_COLUMNS = ("niche", "min_share", "max_share", "min_creators", "weight")
TIER_COLUMNS = ("tier", "min_followers", "max_followers", "min_share", "max_share")


def budget_for(n: int) -> float:
    """Total budget of the N-creator campaign: $75 per creator, at least $50k."""
    return max(MIN_BUDGET, BUDGET_PER_CREATOR * n)


def creator_share_for(budget: float) -> float:
    """max_share_per_creator giving a ~$10k cap, to two significant digits."""
    share = CREATOR_CAP_DOLLARS / budget
    digits = 1 - int(math.floor(math.log10(share)))
    return round(share, digits)


def _draw(rng: np.random.Generator, n: int, mix: dict) -> np.ndarray:
    """n category indices drawn with the mix's probabilities."""
    p = np.asarray(list(mix.values()), float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _handles(rng: np.random.Generator, niche_names: list, niche_idx: np.ndarray) -> np.ndarray:
    """Unique handles from make_samples' vocabulary and patterns.

    Repeats of a handle get a ``.2``, ``.3``, ... suffix (no pattern ends in
    a dot and digits, so the suffixed handles cannot clash with drawn ones).
    """
    n = len(niche_idx)
    adjectives = np.asarray(ms.ADJECTIVES, dtype=object)
    names = np.asarray(ms.FIRST_NAMES, dtype=object)
    adj = adjectives[rng.integers(len(adjectives), size=n)]
    name = names[rng.integers(len(names), size=n)]
    num = rng.integers(1, 100, size=n)
    pattern = rng.integers(6, size=n)
    noun_pick = rng.integers(10, size=n)
    noun = np.empty(n, dtype=object)
    for k, niche in enumerate(niche_names):
        nouns = np.asarray(ms.NICHE_NOUNS.get(niche, ms.NICHE_NOUNS["beauty"]), dtype=object)
        mask = niche_idx == k
        noun[mask] = nouns[noun_pick[mask] % len(nouns)]
    formats = (
        lambda a, o, m, u: f"{a}{o}{u}",
        lambda a, o, m, u: f"{a}_{o}",
        lambda a, o, m, u: f"{o}with{m}",
        lambda a, o, m, u: f"{m}.{o}",
        lambda a, o, m, u: f"the{a}{o}",
        lambda a, o, m, u: f"{m}_{o}{u}",
    )
    body = [formats[p](a, o, m, u) for p, a, o, m, u in zip(pattern.tolist(), adj, noun, name, num.tolist())]
    seen: dict = {}
    out = np.empty(n, dtype=object)
    for i, b in enumerate(body):
        count = seen.get(b, 0) + 1
        seen[b] = count
        out[i] = f"@{b}" if count == 1 else f"@{b}.{count}"
    return out


def generate_roster(n: int, seed: int = DEFAULT_SEED) -> dict:
    """Draw N creators with make_samples' distributions, vectorised.

    Returns
    -------
    dict
        Column name -> numpy array (or list), in ``CREATOR_COLUMNS`` order,
        plus ``tier`` (derived from followers, not written).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n]))
    niche_names = list(NICHE_MIX)
    tier_names = list(TIER_MIX)
    platforms = list(PLATFORM_MIX)

    niche_idx = _draw(rng, n, NICHE_MIX)
    tier_idx = _draw(rng, n, TIER_MIX)
    platform_idx = _draw(rng, n, PLATFORM_MIX)
    for niche, pmix in PLATFORM_MIX_BY_NICHE.items():
        mask = niche_idx == niche_names.index(niche)
        platform_idx[mask] = np.asarray([platforms.index(p) for p in pmix])[_draw(rng, int(mask.sum()), pmix)]

    # Followers: log-uniform within the drawn tier's sampling range.
    lo = np.asarray([ms.TIER_SAMPLING_RANGE[t][0] for t in tier_names])[tier_idx]
    hi = np.asarray([ms.TIER_SAMPLING_RANGE[t][1] for t in tier_names])[tier_idx]
    followers = np.exp(rng.uniform(np.log(lo), np.log(hi))).astype(np.int64)
    followers = np.minimum(np.maximum(followers, lo.astype(np.int64)), hi.astype(np.int64) - 1)
    # Tier from the follower count (bands lower-bound inclusive), as make_samples.tier_of.
    lower = np.asarray([ms.TIER_BOUNDS[t][0] for t in ms.TIER_NAMES])
    tier_idx = np.searchsorted(lower, followers, side="right") - 1

    median = np.asarray([[ms.ENGAGEMENT_MEDIAN[p][t] for t in ms.TIER_NAMES] for p in platforms])
    median_er = median[platform_idx, tier_idx]
    er = median_er * np.exp(rng.normal(0.0, ms.ENGAGEMENT_NOISE_SIGMA, size=n))
    er = np.clip(er, *ms.ENGAGEMENT_CLIP)

    base_fee = np.asarray([ms.BASE_FEE[p] for p in platforms])[platform_idx]
    rate = np.asarray([ms.RATE_PER_1K_FOLLOWERS[p] for p in platforms])[platform_idx]
    price = (
        (base_fee + rate * followers / 1000.0)
        * (er / median_er) ** ms.COST_ENGAGEMENT_ELASTICITY
        * np.exp(rng.normal(0.0, ms.COST_NOISE_SIGMA, size=n))
    )
    cost = np.maximum(ms.COST_FLOOR, np.round(price / 10.0).astype(np.int64) * 10)
    authenticity = 0.75 + 0.25 * rng.beta(6.0, 2.0, size=n)

    return {
        "creator": _handles(rng, niche_names, niche_idx),
        "platform": np.asarray(platforms, dtype=object)[platform_idx],
        "niche": np.asarray(niche_names, dtype=object)[niche_idx],
        "followers": followers,
        "engagement_rate": np.round(er, 4),
        "cost_per_post": cost,
        "max_posts": np.ones(n, np.int64),
        "min_posts": np.zeros(n, np.int64),
        "authenticity": np.round(authenticity, 3),
        "include": np.full(n, None, dtype=object),
        "tier": np.asarray(ms.TIER_NAMES, dtype=object)[tier_idx],
    }


def campaign_rules(n: int) -> dict:
    """Budget settings and niche / tier rule rows of the N-creator campaign."""
    budget = budget_for(n)
    budget_rows = [
        ("total_budget", budget),
        ("max_share_per_creator", creator_share_for(budget)),
        ("repeat_post_decay", 1),
        ("share_basis", "budget"),
        ("solver", "highs"),
        ("mip_gap", 0.0001),
    ]
    niches = [
        (niche, lo, hi, mc, NICHE_WEIGHTS[niche]) for niche, (lo, hi, mc) in NICHE_RULES.items()
    ]
    tiers = []
    for tier in ms.TIER_NAMES:
        lo_f, hi_f = ms.TIER_BOUNDS[tier]
        min_share, max_share = TIER_RULES[tier]
        tiers.append((tier, lo_f, hi_f, min_share, max_share))
    return {"budget": budget_rows, "niches": niches, "tiers": tiers}


def check_feasible(roster: dict, rules: dict) -> list:
    """Necessary conditions for a plan to exist; returns the problems found.

    Per dimension the minimum shares add up to at most 100 %, and every
    group with a minimum share or minimum count has enough creators that fit
    under the per-creator cap to reach it (one post each). Necessary, not
    sufficient: the planner is the final word (the harness runs it).
    """
    settings = dict(rules["budget"])
    budget = float(settings["total_budget"])
    cap = settings["max_share_per_creator"] * budget
    cost = np.asarray(roster["cost_per_post"], float)
    affordable = cost <= cap + 1e-9
    problems = []
    dims = {
        "niche": [(r[0], r[1], r[3]) for r in rules["niches"]],
        "tier": [(r[0], r[3], None) for r in rules["tiers"]],
    }
    for dim, groups in dims.items():
        mins = sum(g[1] or 0 for g in groups)
        if mins > 1 + 1e-9:
            problems.append(f"{dim} minimum shares sum to {mins:.0%}")
        for group, min_share, min_creators in groups:
            members = affordable & (roster[dim] == group)
            reachable = cost[members].sum()
            if min_share and min_share * budget > reachable:
                problems.append(f"{dim} {group}: min share needs ${min_share * budget:,.0f}, "
                                f"its affordable creators cost ${reachable:,.0f} in all")
            if min_creators and min_creators > members.sum():
                problems.append(f"{dim} {group}: min_creators {min_creators} > {members.sum()} affordable")
    return problems


def write_workbook(roster: dict, rules: dict, path: Path) -> None:
    """Write the campaign the way Excel saves a workbook: text in a shared-strings table.

    openpyxl's write-only mode writes every text cell inline, a layout Excel
    itself never saves and one that makes the Creators sheet about twice as
    large; a planner's file has been saved by Excel. Blank cells are left out,
    as Excel does.
    """
    sheets = {
        "Creators": (CREATOR_COLUMNS, [roster[c] for c in CREATOR_COLUMNS]),
        "Budget": (("setting", "value"), list(zip(*rules["budget"]))),
        "Niches": (NICHE_COLUMNS, list(zip(*rules["niches"]))),
        "Tiers": (TIER_COLUMNS, list(zip(*rules["tiers"]))),
    }
    write_xlsx(sheets, path)


def write_xlsx(sheets: dict, path: Path) -> None:
    """Write ``{sheet name: (header, columns)}`` as an xlsx with shared strings (as Excel does)."""
    import zipfile
    from xml.sax.saxutils import escape

    from planner.workbook import column_letter

    strings: dict = {}

    def cells(values, letter: str) -> list:
        """One cell tag per value ('' for a blank), numbers as their shortest text."""
        values = values.tolist() if isinstance(values, np.ndarray) else list(values)
        out = []
        for r, value in enumerate(values, start=2):
            if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
                out.append("")
            elif isinstance(value, str):
                index = strings.setdefault(value, len(strings))
                out.append(f'<c r="{letter}{r}" t="s"><v>{index}</v></c>')
            else:
                number = int(value) if isinstance(value, float) and value.is_integer() else value
                out.append(f'<c r="{letter}{r}"><v>{number!r}</v></c>')
        return out

    parts = {}
    for number, (name, (header, columns)) in enumerate(sheets.items(), start=1):
        letters = [column_letter(j) for j in range(len(header))]
        head = "".join(f'<c r="{letters[j]}1" t="s"><v>{strings.setdefault(h, len(strings))}</v></c>'
                       for j, h in enumerate(header))
        body = [cells(column, letters[j]) for j, column in enumerate(columns)]
        rows = [f'<row r="1">{head}</row>']
        rows += [f'<row r="{r}">{"".join(row)}</row>' for r, row in enumerate(zip(*body), start=2)]
        parts[f"xl/worksheets/sheet{number}.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheetData>{"".join(rows)}</sheetData></worksheet>'
        )
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<sst xmlns="{_MAIN_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>'
    )
    names = list(sheets)
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        "<sheets>" + "".join(f'<sheet name="{escape(n)}" sheetId="{k}" r:id="rId{k}"/>'
                               for k, n in enumerate(names, start=1)) + "</sheets></workbook>"
    )
    relations = "".join(
        f'<Relationship Id="rId{k}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{k}.xml"/>'
        for k in range(1, len(names) + 1)
    )
    relations += (f'<Relationship Id="rId{len(names) + 1}" Type="{_REL_NS}/sharedStrings" '
                  'Target="sharedStrings.xml"/>')
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL_NS}">'
        f"{relations}</Relationships>"
    )
    parts["_rels/.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for k in range(1, len(names) + 1)
    )
    parts["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        f"{sheet_types}</Types>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            archive.writestr(name, parts.pop(name))
        for name, text in parts.items():
            archive.writestr(name, text)


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def cache_path(n: int, seed: int = DEFAULT_SEED, cache_dir: Path | None = None) -> Path:
    """Where the N-creator workbook is cached."""
    return Path(cache_dir or CACHE_DIR) / f"campaign_n{n}_seed{seed}_v{GENERATOR_VERSION}.xlsx"


def generate(n: int, path: Path, seed: int = DEFAULT_SEED, verbose: bool = False) -> Path:
    """Generate, check and write the N-creator campaign to ``path``.

    Raises
    ------
    ValueError
        For N outside 1 ... 1,048,575.
    RuntimeError
        If the drawn campaign breaks a necessary feasibility condition.
    """
    if not 1 <= n <= MAX_CREATORS:
        raise ValueError(f"N must be between 1 and {MAX_CREATORS:,} (one Excel sheet), got {n:,}")
    started = time.perf_counter()
    roster = generate_roster(n, seed)
    rules = campaign_rules(n)
    problems = check_feasible(roster, rules)
    if problems:
        raise RuntimeError(f"generated campaign of {n:,} creators is infeasible: " + "; ".join(problems))
    drawn = time.perf_counter() - started
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write_workbook(roster, rules, partial)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    if verbose:
        print(f"generated {n:,} creators in {drawn:.1f} s, wrote {path} in "
              f"{time.perf_counter() - started - drawn:.1f} s", file=sys.stderr)
    return path


def ensure_campaign(n: int, seed: int = DEFAULT_SEED, cache_dir: Path | None = None, verbose: bool = False) -> Path:
    """The cached N-creator workbook, generated on first use."""
    path = cache_path(n, seed, cache_dir)
    if not path.exists():
        generate(n, path, seed, verbose=verbose)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate a benchmark campaign workbook of N creators.")
    parser.add_argument("n", type=int, help=f"number of creators (1 ... {MAX_CREATORS:,})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", type=Path, help="write here instead of the cache (always regenerates)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="cache folder (default bench/.cache)")
    args = parser.parse_args(argv)
    try:
        if args.out:
            path = generate(args.n, args.out, args.seed, verbose=True)
        else:
            path = ensure_campaign(args.n, args.seed, args.cache_dir, verbose=True)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
