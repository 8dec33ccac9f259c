#!/usr/bin/env python3
"""Benchmark harness: the planner against the naive pandas + PuLP + CBC script.

For every size N it generates (or takes from the cache) the N-creator
campaign of ``bench/generate.py`` and runs, each in its own subprocess:

planner      the planner library stage by stage (``bench/run_planner.py``):
             read, validate, build, solve, check, write
planner-cli  ``planner plan IN -o OUT`` end to end
naive        ``bench/naive_baseline.py``: read, build, solve

For each run it records wall seconds, CPU seconds and peak resident memory
(``os.wait4`` rusage of that child, which on Linux is the larger of the
child's own peak and that of the processes it waited for, e.g. CBC), the plan
value and the proven gap. Results are merged into ``bench/results.json``
(keyed by size and tool, the newest run wins) and the scaling section of
``bench/RESULTS.md`` is rewritten from them, with ``bench/scaling.svg``.

``--sweep`` also times ``planner sweep`` of many budgets against as many
separate ``planner plan`` runs (the sample typical campaign with
``--gap 0.001``, and a small generated campaign), the sweep run under
``script`` so that its progress bar sees a terminal.

Usage::

    python bench/harness.py --sizes 1000,10000,100000
    python bench/harness.py --sizes 1048575 --skip-baseline-above 100000 --timeout 600
    python bench/harness.py --sweep --no-scale
    python bench/harness.py --quick --out /tmp/quick.md --json-out /tmp/quick.json
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (bench/ is not a package)

PY = sys.executable
RESULTS_JSON = BENCH / "results.json"
RESULTS_MD = BENCH / "RESULTS.md"
CHART_SVG = BENCH / "scaling.svg"
TYPICAL = REPO / "sample_inputs" / "typical_campaign.xlsx"
PLANNER_STAGES = ("read", "validate", "build", "solve", "check", "explain", "write")
NAIVE_STAGES = ("read", "build", "solve")
#: Relative tolerance for "the planner's plan is at least as good as the baseline's":
#: both are proven within 1e-4 of the same optimum.
VALUE_TOLERANCE = 2e-4


# --------------------------------------------------------------------------------------
# Machine and versions
# --------------------------------------------------------------------------------------


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    versions = {}
    for package in ("campaign-planner", "pulp", "highspy", "pandas", "numpy", "openpyxl", "python-calamine", "click"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    commit = None
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "planner", "models"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if commit and dirty:
            commit += " (planner/ or models/ modified)"
    except (OSError, subprocess.SubprocessError):
        pass
    digest = hashlib.sha256()
    for source in sorted([*REPO.glob("planner/*.py"), *REPO.glob("models/*.py")]):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(ram_gb, 1) if ram_gb else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "source_sha256": digest.hexdigest()[:12],  # planner/*.py + models/*.py as run (the tree is edited concurrently)
    }


def _load() -> list:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------
# Running a child and measuring it
# --------------------------------------------------------------------------------------


def measure(cmd, timeout=None, cwd=None) -> dict:
    """Run cmd; wall seconds, CPU seconds and peak RSS of that child (os.wait4), its output.

    The child gets its own session so that on timeout it and its children
    (e.g. CBC, scenario workers) are killed together.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        load_before = _load()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.perf_counter() - started > timeout:
                timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return {
        "cmd": [str(c) for c in cmd],
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "timeout": timeout,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "load_before": load_before,
        "load_after": _load(),
        "stdout": stdout,
        "stderr": stderr,
    }


def _json_line(text: str):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def _record(tool: str, size: int, run: dict, extra: dict | None = None) -> dict:
    record = {
        "tool": tool,
        "size": size,
        "date": _now(),
        "ok": run["returncode"] == 0 and not run["timed_out"],
        "returncode": run["returncode"],
        "timed_out": run["timed_out"],
        "timeout": run["timeout"],
        "wall": run["wall"],
        "cpu": run["cpu"],
        "peak_rss_mb": run["peak_rss_mb"],
        "load_before": run["load_before"],
        "load_after": run["load_after"],
    }
    if extra:
        record.update(extra)
    if not record["ok"]:
        tail = (run["stderr"] or run["stdout"]).strip().splitlines()[-3:]
        record["error"] = "timed out" if run["timed_out"] else " | ".join(tail)
    return record


