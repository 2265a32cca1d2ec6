#!/usr/bin/env python3
"""Peak memory of `triage scan` for 2,000 and for 20,000 small files (same size
distribution: log-uniform 100 B .. 200 KB, half text, half binary; seeded),
and, with the plugins, for a phone folder whose mmssms.db holds 5,000 and
50,000 SMS (the findings grow tenfold, the files do not).

    .venv/bin/python bench/bench_memory.py [--counts 2000 20000] [--plugins]
                                           [--messages 5000 50000] [--only files|findings]

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

The target: 20,000 files within 10% of 2,000 files, and 50,000 messages within
10% of 5,000 (for the tree total, sum of HWM). Warm cache; the files comparison
runs --no-plugins unless --plugins, the findings comparison always with plugins.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
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


SMS_DB = "data/data/com.android.providers.telephony/databases/mmssms.db"


def build_phone(messages: int) -> Path:
    """A phone folder whose mmssms.db (the schema the android_mmssms plugin
    reads, written by the demo's builder) holds ``messages`` SMS: one finding
    each, plus the identifiers and keywords in their bodies. Seeded; reused
    when already built."""
    from traffick_triage.demo.android import _sms_db

    root = B.WORK / f"phone-{messages}"
    stamp = B.WORK / f"phone-{messages}.stamp"
    if root.is_dir() and stamp.exists():
        return root
    B.fresh(root)
    (root / SMS_DB).parent.mkdir(parents=True)
    rng = random.Random(messages)
    numbers = [f"+9655{rng.randrange(10 ** 7):07d}" for _ in range(500)]
    phrases = ("high salary", "visa provided", "see you at the hotel", "send the passport", "call me", "ok")
    rows = []
    for index in range(messages):
        body = f"{rng.choice(phrases)} {rng.choice(numbers) if index % 3 == 0 else ''} message {index}"
        rows.append((rng.choice(numbers), 1_700_000_000_000 + index * 61_000, body, 1 + index % 2))
    _sms_db(root / SMS_DB, rows)
    stamp.write_text("built\n")
    return root


def findings_comparison(counts: list[int], workers: int, write: bool) -> None:
    """The same scan (with plugins) of a phone whose database holds N and 10N
    messages: peak memory must not follow the number of findings."""
    phones = [build_phone(n) for n in counts]
    B.warm(phones)
    load_before = B.loadavg()
    results = []
    for n, root in zip(counts, phones):
        r = measure(root, B.WORK / "cases" / f"mem-sms-{n}", True, workers)
        with sqlite3.connect(B.WORK / "cases" / f"mem-sms-{n}" / "case.sqlite") as db:
            r["findings"] = db.execute("SELECT COUNT(*) FROM findings").fetchone()[0]
        results.append(r)
    load_after = B.loadavg()
    rows = [[f"{n:,}", f"{r['findings']:,}", f"{r['seconds']:.1f}", mib(r["main_hwm"]), mib(r["manifest"]),
             f"{r['workers']} x <= {mib(r['worker_hwm_max'])}", mib(r["hwm_sum"]), mib(r["pss_sum"]),
             mib(r["time_max"])] for n, r in zip(counts, results)]
    tbl = B.table(["SMS in mmssms.db", "findings", "s", "main HWM MiB", "manifest peak_rss MiB",
                   "child processes HWM MiB", "sum of HWM MiB", "peak PSS sum MiB", "time %M MiB"], rows)
    rtbl = B.table([f"ratio {counts[1]:,} / {counts[0]:,} messages", "measured", "target", ""],
                   ratio_rows(*results))
    header = (f"Machine: {B.machine_line()}; load average before {load_before}, after {load_after}. "
              f"All plugins, default workers, warm cache, /proc sampled every 50 ms "
              f"({', '.join(str(r['samples']) for r in results)} samples). One folder per row holding only "
              f"{SMS_DB} (synthetic, seeded).")
    B.show(header, tbl, rtbl)
    if write:
        body = (f"## Scan memory, {counts[0]:,} vs {counts[1]:,} SMS in one phone database "
                f"(bench/bench_memory.py)\n\n"
                f"Command: `.venv/bin/python bench/bench_memory.py --only findings` (also run by `make bench`). "
                f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n{header}\n\n{tbl}\n\n{rtbl}\n\n"
                "The findings grow tenfold (one per message, plus the identifiers and keyword hits in their "
                "bodies) while the files do not: what grows here grows with the findings. Columns as in the "
                "files comparison above.\n")
        B.write_section("bench_memory_findings", body)
        print(f"(written to {B.RESULTS.relative_to(B.REPO)})")


def mib(v) -> str:
    return "-" if v is None else f"{v / MiB:,.1f}"


def ratio_rows(a: dict, b: dict) -> list[list[str]]:
    """b / a for each measure; the target (10%) is on the tree's total."""
    rows = []
    for label, key in [("sum of HWM (main + workers)", "hwm_sum"), ("main HWM", "main_hwm"),
                       ("worker HWM (max)", "worker_hwm_max"), ("peak PSS sum", "pss_sum"),
                       ("manifest peak_rss_bytes", "manifest")]:
        if a[key] and b[key]:
            r = b[key] / a[key]
            target = "<= 1.10" if key == "hwm_sum" else ""
            verdict = ("met" if r <= 1.10 else "MISSED") if key == "hwm_sum" else ""
            rows.append([label, f"{r:.3f}", target, verdict])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", type=int, nargs=2, default=[2000, 20000])
    ap.add_argument("--plugins", action="store_true", help="run the plugins too")
    ap.add_argument("--workers", type=int, default=0, help="triage --workers (0: its default, all cores)")
    ap.add_argument("--messages", type=int, nargs=2, default=[5000, 50000],
                    help="SMS in the phone database of the findings comparison")
    ap.add_argument("--only", choices=["files", "findings"], help="run one comparison (default: both)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.only != "findings":
        files_comparison(args)
    if args.only != "files":
        findings_comparison(args.messages, args.workers, not args.no_write)


def files_comparison(args: argparse.Namespace) -> None:
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

    rows = []
    for n, r in zip(args.counts, results):
        rows.append([f"{r['files']:,}", f"{r['size'] / B.MB:,.0f}", f"{r['seconds']:.1f}", mib(r["main_hwm"]),
                     mib(r["manifest"]), f"{r['workers']} x <= {mib(r['worker_hwm_max'])}", mib(r["hwm_sum"]),
                     mib(r["rss_sum"]), mib(r["pss_sum"]), mib(r["time_max"])])
    agree = [f"{r['files']:,} files: manifest {mib(r['manifest'])} vs sampled main HWM {mib(r['main_hwm'])} MiB"
             for r in results]
    tbl = B.table(["files", "MB", "s", "main HWM MiB", "manifest peak_rss MiB", "child processes HWM MiB",
                   "sum of HWM MiB", "peak RSS sum MiB", "peak PSS sum MiB", "time %M MiB"], rows)
    rtbl = B.table([f"ratio {args.counts[1]:,} / {args.counts[0]:,} files", "measured", "target", ""],
                   ratio_rows(*results))
    header = (f"Machine: {B.machine_line()}; load average before {load_before}, after {load_after}. "
              f"{'All plugins' if args.plugins else '--no-plugins'}, default workers, warm cache, "
              f"/proc sampled every 50 ms ({', '.join(str(r['samples']) for r in results)} samples).")
    B.show(header, tbl, rtbl)
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
