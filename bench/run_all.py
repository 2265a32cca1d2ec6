#!/usr/bin/env python3
"""Run every benchmark in bench/ one after the other and print all tables
(`make bench` runs this). Each benchmark writes its own section of
bench/RESULTS.md with the command that produced it.

    .venv/bin/python bench/run_all.py            # modest PDQ sizes (1M-entry index, 12 photos)
    .venv/bin/python bench/run_all.py --full     # PDQ index at 10M entries (~8 GB RAM peak for faiss+ours)
    .venv/bin/python bench/run_all.py --only hashing memory

Benchmarks are not tests: nothing here passes or fails, the figures are
printed beside their anchors measured in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def plan(full: bool) -> list[tuple[str, list[str]]]:
    steps = [
        ("hashing", ["bench_hashing.py"]),
        ("hashing-small", ["bench_hashing.py", "--small", "--no-plugins-run"]),
        ("memory", ["bench_memory.py"]),
        ("pdq_decode", ["bench_pdq_decode.py", "--photos", "12"]),
        ("pdq_index", ["bench_pdq_index.py", "--entries", "10000000" if full else "1000000", "--queries", "2000"]),
    ]
    known = {script for _name, (script, *_rest) in steps}
    for extra in sorted(HERE.glob("bench_*.py")):          # a new bench_*.py runs with its defaults
        if extra.name not in known:
            steps.append((extra.stem.removeprefix("bench_"), [extra.name]))
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="PDQ index at 10M entries")
    ap.add_argument("--only", nargs="*", help="run only these (names as printed)")
    args = ap.parse_args()
    failed = []
    for name, (script, *rest) in plan(args.full):
        if args.only and name not in args.only:
            continue
        cmd = [PY, str(HERE / script), *rest]
        print(f"\n=== {name}: {' '.join(['.venv/bin/python', 'bench/' + script, *rest])}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call(cmd, cwd=HERE.parent)
        print(f"=== {name}: exit {code}, {time.perf_counter() - t0:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
