"""Property tests: readers, detection and info never raise on arbitrary input;
bad input becomes recorded problems."""

from __future__ import annotations

import json
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from traffick_triage.hashsets import (HashdeepReader, IcseCsvReader, PerceptualListReader,
                                      PlainListReader, VicsJsonReader, detect_format,
                                      hashset_info)

READERS = (PlainListReader, HashdeepReader, IcseCsvReader, VicsJsonReader,
           PerceptualListReader)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

_HEXISH = st.text(alphabet="0123456789abcdefABCDEF", min_size=0, max_size=70)
_LINE = st.one_of(
    st.text(max_size=120),
    st.builds(lambda h, sep, rest: h + sep + rest, _HEXISH,
              st.sampled_from([" ", "  ", "\t", ",", ";", ""]), st.text(max_size=40)),
    st.sampled_from(["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename",
                     "MD5;SHA1;Category", "# pdq", "## $ hashdeep"]),
)

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70)
    | _HEXISH,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["value", "Media", "MD5", "SHA1", "SHA256", "Category", "Series",
                         "VictimIdentified", "IsDistributed", "AlternativeHashes",
                         "HashName", "HashValue", "MediaFiles", "odata.metadata", "x"]),
        children, max_size=5),
    max_leaves=20)


def _exercise(data: bytes) -> None:
    fd, name = tempfile.mkstemp()
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        for reader_class in READERS:
            reader = reader_class(name)
            entries = list(reader)
            assert all(e.has_hash() for e in entries)
            assert reader.problem_count >= len(reader.problems) - 1
        detect_format(name)
        hashset_info(name)
    finally:
        os.unlink(name)


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data):
    _exercise(data)


@SETTINGS
@given(st.lists(_LINE, max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_arbitrary_lines(lines, eol):
    _exercise(eol.join(lines).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(_JSON)
def test_arbitrary_json_documents(document):
    _exercise(json.dumps(document).encode())


@SETTINGS
@given(_JSON, st.integers(min_value=0, max_value=400))
def test_truncated_json(document, cut):
    _exercise(json.dumps({"@odata.context": "x", "value": [document]}).encode()[:cut])


@SETTINGS
@given(st.binary(max_size=600))
def test_corrupt_sqlite(data):
    _exercise(b"SQLite format 3\x00" + data)


@SETTINGS
@given(st.lists(_LINE, max_size=30), st.sampled_from([None, "pdq", "phash", "md5", "sha1", "sha256", "hashdeep",
                                                      "md5deep", "vics", "icse", "nsrl", "store"]))
def test_declared_sets_load_or_refuse_in_one_line(lines, declared):
    """--hashset TYPE:FILE on any content: loaded, or a HashSetLoadError (exit 2), nothing else."""
    from pathlib import Path

    from traffick_triage.matching import HashSetLoadError, load_hashsets

    fd, name = tempfile.mkstemp()
    cache = Path(tempfile.mkdtemp())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write("\n".join(lines).encode("utf-8", "surrogatepass"))
        try:
            index = load_hashsets([f"{declared}:{name}" if declared else name], cache_dir=cache)
        except HashSetLoadError as error:
            assert name in str(error)        # the one line names the set
        else:
            [described] = index.describe()
            index.close()
            if declared:
                assert described["declared_type"] == declared and described["entry_count"]
    finally:
        os.unlink(name)
        import shutil

        shutil.rmtree(cache, ignore_errors=True)


@SETTINGS
@given(st.dictionaries(st.text(max_size=20), st.one_of(st.text(max_size=60), st.integers(), st.none(),
                                                       st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,15}"
                                                                     r"([+-][0-9]{2}:[0-9]{2}|Z)?\Z")),
                       max_size=12))
def test_generic_finding_fields_never_break_the_timeline(data):
    """A plugin's fields (often evidence strings) as timeline events: bounded, UTC, never raising."""
    from traffick_triage.report.finding_kinds import MAX_TIME_FIELDS, cell_text, field_events

    finding = {"kind": "x.y", "timeline": [], "data": data, "evidence_id": "E1", "locator": "E1 > /a",
               "plugin": "p"}
    events = list(field_events(finding))
    assert len(events) <= MAX_TIME_FIELDS
    assert all(e["datetime"].endswith("+00:00") for e in events)
    assert all(len(cell_text(v)) <= 300 for v in data.values())
