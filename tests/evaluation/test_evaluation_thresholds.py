from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from emopillars.evaluation.thresholds import (
    DEFAULT_GRID,
    ThresholdPolicy,
    best_global_threshold,
    best_per_class_thresholds,
    f1_by_threshold,
)


def separable(n=400, cuts=(0.2, 0.5, 0.8), seed=0):
    """Class c is positive exactly when its score is >= cuts[c] (scores avoid the grid points)."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((n, len(cuts))), 2) + 0.003
    y = (scores >= np.array(cuts)).astype(int)
    return y, scores


@pytest.mark.parametrize("on_grid", [False, True])
def test_sweep_equals_sklearn_at_each_threshold(on_grid):
    rng = np.random.default_rng(1)
    y = (rng.random((300, 6)) < 0.2).astype(int)
    scores = np.clip(y * 0.3 + rng.random((300, 6)) * 0.7, 0, 1)
    if on_grid:  # scores equal to grid points: a score equal to the threshold is predicted positive
        scores = np.round(scores, 2)
    f1 = f1_by_threshold(y, scores)
    assert f1.shape == (6, 91)
    for g in range(0, 91, 5):
        pred = (scores >= DEFAULT_GRID[g]).astype(int)
        expected = f1_score(y, pred, average=None, zero_division=0)
        assert f1[:, g] == pytest.approx(expected)


def test_per_class_recovers_known_cuts():
    y, scores = separable()
    thresholds = best_per_class_thresholds(y, scores)
    # each class is perfect on a plateau of grid points (cut-0.01, cut]; any choice there gives F1 1
    for c, cut in enumerate((0.2, 0.5, 0.8)):
        assert cut - 0.011 <= thresholds[c] <= cut + 1e-9
    pred = ThresholdPolicy("per_class", per_class=thresholds.tolist()).apply(scores)
    assert (pred == y).all()


def test_global_threshold_recovers_shared_cut_and_tie_rule():
    y, scores = separable(cuts=(0.4, 0.4))
    threshold, macro = best_global_threshold(y, scores)
    assert macro == pytest.approx(1.0) and 0.39 <= threshold <= 0.4
    # scores only at 0.1 and 0.9: every threshold in (0.1, 0.9] is perfect -> the middle of that plateau
    y2 = np.array([[1], [0], [1], [0]])
    s2 = np.array([[0.9], [0.1], [0.9], [0.1]])
    threshold2, macro2 = best_global_threshold(y2, s2)
    assert macro2 == 1.0 and threshold2 == pytest.approx(0.5)


def test_class_without_positives_falls_back_to_global():
    y, scores = separable(cuts=(0.3, 0.6))
    y = np.column_stack([y, np.zeros(len(y), dtype=int)])
    scores = np.column_stack([scores, np.full(len(y), 0.2)])
    thresholds = best_per_class_thresholds(y, scores, fallback=0.42)
    assert thresholds[2] == pytest.approx(0.42)


def test_sweep_matches_brute_force_on_goemotions_dev_size():
    """At GoEmotions dev size (5,426 x 28), the vectorised choices equal a brute-force sklearn sweep."""
    rng = np.random.default_rng(0)
    y = (rng.random((5426, 28)) < 0.05).astype(int)
    scores = np.clip(y * 0.25 + rng.random((5426, 28)), 0, 1).astype(np.float32)
    brute = np.stack(
        [f1_score(y, (scores >= t).astype(int), average=None, zero_division=0) for t in DEFAULT_GRID], axis=1
    )
    threshold, macro = best_global_threshold(y, scores)
    assert macro == pytest.approx(brute.mean(axis=0).max())
    assert brute.mean(axis=0)[list(DEFAULT_GRID).index(threshold)] == pytest.approx(macro)
    per_class = best_per_class_thresholds(y, scores)
    for c, t in enumerate(per_class):
        assert brute[c, list(DEFAULT_GRID).index(t)] == pytest.approx(brute[c].max())


def test_policy_fit_apply_and_round_trip(tmp_path):
    y, scores = separable(cuts=(0.2, 0.5, 0.8))
    names = ["a", "b", "c"]
    policy = ThresholdPolicy.fit(y, scores, names, kind="per_class")
    assert policy.dev_macro_f1["per_class"] == pytest.approx(1.0)
    assert policy.dev_macro_f1["global"] < 1.0
    path = policy.save(tmp_path)
    assert path.name == "thresholds.json"
    loaded = ThresholdPolicy.load(tmp_path)
    assert loaded == policy
    assert (loaded.apply(scores) == policy.apply(scores)).all()
    assert loaded.apply(np.array([0.9, 0.1, 0.85])).tolist() == [1, 0, 1]
    assert loaded.decode(np.array([[0.9, 0.6, 0.1]])) == [["a", "b"]]
    argmax = ThresholdPolicy("argmax", label_names=names)
    assert argmax.apply(np.array([[0.1, 0.7, 0.2], [0.5, 0.1, 0.2]])).tolist() == [[0, 1, 0], [1, 0, 0]]
    glob = ThresholdPolicy("global", 0.5, label_names=names)
    assert glob.apply(np.array([[0.5, 0.49, 0.9]])).tolist() == [[1, 0, 1]]


def test_policy_validation_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        ThresholdPolicy("top3")
    with pytest.raises(ValueError, match="per_class"):
        ThresholdPolicy("per_class")
    with pytest.raises(ValueError, match="3 labels"):
        ThresholdPolicy("global", per_class=[0.5, 0.5], label_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="columns"):
        ThresholdPolicy("global", label_names=["a", "b"]).apply(np.zeros((1, 3)))
    bad = tmp_path / "t.json"
    bad.write_text("{oops")
    with pytest.raises(ValueError, match="not a valid threshold policy"):
        ThresholdPolicy.load(bad)
    with pytest.raises(FileNotFoundError):
        ThresholdPolicy.load(tmp_path / "missing.json")
