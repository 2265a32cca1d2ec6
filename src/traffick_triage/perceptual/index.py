"""Exact PDQ range search: every entry within Hamming distance <= T.

Design: multi-index hashing (Norouzi et al.; ThreatExchange README-MIH),
in numpy.

* The 256 bits are cut into ``m`` disjoint slots (default 16 slots of 16
  bits). Pigeonhole: if two hashes differ in <= T bits, at least one slot
  differs in <= ``T // m`` bits (otherwise every slot differs in
  >= T // m + 1 bits and the total is >= m * (T // m + 1) > T). For the PDQ
  threshold T = 31 and m = 16 that is <= 1 bit.
* Per slot, a CSR table: entry ids sorted by slot value (uint32) and
  ``2**w + 1`` offsets, so the bucket of any slot value is a contiguous run.
* Query: for every slot, probe the query's slot value and every value within
  ``T // m`` bits of it (1 + 16 probes per slot at T = 31), gather the ids,
  verify each candidate by an exact popcount of the XOR against the stored
  hash rows (4 x uint64), keep distances <= T, drop duplicates.

Exact by construction (100% recall and precision versus brute force,
checked in tests/test_perceptual_index.py). The slot count is chosen by
size (:func:`choose_num_slots`): 16 slots of 16 bits below 2M entries,
11 slots of 23/24 bits (radius 2, ~3.6K candidates per query at 10M instead
of ~41K) from 2M. Memory: 32 B per hash + 4 B per hash per slot + offset
tables (256 KiB per 16-bit slot; 470 MB for the 11 wide slots): at 10M
entries 320 + 440 + 470 = 1.23 GB.

Hash layout: a PDQ hex string is 32 bytes; row = 4 native uint64 words,
word j = bytes[8j:8j+8] read big-endian. Bit i of the hash is bit (63 - i%64)
of word i//64, so slot bits follow the hex string from left to right.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .pdq import PDQ_MATCH_THRESHOLD

HASH_BITS = 256
WORDS = 4

_HAS_BITWISE_COUNT = hasattr(np, "bitwise_count")
_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount_rows(x: np.ndarray) -> np.ndarray:
    """Row-wise popcount of an (n, 4) uint64 array -> (n,) int."""
    if _HAS_BITWISE_COUNT:
        # Column adds in uint16 are ~4x faster than .sum(axis=1) here.
        c = np.bitwise_count(x).astype(np.uint16)
        return c[:, 0] + c[:, 1] + c[:, 2] + c[:, 3]
    b = np.ascontiguousarray(x).view(np.uint8).reshape(x.shape[0], -1)
    return _POP8[b].sum(axis=1, dtype=np.int32)


# ---------------------------------------------------------------- conversions


def hashes_from_hex(hexes: Iterable[str]) -> np.ndarray:
    """PDQ hex strings -> (n, 4) uint64 array (the index's row layout)."""
    hexes = list(hexes)
    if not hexes:
        return np.zeros((0, WORDS), dtype=np.uint64)
    for h in hexes:
        if len(h) != 64:
            raise ValueError(f"PDQ hash must be 64 hex characters, got {len(h)}: {h!r}")
    raw = bytes.fromhex("".join(hexes))
    return np.frombuffer(raw, dtype=">u8").reshape(-1, WORDS).astype(np.uint64)


def hashes_to_hex(rows: np.ndarray) -> list[str]:
    """(n, 4) uint64 rows -> PDQ hex strings."""
    raw = np.ascontiguousarray(rows, dtype=np.uint64).astype(">u8").tobytes()
    return [raw[i : i + 32].hex() for i in range(0, len(raw), 32)]


def _as_rows(hashes) -> np.ndarray:
    """Accept hex strings, (n, 32) uint8 bytes or (n, 4) uint64 rows."""
    if isinstance(hashes, str):
        return hashes_from_hex([hashes])
    if isinstance(hashes, np.ndarray):
        if hashes.dtype == np.uint64 and hashes.ndim == 2 and hashes.shape[1] == WORDS:
            return np.ascontiguousarray(hashes)
        if hashes.dtype == np.uint64 and hashes.ndim == 1 and hashes.shape[0] == WORDS:
            return np.ascontiguousarray(hashes.reshape(1, WORDS))
        if hashes.dtype == np.uint8 and hashes.ndim == 2 and hashes.shape[1] == 32:
            return np.ascontiguousarray(hashes).view(">u8").reshape(-1, WORDS).astype(np.uint64)
        raise ValueError(f"unsupported hash array {hashes.dtype} {hashes.shape}")
    return hashes_from_hex(hashes)


# ---------------------------------------------------------------- brute force


def brute_force_search(
    entries, queries, threshold: int = PDQ_MATCH_THRESHOLD, chunk: int = 1 << 20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference: every (query, entry) pair with distance <= threshold.

    Returns ``(query_idx, entry_idx, distance)`` sorted by query, distance,
    entry -- the same contract as :meth:`PDQIndex.search_batch`.
    """
    e = _as_rows(entries)
    q = _as_rows(queries)
    qi_all, ei_all, d_all = [], [], []
    for qi in range(q.shape[0]):
        for start in range(0, e.shape[0], chunk):
            block = e[start : start + chunk]
            d = popcount_rows(block ^ q[qi])
            hit = np.nonzero(d <= threshold)[0]
            if hit.size:
                qi_all.append(np.full(hit.size, qi, dtype=np.int64))
                ei_all.append(hit.astype(np.int64) + start)
                d_all.append(d[hit].astype(np.int16))
    return _sorted_result(qi_all, ei_all, d_all)


def _sorted_result(qi_all, ei_all, d_all):
    if not qi_all:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int16))
    qi = np.concatenate(qi_all)
    ei = np.concatenate(ei_all)
    d = np.concatenate(d_all)
    order = np.lexsort((ei, d, qi))
    return qi[order], ei[order], d[order]


# ---------------------------------------------------------------- the index


def _slot_layout(num_slots: int, check: bool = True) -> list[tuple[int, int]]:
    """(start_bit, width) per slot; widths differ by at most one bit."""
    if not 1 <= num_slots <= 64:
        raise ValueError("num_slots must be in 1..64")
    base, extra = divmod(HASH_BITS, num_slots)
    layout, start = [], 0
    for k in range(num_slots):
        w = base + (1 if k < extra else 0)
        if check and w > 28:
            raise ValueError("slots wider than 28 bits need too large offset tables")
        layout.append((start, w))
        start += w
    return layout


def _extract(rows: np.ndarray, start: int, width: int) -> np.ndarray:
    """Slot value (bits start..start+width-1, MSB-first numbering) as uint32."""
    word, off = divmod(start, 64)
    mask = np.uint64((1 << width) - 1)
    if off + width <= 64:
        v = (rows[:, word] >> np.uint64(64 - off - width)) & mask
    else:
        hi_bits = 64 - off
        lo_bits = width - hi_bits
        hi = rows[:, word] & np.uint64((1 << hi_bits) - 1)
        lo = rows[:, word + 1] >> np.uint64(64 - lo_bits)
        v = (hi << np.uint64(lo_bits)) | lo
    return v.astype(np.uint32)


def _stable_argsort(keys: np.ndarray, width: int) -> np.ndarray:
    """Stable argsort of ``width``-bit keys via 16-bit radix passes (numpy
    radix-sorts uint16 in linear time; wider keys would fall back to timsort)."""
    if width <= 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    lo_bits = width // 2
    lo = (keys & np.uint32((1 << lo_bits) - 1)).astype(np.uint16)
    order = np.argsort(lo, kind="stable")
    del lo
    hi = (keys >> np.uint32(lo_bits)).astype(np.uint16)
    order = order[np.argsort(hi[order], kind="stable")]
    return order


def choose_num_slots(n: int) -> int:
    """Slot count for ``n`` entries (measured on this 2-core box, T = 31):

    * 16 slots of 16 bits (1 + 16 probes per slot, 256 KiB offsets per slot)
      below 2M entries: small tables, sub-second build, >3,000 queries/s at
      1M.
    * 11 slots of 23/24 bits (radius 31 // 11 = 2: 277-301 probes per slot)
      from 2M entries: ~3.6K candidates per query at 10M instead of ~41K for
      16 slots; 1.6K-3.2K queries/s single-threaded on a loaded 2-core box
      (bench/RESULTS.md); the offset tables cost a fixed ~470 MB.
    """
    return 16 if n < 2_000_000 else 11


def _flip_masks(width: int, radius: int) -> np.ndarray:
    """All width-bit masks with popcount <= radius (0 first)."""
    masks = [0]
    for r in range(1, min(radius, width) + 1):
        for bits in combinations(range(width), r):
            m = 0
            for b in bits:
                m |= 1 << b
            masks.append(m)
    return np.array(masks, dtype=np.uint32)


def _expand_ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenate arange(s, s+l) for every (s, l) -- vectorised."""
    ends_cum = np.cumsum(lens)
    total = int(ends_cum[-1]) if ends_cum.size else 0
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = starts - (ends_cum - lens)
    out = np.repeat(shift, lens)
    out += np.arange(total, dtype=np.int64)
    return out


class PDQIndex:
    """Exact range-search index over PDQ hashes (multi-index hashing).

    >>> idx = PDQIndex.build(list_of_hex_hashes)
    >>> idx.search(query_hex)                 # [(entry_id, distance), ...]
    >>> qi, ei, d = idx.search_batch(many)    # arrays, sorted
    """


    def __init__(
        self,
        rows: np.ndarray,
        layout: list[tuple[int, int]],
        ids: list[np.ndarray],
        offsets: list[np.ndarray],
    ) -> None:
        self.rows = rows
        self.layout = layout
        self.ids = ids
        self.offsets = offsets
        self._mask_cache: dict[tuple[int, int], np.ndarray] = {}

    # ------------------------------------------------------------ building
    @classmethod
    def build(cls, hashes, num_slots: int | None = None) -> "PDQIndex":
        """Build from hex strings, (n, 32) uint8 or (n, 4) uint64 rows.
        Entry ids are the positions 0..n-1 in the input order.
        ``num_slots``: None = :func:`choose_num_slots` (16 for small sets,
        11 slots of 23/24 bits at 10M entries)."""
        rows = _as_rows(hashes)
        n = rows.shape[0]
        if num_slots is None:
            num_slots = choose_num_slots(n)
        if n >= 2**32:
            raise ValueError("at most 2**32 - 1 entries")
        layout = _slot_layout(num_slots)
        ids, offsets = [], []
        for start, width in layout:
            keys = _extract(rows, start, width)
            order = _stable_argsort(keys, width)
            ids.append(order.astype(np.uint32))
            counts = np.bincount(keys, minlength=1 << width)
            off = np.zeros((1 << width) + 1, dtype=np.uint32 if n < 2**32 else np.uint64)
            np.cumsum(counts, out=off[1:])
            offsets.append(off)
            del keys, order, counts
        return cls(rows, layout, ids, offsets)

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def num_slots(self) -> int:
        return len(self.layout)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index arrays (hash rows + per-slot tables)."""
        return int(
            self.rows.nbytes
            + sum(a.nbytes for a in self.ids)
            + sum(a.nbytes for a in self.offsets)
        )

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike) -> None:
        """Write the arrays as .npy files into ``directory`` (created)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / "rows.npy", self.rows)
        np.save(d / "layout.npy", np.array(self.layout, dtype=np.int64))
        for k, (ids, off) in enumerate(zip(self.ids, self.offsets)):
            np.save(d / f"ids_{k:02d}.npy", ids)
            np.save(d / f"offsets_{k:02d}.npy", off)

    @classmethod
    def load(cls, directory: str | os.PathLike, mmap: bool = True) -> "PDQIndex":
        """Load a saved index; with ``mmap`` the arrays are memory-mapped."""
        d = Path(directory)
        mode = "r" if mmap else None
        rows = np.load(d / "rows.npy", mmap_mode=mode)
        layout = [tuple(int(x) for x in r) for r in np.load(d / "layout.npy")]
        ids = [np.load(d / f"ids_{k:02d}.npy", mmap_mode=mode) for k in range(len(layout))]
        offs = [np.load(d / f"offsets_{k:02d}.npy", mmap_mode=mode) for k in range(len(layout))]
        return cls(rows, layout, ids, offs)

    # ------------------------------------------------------------ searching
    def _masks(self, width: int, radius: int) -> np.ndarray:
        key = (width, radius)
        m = self._mask_cache.get(key)
        if m is None:
            m = self._mask_cache[key] = _flip_masks(width, radius)
        return m

    def _search_chunk(self, q: np.ndarray, threshold: int, q_base: int):
        nq = q.shape[0]
        n = len(self)
        radius = threshold // self.num_slots
        qi_parts, ei_parts, d_parts = [], [], []
        for k, (start, width) in enumerate(self.layout):
            masks = self._masks(width, radius)
            qkeys = _extract(q, start, width)
            # probes are query-major: all probes of query 0, then query 1...
            probes = (qkeys[:, None] ^ masks[None, :]).ravel()
            off = self.offsets[k]
            # np.take(mode="clip") skips bounds checks and is several times
            # faster than fancy indexing for these random gathers; every
            # index is in range by construction.
            starts = np.take(off, probes, mode="clip").astype(np.int64)
            lens = np.take(off, probes + 1, mode="clip").astype(np.int64) - starts
            flat = _expand_ranges(starts, lens)
            if flat.size == 0:
                continue
            cand = np.take(self.ids[k], flat, mode="clip")
            per_query = lens.reshape(nq, masks.size).sum(axis=1)
            x = np.take(self.rows, cand, axis=0, mode="clip")
            x ^= np.repeat(q, per_query, axis=0)
            d = popcount_rows(x)
            hit = np.flatnonzero(d <= threshold)
            if hit.size:
                bounds = np.cumsum(per_query)
                qi_parts.append(np.searchsorted(bounds, hit, side="right") + q_base)
                ei_parts.append(cand[hit].astype(np.int64))
                d_parts.append(d[hit].astype(np.int16))
        if not qi_parts:
            return [], [], []
        qi = np.concatenate(qi_parts)
        ei = np.concatenate(ei_parts)
        d = np.concatenate(d_parts)
        # A match is usually found through several slots: keep it once.
        _, first = np.unique(qi * n + ei, return_index=True)
        return [qi[first]], [ei[first]], [d[first]]

    def search_batch(
        self,
        queries,
        threshold: int = PDQ_MATCH_THRESHOLD,
        *,
        chunk: int = 64,
        threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All (query, entry) pairs with Hamming distance <= ``threshold``.

        ``queries``: hex strings, (n, 32) uint8 or (n, 4) uint64 rows.
        Returns ``(query_idx, entry_idx, distance)`` int arrays sorted by
        query, then distance, then entry. ``chunk`` bounds the temporary
        memory (queries processed together); ``threads`` > 1 runs chunks in
        a thread pool (numpy releases the GIL in the heavy parts).
        """
        if not 0 <= threshold < HASH_BITS:
            raise ValueError("threshold must be in 0..255")
        q = _as_rows(queries)
        if len(self) == 0 or q.shape[0] == 0:
            return _sorted_result([], [], [])
        bounds = [(s, q[s : s + chunk]) for s in range(0, q.shape[0], chunk)]
        qi_all, ei_all, d_all = [], [], []
        if threads > 1 and len(bounds) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(lambda b: self._search_chunk(b[1], threshold, b[0]), bounds))
        else:
            results = [self._search_chunk(block, threshold, s) for s, block in bounds]
        for a, b, c in results:
            qi_all += a
            ei_all += b
            d_all += c
        return _sorted_result(qi_all, ei_all, d_all)

    def search(self, query, threshold: int = PDQ_MATCH_THRESHOLD) -> list[tuple[int, int]]:
        """Entries within ``threshold`` of one query: ``[(entry_id, distance)]``
        sorted by distance, then id."""
        _, ei, d = self.search_batch(query, threshold)
        return [(int(e), int(x)) for e, x in zip(ei, d)]


def search_pairs_within(
    index: PDQIndex, threshold: int = PDQ_MATCH_THRESHOLD, *, chunk: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i, j), i < j, of indexed entries within ``threshold``
    (self-join, used by clustering). Returns ``(i, j, distance)`` sorted."""
    qi, ei, d = index.search_batch(index.rows, threshold, chunk=chunk)
    keep = qi < ei
    return qi[keep], ei[keep], d[keep]


__all__: Sequence[str] = (
    "PDQIndex",
    "brute_force_search",
    "choose_num_slots",
    "hashes_from_hex",
    "hashes_to_hex",
    "popcount_rows",
    "search_pairs_within",
)
