"""The saved model directory loads unchanged in transformers, and EmotionClassifier scores what the pipeline scores."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from emopillars.data.example import Example, LabeledData
from emopillars.serving import EmotionClassifier
from emopillars.training import TrainConfig, train

LABELS = ["joy", "anger", "neutral"]
TEXTS = {
    "joy": ["I am so happy today!", "What a wonderful surprise, thank you!", "This is the best day ever."],
    "anger": ["This makes me furious.", "I hate how they treated us.", "Stop lying to me, I am so angry."],
    "neutral": ["The meeting is at noon.", "It is a table.", "The train leaves from platform two."],
}


def _data() -> LabeledData:
    examples = [Example(text=t, labels={label: 1.0}) for label, texts in TEXTS.items() for t in texts]
    return LabeledData(examples * 4, list(LABELS), source="inline")


@pytest.fixture(scope="module")
def model_dir(minilm_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    config = TrainConfig(model=minilm_path, output_dir=str(out), epochs=1, max_length=32, batch_size=8)
    train(config, _data(), _data(), progress=False)
    return out


def test_loads_unchanged_with_auto_model_and_pipeline(model_dir):
    from transformers import AutoModelForSequenceClassification, pipeline

    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    assert model.config.id2label == dict(enumerate(LABELS))
    assert model.config.problem_type == "multi_label_classification"

    texts = ["I am thrilled!", "You ruined everything and I am livid.", "Tables have legs.", "ok"]
    classifier = EmotionClassifier.load(model_dir, bf16=False)
    ours = classifier.predict_scores(texts, batch_size=3)
    pipe = pipeline("text-classification", model=str(model_dir), top_k=None, device="cpu")
    theirs = np.array([[{r["label"]: r["score"] for r in row}[label] for label in LABELS] for row in pipe(texts)])
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_context_aware_model_encodes_pairs_like_the_pipeline(model_dir, tmp_path):
    from transformers import pipeline

    pair_dir = tmp_path / "pair"
    shutil.copytree(model_dir, pair_dir, ignore=shutil.ignore_patterns("checkpoint"))
    config = TrainConfig.load(pair_dir)
    config.context_aware = True
    config.save(pair_dir)
    example = Example(text="Well, that went well.", context="The cake fell on the floor.", speaker="Bo")
    ours = EmotionClassifier.load(pair_dir, bf16=False).predict_scores([example])[0]
    pipe = pipeline("text-classification", model=str(pair_dir), top_k=None, device="cpu")
    row = pipe({"text": "The cake fell on the floor. Character: Bo.", "text_pair": example.text})
    row = row[0] if isinstance(row[0], list) else row
    theirs = np.array([{r["label"]: r["score"] for r in row}[label] for label in LABELS])
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_predict_uses_the_saved_policy_and_can_override_it(model_dir):
    classifier = EmotionClassifier.load(model_dir)
    saved = json.loads((model_dir / "thresholds.json").read_text())
    assert classifier.policy.kind == saved["kind"]
    results = classifier.predict(["I am so happy!", Example(text="It is a table.")])
    assert len(results) == 2 and set(results[0]["scores"]) == set(LABELS)
    thresholds = dict(zip(LABELS, classifier.policy.thresholds(len(LABELS))))
    for result in results:
        expected = {label for label, score in result["scores"].items() if score >= thresholds[label]}
        assert set(result["labels"]) == expected
    argmax = EmotionClassifier.load(model_dir, policy="argmax").predict(["I am so happy!"])[0]
    assert argmax["labels"] == [max(argmax["scores"], key=argmax["scores"].get)]
    assert classifier.predict([]) == []
    with pytest.raises(ValueError, match="cannot predict"):
        classifier.predict([42])


def test_bf16_inference_stays_close(model_dir):
    texts = ["I am so happy!", "This makes me furious.", "It is a table."]
    fp32 = EmotionClassifier.load(model_dir, bf16=False).predict_scores(texts)
    bf16 = EmotionClassifier.load(model_dir, bf16=True).predict_scores(texts)
    assert np.abs(fp32 - bf16).max() < 0.05


def test_missing_dir_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="is not a model directory: it is empty"):
        EmotionClassifier.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        EmotionClassifier.load(tmp_path / "missing")
