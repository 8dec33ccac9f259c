"""Readers for the external 0/1 knapsack benchmark instances.

The instances are third-party material that lives *outside* the repository
(``../shared/data/knapsack/`` relative to the checkout, or the folder named by
the ``PLANNER_SHARED_DATA`` environment variable). Nothing here copies them;
each reader turns one file into an :class:`Instance` the tests can plan.

See ``shared/data/README.md`` (knapsack section) for where each format comes
from. Every reader checks that it found as many items as the file declares and
raises :class:`ValueError` otherwise, so a truncated or misread file fails
loudly instead of silently producing a smaller problem.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np

#: Environment variable that overrides where the shared data folder is.
DATA_ENV = "PLANNER_SHARED_DATA"


@dataclass(frozen=True, eq=False)
class Instance:
    """One 0/1 knapsack instance with its known optimum.

    Attributes
    ----------
    name : str
        Identifier (file or instance name), used as the pytest id.
    values : numpy.ndarray
        Item values (profits), float64.
    weights : numpy.ndarray
        Item weights, float64, aligned with ``values``.
    capacity : float
        Knapsack capacity.
    optimum : float
        The published optimal total value.
    solution : numpy.ndarray or None
        A published optimal 0/1 selection, when the file ships one (Pisinger
        archives, large-scale Ortega files); used to cross-check the data.
    """

    name: str
    values: np.ndarray
    weights: np.ndarray
    capacity: float
    optimum: float
    solution: Optional[np.ndarray] = None

    @property
    def n(self) -> int:
        """Number of items."""
        return len(self.values)


def shared_data_dir() -> Optional[Path]:
    """Locate the external shared data folder.

    ``$PLANNER_SHARED_DATA`` wins when set; otherwise the folder ``shared/data``
    beside the checkout (``<repo>/../shared/data``), as CI lays it out.

    Returns
    -------
    pathlib.Path or None
        The folder, or None when it does not exist (e.g. a fresh clone).
    """
    env = os.environ.get(DATA_ENV)
    candidate = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    return candidate if candidate.is_dir() else None


def _number(token: str) -> float:
    """A numeric token as float (integers stay exact up to 2**53)."""
    return float(token)


def _checked(name, values, weights, n, capacity, optimum, solution=None) -> Instance:
    """Build an Instance after checking the item count matches the declared n."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if len(values) != n or len(weights) != n:
        raise ValueError(f"{name}: declared {n} items, read {len(values)} values and {len(weights)} weights")
    if solution is not None:
        solution = np.asarray(solution, dtype=np.int64)
        if len(solution) != n or not np.isin(solution, (0, 1)).all():
            raise ValueError(f"{name}: the published solution is not a 0/1 vector of length {n}")
    return Instance(name, values, weights, float(capacity), float(optimum), solution)


def read_optimum_file(path) -> float:
    """Read a one-number optimum file (``<name>.optimum``, ``outp.out``).

    Parameters
    ----------
    path : path-like
        The file; only its first token is used.

    Returns
    -------
    float
    """
    return _number(Path(path).read_text().split()[0])


def read_artemisa(path) -> Instance:
    """Read one of J. Ortega's instances (``artemisa_*`` folders).

    The file is a whitespace token stream: ``n capacity`` followed by n pairs
    ``value weight``. Large-scale files append an optimal 0/1 vector: when
    exactly n further tokens follow, they become :attr:`Instance.solution`
    (anything else after the pairs is ignored). The optimum is read from
    ``<path>.optimum``.

    Parameters
    ----------
    path : path-like
        The instance file (without the ``.optimum`` suffix).

    Returns
    -------
    Instance
        Named after the file.

    Raises
    ------
    ValueError
        When the stream holds fewer than ``2 + 2n`` tokens.
    """
    path = Path(path)
    tokens = path.read_text().split()
    n = int(tokens[0])
    capacity = _number(tokens[1])
    pairs = tokens[2 : 2 + 2 * n]
    if len(pairs) != 2 * n:
        raise ValueError(f"{path.name}: declared {n} items, found only {len(pairs) // 2} pairs")
    numbers = np.array([_number(t) for t in pairs]).reshape(n, 2)
    rest = tokens[2 + 2 * n :]
    solution = [int(t) for t in rest] if len(rest) == n else None
    optimum = read_optimum_file(path.with_name(path.name + ".optimum"))
    return _checked(path.name, numbers[:, 0], numbers[:, 1], n, capacity, optimum, solution)


_KEY_LINE = re.compile(r"^\s*([ncz])\s+(\S+)\s*$")


