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
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
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


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    grams: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        words = tokens(text)
        grams.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else None


def shingles(text: str, k: int = 3) -> set[str]:
    words = tokens(text)
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def duplicates(texts: Sequence[str], threshold: float = 0.8, num_perm: int = 64, seed: int = 0) -> dict[str, Any]:
    """Exact and near duplicates (see module doc); the first of a group is the original."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    seen: set[str] = set()
    exact = near = 0
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    template = MinHash(num_perm=num_perm, seed=seed)
    examples: list[tuple[str, str]] = []
    kept: dict[str, str] = {}
    for i, text in enumerate(texts):
        key = normalize(text)
        if key in seen:
            exact += 1
            continue
        seen.add(key)
        signature = MinHash(num_perm=num_perm, seed=seed, permutations=template.permutations, scheme=template.scheme)
        signature.update_batch([s.encode("utf-8") for s in shingles(text)])
        hits = lsh.query(signature)
        if hits:
            near += 1
            if len(examples) < 5:
                examples.append((kept[hits[0]], text))
            continue
        lsh.insert(str(i), signature)
        kept[str(i)] = text
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


def length_stats(texts: Sequence[str]) -> dict[str, Any]:
    """Words per text: mean, sd, median, and a histogram over :data:`LENGTH_BINS`."""
    lengths = [len(tokens(text)) for text in texts]
    mean, sd = mean_sd(lengths)
    histogram = dict.fromkeys((f"{lo}-{hi - 1}" for lo, hi in zip(LENGTH_BINS, LENGTH_BINS[1:])), 0)
    histogram[f"{LENGTH_BINS[-1]}+"] = 0
    labels = list(histogram)
    for length in lengths:
        index = int(np.searchsorted(LENGTH_BINS, length, side="right")) - 1
        histogram[labels[index]] += 1
    return {
        "texts": len(lengths),
        "mean_words": mean,
        "sd_words": sd,
        "median_words": float(np.median(lengths)) if lengths else None,
        "max_words": max(lengths) if lengths else None,
        "histogram": histogram,
    }


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


def text_diversity(texts: Sequence[str], near_dup_threshold: float = 0.8, seed: int = 0) -> dict[str, Any]:
    """distinct-1/2, duplicates and lengths of a set of texts (the embedding part is separate)."""
    return {
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "duplicates": duplicates(texts, near_dup_threshold, seed=seed),
        "length": length_stats(texts),
    }
