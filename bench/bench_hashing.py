#!/usr/bin/env python3
"""Inventory throughput (MD5+SHA-1+SHA-256 of every file) against its anchors, in one run.

    .venv/bin/python bench/bench_hashing.py            # ~20,000 files / ~2 GB, folder + raw ext4 + E01
    .venv/bin/python bench/bench_hashing.py --small    # ~10,000 files / ~1 GB, folder only (triage vs hashdeep)

Routes, all over the same files, all warm-cache (everything is read once before
timing; the tree, image and E01 together fit in RAM; page cache is NOT dropped):

  limit          one pass MD5+SHA-1+SHA-256 with a 2-process hashlib pool (fork,
                 1 MiB reads): what this machine can do with Python's hashlib
  limit+magic    the same pool also typing each file with libmagic (python-magic,
                 MIME, on the first 64 KiB, exactly what the inventory sniffs):
                 the floor for any inventory that types files by content
  hashdeep       hashdeep -c md5,sha1,sha256 -r FOLDER (its own threads)
  file           file --mime-type over every file, 2 processes (xargs -P 2), on the
                 same 64 KiB the inventory sniffs (-P bytes=65536); with hashdeep,
                 the two-tool way to get what one triage pass gives: hashes and
                 types ("hashdeep + file" is the sum of the two)
  triage-folder  triage scan FOLDER -o CASE --no-plugins (default workers)
  triage-folder, typing off
                 the same scan with libmagic replaced by a constant answer
                 (patched in this benchmark only; not a product option): what
                 our own walk, workers and case store cost above hashing, i.e.
                 the best any cheaper typing could reach; also for the raw
                 image and the E01 (triage-raw, typing off; triage-E01, typing
                 off), whose ratios to the folder show what the image's own
                 hash costs once typing no longer hides it
  triage+plugins triage scan FOLDER -o CASE (all plugins; reported separately)
  triage-raw     triage scan IMAGE.raw --no-plugins  (ext4 made by mke2fs -d)
  triage-E01     triage scan IMAGE.E01 --no-plugins  (ewfacquire -c deflate:fast)
  triage-E01 --no-media-hash
                 the same without verifying the E01 (an option, not the default)

MB/s and files/s are the tree's file content (10^6 bytes) and file count over
wall time. Two figures per triage route: the inventory stage (walk, hashing,
typing, hash sets, the case store, and for an image its own hash and
verification), from the "stages" of the run's manifest.json, which is what the
issue's targets are about; and the whole command (start-up and every report
output too). Each route runs --repeat times, rounds interleaved; the best time is
kept. Note that a scan of an image also hashes the whole image (its
acquisition hash) besides every file in it. The tree (seeded) is built under
bench/work/ (gitignored) and reused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as B  # noqa: E402


def _hash_file(path: str, typed: bool = False) -> int:
    """One pass MD5+SHA-1+SHA-256; with ``typed`` also the libmagic MIME of the
    first 64 KiB, as the inventory does."""
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    n, head = 0, b""
    with open(path, "rb", buffering=0) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            md5.update(chunk)
            sha1.update(chunk)
            sha256.update(chunk)
            if not n:
                head = chunk[:65536]
            n += len(chunk)
    md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest()
    if typed and head:
        _magic().from_buffer(head)
    return n


def _hash_and_type_file(path: str) -> int:
    return _hash_file(path, typed=True)


_MAGIC: list = []


def _magic():
    if not _MAGIC:
        import magic

        _MAGIC.append(magic.Magic(mime=True))
    return _MAGIC[0]


def file_list(root: Path) -> list[str]:
    out = []
    for dirpath, _dirs, names in os.walk(root):
        out.extend(os.path.join(dirpath, n) for n in names)
    return sorted(out)


def limit_pool(root: Path, processes: int = 2, typed: bool = False) -> float:
    files = file_list(root)
    # biggest first so the two processes finish together
    files.sort(key=lambda p: -os.path.getsize(p))
    t0 = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        total = sum(pool.imap_unordered(_hash_and_type_file if typed else _hash_file, files, chunksize=16))
    elapsed = time.perf_counter() - t0
    assert total > 0
    return elapsed


def build_images(root: Path, size_bytes: int, files: int) -> tuple[Path, Path]:
    raw = B.WORK / f"{root.name}.raw"
    e01 = B.WORK / f"{root.name}.E01"
    stamp = B.WORK / f"{root.name}.images.stamp"
    tree_stamp = (B.WORK / f"{root.name}.stamp").read_text()
    if raw.exists() and e01.exists() and stamp.exists() and stamp.read_text() == tree_stamp:
        return raw, e01
    for p in B.WORK.glob(f"{root.name}.E0*"):
        p.unlink()
    B.fresh(raw)
    # content + one 4 KiB block of slack per file + 12% for metadata/journal/inode tables
    image_mb = int((size_bytes + files * 4096) * 1.12 / (1 << 20)) + 128
    t0 = time.perf_counter()
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-d", str(root), str(raw),
                    f"{image_mb}M"], check=True)
    t1 = time.perf_counter()
    subprocess.run(["ewfacquire", "-u", "-q", "-c", "deflate:fast", "-d", "sha1", "-S", str(8 << 30),
                    "-t", str(e01.with_suffix("")), "-C", "bench", "-D", "bench", "-E", "1", "-e", "bench",
                    "-N", "synthetic", str(raw)], check=True, stdout=subprocess.DEVNULL)
    t2 = time.perf_counter()
    print(f"built {raw.name} ({image_mb} MiB, mke2fs -d {t1 - t0:.0f} s) and {e01.name} "
          f"({e01.stat().st_size / (1 << 20):,.0f} MiB, ewfacquire {t2 - t1:.0f} s)", file=sys.stderr)
    stamp.write_text(tree_stamp)
    return raw, e01


# The triage CLI with the content sniff answered by a constant: the forked
# workers inherit the patched module. A bench anchor, never a product option.
_TYPING_OFF = ("import sys; import traffick_triage.entry_processing as ep; "
               "assert callable(ep.sniff_mime), 'the sniff moved: patch it where it is now'; "
               "ep.sniff_mime = lambda head: 'application/octet-stream'; "
               "from traffick_triage.cli import main; sys.argv[0] = 'triage'; main()")


def triage_scan(evidence: Path, case: Path, plugins: bool, workers: int, *options: str,
                typing: bool = True) -> B.Measured:
    B.fresh(case)
    program = [B.TRIAGE] if typing else [str(B.VENV_BIN / "python"), "-c", _TYPING_OFF]
    cmd = [*program, "scan", str(evidence), "-o", str(case), *options]
    if not plugins:
        cmd.append("--no-plugins")
    if workers:
        cmd += ["--workers", str(workers)]
    m = B.run_measured(cmd)
    if m.returncode not in (0, 1):
        raise SystemExit(f"{shlex.join(cmd)} failed ({m.returncode}): {m.stderr[-2000:]}")
    m.stdout = ""
    if not typing and _typed_files(case):
        raise SystemExit(f"{shlex.join(cmd)}: files were typed although typing was patched out")
    stages = json.loads((case / "manifest.json").read_text()).get("stages", [])
    m.inventory_seconds = next(st["wall_seconds"] for st in stages if st["stage"] == "inventory")
    return m


def file_typing(root: Path, processes: int = 2) -> float:
    """Seconds for file(1) to type every file of the tree, as libmagic in the
    inventory does (MIME type, the first 64 KiB), in ``processes`` processes."""
    script = (f"find {shlex.quote(str(root))} -type f -print0 | "
              f"xargs -0 -n 500 -P {processes} file --mime-type -b -P bytes=65536 > /dev/null")
    m = B.run_measured(["bash", "-c", "set -o pipefail; " + script])
    if m.returncode != 0:
        raise SystemExit(f"file(1) typing failed: {m.stderr[-500:]}")
    return m.seconds


def _typed_files(case: Path) -> int:
    """Files whose MIME is not the typing-off constant (0 when the patch took)."""
    import sqlite3

    with sqlite3.connect(case / "case.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM files WHERE kind = 'file' AND md5 IS NOT NULL "
                          "AND mime != 'application/octet-stream'").fetchone()[0]


def count_files(case: Path) -> int:
    import sqlite3

    with sqlite3.connect(case / "case.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM files WHERE kind = 'file' AND md5 IS NOT NULL").fetchone()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="~10,000 files / ~1 GB, folder routes only")
    ap.add_argument("--repeat", type=int, default=1, help="runs per route (best kept), rounds interleaved")
    ap.add_argument("--workers", type=int, default=0, help="triage --workers (0: its default, all cores)")
    ap.add_argument("--no-plugins-run", action="store_true", help="skip the triage run with plugins")
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = ap.parse_args()

    spec = B.SMALL if args.small else B.FULL
    root = B.build_tree(spec)
    nfiles, nbytes = B.tree_stats(root)
    images = not args.small
    raw = e01 = None
    if images:
        raw, e01 = build_images(root, nbytes, nfiles)
    warm([root] + ([raw] + sorted(B.WORK.glob(f"{root.name}.E0*")) if images else []))
    cases = B.WORK / "cases"
    cases.mkdir(exist_ok=True)
    load_before = B.loadavg()

    routes: dict[str, list[float]] = {}
    loads: list[str] = []
    checks: dict[str, int] = {}

    def record(name: str, seconds: float) -> None:
        routes.setdefault(name, []).append(seconds)
        print(f"  {name}: {seconds:.1f} s, {nbytes / B.MB / seconds:,.0f} MB/s (load {B.loadavg()})",
              file=sys.stderr, flush=True)

    for round_ in range(args.repeat):
        record("limit", limit_pool(root))
        record("limit+magic", limit_pool(root, typed=True))
        m = B.run_measured(["hashdeep", "-c", "md5,sha1,sha256", "-r", str(root)])
        if m.returncode != 0:
            raise SystemExit(f"hashdeep failed: {m.stderr[-500:]}")
        checks["hashdeep"] = sum(1 for line in m.stdout.splitlines() if line and line[0] not in "%#")
        record("hashdeep", m.seconds)
        record("file", file_typing(root))
        m = triage_scan(root, cases / "folder", False, args.workers)
        record("triage-folder", m.seconds)
        record("triage-folder inventory", m.inventory_seconds)
        checks["triage-folder"] = count_files(cases / "folder")
        m = triage_scan(root, cases / "folder-typing-off", False, args.workers, typing=False)
        record("triage-folder, typing off", m.seconds)
        record("triage-folder, typing off inventory", m.inventory_seconds)
        checks["triage-folder, typing off"] = count_files(cases / "folder-typing-off")
        if images:
            m = triage_scan(raw, cases / "raw", False, args.workers)
            record("triage-raw", m.seconds)
            record("triage-raw inventory", m.inventory_seconds)
            checks["triage-raw"] = count_files(cases / "raw")
            m = triage_scan(e01, cases / "e01", False, args.workers)
            record("triage-E01", m.seconds)
            record("triage-E01 inventory", m.inventory_seconds)
            checks["triage-E01"] = count_files(cases / "e01")
            m = triage_scan(e01, cases / "e01-no-media-hash", False, args.workers, "--no-media-hash")
            record("triage-E01 --no-media-hash", m.seconds)
            record("triage-E01 --no-media-hash inventory", m.inventory_seconds)
            checks["triage-E01 --no-media-hash"] = count_files(cases / "e01-no-media-hash")
            for label, image in (("raw", raw), ("E01", e01)):
                name = f"triage-{label}, typing off"
                m = triage_scan(image, cases / f"{label.lower()}-typing-off", False, args.workers, typing=False)
                record(name, m.seconds)
                record(f"{name} inventory", m.inventory_seconds)
                checks[name] = count_files(cases / f"{label.lower()}-typing-off")
        loads.append(B.loadavg())
    if not args.no_plugins_run:
        m = triage_scan(root, cases / "plugins", True, args.workers)
        record("triage+plugins", m.seconds)
        checks["triage+plugins"] = count_files(cases / "plugins")
        loads.append(B.loadavg())

    best = {k: min(v) for k, v in routes.items()}
    best["hashdeep + file"] = best["hashdeep"] + best["file"]
    routes["hashdeep + file"] = [best["hashdeep + file"]]
    what = {
        "limit": "2-process hashlib pool, one pass MD5+SHA-1+SHA-256 (anchor)",
        "hashdeep": "hashdeep -c md5,sha1,sha256 -r FOLDER (anchor)",
        "limit+magic": "the same pool, also typing every file with libmagic (anchor)",
        "file": "file --mime-type -P bytes=65536, 2 processes (anchor)",
        "hashdeep + file": "hashes and types with the two standard tools: the sum of the two (anchor)",
        "triage-folder": "triage scan FOLDER --no-plugins: whole command",
        "triage-folder inventory": "  the same run: inventory stage",
        "triage-folder, typing off": "the same with libmagic patched out (bench anchor, not an option): whole command",
        "triage-folder, typing off inventory": "  the same run: inventory stage",
        "triage-raw": "triage scan ext4.raw --no-plugins: whole command",
        "triage-raw inventory": "  the same run: inventory stage",
        "triage-E01": "triage scan ext4.E01 --no-plugins: whole command",
        "triage-E01 inventory": "  the same run: inventory stage",
        "triage-E01 --no-media-hash": "the same, not verified (option): whole command",
        "triage-E01 --no-media-hash inventory": "  the same run: inventory stage",
        "triage-raw, typing off": "triage scan ext4.raw, libmagic patched out (bench anchor): whole command",
        "triage-raw, typing off inventory": "  the same run: inventory stage",
        "triage-E01, typing off": "triage scan ext4.E01, libmagic patched out (bench anchor): whole command",
        "triage-E01, typing off inventory": "  the same run: inventory stage",
        "triage+plugins": "triage scan FOLDER (all plugins)",
    }
    MB = B.MB
    rows = []
    for name, secs in best.items():
        runs = ", ".join(f"{s:.1f}" for s in routes[name])
        rows.append([name, what[name], f"{secs:.1f}", runs, f"{nbytes / MB / secs:,.0f}", f"{nfiles / secs:,.0f}",
                     f"{checks.get(name, nfiles):,}"])
    tbl = B.table(["route", "what", "best s", "runs s", "MB/s", "files/s", "files hashed"], rows)

    def ratio(a: str, b: str) -> float:
        return best[b] / best[a]        # throughput of a / throughput of b

    ratio_rows = []

    def add_ratio(label: str, a: str, b: str, target: float, unit: str) -> None:
        if a in best and b in best:
            r = ratio(a, b)
            shown = f"{r:.2f}x" if unit == "x" else f"{100 * r:.0f}%"
            goal = f">= {target:.0f}x" if unit == "x" else f">= {100 * target:.0f}%"
            ratio_rows.append([label, shown, goal, "met" if r >= target else "MISSED"])

    add_ratio("folder inventory / limit", "triage-folder inventory", "limit", 0.85, "%")
    add_ratio("folder inventory / hashdeep", "triage-folder inventory", "hashdeep", 2.0, "x")
    add_ratio("raw inventory / folder inventory", "triage-raw inventory", "triage-folder inventory", 0.70, "%")
    add_ratio("E01 inventory / folder inventory", "triage-E01 inventory", "triage-folder inventory", 0.70, "%")
    add_ratio("E01 --no-media-hash inventory / folder inventory (not the default)",
              "triage-E01 --no-media-hash inventory", "triage-folder inventory", 0.70, "%")

    def add_info(label: str, a: str, b: str, unit: str = "%") -> None:
        if a in best and b in best:
            r = ratio(a, b)
            ratio_rows.append([label, f"{r:.2f}x" if unit == "x" else f"{100 * r:.0f}%", "(no target)", ""])

    add_info("limit+magic / limit (what typing costs)", "limit+magic", "limit")
    # The ceilings: no inventory that hashes with hashlib beats `limit`, none that
    # also types with libmagic beats `limit+magic`.
    add_info("limit / hashdeep (ceiling of any inventory against hashdeep)", "limit", "hashdeep", "x")
    add_info("limit+magic / hashdeep (ceiling with libmagic typing)", "limit+magic", "hashdeep", "x")
    add_info("folder inventory / limit+magic", "triage-folder inventory", "limit+magic")
    add_info("folder inventory / (hashdeep + file)", "triage-folder inventory", "hashdeep + file", "x")
    # What the two folder targets would read without libmagic: our own overhead alone.
    add_info("folder inventory, typing off / limit", "triage-folder, typing off inventory", "limit")
    add_info("folder inventory, typing off / hashdeep", "triage-folder, typing off inventory", "hashdeep", "x")
    add_info("raw / folder inventory, both typing off", "triage-raw, typing off inventory",
             "triage-folder, typing off inventory")
    add_info("E01 / folder inventory, both typing off", "triage-E01, typing off inventory",
             "triage-folder, typing off inventory")
    add_info("folder whole command / limit", "triage-folder", "limit")
    add_info("folder whole command / hashdeep", "triage-folder", "hashdeep", "x")
    add_info("raw whole / folder whole", "triage-raw", "triage-folder")
    add_info("E01 whole / folder whole", "triage-E01", "triage-folder")
    if "triage+plugins" in best:
        r = ratio("triage+plugins", "triage-folder")
        ratio_rows.append(["triage+plugins / triage-folder", f"{100 * r:.0f}%", "(no target)", ""])
    rtbl = B.table(["ratio (throughput)", "measured", "target", ""], ratio_rows)

    command = ".venv/bin/python bench/bench_hashing.py" + (" --small" if args.small else "") + \
        (f" --repeat {args.repeat}" if args.repeat != 1 else "") + \
        (f" --workers {args.workers}" if args.workers else "") + \
        (" --no-plugins-run" if args.no_plugins_run else "")
    image_line = ""
    if images:
        e01_mb = sum(p.stat().st_size for p in B.WORK.glob(f"{root.name}.E0*")) / MB
        image_line = (f"Raw ext4 image {raw.stat().st_size / MB:,.0f} MB (mke2fs -d), "
                      f"E01 {e01_mb:,.0f} MB (ewfacquire -c deflate:fast).  ")
    header = (f"Tree: {nfiles:,} files, {nbytes / MB:,.0f} MB ({spec.small_files:,} small text/binary, "
              f"{spec.photos:,} JPEGs, the rest {spec.large_bytes / MB:,.0f} MB in 20-200 MB files), "
              f"seed {spec.seed}.  {image_line}\n"
              f"Machine: {B.machine_line()}; load average before: {load_before}, after each round: "
              f"{' | '.join(loads)}.\nWarm cache for every route (page cache not dropped); best of "
              f"{args.repeat} interleaved rounds.")
    B.show(header, tbl, rtbl)
    print()
    if not args.no_write:
        title = "## Inventory throughput, ~1 GB / 10,000 files (bench/bench_hashing.py --small)" if args.small \
            else "## Inventory throughput, ~2 GB / 20,000 files (bench/bench_hashing.py)"
        body = (f"{title}\n\nCommand: `{command}` (also run by `make bench`). "
                f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n{header}\n\n{tbl}\n\n{rtbl}\n")
        B.write_section("bench_hashing_small" if args.small else "bench_hashing", body)
        print(f"(written to {B.RESULTS.relative_to(B.REPO)})")


def warm(paths: list[Path]) -> None:
    B.warm([p for p in paths if p is not None])


if __name__ == "__main__":
    main()
