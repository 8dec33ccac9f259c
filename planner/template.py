"""``planner template``: an input workbook to fill in, with instructions and data validation."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from planner.report import _print_setup, check_output_path, save_atomically

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

CREATOR_COLUMNS = (
    ("creator", "Unique handle or id (required).", "@glow.with.maya"),
    ("platform", "instagram, tiktok, youtube... (optional).", "instagram"),
    ("niche", "Content niche (required).", "beauty"),
    ("followers", "Follower count; 12.5K and 1.2M are fine (required).", "48.2K"),
    ("engagement_rate", "Fraction (0.035) or percent (3.5%) (required).", "3.5%"),
    ("cost_per_post", "Dollars per post; $1,200 is fine; 0 for product seeding (required).", "$1,200"),
    ("max_posts", "Most posts to book (default 1).", 2),
    ("min_posts", "Package deal: if booked, at least this many (default 0).", 0),
    ("authenticity", "Share of real followers, 0-1 (default 1).", 0.92),
    ("expected_engagement", "Your own per-post forecast; replaces followers x rate x authenticity.", None),
    ("include", "'must' to force a booking, 'exclude' to forbid it, blank otherwise.", None),
    ("tier", "Overrides the follower-based tier (nano, micro, mid, macro, mega).", None),
    ("audience_us", "An example column of your own: the share of the creator's audience in the US (used by the "
                    "'US audience' custom rule).", 0.62),
)
EXAMPLE_CREATORS = (
    ("@glow.with.maya", "instagram", "beauty", "48.2K", "3.5%", "$1,200", 2, 0, 0.92, None, None, None, "62%"),
    ("@liftwithleo", "tiktok", "fitness", "8,900", 0.081, 150, 1, 0, 1, None, "must", None, "45%"),
    ("@plates_by_priya", "youtube", "food", "1.2M", "1.1%", "$14,000", 1, 0, 0.88, None, None, None, "71%"),
)
BUDGET_ROWS = (
    ("total_budget", 20000, "Campaign budget, in the currency of your money cells (required)."),
    ("max_share_per_creator", 0.75, "No creator above this share of the budget (blank = no cap)."),
    ("min_creators", 2, "At least this many creators booked (blank = no minimum)."),
    ("max_creators", None, "At most this many creators booked (blank = no maximum)."),
    ("repeat_post_decay", 1, "The k-th post by one creator is worth decay^(k-1) of the first (1 = no decay)."),
    ("share_basis", "budget", "'budget': shares are of total_budget; 'spend': of planned spend."),
    ("solver", "highs", "'highs' (default) or 'cbc'."),
    ("time_limit_seconds", None, "Stop the solver after this many seconds (blank = no limit)."),
    ("mip_gap", 0.0001, "Prove the plan within this fraction of the optimum (0.0001 = 0.01%)."),
    ("currency", None, "$, €, £ or a code such as EUR (blank = the sign on your money cells, else $)."),
    ("campaign", "Spring launch", "The campaign's name: the title of every client sheet (optional)."),
    ("client", None, "Who the plan is for: shown under the title (optional)."),
    ("objective", "engagement", "What to maximise: engagement, reach, conversions, or a numeric Creators column."),
    ("reach_rate", None, "Share of followers one post reaches (for objective reach; blank = none)."),
)
CUSTOM_COLUMNS = ("rule", "measure", "per", "where", "weight_column", "min", "max", "min_share", "max_share")
EXAMPLE_CUSTOM_RULES = (
    ("US audience", "engagement", None, None, "audience_us", None, None, "50%", None),
    ("Not both food and beauty leads", "creators", None, "creator in (@glow.with.maya, @plates_by_priya)", None, None,
     1, None, None),
    ("Instagram spend", "spend", None, "platform = instagram", None, None, 15000, None, None),
)
GROUP_SHEETS = (
    ("Niches", "niche", ("min_share", "max_share", "min_creators", "max_creators", "weight"),
     (("beauty", 0.05, 0.30, None, None, 1.0), ("fitness", None, None, 1, None, 1.2),
      ("food", None, 0.90, None, None, 1.0))),
    ("Tiers", "tier", ("min_followers", "max_followers", "min_share", "max_share", "min_creators", "max_creators"),
     (("nano", 0, 10000, None, None, None, None), ("micro", 10000, 100000, 0.05, None, None, None),
      ("mid", 100000, 500000, None, None, None, None), ("macro", 500000, 1000000, None, None, None, None),
      ("mega", 1000000, None, None, 0.90, None, None))),
    ("Platforms", "platform", ("min_share", "max_share", "min_creators", "max_creators"),
     (("instagram", None, 0.90, None, None), ("tiktok", None, None, 1, None))),
)
SCENARIO_COLUMNS = ("scenario", "budget", "mix", "mix_share", "target_engagement", "max_creators",
                    "micro min_share", "beauty max_share")
EXAMPLE_SCENARIOS = (
    ("lean budget", 10000, None, None, None, None, None, None),
    ("micro push", None, "many-micro", 0.6, None, None, None, None),
    ("beauty capped", None, None, None, None, 2, 0.10, 0.15),
    ("cheapest for 12k engagement", None, None, None, 12000, None, None, None),
)
INSTRUCTIONS = (
    "How to fill in this workbook",
    "",
    "Creators: one row per candidate creator. "
    "Required columns: creator, niche, followers, engagement_rate, cost_per_post.",
    "  Numbers may be written as planners write them: 12.5K, 1.2M, $1,200, 3.5%, 0.035.",
    "  Extra columns you add are carried through to the report untouched.",
    "Budget: one setting per row (setting | value). total_budget is required; blank values use the defaults.",
    "Niches / Tiers / Platforms (optional): one row per group; blank cells mean no rule.",
    "  min_share / max_share bound the group's spend as a share of total_budget (or of planned spend).",
    "  min_creators / max_creators bound how many of the group's creators are booked.",
    "  Niches also take a weight: the value of one engagement in that niche (default 1).",
    "  Tiers come from followers (lower bound inclusive); edit min_followers / max_followers to change the bands.",
    "Scenarios (optional, for 'planner compare'): one row per named scenario; blank cells keep the rules above.",
    "  budget, mix (many-micro, few-macro, balanced), mix_share, target_engagement, Budget settings,",
    "  and group rules written as '<group> <rule>', e.g. 'micro min_share' or 'beauty max_share'.",
    "Custom rules (optional): rules of your own, one per row: rule (a name), measure (spend, posts, creators,",
    "  engagement, reach, conversions or a numeric Creators column), per (post or creator), where ('column = value'",
    "  or 'column in (a, b)', blank = everyone), weight_column (multiply by a column, e.g. audience_us), and bounds:",
    "  min / max (totals) or min_share / max_share (of the same measure over the whole plan).",
    "The example rows show the formats; replace them with your own.",
    "",
    "Then run:  planner plan this_file.xlsx -o plan.xlsx",
)


def _header(ws, names):
    """Bold, filled header row with frozen panes."""
    for j, name in enumerate(names, start=1):
        cell = ws.cell(row=1, column=j, value=name)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        ws.column_dimensions[cell.column_letter].width = max(14, len(name) + 4)
    ws.freeze_panes = "A2"


def _examples(ws, rows) -> None:
    """Example rows under the header, from row 2."""
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=value)


def write_template(output) -> None:
    """Write the input template workbook.

    Parameters
    ----------
    output : str or Path
        An .xlsx path; written atomically.
    """
    output = check_output_path(output)
    wb = Workbook()
    ws = wb.active
    ws.title = "Instructions"
    for i, line in enumerate(INSTRUCTIONS, start=1):
        ws.cell(row=i, column=1, value=line).font = Font(bold=(i == 1), size=14 if i == 1 else 11)
    ws.column_dimensions["A"].width = 120

    ws = wb.create_sheet("Creators")
    _header(ws, [name for name, _, _ in CREATOR_COLUMNS])
    for j, (_, note, _) in enumerate(CREATOR_COLUMNS, start=1):
        ws.cell(row=1, column=j).comment = Comment(note, "planner")
    _examples(ws, EXAMPLE_CREATORS)
    include = DataValidation(type="list", formula1='"must,exclude"', allow_blank=True)
    include.error = "Write must, exclude, or leave blank."
    ws.add_data_validation(include)
    include.add("K2:K100000")
    whole = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
    whole.error = "A whole number, 0 or more."
    ws.add_data_validation(whole)
    whole.add("G2:H100000")
    share = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True)
    share.error = "A fraction between 0 and 1."
    ws.add_data_validation(share)
    share.add("I2:I100000")

    ws = wb.create_sheet("Budget")
    _header(ws, ["setting", "value", "what it means"])
    for i, (setting, value, note) in enumerate(BUDGET_ROWS, start=2):
        ws.cell(row=i, column=1, value=setting)
        ws.cell(row=i, column=2, value=value)
        ws.cell(row=i, column=3, value=note).alignment = Alignment(wrap_text=False)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["C"].width = 80
    choice = DataValidation(type="list", formula1='"budget,spend"', allow_blank=True)
    ws.add_data_validation(choice)
    choice.add("B7")
    solver = DataValidation(type="list", formula1='"highs,cbc"', allow_blank=True)
    ws.add_data_validation(solver)
    solver.add("B8")

    for title, key, columns, rows in GROUP_SHEETS:
        ws = wb.create_sheet(title)
        _header(ws, [key, *columns])
        _examples(ws, rows)
        shares = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True)
        shares.error = "A fraction between 0 and 1 (0.1 = 10%)."
        ws.add_data_validation(shares)
        for j, column in enumerate(columns, start=2):
            if column.endswith("share"):
                letter = ws.cell(row=1, column=j).column_letter
                shares.add(f"{letter}2:{letter}1000")
    ws = wb.create_sheet("Scenarios")
    _header(ws, list(SCENARIO_COLUMNS))
    _examples(ws, EXAMPLE_SCENARIOS)
    ws.column_dimensions["A"].width = 30
    mix = DataValidation(type="list", formula1='"many-micro,few-macro,balanced"', allow_blank=True)
    ws.add_data_validation(mix)
    mix.add("C2:C200")
    ws = wb.create_sheet("Custom rules")
    _header(ws, list(CUSTOM_COLUMNS))
    _examples(ws, EXAMPLE_CUSTOM_RULES)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["D"].width = 46
    per = DataValidation(type="list", formula1='"post,creator"', allow_blank=True)
    ws.add_data_validation(per)
    per.add("C2:C200")
    for sheet in wb:  # a few legible pages, not one page per stray column
        sheet.print_title_rows = None if sheet.title == "Instructions" else "1:1"
        _print_setup(sheet)
    save_atomically(wb, output)