def read_pisinger(path) -> List[Instance]:
    """Read a Pisinger archive: 100 instances in one CSV-like file.

    Instances are separated by ``-----`` lines; each has a name line, ``n N``,
    ``c CAP``, ``z OPT``, ``time T``, then ``id,profit,weight,x`` rows (x, a
    published optimal selection, becomes :attr:`Instance.solution`). The
    name line is not trusted (one is missing its first letter): instances are
    named ``<file stem>_<k>`` with k counted from 1, and their data is keyed
    on the ``n``/``c``/``z`` lines.

    Parameters
    ----------
    path : path-like
        The ``.csv`` archive.

    Returns
    -------
    list of Instance
        In file order.

    Raises
    ------
    ValueError
        When a block lacks an n, c or z line or its row count differs from n.
    """
    path = Path(path)
    instances = []
    for block in path.read_text().split("-----"):
        if not block.strip():
            continue
        keys, values, weights, chosen = {}, [], [], []
        for line in block.splitlines():
            match = _KEY_LINE.match(line)
            if match:
                keys[match.group(1)] = match.group(2)
            elif line.count(",") == 3:
                _, profit, weight, x = line.split(",")
                values.append(_number(profit))
                weights.append(_number(weight))
                chosen.append(int(x))
        name = f"{path.stem}_{len(instances) + 1}"
        missing = {"n", "c", "z"} - keys.keys()
        if missing:
            raise ValueError(f"{path.name}, instance {name}: no {', '.join(sorted(missing))} line")
        n, capacity, optimum = int(keys["n"]), _number(keys["c"]), _number(keys["z"])
        instances.append(_checked(name, values, weights, n, capacity, optimum, chosen))
    return instances


def read_ortools_json(path) -> Instance:
    """Read the OR-Tools documentation example (JSON).

    Keys used: ``capacity``, ``values``, ``weights`` and the optimum, stored as
    ``optimum_dp`` (solved by dynamic programming) or ``optimum``.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Instance
        Named after the file stem.

    Raises
    ------
    ValueError
        When the file states no optimum or values and weights differ in length.
    """
    path = Path(path)
    data = json.loads(path.read_text())
    optimum = data.get("optimum_dp", data.get("optimum"))
    if optimum is None:
        raise ValueError(f"{path.name}: no 'optimum_dp' or 'optimum' key")
    return _checked(path.stem, data["values"], data["weights"], len(data["values"]), data["capacity"], optimum)


def read_jooken(folder) -> Instance:
    """Read a Jooken et al. (2022) instance folder.

    ``test.in``: line 1 is n, then n lines ``id profit weight``, then the
    capacity on the last line. ``outp.out``: the optimum on line 1.

    Parameters
    ----------
    folder : path-like
        The instance folder (its name becomes the instance name).

    Returns
    -------
    Instance

    Raises
    ------
    ValueError
        When the file does not hold exactly n item lines and a capacity.
    """
    folder = Path(folder)
    lines = [line.split() for line in (folder / "test.in").read_text().splitlines() if line.strip()]
    n = int(lines[0][0])
    items = lines[1:-1]
    if len(items) != n or any(len(row) != 3 for row in items) or len(lines[-1]) != 1:
        raise ValueError(f"{folder.name}: expected {n} 'id profit weight' lines and a capacity line")
    values = [_number(row[1]) for row in items]
    weights = [_number(row[2]) for row in items]
    optimum = read_optimum_file(folder / "outp.out")
    return _checked(folder.name, values, weights, n, _number(lines[-1][0]), optimum)


def knapsack_dir() -> Optional[Path]:
    """The ``knapsack`` folder inside the shared data folder, or None."""
    root = shared_data_dir()
    return root / "knapsack" if root is not None and (root / "knapsack").is_dir() else None


def artemisa_instances(kind: str) -> List[Instance]:
    """All instances of ``artemisa_<kind>`` (``low_dimensional`` or ``large_scale``), sorted by name.

    Returns an empty list when the data is absent.
    """
    base = knapsack_dir()
    folder = base / f"artemisa_{kind}" if base else None
    if folder is None or not folder.is_dir():
        return []
    return [read_artemisa(p) for p in sorted(folder.iterdir()) if p.is_file() and p.suffix != ".optimum"]


def pisinger_instances() -> List[Instance]:
    """All instances of every ``pisinger_original/*.csv`` archive (empty when absent)."""
    base = knapsack_dir()
    folder = base / "pisinger_original" if base else None
    if folder is None or not folder.is_dir():
        return []
    return [inst for path in sorted(folder.glob("*.csv")) for inst in read_pisinger(path)]


def ortools_instances() -> List[Instance]:
    """The OR-Tools documentation example as a one-item list (empty when absent)."""
    base = knapsack_dir()
    path = base / "ortools_docs_example" / "knapsack_50_items.json" if base else None
    return [read_ortools_json(path)] if path is not None and path.is_file() else []


def jooken_instances() -> List[Instance]:
    """Every ``jooken2022/<name>/`` instance, sorted by name (empty when absent)."""
    base = knapsack_dir()
    folder = base / "jooken2022" if base else None
    if folder is None or not folder.is_dir():
        return []
    return [read_jooken(p) for p in sorted(folder.iterdir()) if (p / "test.in").is_file()]
