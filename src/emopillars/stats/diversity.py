"""Diversity statistics: distinct-n, exact and near duplicates, utterance length, and embedding similarity
within one character vs across characters.

Definitions (docs/data-report.md):

- *tokens*: lower-cased words (``[a-z0-9']+``); *distinct-n*: distinct n-grams / all n-grams over the set
  (Li et al., 2016), None when the set has no n-gram;
- *exact duplicates*: texts equal to an earlier text after lower-casing and dropping punctuation;
  *near duplicates*: the other texts whose MinHash estimate of the Jaccard similarity of word 3-shingles
  with an earlier text is at least ``threshold`` (0.8, the synthesis filter's default), found with
  MinHash LSH; the rates are over all texts;
- *within / across similarity*: the mean cosine similarity of sentence embeddings over all unordered
  pairs of texts of the same character (within) and over all pairs of texts of different characters
  (across); also across characters of the same plot. Computed exactly, not sampled: with unit vectors,
  the sum over the pairs of a group is ``(|sum of the vectors|^2 - n) / 2``, so every mean costs one pass
  over the vectors (:func:`group_similarity`). Only the embedding step is capped (see
  :func:`sample_groups`).

Speed (a measured reason for hand-written MinHash): ``emopillars inspect`` measures the teacher's
utterances before the filters, ~84K texts on a 7K-record run. One :class:`datasketch.MinHash` object per
text plus one LSH query and insert each (object set-up, per-text numpy calls, a SHA-1 per shingle per
text) took 17.5 s of a 36 s report (cProfile, 2 cores). :func:`minhash_signatures` computes the same
signatures for all texts at once: each distinct shingle hashed once (the same SHA-1 32-bit hash), the
same permutations (taken from a ``datasketch.MinHash`` of the same ``num_perm`` and ``seed``) applied to
one array, and a segmented minimum per text; the LSH banding uses datasketch's own band layout
(``MinHashLSH(threshold, num_perm).hashranges``) with one dict per band. The signatures and the duplicate
counts are equal to datasketch's (tests/stats/test_stats_diversity_fast.py checks both against it). Each
distinct text is tokenised once for distinct-n, lengths and shingles (:func:`text_diversity`).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

from emopillars.data.text import normalize_text as normalize  # the key for exact duplicates, as the filter's
from emopillars.stats.labels import mean_sd

_TOKEN = re.compile(r"[a-z0-9']+")
LENGTH_BINS: tuple[int, ...] = (0, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100)
"""Lower edges of the word-count bins of the length histogram (the last bin is open)."""


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _distinct(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """The distinct texts in first-seen order and how often each occurs."""
    counts = Counter(texts)
    return list(counts), list(counts.values())


def _distinct_n(words: Sequence[Sequence[str]], counts: Sequence[int], n: int) -> float | None:
    """distinct-n over texts given as token lists (each ``counts[i]`` times)."""
    grams: set[tuple[str, ...]] = set()
    total = 0
    for w, count in zip(words, counts):
        k = len(w) - n + 1
        if k > 0:
            total += count * k
            grams.update(zip(*(w[i:] for i in range(n))))
    return len(grams) / total if total else None


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    unique, counts = _distinct(texts)
    return _distinct_n([tokens(t) for t in unique], counts, n)


def _shingles(words: Sequence[str], k: int = 3) -> set[str]:
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def shingles(text: str, k: int = 3) -> set[str]:
    return _shingles(tokens(text), k)


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch's ``affine32`` scheme pre-mixes each hash."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


_MERSENNE = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64((1 << 32) - 1)
_CHUNK = 1 << 16
"""Shingles permuted at once (rows of a chunk x num_perm array)."""


def minhash_signatures(shingle_sets: Sequence[Iterable[str]], num_perm: int = 64, seed: int = 0) -> np.ndarray:
    """(n, num_perm) MinHash signatures of ``shingle_sets``, equal to ``datasketch.MinHash(num_perm=num_perm,
    seed=seed)`` updated with each set's UTF-8 shingles (its default ``affine32`` scheme, or ``legacy``),
    computed for all sets at once (see the module doc)."""
    template = MinHash(num_perm=num_perm, seed=seed)
    scheme = getattr(template, "scheme", "legacy")
    if scheme not in ("affine32", "legacy"):
        raise ValueError(f"unsupported datasketch MinHash scheme {scheme!r}")
    a, b = (np.asarray(p) for p in template.permutations)
    empty = np.asarray(template.hashvalues)
    cache: dict[str, int] = {}
    flat: list[int] = []
    offsets = [0]
    for shingle_set in shingle_sets:
        for shingle in shingle_set:
            value = cache.get(shingle)
            if value is None:
                value = cache[shingle] = int.from_bytes(hashlib.sha1(shingle.encode("utf-8")).digest()[:4], "little")
            flat.append(value)
        offsets.append(len(flat))
    n = len(offsets) - 1
    signatures = np.tile(empty, (n, 1))
    if not flat:
        return signatures
    if scheme == "affine32":
        hashes = _fmix32(np.array(flat, dtype=np.uint32))
    else:
        hashes = np.array(flat, dtype=np.uint64)
    bounds = np.asarray(offsets, dtype=np.int64)
    nonempty = np.flatnonzero(bounds[1:] > bounds[:-1])
    first = 0
    while first < len(nonempty):
        # texts [first, last) whose shingles fit one chunk (at least one text)
        start = bounds[nonempty[first]]
        last = max(first + 1, int(np.searchsorted(bounds[nonempty + 1], start + _CHUNK, side="right")))
        rows = nonempty[first:last]
        stop = bounds[rows[-1] + 1]
        part = hashes[start:stop, None]
        if scheme == "affine32":
            permuted = part * a + b  # uint32: the wrap-around is the modulo 2^32
        else:
            permuted = np.bitwise_and((part * a + b) % _MERSENNE, _MAX32)
        signatures[rows] = np.minimum(empty, np.minimum.reduceat(permuted, bounds[rows] - start, axis=0))
        first = last
    return signatures


def _duplicates(
    texts: Sequence[str],
    unique: Sequence[str],
    words: Sequence[Sequence[str]],
    threshold: float,
    num_perm: int,
    seed: int,
) -> dict[str, Any]:
    """:func:`duplicates` given the distinct texts and their tokens (each distinct text shingled once)."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    shingle_sets = {t: _shingles(w) for t, w in zip(unique, words)}
    keys = {t: normalize(t) for t in unique}
    seen: set[str] = set()
    exact = 0
    firsts: list[str] = []
    for text in texts:
        key = keys[text]
        if key in seen:
            exact += 1
            continue
        seen.add(key)
        firsts.append(text)
    signatures = minhash_signatures([shingle_sets[t] for t in firsts], num_perm, seed)
    bands = [
        np.ascontiguousarray(signatures[:, start:end])
        .view(np.dtype((np.void, signatures.itemsize * (end - start))))
        .ravel()
        .tolist()
        for start, end in MinHashLSH(threshold=threshold, num_perm=num_perm).hashranges
    ]
    tables: list[dict[bytes, int]] = [{} for _ in bands]
    near = 0
    examples: list[tuple[str, str]] = []
    for j, text in enumerate(firsts):
        hit = -1
        for table, column in zip(tables, bands):
            found = table.get(column[j], -1)
            if found >= 0 and (hit < 0 or found < hit):
                hit = found
        if hit >= 0:
            near += 1
            if len(examples) < 5:
                examples.append((firsts[hit], text))
            continue
        for table, column in zip(tables, bands):
            table.setdefault(column[j], j)
    n = len(texts)
    return {
        "texts": n,
        "threshold": threshold,
        "exact": exact,
        "near": near,
        "exact_rate": exact / n if n else None,
        "near_rate": near / n if n else None,
        "duplicate_rate": (exact + near) / n if n else None,
        "near_examples": [list(pair) for pair in examples],
    }


