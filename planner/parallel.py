"""Run independent solves in spawned worker processes, stopping them all at once on an interrupt."""

from __future__ import annotations

import collections
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait

from planner.processes import kill_child_processes


def run_parallel(function, tasks, workers, initializer=None, initargs=(), on_result=None) -> list:
    """``[function(*task) for task in tasks]`` across processes, in task order.

    Workers are spawned, not forked: a solver's thread pool does not survive
    fork() in a process that has already solved. On Ctrl-C or SIGTERM every
    worker is killed at once and the interrupt goes on to the caller.

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
    pool = ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), initializer=initializer, initargs=initargs)
    try:
        futures = {pool.submit(function, *task): k for k, task in enumerate(tasks)}
        results = [None] * len(tasks)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_result:
                on_result(results[futures[future]])
    except BaseException:
        kill_child_processes()
        pool.shutdown(wait=False, cancel_futures=True)
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
    pool = ProcessPoolExecutor(helpers, multiprocessing.get_context("spawn"), initializer=initializer, initargs=initargs)
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
                running[pool.submit(function, *task)] = k
            collect([future for future in running if future.done()])
            if pending:
                k, task = pending.popleft()
                results[k] = function(*task)
                if on_result:
                    on_result(results[k])
            elif running:
                collect(wait(running, return_when=FIRST_COMPLETED)[0])
    except BaseException:
        kill_child_processes()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    # Every task is done; a worker that never got one still finishes starting up before it exits.
    pool.shutdown(wait=True)
    return results
