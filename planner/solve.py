"""Solver adapter: pick a solver by name, run it quietly, map its outcome to our Status.

PuLP reports "Optimal" when a time limit stops a MIP with a solution in hand;
``sol_status`` tells the two apart, and the best bound (read from HiGHS's info
or CBC's log) gives the honest gap.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import math
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from typing import NamedTuple, Optional

import numpy as np
import pulp

from models.matrix import MatrixProgram, build_matrix
from models.plan import SolveOutcome, Status
from models.program import build_program, start_values
from planner.core import run_highs, solve_matrix
from planner.errors import SolverUnavailableError
from planner.processes import PULP_PREFIX, SOLVER_CHOICES, solver_name


def solver_version(name: str) -> str:
    """Human-readable solver name and version."""
    if name.startswith(PULP_PREFIX):
        return f"{name[len(PULP_PREFIX):]} through PuLP {pulp.__version__}"
    if name == "highs":
        return f"HiGHS {_package_version('highspy')} (highspy)"
    return "CBC (bundled with PuLP %s)" % pulp.__version__


@functools.lru_cache(maxsize=None)
def _package_version(name: str) -> str:
    """Installed version of a package, or 'unknown'."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def solve(problem: pulp.LpProblem, solver: str = "highs", time_limit=None, gap: float = 1e-4, start=None,
          restarts: bool = True) -> SolveOutcome:
    """Solve a PuLP problem and report how it ended.

    Parameters
    ----------
    problem : pulp.LpProblem
    solver : str
        ``highs``, ``cbc`` or ``pulp:NAME`` (any solver PuLP drives).
    time_limit : float, optional
        Seconds; None for no limit.
    gap : float
        Relative gap at which the solver may stop and call the plan proven.
    start : dict, optional
        Variable name -> value of a feasible starting plan (a warm start).
    restarts : bool
        Let HiGHS restart its search after fixing columns. HiGHS 1.16 can stall
        after a restart, past its time limit and deaf to cancellation, so short
        time-limited re-solves turn restarts off.

    Returns
    -------
    SolveOutcome

    Raises
    ------
    ValueError
        For an unknown solver name (the message lists the valid ones).
    SolverUnavailableError
        When the solver cannot run here.
    """
    solver = _known(solver)
    workdir = tempfile.mkdtemp(prefix="planner-solve-")
    started = time.perf_counter()
    try:
        with _quiet_stdout():
            if solver == "highs":
                bound, gap_found = _run_highs(problem, time_limit, gap, start, restarts)
            elif solver == "cbc":
                bound, gap_found = _run_cbc(problem, time_limit, gap, workdir, start)
            else:
                bound, gap_found = _run_pulp(problem, solver[len(PULP_PREFIX):], time_limit, gap, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.perf_counter() - started
    return _outcome(problem, solver, bound, gap_found, seconds, gap)


def _known(solver: str) -> str:
    """The solver's name, or ValueError naming the choices."""
    name = solver_name(solver)
    if name is None:
        raise ValueError(f"unknown solver {solver!r}; choose {SOLVER_CHOICES}")
    return name


def _run_pulp(problem, name, time_limit, gap, workdir):
    """Solve with any solver PuLP drives; it states no bound PuLP can read, so none is claimed."""
    known = {solver.casefold(): solver for solver in pulp.listSolvers()}
    if name.casefold() not in known:
        raise SolverUnavailableError(f"PuLP drives no solver named {name!r}; it knows {', '.join(pulp.listSolvers())}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        command = pulp.getSolver(known[name.casefold()], msg=False, timeLimit=time_limit, gapRel=gap)
    if not command.available():
        found = ", ".join(pulp.listSolvers(onlyAvailable=True))
        raise SolverUnavailableError(f"the solver {known[name.casefold()]} is not installed here (PuLP finds {found})")
    if hasattr(command, "tmpDir"):
        command.tmpDir = workdir  # its files in a private folder, removed afterwards
    problem.solve(command)
    return None, None


@contextlib.contextmanager
def _quiet_stdout():
    """Send anything a solver library prints on file descriptor 1 to /dev/null."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class _HiGHSFromStart(pulp.HiGHS):
    """PuLP's HiGHS adapter, handing HiGHS a starting solution before it runs."""

    def __init__(self, start=None, **options):
        super().__init__(**options)
        self.start = start

    def callSolver(self, lp):
        highs = lp.solverModel
        if self.start:
            import highspy

            solution = highspy.HighsSolution()
            solution.col_value = [float(self.start.get(v.name, 0.0)) for v in lp.variables()]
            solution.value_valid = True
            highs.setSolution(solution)
        run_highs(highs)  # in HiGHS's own thread, so Ctrl-C and SIGTERM reach Python at once


def _run_highs(problem, time_limit, gap, start=None, restarts=True):
    """Run HiGHS in-process; return (best bound, gap) in the problem's own sense."""
    options = {} if restarts else {"mip_allow_restart": False}
    command = _HiGHSFromStart(start=start, msg=False, timeLimit=time_limit, gapRel=gap, **options)
    if not command.available():
        raise SolverUnavailableError("HiGHS is not installed (pip install highspy)")
    problem.solve(command)
    info = problem.solverModel.getInfo()
    sign = -1.0 if problem.sense == pulp.LpMaximize else 1.0
    bound = getattr(info, "mip_dual_bound", None)
    bound = None if bound is None or not math.isfinite(bound) else sign * bound
    found = getattr(info, "mip_gap", None)
    found = None if found is None or not math.isfinite(found) else float(found)
    return bound, found


# After "Result -", CBC prints the bound in the problem's own sense (when it stops inside the gap
# or at a limit).
_CBC_FINAL_BOUND = re.compile(r"^(?:Upper|Lower) bound:\s+(-?[0-9.eE+-]+)", re.M)
# During the search it prints the bound of the minimisation it solves.
_CBC_SEARCH_BOUND = re.compile(r"best possible (-?[0-9.eE+-]+)")
# The root LP relaxation, in the problem's own sense, to six significant digits.
_CBC_ROOT = re.compile(r"^Continuous objective value is (-?[0-9.eE+-]+)", re.M)
#: CBC is asked for half the gap: a search it runs to the end may still have pruned nodes within
#: its ratio gap (of the root LP value, by its manual), so its plan is not exact, and the bound
#: stated for it (see :func:`_completed_cbc_bound`) then stays inside the gap the user asked for.
CBC_GAP_SHARE = 0.5


def _run_cbc(problem, time_limit, gap, workdir, start=None):
    """Run the bundled CBC with its files in a private folder; return (bound, None) from its log.

    The bound is in the problem's own sense and never below (for a minimisation, above) what
    CBC proved: its printed final bound; for a search run to the end, the root LP bound capped
    by the ratio gap CBC may have pruned within (when that is wider than ``gap``, as on small
    campaigns whose LP bound is far above their plans, CBC runs again with no ratio gap, so its
    plan is exact); else its last search bound.
    """
    started = time.perf_counter()
    sign = 1.0 if problem.sense == pulp.LpMaximize else -1.0
    for ratio in (gap * CBC_GAP_SHARE, 0.0):
        remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - started), 0.01)
        text = _cbc_log(problem, remaining, ratio, workdir, start)
        final = _CBC_FINAL_BOUND.findall(text)
        if final:
            return float(final[-1]), None
        if "Result - Optimal solution found" not in text:
            searched = _CBC_SEARCH_BOUND.findall(text)
            # PuLP hands CBC the negated objective when maximising.
            return (-sign * float(searched[-1]) if searched else None), None
        root = _CBC_ROOT.findall(text)
        value = pulp.value(problem.objective) or 0.0
        bound = _completed_cbc_bound(value, float(root[-1]) if root else None, ratio, sign)
        if _relative_gap(value, bound) <= gap or ratio == 0.0:
            return bound, None
        start = {v.name: v.varValue for v in problem.variables() if v.varValue is not None}
    return None, None


