#!/usr/bin/env python3
"""Where the default scan's time goes, per plugin, against the inventory's cost per file.

    .venv/bin/python bench/profile_plugins.py                 # the 10k bench tree, all plugins
    .venv/bin/python bench/profile_plugins.py --tree tree-20k --skip identifiers
    .venv/bin/python bench/profile_plugins.py --evidence SOME/FOLDER --top 30

Runs `triage scan EVIDENCE -o CASE --workers 1` in this process under cProfile
with a CPU-time clock (time.process_time: on a shared, loaded machine wall
time would charge other processes' time to whatever was running), so every
file's hashing, typing and plugins run in the profiled process. The report
outputs run in forked lanes and are not in this profile (measure_writers.py
times them). Prints, in CPU ms per file:

  inventory    reading, hashing, libmagic typing, choosing the plugins and the
               row (process_entry minus the plugins), per file of the tree
  <plugin>     run_plugin (the host and the plugin), per file it ran on

and the top functions by own time. A plugin costing more per file than the
inventory per file is what issue 19 asks to fix (keywords/identifiers excepted:
another piece of work). Not a benchmark of wall time; not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as B  # noqa: E402


class _PluginClock:
    """Counts files and CPU seconds per plugin, and for process_entry as a whole,
    by wrapping the two functions the walk calls (in this process only)."""

    def __init__(self) -> None:
        self.plugin: dict[str, list[float]] = {}
        self.entries = [0, 0.0]

    def install(self) -> None:
        from traffick_triage import engine, entry_processing

        run_plugin, process_entry = entry_processing.run_plugin, entry_processing.process_entry

        def timed_run_plugin(plugin, *args, **kwargs):
            t0 = time.process_time()
            try:
                return run_plugin(plugin, *args, **kwargs)
            finally:
                slot = self.plugin.setdefault(plugin.NAME, [0, 0.0])
                slot[0] += 1
                slot[1] += time.process_time() - t0

        def timed_process_entry(*args, **kwargs):
            t0 = time.process_time()
            try:
                return process_entry(*args, **kwargs)
            finally:
                self.entries[0] += 1
                self.entries[1] += time.process_time() - t0

        entry_processing.run_plugin = timed_run_plugin
        for module in (engine, entry_processing):
            if getattr(module, "process_entry", None) is process_entry:
                module.process_entry = timed_process_entry


def profile_scan(evidence: Path, extra: list[str], clock: _PluginClock,
                 profiled: bool = True) -> tuple[pstats.Stats | None, float]:
    from traffick_triage import cli

    clock.install()
    case = Path(tempfile.mkdtemp(prefix="profile-case-")) / "case"
    argv = ["triage", "scan", str(evidence), "-o", str(case), "--workers", "1", "-q", *extra]
    profiler = cProfile.Profile(time.process_time)
    old = sys.argv
    sys.argv = argv
    t0 = time.perf_counter()
    try:
        if profiled:
            profiler.runcall(cli.main)
        else:
            cli.main()
    except SystemExit:
        pass
    finally:
        sys.argv = old
    wall = time.perf_counter() - t0
    shutil.rmtree(case.parent, ignore_errors=True)
    return (pstats.Stats(profiler) if profiled else None), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", default="tree-10k", choices=("tree-10k", "tree-20k"))
    ap.add_argument("--evidence", type=Path, help="profile this folder instead of a bench tree")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--no-cprofile", action="store_true",
                    help="only the per-plugin CPU clocks: cProfile inflates Python-heavy code "
                         "(many small calls) several times more than C-heavy code")
    ap.add_argument("--skip", action="append", default=[], help="plugin not to run (repeatable)")
    args = ap.parse_args()
    evidence = args.evidence or B.build_tree(B.SMALL if args.tree == "tree-10k" else B.FULL)
    extra = [arg for name in args.skip for arg in ("--skip", name)]
    clock = _PluginClock()
    stats, wall = profile_scan(evidence, extra, clock, profiled=not args.no_cprofile)
    files, entries = clock.entries
    plugins_total = sum(cpu for _n, cpu in clock.plugin.values())
    inventory = entries - plugins_total
    per_inventory = inventory / max(files, 1)
    print(f"# profile of `triage scan {evidence} --workers 1 {' '.join(extra)}` (CPU clock{'' if args.no_cprofile else ', under cProfile'})")
    print(f"{B.machine_line()}; wall {wall:.1f} s; process_entry not found: {files == 0}\n")
    print("| part | files | CPU s | CPU ms per file | x inventory per file |")
    print("|---|---|---|---|---|")
    print(f"| inventory (read, hash, type, select, row) | {files:,} | {inventory:.1f} | "
          f"{per_inventory * 1000:.2f} | 1.00 |")
    for name, (count, cpu) in sorted(clock.plugin.items(), key=lambda kv: -kv[1][1]):
        each = cpu / max(count, 1)
        print(f"| plugin {name} | {count:,} | {cpu:.1f} | {each * 1000:.2f} | {each / max(per_inventory, 1e-9):.2f} |")
    print(f"\nall plugins: {plugins_total:.1f} CPU s of {entries:.1f} in process_entry\n")
    if stats is None:
        return
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue()[out.getvalue().find("   ncalls"):])


if __name__ == "__main__":
    main()
