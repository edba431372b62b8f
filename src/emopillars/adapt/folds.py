"""Stratified group k-fold: folds balanced by label, with every group (an identical text, a dialogue) in one fold.

ISEAR holds 7,666 rows but only 7,502 distinct texts; a plain stratified split would put copies of one
text on both sides, so a model would be tested on sentences it was trained on. Groups are the
normalized text (or ``Example.group``, a dialogue id). ISEAR's placeholder non-answers (85 "no response"
rows and a dozen like "Doesn't apply.", see ``NON_ANSWERS``) are one group, whatever their spelling or
label, unless the protocol drops them. Text identity is :func:`emopillars.data.text.normalize_text`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emopillars.data.example import Example, LabeledData
from emopillars.data.text import normalize_text

# Normalized placeholder answers seen in ISEAR ("[ No response.]" x78, "NO RESPONSE." x7, "[ No reponse.]",
# "Doesn't apply.", "Blank.", ...). Cross-references like "[ Same as in anger.]" are left alone.
NON_ANSWERS = frozenset(
    {"no response", "no reponse", "no description", "not applicable", "doesn t apply", "blank", "none", "nothing"}
)


def is_non_answer(text: str) -> bool:
    """ISEAR-style placeholders (``[ No response.]``) that carry no situation at all."""
    return normalize_text(text) in NON_ANSWERS


def group_keys(examples: list[Example], group_by: str = "text") -> list[str]:
    """One key per example; equal keys must share a fold. Non-answers share one key."""
    keys = []
    for example in examples:
        if group_by == "group" and example.group is not None:
            keys.append(f"g:{example.group}")
        elif is_non_answer(example.text):
            keys.append("t:<non-answer>")
        elif example.context:
            # context-aware data: the same reply in another conversation is another example
            keys.append(f"t:{normalize_text(example.context)} || {normalize_text(example.text)}")
        else:
            keys.append(f"t:{normalize_text(example.text)}")
    return keys


def stratify_labels(data: LabeledData) -> np.ndarray:
    """One class id per row for stratification: the single label, or the rarest positive label when multi-label."""
    targets = data.targets()
    if targets.size == 0:
        return np.zeros(len(data), dtype=int)
    frequency = targets.sum(axis=0)
    out = np.full(len(data), targets.shape[1], dtype=int)  # rows without a positive label: their own stratum
    for row in range(len(data)):
        positives = np.flatnonzero(targets[row])
        if positives.size:
            out[row] = int(positives[np.argmin(frequency[positives])])
    return out


@dataclass(frozen=True)
class Fold:
    """Row indices of one fold: ``train`` and ``dev`` (selection) never share a group with ``test``."""

    index: int
    train: list[int]
    dev: list[int]
    test: list[int]


def assign_folds(y: np.ndarray, groups: list[str], n_splits: int, seed: int) -> np.ndarray:
    """A fold id per row: whole groups go, largest first, to the fold holding fewest rows of their stratum.

    Groups are shuffled with ``seed`` within each stratum (the most common class of the group) before
    the stable size sort, so ties break differently per seed. Greedy balancing keeps each class within
    about one group of an even share per fold; it is linear in the number of groups (sklearn's
    StratifiedGroupKFold took ~15 s on 30K singleton groups here).
    """
    members: dict[str, list[int]] = {}
    for row, key in enumerate(groups):
        members.setdefault(key, []).append(row)
    if len(members) < n_splits:
        raise ValueError(f"cannot make {n_splits} folds from {len(members)} distinct groups")
    strata: dict[int, list[str]] = {}
    for key, rows in members.items():
        values, counts = np.unique(y[rows], return_counts=True)
        strata.setdefault(int(values[np.argmax(counts)]), []).append(key)
    rng = np.random.default_rng(seed)
    fold_of = np.full(len(y), -1, dtype=int)
    totals = np.zeros(n_splits, dtype=int)
    for stratum in sorted(strata):
        keys = strata[stratum]
        keys = [keys[i] for i in rng.permutation(len(keys))]
        keys.sort(key=lambda k: -len(members[k]))
        in_stratum = np.zeros(n_splits, dtype=int)
        for key in keys:
            fold = min(range(n_splits), key=lambda f: (in_stratum[f], totals[f], f))
            rows = members[key]
            fold_of[rows] = fold
            in_stratum[fold] += len(rows)
            totals[fold] += len(rows)
    return fold_of


def _group_split(y: np.ndarray, groups: list[str], n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    fold_of = assign_folds(np.asarray(y), groups, n_splits, seed)
    return [(np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)) for k in range(n_splits)]


def carve_dev(
    indices: list[int], y: np.ndarray, groups: list[str], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Split ``indices`` into (train, dev) with about ``fraction`` in dev, stratified and group-aware."""
    if fraction <= 0 or len(indices) < 4:
        return list(indices), []
    n_splits = max(2, round(1 / fraction))
    sub_groups = [groups[i] for i in indices]
    if len(set(sub_groups)) < n_splits:
        return list(indices), []
    sub_y = y[indices]
    train_part, dev_part = _group_split(sub_y, sub_groups, n_splits, seed)[0]
    return [indices[i] for i in train_part], [indices[i] for i in dev_part]


def kfold(
    data: LabeledData, n_folds: int = 5, seed: int = 13, dev_fraction: float = 0.1, group_by: str = "text"
) -> list[Fold]:
    """``n_folds`` folds over ``data``; each test fold is disjoint, all of them together cover every row.

    The dev part of each fold comes from that fold's training rows only (``seed + 1 + fold`` so that the
    carves differ per fold yet are reproducible).
    """
    if len(data) == 0:
        raise ValueError("cannot split an empty dataset into folds")
    y = stratify_labels(data)
    groups = group_keys(data.examples, group_by)
    folds = []
    for index, (train_idx, test_idx) in enumerate(_group_split(y, groups, n_folds, seed)):
        train, dev = carve_dev(sorted(int(i) for i in train_idx), y, groups, dev_fraction, seed + 1 + index)
        folds.append(Fold(index, sorted(train), sorted(dev), sorted(int(i) for i in test_idx)))
    return folds


def drop_non_answers(data: LabeledData) -> tuple[LabeledData, int]:
    """``data`` without placeholder non-answers, and how many were dropped."""
    keep = [i for i, example in enumerate(data.examples) if not is_non_answer(example.text)]
    return data.subset(keep), len(data) - len(keep)
