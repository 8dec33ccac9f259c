"""Exact solve of a :class:`MatrixProgram` with HiGHS: LP bound, reduced-cost fixing, core MILP.

A campaign is a knapsack with a few side rules. Its LP relaxation leaves at
most one fractional slot per rule, and its duals ``y`` price every slot: the
reduced cost ``r_j = c_j - (A^T y)_j`` says how much any plan loses by going
against the LP's choice for slot j. For every plan ``x``

    c x  <=  L(y) - sum over slots j where x goes against the LP of |r_j|

where ``L(y)`` is the Lagrangian bound computed here from ``y`` itself (valid
for any ``y``, so it does not trust the LP solver's tolerances). So once a plan
worth ``z`` is known, a slot with ``|r_j| >= L(y) - z (1 + gap)`` cannot be in
any plan better than ``z`` by more than the gap: it is fixed at the LP's
choice. What remains, the core (Balas & Zemel; Pisinger), is small, and HiGHS
solves it as a MILP. The proof then reads

    optimum <= max(core bound, L(y) - smallest |r_j| among fixed slots)

and the plan is "proven" only when that is within the gap. If not (the first
core was a guess), the core grows to the exact threshold and is solved again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import highspy
import numpy as np

from models.matrix import MatrixProgram
from models.plan import SolveOutcome, Status

#: Below this many columns the core is the whole program.
SMALL = 2_000
#: Without a plan to prove against, the first core is this many columns with the smallest |reduced cost|.
FIRST_CORE = 1_000
#: Above this many columns the LP relaxation is solved by sifting (see :func:`_solve_lp`): HiGHS's
#: simplex spends ~0.1 s setting up 10,000 boxed columns even when three iterations solve the LP.
SIFT_ABOVE = 4_000
#: Most columns in the first working set, and most added in one round of sifting.
SIFT_WORKING = 10_000
#: Columns of the small core tried first to improve a rounded plan, and the branch-and-bound nodes
#: it may take: a work limit, not seconds, so one workbook gives one plan however busy the machine is.
HEURISTIC_CORE = 500
HEURISTIC_NODES = 500
#: Columns the greedy fill of a rounded LP plan tries (best reduced cost first).
FILL_TRIES = 5_000
#: Every column is bounded, so "unbounded or infeasible" can only mean infeasible.
_INFEASIBLE = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)
#: Seconds an interrupted solve waits for HiGHS to acknowledge the cancellation.
CANCEL_WAIT = 2.0
#: Feasibility tolerance for a rounded plan, relative to a row's scale.
_FEAS = 1e-7


@dataclass
class CoreResult:
    """A solve's outcome plus the column solution and how the proof went."""

    outcome: SolveOutcome
    x: Optional[np.ndarray]
    hint: Optional[tuple] = None  # the LP's final working set and held values, to warm-start similar solves


def solve_matrix(program: MatrixProgram, time_limit=None, gap: float = 1e-4, start_posts=None,
                 solver_name: str = "HiGHS", hint=None) -> CoreResult:
    """Solve a program to within ``gap`` (relative), honestly reporting the proof.

    Parameters
    ----------
    program : MatrixProgram
    time_limit : float, optional
        Seconds for the whole solve; None for no limit.
    gap : float
        Relative gap at which the plan counts as proven.
    start_posts : array, optional
        Posts per creator of a plan that keeps every rule (a starting incumbent).
    hint : tuple, optional
        ``CoreResult.hint`` of a solve of the same columns (a warm start for the LP).

    Returns
    -------
    CoreResult
        ``outcome.objective`` is in the program's own sense (engagement, or spend in target mode).
    """
    state = []
    result = _solve(program, time_limit, gap, start_posts, solver_name, hint, state)
    result.hint = tuple(state) if state else None
    return result