def duplicates(texts: Sequence[str], threshold: float = 0.8, num_perm: int = 64, seed: int = 0) -> dict[str, Any]:
    """Exact and near duplicates (see module doc); the first of a group is the original, and a near
    duplicate's example pairs it with the earliest kept text it collides with in the LSH bands."""
    unique, _ = _distinct(texts)
    return _duplicates(texts, unique, [tokens(t) for t in unique], threshold, num_perm, seed)


def _length_stats(lengths: Sequence[int]) -> dict[str, Any]:
    mean, sd = mean_sd(lengths)
    histogram = dict.fromkeys((f"{lo}-{hi - 1}" for lo, hi in zip(LENGTH_BINS, LENGTH_BINS[1:])), 0)
    histogram[f"{LENGTH_BINS[-1]}+"] = 0
    labels = list(histogram)
    bins = np.searchsorted(LENGTH_BINS, np.asarray(lengths, dtype=np.int64), side="right") - 1
    for index, count in zip(*np.unique(bins, return_counts=True)):
        histogram[labels[int(index)]] = int(count)
    return {
        "texts": len(lengths),
        "mean_words": mean,
        "sd_words": sd,
        "median_words": float(np.median(lengths)) if len(lengths) else None,
        "max_words": max(lengths) if len(lengths) else None,
        "histogram": histogram,
    }


