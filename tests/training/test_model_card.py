"""Model cards: every trained folder has a README.md in the hub's card format whose metadata parses, whose
Markdown renders, whose pipeline snippet runs as written, and which holds no secret or private path."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from emopillars.serving import EmotionClassifier
from emopillars.training.model_card import (
    front_matter,
    pipeline_snippet,
    record_evaluation,
    refresh_model_card,
    render_model_card,
)

PRIVATE = re.compile(r"/home/|/root/|/Users/|/tmp/|/work/|pytest-of")


def split_card(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    _, meta, body = text.split("---\n", 2)
    return yaml.safe_load(meta), body


@pytest.fixture(scope="module")
def card_model(minilm_path, tmp_path_factory):
    """A tiny model trained from a data file whose path holds a home folder and a credential-looking URL."""
    from emopillars.data.example import Example, LabeledData
    from emopillars.training import TrainConfig, train

    labels = ["joy", "anger", "neutral"]
    texts = {"joy": "I am so happy!", "anger": "This makes me furious.", "neutral": "It is a table."}
    rows = [Example(text=text, labels={label: 1.0}) for label, text in texts.items()] * 6
    source = "/home/alice/secret-project/goemotions/train.tsv"
    data = LabeledData(rows, labels, source=source)
    dev = LabeledData(rows, labels, source="https://user:hunter2@example.org/goemotions/dev.tsv")
    out = tmp_path_factory.mktemp("card") / "card-model"
    config = TrainConfig(model="minilm", output_dir=str(out), epochs=1, max_length=32, batch_size=8)
    train(config, data, dev, progress=False)
    return out


def test_every_trained_folder_gets_a_card_whose_metadata_parses(card_model):
    text = (card_model / "README.md").read_text()
    meta, body = split_card(text)
    assert meta["pipeline_tag"] == "text-classification" and meta["library_name"] == "transformers"
    assert meta["license"] == "apache-2.0"
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["datasets"] == ["google-research-datasets/go_emotions"]
    assert "emotion-classification" in meta["tags"] and "multi-label" in meta["tags"]
    assert meta["metrics"] == ["f1"]
    summary = json.loads((card_model / "train_summary.json").read_text())
    values = {m["name"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert values["macro-F1 (dev)"] == pytest.approx(summary["dev_macro_f1"], abs=1e-4)
    for section in ("## Labels and thresholds", "## Use with `transformers.pipeline`", "## Training data",
                    "## Training settings", "## Measured metrics", "## Intended use", "## Limitations"):  # fmt: skip
        assert section in body


def test_hub_card_parser_reads_metadata_and_eval_results(card_model):
    hub = pytest.importorskip("huggingface_hub", reason="huggingface_hub comes with transformers")
    card = hub.ModelCard.load(card_model / "README.md")
    assert card.data.pipeline_tag == "text-classification"
    results = card.data.eval_results
    assert (
        results
        and results[0].metric_type == "f1"
        and results[0].dataset_type == "google-research-datasets/go_emotions"
    )
    assert results[0].dataset_split == "dev"


def test_markdown_renders_to_tables_and_code(card_model):
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py comes with rich")
    _, body = split_card((card_model / "README.md").read_text())
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(body)
    assert html.count("<table>") >= 4  # thresholds, data, settings, metrics
    assert '<code class="language-python">' in html
    labels = re.findall(r"<tr>\s*<td>(\w+)</td>\s*<td>([0-9.]+)</td>", html)
    policy = json.loads((card_model / "thresholds.json").read_text())
    expected = dict(zip(policy["label_names"], policy["per_class"])) if policy["kind"] == "per_class" else None
    assert [name for name, _ in labels[:3]] == ["joy", "anger", "neutral"]
    for name, value in labels[:3]:
        want = expected[name] if expected else policy["global_threshold"]
        assert float(value) == pytest.approx(want, abs=1e-4)


def test_no_secret_and_no_private_path(card_model):
    for name in ("README.md", "model_card.json"):
        text = (card_model / name).read_text()
        assert not PRIVATE.search(text), PRIVATE.search(text)
        assert "hunter2" not in text and "alice" not in text
        assert str(Path.home()) not in text and str(card_model.parent) not in text


def test_the_pipeline_snippet_runs_and_agrees_with_the_classifier(card_model):
    text = (card_model / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1).replace("MODEL_FOLDER", str(card_model))
    picked_rows = []
    namespace = {"print": lambda picked, scores: picked_rows.append((picked, scores))}
    exec(compile(code, "model-card-snippet", "exec"), namespace)  # the card's code, as a user would run it
    ours = EmotionClassifier.load(card_model, bf16=False).predict(  # fp32, as the pipeline
        ["I can't wait to see you!", "This is the worst service ever."]
    )
    assert [sorted(picked) for picked, _ in picked_rows] == [sorted(r["labels"]) for r in ours]
    for (_, scores), row in zip(picked_rows, ours):
        np.testing.assert_allclose([scores[k] for k in row["scores"]], list(row["scores"].values()), atol=1e-4)


def test_recorded_evaluations_and_exports_re_render(card_model, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(card_model, folder)
    record_evaluation(folder, "goemotions", "test", {"macro_f1": 0.5123, "micro_f1": 0.61})
    meta, body = split_card((folder / "README.md").read_text())
    splits = {r["dataset"]["split"]: r for r in meta["model-index"][0]["results"]}
    assert set(splits) == {"dev", "test"}
    assert {m["value"] for m in splits["test"]["metrics"]} == {0.5123, 0.61}
    record_evaluation(folder, "goemotions", "test", {"macro_f1": 0.5})  # replaces, does not duplicate
    meta, _ = split_card((folder / "README.md").read_text())
    test = [r for r in meta["model-index"][0]["results"] if r["dataset"]["split"] == "test"][0]
    assert [m["value"] for m in test["metrics"]] == [0.5]


def test_a_folder_without_card_data_still_gets_a_card(card_model, tmp_path):
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(card_model, folder)
    (folder / "model_card.json").unlink()
    (folder / "README.md").unlink()
    refresh_model_card(folder)
    meta, body = split_card((folder / "README.md").read_text())
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" or "base_model" not in meta
    assert "joy" in body


def test_single_label_and_context_aware_snippets():
    data = {"context_aware": True, "thresholds": {"kind": "argmax"}, "labels": ["a", "b"], "multi_label": False}
    snippet = pipeline_snippet(data)
    assert '"text_pair"' in snippet and "max(scores, key=scores.get)" in snippet
    meta = front_matter({**data, "name": "m", "metrics": []})
    assert "single-label" in meta["tags"] and "context-aware" in meta["tags"] and meta["license"] == "other"
    yaml.safe_load(render_model_card({**data, "name": "m"}).split("---\n")[1])


def test_cards_never_name_the_home_folder_even_in_free_text():
    home = os.path.expanduser("~")
    text = render_model_card({"name": "m", "labels": ["a"], "base_model_name": f"{home}/models/enc",
                              "settings": {"initialised_from": "/home/bob/runs/x"}})  # fmt: skip
    assert "/home/bob" not in text and (home == "/" or f"{home}/" not in text)
