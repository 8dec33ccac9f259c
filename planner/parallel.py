"""Run independent solves in spawned worker processes, stopping them all at once on an interrupt."""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait

from planner.processes import interrupts_ignored, kill_child_processes


def run_parallel(function, tasks, workers, initializer=None, initargs=(), on_result=None) -> list:
    """``[function(*task) for task in tasks]`` across processes, in task order.

    Workers are spawned, not forked: a solver's thread pool does not survive
    fork() in a process that has already solved. Workers ignore Ctrl-C (the
    terminal sends it to them too); on Ctrl-C or SIGTERM here every worker and
    every solver they run is stopped at once and the interrupt goes on to the caller.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled by name).
    tasks : list of tuple
    workers : int
    initializer, initargs : optional
        Run once in each worker.
    on_result : callable, optional
        Called with each result as it arrives.

    Returns
    -------
    list
    """
    pool = _pool(workers, initializer, initargs)
    try:
        futures = {_submit(pool, function, task): k for k, task in enumerate(tasks)}
        results = [None] * len(tasks)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_result:
                on_result(results[futures[future]])
    except BaseException as exc:
        _stop(pool, exc)
        raise
    pool.shutdown(wait=True)
    return results


def run_beside(function, tasks, workers, initializer=None, initargs=(), on_result=None) -> list:
    """Like :func:`run_parallel`, with this process as one of the workers.

    Spawning a worker costs a second or two of imports; meanwhile this process
    already works through the tasks from the front, and the spawned ones take
    them from the back. Quick tasks (a sweep's budgets often take a tenth of a
    second each) may all be done before a spawned worker is ready.
    """
    if initializer:
        initializer(*initargs)
    helpers = workers - 1
    pool = _pool(helpers, initializer, initargs)
    pending = collections.deque(enumerate(tasks))
    running = {}
    results = [None] * len(tasks)

    def collect(done):
        for future in done:
            k = running.pop(future)
            results[k] = future.result()
            if on_result:
                on_result(results[k])

    try:
        while pending or running:
            while pending and len(running) < 2 * helpers:  # one queued behind each running task
                k, task = pending.pop()
                running[_submit(pool, function, task)] = k
            collect([future for future in running if future.done()])
            if pending:
                k, task = pending.popleft()
                results[k] = function(*task)
                if on_result:
                    on_result(results[k])
            elif running:
                collect(wait(running, return_when=FIRST_COMPLETED)[0])
    except BaseException as exc:
        _stop(pool, exc)
        raise
    # Every task is done; a worker that never got one still finishes starting up before it exits.
    pool.shutdown(wait=True)
    return results


def _pool(workers, initializer, initargs) -> ProcessPoolExecutor:
    """A pool of spawned workers that ignore Ctrl-C, each running ``initializer(*initargs)`` first."""
    return ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), initializer=_start_worker,
                               initargs=(initializer, initargs))


def _submit(pool, function, task):
    """``pool.submit(function, *task)``, with Ctrl-C held back from any worker it starts.

    A worker inherits the blocked signal, so a Ctrl-C during its second or two of imports
    waits until :func:`_start_worker` has set it to be ignored, instead of printing a
    traceback; here it is delivered as soon as the submit returns.
    """
    if not hasattr(signal, "pthread_sigmask"):
        return pool.submit(function, *task)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(function, *task)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _start_worker(initializer, initargs) -> None:
    """In each worker: ignore Ctrl-C (the parent stops the workers), then the caller's initializer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if initializer is not None:
        initializer(*initargs)


def _stop(pool, exc) -> None:
    """Stop every worker and the solvers they run, then let the pool go without waiting."""
    # On Ctrl-C or SIGTERM a second one must not cut the cleanup short.
    with interrupts_ignored() if isinstance(exc, KeyboardInterrupt) else contextlib.nullcontext():
        kill_child_processes()
        pool.shutdown(wait=False, cancel_futures=True)
