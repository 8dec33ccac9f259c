"""Influencer campaign planner: the most engagement for the budget, under every rule, proven.

The Python API (the CLI calls the same functions)::

    from planner import plan, sweep, compare, read_workbook, InputError

Names are loaded on first use, so ``import planner`` stays light.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import time

#: When the package was first imported: for the console script, its start, before the CLI's imports
#: (a time limit bounds the whole command).
LOADED = time.perf_counter()

try:
    __version__ = importlib.metadata.version("campaign-planner")
except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0+unknown"

_EXPORTS = {
    "plan": "planner.api",
    "sweep": "planner.api",
    "compare": "planner.api",
    "read_workbook": "planner.api",
    "Result": "planner.api",
    "Scenarios": "planner.api",
    "InputError": "planner.errors",
    "InfeasibleError": "planner.errors",
    "NoPlanInTimeError": "planner.errors",
    "PlannerError": "planner.errors",
    "Problem": "planner.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
