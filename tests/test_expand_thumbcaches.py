"""Thumbnail caches as containers (issue 17, item 3): Windows thumbcache_*.db,
Thumbs.db and Android .thumbdata. Every planted picture must come back with
the SHA-256 of the bytes planted, with the cache's key for the original; a
damaged or lying cache gives a warning per bad entry, never a hang or a
traceback, and the entries around the damage are still found."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import struct
from typing import IO

import magic
import olefile
import pytest

from thumbcache_builders import (CacheEntry, catalog, compound_file, picture, stream_name, thumbcache, thumbdata,
                                 thumbnail_stream)
from traffick_triage.expansion import api, registry
from traffick_triage.expansion.readers._cache_common import MAX_PROBLEMS
from traffick_triage.expansion.readers import thumbcache as thumbcache_module
from traffick_triage.expansion.readers.thumbcache import ThumbcacheExpander
from traffick_triage.expansion.readers.thumbdata import ThumbdataExpander
from traffick_triage.expansion.readers import thumbs_db as thumbs_db_module
from traffick_triage.expansion.readers.thumbs_db import ThumbsDbExpander


class Budget(api.ExpansionBudget):
    """The walk's budget, reduced to its caps (the expand branch owns the real one)."""

    def __init__(self, max_members: int = 10_000, max_member_bytes: int = 1 << 30) -> None:
        self.members = 0
        self.bytes = 0
        self.max_members = max_members
        self.max_member_bytes = max_member_bytes

    def charge_member(self) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise api.BudgetExceeded(f"over {self.max_members} members")

    def charge_bytes(self, count: int) -> None:
        self.bytes += count

    def member_limit(self, declared_size: int | None, compressed_size: int | None) -> str | None:
        if declared_size is not None and declared_size > self.max_member_bytes:
            return f"{declared_size} bytes is over the member size cap"
        return None

    def bounded(self, stream: IO[bytes], limit: int | None = None) -> IO[bytes]:
        budget = self

        class Counted(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def readinto(self, buffer) -> int:
                data = stream.read(len(buffer))
                budget.charge_bytes(len(data))
                buffer[:len(data)] = data
                return len(data)

        return io.BufferedReader(Counted())


class ShortReads(io.RawIOBase):
    """A container as a raw stream that returns at most 100 bytes a read, as
    a file-system or image reader may: the expanders must read on."""

    def __init__(self, blob: bytes) -> None:
        self._blob = io.BytesIO(blob)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._blob.seek(offset, whence)

    def tell(self) -> int:
        return self._blob.tell()

    def readinto(self, buffer) -> int:
        data = self._blob.read(min(len(buffer), 100))
        buffer[:len(data)] = data
        return len(data)


def expand(expander: api.Expander, blob: bytes, budget: Budget | None = None):
    """(members with their bytes, problems) as the walk would see them."""
    budget = budget or Budget()
    found, problems = [], []
    for item in expander.members(ShortReads(blob), budget):
        if isinstance(item, api.MemberProblem):
            problems.append(item)
        else:
            data = expander.open_member(ShortReads(blob), item.key, budget).read()
            found.append((item, data))
    return found, problems


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def probe(name: str, blob: bytes) -> api.Probe:
    head = blob[:api.HEAD_BYTES]
    return api.Probe(name=name, size=len(blob), mime=magic.from_buffer(head, mime=True), head=head)


@pytest.fixture(scope="module")
def pictures() -> dict[str, bytes]:
    return {"a": picture(1), "b": picture(2, size=(48, 40)), "c": picture(3, "PNG"), "d": picture(4, "BMP"),
            "e": picture(5, size=(120, 90)), "f": picture(6)}


# -- Windows thumbcache_*.db ---------------------------------------------------------


@pytest.mark.parametrize("version", [20, 21, 26, 28, 30, 31, 32])
def test_thumbcache_every_version_gives_every_planted_picture(version, pictures):
    entries = [CacheEntry(0x3F2A9C0E1B2C3D4E, pictures["a"], identifier="3f2a9c0e1b2c3d4e", width=32, height=24),
               CacheEntry(0x00000000000000FF, pictures["c"], identifier="ff", padding=8, width=32, height=24),
               CacheEntry(0x8000000000000001, pictures["d"], identifier="8000000000000001", slack=40),
               CacheEntry(0x1111111111111111, b"", identifier="1111111111111111")]          # no data: no member
    blob = thumbcache(version, entries, free_tail=3000)
    found, problems = expand(ThumbcacheExpander(), blob)
    assert problems == []
    assert [sha(data) for _, data in found] == [sha(pictures[k]) for k in ("a", "c", "d")]
    assert [m.name for m, _ in found] == ["entry 3f2a9c0e1b2c3d4e.jpg", "entry 00000000000000ff.png",
                                          "entry 8000000000000001.bmp"]
    first = found[0][0]
    assert first.details["cache_entry_hash"] == "3f2a9c0e1b2c3d4e"
    assert first.details["identifier"] == "3f2a9c0e1b2c3d4e"
    assert first.size == len(pictures["a"])
    if version >= 26:
        assert (first.details["width"], first.details["height"]) == (32, 24)
    if version == 20:
        assert first.details["original_extension"] == "jpg"


def test_thumbcache_first_entry_after_a_28_byte_header(pictures):
    # Some Windows 8 caches (version 28) start their first entry at 28, not 24.
    blob = thumbcache(28, [CacheEntry(5, pictures["a"]), CacheEntry(6, pictures["b"])])
    blob = blob[:24] + b"\0" * 4 + blob[24:]
    found, problems = expand(ThumbcacheExpander(), blob)
    assert [sha(d) for _, d in found] == [sha(pictures["a"]), sha(pictures["b"])]


def test_thumbcache_same_key_twice_gets_two_names(pictures):
    blob = thumbcache(32, [CacheEntry(7, pictures["a"]), CacheEntry(7, pictures["b"])])
    found, _ = expand(ThumbcacheExpander(), blob)
    names = [m.name for m, _ in found]
    assert len(set(names)) == 2 and names[0] == "entry 0000000000000007.jpg"


def _entries(pictures):
    return [CacheEntry(1, pictures["a"]), CacheEntry(2, pictures["b"]), CacheEntry(3, pictures["e"])]


def test_thumbcache_truncated_keeps_what_precedes_the_cut(pictures):
    blob = thumbcache(32, _entries(pictures))
    cut = blob[:len(blob) - len(pictures["e"]) // 2]
    found, problems = expand(ThumbcacheExpander(), cut)
    assert [sha(d) for _, d in found] == [sha(pictures["a"]), sha(pictures["b"])]
    assert len(problems) == 1 and "claims" in problems[0].message


@pytest.mark.parametrize("bad_size", [0xFFFFFFFF, 0, 12], ids=["4 GiB", "zero", "smaller than a header"])
def test_thumbcache_entry_size_lie_is_one_problem_and_the_next_entry_is_found(bad_size, pictures):
    entries = _entries(pictures)
    blob = bytearray(thumbcache(32, entries))
    second = 24 + len(thumbcache(32, entries[:1])) - 24
    assert blob[second:second + 4] == b"CMMM"
    blob[second + 4:second + 8] = struct.pack("<I", bad_size)
    found, problems = expand(ThumbcacheExpander(), bytes(blob))
    assert [sha(d) for _, d in found] == [sha(pictures["a"]), sha(pictures["e"])]
    assert len(problems) == 1 and problems[0].name == f"entry at offset {second}"


def test_thumbcache_identifier_and_data_sizes_past_the_entry_are_refused(pictures):
    entries = _entries(pictures)
    blob = bytearray(thumbcache(21, entries))
    second = len(thumbcache(21, entries[:1]))
    blob[second + 16:second + 20] = struct.pack("<I", 0xFFFFFFFF)        # identifier string size
    found, problems = expand(ThumbcacheExpander(), bytes(blob))
    assert [sha(d) for _, d in found] == [sha(pictures["a"]), sha(pictures["e"])]
    assert len(problems) == 1 and "exceed" in problems[0].message


def test_thumbcache_declared_entry_count_is_not_believed_and_the_member_cap_holds(pictures):
    blob = thumbcache(32, _entries(pictures), declared_entries=0xFFFFFFFF)
    assert len(expand(ThumbcacheExpander(), blob)[0]) == 3
    with pytest.raises(api.BudgetExceeded):
        expand(ThumbcacheExpander(), blob, Budget(max_members=2))


def test_thumbcache_nothing_but_signatures_ends(pictures):
    # Every position starts a signature and every entry lies: the walk must still end.
    blob = b"CMMM" + struct.pack("<IIIII", 32, 4, 0, 24, 1) + b"CMMM" * 4000
    found, problems = expand(ThumbcacheExpander(), blob)
    # A warning per damaged entry up to a cap, then one line that counts the rest.
    assert found == [] and len(problems) == MAX_PROBLEMS + 1
    counted = problems[-1].message.split(" more damaged entries")[0]
    # One problem per signature, but for the last few too close to the end to hold an entry header.
    assert 4000 - 56 // 4 <= MAX_PROBLEMS + int(counted) <= 4000


@pytest.mark.parametrize("cap", ["MAX_DAMAGED_ENTRIES", "MAX_ENTRIES"])
def test_thumbcache_entries_looked_at_are_capped(cap, monkeypatch, pictures):
    # A lowered cap keeps the test fast; the real ones (10,000 damaged, 1,000,000 entries)
    # end a 64 MiB file of signatures in 0.2 s and one of empty entries in about 5 s.
    monkeypatch.setattr(thumbcache_module, cap, 30)
    if cap == "MAX_DAMAGED_ENTRIES":
        blob = thumbcache(32, [CacheEntry(1, pictures["a"])]) + b"CMMM" * 4000       # all lies
        cause = "30 of them damaged"
    else:
        blob = thumbcache(32, [CacheEntry(1, pictures["a"])]) + thumbcache(32, [CacheEntry(0, b"")])[24:] * 80
        cause = "30 entries looked at, 0 of them damaged"
    found, problems = expand(ThumbcacheExpander(), blob)
    assert [sha(d) for _, d in found] == [sha(pictures["a"])]
    assert cause in problems[-1].message and "is not read" in problems[-1].message


def test_thumbcache_forged_keys_are_refused(pictures):
    blob = thumbcache(32, _entries(pictures))
    for key in ({"offset": -1, "length": 4}, {"offset": 0, "length": len(blob) + 1}, {"offset": "0", "length": 1},
                {"offset": 1 << 62, "length": 1 << 62}, {}):
        with pytest.raises(api.ExpansionError):
            ThumbcacheExpander().open_member(io.BytesIO(blob), key, Budget())


def test_a_thumbnail_over_the_member_size_cap_is_a_problem_not_a_member(pictures):
    blob = thumbcache(32, [CacheEntry(1, pictures["a"]), CacheEntry(2, pictures["e"])])
    limit = (len(pictures["a"]) + len(pictures["e"])) // 2
    assert len(pictures["a"]) < limit < len(pictures["e"])
    found, problems = expand(ThumbcacheExpander(), blob, Budget(max_member_bytes=limit))
    assert [sha(d) for _, d in found] == [sha(pictures["a"])]
    assert [p.name for p in problems] == ["entry 0000000000000002.jpg"]


def test_thumbcache_unknown_version_is_one_error():
    blob = thumbcache(7, [])
    assert not ThumbcacheExpander().claims(probe("thumbcache_256.db", blob))
    with pytest.raises(api.ExpansionError):
        list(ThumbcacheExpander().members(io.BytesIO(blob), Budget()))


# -- Thumbs.db -----------------------------------------------------------------------

FILETIMES = (130_000_000_000_000_000, 131_234_567_890_123_450)


def filetime_oracle(value: int) -> str:
    """The FILETIME as an ISO UTC string, computed here with the standard library alone."""
    moment = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=value // 10)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


@pytest.fixture(scope="module")
def thumbs_db(pictures) -> bytes:
    streams = {
        "Catalog": catalog([(1, "holiday.jpg", FILETIMES[0]), (12, "beach 2.jpg", FILETIMES[1])]),
        stream_name(1): thumbnail_stream(pictures["a"]),
        stream_name(12): thumbnail_stream(pictures["e"]),             # "21", larger than the mini-stream cutoff
        "256_3f2a9c0e1b2c3d4e": thumbnail_stream(pictures["b"], header_size=24),   # Vista+ naming
        "\x05SummaryInformation": b"\xfe\xff" + b"\0" * 46,           # not a thumbnail: skipped
    }
    blob = compound_file(streams)
    # The fixture is checked by a reader no one here wrote.
    ole = olefile.OleFileIO(io.BytesIO(blob))
    assert sorted("/".join(p) for p in ole.listdir()) == sorted(streams)
    assert ole.openstream("21").read() == streams["21"]
    return blob


def test_thumbs_db_every_thumbnail_with_the_catalog_name_and_time(thumbs_db, pictures):
    found, problems = expand(ThumbsDbExpander(), thumbs_db)
    assert problems == []
    by_name = {m.name: (m, d) for m, d in found}
    assert sorted(by_name) == ["1.jpg", "21.jpg", "256_3f2a9c0e1b2c3d4e.jpg"]
    first, data = by_name["1.jpg"]
    assert sha(data) == sha(pictures["a"])
    assert first.details["original_name"] == "holiday.jpg"
    assert first.details["original_modified"] == filetime_oracle(FILETIMES[0])
    twelfth, data = by_name["21.jpg"]
    assert sha(data) == sha(pictures["e"]) and twelfth.details["index"] == 12
    assert twelfth.details["original_name"] == "beach 2.jpg"
    assert twelfth.details["original_modified"] == filetime_oracle(FILETIMES[1])
    vista, data = by_name["256_3f2a9c0e1b2c3d4e.jpg"]
    assert sha(data) == sha(pictures["b"]) and vista.details["cache_key"] == "3f2a9c0e1b2c3d4e"
    # During the walk the bytes already read are given again through opener.
    assert all(member.opener().read() == data for member, data in found)


def test_thumbs_db_damaged_catalog_and_stream_headers(pictures):
    bad_catalog = catalog([(1, "a.jpg", FILETIMES[0])]) + struct.pack("<IIQ", 0, 2, 0)   # zero-length entry
    blob = compound_file({"Catalog": bad_catalog, "1": thumbnail_stream(pictures["a"]),
                          "2": struct.pack("<I", 0xFFFFFFFF) + pictures["b"],            # header size lies
                          "3": thumbnail_stream(b"not a picture at all, just text")})
    found, problems = expand(ThumbsDbExpander(), blob)
    assert [sha(d) for _, d in found] == [sha(pictures["a"])]
    assert found[0][0].details["original_name"] == "a.jpg"
    assert sorted(p.name for p in problems) == ["3", "Catalog"]


def test_thumbs_db_streams_are_capped(monkeypatch, pictures):
    monkeypatch.setattr(thumbs_db_module, "MAX_STREAMS", 3)
    blob = compound_file({stream_name(i): thumbnail_stream(picture(i)) for i in range(1, 6)})
    found, problems = expand(ThumbsDbExpander(), blob)
    assert [(m.details["index"], sha(d)) for m, d in found] == [(i, sha(picture(i))) for i in (1, 2, 3)]
    assert len(problems) == 1 and "only the first 3" in problems[0].message


def test_thumbs_db_stream_claiming_4_gib_is_one_problem(pictures):
    blob = bytearray(compound_file({"Catalog": catalog([(1, "a.jpg", 0), (2, "b.jpg", 0)]),
                                    "1": thumbnail_stream(pictures["a"]), "2": thumbnail_stream(pictures["b"])}))
    entry = blob.find("1\0".encode("utf-16-le").ljust(64, b"\0") + struct.pack("<H", 4))
    struct.pack_into("<Q", blob, entry + 120, 0xFFFFFFF0)                # the directory entry's stream size
    found, problems = expand(ThumbsDbExpander(), bytes(blob))
    assert [(m.name, sha(d)) for m, d in found] == [("2.jpg", sha(pictures["b"]))]
    assert [p.name for p in problems] == ["1"] and "4294967280" in problems[0].message


def test_thumbs_db_type_1_thumbnail_is_listed_as_stored(pictures):
    stored = struct.pack("<IHH", 1, 40, 40) + b"\x11" * 64          # type 1: JPEG scan data without tables
    blob = compound_file({"Catalog": catalog([(1, "old.jpg", FILETIMES[0])]), "1": thumbnail_stream(stored)})
    found, problems = expand(ThumbsDbExpander(), blob)
    assert problems == [] and len(found) == 1
    member, data = found[0]
    assert sha(data) == sha(stored) and member.name == "1.bin"
    assert member.details["thumbnail_type"] == 1 and member.details["original_name"] == "old.jpg" and member.notes


def test_thumbs_db_truncated_or_not_ole_is_one_error(thumbs_db):
    for blob in (thumbs_db[:700], b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(3000)):
        with pytest.raises(api.ExpansionError):
            list(ThumbsDbExpander().members(io.BytesIO(blob), Budget()))


def test_thumbs_db_forged_key_is_refused(thumbs_db):
    for key in ({"stream": "nope", "offset": 0, "length": 1}, {"stream": "1", "offset": 0, "length": 10 ** 9},
                {"stream": "1", "offset": -5, "length": 1}, {"stream": 1}):
        with pytest.raises(api.ExpansionError):
            ThumbsDbExpander().open_member(io.BytesIO(thumbs_db), key, Budget())


# -- Android .thumbdata ----------------------------------------------------------------


def test_thumbdata_every_slot_with_its_mediastore_id(pictures):
    blob = thumbdata({1: (1, -123456789, pictures["a"]), 2: (1, 42, pictures["b"]),
                      7: (0, 99, pictures["f"])})                                   # marked empty, still there
    found, problems = expand(ThumbdataExpander(), blob)
    assert problems == []
    assert [(m.name, sha(d)) for m, d in found] == [
        ("slot 1.jpg", sha(pictures["a"])), ("slot 2.jpg", sha(pictures["b"])), ("slot 7.jpg", sha(pictures["f"]))]
    assert found[0][0].details == {"mediastore_id": 1, "mini_thumb_magic": -123456789, "slot_status": 1}
    assert found[2][0].notes and found[2][0].details["slot_status"] == 0


def test_thumbdata_lying_lengths_and_a_jpeg_without_end(pictures):
    lies = {1: 0x7FFFFFFF, 2: -5, 3: 10}
    blob = thumbdata({1: (1, 1, pictures["a"]), 2: (1, 2, pictures["b"]), 3: (1, 3, pictures["f"]),
                      4: (1, 4, pictures["a"][:200])}, length_override=lies)
    found, problems = expand(ThumbdataExpander(), blob)
    assert [sha(d) for _, d in found] == [sha(pictures[k]) for k in ("a", "b", "f")]
    assert all(m.notes for m, _ in found)
    assert [p.name for p in problems] == ["slot 4"]


# -- the registry and claims ---------------------------------------------------------------


def test_registry_finds_the_cache_expanders_and_each_claims_only_its_own(thumbs_db, pictures):
    expanders = {e.NAME: e for e in registry.builtin_expanders()}
    assert {"thumbcache", "thumbs-db", "android-thumbdata"} <= set(expanders)
    assert all(expanders[n].ROUTE == api.ROUTE_CACHE for n in ("thumbcache", "thumbs-db", "android-thumbdata"))
    samples = {
        "thumbcache": probe("thumbcache_256.db", thumbcache(32, [CacheEntry(1, pictures["a"])])),
        "thumbs-db": probe("Thumbs.db", thumbs_db),
        "android-thumbdata": probe(".thumbdata3--1967290299", thumbdata({1: (1, 5, pictures["a"])})),
    }
    others = [probe("photo.jpg", pictures["a"]), probe("noise.bin", os.urandom(70_000)),
              probe(".thumbdata3--1967290299", pictures["a"]),                # a JPEG by that name
              probe(".thumbdata4--1967290299", os.urandom(30_000)),
              probe("report.doc", compound_file({"WordDocument": b"\0" * 600}))]   # OLE2, no catalog
    for name, sample in samples.items():
        claimants = [e.NAME for e in expanders.values() if e.claims(sample)]
        assert claimants == [name], (name, claimants)
    for sample in others:
        claimants = [e.NAME for e in expanders.values() if e.ROUTE == api.ROUTE_CACHE and e.claims(sample)]
        assert claimants == [], sample.name
