"""The rule registry: every rule a campaign states, as one record, listed in one place.

A campaign's rules come from several sheets (the Budget sheet's settings, the Niches, Tiers and
Platforms sheets, the Creators sheet's include column, the mixes of a compare, the Custom rules
sheet). :func:`campaign_rules` turns a campaign into one list of :class:`Rule` records, and
everything that handles rules takes them from there: the array program (one row per rule,
:mod:`models.matrix`), the PuLP program emitted from it (:mod:`models.program`), the checker
(:mod:`models.checker`), the explanations and the diagnosis. A rule's id in the Rules sheet
(``niche_min_share:beauty``) is :attr:`Rule.name`, and :func:`parse` is its only inverse.

Adding a rule kind is one entry in :data:`KINDS`, its place in :func:`campaign_rules`, and its
row builder in :mod:`models.matrix` and its evaluation in :mod:`models.checker` (a test fails
until both exist).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

from models.campaign import MUST, Campaign
from models.plan import share_text

#: The sheet each group dimension's rules live on.
SHEETS = {"niche": "Niches", "tier": "Tiers", "platform": "Platforms"}


@dataclass(frozen=True)
class Kind:
    """What a kind of rule is: its sense, the setting or column that states its limit, its unit,
    and where it lives (``campaign``: the Budget sheet; ``creator``; ``group``; ``mix``; ``custom``)."""

    key: str
    sense: str
    column: str
    unit: str
    scope: str


KINDS = {kind.key: kind for kind in (
    Kind("budget", "<=", "total_budget", "$", "campaign"),
    Kind("must_include", ">=", "include", "booked", "creator"),
    Kind("max_share_per_creator", "<=", "max_share_per_creator", "share", "campaign"),
    Kind("min_creators", ">=", "min_creators", "creators", "campaign"),
    Kind("max_creators", "<=", "max_creators", "creators", "campaign"),
    Kind("group_min_share", ">=", "min_share", "share", "group"),
    Kind("group_max_share", "<=", "max_share", "share", "group"),
    Kind("group_min_creators", ">=", "min_creators", "creators", "group"),
    Kind("group_max_creators", "<=", "max_creators", "creators", "group"),
    Kind("mix_min_share", ">=", "min_share", "share", "mix"),
    Kind("mix_max_share", "<=", "max_share", "share", "mix"),
    Kind("custom_min", ">=", "min", "measure", "custom"),
    Kind("custom_max", "<=", "max", "measure", "custom"),
    Kind("custom_min_share", ">=", "min_share", "share", "custom"),
    Kind("custom_max_share", "<=", "max_share", "share", "custom"),
    Kind("target_engagement", ">=", "target_engagement", "objective", "campaign"),
)}


@dataclass(frozen=True)
class Rule:
    """One rule of a campaign.

    Attributes
    ----------
    kind : str
        A key of :data:`KINDS`.
    limit : float
        The limit as the planner holds it (a share as a fraction, the budget in money).
    dimension : str or None
        The group's dimension (niche, tier, platform) for group and mix rules.
    subject : str or None
        The group, mix or custom rule it bounds, or the creator's handle (must_include).
    index : int or None
        The creator's position in the campaign (must_include).
    record : object
        The campaign's own record it comes from (GroupRule, MixRule, CustomRule), for its members.
    """

    kind: str
    limit: object
    dimension: Optional[str] = None
    subject: Optional[str] = None
    index: Optional[int] = None
    record: object = field(default=None, compare=False, repr=False)

    @property
    def sense(self) -> str:
        return KINDS[self.kind].sense

    @property
    def column(self) -> str:
        """The setting or column that states the limit (min_share, max_creators, total_budget, ...)."""
        return KINDS[self.kind].column

    @property
    def scope(self) -> str:
        return KINDS[self.kind].scope

    @property
    def name(self) -> str:
        """The rule's id, as the Rules sheet shows it: ``budget``, ``niche_min_share:beauty``."""
        return rule_name(self.kind, self.dimension, self.subject)


