"""benchmarks/threshold_policies.py: each policy chosen on dev and scored on test (synthetic scores, no model)."""

from __future__ import annotations

import numpy as np
import pytest

LABELS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def policies(benchmark_script):
    return benchmark_script("threshold_policies")


def shifted_scores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Three classes whose positives and negatives separate at very different score levels (0.2, 0.5, 0.8)."""
    gold = (rng.random((n, 3)) < 0.3).astype(np.int8)
    centres = np.array([0.2, 0.5, 0.8])
    scores = centres + np.where(gold == 1, 0.08, -0.08) + rng.normal(0, 0.03, (n, 3))
    return gold, np.clip(scores, 0, 1)


def test_per_class_thresholds_win_where_classes_sit_at_different_score_levels(policies):
    rng = np.random.default_rng(0)
    dev_gold, dev_scores = shifted_scores(rng, 600)
    test_gold, test_scores = shifted_scores(rng, 600)
    summary = policies.compare(dev_gold, dev_scores, test_gold, test_scores, LABELS, repeats=2, seed=0)
    rows = summary["rows"]
    assert rows["per_class"]["test_macro_f1"] > 0.95
    assert rows["global"]["test_macro_f1"] < rows["per_class"]["test_macro_f1"] - 0.1
    assert rows["per_class"]["dev_cross_fitted_macro_f1"] > rows["global"]["dev_cross_fitted_macro_f1"]
    assert summary["auto_picks"] == "per_class"
    thresholds = summary["per_class_thresholds"]
    assert thresholds["a"] < thresholds["b"] < thresholds["c"]
    text = policies.markdown(
        {
            **summary,
            "command": "cmd",
            "machine": "m",
            "model": "x",
            "task": "t",
            "dev_rows": 600,
            "seed": 0,
            "test_rows": 600,
            "repeats": 2,
        }
    )
    assert "picks **per_class**" in text and "| global |" in text
    assert rows["auto (picks per_class)"] == rows["per_class"]


def test_global_is_kept_when_the_classes_share_one_scale(policies):
    rng = np.random.default_rng(1)
    gold = (rng.random((400, 3)) < 0.3).astype(np.int8)
    scores = np.clip(0.5 + np.where(gold == 1, 0.1, -0.1) + rng.normal(0, 0.08, gold.shape), 0, 1)
    summary = policies.compare(gold[:200], scores[:200], gold[200:], scores[200:], LABELS, repeats=2, seed=0)
    assert abs(summary["global_threshold"] - 0.5) < 0.1
    assert summary["rows"]["global"]["test_macro_f1"] > 0.8


def test_split_scores_reuses_a_cache_of_the_right_length_and_recomputes_a_stale_one(policies, data_dir, tmp_path):
    from _adapted import split_scores

    from emopillars.adapt.heads import HeadPolicy
    from emopillars.adapt.tasks import load_task
    from emopillars.inference.loading import ModelLoadError

    task = load_task("goemotions")
    head = HeadPolicy.for_task(task, "keep")
    dev_rows = 5426
    cached = np.random.default_rng(0).random((dev_rows, len(task.labels)))
    np.savez(tmp_path / "dev_scores.npz", scores=cached)
    scores, data = split_scores(tmp_path, task, head, "dev")
    assert len(data) == dev_rows
    assert np.array_equal(scores, cached)  # no model was loaded: tmp_path holds none
    np.savez(tmp_path / "dev_scores.npz", scores=cached[:10])  # stale (another split's size): recomputed
    with pytest.raises(ModelLoadError, match="not a model directory"):
        split_scores(tmp_path, task, head, "dev")
