"""The rule-of-thumb plan planners make by hand: best engagement per dollar first.

Must-include creators are booked first (with their package minimum). Then post
slots are taken in order of engagement per dollar (free posts first), each
only if it keeps the plan within the rules a greedy pass can respect: budget,
per-creator cap, maximum shares, maximum creator counts and package deals.
With a target engagement, it stops as soon as the target is reached.
Minimum shares and minimum counts are not pursued; the checker says whether
the resulting plan happens to meet them.
"""

from __future__ import annotations

import numpy as np

from models.campaign import EXCLUDE, MUST, Campaign


def rule_of_thumb_plan(campaign: Campaign) -> np.ndarray:
    """Posts per creator in the greedy engagement-per-dollar plan.

    Parameters
    ----------
    campaign : Campaign

    Returns
    -------
    numpy.ndarray of int
        Posts per creator, aligned with ``campaign.creators``.
    """
    creators = campaign.creators
    settings = campaign.settings
    n = len(creators)
    budget = settings.total_budget
    cost = creators["cost_per_post"].to_numpy(float)
    value = creators["post_value"].to_numpy(float) * campaign.niche_weights()
    max_posts = creators["max_posts"].to_numpy(np.int64)
    min_posts = np.maximum(creators["min_posts"].to_numpy(np.int64), 1)
    include = creators["include"].to_numpy()
    cap = np.inf if settings.max_share_per_creator is None else settings.max_share_per_creator * budget
    slack = 1e-9 * max(1.0, budget)

    # Each greedy step touches at most one group per dimension: keep, per dimension, the
    # group index of every creator (-1 for none) as a plain list, which Python indexes fast.
    share_left = []  # dollars left under each max_share rule
    share_of = {}  # dimension -> per-creator index into share_left
    count_left = []  # creators left under each max_creators rule
    count_of = {}  # dimension (or "all") -> per-creator index into count_left
    for group in campaign.groups:
        members = campaign.members(group.dimension, group.group)
        if group.max_share is not None and settings.share_basis == "budget":
            _member_of(share_of, group.dimension, members, len(share_left))
            share_left.append(group.max_share * budget + slack)
        if group.max_creators is not None:
            _member_of(count_of, group.dimension, members, len(count_left))
            count_left.append(group.max_creators)
    if settings.max_creators is not None:
        _member_of(count_of, "all", np.ones(n, bool), len(count_left))
        count_left.append(settings.max_creators)
    share_of = [codes.tolist() for codes in share_of.values()]
    count_of = [codes.tolist() for codes in count_of.values()]
    decay = settings.repeat_post_decay
    target = settings.target_engagement
    cost_list, value_list, max_list = cost.tolist(), value.tolist(), max_posts.tolist()
    posts_list = [0] * n
    state = {"spend_left": budget + slack, "engagement": 0.0}
    cap_limit = cap + slack

    def try_add(i: int, k: int) -> bool:
        """Add k posts to creator i if every respected rule still holds."""
        # (The hot loop of a million-creator plan: plain loops, no lists built per call.)
        now = posts_list[i]
        extra = k * cost_list[i]
        if now + k > max_list[i] or (now + k) * cost_list[i] > cap_limit or extra > state["spend_left"]:
            return False
        for codes in share_of:
            c = codes[i]
            if c >= 0 and extra > share_left[c]:
                return False
        if now == 0:
            for codes in count_of:
                c = codes[i]
                if c >= 0 and count_left[c] < 1:
                    return False
            for codes in count_of:
                c = codes[i]
                if c >= 0:
                    count_left[c] -= 1
        for codes in share_of:
            c = codes[i]
            if c >= 0:
                share_left[c] -= extra
        state["engagement"] += value_list[i] * (
            decay ** now if k == 1 else sum(decay ** j for j in range(now, now + k))
        )
        posts_list[i] = now + k
        state["spend_left"] -= extra
        return True

    for i in np.flatnonzero(include == MUST).tolist():
        try_add(i, int(min_posts[i]))

    # Every slot (creator, k-th post) ranked by value per dollar; free posts first.
    slot_creator = np.repeat(np.arange(n), max_posts)
    slot_k = np.arange(len(slot_creator)) - np.repeat(np.cumsum(max_posts) - max_posts, max_posts)
    slot_value = value[slot_creator] * np.power(decay, slot_k)
    slot_cost = cost[slot_creator]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(slot_cost > 0, slot_value / slot_cost, np.inf)
    # Slots no greedy step could ever take are left out before the loop.
    possible = (include[slot_creator] != EXCLUDE) & (slot_value > 0) & ((slot_k + 1) * slot_cost <= cap + slack)
    possible &= slot_cost <= budget + slack
    order = np.flatnonzero(possible)
    order = order[np.lexsort((slot_k[order], -slot_value[order], -ratio[order]))]
    # Once the budget left is below every remaining slot's cost, nothing more fits.
    cheapest_after = np.minimum.accumulate(slot_cost[order][::-1])[::-1].tolist()
    min_list = min_posts.tolist()
    for position, (i, k) in enumerate(zip(slot_creator[order].tolist(), slot_k[order].tolist())):
        if posts_list[i] != k:
            continue
        if cheapest_after[position] > state["spend_left"]:
            break
        if target is not None and state["engagement"] >= target:
            break  # target mode: stop at the first plan that reaches the target
        # The first booking of a package deal takes the whole package.
        try_add(i, min_list[i] if k == 0 else 1)
    return np.array(posts_list, dtype=np.int64)


def _member_of(codes: dict, dimension: str, members: np.ndarray, index: int) -> None:
    """Record that ``members`` belong to rule ``index`` in ``dimension``."""
    if dimension not in codes:
        codes[dimension] = np.full(len(members), -1, dtype=np.int64)
    codes[dimension][members] = index
