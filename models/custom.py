"""What a plan is worth and the planner's own rules: objectives and the Custom rules sheet.

Metrics per post (before niche weights and repeat-post decay), columns of the creators table:

- ``engagement``: ``engagement_value`` (followers x engagement_rate x authenticity, or the
  creator's expected_engagement);
- ``reach``: ``reach_value`` (expected_reach, else followers x reach_rate x authenticity);
- ``conversions``: ``conversion_value`` (engagement x conversion_rate);
- any numeric Creators column, by its name: the value of one post.

The objective (Budget setting ``objective``) is one of them; ``post_value`` holds it.

A custom rule bounds one measure of the plan: ``spend``, ``posts``, ``creators`` or a metric,
summed per post (the metric's value x posts, with decay for engagement, reach and conversions)
or per creator (the value once if booked), over the creators its ``where`` selects, each times
its ``weight_column``: ``min <= total <= max``, and ``min_share x whole <= total <= max_share x
whole`` where ``whole`` is the same measure over the whole plan without where and weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

#: Metrics a plan can be planned for and measured in, and the column of the creators table holding each.
METRICS = {"engagement": "engagement_value", "reach": "reach_value", "conversions": "conversion_value"}
#: Measures a custom rule can bound besides the metrics and numeric Creators columns.
COUNTS = ("spend", "posts", "creators")
#: Measures whose later posts are worth repeat_post_decay of the one before.
DECAYED = tuple(METRICS)
#: What each bound of a custom rule is called in rule names: custom_min:<rule>, custom_max_share:<rule>, ...
BOUNDS = (("min", ">="), ("max", "<="), ("min_share", ">="), ("max_share", "<="))


@dataclass(frozen=True)
class CustomRule:
    """One row of the Custom rules sheet, validated.

    ``where_values`` holds the values ``where_column`` must take (compared as the creators
    table holds them: text cleaned, numbers as floats); ``row`` is the sheet row, for messages.
    """

    name: str
    measure: str
    per: str = "post"
    where_column: Optional[str] = None
    where_values: tuple = ()
    weight_column: Optional[str] = None
    min: Optional[float] = None
    max: Optional[float] = None
    min_share: Optional[float] = None
    max_share: Optional[float] = None
    row: int = 0

    def bounds(self) -> list:
        """[(rule id, kind, sense, limit)] of the bounds given."""
        return [(f"custom_{kind}:{self.name}", kind, sense, getattr(self, kind))
                for kind, sense in BOUNDS if getattr(self, kind) is not None]

    def scope(self) -> str:
        """'agency = Acme', 'creator in (@a, @b)', or '' for every creator."""
        if self.where_column is None:
            return ""
        shown = [_shown(v) for v in self.where_values]
        if len(shown) == 1:
            return f"{self.where_column} = {shown[0]}"
        return f"{self.where_column} in ({', '.join(shown)})"

    def describe(self, kind: str, limit: float) -> str:
        """The bound in words: 'Agency cap: at most 2 creators (agency = Acme)', 'US audience: engagement
        weighted by audience_us at least 60% of the plan's engagement'."""
        noun = measure_words(self.measure)
        weighted = f" weighted by {self.weight_column}" if self.weight_column else ""
        scope = self.scope()
        per = " (counted once per creator)" if self.per == "creator" and self.measure not in ("creators",) else ""
        bound = "at least" if kind.startswith("min") else "at most"
        if kind.endswith("share"):
            share = f"{limit:.4g}" if limit > 1 else f"{limit * 100:.4g}%"
            whose = f"{noun}{weighted}" + (f" of creators with {scope}" if scope else "")
            text = f"{whose} {bound} {share} of the plan's {noun}{per}"
        elif self.measure == "spend":
            text = f"spend {bound} {limit:,.2f}{weighted}{per}"
            if scope:
                text += f" ({scope})"
        else:
            amount = f"{limit:,.0f}" if float(limit).is_integer() else f"{limit:,.6g}"
            if limit == 1 and noun in ("creators", "posts", "conversions"):
                noun = noun[:-1]
            text = f"{bound} {amount} {noun}{weighted}{per}"
            if scope:
                text += f" ({scope})"
        return f"{self.name}: {text}"


def measure_words(measure: str) -> str:
    """'engagement', 'reach', 'conversions', 'creators', 'posts', 'spend' or the column's name."""
    return measure


def objective_words(objective: str) -> str:
    """What the plan maximises, as a heading: 'Expected engagement', 'Expected reach', 'Expected profit'."""
    return f"Expected {objective}"


def measure_values(creators, measure: str) -> tuple:
    """(value of one post (or of a booking) per creator, later posts decay) of a measure."""
    if measure == "spend":
        return creators["cost_per_post"].to_numpy(float), False
    if measure in ("posts", "creators"):
        return np.ones(len(creators)), False
    if measure in METRICS:
        column = METRICS[measure]
        if column not in creators:
            column = "post_value"  # engagement when the objective is engagement
        return creators[column].to_numpy(float), True
    return creators[measure].to_numpy(float), False


def scope_weights(creators, rule: CustomRule) -> np.ndarray:
    """Each creator's multiplier in the rule: 0 outside ``where``, its weight_column value inside."""
    weight = np.ones(len(creators))
    if rule.where_column is not None:
        column = creators[rule.where_column]
        weight = weight * column.isin(list(rule.where_values)).to_numpy(bool)
    if rule.weight_column is not None:
        weight = weight * creators[rule.weight_column].to_numpy(float)
    return weight


def slot_coefficients(creators, rule: CustomRule, creator: np.ndarray, slot: np.ndarray, decay: float) -> tuple:
    """(coefficient of each post slot in the rule's scoped total, in its whole-plan total).

    Slot k of creator i adds ``v_i x decay**k`` (decayed measures) or ``v_i`` per post; per
    creator (and for the ``creators`` measure) only the first slot counts, ``v_i`` once.
    """
    value, decayed = measure_values(creators, rule.measure)
    whole = value[creator]
    if rule.per == "creator" or rule.measure == "creators":
        whole = np.where(slot == 0, whole, 0.0)
    elif decayed and decay != 1.0:
        whole = whole * decay ** slot
    return whole * scope_weights(creators, rule)[creator], whole


def _shown(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)
