#!/usr/bin/env python3
"""Each report writer's cost on a finished case, and whether its bytes are unchanged.

    .venv/bin/python bench/measure_writers.py CASE_DIR [--profile case_jsonld] [--repeat 3]

Opens CASE_DIR's store read-only and runs every writer of `triage scan`
(scan.write_outputs) one after another in this process, into a scratch folder,
timing each (CPU seconds, the clock that a loaded machine does not inflate, and
wall seconds; best of --repeat). Each output is compared byte for byte with the
file of the same name in CASE_DIR, so a speed change that alters a byte shows
as "DIFFERS" (report.html is compared too; run the case with the same code's
writers, or against a case written before a change to check it is unchanged).
--profile NAME prints the cProfile (CPU clock) of that writer.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import cProfile
import filecmp
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from traffick_triage import scan  # noqa: E402
from traffick_triage.store import CaseStore  # noqa: E402

WRITERS = {
    "case_jsonld": scan.write_case_jsonld,
    "html": scan.write_html,
    "timeline": scan.write_timeline,
    "report_json": scan.write_report,
    "dfxml": scan.write_dfxml,
    "csv_tables": scan.write_csv_tables,
    "hashdeep": scan.write_evidence_hashdeep,
    "geo": scan._write_geo,
    "vics": scan.write_vics_export,
}


def _paths(result) -> list[Path]:
    if result is None:
        return []
    if isinstance(result, (list, tuple)):
        return [p for item in result for p in _paths(item)]
    return [Path(result)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", type=Path)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--profile", choices=sorted(WRITERS))
    ap.add_argument("--only", nargs="*", choices=sorted(WRITERS))
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    store = CaseStore(args.case, readonly=True)
    scratch = Path(tempfile.mkdtemp(prefix="outputs-"))
    try:
        print("| writer | CPU s | wall s | outputs | same bytes as the case |")
        print("|---|---|---|---|---|")
        total_cpu = total_wall = 0.0
        for name, writer in WRITERS.items():
            if args.only and name not in args.only:
                continue
            best = (float("inf"), float("inf"))
            for _ in range(args.repeat):
                c0, w0 = time.process_time(), time.perf_counter()
                result = writer(store, scratch)
                best = min(best, (time.process_time() - c0, time.perf_counter() - w0))
            outputs = _paths(result)
            same = all((args.case / p.relative_to(scratch)).exists()
                       and filecmp.cmp(p, args.case / p.relative_to(scratch), shallow=False) for p in outputs)
            total_cpu += best[0]
            total_wall += best[1]
            print(f"| {name} | {best[0]:.2f} | {best[1]:.2f} | {len(outputs)} | {'yes' if same else 'DIFFERS'} |",
                  flush=True)
        print(f"| all, one after another | {total_cpu:.2f} | {total_wall:.2f} | | |")
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(WRITERS[args.profile], store, scratch)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())
    finally:
        store.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