def run_planner(path: Path, size: int, workdir: Path, timeout, time_limit=None, explain=False) -> dict:
    out = workdir / f"plan_lib_{size}.xlsx"
    cmd = [PY, BENCH / "run_planner.py", path, out] + (["--explain"] if explain else [])
    if time_limit:
        cmd += ["--time-limit", str(time_limit)]
    run = measure(cmd, timeout)
    data = _json_line(run["stdout"]) or {}
    record = _record("planner", size, run)
    for key in ("status", "describe", "value", "spend", "booked", "gap", "bound", "solver",
                "rule_of_thumb_value", "timings", "cpu_stages", "rss_after_mb", "error"):
        if key in data:
            record[key] = data[key]
    if "cpu" in data:
        record["cpu_stages"] = data["cpu"]
    if not record["ok"] and "timings" not in record:
        # Stages finished before the run was killed or failed (run_planner prints one line per stage).
        done = re.findall(r"^stage (\w+) ([0-9.]+) s, peak ([0-9]+) MB", run["stderr"], re.M)
        # make_plan's own steps, logged by run_planner as "<step>_done".
        done = [(n[:-5] if n.endswith("_done") else n, sec, mb) for n, sec, mb in done]
        entered = re.findall(r"^enter (\w+) at ([0-9.]+)", run["stderr"], re.M)
        finished = {n for n, _, _ in done}
        if entered and entered[-1][0] not in finished:
            record["killed_in"] = entered[-1][0]
        if done:
            record["timings"] = {name: float(sec) for name, sec, _ in done}
            record["rss_after_mb"] = {name: float(mb) for name, _, mb in done}
            record["error"] = (
                record.get("error", "") + f"; finished stages: {', '.join(n for n, _, _ in done)}"
            ).lstrip("; ")
            if record.get("killed_in"):
                spent = run["wall"] - sum(float(sec) for n, sec, _ in done
                                          if n in ("import", "read", "validate", "precheck", "build"))
                record["error"] += f"; stopped in {record['killed_in']} (after about {spent:.0f} s there)"
    if out.exists():
        record["output_mb"] = out.stat().st_size / 1e6
        out.unlink()
    return record


def run_cli(path: Path, size: int, workdir: Path, timeout, time_limit=None) -> dict:
    out = workdir / f"plan_cli_{size}.xlsx"
    cmd = [PY, "-m", "planner.cli", "plan", path, "-o", out]
    if time_limit:
        cmd += ["--time-limit", str(time_limit)]
    run = measure(cmd, timeout)
    record = _record("planner-cli", size, run)
    match = re.search(r"status:\s+(.*)", run["stdout"])
    if match:
        record["describe"] = match.group(1).strip()
    match = re.search(r"engagement:\s+([\d,.]+)", run["stdout"])
    if match:
        record["value"] = float(match.group(1).replace(",", ""))
    if out.exists():
        record["output_mb"] = out.stat().st_size / 1e6
        out.unlink()
    return record


def run_naive(path: Path, size: int, timeout, time_limit=None) -> dict:
    cmd = [PY, BENCH / "naive_baseline.py", path, "--json"]
    if time_limit:
        cmd += ["--time-limit", str(time_limit)]
    run = measure(cmd, timeout)
    data = _json_line(run["stdout"]) or {}
    record = _record("naive", size, run)
    for key in ("status", "solution_status", "value", "spend", "booked", "gap", "solver", "timings",
                "peak_rss_solver_mb"):
        if key in data:
            record[key] = data[key]
    if "peak_rss_mb" in data:
        record["peak_rss_python_mb"] = data["peak_rss_mb"]
        record["peak_rss_wait4_mb"] = record["peak_rss_mb"]
        if data.get("peak_rss_solver_mb") is not None:
            # Python and CBC are both alive during the solve: their sum is the footprint.
            record["peak_rss_mb"] = data["peak_rss_mb"] + data["peak_rss_solver_mb"]
    if record.get("gap") is not None:
        record["gap"] = max(0.0, record["gap"])
    return record


# --------------------------------------------------------------------------------------
# The scale benchmark
# --------------------------------------------------------------------------------------


def scale_benchmark(sizes, skip_baseline_above, skip_cli_above, timeout, cache_dir, time_limit, log,
                    explain_up_to=None) -> list:
    records = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-out-"))
    try:
        for size in sizes:
            path = generate.cache_path(size, cache_dir=cache_dir)
            if not path.exists():
                log(f"[{size:,}] generating {path.name} ...")
                started = time.perf_counter()
                generate.ensure_campaign(size, cache_dir=cache_dir)
                log(f"[{size:,}] generated in {time.perf_counter() - started:.1f} s")
            file_mb = path.stat().st_size / 1e6
            log(f"[{size:,}] planner (library, per stage) ...")
            explain = explain_up_to is not None and size <= explain_up_to
            rec = run_planner(path, size, workdir, timeout, time_limit, explain)
            rec["input_mb"] = file_mb
            records.append(rec)
            log("    " + _one_line(rec))
            if skip_cli_above is None or size <= skip_cli_above:
                log(f"[{size:,}] planner plan (CLI, end to end) ...")
                rec = run_cli(path, size, workdir, timeout, time_limit)
                rec["input_mb"] = file_mb
                records.append(rec)
                log("    " + _one_line(rec))
            if skip_baseline_above is None or size <= skip_baseline_above:
                log(f"[{size:,}] naive baseline ...")
                rec = run_naive(path, size, timeout, time_limit)
                rec["input_mb"] = file_mb
                records.append(rec)
                log("    " + _one_line(rec))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return records


