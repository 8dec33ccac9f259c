"""Ctrl-C and SIGTERM stop the whole process tree: workers, their solvers, everything; nothing is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from tests.conftest import SAMPLES

PLANNER = [sys.executable, "-c", "from planner.cli import main; main()"]


def is_gone(process: psutil.Process) -> bool:
    """True when the process has ended (a zombie has ended: it only waits to be reaped)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def describe(process: psutil.Process) -> str:
    """pid, name and command line, for the messages of failed assertions."""
    try:
        return f"{process.pid} {process.name()} {process.status()}: {' '.join(process.cmdline())[:200]}"
    except psutil.Error as exc:
        return f"{process.pid}: {exc!r}"


def start_sweep(tmp_path, out):
    """``planner sweep --solver cbc --workers 2`` on the typical sample, in its own process group."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    return subprocess.Popen(
        PLANNER + ["sweep", str(SAMPLES / "typical_campaign.xlsx"), "-o", str(out), "--budgets", "20k:200k:20k",
                   "--solver", "cbc", "--workers", "2", "--gap", "0"],
        env={**os.environ, "TMPDIR": str(temp)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal gives a foreground job
        # A shell's background job inherits SIGINT ignored (and Python then keeps it ignored): give the
        # planner the default, as a terminal would, whatever launched the tests.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_worker_cbc(process, timeout=15.0) -> list:
    """Wait until a worker (not the planner itself) runs CBC; return the planner's descendants then."""
    planner = psutil.Process(process.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        tree = planner.children(recursive=True)
        for child in tree:
            try:
                if "cbc" in child.name().lower() and child.ppid() != process.pid:
                    return tree
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no worker started CBC within {timeout} s")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and process groups as on Linux")
@pytest.mark.parametrize("sig,code,to_group", [(signal.SIGTERM, 143, False), (signal.SIGINT, 130, True)],
                         ids=["sigterm-to-planner", "ctrl-c-to-process-group"])
def test_interrupted_sweep_stops_every_worker_and_solver(tmp_path, sig, code, to_group):
    out = tmp_path / "sweep.xlsx"
    process = start_sweep(tmp_path, out)
    try:
        tree = wait_for_worker_cbc(process)
        assert len(tree) >= 3, [describe(p) for p in tree]  # a worker, its CBC, the resource tracker
        # multiprocessing's helper, which leaves by itself once the planner has exited
        trackers = {p.pid for p in tree if "multiprocessing.resource_tracker" in " ".join(p.cmdline())}
        started = time.monotonic()
        if to_group:
            os.killpg(process.pid, sig)  # Ctrl-C: the whole foreground process group gets SIGINT
        else:
            process.send_signal(sig)  # to the planner only: it must stop its workers and their solvers
        stdout, stderr = process.communicate(timeout=20)
        stopped = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = stderr.decode(errors="replace")
    assert process.returncode == code, text
    assert text.strip().splitlines() == ["Interrupted; nothing was written."], text  # one line, nothing else
    for word in ("Traceback", "resource_tracker", "KeyError", "Warning", "leaked"):
        assert word not in text
    assert b"written to" not in stdout
    assert stopped < 10, stopped
    # Every worker and every CBC, the workers' own included, ended before the planner did.
    left = [describe(p) for p in tree if p.pid not in trackers and not is_gone(p)]
    assert left == [], [describe(p) for p in tree]
    # The resource tracker leaves by itself as the planner exits, having nothing to clean up.
    deadline = time.monotonic() + 5
    while any(not is_gone(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [describe(p) for p in tree if not is_gone(p)] == []
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".planner-")] == []  # no half-written report
    assert list((tmp_path / "tmp").iterdir()) == []  # the private folder and the solvers' files are gone


TREE = textwrap.dedent(r"""
    import subprocess, sys, time
    import psutil
    from planner.processes import kill_child_processes

    # A middle process that ignores SIGTERM and has a child of its own; and a plain sleeping child.
    middle = subprocess.Popen([sys.executable, "-c", "import signal, subprocess, time; "
                               "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                               "subprocess.Popen(['sleep', '60']); print('ready', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE)
    plain = subprocess.Popen(["sleep", "60"])
    assert middle.stdout.readline().strip() == b"ready"
    tree = psutil.Process().children(recursive=True)
    started = time.monotonic()
    kill_child_processes()
    seconds = time.monotonic() - started
    left = [p.pid for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    print(len(tree), len(left), round(seconds, 2))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process trees as on Linux")
def test_kill_child_processes_stops_grandchildren_and_kills_what_ignores_sigterm():
    result = subprocess.run([sys.executable, "-c", TREE], capture_output=True, timeout=30, start_new_session=True)
    assert result.returncode == 0, result.stderr
    found, left, seconds = result.stdout.decode().split()
    assert int(found) == 3  # the middle process, its sleep, and the plain sleep
    assert int(left) == 0
    # The middle process ignored SIGTERM: it was killed after the grace period, not waited on for ever.
    assert 0.9 <= float(seconds) < 5
