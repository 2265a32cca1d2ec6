#!/usr/bin/env python3
"""PDQ match index vs faiss IndexBinaryFlat (brute force), side by side.

    python bench/bench_pdq_index.py [--entries 10000000] [--queries 2000]

Random 256-bit hashes (seeded); a share of the queries gets planted near
matches at distances 0..31 (and one decoy at 32..40 that must not match).
Each method runs in its own child process so peak RSS is its own. Recall is
checked against faiss's exact brute-force range search (radius 32, i.e.
distance < 32 == <= 31) and, for a sample of queries, against numpy brute
force. Needs faiss-cpu (the project's `bench` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

THRESHOLD = 31


def make_data(n: int, nq: int, seed: int, share: float):
    rng = np.random.default_rng(seed)
    entries = rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)
    queries = rng.integers(0, 2**64 - 1, size=(nq, 4), dtype=np.uint64, endpoint=True)
    planted = 0
    for qi in range(int(nq * share)):
        for dist in list(rng.integers(0, 32, size=int(rng.integers(1, 4)))) + [int(rng.integers(32, 41))]:
            e = int(rng.integers(n))
            row = queries[qi].copy()
            for b in rng.choice(256, int(dist), replace=False):
                row[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
            entries[e] = row
            planted += 1
    return entries, queries, planted


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(method: str, data_dir: Path, threads: int) -> None:
    entries = np.load(data_dir / "entries.npy")
    queries = np.load(data_dir / "queries.npy")
    base_rss = rss_mb()
    out: dict = {"method": method}
    if method == "ours":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from traffick_triage.perceptual.index import PDQIndex

        t0 = time.perf_counter()
        idx = PDQIndex.build(entries)
        out["build_s"] = time.perf_counter() - t0
        out["index_bytes"] = idx.nbytes
        out["detail"] = f"{idx.num_slots} slots, 1 thread"
        idx.search_batch(queries[:50])  # warm-up
        t0 = time.perf_counter()
        qi, ei, d = idx.search_batch(queries)
        out["query_s"] = time.perf_counter() - t0
    else:
        import faiss

        faiss.omp_set_num_threads(threads)
        t0 = time.perf_counter()
        index = faiss.IndexBinaryFlat(256)
        index.add(entries.astype(">u8").view(np.uint8).reshape(-1, 32))
        out["build_s"] = time.perf_counter() - t0
        out["index_bytes"] = int(index.ntotal) * 32
        out["detail"] = f"range_search radius 32, {threads} threads"
        qb = queries.astype(">u8").view(np.uint8).reshape(-1, 32)
        index.range_search(qb[:20], THRESHOLD + 1)  # warm-up
        t0 = time.perf_counter()
        lims, D, I = index.range_search(qb, THRESHOLD + 1)
        out["query_s"] = time.perf_counter() - t0
        qi = np.repeat(np.arange(len(queries)), np.diff(lims.astype(np.int64)))
        ei, d = I.astype(np.int64), D.astype(np.int64)
    out["peak_rss_mb"] = rss_mb()
    out["data_rss_mb"] = base_rss
    np.savez(data_dir / f"result_{method}.npz", qi=qi, ei=ei, d=d)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--planted-share", type=float, default=0.5)
    ap.add_argument("--faiss-threads", type=int, default=2)
    ap.add_argument("--worker", choices=["ours", "faiss"], help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, Path(a.data_dir), a.faiss_threads)
        return

    with tempfile.TemporaryDirectory(prefix="pdqbench-") as tmp:
        t0 = time.perf_counter()
        entries, queries, planted = make_data(a.entries, a.queries, a.seed, a.planted_share)
        np.save(Path(tmp) / "entries.npy", entries)
        np.save(Path(tmp) / "queries.npy", queries)
        print(f"data: {a.entries:,} entries, {a.queries:,} queries, {planted:,} planted "
              f"neighbours/decoys, seed {a.seed} ({time.perf_counter() - t0:.1f} s)", flush=True)
        sub_n = min(20, a.queries)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from traffick_triage.perceptual.index import brute_force_search

        bf = brute_force_search(entries, queries[:sub_n], THRESHOLD)
        bf_pairs = set(zip(bf[0].tolist(), bf[1].tolist()))
        del entries
        res = {}
        for method in ("ours", "faiss"):
            cmd = [sys.executable, __file__, "--worker", method, "--data-dir", tmp,
                   "--faiss-threads", str(a.faiss_threads)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                print(p.stderr, file=sys.stderr)
                raise SystemExit(f"{method} worker failed")
            res[method] = json.loads(p.stdout.strip().splitlines()[-1])
            r = np.load(Path(tmp) / f"result_{method}.npz")
            res[method]["pairs"] = set(zip(r["qi"].tolist(), r["ei"].tolist()))
            res[method]["maxd"] = int(r["d"].max()) if r["d"].size else -1
            print(f"{method}: done", flush=True)

    truth = res["faiss"]["pairs"]
    rows = []
    for m in ("ours", "faiss"):
        r = res[m]
        got = r["pairs"]
        recall = len(got & truth) / max(len(truth), 1)
        extra = len(got - truth)
        sub = {p for p in got if p[0] < sub_n}
        sub_ok = sub == bf_pairs
        rows.append((m, r, recall, extra, sub_ok))
    q = a.queries
    print()
    print(f"| method | build s | queries/s | index MB | peak RSS MB | recall vs faiss flat | extra pairs | = numpy brute force ({sub_n} q) |")
    print("|---|---|---|---|---|---|---|---|")
    for m, r, recall, extra, sub_ok in rows:
        name = "PDQIndex (MIH)" if m == "ours" else "faiss IndexBinaryFlat"
        print(f"| {name} ({r['detail']}) | {r['build_s']:.1f} | {q / r['query_s']:,.0f} | "
              f"{r['index_bytes'] / 1e6:,.0f} | {r['peak_rss_mb']:,.0f} | {recall:.4f} | {extra} | {sub_ok} |")
    ratio = res["faiss"]["query_s"] / res["ours"]["query_s"]
    print(f"\nmatches: {len(truth):,} pairs; max distance returned: ours {res['ours']['maxd']}, "
          f"faiss {res['faiss']['maxd']}")
    print(f"queries/s ratio ours/faiss: {ratio:.1f}x")


if __name__ == "__main__":
    main()
