"""Atheris fuzz target: the archive readers on arbitrary bytes — content
sniffing, the tolerant ZIP listing (central directory, zip64, local-header
scan), ZipSource and TarSource (plain, gz, bz2, xz; guarded long-name, pax
and sparse headers): listing, describe, sibling look-up and reading every
readable member. Opening may refuse with EvidenceError; after that nothing
may raise but OSError from a member's content, and no member may yield more
than it declares or the archive's expansion budget.

    .venv/bin/python fuzz/fuzz_archives.py -atheris_runs=100000
    .venv/bin/python fuzz/fuzz_archives.py -max_total_time=300 -max_len=8192 /tmp/corpus-archives

See fuzz/README.md."""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports(include=["traffick_triage"]):
    from traffick_triage.sources.archive import TarSource, ZipSource
    from traffick_triage.sources.base import FILE, EvidenceError
    from traffick_triage.sources.detect import sniff_evidence
    from traffick_triage.sources.directory import open_readonly
    from traffick_triage.sources.zip_directory import read_listing

BUDGET = 4 << 20          # small limits: an input may not make one run slow
OPTIONS = {"max_expansion_bytes": BUDGET, "max_member_bytes": BUDGET}
_FD, _PATH = tempfile.mkstemp(prefix="fuzz-archive-")
os.close(_FD)


def _exercise(source) -> None:
    source.describe()
    source.content_bytes_estimate()
    total = 0
    for entry in list(source.entries())[:200]:
        source.find_sibling(entry, entry.name + "-wal")
        if entry.kind != FILE or entry.opener is None:
            continue
        try:
            with entry.opener() as stream:
                while chunk := stream.read(1 << 16):
                    total += len(chunk)
        except OSError:
            continue
    if total > BUDGET + (1 << 16):
        raise AssertionError(f"{total} bytes read past the expansion budget {BUDGET}")
    source.take_warnings()
    source.close()


def TestOneInput(data: bytes) -> None:
    with open(_PATH, "wb") as stream:
        stream.write(data)
    if data:
        try:
            sniff_evidence(_PATH)
        except EvidenceError:
            pass
    with open_readonly(_PATH) as stream:
        try:
            read_listing(stream, len(data))
        except ValueError:
            pass
    for kind in (ZipSource, TarSource):
        try:
            source = kind(_PATH, "fuzz", OPTIONS)
        except EvidenceError:
            continue
        _exercise(source)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    try:
        atheris.Fuzz()
    finally:
        os.unlink(_PATH)


if __name__ == "__main__":
    main()
