#!/usr/bin/env python3
"""``planner validate`` at scale: time and peak memory on three hostile-by-size workbooks.

Cases (each workbook is written once into ``bench/.cache/validate_scale/``):

duplicates          10,000 creator rows that all carry one handle, written four ways
                    (``@glow.with.maya``, ``glow.with.maya``, ``@Glow.With.Maya``,
                    ``GLOW.WITH.MAYA``: one handle once normalised). Expected: exit 1, every
                    message naming the first 10 rows and a count of the rest (one message per
                    row, or one per handle where messages are collapsed), never all 10,000 rows.
duplicate-pairs     10,000 handles each given twice (20,000 rows, the copy 10,000 rows
                    below). Expected: exit 1, every message a duplicate naming its 2 rows.
empty-niches        10,000 generated creators and a Niches sheet listing their 8 niches plus
                    100,000 niches that no creator has (name only). Expected: exit 0, "OK".
empty-niches-ruled  the same, each of the 100,000 empty niches carrying a rule (max_share
                    50%). Expected: exit 0, "OK", one warning per empty niche.
one-bad-cell        1,048,575 generated creators (a full Excel sheet) with one bad cell:
                    followers = "12.5Q" on the last row. Expected: exit 1, exactly one
                    message, naming that row and column.
empty-niches-1m     the 1,048,575 creators (the bad cell fixed) and the 100,000 empty niches
                    with their rule: rules x creators must not multiply. Expected: exit 0.

Each run is a subprocess; its wall time and the peak resident memory of its process
tree are measured (``os.wait4`` rusage of the child, which covers the descendants it
waited for, and ``VmHWM`` of every live descendant polled every 50 ms, the list of
descendants every 0.5 s; the larger is kept). The measuring process writes workbooks in
a subprocess and imports numpy only for the machine description, so the child's rusage
does not inherit a large parent's pages. Next to each
run, in the same invocation, two baselines read the same file and nothing else:
``pandas.read_excel(sheet_name=None)`` with openpyxl (how the naive planning script of
``naive_baseline.py`` reads its input) and with calamine (the fastest off-the-shelf reader,
a floor for "just reading the file").

Time and memory are measured, not asserted; what each run printed is checked against
the expectation above and the result shown in the table (exit code 1 from this script
when an expectation fails).

Usage::

    python bench/validate_scale.py                          # every case, both baselines, prints the table
    python bench/validate_scale.py --out bench/RESULTS.md   # ... and (re)writes its section there
    python bench/validate_scale.py --cases duplicates,empty-niches --no-baseline
    python bench/validate_scale.py --skip-openpyxl-above 100000   # openpyxl takes ~9 min at 1M rows
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache" / "validate_scale"
#: Bump when a case's workbook changes, so cached workbooks are written again.
VERSION = 1
MAX_ROWS = 1_048_575  # an Excel sheet's rows under its header
DUPLICATES = 10_000
EMPTY_NICHES = 100_000
ROSTER = 10_000  # creators beside the empty niches
BAD_VALUE = "12.5Q"
BAD_ROW = MAX_ROWS + 1  # Excel row of the last creator
SECTION_BEGIN = "<!-- validate_scale:begin -->"
SECTION_END = "<!-- validate_scale:end -->"

#: case -> (creators, what the file holds)
CASES = {
    "duplicates": (DUPLICATES, f"{DUPLICATES:,} rows, one handle written 4 ways"),
    "duplicate-pairs": (2 * DUPLICATES, f"{2 * DUPLICATES:,} rows, {DUPLICATES:,} handles each given twice"),
    "empty-niches": (ROSTER, f"{ROSTER:,} creators; Niches: 8 + {EMPTY_NICHES:,} niches no creator has"),
    "empty-niches-ruled": (ROSTER, f"{ROSTER:,} creators; {EMPTY_NICHES:,} empty niches, each max_share 50%"),
    "one-bad-cell": (MAX_ROWS, f"{MAX_ROWS:,} creators; followers {BAD_VALUE!r} in row {BAD_ROW:,}"),
    "empty-niches-1m": (MAX_ROWS, f"{MAX_ROWS:,} creators; {EMPTY_NICHES:,} empty niches, each max_share 50%"),
}


# --------------------------------------------------------------------------------------
# Workbooks (written in a subprocess: see --make)
# --------------------------------------------------------------------------------------


def workbook_path(case: str) -> Path:
    return CACHE / f"{case}_v{VERSION}.xlsx"


def make_workbook(case: str, path: Path) -> None:
    """Write the case's workbook with the benchmark generator's Excel-like writer (shared strings)."""
    sys.path.insert(0, str(BENCH))
    import generate as g  # bench/ is not a package

    creators, _ = CASES[case]
    roster = g.generate_roster(creators)
    rules = g.campaign_rules(creators)
    niches = list(rules["niches"])
    if case == "duplicates":
        spellings = ("@glow.with.maya", "glow.with.maya", "@Glow.With.Maya", "GLOW.WITH.MAYA")
        roster["creator"] = [spellings[i % len(spellings)] for i in range(creators)]
    elif case == "duplicate-pairs":
        handles = roster["creator"][:DUPLICATES].tolist()
        roster["creator"] = [handles[i % DUPLICATES] for i in range(creators)]
    elif case == "one-bad-cell":
        followers = roster["followers"].astype(object)
        followers[-1] = BAD_VALUE
        roster["followers"] = followers
    if case.startswith("empty-niches"):
        rule = None if case == "empty-niches" else 0.5
        niches += [(f"empty niche {k:06d}", None, rule, None, None) for k in range(1, EMPTY_NICHES + 1)]
    sheets = {
        "Creators": (g.CREATOR_COLUMNS, [roster[c] for c in g.CREATOR_COLUMNS]),
        "Budget": (("setting", "value"), list(zip(*rules["budget"]))),
        "Niches": (g.NICHE_COLUMNS, list(zip(*niches))),
        "Tiers": (g.TIER_COLUMNS, list(zip(*rules["tiers"]))),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        g.write_xlsx(sheets, partial)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()


def ensure_workbook(case: str, log) -> Path:
    path = workbook_path(case)
    if not path.exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--make", case, "--make-path", str(path)], check=True)
        log(f"wrote {path.name} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return path


# --------------------------------------------------------------------------------------
# Baselines (run in a subprocess: see --baseline)
# --------------------------------------------------------------------------------------


def baseline(engine: str, path: Path) -> None:
    """Read every sheet with pandas.read_excel and nothing else; print the row counts as JSON."""
    import pandas as pd

    frames = pd.read_excel(path, sheet_name=None, engine=engine)
    print(json.dumps({name: len(frame) for name, frame in frames.items()}))


# --------------------------------------------------------------------------------------
# Measuring a child
# --------------------------------------------------------------------------------------


def _load() -> list:
    return [round(x, 2) for x in os.getloadavg()]


def _descendants(root: int) -> list:
    """Live descendants of a process (from /proc/*/stat parent ids), the root included."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read().decode("ascii", "replace")
                parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd, timeout: float) -> dict:
    """Run cmd in its own session; wall seconds, CPU seconds, peak RSS of its process tree, output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        load_before = _load()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True, cwd=REPO)
        peaks = {}  # pid -> VmHWM (kB) last seen
        tree, polls = [proc.pid], 0
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if polls % 10 == 0:  # the process list every 0.5 s (a scan of /proc costs ~3 ms), each VmHWM every 50 ms
                tree = _descendants(proc.pid)
            polls += 1
            for child in tree:
                peaks[child] = max(peaks.get(child, 0), _vm_hwm_kb(child))
            if time.perf_counter() - started > timeout:
                timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    polled = max(peaks.values(), default=0)
    return {
        "cmd": [str(c) for c in cmd],
        "exit": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": max(usage.ru_maxrss, polled) / 1024,
        "peak_wait4_mb": usage.ru_maxrss / 1024,
        "peak_polled_mb": polled / 1024,
        "load_before": load_before,
        "load_after": _load(),
        "stdout": stdout,
        "stderr": stderr,
    }


# --------------------------------------------------------------------------------------
# What each run should print
# --------------------------------------------------------------------------------------

#: The rows a duplicate message names: "rows 2, 3, ..., 11 and 9,990 more" (per row, or collapsed per handle).
_ROWS_NAMED = re.compile(r"\brows ((?:\d+, )*\d+) and ([\d,]+) more\b")


def check(case: str, run: dict) -> tuple:
    """(expectation met, one-line outcome) for a planner run."""
    if run["timed_out"]:
        return False, f"timed out after {run['wall_s']:.0f} s"
    lines = [line for line in run["stdout"].splitlines() + run["stderr"].splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith(("OK:", "warning:"))]
    warnings = [line for line in lines if line.startswith("warning:")]
    longest = max((len(line) for line in lines), default=0)
    exit_code = run["exit"]
    if case == "duplicates":
        # Bounded: every message is about the duplicate, names the first 10 rows and counts the rest.
        named = [_ROWS_NAMED.search(line) for line in errors]
        bounded = bool(errors) and all(
            "duplicate creator" in line and m and m.group(1).split(", ") == [str(r) for r in range(2, 12)]
            and m.group(2) == f"{DUPLICATES - 10:,}" for line, m in zip(errors, named))
        ok = exit_code == 1 and 1 <= len(errors) <= DUPLICATES and bounded
        each = "each naming" if len(errors) > 1 else "naming"
        return ok, (f"exit {exit_code}: {len(errors):,} message{'s' if len(errors) > 1 else ''}, "
                    f"{each + ' rows 2-11 and' if bounded else 'NOT all naming rows 2-11 and'} "
                    f"'and {DUPLICATES - 10:,} more'; longest line {longest} chars, "
                    f"{len((run['stdout'] + run['stderr']).encode()):,} bytes of output")
    if case == "duplicate-pairs":
        pairs = re.compile(r"\brows? (\d+)(?:,| and) (\d+)\b")
        named = [pairs.search(line) for line in errors]
        paired = bool(errors) and all(
            "duplicate creator" in line and m and int(m.group(2)) - int(m.group(1)) == DUPLICATES
            for line, m in zip(errors, named))
        ok = exit_code == 1 and len(errors) in (DUPLICATES, 2 * DUPLICATES) and paired
        return ok, (f"exit {exit_code}: {len(errors):,} messages, {'each' if paired else 'NOT each'} a duplicate "
                    f"naming its 2 rows; longest line {longest} chars")
    if case == "one-bad-cell":
        ok = (exit_code == 1 and len(errors) == 1 and f"row {BAD_ROW}" in errors[0]
              and "'followers'" in errors[0] and BAD_VALUE in errors[0])
        shown = errors[0] if len(errors) == 1 else f"{len(errors):,} messages"
        return ok, f"exit {exit_code}: exactly one message: `{shown}`" if ok else f"exit {exit_code}: {shown}"
    empty_warnings = [w for w in warnings if "has no creators on the Creators sheet" in w]
    expected_warnings = 0 if case == "empty-niches" else EMPTY_NICHES
    ok = exit_code == 0 and any(line.startswith("OK:") for line in lines) and not errors \
        and len(empty_warnings) == expected_warnings
    first = next((line for line in lines if line.startswith("OK:")), errors[0] if errors else "")
    return ok, f"exit {exit_code}: `{first}`; {len(warnings):,} warnings"


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _secs(value) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _baseline_cell(run) -> str:
    if run is None:
        return "not run"
    if run["timed_out"]:
        return f"timed out at {run['wall_s']:.0f} s"
    if run["exit"] != 0:
        return f"exit {run['exit']} after {_secs(run['wall_s'])} s"
    return f"{_secs(run['wall_s'])} s / {run['peak_mb']:,.0f} MB"


def markdown(results: dict) -> str:
    runs = results["runs"]
    machine = results["machine"]
    lines = [
        SECTION_BEGIN,
        "## Validation at scale",
        "",
        "`planner validate` on workbooks that are large in the ways a validator can go quadratic, written by "
        "`bench/validate_scale.py` (which also produced this section). Time is the wall-clock seconds of the "
        "whole `planner validate` subprocess, start-up and imports included (the 2,000-creator sample validates in "
        "about 1.4 s); CPU seconds are the steadier figure on a shared machine; memory is the peak "
        "resident set size of its process tree (`os.wait4` rusage and polled `VmHWM`, the larger). The "
        "baselines read the same file in their own subprocess with `pandas.read_excel(sheet_name=None)` and do "
        "nothing else: with openpyxl (how `naive_baseline.py` reads its input) and with calamine (the fastest "
        "off-the-shelf reader). Measured, not asserted.",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM; "
        f"Python {machine['python']}; "
        f"commit {machine['commit']} (planner + models sources sha256 {machine['source_sha256']})",
        f"- Run {results['started']} … {results['finished']}; `uptime` before: `{results['uptime_before']}`; "
        f"after: `{results['uptime_after']}`",
        "",
        "| case | rows | time s | CPU s | peak MB | baseline: pandas + openpyxl (time / peak) "
        "| baseline: pandas + calamine (time / peak) | outcome | as expected |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for case, run in runs.items():
        planner = run["planner"]
        lines.append(
            f"| {case} | {run['rows']} | {_secs(planner['wall_s'])} | {_secs(planner['cpu_s'])} | "
            f"{planner['peak_mb']:,.0f} | "
            f"{_baseline_cell(run.get('openpyxl'))} | {_baseline_cell(run.get('calamine'))} | "
            f"{run['outcome']} | {'yes' if run['expected'] else '**no**'} |"
        )
    lines += ["", "Load average (1, 5, 15 min) before / after each `planner validate` run: " + "; ".join(
        f"{case} {run['planner']['load_before']} / {run['planner']['load_after']}" for case, run in runs.items()), "",
        SECTION_END]
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace the section between the markers, or append it at the end."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if SECTION_BEGIN in old and SECTION_END in old:
        head, rest = old.split(SECTION_BEGIN, 1)
        tail = rest.split(SECTION_END, 1)[1]
        new = head + text.rstrip("\n") + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new, encoding="utf-8")


def _machine() -> dict:
    sys.path.insert(0, str(BENCH))
    from harness import machine_info  # imports numpy: done after the workbooks are written, before any run

    return machine_info()


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return " ".join(map(str, _load()))


def planner_command() -> list:
    script = Path(sys.executable).with_name("planner")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from planner.cli import main; main()"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Time and peak memory of `planner validate` on large workbooks.")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from: {', '.join(CASES)}")
    parser.add_argument("--no-baseline", action="store_true", help="skip both pandas.read_excel baselines")
    parser.add_argument("--skip-openpyxl-above", type=int, default=None, metavar="ROWS",
                        help="no openpyxl baseline for workbooks of more creator rows than this")
    parser.add_argument("--baseline-cases", default=None,
                        help="run the baselines for these cases only (comma-separated; default: every case)")
    parser.add_argument("--skip-openpyxl", default="", metavar="CASES",
                        help="no openpyxl baseline for these cases (comma-separated)")
    parser.add_argument("--timeout", type=float, default=1800, help="kill any run after this many seconds")
    parser.add_argument("--out", type=Path, help="markdown file whose validate_scale section is (re)written")
    parser.add_argument("--json-out", type=Path, help="write every run (output included) as JSON")
    parser.add_argument("--make", choices=list(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--make-path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", choices=("openpyxl", "calamine"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline-path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make:
        make_workbook(args.make, args.make_path)
        return 0
    if args.baseline:
        baseline(args.baseline, args.baseline_path)
        return 0

    def log(message):
        print(f"[validate_scale] {message}", file=sys.stderr, flush=True)

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    paths = {case: ensure_workbook(case, log) for case in cases}
    results = {"started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "uptime_before": _uptime(), "machine": _machine(), "runs": {}}
    log(f"uptime: {results['uptime_before']}")
    all_met = True
    for case in cases:
        creators, what = CASES[case]
        run = {"rows": what, "creators": creators, "file_mb": paths[case].stat().st_size / 1e6}
        log(f"{case}: planner validate {paths[case].name}")
        run["planner"] = measure(planner_command() + ["validate", str(paths[case])], args.timeout)
        run["expected"], run["outcome"] = check(case, run["planner"])
        all_met &= run["expected"]
        log(f"{case}: {run['planner']['wall_s']:.2f} s, {run['planner']['peak_mb']:.0f} MB; {run['outcome'][:160]}")
        for engine in ("openpyxl", "calamine"):
            if args.no_baseline or (args.baseline_cases is not None and case not in args.baseline_cases.split(",")) \
                    or (engine == "openpyxl" and (case in args.skip_openpyxl.split(",") or (
                        args.skip_openpyxl_above is not None and creators > args.skip_openpyxl_above))):
                continue
            log(f"{case}: baseline pandas.read_excel({engine})")
            run[engine] = measure([sys.executable, __file__, "--baseline", engine, "--baseline-path", str(paths[case])],
                                  args.timeout)
            log(f"{case}: baseline {engine}: {_baseline_cell(run[engine])}")
        results["runs"][case] = run
    results["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    results["uptime_after"] = _uptime()
    text = markdown(results)
    print(text)
    if args.out:
        write_section(args.out, text)
        log(f"wrote the section to {args.out}")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
