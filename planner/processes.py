"""Light helpers the CLI needs before the solver stack is imported."""

from __future__ import annotations

import os
import signal

#: Solvers by the name planners type; the first is the default.
SOLVERS = ("highs", "cbc")


def kill_child_processes() -> None:
    """Stop every process this one started (a CBC run, scenario workers); Linux /proc, else a no-op."""
    me = os.getpid()
    children = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[1]) == me:
                children.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
