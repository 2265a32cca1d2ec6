"""Shared pieces of the throughput and memory benchmarks (not a benchmark itself).

- build_tree(): a seeded, deterministic synthetic evidence folder under
  bench/work/ (gitignored), reused when already built (a stamp file records the
  spec it was built from).
- run_measured(): run a command, time it, and sample its whole process tree
  from /proc every 50 ms (peak of the summed RSS, peak of the summed PSS, and
  every process's own high-water mark, VmHWM).
- write_section(): replace (or append) one marked section of bench/RESULTS.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / "work"
RESULTS = BENCH_DIR / "RESULTS.md"
VENV_BIN = REPO / ".venv" / "bin"
TRIAGE = str(VENV_BIN / "triage") if (VENV_BIN / "triage").exists() else shutil.which("triage") or "triage"

MB = 1_000_000


# -- the machine ---------------------------------------------------------------------------------

def loadavg() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def machine_line() -> str:
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {mem:,} MiB RAM, Python {sys.version.split()[0]}, "
            f"load average {loadavg()}")


# -- the synthetic evidence tree ----------------------------------------------------------------

@dataclass
class TreeSpec:
    name: str
    small_files: int          # text/binary files, log-uniform 100 B .. 200 KB
    photos: int               # JPEGs (from a few hundred generated bases, each file made unique)
    photo_bases: int
    large_bytes: int          # total of the large files (20..200 MB each)
    seed: int = 20261201

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:16]


FULL = TreeSpec("tree-20k", small_files=18_000, photos=2_000, photo_bases=300, large_bytes=750 * MB)
SMALL = TreeSpec("tree-10k", small_files=9_000, photos=1_000, photo_bases=200, large_bytes=375 * MB)
# The memory benchmark: small files only, same distribution, 2,000 vs 20,000.
def small_only(count: int) -> TreeSpec:
    return TreeSpec(f"small-{count}", small_files=count, photos=0, photo_bases=0, large_bytes=0)


_WORDS = ("the of and to in is was for on that with as by at from his her this have are an be or which "
          "message photo call contact payment transfer meet hotel room address passport phone number "
          "تحويل رسالة موعد فندق هاتف رقم جواز مبلغ كاش سيارة Kuwait Dubai Manila Lagos Tuesday night "
          "account bitcoin wallet usdt ok yes no tomorrow today send receive cash visa work agent").split()


def _text_corpus(rng, size: int) -> bytes:
    import numpy as np

    words = np.array(_WORDS, dtype=object)
    out = io.StringIO()
    written = 0
    while written < size:
        line = " ".join(words[rng.integers(0, len(words), size=int(rng.integers(4, 20)))]) + "\n"
        out.write(line)
        written += len(line.encode())
    return out.getvalue().encode()[:size]


def _jpeg_bases(rng, count: int) -> list[bytes]:
    import numpy as np
    from PIL import Image

    bases = []
    for i in range(count):
        w, h = [(1024, 768), (1600, 1200), (800, 600), (2048, 1536)][i % 4]
        # photo-like: smooth gradients + a few blocks + a little noise (small, fast to make)
        gy, gx = np.mgrid[0:h:8, 0:w:8]
        base = np.stack([(gx * (1 + i % 5) + gy) % 256, (gy * 2 + i * 7) % 256, (gx + gy * 3 + i) % 256],
                        axis=-1).astype(np.uint8)
        small = Image.fromarray(base, "RGB").resize((w, h), Image.BILINEAR)
        arr = np.asarray(small).astype(np.int16)
        arr = arr + rng.integers(-12, 13, size=arr.shape, dtype=np.int16)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(80, 93)))
        bases.append(buf.getvalue())
    return bases


def _exif_segment(index: int, rng) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = ["Samsung", "Apple", "HUAWEI", "Xiaomi"][index % 4]
    exif[0x0110] = f"Model-{index % 17}"
    exif[0x0132] = f"2024:{1 + index % 12:02d}:{1 + index % 28:02d} {index % 24:02d}:{index % 60:02d}:{(index * 7) % 60:02d}"
    exif[0x010E] = f"synthetic benchmark photo {index} {int(rng.integers(0, 1 << 62))}"
    payload = exif.tobytes()
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def build_tree(spec: TreeSpec, quiet: bool = False) -> Path:
    """Build (or reuse) the tree for ``spec``; returns its folder."""
    import numpy as np

    root = WORK / spec.name
    stamp = WORK / f"{spec.name}.stamp"
    if root.is_dir() and stamp.exists() and stamp.read_text().strip() == spec.key():
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(spec.seed)
    corpus = _text_corpus(rng, 4 << 20)
    plan: list[tuple[str, str, int]] = []   # (kind, relpath, size)
    for i in range(spec.small_files):
        size = int(math.exp(rng.uniform(math.log(100), math.log(200_000))))
        kind = "text" if i % 2 == 0 else "bin"
        ext = [".txt", ".csv", ".json", ".html"][i % 4] if kind == "text" else [".dat", ".bin", ".db", ".pdf"][i % 4]
        plan.append((kind, f"user{i % 8}/docs{(i // 8) % 25}/f{i:06d}{ext}", size))
    for i in range(spec.photos):
        plan.append(("jpeg", f"user{i % 8}/DCIM/{(i // 8) % 10:03d}/IMG_{i:05d}.jpg", i))
    remaining, n = spec.large_bytes, 0
    while remaining >= 20 * MB:
        size = min(remaining, int(rng.integers(20 * MB, 200 * MB + 1)))
        if remaining - size < 20 * MB:
            size = remaining
        plan.append(("large", f"media/large{n:02d}" + (".mp4" if n % 3 else ".vmdk"), size))
        remaining -= size
        n += 1
    bases = _jpeg_bases(rng, spec.photo_bases) if spec.photos else []
    total = 0
    for kind, rel, size in plan:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            if kind == "text":
                start = int(rng.integers(0, len(corpus) - 1))
                data = (corpus[start:] + corpus)[:size]
                f.write(data)
            elif kind == "bin":
                f.write(rng.bytes(size))
            elif kind == "jpeg":
                base = bases[size % len(bases)]
                data = base[:2] + _exif_segment(size, rng) + base[2:]
                f.write(data)
                size = len(data)
            else:   # large: 2 of 3 incompressible (video-like), 1 of 3 half zeros/half text (disk-like)
                left = size
                compressible = rel.endswith(".vmdk")
                block = corpus[: 4 << 20]
                while left:
                    step = min(left, 4 << 20)
                    if compressible:
                        f.write(block[:step] if (left // step) % 2 else bytes(step))
                    else:
                        f.write(rng.bytes(step))
                    left -= step
        total += size
    stamp.write_text(spec.key() + "\n")
    if not quiet:
        print(f"built {root}: {len(plan):,} files, {total / MB:,.0f} MB in {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
    return root


def tree_stats(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(dirpath, name)).st_size
    return files, size


def warm(paths: list[Path]) -> None:
    """Read everything once so later runs read from page cache."""
    for p in paths:
        if p.is_dir():
            for dirpath, _dirs, names in os.walk(p):
                for name in names:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        while f.read(1 << 22):
                            pass
        else:
            with open(p, "rb") as f:
                while f.read(1 << 22):
                    pass


# -- running and measuring a command -------------------------------------------------------------

@dataclass
class Measured:
    seconds: float
    returncode: int
    peak_rss_sum: int = 0          # bytes: max over samples of the summed RSS of the process tree
    peak_pss_sum: int = 0          # bytes: same with PSS (shared pages counted once, split between sharers)
    hwm: dict[int, tuple[str, int]] = field(default_factory=dict)   # pid -> (name, VmHWM bytes)
    main_hwm: int = 0
    samples: int = 0
    stdout: str = ""
    inventory_seconds: float = 0.0   # triage runs: the inventory stage, from manifest.json
    stderr: str = ""
    cpu_seconds: float = 0.0         # user + system CPU of the command and every process it waited for

    @property
    def hwm_sum(self) -> int:
        return sum(v for _, v in self.hwm.values())


def _children_map() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        out.setdefault(ppid, []).append(int(d))
    return out


def _tree(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _status(pid: int) -> tuple[str, int, int]:
    name, rss, hwm = "?", 0, 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Name:"):
                name = line.split()[1]
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return name, rss, hwm


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children_cpu() -> float:
    """User + system CPU seconds of this process's waited-for children so far
    (their own waited-for children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(cmd: list[str], sample_memory: bool = False, interval: float = 0.05,
                 env: dict | None = None) -> Measured:
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    result = Measured(0.0, 0)
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            rss_sum = pss_sum = 0
            for pid in _tree(proc.pid):
                try:
                    name, rss, hwm = _status(pid)
                except OSError:
                    continue
                rss_sum += rss
                pss_sum += _pss(pid)
                result.hwm[pid] = (name, max(hwm, result.hwm.get(pid, ("", 0))[1]))
                if pid == proc.pid:
                    result.main_hwm = max(result.main_hwm, hwm)
            result.peak_rss_sum = max(result.peak_rss_sum, rss_sum)
            result.peak_pss_sum = max(result.peak_pss_sum, pss_sum)
            result.samples += 1
            stop.wait(interval)

    thread = threading.Thread(target=sampler, daemon=True) if sample_memory else None
    if thread:
        thread.start()
    out, err = proc.communicate()
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = children_cpu() - cpu0
    stop.set()
    if thread:
        thread.join()
    result.returncode = proc.returncode
    result.stdout, result.stderr = out.decode(errors="replace"), err.decode(errors="replace")
    return result


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return path


# -- tables and RESULTS.md ----------------------------------------------------------------------

def show(*blocks: str) -> None:
    """Print the blocks of a result (header, tables), a blank line before each."""
    for block in blocks:
        print()
        print(block)


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(marker: str, body: str) -> None:
    """Replace the section between <!-- marker:start --> and <!-- marker:end -->
    in bench/RESULTS.md, or append it; other sections are left alone."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, RESULTS)