def _one_line(rec: dict) -> str:
    state = "ok" if rec["ok"] else f"FAILED ({rec.get('error', '')})"
    value = f"value {rec['value']:,.0f}" if rec.get("value") is not None else "no value"
    return (f"{rec['tool']}: {state}, {rec['wall']:.1f} s wall, {rec['cpu']:.1f} s CPU, "
            f"peak {rec['peak_rss_mb']:,.0f} MB, {value}, {rec.get('describe') or rec.get('status') or ''}")


# --------------------------------------------------------------------------------------
# The sweep benchmark
# --------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def parse_budgets(text: str) -> list:
    if ":" in text:
        start, stop, step = (float(p) for p in text.split(":"))
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        return [start + k * step for k in range(count)]
    return [float(p) for p in text.split(",") if p.strip()]


def _sweep_values(stdout: str) -> dict:
    """Budget -> engagement (None without a plan) from the sweep's summary table.

    Rows end in ``budget spend engagement creators  status``; the scenario
    name before them may itself look like a number (``$20,000``).
    """
    values = {}
    row = re.compile(r"([\d,]+)\s+([\d,.]+|-)\s+([\d,.]+|-)\s+([\d,]+|-)\s{2}[A-Za-z]")
    for line in stdout.splitlines():
        match = row.search(line)
        if match:
            budget = float(match.group(1).replace(",", ""))
            engagement = match.group(3)
            values[budget] = None if engagement == "-" else float(engagement.replace(",", ""))
    return values


