"""Atheris fuzz target: every hash-set reader, format detection and
`hashset info` on arbitrary bytes. They must never raise: bad input becomes
recorded problems (reader.problems) or, for --hashset, one HashSetLoadError.

    .venv/bin/python fuzz/fuzz_hashsets.py -atheris_runs=100000
    .venv/bin/python fuzz/fuzz_hashsets.py -max_total_time=300 fuzz/corpus-hashsets

See fuzz/README.md."""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports(include=["traffick_triage"]):
    from traffick_triage.hashsets import detect_format, hashset_info
    from traffick_triage.hashsets.declared import DECLARED_TYPES
    from traffick_triage.hashsets.readers import open_reader
    from traffick_triage.matching import HashSetLoadError, load_hashsets

FORMATS = ("plain", "hashdeep", "md5deep", "vics-json", "icse-csv", "pdq", "phash")
# One scratch file, rewritten for every input (the readers take a path).
_FD, _PATH = tempfile.mkstemp(prefix="fuzz-hashset-")
os.close(_FD)
_CACHE = __import__("pathlib").Path(tempfile.mkdtemp(prefix="fuzz-hashset-cache-"))


def TestOneInput(data: bytes) -> None:
    with open(_PATH, "wb") as stream:
        stream.write(data)
    detect_format(_PATH)
    hashset_info(_PATH)
    for fmt in FORMATS:
        reader = open_reader(_PATH, fmt=fmt)
        for entry in reader:
            if not entry.has_hash():
                raise AssertionError(f"{fmt}: entry without a hash: {entry!r}")
        if not isinstance(reader.problems, list):
            raise AssertionError("problems must be a list")
    # --hashset FILE and --hashset TYPE:FILE: loaded, or one HashSetLoadError (exit 2).
    for declared in (None, *DECLARED_TYPES):
        try:
            load_hashsets([f"{declared}:{_PATH}" if declared else _PATH], cache_dir=_CACHE).close()
        except HashSetLoadError:
            pass


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    try:
        atheris.Fuzz()
    finally:
        os.unlink(_PATH)
        __import__("shutil").rmtree(_CACHE, ignore_errors=True)


if __name__ == "__main__":
    main()
