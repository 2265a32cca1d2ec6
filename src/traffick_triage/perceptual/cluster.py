"""Group unknown images into series by PDQ near-duplicates.

Single-linkage: two images are linked when their PDQ hashes are within
``threshold`` bits (default 31, the PDQ match threshold); a cluster is a
connected component (union-find over the exact :class:`~.index.PDQIndex`
self-join). Note that single linkage chains: A~B and B~C puts A, B, C in one
cluster even when A and C are further apart; ``max_distance`` on each
:class:`Cluster` shows how spread a cluster is.

Determinism: members are ordered by their key (default: the input position
as a zero-padded string); clusters are ordered by size (largest first), then
by their first key; ``cluster_id`` is ``"pdq-c{n:05d}"`` in that order. The
same set of (key, hash) pairs gives the same clusters and ids whatever the
input order.

Hashes with quality below 50 (:data:`~.pdq.PDQ_MIN_QUALITY`) are not
matchable (flat or nearly blank images all look alike to PDQ) and are left
out when ``qualities`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .index import PDQIndex, _as_rows, popcount_rows, search_pairs_within
from .pdq import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY


@dataclass(frozen=True)
class Cluster:
    cluster_id: str
    members: tuple[int, ...]  # input positions, ordered by key
    keys: tuple[str, ...]  # the members' keys, same order
    max_distance: int  # largest pairwise Hamming distance inside the cluster (exact)

    @property
    def size(self) -> int:
        return len(self.members)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:
            p[x], x = root, p[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def cluster_hashes(
    hashes,
    threshold: int = PDQ_MATCH_THRESHOLD,
    *,
    keys: Sequence[str] | None = None,
    qualities: Sequence[int] | None = None,
    min_size: int = 2,
    index: PDQIndex | None = None,
) -> list[Cluster]:
    """Cluster PDQ hashes (hex strings or (n, 4) uint64 rows).

    ``keys``: stable identifiers (e.g. evidence paths or SHA-256) used for
    ordering and for deterministic ids; default the input positions.
    ``qualities``: when given, entries with quality < 50 are left out.
    ``min_size``: smallest cluster returned (2 = only real groups).
    ``index``: a prebuilt index over the same hashes (otherwise built here).
    """
    rows = _as_rows(hashes)
    n = rows.shape[0]
    if keys is None:
        width = max(1, len(str(max(n - 1, 0))))
        keys = [str(i).zfill(width) for i in range(n)]
    elif len(keys) != n:
        raise ValueError("keys and hashes differ in length")
    if qualities is not None and len(qualities) != n:
        raise ValueError("qualities and hashes differ in length")

    eligible = np.ones(n, dtype=bool)
    if qualities is not None:
        eligible = np.asarray(qualities) >= PDQ_MIN_QUALITY
    positions = np.flatnonzero(eligible)
    if positions.size == 0:
        return []
    sub = rows[positions]
    if index is None or qualities is not None:
        index = PDQIndex.build(sub)
    i, j, _ = search_pairs_within(index, threshold)

    uf = _UnionFind(positions.size)
    for a, b in zip(i.tolist(), j.tolist()):
        uf.union(a, b)
    groups: dict[int, list[int]] = {}
    for local in range(positions.size):
        groups.setdefault(uf.find(local), []).append(local)

    found = []
    for members_local in groups.values():
        if len(members_local) < min_size:
            continue
        members = sorted((int(positions[m]) for m in members_local), key=lambda p: keys[p])
        found.append(members)
    found.sort(key=lambda ms: (-len(ms), keys[ms[0]]))

    clusters = []
    for num, members in enumerate(found, start=1):
        maxd = 0
        if len(members) > 1:
            r = rows[members]
            for k in range(len(members) - 1):
                d = popcount_rows(r[k + 1 :] ^ r[k])
                maxd = max(maxd, int(d.max()))
        clusters.append(
            Cluster(
                cluster_id=f"pdq-c{num:05d}",
                members=tuple(members),
                keys=tuple(keys[p] for p in members),
                max_distance=maxd,
            )
        )
    return clusters
