#!/usr/bin/env python3
"""The default scan (all plugins) beside the inventory-only scan, each plugin's share, in one run.

    .venv/bin/python bench/bench_default_scan.py --small     # the 10k tree only
    .venv/bin/python bench/bench_default_scan.py             # the 10k tree, then the 20k tree

Routes over the same bench tree (bench/benchlib.py: 9,000 / 18,000 small files,
half text; 1,000 / 2,000 JPEGs of 800x600 to 2048x1536; a few large files),
warm cache, default workers, --repeat times interleaved, best kept:

  hashdeep         hashdeep -c md5,sha1,sha256 -r TREE (anchor)
  limit+magic      a 2-process hashlib pool hashing and libmagic-typing every file
                   (bench_hashing.py's floor for any inventory that types by content; anchor)
  inventory only   triage scan TREE -o CASE --no-plugins
  default          triage scan TREE -o CASE (every plugin)
  only NAME        triage scan TREE -o CASE --only NAME, for each plugin that
                   selects files in the tree (perceptual, exif, media, identifiers)

Each route is timed (wall) and its CPU measured (getrusage of the command and
every process it waited for: on a shared machine the CPU ratios say more than
the wall ones, which other load stretches); best of --repeat by CPU.
A plugin's share is what its --only route adds to the inventory-only route,
over what the default route adds (the shares need not sum to 100%: plugins run
side by side in the workers). "outputs" is the outputs stage of each route's
manifest.json (the report writers). Issue 19's targets are ratios within this
one run: default >= 50% of inventory-only files/s on the 20k tree; outputs <=
15% of the inventory-only whole command; perceptual >= 100 images/s per core.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as B  # noqa: E402
import bench_hashing as H  # noqa: E402

PLUGINS = ("perceptual", "exif", "media", "identifiers")


def scan(root: Path, case: Path, *options: str) -> dict[str, float]:
    B.fresh(case)
    cmd = [B.TRIAGE, "scan", str(root), "-o", str(case), "-q", *options]
    m = B.run_measured(cmd)
    if m.returncode not in (0, 1):
        raise SystemExit(f"{shlex.join(cmd)} failed ({m.returncode}): {m.stderr[-2000:]}")
    stages = {st["stage"]: st for st in json.loads((case / "manifest.json").read_text()).get("stages", [])}
    out = {"whole": m.seconds, "whole_cpu": m.cpu_seconds}
    for name in ("inventory", "outputs"):
        out[name] = stages.get(name, {}).get("wall_seconds", 0.0)
        out[name + "_cpu"] = (stages.get(name, {}).get("cpu_seconds_main", 0.0)
                              + stages.get(name, {}).get("cpu_seconds_workers", 0.0))
    return out


def anchor_pool(root: Path) -> tuple[float, float]:
    """limit+magic: (wall s, CPU s of its pool)."""
    cpu0 = B.children_cpu()
    wall = H.limit_pool(root, typed=True)
    return wall, B.children_cpu() - cpu0


def run_tree(spec: B.TreeSpec, repeat: int, plugins: tuple[str, ...]) -> str:
    root = B.build_tree(spec)
    files, size = B.tree_stats(root)
    B.warm([root])
    load_before = B.loadavg()
    case = B.WORK / f"{spec.name}-defaultscan-case"
    routes: dict[str, list[dict[str, float]]] = {}
    anchors: dict[str, list[tuple[float, float]]] = {"hashdeep": [], "limit+magic": []}
    plan: list[tuple[str, list[str]]] = [("inventory only", ["--no-plugins"]), ("default", [])]
    plan += [(f"only {name}", ["--only", name]) for name in plugins]
    for _round in range(repeat):
        m = B.run_measured(["hashdeep", "-c", "md5,sha1,sha256", "-r", str(root)])
        anchors["hashdeep"].append((m.seconds, m.cpu_seconds))
        anchors["limit+magic"].append(anchor_pool(root))
        for label, options in plan:
            t0 = time.perf_counter()
            routes.setdefault(label, []).append(scan(root, case, *options))
            print(f"  {spec.name} {label}: {time.perf_counter() - t0:.1f} s, load {B.loadavg()}",
                  file=sys.stderr, flush=True)
    B.fresh(case)
    best = {label: min(runs, key=lambda r: r["whole_cpu"]) for label, runs in routes.items()}
    anchor = {name: min(values, key=lambda v: v[1]) for name, values in anchors.items()}
    inv, default = best["inventory only"], best["default"]
    added = max(default["whole"] - inv["whole"], 1e-9)
    added_cpu = max(default["whole_cpu"] - inv["whole_cpu"], 1e-9)
    rows = [[name, f"{sec:.1f}", f"{cpu:.1f}", f"{files / sec:,.0f}", f"{files / cpu:,.0f}", "", "", "anchor"]
            for name, (sec, cpu) in anchor.items()]
    for label, r in best.items():
        share = ""
        if label.startswith("only "):
            share = (f"{(r['whole_cpu'] - inv['whole_cpu']) / added_cpu:.0%} CPU, "
                     f"{(r['whole'] - inv['whole']) / added:.0%} wall of what the plugins add")
        rows.append([label, f"{r['whole']:.1f}", f"{r['whole_cpu']:.1f}", f"{files / r['whole']:,.0f}",
                     f"{files / r['whole_cpu']:,.0f}", f"{r['inventory']:.1f} ({r['inventory_cpu']:.1f} CPU)",
                     f"{r['outputs']:.1f} ({r['outputs_cpu']:.1f} CPU)", share])
    table = B.table(["route", "whole command s", "CPU s", "files/s", "files per CPU s", "inventory stage s",
                     "outputs stage s", "share"], rows)
    cores = len(os.sched_getaffinity(0))
    ratios = [
        ["default / inventory-only files/s (wall)", f"{inv['whole'] / default['whole']:.0%}", ">= 50% (20k tree)"],
        ["default / inventory-only files per CPU s", f"{inv['whole_cpu'] / default['whole_cpu']:.0%}",
         "(the same on idle cores that both routes keep busy)"],
        ["inventory-only outputs / whole command (wall)", f"{inv['outputs'] / inv['whole']:.0%}", "<= 15%"],
        ["inventory-only outputs / whole command (CPU)", f"{inv['outputs_cpu'] / inv['whole_cpu']:.0%}", "<= 15%"],
        ["inventory-only whole / hashdeep", f"{inv['whole'] / anchor['hashdeep'][0]:.2f}x time, "
         f"{inv['whole_cpu'] / anchor['hashdeep'][1]:.2f}x CPU", ""],
        ["limit+magic / inventory-only inventory stage (files/s)",
         f"{anchor['limit+magic'][0] / inv['inventory']:.0%} wall, "
         f"{anchor['limit+magic'][1] / max(inv['inventory_cpu'], 1e-9):.0%} CPU", ">= 85%"],
    ]
    if "only perceptual" in best:
        images = spec.photos
        extra = best["only perceptual"]["whole"] - inv["whole"]
        extra_cpu = best["only perceptual"]["whole_cpu"] - inv["whole_cpu"]
        if extra_cpu > 0:
            wall_rate = f"{images / extra / cores:,.0f} wall, " if extra > 0 else "(wall: the route took no longer), "
            ratios.append(["perceptual images/s per core (images / added seconds / cores)",
                           f"{wall_rate}{images / extra_cpu:,.0f} per added CPU s", ">= 100"])
    ratio_table = B.table(["ratio", "value", "target (issue 19)"], ratios)
    head = (f"### {spec.name}: {files:,} files, {size / B.MB:,.0f} MB; {B.machine_line()} "
            f"(before: {load_before}); best of {repeat} by CPU")
    return "\n\n".join([head, table, ratio_table])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="the 10k tree only")
    ap.add_argument("--large", action="store_true", help="the 20k tree only")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--plugins", nargs="*", default=list(PLUGINS), help="plugins given a --only route")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = ap.parse_args()
    command = "bench/bench_default_scan.py" + (" --small" if args.small else "") + (
        " --large" if args.large else "") + (f" --repeat {args.repeat}" if args.repeat != 1 else "") + (
        f" --plugins {' '.join(args.plugins)}" if tuple(args.plugins) != PLUGINS else "")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    blocks = [f"## Default scan vs inventory only (issue 19)\n\n`.venv/bin/python {command}`, {started}"]
    for spec in [B.SMALL] if args.small else [B.FULL] if args.large else [B.SMALL, B.FULL]:
        block = run_tree(spec, args.repeat, tuple(args.plugins))
        print(block, flush=True)
        blocks.append(block)
        if not args.no_write:
            B.write_section("bench_default_scan_small" if args.small else
                            "bench_default_scan_large" if args.large else "bench_default_scan", "\n\n".join(blocks))


if __name__ == "__main__":
    main()