def _cbc_log(problem, time_limit, ratio, workdir, start=None) -> str:
    """Solve with CBC at this ratio gap; return its log."""
    log = os.path.join(workdir, "cbc.log")
    with warnings.catch_warnings():
        # The bundled CBC is what PuLP 3 (pinned) ships; its PuLP 4 deprecation is not the user's concern.
        warnings.simplefilter("ignore", DeprecationWarning)
        command = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=ratio, logPath=log, warmStart=bool(start))
    if start:
        for variable in problem.variables():
            if variable.name in start:
                variable.setInitialValue(start[variable.name])
    if not command.available():
        raise SolverUnavailableError("the CBC binary bundled with PuLP cannot run here")
    command.tmpDir = workdir
    problem.solve(command)
    return open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""


def _completed_cbc_bound(value: float, root, ratio: float, sign: float) -> float:
    """A bound for a plan CBC calls optimal after running its search to the end.

    Every node CBC pruned was within ``ratio`` of the root LP value (or of the plan, whichever
    is larger) of the plan, and no plan beats the root LP itself (printed to six digits, so
    loosened by a millionth). Computed in the sense of a maximisation (``sign`` -1 for a
    minimisation). Without a root LP line (the problem was solved in presolve) the plan is
    the proof.
    """
    value = sign * value
    if root is None:
        return sign * value
    root = sign * root
    root += 1e-6 * max(abs(root), 1.0)
    bound = min(root, value + ratio * max(abs(root), abs(value)))
    return sign * max(bound, value)


