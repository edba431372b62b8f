"""Decision rules for single-label data under a prior shift: chosen on one set, scored honestly on another.

The fixture is a calibrated classifier trained where the *none* class holds 50 % of the rows, applied where
it holds 85 % (EmoContext's train vs dev). The Bayes-optimal correction for that shift is known, so the
corrected rule must beat argmax on fresh data from the shifted distribution, and the offset it learns must
be close to the true log-prior ratio.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from emopillars.evaluation.decision import (
    DecisionRule,
    class_prior,
    confusion_matrix,
    cross_fit,
    fit_rule,
    metric_from_confusion,
    stratified_parts,
)
from emopillars.evaluation.metrics import emocontext_micro_f1, single_label_report

LABELS = ["happy", "sad", "angry", "others"]
TRAIN_PRIOR = np.array([1 / 6, 1 / 6, 1 / 6, 1 / 2])
SHIFTED_PRIOR = np.array([0.05, 0.05, 0.05, 0.85])


def sample(prior: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn with ``prior``; scores = the posterior a classifier calibrated on TRAIN_PRIOR would give.

    Features: one Gaussian per class in 4-D (unit variance, means 2 apart), so the classes overlap about as
    much as a small encoder's EmoContext scores do (argmax official micro-F1 ~0.66)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(len(LABELS), size=n, p=prior)
    means = np.eye(len(LABELS)) * 2.0
    x = means[y] + rng.normal(size=(n, len(LABELS)))
    log_likelihood = -0.5 * ((x[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    logits = log_likelihood + np.log(TRAIN_PRIOR)[None, :]
    posterior = np.exp(logits - logits.max(axis=1, keepdims=True))
    return y, posterior / posterior.sum(axis=1, keepdims=True)


def official(y, predicted) -> float:
    return emocontext_micro_f1([LABELS[i] for i in y], [LABELS[i] for i in predicted])


def test_prior_corrected_rule_beats_argmax_under_a_known_shift():
    y_dev, s_dev = sample(SHIFTED_PRIOR, 3000, seed=1)
    y_test, s_test = sample(SHIFTED_PRIOR, 20000, seed=2)
    rule = fit_rule(y_dev, s_dev, LABELS, "emocontext_micro_f1", prior_train=TRAIN_PRIOR, none_label="others")
    assert rule.kind != "argmax"
    argmax_f1 = official(y_test, s_test.argmax(axis=1))
    corrected_f1 = official(y_test, rule.apply(s_test))
    assert corrected_f1 > argmax_f1 + 0.025, (argmax_f1, corrected_f1)
    # the Bayes correction with the true priors also beats argmax; the fitted rule is at least as good
    bayes = DecisionRule("prior", LABELS, (np.log(SHIFTED_PRIOR) - np.log(TRAIN_PRIOR)).tolist())
    assert official(y_test, bayes.apply(s_test)) > argmax_f1 + 0.025
    assert corrected_f1 >= official(y_test, bayes.apply(s_test)) - 0.01
    # the rule moves towards others (fewer emotions predicted), as the shift demands
    assert rule.offsets[3] - np.mean(rule.offsets[:3]) > 0.3
    assert (rule.apply(s_test) == 3).mean() > (s_test.argmax(axis=1) == 3).mean() + 0.03


def test_no_shift_keeps_argmax_nearly_unchanged():
    y, s = sample(TRAIN_PRIOR, 4000, seed=3)
    rule = fit_rule(y, s, LABELS, "macro_f1", prior_train=TRAIN_PRIOR, none_label="others")
    assert abs(rule.offsets[3] - np.mean(rule.offsets[:3])) < 0.5
    y_test, s_test = sample(TRAIN_PRIOR, 20000, seed=4)
    argmax_f1 = single_label_report(y_test.tolist(), s_test.argmax(axis=1).tolist(), LABELS)["macro_f1"]
    fitted_f1 = single_label_report(y_test.tolist(), rule.apply(s_test).tolist(), LABELS)["macro_f1"]
    assert fitted_f1 > argmax_f1 - 0.01


def test_cross_fit_is_honest_and_pools_both_halves():
    y, s = sample(SHIFTED_PRIOR, 2000, seed=5)
    options = {"prior_train": TRAIN_PRIOR, "none_label": "others"}
    crossed = cross_fit(y, s, LABELS, "emocontext_micro_f1", parts=2, repeats=4, seed=0, **options)
    in_sample = fit_rule(y, s, LABELS, "emocontext_micro_f1", **options).fit_score
    y_test, s_test = sample(SHIFTED_PRIOR, 20000, seed=6)
    out_of_sample = official(y_test, fit_rule(y, s, LABELS, "emocontext_micro_f1", **options).apply(s_test))
    assert len(crossed.values) == 4 and crossed.std >= 0
    assert crossed.mean <= in_sample + 1e-9  # choosing on the scored rows can only flatter
    assert abs(crossed.mean - out_of_sample) < 0.03  # and the cross-fitted estimate tracks fresh data
    assert crossed.report["n_examples"] == 2000  # every row predicted once per repeat (both halves pooled)
    assert set(crossed.report["per_class"]) == set(LABELS)
    assert sum(crossed.kinds_chosen.values()) == 4 * 2
    assert crossed.report["emocontext_micro_f1"] == pytest.approx(crossed.mean)


def test_stratified_parts_cover_every_row_once_and_balance_classes():
    y = np.array([0] * 10 + [1] * 7 + [2] * 3)
    parts = stratified_parts(y, 2, np.random.default_rng(0))
    rows = np.sort(np.concatenate(parts))
    assert rows.tolist() == list(range(20))
    for label, count in ((0, 10), (1, 7), (2, 3)):
        in_parts = [int((y[p] == label).sum()) for p in parts]
        assert sum(in_parts) == count and max(in_parts) - min(in_parts) <= 1
    assert abs(len(parts[0]) - len(parts[1])) <= 1


def test_metrics_from_confusion_match_the_reference_implementations():
    rng = np.random.default_rng(7)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    confusion = confusion_matrix(y, p, 4)
    reference = single_label_report(y.tolist(), p.tolist(), LABELS)
    assert metric_from_confusion("macro_f1", confusion, LABELS) == pytest.approx(reference["macro_f1"])
    assert metric_from_confusion("accuracy", confusion, LABELS) == pytest.approx(reference["accuracy"])
    assert metric_from_confusion("emocontext_micro_f1", confusion, LABELS) == pytest.approx(official(y, p))
    with pytest.raises(ValueError, match="unknown single-label metric"):
        metric_from_confusion("auc", confusion, LABELS)


def test_rule_round_trips_and_rejects_bad_input(tmp_path):
    y, s = sample(SHIFTED_PRIOR, 600, seed=8)
    rule = fit_rule(y, s, LABELS, "emocontext_micro_f1", prior_train=TRAIN_PRIOR, none_label="others", chosen_on="x")
    path = rule.save(tmp_path)
    again = DecisionRule.load(path)
    assert again == rule and (again.apply(s) == rule.apply(s)).all()
    assert "chosen on x" in rule.describe()
    assert json.loads(path.read_text())["kind"] == rule.kind
    assert class_prior(np.array([0, 0, 1]), 3).tolist() == pytest.approx([3 / 6, 2 / 6, 1 / 6])
    # kinds that need what is not given are skipped: without a train prior or none label only argmax is left
    assert fit_rule(y, s, LABELS, "macro_f1").kind == "argmax"
    with pytest.raises(ValueError, match="unknown decision rule kinds"):
        fit_rule(y, s, LABELS, "macro_f1", kinds=["magic"])
    with pytest.raises(ValueError, match="scores"):
        DecisionRule.argmax(LABELS).apply(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="none_label"):
        DecisionRule("none_offset", LABELS, none_label="neutral")
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        DecisionRule.load(tmp_path / "bad.json")
