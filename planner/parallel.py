"""Run independent solves in spawned worker processes, stopping them all at once on an interrupt."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed

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