def _solve(program, time_limit, gap, start_posts, solver_name, hint, state) -> CoreResult:
    """:func:`solve_matrix`'s work; ``state`` receives the LP's final working set."""
    started = time.perf_counter()
    deadline = None if time_limit is None else started + float(time_limit)
    sign = -1.0 if program.minimise_spend else 1.0

    def outcome(status, value=None, bound=None, found_gap=None):
        seconds = time.perf_counter() - started
        as_objective = None if value is None else sign * value
        as_bound = None if bound is None else sign * bound
        return SolveOutcome(status, as_objective, as_bound, found_gap, seconds, solver_name, gap)

    lp = _solve_lp(program, deadline, hint, state)
    if lp is None:
        return CoreResult(outcome(Status.NO_SOLUTION), None)
    if lp == "infeasible":
        return CoreResult(outcome(Status.INFEASIBLE), None)
    x_lp, y = lp
    reduced, bound = _lagrangian(program, y)
    # The LP solver's sign convention for duals is not part of the proof: use whichever is tighter.
    flipped, flipped_bound = _lagrangian(program, -y)
    if flipped_bound < bound:
        reduced, bound = flipped, flipped_bound

    incumbent, best = None, -np.inf
    rounded = _fill(program, _round_down(program, x_lp), reduced)
    # The starting plan, with whatever room the changed rules leave filled the same way.
    started_from = None if start_posts is None else _fill(program, program.columns_of(start_posts), reduced)
    for candidate in (rounded, started_from):
        if candidate is not None and _feasible(program, candidate):
            value = float(program.objective @ candidate)
            if value > best:
                incumbent, best = candidate, value

    lp_choice = (reduced > 0).astype(float)  # the LP's choice for a slot it prices away from zero
    magnitude = np.abs(reduced)
    if incumbent is not None and bound <= _with_gap(best, gap):  # rounding the LP already proves it
        return CoreResult(outcome(Status.OPTIMAL, best, bound, _gap(best, bound)), incumbent)
    if incumbent is not None and program.columns > SMALL and bound > _with_gap(best, gap):
        # Rounding leaves each rule's room only greedily filled. A small core of the columns the LP
        # prices nearest zero (a guess, not a proof) usually packs that room almost exactly; when
        # it does, the plan proves the gap against the LP bound with no large core at all.
        guess = magnitude < _nth(magnitude, HEURISTIC_CORE)
        guess |= np.abs(x_lp - np.round(x_lp)) > 1e-9
        guess |= incumbent != lp_choice
        remaining = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        core = _solve_core(program, guess, lp_choice, gap / 4, remaining, max_nodes=HEURISTIC_NODES, cutoff=best)
        if core.x is not None and float(program.objective @ core.x) > best:
            incumbent, best = core.x, float(program.objective @ core.x)
        if bound <= _with_gap(best, gap):
            return CoreResult(outcome(Status.OPTIMAL, best, bound, _gap(best, bound)), incumbent)
    if program.columns <= SMALL:
        threshold = np.inf  # small enough for HiGHS to take whole
    elif incumbent is not None:
        threshold = bound - _with_gap(best, gap)  # the exact core: no column outside it can beat the plan
    else:
        threshold = _nth(magnitude, min(FIRST_CORE, program.columns))

    while True:
        free = magnitude < threshold
        free |= np.abs(x_lp - np.round(x_lp)) > 1e-9  # fractional in the LP: always in the core
        if incumbent is not None:
            free |= incumbent != lp_choice
        if free.sum() > program.columns / 2:  # a core this large gains nothing over the whole program
            free[:] = True
        fixed_floor = bound - magnitude[~free].min() if (~free).any() else -np.inf
        remaining = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        # With a plan in hand the core is exact (the fixed columns are proven out), so the core
        # needs only the gap itself; a guessed core leaves half the gap to the fixed columns.
        exact_core = incumbent is not None and threshold >= bound - _with_gap(best, gap)
        core = _solve_core(program, free, lp_choice, gap if exact_core or free.all() else gap / 2, remaining,
                           cutoff=best if incumbent is not None else None)
        if core.status == "interrupted-no-plan" and incumbent is None:
            return CoreResult(outcome(Status.NO_SOLUTION, bound=bound), None)
        if core.x is not None:
            value = float(program.objective @ core.x)
            if value > best:
                incumbent, best = core.x, value
        core_bound = core.bound if core.status != "infeasible" else -np.inf
        global_bound = min(bound, max(core_bound, fixed_floor))
        if incumbent is None and core.status == "infeasible" and free.all():
            return CoreResult(outcome(Status.INFEASIBLE), None)
        if incumbent is not None:
            found = _gap(best, global_bound)
            # HiGHS measures its gap against the bound, a hair looser than ours: its proof stands.
            if found <= gap + 1e-12 or (core.status == "optimal" and free.all()):
                return CoreResult(outcome(Status.OPTIMAL, best, global_bound, found), incumbent)
        if core.status == "time" or free.all() or (deadline is not None and time.perf_counter() >= deadline):
            if incumbent is None:
                return CoreResult(outcome(Status.NO_SOLUTION, bound=global_bound), None)
            return CoreResult(outcome(Status.FEASIBLE, best, global_bound, _gap(best, global_bound)), incumbent)
        # Grow the core: to the exact threshold once a plan is known, else four times wider.
        exact = bound - _with_gap(best, gap) if incumbent is not None else 0.0
        threshold = exact if incumbent is not None and exact > threshold else _grow(magnitude, threshold)


