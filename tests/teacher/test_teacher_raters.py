"""Raters: a trained classifier's scores become levels with its own threshold on 0.3; LLM sample decoding."""

from __future__ import annotations

import numpy as np
import pytest

from emopillars.evaluation.thresholds import ThresholdPolicy
from emopillars.llm.types import SamplingParams
from emopillars.teacher.raters import ModelRater, calibrated_levels, sample_params


def test_calibrated_levels_put_the_threshold_on_0_3():
    levels = calibrated_levels(np.array([[0.0, 0.2, 0.4, 0.7, 1.0]]), np.full(5, 0.4))
    assert levels[0] == pytest.approx([0.0, 0.15, 0.3, 0.3 + 0.7 * 0.3 / 0.6, 1.0])
    per_class = calibrated_levels(np.array([[0.5, 0.5]]), np.array([0.5, 0.8]))
    assert per_class[0][0] == pytest.approx(0.3) and per_class[0][1] < 0.3  # positive only where the model says so


class _FakeClassifier:
    """Stands in for a loaded EmotionClassifier (scores fixed per text)."""

    context_aware = False
    label_names = ["joy", "anger", "fear"]

    def __init__(self):
        self.policy = ThresholdPolicy(kind="per_class", global_threshold=0.5, per_class=[0.5, 0.2, 0.9],
                                      label_names=self.label_names)  # fmt: skip

    def predict_scores(self, texts, batch_size=64):
        table = {"happy": [0.9, 0.1, 0.05], "cross": [0.2, 0.3, 0.5]}
        return np.array([table[t] for t in texts])


def test_model_rater_answers_follow_its_policy():
    rater = ModelRater("/models/fake", classifier=_FakeClassifier())
    assert rater.name == "model:fake"
    answers = rater.rate([{"id": "a", "utterance": "happy"}, {"id": "b", "utterance": "cross"}])
    happy, cross = answers[0][0], answers[1][0]
    assert happy["joy"] == pytest.approx(round(0.3 + 0.7 * 0.4 / 0.5, 3))
    assert happy["anger"] == pytest.approx(0.15) and "fear" not in happy  # 0.3 * 0.05 / 0.9 < 0.1: left out
    assert [k for k, v in happy.items() if v >= 0.3] == ["joy"]
    # anger 0.3 >= its threshold 0.2 -> positive; fear 0.5 < 0.9 -> below 0.3; joy 0.2 < 0.5 -> below 0.3
    assert cross["anger"] >= 0.3 and cross["fear"] < 0.3 and cross["joy"] < 0.3
    assert list(cross)[0] == "anger"  # ordered by level
    assert rater.stats.calls == 2


def test_sample_params_single_and_several():
    base = SamplingParams(seed=5)
    assert sample_params(base, 0, 1, None) is base  # one sample: the step's own decoding (greedy)
    assert sample_params(base, 0, 1, 0.3).temperature == 0.3
    k2 = sample_params(base, 2, 3, None)
    assert (k2.temperature, k2.seed) == (0.7, 7)
