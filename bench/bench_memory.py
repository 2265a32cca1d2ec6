#!/usr/bin/env python3
"""Peak memory of `triage scan` for 2,000 and for 20,000 small files (same size
distribution: log-uniform 100 B .. 200 KB, half text, half binary; seeded).

    .venv/bin/python bench/bench_memory.py [--counts 2000 20000] [--plugins]

The scan runs under `/usr/bin/time -f %M` while this script samples its whole
process tree from /proc every 50 ms. Reported, per run:

  main HWM        VmHWM of the scanning process (its own peak RSS; the number
                  manifest.json's "peak_rss_bytes" should agree with, except
                  that the manifest is taken before the report outputs are
                  written, so output-phase growth is not in it)
  worker HWM      VmHWM of each forked worker process (max of them shown)
  sum of HWM      main + every worker's own peak: an upper bound of the tree's
                  peak (peaks need not coincide; forked workers share
                  copy-on-write pages with the main process, counted in each)
  peak RSS sum    largest summed RSS of the tree seen in one sample
  peak PSS sum    the same with PSS (shared pages split between sharers): the
                  closest to "RAM the scan occupies" at one moment
  time %M         /usr/bin/time's max RSS: the largest single process of the tree

The target: 20,000 files within 10% of 2,000 files (for the tree total, sum of
HWM). Warm cache; --no-plugins unless --plugins.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as B  # noqa: E402

MiB = 1 << 20


def measure(root: Path, case: Path, plugins: bool, workers: int) -> dict:
    B.fresh(case)
    cmd = ["/usr/bin/time", "-f", "%M", B.TRIAGE, "scan", str(root), "-o", str(case)]
    if not plugins:
        cmd.append("--no-plugins")
    if workers:
        cmd += ["--workers", str(workers)]
    m = B.run_measured(cmd, sample_memory=True)
    if m.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({m.returncode}): {m.stderr[-2000:]}")
    time_kb = int(m.stderr.strip().splitlines()[-1])
    hwm = {pid: v for pid, v in m.hwm.items() if v[0] != "time"}
    main_pid = min(hwm, key=lambda p: p)    # the first process `time` started
    workers_hwm = [v for pid, (_n, v) in hwm.items() if pid != main_pid]
    time_proc = [v for _pid, (n, v) in m.hwm.items() if n == "time"]
    manifest = json.loads((case / "manifest.json").read_text())
    return {
        "seconds": m.seconds, "samples": m.samples,
        "main_hwm": hwm[main_pid][1], "workers": len(workers_hwm),
        "worker_hwm_max": max(workers_hwm, default=0),
        "hwm_sum": sum(v for _n, v in hwm.values()),
        "rss_sum": m.peak_rss_sum - (time_proc[0] if time_proc else 0),   # `time` itself ~2 MB; approx.
        "pss_sum": m.peak_pss_sum,
        "time_max": time_kb * 1024,
        "manifest": manifest.get("peak_rss_bytes"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", type=int, nargs=2, default=[2000, 20000])
    ap.add_argument("--plugins", action="store_true", help="run the plugins too")
    ap.add_argument("--workers", type=int, default=0, help="triage --workers (0: its default, all cores)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    trees = [B.build_tree(B.small_only(n)) for n in args.counts]
    B.warm(trees)
    load_before = B.loadavg()
    results = []
    for n, root in zip(args.counts, trees):
        files, size = B.tree_stats(root)
        r = measure(root, B.WORK / "cases" / f"mem-{n}", args.plugins, args.workers)
        r.update(files=files, size=size)
        results.append(r)
    load_after = B.loadavg()

    def mib(v) -> str:
        return "-" if v is None else f"{v / MiB:,.1f}"

    rows = []
    for n, r in zip(args.counts, results):
        rows.append([f"{r['files']:,}", f"{r['size'] / B.MB:,.0f}", f"{r['seconds']:.1f}", mib(r["main_hwm"]),
                     mib(r["manifest"]), f"{r['workers']} x <= {mib(r['worker_hwm_max'])}", mib(r["hwm_sum"]),
                     mib(r["rss_sum"]), mib(r["pss_sum"]), mib(r["time_max"])])
    a, b = results
    ratio_rows = []
    for label, key in [("sum of HWM (main + workers)", "hwm_sum"), ("main HWM", "main_hwm"),
                       ("worker HWM (max)", "worker_hwm_max"), ("peak PSS sum", "pss_sum"),
                       ("manifest peak_rss_bytes", "manifest")]:
        if a[key] and b[key]:
            r = b[key] / a[key]
            target = "<= 1.10" if key == "hwm_sum" else ""
            verdict = ("met" if r <= 1.10 else "MISSED") if key == "hwm_sum" else ""
            ratio_rows.append([label, f"{r:.3f}", target, verdict])
    agree = [f"{r['files']:,} files: manifest {mib(r['manifest'])} vs sampled main HWM {mib(r['main_hwm'])} MiB"
             for r in results]
    tbl = B.table(["files", "MB", "s", "main HWM MiB", "manifest peak_rss MiB", "child processes HWM MiB",
                   "sum of HWM MiB", "peak RSS sum MiB", "peak PSS sum MiB", "time %M MiB"], rows)
    rtbl = B.table([f"ratio {args.counts[1]:,} / {args.counts[0]:,} files", "measured", "target", ""], ratio_rows)
    header = (f"Machine: {B.machine_line()}; load average before {load_before}, after {load_after}. "
              f"{'All plugins' if args.plugins else '--no-plugins'}, default workers, warm cache, "
              f"/proc sampled every 50 ms ({', '.join(str(r['samples']) for r in results)} samples).")
    print()
    print(header)
    print()
    print(tbl)
    print()
    print(rtbl)
    print()
    print("manifest vs sampled: " + "; ".join(agree))
    if not args.no_write:
        command = ".venv/bin/python bench/bench_memory.py" + (" --plugins" if args.plugins else "")
        body = (f"## Scan memory, {args.counts[0]:,} vs {args.counts[1]:,} small files (bench/bench_memory.py)\n\n"
                f"Command: `{command}` (also run by `make bench`). Measured "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n{header}\n\n{tbl}\n\n{rtbl}\n\n"
                "Manifest vs sampled: " + "; ".join(agree) + ".\n\n"
                "What was measured: main HWM = VmHWM of the scanning process; child processes = VmHWM of each "
                "process the scan started (the forked pool workers; a replaced worker counts too); sum of HWM = main + workers (upper bound of the tree's peak, copy-on-write pages "
                "shared after fork counted in each); peak RSS/PSS sum = the largest tree total seen in one "
                "50 ms sample (PSS splits shared pages); time %M = /usr/bin/time, the largest single process. "
                "manifest.json's peak_rss_bytes is getrusage(RUSAGE_SELF) of the main process taken before "
                "the report outputs are written: it excludes the workers and the output phase.\n")
        B.write_section("bench_memory_plugins" if args.plugins else "bench_memory", body)
        print(f"(written to {B.RESULTS.relative_to(B.REPO)})")


if __name__ == "__main__":
    main()
