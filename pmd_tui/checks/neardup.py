"""Near-duplicate search over 64-bit perceptual hashes that scales with the number of images.

The quadratic all-pairs comparison took a minute, gigabytes of memory and stored millions of pairs for
6,000 tiny images. Here:

- identical hashes are collapsed first (their pairs are counted, never listed one by one);
- the distinct hashes are indexed by multi-index hashing: a 64-bit hash is split into ``max_bits + 1``
  blocks; two hashes within ``max_bits`` bits differ in at most ``max_bits`` blocks, so they share at least
  one block exactly (pigeonhole), and only hashes in a shared bucket are compared (vectorised);
- comparisons are capped (``max_comparisons``); pairs are counted exactly (a lower bound once the cap is
  reached, said so in the finding) but only ``max_pairs`` examples are kept, and the connected groups are
  reported with a bounded number of names each, so the stored finding stays small.

Photographs give small buckets: about ``n log n`` work. A degenerate set (thousands of hashes in one
small Hamming ball) is bounded by the caps.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

MAX_PAIRS = 100  # pairs kept (as examples) in the finding
MAX_GROUPS = 50
MAX_GROUP_NAMES = 20
MAX_COMPARISONS = 10_000_000
MAX_EDGES = 2_000_000  # pairs of distinct hashes kept for grouping


@dataclass
class NearDuplicates:
    pairs: list[tuple[str, str, int]] = field(default_factory=list)  # examples, at most MAX_PAIRS
    pair_count: int = 0
    groups: list[list[str]] = field(default_factory=list)  # at most MAX_GROUPS, each MAX_GROUP_NAMES names
    group_count: int = 0
    files: list[str] = field(default_factory=list)  # every image with a near duplicate
    truncated: bool = False  # a cap was reached: counts are lower bounds


def _blocks(max_bits: int) -> list[tuple[int, int]]:
    """(shift, mask) of ``max_bits + 1`` blocks covering 64 bits."""
    n = max_bits + 1
    widths = [64 // n + (1 if i < 64 % n else 0) for i in range(n)]
    out, shift = [], 0
    for w in widths:
        out.append((shift, (1 << w) - 1))
        shift += w
    return out


class HashIndex:
    """64-bit hashes bucketed by blocks, for 'which ones are within max_bits of this hash'."""

    def __init__(self, hashes, max_bits: int):
        self.max_bits = max_bits
        self.hashes = np.asarray([h & 0xFFFFFFFFFFFFFFFF for h in hashes], dtype=np.uint64)
        self.blocks = _blocks(max_bits)
        self.buckets: list[dict[int, np.ndarray]] = []
        for shift, mask in self.blocks:
            keys = (self.hashes >> np.uint64(shift)) & np.uint64(mask)
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            if not len(order):  # no hash at all (every image flat or undecodable): empty buckets
                self.buckets.append({})
                continue
            starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
            ends = np.r_[starts[1:], len(order)]
            self.buckets.append({int(sorted_keys[s]): order[s:e] for s, e in zip(starts, ends)})

    def candidates(self, h: int, after: int = -1) -> tuple[np.ndarray, int]:
        """Indices (above ``after``) sharing a block with ``h``, and the work that took."""
        parts = [self.buckets[b].get((h >> shift) & mask) for b, (shift, mask) in enumerate(self.blocks)]
        parts = [p[p > after] for p in parts if p is not None]
        total = sum(len(p) for p in parts)
        if not total:
            return np.empty(0, dtype=np.int64), 0
        if total * 8 < len(self.hashes):
            return np.unique(np.concatenate(parts)), total
        mark = np.zeros(len(self.hashes), dtype=bool)  # big buckets: a mask beats sorting
        for p in parts:
            mark[p] = True
        return np.flatnonzero(mark), total

    def near(self, h: int, after: int = -1) -> tuple[np.ndarray, np.ndarray, int]:
        """(indices above ``after``, distances) of indexed hashes within max_bits of ``h``, and the work."""
        cand, work = self.candidates(h, after)
        if not len(cand):
            return cand, cand, work
        d = np.bitwise_count(self.hashes[cand] ^ np.uint64(h & 0xFFFFFFFFFFFFFFFF))
        hit = d <= self.max_bits
        return cand[hit], d[hit], work


def _components(n: int, ei: np.ndarray, ej: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``n`` nodes with edges (ei, ej): a label per node, the same
    within a component. Minimum-label propagation with pointer jumping (numpy; importing
    scipy.sparse.csgraph for this took 0.13 s, longer than grouping a large set)."""
    labels = np.arange(n)
    while True:
        new = labels.copy()
        low = np.minimum(labels[ei], labels[ej])
        np.minimum.at(new, ei, low)
        np.minimum.at(new, ej, low)
        new = new[new]  # every label is a node of the same component with a smaller index: jump to its label
        if np.array_equal(new, labels):
            return labels
        labels = new


def find_near_duplicates(named_hashes: list[tuple[str, int]], max_bits: int, *, max_pairs: int = MAX_PAIRS,
                         max_comparisons: int = MAX_COMPARISONS, max_edges: int = MAX_EDGES) -> NearDuplicates:
    result = NearDuplicates()
    by_hash: dict[int, list[str]] = defaultdict(list)
    for name, h in named_hashes:
        by_hash[h].append(name)
    distinct = list(by_hash)
    mult = np.asarray([len(by_hash[h]) for h in distinct], dtype=np.int64)

    def keep(a: str, b: str, d: int) -> None:
        if len(result.pairs) < max_pairs:
            result.pairs.append((a, b, d))

    for names in by_hash.values():  # identical hashes: every pair among them, counted arithmetically
        k = len(names)
        result.pair_count += k * (k - 1) // 2
        for j in range(1, min(k, max_pairs + 1)):
            keep(names[0], names[j], 0)

    index = HashIndex(distinct, max_bits)
    budget, edges_i, edges_j, n_edges = max_comparisons, [], [], 0
    for i, h in enumerate(distinct):
        if budget <= 0:
            result.truncated = True
            break
        js, ds, used = index.near(h, after=i)  # each distinct pair once, never a hash with itself
        budget -= used
        if not len(js):
            continue
        result.pair_count += int(mult[i] * mult[js].sum())
        for j, d in zip(js[: max_pairs].tolist(), ds[: max_pairs].tolist()):
            keep(by_hash[h][0], by_hash[distinct[j]][0], int(d))
        if n_edges < max_edges:
            take = js[: max_edges - n_edges]
            edges_i.append(np.full(len(take), i, dtype=np.int64))
            edges_j.append(take.astype(np.int64))
            n_edges += len(take)
            if len(take) < len(js):
                result.truncated = True
        else:
            result.truncated = True

    labels = np.arange(len(distinct))
    if n_edges:
        labels = _components(len(distinct), np.concatenate(edges_i), np.concatenate(edges_j))
    members: dict[int, list[str]] = defaultdict(list)
    for i, h in enumerate(distinct):
        members[int(labels[i])].extend(by_hash[h])
    groups = sorted((sorted(g) for g in members.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))
    result.group_count = len(groups)
    result.files = sorted(n for g in groups for n in g)
    result.groups = [g[:MAX_GROUP_NAMES] for g in groups[:MAX_GROUPS]]
    return result
