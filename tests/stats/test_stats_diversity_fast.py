"""The vectorised MinHash and one-pass text statistics of :mod:`emopillars.stats.diversity` against the
previous implementation (one ``datasketch.MinHash`` per text, a ``MinHashLSH`` query and insert each; kept
here as the reference) and against datasketch itself."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from emopillars.stats import diversity


def reference_duplicates(texts, threshold=0.8, num_perm=64, seed=0):
    """The implementation before the vectorised one (counts only: its example pairs took an arbitrary hit)."""
    seen: set[str] = set()
    exact = near = 0
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    template = MinHash(num_perm=num_perm, seed=seed)
    for i, text in enumerate(texts):
        key = diversity.normalize(text)
        if key in seen:
            exact += 1
            continue
        seen.add(key)
        signature = MinHash(num_perm=num_perm, seed=seed, permutations=template.permutations, scheme=template.scheme)
        signature.update_batch([s.encode("utf-8") for s in diversity.shingles(text)])
        if lsh.query(signature):
            near += 1
            continue
        lsh.insert(str(i), signature)
    return exact, near


def reference_distinct_n(texts, n):
    grams: Counter = Counter()
    for text in texts:
        words = diversity.tokens(text)
        grams.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else None


BASE = "the old ferry leaves the harbour at nine every morning except on sundays"
FIXTURES = {
    "exact duplicates": ["The cat sat on the mat.", "the cat sat on the MAT", "The cat sat on the mat!"],
    "near duplicates": [BASE, BASE + " again", BASE.replace("nine", "ten"), "again " + BASE],
    "disjoint": ["a red fox runs far", "blue whales sing at night", "my tea went cold twice", "ok"],
    "empty input": [],
    "one text": ["only one thought here"],
    "no words": ["!!!", "...", "日本語", "?", ""],  # empty shingle sets: one shared all-max signature
    "short texts": ["yes", "yes no", "no yes", "yes!", "Yes no."],
}


def random_texts(n: int, seed: int) -> list[str]:
    """Overlapping small vocabulary, repeated and edited texts: exact, near and chance LSH collisions."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(40)]
    texts: list[str] = []
    for _ in range(n):
        roll = rng.random()
        if texts and roll < 0.2:
            texts.append(rng.choice(texts).upper())
        elif texts and roll < 0.5:
            words = rng.choice(texts).split()
            words[rng.randrange(len(words))] = rng.choice(vocab)
            texts.append(" ".join(words + [rng.choice(vocab)]))
        else:
            texts.append(" ".join(rng.choice(vocab) for _ in range(rng.randint(1, 14))))
    return texts


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_duplicates_equal_the_previous_implementation(name):
    texts = FIXTURES[name]
    dup = diversity.duplicates(texts)
    assert (dup["exact"], dup["near"]) == reference_duplicates(texts)
    assert dup["texts"] == len(texts)


def test_duplicates_fixture_values():
    exact = diversity.duplicates(FIXTURES["exact duplicates"])
    assert (exact["exact"], exact["near"]) == (2, 0)
    near = diversity.duplicates(FIXTURES["near duplicates"])
    assert near["exact"] == 0 and near["near"] >= 1
    assert all(kept == BASE for kept, _ in near["near_examples"])  # the earliest kept text they collide with
    disjoint = diversity.duplicates(FIXTURES["disjoint"])
    assert (disjoint["exact"], disjoint["near"], disjoint["duplicate_rate"]) == (0, 0, 0.0)
    assert diversity.duplicates([])["duplicate_rate"] is None
    one = diversity.duplicates(["only one thought here"])
    assert (one["exact"], one["near"], one["near_examples"]) == (0, 0, [])
    no_words = diversity.duplicates(FIXTURES["no words"])
    # "...", "?" and "" normalise to "!!!"'s key ""; "日本語" keeps its key but has no [a-z0-9'] word, so it
    # shares "!!!"'s empty-set signature
    assert (no_words["exact"], no_words["near"]) == (3, 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("threshold", "num_perm"), [(0.8, 64), (0.5, 32), (0.95, 128)])
def test_duplicates_equal_the_previous_implementation_on_random_texts(seed, threshold, num_perm, monkeypatch):
    monkeypatch.setattr(diversity, "_CHUNK", 50)  # many chunks, texts straddling none of their borders
    texts = random_texts(400, seed)
    dup = diversity.duplicates(texts, threshold, num_perm, seed=seed)
    assert (dup["exact"], dup["near"]) == reference_duplicates(texts, threshold, num_perm, seed)
    assert dup["exact"] > 0 and (dup["near"] > 0 or threshold > 0.9)


@pytest.mark.parametrize("seed", [0, 7])
def test_signatures_equal_datasketch(seed, monkeypatch):
    monkeypatch.setattr(diversity, "_CHUNK", 7)  # a chunk smaller than one text's shingles
    texts = random_texts(60, seed) + ["", "one", "one two", " ".join(f"w{i}" for i in range(30))]
    sets = [diversity.shingles(t) for t in texts]
    signatures = diversity.minhash_signatures(sets, num_perm=48, seed=seed)
    for shingle_set, row in zip(sets, signatures):
        m = MinHash(num_perm=48, seed=seed)
        m.update_batch([s.encode("utf-8") for s in shingle_set])
        assert np.array_equal(row, m.hashvalues)
    assert diversity.minhash_signatures([], 16).shape == (0, 16)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_text_diversity_equals_the_separate_statistics(name):
    texts = FIXTURES[name] + FIXTURES[name][:2]  # repeats: the one-pass version counts each occurrence
    both = diversity.text_diversity(texts)
    for n in (1, 2):
        assert both[f"distinct_{n}"] == reference_distinct_n(texts, n) == diversity.distinct_n(texts, n)
    assert both["length"] == diversity.length_stats(texts)
    assert both["duplicates"] == diversity.duplicates(texts)
