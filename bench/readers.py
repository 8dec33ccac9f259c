"""Readers of the Creators sheet at scale: the planner's own against the libraries it could use.

    python bench/readers.py WORKBOOK [WORKBOOK ...] [--python OTHER_PYTHON]

Each reader runs in its own fresh process, twice (the lower time is kept), timing only the read
(imports are done before the clock starts); peak memory is that process's ``ru_maxrss``. The
workbooks come from ``bench/generate.py N --out PATH``. Readers whose library is not installed in
the interpreter are skipped; ``--python`` runs them with another interpreter too (e.g. a venv with
fastexcel and pyarrow, which the planner does not depend on). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: mode -> (what it is, the code run in the child; ``path`` is the workbook).
READERS = {
    "planner_raw": ("planner: guard + reader, raw cells of every planner sheet",
                    "from planner.workbook import read_input as r\nwork = lambda: r(path)"),
    "planner_validated": ("planner: read + validate to typed columns",
                          "from planner.api import read_workbook as r\nwork = lambda: r(path)"),
    "calamine": ("python-calamine to_python + DataFrame",
                 "from python_calamine import CalamineWorkbook as W\nimport pandas as pd\n"
                 "def work():\n    rows = W.from_path(path).get_sheet_by_name('Creators').to_python()\n"
                 "    return pd.DataFrame(rows[1:], columns=rows[0])"),
    "pandas_calamine": ("pandas.read_excel(engine='calamine')",
                        "import pandas as pd, python_calamine\n"
                        "work = lambda: pd.read_excel(path, sheet_name='Creators', engine='calamine')"),
    "fastexcel_pandas": ("fastexcel load_sheet + to_pandas (needs pyarrow)",
                         "import fastexcel, pyarrow\n"
                         "work = lambda: fastexcel.read_excel(path).load_sheet_by_name('Creators').to_pandas()"),
    "fastexcel_text": ("fastexcel, every column as text (no silent NaN) + to_pandas",
                       "import fastexcel, pyarrow\nwork = lambda: fastexcel.read_excel(path).load_sheet_by_name("
                       "'Creators', dtypes='string').to_pandas()"),
}

CHILD = """
import json, resource, sys, time
path = sys.argv[1]
{code}
start = time.perf_counter()
work()
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(python: str, mode: str, path: Path):
    """(seconds, peak MB) of the better of two runs, or None when the reader cannot run there."""
    runs = []
    for _ in range(2):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run([python, "-c", CHILD.format(code=READERS[mode][1]), str(path)], capture_output=True,
                              text=True, env=env)
        if done.returncode != 0:
            return None
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    return best["seconds"], max(r["peak_mb"] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbooks", nargs="+", type=Path)
    parser.add_argument("--python", action="append", default=[], help="another interpreter to run readers with")
    args = parser.parse_args()
    pythons = [sys.executable] + args.python
    print(f"load before: {os.getloadavg()}")
    header = "| reader | " + " | ".join(f"{p.name} s | {p.name} peak MB" for p in args.workbooks) + " |"
    print(header)
    print("|---|" + "---:|---:|" * len(args.workbooks))
    for mode, (words, _) in READERS.items():
        for python in pythons:
            cells = [measure(python, mode, path) for path in args.workbooks]
            if all(c is None for c in cells):
                continue
            shown = " | ".join("–  | –" if c is None else f"{c[0]:.2f} | {c[1]:,.0f}" for c in cells)
            print(f"| {words} | {shown} |", flush=True)
            break
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
