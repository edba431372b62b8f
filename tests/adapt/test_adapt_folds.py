"""Fold assignment: stratified, identical texts in one fold, no overlap, every row covered, seed-stable."""

from __future__ import annotations

import collections

import numpy as np

from emopillars.adapt.folds import group_keys, is_non_answer, kfold, normalize_text
from emopillars.data.example import Example, LabeledData

LABELS = ["joy", "fear", "anger", "sadness"]


def _data(n_per_class: int = 60, duplicates: int = 12) -> LabeledData:
    rng = np.random.default_rng(0)
    examples = []
    for c, label in enumerate(LABELS):
        for i in range(n_per_class):
            examples.append(Example(f"situation {c}-{i} {rng.integers(1_000_000)}", {label: 1.0}))
    for d in range(duplicates):  # the same text several times, with different labels (as in ISEAR)
        for copy in range(3):
            text = f"Shared Text number {d}!" if copy else f"shared text   number {d}"
            examples.append(Example(text, {LABELS[(d + copy) % 4]: 1.0}))
    for label in LABELS:
        examples.append(Example("[ No response.]", {label: 1.0}))
        examples.append(Example("NO RESPONSE.", {label: 1.0}))
    return LabeledData(examples, LABELS, multi_label=False)


def test_folds_cover_all_rows_without_overlap():
    data = _data()
    folds = kfold(data, n_folds=5, seed=3, dev_fraction=0.1)
    tests = [set(fold.test) for fold in folds]
    assert sum(len(t) for t in tests) == len(data)
    assert set().union(*tests) == set(range(len(data)))
    for fold in folds:
        assert not set(fold.train) & set(fold.test)
        assert not set(fold.dev) & set(fold.test)
        assert not set(fold.dev) & set(fold.train)
        assert set(fold.train) | set(fold.dev) | set(fold.test) == set(range(len(data)))
        assert len(fold.dev) > 0


def test_identical_texts_share_a_fold_and_never_straddle_train_and_test():
    data = _data()
    keys = group_keys(data.examples)
    folds = kfold(data, n_folds=5, seed=3)
    for fold in folds:
        test_keys = {keys[i] for i in fold.test}
        assert not test_keys & {keys[i] for i in fold.train + fold.dev}
    non_answer_rows = [i for i, e in enumerate(data.examples) if is_non_answer(e.text)]
    assert len(non_answer_rows) == 8 and len({keys[i] for i in non_answer_rows}) == 1
    assert normalize_text("Shared Text number 3!") == normalize_text("shared text   number 3")


def test_folds_are_stratified_within_tolerance():
    data = _data()
    folds = kfold(data, n_folds=5, seed=3)
    labels = [next(iter(e.labels)) for e in data.examples]
    overall = collections.Counter(labels)
    for fold in folds:
        counts = collections.Counter(labels[i] for i in fold.test)
        for label in LABELS:
            expected = overall[label] * len(fold.test) / len(data)
            assert abs(counts[label] - expected) <= 0.15 * expected + 3, (label, counts, expected)


def test_folds_are_reproducible_and_seed_dependent():
    data = _data()
    a = [f.test for f in kfold(data, 5, seed=3)]
    assert a == [f.test for f in kfold(data, 5, seed=3)]
    assert a != [f.test for f in kfold(data, 5, seed=4)]


def test_isear_folds_on_the_real_file(data_dir):
    from emopillars.adapt.run import load_split
    from emopillars.adapt.tasks import load_task

    task = load_task("isear")
    data = load_split(task, "data")
    assert len(data) == 7666
    keys = group_keys(data.examples)
    assert len(set(keys)) < 7502  # duplicates (and the non-answers) collapse into groups
    folds = kfold(data, 5, task.protocol.seed, task.protocol.dev_fraction)
    assert sorted(i for f in folds for i in f.test) == list(range(len(data)))
    for fold in folds:
        assert not {keys[i] for i in fold.test} & {keys[i] for i in fold.train + fold.dev}
        assert 1400 < len(fold.test) < 1700
