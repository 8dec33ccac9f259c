"""Light helpers the CLI needs before the solver stack is imported."""

from __future__ import annotations

import contextlib
import signal
import time

#: Solvers by the name planners type; the first is the default.
SOLVERS = ("highs", "cbc")
#: Any other solver PuLP drives (a commercial one a user has installed): ``pulp:GUROBI``, ``pulp:HiGHS``.
PULP_PREFIX = "pulp:"
SOLVER_CHOICES = "highs, cbc, or pulp:NAME for any solver PuLP drives (e.g. pulp:GUROBI, pulp:HiGHS_CMD)"


def solver_name(text) -> "str | None":
    """The solver a planner typed, as the planner names it (None when it names none)."""
    text = str(text).strip()
    if text.lower() in SOLVERS:
        return text.lower()
    if text.lower().startswith(PULP_PREFIX) and text[len(PULP_PREFIX):].strip():
        return PULP_PREFIX + text[len(PULP_PREFIX):].strip()
    return None

#: Seconds a process is given to end after SIGTERM before it is killed.
TERMINATE_GRACE = 1.0
#: Seconds to wait for killed processes to be gone.
KILL_WAIT = 5.0


def kill_child_processes(grace: float = TERMINATE_GRACE) -> None:
    """Stop every process this one started, and theirs: scenario workers, every CBC run, recursively.

    The whole tree is collected and suspended (SIGSTOP) before anything is stopped: a worker
    killed first would otherwise leave its CBC running, reparented and out of reach, and a
    suspended worker cannot start another one meanwhile. Then each is terminated (SIGTERM),
    and killed (SIGKILL) if still running after ``grace`` seconds; this returns when all are
    gone (a zombie counts as gone).

    multiprocessing's resource tracker started by this process is spared: it unlinks the
    worker queues' semaphores as this process exits, then exits itself; killed early, it
    would be relaunched and print warnings and KeyError tracebacks.
    """
    import psutil

    try:
        me = psutil.Process()
        spared = {p.pid for p in me.children() if _is_resource_tracker(p)}
    except psutil.Error:
        return
    suspended = {}
    while True:  # until a listing finds no process not yet suspended
        try:
            found = [p for p in me.children(recursive=True) if p.pid not in suspended and p.pid not in spared]
        except psutil.Error:
            break
        if not found:
            break
        for process in found:
            suspended[process.pid] = process
            _call(process, "suspend")
    processes = list(suspended.values())
    for process in processes:
        _call(process, "terminate")
        _call(process, "resume")  # a suspended process acts on SIGTERM once resumed
    alive = _wait_gone(processes, grace)
    for process in alive:
        _call(process, "kill")
    _wait_gone(alive, KILL_WAIT)


def ignore_interrupts() -> dict:
    """Ignore further Ctrl-C and SIGTERM (this process is already stopping on one); return the handlers replaced."""
    replaced = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            replaced[number] = signal.signal(number, signal.SIG_IGN)
        except ValueError:  # not the main thread: signals are handled there
            break
    return replaced


@contextlib.contextmanager
def interrupts_ignored():
    """Ignore Ctrl-C and SIGTERM inside the block (a cleanup a second one must not cut short)."""
    replaced = ignore_interrupts()
    try:
        yield
    finally:
        for number, handler in replaced.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(number, handler)


def _is_resource_tracker(process) -> bool:
    """True for the helper process multiprocessing starts to clean up after its workers."""
    import psutil

    try:
        return "multiprocessing.resource_tracker" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def _call(process, method: str) -> None:
    """``process.suspend()``, ``.terminate()``... on a process that may have ended meanwhile."""
    import psutil

    try:
        getattr(process, method)()
    except psutil.Error:  # gone, or its pid taken by another process (psutil checks)
        pass


def _wait_gone(processes, timeout: float) -> list:
    """Wait up to ``timeout`` seconds for the processes to end; return those still running.

    Nothing is reaped: the workers' exit codes stay for multiprocessing to collect.
    """
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for process in processes:
            try:
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.Error:
                pass
        if not alive or time.monotonic() >= deadline:
            return alive
        processes = alive
        time.sleep(0.02)
