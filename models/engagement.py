"""Expected engagement: what one post, and the k-th post, of a creator is worth."""

from __future__ import annotations

import numpy as np


def post_value(followers, engagement_rate, authenticity, override=None) -> np.ndarray:
    """Expected engagement of one post.

    Parameters
    ----------
    followers, engagement_rate, authenticity : array-like
        Per-creator columns; engagement_rate and authenticity are fractions.
    override : array-like, optional
        The planner's own per-post forecast; NaN where absent.

    Returns
    -------
    numpy.ndarray
        ``followers * engagement_rate * authenticity``, or the override where given.
    """
    value = np.asarray(followers, float) * np.asarray(engagement_rate, float) * np.asarray(
        authenticity, float
    )
    if override is not None:
        override = np.asarray(override, float)
        value = np.where(np.isnan(override), value, override)
    return value


def engagement_of(posts, value_per_post, decay: float) -> np.ndarray:
    """Total engagement of ``posts`` posts each: ``v * (1 + d + ... + d**(n-1))``.

    Parameters
    ----------
    posts : array-like of int
        Posts booked per creator.
    value_per_post : array-like
        Weighted value of each creator's first post.
    decay : float
        repeat_post_decay.

    Returns
    -------
    numpy.ndarray
    """
    posts = np.asarray(posts, dtype=float)
    value_per_post = np.asarray(value_per_post, dtype=float)
    if decay == 1.0:
        return value_per_post * posts
    return value_per_post * (1.0 - np.power(decay, posts)) / (1.0 - decay)
