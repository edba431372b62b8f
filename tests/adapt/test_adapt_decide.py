"""EmoContext's protocol end to end on a tiny EmoContext-format fixture with a real MiniLM: the paper's argmax row
and the cross-fitted rule row on dev, the rule saved beside the model, test scored only when its file exists,
and `emopillars evaluate` reproducing the test view from the saved model (it remembers its task)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from emopillars.adapt.decide import ADAPTED_FILE, TaskDecision, decide_and_score, load_adapted
from emopillars.adapt.tasks import TaskSpec, load_task
from emopillars.data.example import Example, LabeledData
from emopillars.evaluation.decision import DecisionRule

CUES = {
    "happy": ["this made my day", "I am so happy now", "haha that is wonderful", "yay best news ever"],
    "sad": ["I feel so alone", "I cried all night", "my heart is broken", "I miss her so much"],
    "angry": ["shut up you idiot", "I am furious with you", "stop lying to me", "how dare you say that"],
    "others": ["what time is it", "ok see you tomorrow", "where do you live", "which movie did you watch"],
}
OPENERS = ["hey", "hi there", "so what now", "tell me", "really?"]


def write_emocontext(path, counts: dict[str, int], seed: int) -> None:
    rng = random.Random(seed)
    rows = ["id\tturn1\tturn2\tturn3\tlabel"]
    labels = [label for label, n in counts.items() for _ in range(n)]
    rng.shuffle(labels)
    for i, label in enumerate(labels):
        rows.append(f"{i}\t{rng.choice(OPENERS)}\t{rng.choice(OPENERS)} {i}\t{rng.choice(CUES[label])} {i}\t{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture()
def tiny_emocontext(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    # train: half others (as EmoContext's train); dev and test: mostly others (as its dev and test)
    write_emocontext(data / "train.txt", {"happy": 16, "sad": 16, "angry": 16, "others": 48}, seed=1)
    write_emocontext(data / "dev.txt", {"happy": 6, "sad": 6, "angry": 6, "others": 70}, seed=2)
    spec = load_task("emocontext").model_dump(mode="json")
    spec.update(
        {
            "name": "tiny_emocontext",
            "paths": {k: str(data / f"{k}.txt") for k in ("train", "dev", "test")},
            "epochs": 2,
            "train": {"max_length": 48, "batch_size": 16, "lr": 0.0003},
            "profiles": {},
        }
    )
    spec["protocol"]["dev_fraction"] = 0.1
    spec["decision"]["cross_fit_repeats"] = 3
    return TaskSpec.model_validate(spec), data


def test_task_without_and_with_a_test_file(tiny_emocontext, tmp_path, minilm_path):
    from emopillars.adapt.evaluate import evaluate_task
    from emopillars.adapt.run import adapt

    task, data = tiny_emocontext
    assert not task.has_split("test")
    first = adapt(task, minilm_path, seed=3, out_dir=tmp_path / "no_test")
    run = first["runs"]["run_0"]
    assert set(run["views"]) == {"dev_argmax", "dev_rule"}
    assert first["primary_view"] == "dev_rule" and run["primary_view"] == "dev_rule"
    assert first["metrics"]["emocontext_micro_f1"]["values"] == [
        run["views"]["dev_rule"]["metrics"]["emocontext_micro_f1"]
    ]
    assert run["views"]["dev_rule"]["n"] == 88 and run["views"]["dev_argmax"]["n"] == 88
    assert len(run["views"]["dev_rule"]["values_over_splits"]) == 3
    assert set(run["views"]["dev_argmax"]["per_class"]) == {"happy", "sad", "angry", "others"}
    assert run["selection_metric"] == "emocontext_micro_f1"  # epochs chosen by the task's metric, not 28-label F1
    assert all("dev_emocontext_micro_f1" in record for record in run["history"])
    model = tmp_path / "no_test" / "run_0" / "model"
    saved = load_adapted(model)
    assert saved["task"]["name"] == "tiny_emocontext" and saved["head"] == "keep"
    rule = DecisionRule.from_dict(saved["decision"]["rule"])
    assert rule.fit_rows == 88 and rule.chosen_on == "all of dev (88 rows)"  # the rule chosen on all of dev

    # the user adds the labelled test file: the run's identity changes, and test is scored with the dev rule
    write_emocontext(data / "test.txt", {"happy": 6, "sad": 6, "angry": 6, "others": 70}, seed=4)
    assert task.has_split("test")
    second = adapt(task, minilm_path, seed=3, out_dir=tmp_path / "no_test")
    views = second["runs"]["run_0"]["views"]
    assert set(views) == {"dev_argmax", "dev_rule", "test"}
    assert views["test"]["label"] == "test, rule chosen on all of dev" and views["test"]["n"] == 88
    # the saved model scores the test file the same way without being told its task
    again = evaluate_task(model, data / "test.txt")
    assert again["task"] == "tiny_emocontext"
    for name, value in views["test"]["metrics"].items():
        assert again["task_metrics"][name] == pytest.approx(value, abs=1e-6)
    assert set(again["per_class"]) == {"happy", "sad", "angry", "others"}
    assert json.loads((model / ADAPTED_FILE).read_text())["views"]["test"]["n"] == 88

    # through the CLI, with the task named explicitly (a task YAML): same numbers, files written
    from emopillars.cli.main import main

    task_file = tmp_path / "tiny_emocontext.yaml"
    task_file.write_text(task.to_yaml(), encoding="utf-8")
    report = tmp_path / "report"
    args = ["evaluate", "--model", str(model), "--task", str(task_file), "--data", str(data / "test.txt")]
    assert main([*args, "--report", str(report)]) == 0
    written = json.loads((report / "metrics.json").read_text())
    assert written["emocontext_micro_f1"] == pytest.approx(views["test"]["metrics"]["emocontext_micro_f1"])
    assert "others" in (report / "report.md").read_text()
    # a model that does not remember its task is read by argmax under --task (and refused without it)
    (model / ADAPTED_FILE).unlink()
    plain = evaluate_task(model, data / "test.txt", task)
    assert plain["decision"] == "argmax (nothing chosen)"
    with pytest.raises(ValueError, match="does not remember a task"):
        evaluate_task(model, data / "test.txt")


def test_decide_and_score_train_dev_cross_fits_and_keeps_the_argmax_row():
    task = load_task("emocontext")
    rng = np.random.default_rng(0)
    labels = task.labels

    def data(counts):
        y = np.repeat(np.arange(4), counts)
        examples = [Example(f"t{i}", {labels[c]: 1.0}) for i, c in enumerate(y)]
        scores = rng.dirichlet(np.ones(4), size=len(y)) * 0.5
        scores[np.arange(len(y)), y] += 0.35  # informative but noisy; emotions favoured as after training on train
        scores[:, :3] *= 1.6
        return LabeledData(examples, labels, multi_label=False), scores

    train, _ = data([100, 100, 100, 300])
    dev, dev_scores = data([40, 40, 40, 600])
    test, test_scores = data([40, 40, 40, 600])
    decision, views, primary = decide_and_score(
        task, train, dev.subset([]), None, dev, dev_scores, "dev", {"test": (test, test_scores)}, seed=0
    )
    assert primary == "dev_rule" and list(views) == ["dev_argmax", "dev_rule", "test"]
    assert views["dev_argmax"]["decision"] == "argmax (nothing chosen)"
    assert decision.rule.kind != "argmax" and decision.rule.fit_rows == len(dev)
    # the rule fixes the shift: the cross-fitted dev number and test both beat the argmax row
    official = "emocontext_micro_f1"
    assert views["dev_rule"]["metrics"][official] > views["dev_argmax"]["metrics"][official] + 0.05
    argmax_test = TaskDecision(labels, rule=DecisionRule.argmax(labels))
    from emopillars.adapt.decide import view

    assert views["test"]["metrics"][official] > view(task, "test", test, test_scores, argmax_test)["metrics"][official]
    # in-sample (chosen and scored on all of dev) is at least the cross-fitted estimate
    assert views["dev_rule"]["in_sample"] >= views["dev_rule"]["metrics"][official] - 1e-9


def test_refuses_a_model_folder_without_training_config(tmp_path):
    from emopillars.adapt.evaluate import require_finished_model
    from emopillars.cli.main import main

    folder = tmp_path / "model"
    (folder / "checkpoint").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="has not finished"):
        require_finished_model(folder)
    assert main(["evaluate", "--model", str(folder), "--data", "x.txt", "--report", str(tmp_path / "r")]) == 2


@pytest.mark.parametrize("centres, expected", [((0.2, 0.5, 0.8), "per_class"), ((0.5, 0.5, 0.5), "global")])
def test_threshold_auto_picks_per_class_only_where_the_classes_need_their_own(centres, expected):
    """A multi-label task with ``protocol.threshold: auto``: per-class thresholds when the classes separate at
    different score levels, the global one when they share a scale (both chosen on dev, cross-fitted)."""
    labels = ["a", "b", "c"]
    spec = load_task("goemotions").model_dump(mode="json")
    spec.update({"name": "tiny_multi", "labels": labels, "profiles": {}})
    spec["protocol"]["threshold"] = "auto"
    task = TaskSpec.model_validate(spec)
    rng = np.random.default_rng(0)

    def data(n):
        gold = (rng.random((n, 3)) < 0.3).astype(float)
        examples = [Example(f"t{i}", {labels[c]: 1.0 for c in np.flatnonzero(row)}) for i, row in enumerate(gold)]
        scores = np.clip(np.asarray(centres) + np.where(gold == 1, 0.1, -0.1) + rng.normal(0, 0.05, gold.shape), 0, 1)
        return LabeledData(examples, labels, multi_label=True), scores

    dev, dev_scores = data(600)
    test, test_scores = data(600)
    decision, views, primary = decide_and_score(task, dev, dev, dev_scores, test, test_scores, "test", {}, seed=0)
    policy = decision.policy
    assert policy.kind == expected and primary == "test"
    assert "cross_fitted_per_class" in policy.dev_macro_f1 and "cross_fitted_global" in policy.dev_macro_f1
    if expected == "per_class":
        assert policy.per_class[0] < policy.per_class[1] < policy.per_class[2]
        assert views["test"]["metrics"]["macro_f1"] > 0.9
