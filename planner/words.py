"""The report's words: column headers a client reads, the plan's status, percents in sentences."""

from __future__ import annotations

import contextvars
import re

from models.plan import SolveOutcome, Status, percent, share_text

#: Column headers in words, for every column the report writes (others: underscores become spaces).
COLUMN_WORDS = {
    "creator": "Creator",
    "platform": "Platform",
    "niche": "Niche",
    "tier": "Tier",
    "followers": "Followers",
    "engagement_rate": "Engagement rate",
    "authenticity": "Authenticity",
    "cost_per_post": "Cost per post",
    "posts": "Posts",
    "spend": "Spend",
    "expected_engagement": "Expected engagement",
    "weighted_engagement": "Weighted engagement",
    "cost_per_engagement": "Cost per engagement",
    "share_of_budget": "Share of budget",
    "share_of_spend": "Share of spend",
    "share_of_engagement": "Share of engagement",
    "include": "Booking rule",
    "input_row": "Input row",
    "candidates": "Candidates",
    "creators_booked": "Creators booked",
    "min_share": "Minimum share",
    "max_share": "Maximum share",
    "min_creators": "Minimum creators",
    "max_creators": "Maximum creators",
    "weight": "Weight",
    "rule": "Rule id",
    "description": "Rule",
    "sense": "Sense",
    "limit": "Limit",
    "planned": "Planned",
    "slack": "Room left",
    "unit": "Unit",
    "holds": "Holds",
    "binding": "Binding",
    "loosened_by": "Loosened by",
    "engagement_gain": "Engagement gain",
    "gain_low": "Gain (low)",
    "gain_high": "Gain (high)",
    "method": "Method",
    "weighted_engagement_per_post": "Weighted engagement per post",
    "engagement_per_dollar": "Engagement per unit of money",
    "reason": "Reason",
    "setting": "Setting",
    "value": "Value",
    "source": "Source",
    "scenario": "Scenario",
    "budget": "Budget",
    "creators": "Creators",
    "status": "Status",
    "gap": "Gap",
    "proven": "Proven",
    "note": "Note",
    "statistic": "Statistic",
    "best_mean_plan": "Best-mean plan (same draws)",
    "p10": "P10 (1 in 10 below)",
    "p90": "P90 (1 in 10 above)",
    "cvar": "Mean of the worst 10%",
    "change": "Change",
    "new_value": "New value",
    "verified": "Verified",
}


#: What the plan maximises, as the report names it ("engagement", "reach", "conversions" or a column).
_OBJECTIVE = contextvars.ContextVar("objective", default="engagement")
_ENGAGEMENT = re.compile(r"\b([Ee])ngagements?\b(?! rate)")


def set_objective(objective: str) -> None:
    """Name the objective in every header and sentence written from now on in this context."""
    _OBJECTIVE.set((objective or "engagement").strip().casefold())  # a column's name reads as a noun: "Cost per clicks"


def in_objective(text: str) -> str:
    """``text`` with the plan's value called by its objective's name: 'Expected engagement' ->
    'Expected reach' when planning for reach (an engagement *rate* stays what it is)."""
    noun = _OBJECTIVE.get()
    if noun == "engagement" or not isinstance(text, str):
        return text
    return _ENGAGEMENT.sub(lambda m: noun if m.group(1) == "e" else noun[:1].upper() + noun[1:], text)


def header_words(column) -> str:
    """A column's header as a client reads it: ``cost_per_post`` -> ``Cost per post``."""
    text = str(column)
    if text in COLUMN_WORDS:
        return in_objective(COLUMN_WORDS[text])
    text = " ".join(text.replace("_", " ").split())
    return text[:1].upper() + text[1:]


share_words = share_text


def status_words(outcome: SolveOutcome) -> str:
    """The plan's status for a client: how close to the best possible plan it is, in words."""
    if outcome.status is Status.OPTIMAL:
        if outcome.gap is None or outcome.gap <= 1e-6:
            return "Best possible plan under these rules"
        return f"Within {percent(outcome.gap)} of the best possible plan under these rules"
    if outcome.status is Status.FEASIBLE:
        if outcome.gap is None:
            return "Best plan found before the time limit; how far it is from the best possible is not known"
        return (f"Within {percent(outcome.gap)} of the best possible; "
                f"{outcome.unproven_because or 'stopped at the time limit'}")
    if outcome.status is Status.INFEASIBLE:
        return "No plan keeps every rule"
    return "No plan was found in the time allowed"


def is_proven(outcome: SolveOutcome) -> bool:
    """True when the plan is proven within its gap limit."""
    return outcome.status is Status.OPTIMAL
