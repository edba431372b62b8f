"""Trainer options for adaptation recipes: layer-wise lr decay, the softmax loss for single-label tasks, epoch
selection by a task's own metric, and early stopping that a resumed run respects."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from emopillars.data.example import Example, LabeledData
from emopillars.training.config import TrainConfig
from emopillars.training.losses import SoftmaxLoss
from emopillars.training.trainer import Selection, _loss, _optimizer, train


def test_layer_wise_lr_decay_groups(minilm_path):
    from emopillars.training.model import build_model

    config = TrainConfig(model=minilm_path, lr=1e-4, head_lr=2e-3, layer_lr_decay=0.5)
    model = build_model(minilm_path, ["a", "b"], config)
    optimizer = _optimizer(model, config)
    lr_of = {}
    for group in optimizer.param_groups:
        for param in group["params"]:
            lr_of[id(param)] = group["lr"]
    named = dict(model.named_parameters())
    # 6 trainable MiniLM layers (the 7th is the frozen mean-pooling layer, which gets no group at all)
    assert lr_of[id(named["bert.encoder.layer.5.output.dense.weight"])] == pytest.approx(1e-4)
    assert lr_of[id(named["bert.encoder.layer.0.output.dense.weight"])] == pytest.approx(1e-4 * 0.5**5)
    assert lr_of[id(named["bert.embeddings.word_embeddings.weight"])] == pytest.approx(1e-4 * 0.5**6)
    assert lr_of[id(named["classifier.weight"])] == pytest.approx(2e-3)
    assert id(named["bert.encoder.layer.6.output.dense.weight"]) not in lr_of
    # no decay: every body parameter at lr
    flat = _optimizer(model, TrainConfig(model=minilm_path, lr=1e-4, head_lr=2e-3))
    assert {g["lr"] for g in flat.param_groups} == {1e-4, 2e-3}


def test_softmax_loss_is_cross_entropy_over_its_columns():
    logits = torch.tensor([[2.0, 0.5, -1.0, 9.0], [0.1, 0.2, 3.0, -9.0]])
    targets = torch.tensor([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    loss = SoftmaxLoss([0, 1, 2])(logits, targets)
    expected = torch.nn.functional.cross_entropy(logits[:, :3], torch.tensor([0, 2]))
    assert float(loss) == pytest.approx(float(expected))
    # column 3 (outside the task) gets no gradient
    logits.requires_grad_(True)
    SoftmaxLoss([0, 1, 2])(logits, targets).backward()
    assert torch.all(logits.grad[:, 3] == 0) and torch.any(logits.grad[:, :3] != 0)
    config = TrainConfig(loss="softmax", loss_labels=["a", "b"], label_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="1 training rows have none"):
        _loss(config, ["a", "b", "c"], np.array([[1, 0, 0], [0, 0, 1]]))
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig(loss="focal")


def _tiny(n: int, seed: int) -> LabeledData:
    rng = np.random.default_rng(seed)
    words = {"joy": "wonderful lovely day", "anger": "furious outrageous lies"}
    examples = []
    for i in range(n):
        label = ["joy", "anger"][i % 2]
        examples.append(Example(f"{words[label]} {int(rng.integers(1000))}", {label: 1.0}))
    return LabeledData(examples, ["joy", "anger"], multi_label=False)


def test_selection_metric_and_early_stopping_survive_a_resume(tmp_path, minilm_path):
    calls = []

    def falling(scores: np.ndarray) -> float:
        calls.append(scores.shape)
        return 1.0 / len(calls)  # best at epoch 1, worse after: stop after epoch 2 with patience 1

    config = TrainConfig(
        model=minilm_path, output_dir=str(tmp_path), epochs=5, max_length=16, batch_size=8, early_stopping=1,
        loss="softmax", seed=3,
    )  # fmt: skip
    result = train(config, _tiny(16, 1), _tiny(8, 2), progress=False, selection=Selection("falling", falling))
    assert result.epochs_run == 2 and result.best_epoch == 1 and result.stopped_early
    assert result.selection_metric == "falling"
    assert [record["dev_falling"] for record in result.history] == [1.0, 0.5]
    assert "dev_macro_f1" not in result.history[0]  # the 28-label default was not used
    assert result.dev_scores is not None and result.dev_scores.shape == (8, 2)
    assert json.loads((tmp_path / "checkpoint" / "state.json").read_text())["stopped_early"] is True
    # a resumed (or repeated) run of the same config does not train past the early stop
    again = train(
        TrainConfig(**{**config.to_dict(), "resume": True}), _tiny(16, 1), _tiny(8, 2), progress=False,
        selection=Selection("falling", falling),
    )  # fmt: skip
    assert again.epochs_run == 2 and again.best_epoch == 1 and len(calls) == 2  # no epoch was trained again
    assert again.dev_scores is not None  # the calibration re-scored the saved best model


def test_a_model_trained_with_emoji_names_predicts_with_them(tmp_path, minilm_path):
    from emopillars.serving.predictor import EmotionClassifier

    def emoji_only(n: int, seed: int) -> LabeledData:  # the label is in the emoji alone
        rng = np.random.default_rng(seed)
        cue = {"joy": "😂", "anger": "😡"}
        rows = [["joy", "anger"][i % 2] for i in range(n)]
        return LabeledData([Example(f"{cue[r]} {int(rng.integers(100))}", {r: 1.0}) for r in rows], ["joy", "anger"])

    config = TrainConfig(
        model=minilm_path, output_dir=str(tmp_path), epochs=3, max_length=24, batch_size=8, emoji="names",
        loss="softmax", seed=5, lr=3e-4,
    )  # fmt: skip
    train(config, emoji_only(48, 1), emoji_only(16, 2), progress=False)
    assert TrainConfig.load(tmp_path).emoji == "names"
    predictor = EmotionClassifier.load(str(tmp_path))
    assert predictor.encoder.emoji == "names" and predictor.metadata()["emoji"] == "names"
    labels = [row["labels"][0] for row in predictor.predict(["😂 7", "😡 7", "so funny 😂", "how dare you 😡"])]
    assert labels == ["joy", "anger", "joy", "anger"]  # under [UNK] both cues would be one token
