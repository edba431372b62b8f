"""End to end on real GoEmotions rows: train -> calibrate -> evaluate -> predict, through the library and the CLI.

The two tests on the 480-row, 2-epoch model are ``slow`` (minutes on a loaded 2-core machine): ``make test-slow``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from emopillars.cli.main import main
from emopillars.data.loaders import load
from emopillars.evaluation.metrics import multilabel_report
from emopillars.serving import EmotionClassifier
from emopillars.training import TrainConfig, train
from emopillars.training import trainer as trainer_module

TRAIN_ROWS, DEV_ROWS, TEST_ROWS = 480, 240, 300


@pytest.fixture(scope="module")
def goemotions(data_dir):
    root = data_dir / "goemotions"
    return {
        "train": load(root / "train.tsv").subset(range(TRAIN_ROWS)),
        "dev": load(root / "dev.tsv").subset(range(DEV_ROWS)),
        "test": load(root / "test.tsv").subset(range(TEST_ROWS)),
    }


@pytest.fixture(scope="module")
def trained(goemotions, minilm_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    config = TrainConfig(model=minilm_path, output_dir=str(out), epochs=2, max_length=48, batch_size=16, seed=1)
    result = train(config, goemotions["train"], goemotions["dev"], progress=False)
    return out, result


@pytest.mark.slow
def test_training_writes_a_complete_model_dir(trained):
    out, result = trained
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "thresholds.json",
        "training_config.json",
        "train_summary.json",
        "checkpoint/optimizer.pt",
        "checkpoint/state.json",
    ):
        assert (out / name).is_file(), name
    assert result.epochs_run == 2 and len(result.history) == 2
    assert all("dev_macro_f1" in record for record in result.history)
    assert result.best_epoch in (1, 2)
    assert result.policy.kind in ("global", "per_class")
    assert {"global", "per_class", "cross_fitted_global", "cross_fitted_per_class"} <= set(result.policy.dev_macro_f1)
    assert result.train_examples_per_s > 0
    config = json.loads((out / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert config["id2label"]["27"] == "neutral"


@pytest.mark.slow
def test_model_beats_constant_predictors_on_test(trained, goemotions):
    out, _ = trained
    test = goemotions["test"]
    truth = test.targets()
    classifier = EmotionClassifier.load(out)
    predicted = classifier.policy.apply(classifier.predict_scores(test.examples))
    macro = multilabel_report(truth, predicted, test.label_names)["macro_f1"]
    all_on = multilabel_report(truth, np.ones_like(truth), test.label_names)["macro_f1"]
    neutral = np.zeros_like(truth)
    neutral[:, test.label_names.index("neutral")] = 1
    always_neutral = multilabel_report(truth, neutral, test.label_names)["macro_f1"]
    assert macro > max(all_on, always_neutral) + 0.02, (macro, all_on, always_neutral)


def test_resume_continues_after_the_last_finished_epoch(goemotions, minilm_path, tmp_path, monkeypatch):
    small_train, small_dev = goemotions["train"].subset(range(64)), goemotions["dev"].subset(range(32))
    config = TrainConfig(model=minilm_path, output_dir=str(tmp_path), epochs=2, max_length=32, batch_size=16)
    calls = []
    real_epoch = trainer_module._train_epoch

    def dies_in_epoch_two(*args, **kwargs):
        calls.append(kwargs["desc"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "_train_epoch", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(config, small_train, small_dev, progress=False)
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert state["epochs_done"] == 1
    with pytest.raises(ValueError, match="--resume"):  # an unfinished run is never overwritten silently
        train(TrainConfig(**{**config.to_dict(), "resume": False}), small_train, small_dev, progress=False)

    calls.clear()
    monkeypatch.setattr(trainer_module, "_train_epoch", lambda *a, **k: calls.append(k["desc"]) or real_epoch(*a, **k))
    result = train(TrainConfig(**{**config.to_dict(), "resume": True}), small_train, small_dev, progress=False)
    assert calls == ["epoch 2/2"]
    assert [record["epoch"] for record in result.history] == [1, 2]
    assert (tmp_path / "thresholds.json").is_file()
    # the epoch seconds of the killed process are reported, so a resumed cell's cost is its whole cost
    assert result.resumed_train_s == pytest.approx(state["train_seconds"])
    assert result.resumed_train_s > 0


def _train_cli(train_path, dev_path, out, model, *options: str) -> int:
    return main(["train", "--train", str(train_path), "--dev", str(dev_path), "--out", str(out), "--model", model,
                 *options])  # fmt: skip


def _evaluate_cli(model_dir, data, report, limit: int) -> int:
    return main(["evaluate", "--model", str(model_dir), "--data", str(data), "--report", str(report),
                 "--limit", str(limit)])  # fmt: skip


def test_cli_train_evaluate_predict(data_dir, minilm_path, tmp_path, capsys):
    root = data_dir / "goemotions"
    out, report = tmp_path / "model", tmp_path / "report"
    code = _train_cli(root / "train.tsv", root / "dev.tsv", out, minilm_path, "--limit", "96", "--epochs", "1",
                      "--max-length", "32", "--no-progress", "--threshold-policy", "global")  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["policy"] == "global" and summary["dev_macro_f1"] is not None
    assert json.loads((out / "training_config.json").read_text())["limit"] == 96

    assert _evaluate_cli(out, root / "test.tsv", report, 64) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert {"macro_f1", "micro_f1", "per_class"} <= set(metrics) and metrics["n_examples"] == 64
    assert (report / "report.md").is_file() and (report / "per_class_f1.png").is_file()
    capsys.readouterr()

    assert main(["predict", "--model", str(out), "--text", "Thank you so much, this made my day!"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert set(single["scores"]) == set(metrics["label_names"]) and isinstance(single["labels"], list)

    texts = tmp_path / "in.txt"
    texts.write_text("I love it\n\nThis is awful\nWhat?\n")
    lines_out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(out), "--input", str(texts), "--output", str(lines_out)]) == 0
    rows = [json.loads(line) for line in lines_out.read_text().splitlines()]
    assert [row["text"] for row in rows] == ["I love it", "This is awful", "What?"]

    assert main(["predict", "--model", str(tmp_path / "nope"), "--text", "hi"]) == 2
    assert main(["train", "--train", str(tmp_path / "missing.tsv"), "--out", str(tmp_path / "m")]) == 2


def test_context_aware_single_label_emocontext(data_dir, minilm_path, tmp_path, capsys):
    """Context-aware pairs (turns 1-2 as context), a 4-class single-label set, EmoContext's official metric."""
    root = data_dir / "emocontext"
    out, report = tmp_path / "model", tmp_path / "report"
    code = _train_cli(root / "train.txt", root / "dev.txt", out, minilm_path, "--limit", "96", "--dev-limit", "48",
                      "--epochs", "1", "--context-aware", "--max-length", "48", "--no-progress")  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["policy"] == "argmax"
    saved = TrainConfig.load(out)
    assert saved.context_aware and saved.label_names == ["happy", "sad", "angry", "others"]
    assert _evaluate_cli(out, root / "dev.txt", report, 48) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["decision"] == "argmax" and metrics["context_aware"] is True
    # the official metric, recomputed here with sklearn from the model's own predictions of the same 48 rows
    capsys.readouterr()
    head = tmp_path / "dev48.txt"
    head.write_text("".join((root / "dev.txt").read_text(encoding="utf-8").splitlines(keepends=True)[:49]))
    predictions = tmp_path / "dev48.jsonl"
    assert main(["predict", "--model", str(out), "--input", str(head), "--format", "emocontext",
                 "--output", str(predictions)]) == 0  # fmt: skip
    predicted = [json.loads(line)["labels"] for line in predictions.read_text().splitlines()]
    assert all(len(labels) == 1 for labels in predicted)  # argmax: exactly one class each
    gold = [next(iter(e.labels)) for e in load(head, "emocontext")]
    expected = f1_score(gold, [labels[0] for labels in predicted], labels=["happy", "sad", "angry"], average="micro")
    assert metrics["emocontext_micro_f1"] == pytest.approx(expected)
    assert metrics["accuracy"] == pytest.approx(np.mean([g == p[0] for g, p in zip(gold, predicted)]))