def rule_name(kind: str, dimension: Optional[str] = None, subject: Optional[str] = None) -> str:
    """The id of a rule from its parts (the inverse of :func:`parse`)."""
    scope = KINDS[kind].scope
    if scope == "campaign":
        return kind
    if scope == "group":
        return f"{dimension}_{KINDS[kind].column}:{subject}"
    return f"{kind}:{subject}"


def parse(name: str) -> tuple:
    """(kind, dimension, subject) of a rule id: ``niche_min_share:beauty`` -> ('group_min_share',
    'niche', 'beauty'); (None, None, None) for an id that names no kind."""
    head, _, subject = name.partition(":")
    if head in KINDS and KINDS[head].scope == "campaign":
        return head, None, None
    if head in KINDS:  # must_include, mix_*, custom_*
        return head, None, subject
    dimension, _, column = head.partition("_")
    kind = f"group_{column}"
    if dimension in SHEETS and kind in KINDS:
        return kind, dimension, subject
    return None, None, None


def campaign_rules(campaign: Campaign) -> list:
    """Every rule of the campaign, in the order the Rules sheet lists them (and the program's rows)."""
    settings = campaign.settings
    include = campaign.creators["include"].to_numpy()
    handles = campaign.creators["creator"].to_numpy()
    rules = [Rule("must_include", 1, subject=handles[i], index=int(i)) for i in (include == MUST).nonzero()[0]]
    rules += _settings_rules(settings, ("max_share_per_creator", "budget", "min_creators", "max_creators"))
    for group in campaign.groups:
        rules += _record_rules(group, ("group_min_share", "group_max_share", "group_min_creators",
                                       "group_max_creators"), group.dimension, group.group)
    for mix in campaign.mixes:
        rules += _record_rules(mix, ("mix_min_share", "mix_max_share"), mix.dimension, mix.name)
    for custom in campaign.custom:
        rules += _record_rules(custom, ("custom_min", "custom_max", "custom_min_share", "custom_max_share"), None,
                               custom.name)
    return rules + _settings_rules(settings, ("target_engagement",))


def _settings_rules(settings, kinds) -> list:
    """The Budget sheet's rules of these kinds that the settings state."""
    return [Rule(kind, getattr(settings, KINDS[kind].column)) for kind in kinds
            if getattr(settings, KINDS[kind].column) is not None]


def _record_rules(record, kinds, dimension, subject) -> list:
    """The rules a group, mix or custom rule record states, one per bound it gives."""
    return [Rule(kind, getattr(record, KINDS[kind].column), dimension, subject, record=record) for kind in kinds
            if getattr(record, KINDS[kind].column) is not None]


def find(campaign: Campaign, name: str) -> Optional[Rule]:
    """The campaign's rule with this id, or None (looked up in the record it names, not by listing every rule)."""
    kind, dimension, subject = parse(name)
    if kind is None:
        return None
    scope = KINDS[kind].scope
    if scope == "campaign":
        found = _settings_rules(campaign.settings, (kind,))
    elif scope == "creator":
        at = ((campaign.creators["creator"].to_numpy() == subject) & (campaign.creators["include"].to_numpy() == MUST))
        found = [Rule(kind, 1, subject=subject, index=int(i)) for i in at.nonzero()[0][:1]]
    else:
        records = {"group": campaign.groups, "mix": campaign.mixes, "custom": campaign.custom}[scope]
        found = [rule for record in records
                 if (record.group if scope == "group" else record.name) == subject
                 and (scope != "group" or record.dimension == dimension)
                 for rule in _record_rules(record, (kind,), getattr(record, "dimension", None), subject)]
    return found[0] if found else None


def with_limit(campaign: Campaign, name: str, value) -> Campaign:
    """The campaign with one rule's limit set to ``value`` (``None`` drops it; for a must-include,
    the creator is no longer a must)."""
    kind, dimension, subject = parse(name)
    if kind is None:
        raise KeyError(f"no rule kind is called {name!r}")
    column = KINDS[kind].column
    scope = KINDS[kind].scope
    if scope == "campaign":
        return campaign.with_settings(**{column: float(value) if kind == "budget" else value})
    if scope == "creator":
        creators = campaign.creators.copy()
        creators.loc[creators["creator"] == subject, "include"] = ""
        return replace(campaign, creators=creators)
    if scope == "custom":
        return replace(campaign, custom=tuple(replace(r, **{column: value}) if r.name == subject else r
                                              for r in campaign.custom))
    if scope == "mix":
        return replace(campaign, mixes=tuple(replace(m, **{column: value}) if m.name == subject else m
                                             for m in campaign.mixes))
    return replace(campaign, groups=tuple(replace(g, **{column: value})
                                          if g.dimension == dimension and g.group == subject
                                          else g for g in campaign.groups))


