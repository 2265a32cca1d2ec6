#!/usr/bin/env python3
"""What reading an NTFS volume's shadow copies adds to a walk: time and memory.

    .venv/bin/python bench/measure_shadow_copies.py IMAGE [IMAGE...]
    # e.g. ../shared/corpus/plaso/vsstest.qcow2 (dfVFS route) and its
    # `qemu-img convert -O raw` copy (The Sleuth Kit route)

Walks each image twice in this process (source.entries(), no hashing, no
plugins), without and with shadow copies, and prints the entries, the wall
seconds, the peak of Python's own allocations (tracemalloc) and the process's
peak RSS so far. The comparison with the live volume reads a file whose size
matches its live counterpart on both sides in 1 MiB chunks and keeps nothing
of the live volume, so the Python peak stays near two chunks whatever the
number of files. Not a test: it prints figures.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from traffick_triage.sources.detect import open_source  # noqa: E402


def main(paths: list[str]) -> None:
    print("| image | shadow copies | entries | walk (s) | Python peak (MB) | max RSS so far (MB) |")
    print("|---|---|---|---|---|---|")
    for path in paths:
        for shadows in (False, True):
            source = open_source(path, {"shadow_copies": shadows})
            tracemalloc.start()
            start = time.perf_counter()
            count = sum(1 for _ in source.entries())
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            source.close()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
            print(f"| {Path(path).name} | {'read' if shadows else 'skipped'} | {count} | {elapsed:.2f} | "
                  f"{peak / 1e6:.2f} | {rss:.0f} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
