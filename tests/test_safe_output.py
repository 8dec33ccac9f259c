"""Safe output: interrupts stop the solver and write nothing; a failed or killed save leaves files intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import SAMPLES, c_row, run_cli, write_workbook

PLANNER = [sys.executable, "-c", "from planner.cli import main; main()"]


def processes_mentioning(text: str) -> list:
    """PIDs whose command line mentions text (e.g. a private temporary folder)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline and str(os.getpid()) != entry:
                found.append(int(entry))
    return found


def children_of(pid: int) -> list:
    """PIDs whose parent is pid."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry))
    return out


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux /proc to inspect processes")
@pytest.mark.parametrize("solver,sig,code", [("cbc", signal.SIGINT, 130), ("highs", signal.SIGINT, 130),
                                             ("cbc", signal.SIGTERM, 143), ("highs", signal.SIGTERM, 143)])
def test_interrupt_during_a_long_solve_leaves_nothing(tmp_path, solver, sig, code):
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "plan.xlsx"
    env = {**os.environ, "TMPDIR": str(temp)}
    process = subprocess.Popen(
        PLANNER + ["plan", str(SAMPLES / "typical_campaign.xlsx"), "-o", str(out), "--solver", solver, "--gap", "0",
                   "--no-explain"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        # A shell's background job inherits SIGINT ignored (and Python then keeps it ignored): give the
        # planner the default, as a terminal would, whatever launched the tests.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 30
    # Wait until the solve is under way: for CBC its process is running, for HiGHS give it time.
    while time.time() < deadline:
        if solver == "cbc" and children_of(process.pid):
            break
        if solver == "highs" and time.time() > deadline - 26:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    assert process.poll() is None, process.communicate()
    started = time.time()
    process.send_signal(sig)  # to the planner only: it must stop its own solver
    _, stderr = process.communicate(timeout=60)
    assert time.time() - started < 30
    assert process.returncode == code, stderr
    assert b"Interrupted; nothing was written." in stderr
    assert b"Traceback" not in stderr
    assert not out.exists()
    assert list(temp.iterdir()) == []  # the private folder and the solver's files are gone
    time.sleep(0.5)
    assert processes_mentioning(str(temp)) == []  # no CBC left behind


def test_exception_during_save_leaves_existing_report_intact(tmp_path, monkeypatch):
    path = write_workbook(tmp_path / "in.xlsx", [c_row("A", 100, 10)], {"total_budget": 100})
    out = tmp_path / "plan.xlsx"
    out.write_bytes(b"the client's previous report")

    def broken_save(self, filename):
        Path(filename).write_bytes(b"half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    result = run_cli("plan", path, "-o", out)
    assert result.exit_code != 0
    assert out.read_bytes() == b"the client's previous report"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".planner-")] == []


KILL_DURING_SAVE = r"""
import sys, time
import openpyxl
from planner import report

original = openpyxl.Workbook.save
def slow_save(self, filename):
    original(self, filename)
    print("SAVING", flush=True)
    time.sleep(30)  # the temporary file is written; the process is killed before it is moved into place
openpyxl.Workbook.save = slow_save
wb = openpyxl.Workbook()
wb.active["A1"] = "new report"
report.save_atomically(wb, sys.argv[1])
"""


def test_killing_the_process_while_writing_leaves_existing_report_intact(tmp_path):
    out = tmp_path / "plan.xlsx"
    out.write_bytes(b"the client's previous report")
    process = subprocess.Popen([sys.executable, "-c", KILL_DURING_SAVE, str(out)], stdout=subprocess.PIPE)
    assert process.stdout.readline().strip() == b"SAVING"
    process.kill()
    process.wait()
    assert out.read_bytes() == b"the client's previous report"


def test_report_permissions_follow_the_umask(tmp_path):
    path = write_workbook(tmp_path / "in.xlsx", [c_row("A", 100, 10)], {"total_budget": 100})
    out = tmp_path / "plan.xlsx"
    assert run_cli("plan", path, "-o", out, "--no-explain").exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