def source(campaign: Campaign, rule: Rule, money=lambda value: f"{value:,.2f}") -> str:
    """Where the rule lives and what it says: 'Niches sheet, niche beauty: min_share 40.00%'
    (``money`` formats the budget)."""
    if rule.kind == "budget":
        return f"Budget sheet: total_budget {money(rule.limit)}"
    if rule.kind == "target_engagement":
        return f"target engagement {rule.limit:,.0f}"
    if rule.scope == "campaign":
        shown = f"{rule.limit:.2%}" if KINDS[rule.kind].unit == "share" else f"{rule.limit}"
        return f"Budget sheet: {rule.column} {shown}"
    if rule.scope == "creator":
        row = campaign.creators["row"].iat[rule.index] if "row" in campaign.creators else None
        where = f"row {int(row)}, " if row is not None else ""
        return f"Creators sheet, {where}include = must for {rule.subject}"
    if rule.scope == "mix":
        return f"mix {rule.record.describe()}"
    if rule.scope == "custom":
        return f"Custom rules sheet, row {rule.record.row}: {rule.record.describe(rule.column, rule.limit)}"
    shown = f"{rule.limit:.2%}" if rule.column.endswith("share") else f"{rule.limit}"
    return f"{SHEETS[rule.dimension]} sheet, {rule.dimension} {rule.subject}: {rule.column} {shown}"


def where(rule: Rule) -> str:
    """The sheet (or mix) the rule is set on: 'Niches sheet', 'Budget sheet', 'mix many-micro'."""
    if rule.scope == "group":
        return f"{SHEETS[rule.dimension]} sheet"
    if rule.scope == "mix":
        return f"mix {rule.subject}"
    return {"campaign": "Budget sheet", "creator": "Creators sheet", "custom": "Custom rules sheet"}[rule.scope]


def setting_words(rule: Rule) -> str:
    """The limit's setting in words, for 'raise ... from 8% to 9%': 'niche beauty min_share'."""
    if rule.scope == "group":
        return f"{rule.dimension} {rule.subject} {rule.column}"
    if rule.scope == "mix":
        return f"mix {rule.subject} {rule.column}"
    if rule.scope == "custom":
        return f"{rule.subject} {rule.column}"
    return rule.column


def describe(rule: Rule, basis_word: str, noun: str, label: str = "") -> str:
    """The rule in the client's words, as the Rules sheet shows it.

    ``basis_word`` names what shares are of (budget or planned spend), ``noun`` the objective,
    ``label`` the group as a client names it ('Beauty', 'Micro tier')."""
    kind = rule.kind
    if kind == "budget":
        return "Total spend within the budget"
    if kind == "must_include":
        return f"Book {rule.subject} (must include)"
    if kind == "max_share_per_creator":
        return f"No creator above {share_text(rule.limit)} of budget"
    if kind in ("min_creators", "max_creators"):
        return f"{'At least' if rule.sense == '>=' else 'At most'} {creators_text(rule.limit)}"
    if rule.scope == "group":
        bound = "at least" if rule.sense == ">=" else "at most"
        amount = (f"{share_text(rule.limit)} of {basis_word}" if rule.column.endswith("share")
                  else creators_text(rule.limit))
        return f"{label}: {bound} {amount}"
    if rule.scope == "mix":
        return rule.record.describe()
    if rule.scope == "custom":
        return rule.record.describe(rule.column, rule.limit)
    return f"Expected {noun} of at least {rule.limit:,.0f}"


def creators_text(count: int) -> str:
    """'1 creator', '12 creators'."""
    return f"{count:,} creator" if count == 1 else f"{count:,} creators"
