"""Run the CBC bundled with PuLP on a core program given as arrays, in a process we can stop.

HiGHS and CBC each win on different campaigns: CBC's knapsack cover cuts
prove multi-rule knapsacks HiGHS takes minutes on (10,000 creators, budget
$570,000: CBC 2 s, HiGHS 105 s), while HiGHS proves campaigns with repeat
posts and creator counts CBC struggles with. :mod:`planner.core` races the
two on each core and takes the first proof.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class CbcRun:
    """A CBC process solving one core; ``result()`` reads its answer once it has exited."""

    process: subprocess.Popen
    folder: str
    columns: int
    gap: float

    def done(self) -> bool:
        return self.process.poll() is not None

    def stop(self) -> None:
        """Kill CBC (if still running) and remove its files."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def bound(self) -> Optional[float]:
        """CBC's final bound on the core's optimum (maximising), from its log; None if it printed none."""
        from planner.solve import _CBC_FINAL_BOUND

        path = os.path.join(self.folder, "cbc.log")
        text = open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else ""
        if "Result - Optimal solution found" in text and "gap tolerance" not in text:
            return float("-inf")  # searched to the end: the plan itself is the bound
        found = _CBC_FINAL_BOUND.findall(text)
        return float(found[-1]) if found else None

    def result(self):
        """(status, x, bound) with status "optimal", "infeasible", "time" or "failed"; x and bound maximise."""
        path = os.path.join(self.folder, "solution.txt")
        try:
            text = open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else ""
            bound = self.bound()
        finally:
            self.stop()
        lines = text.splitlines()
        if not lines:
            return "failed", None, np.inf
        head = lines[0].lower()
        if "infeasible" in head:
            return "infeasible", None, -np.inf
        x = np.zeros(self.columns)
        for line in lines[1:]:
            parts = line.replace("**", " ").split()
            if len(parts) >= 3 and parts[1].startswith("x"):
                x[int(parts[1][1:])] = round(float(parts[2]))
        if head.startswith("optimal"):
            return "optimal", x, bound
        return ("time" if "objective value" in head else "failed"), (x if "objective value" in head else None), np.inf


def cbc_path() -> Optional[str]:
    """The CBC binary PuLP bundles, or None when it cannot run here."""
    import pulp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        command = pulp.PULP_CBC_CMD(msg=False)
    return command.path if command.available() else None


def start_cbc(objective, start, index, value, row_lower, row_upper, gap, seconds) -> Optional[CbcRun]:
    """Write the core (maximise ``objective``; binary columns; CSC matrix) as an LP file and start CBC on it."""
    path = cbc_path()
    if path is None:
        return None
    folder = tempfile.mkdtemp(prefix="planner-cbc-")
    columns = len(objective)
    # CPLEX LP format, as PuLP hands CBC its models (CBC's MPS reader wants fixed-width fields).
    column_of = np.repeat(np.arange(columns), np.diff(start))
    order = np.argsort(index, kind="stable")
    row_of, column_of, coefficient = index[order].tolist(), column_of[order].tolist(), value[order].tolist()
    lines = ["Maximize", "obj:"]
    lines += [f" {c!r} x{j}" for j, c in enumerate(np.asarray(objective, float).tolist()) if c != 0]
    if len(lines) == 2:
        lines.append(" 0 x0")
    lines.append("Subject To")
    terms: dict = {}
    for i, j, a in zip(row_of, column_of, coefficient):
        terms.setdefault(i, []).append(f" {a!r} x{j}")
    for i, (low, high) in enumerate(zip(np.asarray(row_lower, float).tolist(), np.asarray(row_upper, float).tolist())):
        body = terms.get(i) or [" 0 x0"]
        for sense, limit, tag in (("<=", high, "u"), (">=", low, "l")):
            if np.isfinite(limit):
                lines.append(f"r{i}{tag}:")
                lines += body
                lines.append(f" {sense} {limit!r}")
    lines.append("Binaries")
    lines += [f" x{j}" for j in range(columns)]
    lines.append("End")
    model = os.path.join(folder, "core.lp")
    with open(model, "w", encoding="ascii") as handle:
        handle.write("\n".join(lines) + "\n")
    command = [path, model, "-ratioGap", repr(float(gap)), "-threads", "1"]
    if seconds is not None:
        command += ["-sec", repr(max(float(seconds), 0.01))]
    command += ["-solve", "-printingOptions", "all", "-solution", os.path.join(folder, "solution.txt")]
    with open(os.path.join(folder, "cbc.log"), "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    return CbcRun(process, folder, columns, gap)