def _with_gap(value: float, gap: float) -> float:
    """The largest bound that still proves ``value`` within ``gap``."""
    return value + gap * max(abs(value), 1e-10)


def _gap(value: float, bound: float) -> float:
    """Relative gap, the convention of :func:`planner.solve._relative_gap`."""
    return max(0.0, bound - value) / max(abs(value), 1e-10) if bound - value > 1e-9 else 0.0


def _nth(magnitude: np.ndarray, n: int) -> float:
    """A threshold that frees about the n columns with the smallest magnitude."""
    if n >= len(magnitude):
        return np.inf
    return float(np.partition(magnitude, n)[n])


def _grow(magnitude: np.ndarray, threshold: float) -> float:
    """A wider threshold: four times as many free columns, or all."""
    count = int((magnitude < threshold).sum())
    wider = _nth(magnitude, max(4 * count, FIRST_CORE))
    if wider <= threshold:  # ties at the threshold: free the next distinct magnitude at least
        above = magnitude[magnitude >= threshold]
        wider = float(np.nextafter(above.min(), np.inf)) if len(above) else np.inf
    return wider


def _lagrangian(program: MatrixProgram, y: np.ndarray):
    """Reduced costs and the Lagrangian upper bound L(y), valid for any y."""
    reduced = program.objective - program.transpose_times(y)
    with np.errstate(invalid="ignore"):
        rows = np.where(y > 0, y * program.row_upper, np.where(y < 0, y * program.row_lower, 0.0))
    if np.isnan(rows).any():
        rows = np.nan_to_num(rows, nan=0.0)
    bound = float(rows.sum() + np.maximum(reduced, 0.0) @ program.col_upper)
    return reduced, bound if np.isfinite(bound) else np.inf


def _round_down(program: MatrixProgram, x: np.ndarray) -> np.ndarray:
    """The LP solution with fractional slots off."""
    return (x > 1 - 1e-9).astype(float)


