"""The PDQ index returns exactly the brute-force result set."""

from __future__ import annotations

import numpy as np
import pytest

from traffick_triage.perceptual.index import (
    PDQIndex,
    brute_force_search,
    choose_num_slots,
    hashes_from_hex,
    hashes_to_hex,
    popcount_rows,
)


def _flip(row: np.ndarray, nbits: int, rng: np.random.Generator) -> np.ndarray:
    out = row.copy()
    for b in rng.choice(256, nbits, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def _data(n: int = 20_000, seed: int = 11):
    rng = np.random.default_rng(seed)
    entries = rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)
    queries = rng.integers(0, 2**64 - 1, size=(60, 4), dtype=np.uint64, endpoint=True)
    planted = []
    # Near neighbours at every distance 0..31, and a few at 32..40 that must
    # not come back at T = 31.
    for d in list(range(0, 32)) + list(range(32, 41)):
        qi = d % queries.shape[0]
        e = int(rng.integers(n))
        entries[e] = _flip(queries[qi], d, rng)
        planted.append((qi, e, d))
    # A duplicate entry and a cluster around one query.
    entries[5] = entries[6]
    for k in range(10):
        entries[100 + k] = _flip(queries[59], int(rng.integers(0, 31)), rng)
    return entries, queries, planted


@pytest.mark.parametrize("num_slots", [16, 11, 12, 13])
def test_index_equals_brute_force(num_slots: int) -> None:
    entries, queries, planted = _data()
    idx = PDQIndex.build(entries, num_slots=num_slots)
    for threshold in (31, 24, 15, 7, 0):
        got = idx.search_batch(queries, threshold, chunk=7)
        want = brute_force_search(entries, queries, threshold)
        for g, w in zip(got, want):
            assert np.array_equal(g, w), threshold
        pairs = set(zip(got[0].tolist(), got[1].tolist()))
        for qi, e, _ in planted:
            # exact recall for planted neighbours, nothing beyond the threshold
            d_true = int(popcount_rows(entries[e : e + 1] ^ queries[qi])[0])
            assert ((qi, e) in pairs) == (d_true <= threshold)
        assert (got[2] <= threshold).all()


def test_planted_neighbours_found_at_31_and_not_beyond() -> None:
    entries, queries, planted = _data(seed=3)
    idx = PDQIndex.build(entries)
    qi, ei, d = idx.search_batch(queries)
    found = set(zip(qi.tolist(), ei.tolist()))
    near = [(q, e) for q, e, dist in planted if dist <= 31]
    far = [(q, e) for q, e, dist in planted if dist >= 32]
    assert all(p in found for p in near)
    assert not any(p in found for p in far)
    assert d.max() <= 31


def test_single_query_and_hex_round_trip(tmp_path) -> None:
    entries, queries, _ = _data(n=3000, seed=5)
    hexes = hashes_to_hex(entries)
    assert all(len(h) == 64 for h in hexes)
    assert np.array_equal(hashes_from_hex(hexes), entries)
    idx = PDQIndex.build(hexes)
    q = hashes_to_hex(queries[:1])[0]
    res = idx.search(q)
    _, ei, d = brute_force_search(entries, queries[:1])
    assert res == list(zip(ei.tolist(), d.tolist()))
    assert res == sorted(res, key=lambda t: (t[1], t[0]))
    # save / load (memory-mapped) gives the same answers
    idx.save(tmp_path / "idx")
    loaded = PDQIndex.load(tmp_path / "idx")
    assert loaded.search(q) == res
    assert len(loaded) == len(idx) and loaded.nbytes == idx.nbytes


def test_edge_cases() -> None:
    empty = PDQIndex.build([])
    assert len(empty) == 0
    assert empty.search("0" * 64) == []
    one = PDQIndex.build(["f" * 64])
    assert one.search("f" * 64) == [(0, 0)]
    assert one.search("0" * 64, threshold=255) == []  # distance 256
    assert one.search("0" * 63 + "f", threshold=255) == [(0, 252)]
    with pytest.raises(ValueError):
        PDQIndex.build(["abc"])
    with pytest.raises(ValueError):
        one.search_batch(["f" * 64], threshold=256)
    assert choose_num_slots(1000) == 16
    assert choose_num_slots(10_000_000) == 11