def _outcome(problem, solver, bound, gap_found, seconds, gap_limit) -> SolveOutcome:
    """Map PuLP's status pair onto our Status, with an honest gap."""
    name = solver_version(solver)
    if problem.status == pulp.LpStatusInfeasible or problem.sol_status == pulp.LpSolutionInfeasible:
        return SolveOutcome(Status.INFEASIBLE, None, None, None, seconds, name, gap_limit)
    if problem.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return SolveOutcome(Status.NO_SOLUTION, None, bound, None, seconds, name, gap_limit)
    objective = pulp.value(problem.objective) or 0.0
    gap = _relative_gap(objective, bound)
    if gap is None:
        gap = gap_found
    if problem.sol_status == pulp.LpSolutionOptimal:
        if solver.startswith(PULP_PREFIX) and bound is None:
            # Stopped within the gap asked of it, by its own word; no bound is stated for it.
            return SolveOutcome(Status.OPTIMAL, objective, None, None, seconds, name, gap_limit)
        return SolveOutcome(Status.OPTIMAL, objective, bound, gap or 0.0, seconds, name, gap_limit)
    if gap is not None and gap <= gap_limit + 1e-12:
        # Stopped by the limit exactly as the bound closed: still a proof.
        return SolveOutcome(Status.OPTIMAL, objective, bound, gap, seconds, name, gap_limit)
    return SolveOutcome(Status.FEASIBLE, objective, bound, gap, seconds, name, gap_limit)


def _relative_gap(objective, bound):
    """|bound - objective| / |objective|, the convention HiGHS and CBC share."""
    if bound is None:
        return None
    denominator = max(abs(objective), 1e-10)
    return max(0.0, abs(bound - objective) / denominator) if abs(bound - objective) > 1e-9 else 0.0


class Solved(NamedTuple):
    """What :func:`solve_campaign` returns."""

    posts: Optional[np.ndarray]  # posts per creator, None when there is no plan
    outcome: SolveOutcome
    hint: Optional[tuple] = None  # warm start for re-solves of the same columns (HiGHS only)


def solve_campaign(campaign, solver: str = "highs", time_limit=None, gap: float = 1e-4, start_posts=None,
                   program=None, hint=None) -> Solved:
    """Plan a campaign with the named solver.

    HiGHS gets the program as arrays (:mod:`models.matrix`) and solves it with
    reduced-cost fixing around its LP bound (:mod:`planner.core`); CBC gets the
    PuLP model (:mod:`models.program`). Both solve the same program.

    Parameters
    ----------
    campaign : Campaign
    solver, time_limit, gap
        As for :func:`solve`.
    start_posts : array, optional
        Posts per creator of a plan keeping every rule, to start from.
    program : MatrixProgram or Program, optional
        Already built for this campaign (sweeps re-use one).
    hint : tuple, optional
        ``Solved.hint`` of a solve of this campaign with other limits (HiGHS only).

    Raises
    ------
    models.matrix.EmptyProgramError
        When nothing can be booked or nothing is worth anything.
    """
    solver = _known(solver)
    if solver == "highs":
        try:
            import highspy  # noqa: F401
        except ImportError:
            raise SolverUnavailableError("HiGHS is not installed (pip install highspy)") from None
        if not isinstance(program, MatrixProgram):
            program = build_for_solver(campaign, solver)
        with _quiet_stdout():
            result = solve_matrix(program, time_limit, gap, start_posts, solver_version("highs"), hint)
        posts = None if result.x is None else program.posts(result.x)
        return Solved(posts, result.outcome, result.hint)
    program = program if program is not None else build_for_solver(campaign, solver)
    start = None if start_posts is None else start_values(program, start_posts)
    outcome = solve(program.problem, solver, time_limit, gap, start=start, restarts=start is None)
    return Solved(program.posts() if outcome.status.has_plan else None, outcome)


def build_for_solver(campaign, solver: str = "highs", allow_zero: bool = False):
    """The program in the form the solver takes: arrays for HiGHS, a PuLP model for CBC.

    ``allow_zero``: build it even when every bookable creator is worth nothing.

    Raises
    ------
    models.matrix.EmptyProgramError
    """
    if _known(solver) == "highs":
        return build_matrix(campaign, allow_zero=allow_zero)
    return build_program(campaign, allow_zero=allow_zero)