def _fill(program: MatrixProgram, x: np.ndarray, reduced: np.ndarray) -> np.ndarray:
    """Add the off columns the LP prices best, one at a time, while every row still holds.

    Rounding the LP down leaves each rule's fractional slot and its leftover
    room unused; filling that room greedily in reduced-cost order gives a plan
    close to the LP bound, which lets the proof fix more columns.
    """
    x = x.copy()
    off = np.flatnonzero((x < 0.5) & (program.objective > 0))
    if not len(off):
        return x
    if len(off) > FILL_TRIES:
        off = off[np.argpartition(-reduced[off], FILL_TRIES)[:FILL_TRIES]]
    order = off[np.argsort(-reduced[off], kind="stable")]
    activity = program.activity(x)
    # Strict: a plan the planner builds itself never leans on a solver's tolerance (not a cent over budget).
    lower = program.row_lower - 1e-12 * (1.0 + np.where(np.isfinite(program.row_lower), np.abs(program.row_lower), 0))
    upper = program.row_upper + 1e-12 * (1.0 + np.where(np.isfinite(program.row_upper), np.abs(program.row_upper), 0))
    start, index, value = program.start, program.index, program.value
    # Rows whose coefficients are all >= 0 only fill up as columns are added: a column that
    # overflows one now never fits later, so each addition drops those columns in one sweep.
    growing = np.isfinite(upper)
    growing[index[value < 0]] = False
    while len(order):
        order = order[_fits(program, order, upper - activity, growing)]
        misses, tried = 0, 0
        for j in order.tolist():
            tried += 1
            rows = index[start[j]:start[j + 1]]
            now = activity[rows]
            moved = now + value[start[j]:start[j + 1]]
            # A row below its minimum (rounding took its fractional slot) may only move up.
            if (moved <= upper[rows]).all() and ((moved >= lower[rows]) | (moved >= now)).all():
                activity[rows] = moved
                x[j] = 1.0
                misses = 0
            else:
                misses += 1
                if misses == 64:  # the room has shrunk since the last sweep: sweep again
                    break
        if tried == len(order):
            break
        order = order[tried:]
    return x


def _fits(program: MatrixProgram, columns: np.ndarray, room: np.ndarray, growing: np.ndarray) -> np.ndarray:
    """Which columns fit the room left in every growing row (a mask over ``columns``)."""
    start, take = program.entries(columns)
    rows = program.index[take]
    over = growing[rows] & (program.value[take] > room[rows])
    owner = np.repeat(np.arange(len(columns)), np.diff(start))
    return np.bincount(owner[over], minlength=len(columns)) == 0


def _feasible(program: MatrixProgram, x: np.ndarray) -> bool:
    """Every row holds (with a tolerance relative to the row's size)."""
    activity = program.activity(x)
    scale = 1.0 + np.maximum(np.abs(program.row_lower), 0.0)
    scale = np.where(np.isfinite(scale), scale, 1.0)
    upper_scale = np.where(np.isfinite(program.row_upper), 1.0 + np.abs(program.row_upper), 1.0)
    return bool(np.all(activity >= program.row_lower - _FEAS * scale)
                and np.all(activity <= program.row_upper + _FEAS * upper_scale))


