"""Readers stream: a large VICS file is read with memory far below its size."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from hashsets_synth import VICS_20_URI, media
from traffick_triage.hashsets import PlainListReader, VicsJsonReader

COUNT = 200_000


def write_big_vics(path, count: int, case_layout: bool) -> None:
    """Written item by item so the test itself does not hold the document."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps({"@odata.context": VICS_20_URI})[:-1] + ', "value": [')
        if case_layout:
            out.write('{"CaseID": "BIG", "Media": [')
        for i in range(1, count + 1):
            if i > 1:
                out.write(",")
            out.write(json.dumps(media(i)))
        out.write("]}" if case_layout else "")
        out.write("]}")


@pytest.mark.slow
@pytest.mark.parametrize("case_layout,count", [(False, COUNT), (True, COUNT // 4)],
                         ids=["flat-200k", "one-huge-case-50k"])
def test_vics_large_file_bounded_memory(tmp_path, case_layout, count):
    # tracemalloc makes reading ~6x slower: the case layout uses fewer items.
    path = tmp_path / "big.json"
    write_big_vics(path, count, case_layout)
    size = path.stat().st_size
    assert size > count * 250
    reader = VicsJsonReader(path)
    tracemalloc.start()
    try:
        seen = 0
        for _ in reader:
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count and reader.problems == []
    # Holding the entries or the document would cost several times the file
    # size; streaming needs a constant (~0.6 MB measured) whatever the size.
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"
    assert peak < 4_000_000


def test_line_reader_bounded_on_a_file_without_newlines(tmp_path):
    path = tmp_path / "one-line.txt"
    path.write_bytes(b"a" * 5_000_000)
    reader = PlainListReader(path)
    tracemalloc.start()
    try:
        assert list(reader) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reader.problems and "longer than" in reader.problems[0]
    assert peak < 5_000_000