def sweep_benchmark(name, path, budgets_text, gap, timeout, log, workers_one=True) -> dict:
    budgets = parse_budgets(budgets_text)
    workdir = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    result = {"name": name, "input": str(path), "budgets": budgets_text, "count": len(budgets), "gap": gap,
              "date": _now(), "cores": os.cpu_count()}
    try:
        sweep_cmd = [PY, "-m", "planner.cli", "sweep", str(path), "-o", str(workdir / "sweep.xlsx"),
                     "--budgets", budgets_text, "--gap", str(gap)]
        script = shutil.which("script")
        if script:
            log(f"[{name}] planner sweep of {len(budgets)} budgets on a pseudo-terminal (script) ...")
            run = measure([script, "-qec", shlex.join(sweep_cmd), "/dev/null"], timeout)
            result["sweep_tty"] = True
        else:
            log(f"[{name}] planner sweep of {len(budgets)} budgets (no `script`: no terminal) ...")
            run = measure(sweep_cmd, timeout)
            result["sweep_tty"] = False
        text = _ANSI.sub("", run["stdout"] + run["stderr"])
        pieces = [p.strip() for p in re.split(r"[\r\n]", text) if "Planning scenarios" in p]
        result["progress_lines"] = _pick_progress(pieces)
        result["sweep"] = _summary(run)
        values = _sweep_values(text)
        log(f"    sweep: rc {run['returncode']}, {run['wall']:.1f} s, peak {run['peak_rss_mb']:,.0f} MB "
            f"(main process or largest worker), {len(pieces)} progress-bar updates")

        if workers_one:
            log(f"[{name}] planner sweep --workers 1 ...")
            cmd = sweep_cmd[:]
            cmd[cmd.index(str(workdir / "sweep.xlsx"))] = str(workdir / "sweep1.xlsx")
            run = measure(cmd + ["--workers", "1"], timeout)
            result["sweep_workers_1"] = _summary(run)
            log(f"    sweep --workers 1: rc {run['returncode']}, {run['wall']:.1f} s")

        # A sweep does not run the explain re-solves `planner plan` runs by default: compare like with like.
        helptext = subprocess.run([PY, "-m", "planner.cli", "plan", "--help"], capture_output=True, text=True).stdout
        extra = ["--no-explain"] if "--no-explain" in helptext else []
        result["plan_args"] = extra
        log(f"[{name}] {len(budgets)} separate planner plan runs {' '.join(extra)} ...")
        runs, separate_values = [], {}
        started = time.perf_counter()
        for budget in budgets:
            cmd = [PY, "-m", "planner.cli", "plan", str(path), "-o", str(workdir / "plan.xlsx"),
                   "--budget", f"{budget:.0f}", "--gap", str(gap)] + extra
            run = measure(cmd, timeout)
            match = re.search(r"engagement:\s+([\d,.]+)", run["stdout"])
            separate_values[budget] = float(match.group(1).replace(",", "")) if match else None
            runs.append({"budget": budget, "returncode": run["returncode"], "wall": run["wall"],
                         "cpu": run["cpu"], "peak_rss_mb": run["peak_rss_mb"]})
        total = time.perf_counter() - started
        codes = {}
        for r in runs:
            codes[str(r["returncode"])] = codes.get(str(r["returncode"]), 0) + 1
        result["separate"] = {
            "wall": total, "cpu": sum(r["cpu"] for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "exit_codes": codes,
            "mean_wall": total / len(runs), "runs": runs,
        }
        log(f"    separate runs: {total:.1f} s in all, exit codes {codes}")
        diffs = []
        for budget, value in separate_values.items():
            other = values.get(budget)
            if value and other:
                diffs.append(abs(value - other) / max(value, other))
        result["value_check"] = {
            "compared": len(diffs),
            "max_rel_diff": max(diffs) if diffs else None,
            "sweep_plans": sum(1 for v in values.values() if v),
            "separate_plans": sum(1 for v in separate_values.values() if v),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _pick_progress(pieces: list) -> list:
    """A few representative progress-bar states: first, middle, last."""
    if not pieces:
        return []
    picks = [pieces[0], pieces[len(pieces) // 2], pieces[-1]]
    out = []
    for p in picks:
        if p not in out:
            out.append(p)
    return out


def _summary(run: dict) -> dict:
    out = {k: run[k] for k in ("returncode", "timed_out", "wall", "cpu", "peak_rss_mb", "load_before", "load_after")}
    if run["returncode"] != 0:
        out["error"] = " | ".join((run["stderr"] or run["stdout"]).strip().splitlines()[-3:])
    return out


# --------------------------------------------------------------------------------------
# Results store and report
# --------------------------------------------------------------------------------------


def load_store(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"runs": [], "sweeps": [], "machine": None}


def merge(store: dict, records: list, sweeps: list, machine: dict) -> dict:
    keep = {(r["size"], r["tool"]): r for r in store.get("runs", [])}
    for r in records:
        r["machine"] = machine
        keep[(r["size"], r["tool"])] = r
    store["runs"] = sorted(keep.values(), key=lambda r: (r["size"], r["tool"]))
    old = {s["name"]: s for s in store.get("sweeps", [])}
    for s in sweeps:
        s["machine"] = machine
        old[s["name"]] = s
    store["sweeps"] = list(old.values())
    store["machine"] = machine
    return store


def _fmt_s(x) -> str:
    if x is None:
        return "–"
    if x < 10:
        return f"{x:.2f}"
    if x < 100:
        return f"{x:.1f}"
    return f"{x:,.0f}"


def _fmt_mb(x) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _fmt_gap(rec) -> str:
    gap = rec.get("gap")
    if gap is None:
        return "–"
    return f"{gap:.4%}"


def _size_label(n: int) -> str:
    if n >= 1_000_000 or n == generate.MAX_CREATORS:
        return f"{n / 1e6:.2f}M".replace(".00M", "M") if n % 1_000_000 else f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def machine_lines(machine: dict) -> list:
    v = machine.get("versions", {})
    return [
        f"- Machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('ram_gb')} GB RAM, "
        f"{machine.get('os')}",
        f"- Python {machine.get('python')}; " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- Commit: {machine.get('commit')}; planner + models sources sha256 {machine.get('source_sha256')}",
    ]


def scale_section(store: dict, chart_name: str | None) -> str:
    runs = store["runs"]
    by = {}
    for r in runs:
        by.setdefault(r["size"], {})[r["tool"]] = r
    sizes = sorted(by)
    lines = ["## Scaling: planner vs naive baseline", ""]
    machine = store.get("machine") or {}
    lines += machine_lines(machine)
    dates = sorted({r["date"][:16].replace("T", " ") for r in runs})
    if dates:
        lines.append(f"- Runs finished {dates[0]} … {dates[-1]} (each size's newest run; the load average before and "
                     "after each run is in results.json)")
    sources = {}
    for r in runs:
        m = r.get("machine") or {}
        sources.setdefault((m.get("commit"), m.get("source_sha256")), set()).add(r["size"])
    if len(sources) > 1:
        lines.append("- Planner code per size (the tree was being edited while the benchmark ran): " + "; ".join(
            f"{', '.join(_size_label(n) for n in sorted(ns))}: commit {c}, sources {h}"
            for (c, h), ns in sources.items()))
    lines += [
        "- Campaign: `bench/generate.py` (8 niches, niche + tier share rules, niche min creators, "
        "per-creator cap ≈ $10k, "
        "budget max($50k, $75 × N), one post per creator); planner with its defaults (HiGHS, gap 0.01 %); "
        "naive baseline with CBC, gapRel 1e-4.",
        "- Wall seconds. Peak memory: planner = peak RSS of its process (HiGHS runs in it; `os.wait4` rusage); "
        "naive = peak RSS of the Python process + peak RSS (VmHWM, polled) of the CBC process it waits for.",
        "",
        "### Planner, per stage (library, one subprocess per size)",
        "",
        "| creators | read | validate | build | solve | check | explain | write | total | total w/o explain | CPU "
        "| peak MB | CLI end-to-end | CLI peak MB | plan value | status |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n in sizes:
        p, c = by[n].get("planner"), by[n].get("planner-cli")
        if p is None:
            continue
        t = p.get("timings") or {}
        cells = [_size_label(n)] + [_fmt_s(t.get(s)) for s in PLANNER_STAGES]
        cells += [_fmt_s(p["wall"]), _fmt_s(core_wall(p)), _fmt_s(p["cpu"]), _fmt_mb(p["peak_rss_mb"])]
        if c:
            cells += [_fmt_s(c["wall"]) + ("" if c["ok"] else " ✗"), _fmt_mb(c["peak_rss_mb"])]
        else:
            cells += ["not run", "–"]
        cells += [f"{p['value']:,.0f}" if p.get("value") is not None else "–"]
        status = p.get("describe") or p.get("status") or ""
        if not p["ok"]:
            status = f"**failed**: {p.get('error', '')}"
        cells.append(status)
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "`total` is the subprocess wall time (includes ~1–2 s of imports and the pre-check); stage columns come from "
        "`read_input`, `validate`, `make_plan(...).timings`, `explain_plan` "
        "(the re-solves `planner plan` runs by default "
        "to price binding rules; – = not run) and `build_workbook` + `save_atomically`. "
        "`CLI end-to-end` is `planner plan IN -o OUT` with its defaults (explain included).",
        "",
        "### Naive baseline (pandas.read_excel + one PuLP variable per creator + CBC)",
        "",
        "| creators | read | build | solve | total | CPU | peak MB (python + CBC) | python | CBC | plan value "
        "| CBC gap | status | naive ÷ planner time (w/o explain) | planner value − naive |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for n in sizes:
        b, p = by[n].get("naive"), by[n].get("planner")
        if b is None:
            continue
        t = b.get("timings") or {}
        cells = [_size_label(n)] + [_fmt_s(t.get(s)) for s in NAIVE_STAGES]
        cells += [_fmt_s(b["wall"]), _fmt_s(b["cpu"]), _fmt_mb(b["peak_rss_mb"]), _fmt_mb(b.get("peak_rss_python_mb")),
                  _fmt_mb(b.get("peak_rss_solver_mb"))]
        cells += [f"{b['value']:,.0f}" if b.get("value") is not None else "–", _fmt_gap(b)]
        cells.append((b.get("solution_status") or b.get("status") or "") if b["ok"]
                     else f"**failed**: {b.get('error', '')}")
        if p and p["ok"] and b["ok"]:
            cells.append(f"{b['wall'] / core_wall(p):.1f}×")
            if p.get("value") is not None and b.get("value") is not None:
                diff = (p["value"] - b["value"]) / b["value"]
                cells.append(f"{diff:+.4%}")
            else:
                cells.append("–")
        else:
            cells += ["–", "–"]
        lines.append("| " + " | ".join(cells) + " |")
    skipped = [n for n in sizes if "naive" not in by[n]]
    if skipped:
        lines.append("")
        lines.append("Baseline not run for: " + ", ".join(_size_label(n) for n in skipped)
                     + " (`--skip-baseline-above`).")
    lines += ["", "### Chart", ""]
    if chart_name:
        lines += [f"![time and memory against creators]({chart_name})", ""]
    lines += text_chart(by, sizes)
    return "\n".join(lines) + "\n"


def core_wall(rec: dict) -> float:
    """Wall seconds of a planner library run without its explain stage (what the baseline does)."""
    explain = (rec.get("timings") or {}).get("explain") or 0.0
    return rec["wall"] - explain


def text_chart(by: dict, sizes: list) -> list:
    """Bars on a log scale (one █ per factor of ~1.26, i.e. 10 per decade)."""
    series = []
    for n in sizes:
        for tool, label in (("planner", "planner"), ("naive", "naive  ")):
            r = by[n].get(tool)
            if r:
                series.append((n, label, core_wall(r), r["peak_rss_mb"], r["ok"]))
    if not series:
        return []

    def bar(value, floor):
        return "█" * max(1, int(round(10 * math.log10(max(value, floor) / floor))) + 1)

    out = ["```", "wall time without explain (log scale, 10 blocks per decade from 0.1 s)"]
    for n, label, wall, _, ok in series:
        out.append(f"{_size_label(n):>6} {label} {bar(wall, 0.1):<45} {_fmt_s(wall)} s{'' if ok else ' (failed)'}")
    out.append("")
    out.append("peak memory (log scale, 10 blocks per decade from 10 MB)")
    for n, label, _, mb, ok in series:
        out.append(f"{_size_label(n):>6} {label} {bar(mb, 10):<45} {_fmt_mb(mb)} MB{'' if ok else ' (failed)'}")
    out.append("```")
    return out


def svg_chart(store: dict) -> str:
    """Two log-log panels (wall seconds, peak MB) against creators, drawn by hand."""
    runs = [r for r in store["runs"] if r.get("wall") is not None]
    tools = (("planner", "planner (library, without explain)", "#1f77b4"),
             ("planner-cli", "planner plan (CLI)", "#2ca02c"),
             ("naive", "naive pandas + PuLP + CBC", "#d62728"))
    width, height, pad_l, pad_r, pad_t, pad_b, gapx = 960, 400, 70, 20, 50, 60, 80
    panel_w = (width - pad_l - pad_r - gapx) / 2
    panel_h = height - pad_t - pad_b
    sizes = sorted({r["size"] for r in runs}) or [1000]
    x_lo = min(10 ** math.floor(math.log10(min(sizes))), min(sizes) / 1.3)
    x_hi = max(sizes) * 1.3
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>']

    def panel(index, key, title, unit):
        x0 = pad_l + index * (panel_w + gapx)
        values = [r[key] for r in runs if r.get(key)]
        if not values:
            return
        y_lo = 10 ** math.floor(math.log10(min(values)))
        y_hi = 10 ** math.ceil(math.log10(max(values) * 1.01))

        def px(x):
            return x0 + (math.log10(x) - math.log10(x_lo)) / (math.log10(x_hi) - math.log10(x_lo)) * panel_w

        def py(y):
            return (pad_t + panel_h
                    - (math.log10(y) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo)) * panel_h)

        parts.append(f'<text x="{x0 + panel_w / 2}" y="{pad_t - 20}" text-anchor="middle" '
                     f'font-size="14">{title}</text>')
        parts.append(f'<rect x="{x0}" y="{pad_t}" width="{panel_w}" height="{panel_h}" fill="none" stroke="#333"/>')
        d = 10 ** math.ceil(math.log10(x_lo) - 1e-9)
        while d <= x_hi:
            x = px(d)
            parts.append(f'<line x1="{x:.1f}" y1="{pad_t}" x2="{x:.1f}" y2="{pad_t + panel_h}" stroke="#ddd"/>')
            parts.append(f'<text x="{x:.1f}" y="{pad_t + panel_h + 16}" text-anchor="middle">'
                         f'{_size_label(int(d))}</text>')
            d *= 10
        parts.append(f'<text x="{x0 + panel_w / 2}" y="{pad_t + panel_h + 36}" text-anchor="middle">creators</text>')
        d = y_lo
        while d <= y_hi * 1.0001:
            y = py(d)
            label = f"{d:g}"
            parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" stroke="#ddd"/>')
            parts.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
            d *= 10
        parts.append(f'<text x="{x0 - 50}" y="{pad_t + panel_h / 2}" text-anchor="middle" '
                     f'transform="rotate(-90 {x0 - 50} {pad_t + panel_h / 2})">{unit}</text>')
        for tool, _, colour in tools:
            pts = sorted((r["size"], core_wall(r) if key == "wall" else r[key], r["ok"])
                         for r in runs if r["tool"] == tool and r.get(key))
            if not pts:
                continue
            path = " ".join(f"{'M' if k == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for k, (x, y, _) in enumerate(pts))
            parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for x, y, ok in pts:
                fill = colour if ok else "white"
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{fill}" stroke="{colour}"/>')

    panel(0, "wall", "Wall time", "seconds")
    panel(1, "peak_rss_mb", "Peak memory", "MB")
    lx = pad_l
    for k, (_, label, colour) in enumerate(tools):
        x = lx + k * 290
        parts.append(f'<line x1="{x}" y1="{height - 12}" x2="{x + 24}" y2="{height - 12}" stroke="{colour}" '
                     f'stroke-width="2"/>')
        parts.append(f'<text x="{x + 30}" y="{height - 8}">{label}</text>')
    parts.append(f'<text x="{width - pad_r}" y="{height - 8}" text-anchor="end" fill="#666">'
                 'hollow point: failed or timed out</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def sweep_section(store: dict) -> str:
    lines = ["## Sweep: one `planner sweep` against separate `planner plan` runs", ""]
    sweeps = store.get("sweeps", [])
    if not sweeps:
        return ""
    lines += machine_lines(sweeps[-1].get("machine") or store.get("machine") or {})
    lines += [
        "",
        "| campaign | budgets | gap | sweep (default workers, on a terminal) | sweep --workers 1 "
        "| separate `plan` runs | per separate run | CPU s: sweep / --workers 1 / separate "
        "| plans found (sweep / separate) | max value difference | date |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in sweeps:
        sw, s1, sep = s.get("sweep", {}), s.get("sweep_workers_1"), s.get("separate", {})
        vc = s.get("value_check", {})
        sweep_cell = f"{_fmt_s(sw.get('wall'))} s" + (
            "" if sw.get("returncode") == 0 else f" (exit {sw.get('returncode')})")
        s1_cell = "not run" if not s1 else f"{_fmt_s(s1['wall'])} s" + (
            "" if s1["returncode"] == 0 else f" (exit {s1['returncode']})")
        codes = ", ".join(f"exit {k}: {v}" for k, v in sorted(sep.get("exit_codes", {}).items()))
        diff = vc.get("max_rel_diff")
        lines.append(
            f"| {s['name']} | {s['count']} (`{s['budgets']}`) | {s['gap']} | {sweep_cell} | {s1_cell} | "
            f"{_fmt_s(sep.get('wall'))} s ({codes}{'; ' + ' '.join(s['plan_args']) if s.get('plan_args') else ''}) | "
            f"{_fmt_s(sep.get('mean_wall'))} s | "
            f"{_fmt_s(sw.get('cpu'))} / {_fmt_s(s1.get('cpu') if s1 else None)} / {_fmt_s(sep.get('cpu'))} | "
            f"{vc.get('sweep_plans', '–')} / {vc.get('separate_plans', '–')} | "
            f"{'–' if diff is None else f'{diff:.3%}'} | {s['date'][:16].replace('T', ' ')} |"
        )
    lines += ["", "Wall seconds; CPU seconds include the worker processes. "
              "Exit code 3 = the rules cannot all hold at that budget. "
              "Sweep wall time is the whole `planner sweep` command (read, scenarios, write); "
              "`separate` is the sum of the sequential `planner plan --budget B` commands.", ""]
    for s in sweeps:
        if s.get("progress_lines"):
            tty = "under `script -qec` (stderr is a pseudo-terminal)" if s.get("sweep_tty") else "without a terminal"
            lines.append(f"Progress bar of the {s['name']} sweep, {tty}, first / middle / last state captured:")
            lines.append("")
            lines.append("```")
            lines += s["progress_lines"]
            lines.append("```")
            lines.append("")
        elif s.get("sweep_tty"):
            lines += [f"No progress bar line was captured for the {s['name']} sweep.", ""]
    return "\n".join(lines) + "\n"


def replace_section(md_path: Path, name: str, body: str) -> None:
    begin, end = f"<!-- harness:{name}:begin -->", f"<!-- harness:{name}:end -->"
    block = f"{begin}\n{body}{end}\n"
    text = md_path.read_text(encoding="utf-8") if md_path.exists() else (
        "# Benchmark results\n\nSections between `harness:` markers are rewritten by `bench/harness.py`; "
        "text outside them is kept.\n\n")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda m: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------
# Quick mode (CI smoke)
# --------------------------------------------------------------------------------------


def quick(args, log) -> int:
    """Size 500: planner (library) and naive baseline, a few seconds; writes its own section."""
    cache = Path(args.cache_dir) if args.cache_dir else Path(tempfile.mkdtemp(prefix="bench-quick-"))
    try:
        records = scale_benchmark([500], None, 0, args.timeout, cache, args.time_limit, log)
    finally:
        if not args.cache_dir:
            shutil.rmtree(cache, ignore_errors=True)
    machine = machine_info()
    store = merge({"runs": [], "sweeps": []}, records, [], machine)
    by = {r["tool"]: r for r in records}
    p, b = by.get("planner"), by.get("naive")
    ok = bool(p and b and p["ok"] and b["ok"] and p.get("value") is not None and b.get("value") is not None)
    verdict = ok and p["value"] >= b["value"] * (1 - VALUE_TOLERANCE)
    summary = {"quick": True, "ok": ok, "planner_at_least_baseline": verdict,
               "planner_value": p.get("value") if p else None, "baseline_value": b.get("value") if b else None,
               "runs": records, "machine": machine}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    if args.out:
        replace_section(Path(args.out), "quick", scale_section(store, None).replace(
            "## Scaling: planner vs naive baseline", "## Quick check (500 creators)"))
    print(f"planner value: {summary['planner_value']}")
    print(f"baseline value: {summary['baseline_value']}")
    print("planner >= baseline - tolerance: " + ("yes" if verdict else "NO"))
    return 0 if ok else 1


# --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Planner vs naive baseline: time, memory, value, gap.")
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma list of creator counts (1k, 10k, 1M allowed)")
    parser.add_argument("--skip-baseline-above", type=_count, default=None, metavar="N",
                        help="do not run the naive baseline for sizes above N")
    parser.add_argument("--skip-cli-above", type=_count, default=None, metavar="N",
                        help="do not run the end-to-end CLI timing for sizes above N")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="kill any single run after this many seconds (default 1800)")
    parser.add_argument("--time-limit", type=float, help="solver time limit passed to planner and baseline")
    parser.add_argument("--explain-up-to", type=_count, default=100_000, metavar="N",
                        help="time the planner's explain stage for sizes up to N (default 100k; 0 = never)")
    parser.add_argument("--out", type=Path, default=RESULTS_MD,
                        help="results markdown (sections replaced; default bench/RESULTS.md)")
    parser.add_argument("--results-json", type=Path, default=RESULTS_JSON,
                        help="raw results store (default bench/results.json)")
    parser.add_argument("--json-out", type=Path, help="(quick mode) write the run's results as JSON here")
    parser.add_argument("--cache-dir", type=Path,
                        help="where generated workbooks are cached (default bench/.cache; quick: a temp dir)")
    parser.add_argument("--quick", action="store_true",
                        help="CI smoke: 500 creators, planner and baseline, a few seconds")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale benchmark")
    parser.add_argument("--render-only", action="store_true",
                        help="only rewrite RESULTS.md and the chart from the results JSON")
    parser.add_argument("--sweep", action="store_true", help="also run the sweep benchmark")
    parser.add_argument("--sweep-budgets", default="20000:216000:4000",
                        help="budgets for the typical sample's sweep (default: 50 budgets)")
    parser.add_argument("--sweep-generated", type=_count, default=10_000,
                        help="creators in the generated sweep campaign (default 10,000)")
    parser.add_argument("--sweep-generated-budgets", default="255000:750000:5000",
                        help="budgets for the generated campaign's sweep (default: 100 budgets)")
    parser.add_argument("--sweep-gap", type=float, default=0.0001,
                        help="gap per sweep point (default 0.0001, the planner's)")
    parser.add_argument("--no-sweep-typical", action="store_true", help="sweep only the generated campaign")
    parser.add_argument("--no-sweep-workers-1", action="store_true", help="skip the extra `sweep --workers 1` run")
    args = parser.parse_args(argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    if args.quick:
        return quick(args, log)

    cache_dir = args.cache_dir or generate.CACHE_DIR
    machine = machine_info()
    log(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB; load {_load()}")
    records, sweeps = [], []
    if args.render_only:
        args.no_scale, args.sweep = True, False
        machine = load_store(args.results_json).get("machine") or machine
    if not args.no_scale:
        sizes = [_count(s) for s in args.sizes.split(",") if s.strip()]
        records = scale_benchmark(sizes, args.skip_baseline_above, args.skip_cli_above, args.timeout, cache_dir,
                                  args.time_limit, log, args.explain_up_to)
    if args.sweep:
        if not args.no_sweep_typical:
            sweeps.append(sweep_benchmark("typical sample (2,000 creators)", TYPICAL, args.sweep_budgets,
                                          args.sweep_gap, args.timeout, log, not args.no_sweep_workers_1))
        path = generate.ensure_campaign(args.sweep_generated, cache_dir=cache_dir)
        sweeps.append(sweep_benchmark(f"generated {args.sweep_generated:,} creators", path,
                                      args.sweep_generated_budgets, args.sweep_gap, args.timeout, log,
                                      not args.no_sweep_workers_1))

    store = merge(load_store(args.results_json), records, sweeps, machine)
    args.results_json.write_text(json.dumps(store, indent=1, default=str) + "\n", encoding="utf-8")
    chart = None
    if store["runs"]:
        chart_path = args.out.parent / CHART_SVG.name
        chart_path.write_text(svg_chart(store), encoding="utf-8")
        chart = chart_path.name
        replace_section(args.out, "scale", scale_section(store, chart))
    if store.get("sweeps"):
        replace_section(args.out, "sweep", sweep_section(store))
    log(f"results: {args.out} ({args.results_json})")
    failed = [r for r in records if not r["ok"]]
    return 1 if failed else 0


def _count(text: str) -> int:
    text = str(text).strip().lower().replace(",", "").replace("_", "")
    factor = 1
    if text.endswith("k"):
        factor, text = 1000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    value = int(float(text) * factor)
    return value if value <= generate.MAX_CREATORS else generate.MAX_CREATORS


if __name__ == "__main__":
    sys.exit(main())