def _highs():
    """A quiet HiGHS instance."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def run_highs(highs, deadline=None) -> None:
    """Run HiGHS in its own thread and wait here, so Ctrl-C and SIGTERM reach Python at once."""
    if deadline is not None:
        highs.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
    highs.HandleUserInterrupt = True
    highs.startSolve()
    try:
        while not highs.wait(0.1)[0]:
            pass
    except BaseException:
        _cancel(highs)
        raise


def _cancel(highs) -> None:
    """Ask HiGHS to stop and give it a moment; then leave its (daemon) thread behind.

    HiGHS 1.16 can ignore cancellation for a long while after a search restart,
    and an interrupted planner must stop at once: the process is about to exit.
    """
    highs.cancelSolve()
    if not highs.wait(CANCEL_WAIT)[0]:
        _ABANDONED.append(highs)


#: HiGHS solves cancelled but still running (see :func:`abandoned`).
_ABANDONED: list = []


def abandoned() -> bool:
    """True when a cancelled HiGHS solve is still running in its thread.

    Such a process must leave with ``os._exit``: finalising the interpreter would destroy
    the running solver thread, which aborts the process (SIGABRT) instead of exiting.
    """
    return any(not highs.wait(0)[0] for highs in _ABANDONED)


def _pass(highs, program: MatrixProgram, columns: np.ndarray, lower, upper, row_lower, row_upper, integer: bool,
          offset: float = 0.0):
    """Pass the sub-program on ``columns`` (a boolean mask) to HiGHS as a maximisation."""
    keep = np.flatnonzero(columns)
    start, take = program.entries(keep)
    index = program.index[take].astype(np.int32)
    value = program.value[take]
    integrality = np.full(len(keep), 1 if integer else 0, dtype=np.int32)
    highs.passModel(int(len(keep)), int(program.rows), int(len(index)), 1, -1, float(offset),
                    program.objective[keep].astype(float), np.asarray(lower, float)[keep],
                    np.asarray(upper, float)[keep], np.asarray(row_lower, float), np.asarray(row_upper, float),
                    start[:-1].astype(np.int32), index, value, integrality)
    return keep


def _solve_lp(program: MatrixProgram, deadline, hint=None, state=None):
    """The LP relaxation: (x, row duals), "infeasible", or None if stopped by the time limit.

    HiGHS's simplex slows down sharply on tens of thousands of boxed columns
    over a few rows (100k creators: 13-28 s), so large programs are solved by
    sifting: an LP over a working set of columns, the others held at 0 or 1,
    priced with its duals; columns whose reduced cost says they are held on the
    wrong side join the working set, until none does. That is the full LP's
    optimum (its duals price every column correctly). ``hint`` is the working
    set and held values a solve of a similar program ended with (re-solves of
    one campaign with one rule loosened start there).
    """
    state = state if state is not None else []
    if program.columns <= SIFT_ABOVE:
        return _restricted_lp(program, np.ones(program.columns, dtype=bool), np.zeros(program.columns), deadline)
    size = _working_size(program)
    held = _from_hint(program, hint) if hint is not None else None
    if held is None:
        held = _first_guess(program, size, deadline)
    if held is None:
        return _restricted_lp(program, np.ones(program.columns, dtype=bool), np.zeros(program.columns), deadline)
    working, held = held
    tolerance = 1e-9 * max(float(np.abs(program.objective).max()), 1.0)
    while True:
        rays = []
        result = _restricted_lp(program, working, held, deadline, rays)
        if result is None:
            return None
        if result == "infeasible":
            if working.all():
                return "infeasible"
            helpful = _helpful(program, working, held, rays, size)
            if helpful is None:
                working = _widen(working)
            else:
                working[helpful] = True
            continue
        x, y = result
        reduced = program.objective - program.transpose_times(y)
        wrong = ~working & (((held == 0) & (reduced > tolerance)) | ((held == 1) & (reduced < -tolerance)))
        if not wrong.any():
            # A similar solve starts from the columns priced nearest zero here, not from every
            # column this one ever needed (over a sweep those would pile up to the whole program).
            near = np.abs(reduced) <= _nth(np.abs(reduced), size)
            near |= np.abs(x - np.round(x)) > 1e-9
            state[:] = [program.creator, program.slot, near, np.where(near, 0.0, np.round(x))]
            return x, y
        # Add the most wrongly held columns first: duals of a working set that
        # misses a whole rule's margin call far more columns wrong than are.
        wrong = np.flatnonzero(wrong)
        if len(wrong) > size:
            wrong = wrong[np.argpartition(-np.abs(reduced[wrong]), size)[:size]]
        working[wrong] = True


def _from_hint(program: MatrixProgram, hint):
    """(working set, held values) carried over by (creator, slot) from a solve of similar columns.

    A re-solve with a loosened per-creator cap has a few more (or fewer) slot
    columns; those the hint does not know start in the working set.
    """
    creator, slot, working, held = hint
    width = int(max(slot.max(initial=0), program.slot.max(initial=0))) + 1
    old_keys = creator.astype(np.int64) * width + slot
    new_keys = program.creator.astype(np.int64) * width + program.slot
    if not len(old_keys):
        return None
    order = np.argsort(old_keys, kind="stable")
    position = order[np.minimum(np.searchsorted(old_keys[order], new_keys), len(old_keys) - 1)]
    known = old_keys[position] == new_keys
    new_working = np.where(known, working[position], True)
    new_held = np.where(known, held[position], 0.0)
    return new_working, new_held


def _working_size(program: MatrixProgram) -> int:
    """Columns in a first working set: a quarter of the program, at most :data:`SIFT_WORKING`."""
    return max(1, min(SIFT_WORKING, program.columns // 4))


def _first_guess(program: MatrixProgram, size: int, deadline):
    """(working set, held values) from the duals of an LP over a random sample of columns.

    The sample's rows are scaled to its share of the columns, so its duals
    approximate the full program's; the columns they price closest to zero
    form the first working set, the others are held on the side they favour.
    """
    rng = np.random.default_rng(0)
    sample = np.zeros(program.columns, dtype=bool)
    sample[rng.choice(program.columns, size, replace=False)] = True
    share = size / program.columns
    scaled = MatrixProgram(**{**program.__dict__})
    scaled.row_lower = program.row_lower * share
    scaled.row_upper = program.row_upper * share
    result = _restricted_lp(scaled, sample, np.zeros(program.columns), deadline)
    if result is None or result == "infeasible":
        return None
    reduced = program.objective - program.transpose_times(result[1])
    working = np.abs(reduced) <= _nth(np.abs(reduced), size)
    return working, np.where(working, 0.0, (reduced > 0).astype(float))


def _helpful(program: MatrixProgram, working: np.ndarray, held: np.ndarray, rays: list, size: int):
    """Held columns that could break the restricted LP's proof of infeasibility (its Farkas dual ray y):
    held at 0 with (A^T y) > 0, or at 1 with (A^T y) < 0, the ``size`` strongest first; None without a ray.

    A floor no working column can reach (a minimum of reach, followers, a group's spend) otherwise
    doubles the working set blindly until the LP is nearly the whole program (100k creators: 14 s -> 1 s).
    """
    if not rays:
        return None
    score = program.transpose_times(rays[0])
    helps = ~working & (((held == 0) & (score > 0)) | ((held == 1) & (score < 0)))
    columns = np.flatnonzero(helps)
    if not len(columns):
        return None
    if len(columns) > size:
        columns = columns[np.argpartition(-np.abs(score[columns]), size)[:size]]
    return columns


def _widen(working: np.ndarray) -> np.ndarray:
    """Twice as many working columns (chosen at random among the held ones), or all."""
    count = int(working.sum())
    held = np.flatnonzero(~working)
    if 2 * count >= len(working) or len(held) <= count:
        return np.ones(len(working), dtype=bool)
    widened = working.copy()
    widened[np.random.default_rng(count).choice(held, count, replace=False)] = True
    return widened


def _restricted_lp(program: MatrixProgram, working: np.ndarray, held: np.ndarray, deadline, rays=None):
    """The LP over the working columns, the others fixed at ``held``: (x, row duals), "infeasible" or None.

    When infeasible, HiGHS's dual ray (the proof) is appended to ``rays`` if given and available."""
    fixed_x = np.where(working, 0.0, held)
    shift = program.activity(fixed_x) if not working.all() else np.zeros(program.rows)
    highs = _highs()
    highs.setOptionValue("presolve", "off")  # twice as fast on these few-row LPs
    keep = _pass(highs, program, working, np.zeros(program.columns), program.col_upper,
                 program.row_lower - shift, program.row_upper - shift, integer=False)
    run_highs(highs, deadline)
    status = highs.getModelStatus()
    if status in _INFEASIBLE:
        if rays is not None:
            try:
                _, has_ray, ray = highs.getDualRay()
                ray = np.asarray(ray, float)
            except (AttributeError, TypeError, ValueError):  # a highspy without getDualRay: the set doubles
                has_ray = False
            if has_ray and ray.shape == (program.rows,) and np.all(np.isfinite(ray)):
                rays.append(ray)
        return "infeasible"
    if status != highspy.HighsModelStatus.kOptimal:
        return None
    solution = highs.getSolution()
    x = fixed_x.copy()
    x[keep] = np.asarray(solution.col_value, float)[: len(keep)]
    return x, np.asarray(solution.row_dual, float)


@dataclass
class _Core:
    status: str  # "optimal", "time", "infeasible", "interrupted-no-plan", "untrusted"
    x: Optional[np.ndarray]
    bound: float


def _solve_core(program, free, lp_choice, gap, remaining, max_nodes=None, cutoff=None) -> _Core:
    """Solve the MILP over the free columns with the others fixed at the LP's choice (HiGHS alone:
    one solver, so one workbook gives one plan; ``max_nodes`` caps the search's work).

    ``cutoff`` is the value of a plan in hand: the search prunes every branch that cannot beat it
    (typical sample: 24 s -> 11 s). A core with nothing better is then bounded by the cutoff.
    """
    fixed_x = np.where(free, 0.0, lp_choice)
    shift = program.activity(fixed_x)
    offset = float(program.objective @ fixed_x)
    highs = _highs()
    highs.setOptionValue("mip_rel_gap", gap)
    if max_nodes is not None:
        highs.setOptionValue("mip_max_nodes", int(max_nodes))
    if cutoff is not None and np.isfinite(cutoff):
        highs.setOptionValue("objective_bound", -float(cutoff))  # HiGHS minimises -objective
    if not free.all():
        # HiGHS 1.16 can stall after a restart, past its time limit; cores are small enough without.
        highs.setOptionValue("mip_allow_restart", False)
    keep = _pass(highs, program, free, np.zeros(program.columns), program.col_upper,
                 program.row_lower - shift, program.row_upper - shift, integer=True, offset=offset)
    # No starting solution is handed over: HiGHS 1.16 with presolve can return a wrong "optimal"
    # plan from one (Pisinger knapPI_11_20_1000_92: 6,532 claimed, 6,294 optimal). The incumbent
    # is kept here instead and the proof below takes the better of the two.
    deadline = None if remaining is None else time.perf_counter() + remaining
    run_highs(highs, deadline)
    status = highs.getModelStatus()
    info = highs.getInfo()
    if status in _INFEASIBLE:
        if cutoff is not None and np.isfinite(cutoff):
            return _Core("optimal", None, float(cutoff))  # no plan in the core beats the cutoff
        return _Core("infeasible", None, -np.inf)
    has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = None
    if has_plan:
        x = fixed_x.copy()
        x[keep] = np.round(np.asarray(highs.getSolution().col_value, float)[: len(keep)])
        claimed = info.objective_function_value
        if not _feasible(program, x) or abs(program.objective @ x - claimed) > 1e-6 * max(1.0, abs(claimed)):
            # A plan that breaks a rule, or is not worth what HiGHS says: neither it nor the bound is trusted.
            return _Core("untrusted", None, np.inf)
    bound = info.mip_dual_bound
    optimal = status == highspy.HighsModelStatus.kOptimal
    if optimal and not np.isfinite(bound):
        # Solved outright (e.g. in presolve), HiGHS may leave the dual bound unset: its plan is the proof.
        bound = info.objective_function_value
    bound = bound if np.isfinite(bound) else np.inf
    if cutoff is not None and np.isfinite(cutoff):
        # Branches pruned by the cutoff are bounded by it, not by HiGHS's dual bound (which, when
        # nothing beats the cutoff, HiGHS reports as the worse plan it returns).
        bound = max(bound, float(cutoff))
    return _Core("optimal" if optimal else "time" if x is not None else "interrupted-no-plan", x, bound)
