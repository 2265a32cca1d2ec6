"""Checks the thumbcache expander against real caches and an independent reader.

dissect.thumbcache (Fox-IT) ships real thumbcache_*.db files from Windows
Vista, 7, 8.1, 10 and 11 in its source distribution. This script fetches that
sdist and the library with pip into a temporary folder (nothing is installed
in the project's environment, nothing is copied into the repository), reads
every cache with both readers and compares each thumbnail's SHA-256 and cache
key; it also decodes each thumbnail with Pillow and compares the stated
width and height with the picture's. A development check, not a test: it
needs the package registry.

    PYTHONPATH=src .venv/bin/python scripts/compare-thumbcache-reader.py
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from typing import IO

from PIL import Image

from traffick_triage.expansion import api
from traffick_triage.expansion.readers.thumbcache import ThumbcacheExpander


class NoLimits(api.ExpansionBudget):
    def charge_member(self) -> None:
        pass

    def charge_bytes(self, count: int) -> None:
        pass

    def member_limit(self, declared_size: int | None, compressed_size: int | None) -> str | None:
        return None

    def bounded(self, stream: IO[bytes], limit: int | None = None) -> IO[bytes]:
        return stream


def ours(blob: bytes) -> list[tuple[str, int, tuple[int, int] | None, bytes]]:
    expander = ThumbcacheExpander()
    found = []
    for item in expander.members(io.BytesIO(blob), NoLimits()):
        if isinstance(item, api.MemberProblem):
            print("  problem:", item.name, item.message)
            continue
        data = expander.open_member(io.BytesIO(blob), item.key, NoLimits()).read()
        stated = (item.details["width"], item.details["height"]) if "width" in item.details else None
        found.append((hashlib.sha256(data).hexdigest(), int(item.details["cache_entry_hash"], 16), stated, data))
    return found


def theirs(blob: bytes) -> list[tuple[str, int]]:
    from dissect.thumbcache.thumbcache_file import ThumbcacheFile
    found = []
    for entry in ThumbcacheFile(io.BytesIO(blob)).entries():
        data = entry.data[:entry._header.DataSize]      # .data runs to the entry's end (slack included)
        if data:
            # dissect shows the hash as its stored bytes; Windows (and we) as the little-endian value.
            found.append((hashlib.sha256(data).hexdigest(), int.from_bytes(bytes.fromhex(entry.hash), "little")))
    return found


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        pip = [sys.executable, "-m", "pip", "-q"]
        subprocess.run(pip + ["download", "--no-deps", "--no-binary", ":all:", "-d", work, "dissect.thumbcache"], check=True)
        subprocess.run(pip + ["install", "--target", os.path.join(work, "lib"), "dissect.thumbcache"], check=True)
        sys.path.insert(0, os.path.join(work, "lib"))
        for archive in glob.glob(os.path.join(work, "*.tar.gz")):
            with tarfile.open(archive) as tar:
                tar.extractall(work, filter="data")
        totals = [0, 0, 0, 0, 0, 0]
        for path in sorted(glob.glob(os.path.join(work, "*", "tests", "data", "*", "thumbcache_*.db"))):
            if path.endswith("_idx.db"):
                continue
            blob = open(path, "rb").read()
            mine, other = ours(blob), theirs(blob)
            same = sorted((s, k) for s, k, _, _ in mine) == sorted(other)
            decoded = stated = matching = 0
            for _, _, dimensions, data in mine:
                with Image.open(io.BytesIO(data)) as picture:
                    picture.load()
                    decoded += 1
                    if dimensions:
                        stated += 1
                        matching += picture.size == dimensions
            if mine or other:
                print(f"{os.path.relpath(path, work):70} ours {len(mine):3}  dissect {len(other):3}  "
                      f"same {same}  decoded {decoded}  size stated {stated}, matching {matching}")
            totals = [a + b for a, b in zip(totals, (len(mine), len(other), int(same), decoded, stated, matching))]
        print("thumbnails ours / dissect: %d / %d; caches identical: %d; decoded: %d; "
              "size stated: %d, matching the picture: %d" % tuple(totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