def length_stats(texts: Sequence[str]) -> dict[str, Any]:
    """Words per text: mean, sd, median, and a histogram over :data:`LENGTH_BINS`."""
    return _length_stats([len(tokens(text)) for text in texts])


def _pair_sum(vectors: np.ndarray) -> float:
    """Sum of the dot products over all unordered pairs of rows."""
    total = vectors.sum(axis=0, dtype=np.float64)
    return float((total @ total - np.einsum("ij,ij->", vectors, vectors, dtype=np.float64)) / 2)


def group_similarity(
    embeddings: np.ndarray, groups: Sequence[str], supergroups: Sequence[str] | None = None
) -> dict[str, Any]:
    """Mean cosine similarity within groups, across groups, and across groups inside one supergroup.

    ``embeddings``: (n, d) rows (normalised here); ``groups``: the character of each row; ``supergroups``:
    the plot of each row (optional). Pairs are unordered pairs of distinct rows; means are None without pairs.
    """
    vectors = np.asarray(embeddings, dtype=np.float64)
    n = len(groups)
    if vectors.shape[0] != n:
        raise ValueError(f"{vectors.shape[0]} embeddings for {n} group ids")
    if n:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1.0, norms)
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        by_group[group].append(i)
    all_pairs = n * (n - 1) // 2
    all_sum = _pair_sum(vectors) if n > 1 else 0.0
    within_pairs = sum(len(ix) * (len(ix) - 1) // 2 for ix in by_group.values())
    within_sum = sum(_pair_sum(vectors[ix]) for ix in by_group.values() if len(ix) > 1)
    across_pairs = all_pairs - within_pairs
    out: dict[str, Any] = {
        "texts": n,
        "groups": len(by_group),
        "groups_with_pairs": sum(len(ix) > 1 for ix in by_group.values()),
        "within_pairs": within_pairs,
        "within": within_sum / within_pairs if within_pairs else None,
        "across_pairs": across_pairs,
        "across": (all_sum - within_sum) / across_pairs if across_pairs else None,
    }
    if supergroups is not None:
        by_super: dict[str, list[int]] = defaultdict(list)
        by_both: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, sg in enumerate(supergroups):
            by_super[sg].append(i)
            by_both[(sg, groups[i])].append(i)
        super_pairs = sum(len(ix) * (len(ix) - 1) // 2 for ix in by_super.values())
        super_sum = sum(_pair_sum(vectors[ix]) for ix in by_super.values() if len(ix) > 1)
        both_pairs = sum(len(ix) * (len(ix) - 1) // 2 for ix in by_both.values())
        both_sum = sum(_pair_sum(vectors[ix]) for ix in by_both.values() if len(ix) > 1)
        pairs = super_pairs - both_pairs
        out["across_same_plot_pairs"] = pairs
        out["across_same_plot"] = (super_sum - both_sum) / pairs if pairs > 0 else None
    return out


def sample_groups(groups: Sequence[str], limit: int | None, seed: int = 0) -> list[int]:
    """Row indices of whole groups, in a seeded hash order of the groups, until ``limit`` rows are taken.

    Whole groups keep every within-group pair of the groups taken; None or a limit >= the rows takes all.
    """
    if limit is None or limit >= len(groups):
        return list(range(len(groups)))
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        by_group[group].append(i)
    order = sorted(by_group, key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())
    taken: list[int] = []
    for group in order:
        if len(taken) + len(by_group[group]) > limit and taken:
            continue
        taken.extend(by_group[group])
        if len(taken) >= limit:
            break
    return sorted(taken)


def text_diversity(
    texts: Sequence[str], near_dup_threshold: float = 0.8, seed: int = 0, num_perm: int = 64
) -> dict[str, Any]:
    """distinct-1/2, duplicates and lengths of a set of texts (the embedding part is separate), each distinct
    text tokenised once."""
    unique, counts = _distinct(texts)
    words = [tokens(t) for t in unique]
    length_of = {t: len(w) for t, w in zip(unique, words)}
    return {
        "distinct_1": _distinct_n(words, counts, 1),
        "distinct_2": _distinct_n(words, counts, 2),
        "duplicates": _duplicates(texts, unique, words, near_dup_threshold, num_perm, seed),
        "length": _length_stats([length_of[t] for t in texts]),
    }
