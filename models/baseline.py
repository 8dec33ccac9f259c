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
    posts = np.zeros(n, dtype=np.int64)
    cap = np.inf if settings.max_share_per_creator is None else settings.max_share_per_creator * budget
    slack = 1e-9 * max(1.0, budget)

    share_caps = []  # (member mask, dollar cap) for each max_share rule
    count_caps = []  # (member mask, max creators)
    for group in campaign.groups:
        members = creators[group.dimension].to_numpy() == group.group
        if group.max_share is not None and settings.share_basis == "budget":
            share_caps.append((members, group.max_share * budget))
        if group.max_creators is not None:
            count_caps.append((members, group.max_creators))
    if settings.max_creators is not None:
        count_caps.append((np.ones(n, bool), settings.max_creators))

    share_spend = [0.0] * len(share_caps)
    count_now = [0] * len(count_caps)
    decay = settings.repeat_post_decay
    target = settings.target_engagement
    state = {"spend": 0.0, "engagement": 0.0}

    def try_add(i: int, k: int) -> bool:
        """Add k posts to creator i if every respected rule still holds."""
        extra = k * cost[i]
        if posts[i] + k > max_posts[i] or (posts[i] + k) * cost[i] > cap + slack:
            return False
        if state["spend"] + extra > budget + slack:
            return False
        touched = [j for j, (members, _) in enumerate(share_caps) if members[i]]
        if any(share_spend[j] + extra > share_caps[j][1] + slack for j in touched):
            return False
        counted = [j for j, (members, _) in enumerate(count_caps) if members[i]] if posts[i] == 0 else []
        if any(count_now[j] + 1 > count_caps[j][1] for j in counted):
            return False
        for j in touched:
            share_spend[j] += extra
        for j in counted:
            count_now[j] += 1
        state["engagement"] += value[i] * np.power(decay, np.arange(posts[i], posts[i] + k)).sum()
        posts[i] += k
        state["spend"] += extra
        return True

    for i in np.flatnonzero(include == MUST):
        try_add(int(i), int(min_posts[i]))

    # Every slot (creator, k-th post) ranked by value per dollar; free posts first.
    slot_creator = np.repeat(np.arange(n), max_posts)
    slot_k = np.concatenate([np.arange(m) for m in max_posts]) if n else np.zeros(0, np.int64)
    slot_value = value[slot_creator] * np.power(decay, slot_k)
    slot_cost = cost[slot_creator]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(slot_cost > 0, slot_value / slot_cost, np.inf)
    order = np.lexsort((slot_k, -slot_value, -ratio))
    for s in order.tolist():
        i = int(slot_creator[s])
        if include[i] == EXCLUDE or slot_value[s] <= 0 or posts[i] != slot_k[s]:
            continue
        if target is not None and state["engagement"] >= target:
            break  # target mode: stop at the first plan that reaches the target
        # The first booking of a package deal takes the whole package.
        try_add(i, int(min_posts[i]) if posts[i] == 0 else 1)
    return posts
