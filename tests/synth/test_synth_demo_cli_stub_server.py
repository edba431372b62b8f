"""`emopillars demo` wiring: synthesize (stub server as the teacher) -> train MiniLM -> evaluate -> report.

The real teacher's run is `make demo` itself (about 10 minutes); here the stub keeps it to seconds, and
the classifier training and evaluation are real (MiniLM, one epoch). The stub's labels are a hash of the
text, so the score itself means nothing; what is checked is that the reported score is the macro-F1 of
the trained model on the split the demo says it evaluated, recomputed independently (scikit-learn on the
records' own labels).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from emopillars.cli.main import main as cli_main
from emopillars.testing.stub_server import start_stub_server


def test_demo_synthesizes_trains_and_evaluates_stub_server(tmp_path, minilm_path, capsys):
    from sklearn.metrics import f1_score

    from emopillars.data.loaders import load
    from emopillars.serving import EmotionClassifier

    server = start_stub_server()
    try:
        out = tmp_path / "demo"
        code = cli_main(
            ["demo", "--out", str(out), "--llm", f"openai:{server.url}#stub", "--epochs", "1", "--no-progress"]
        )
    finally:
        server.shutdown()
    printed = capsys.readouterr().out
    assert code == 0, printed
    manifest = json.loads((out / "synthesis" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["plots"] == 5
    assert (out / "model").is_dir()
    for needle in ("macro-F1", "manifest", str(out / "model"), "report.md", "labels per example"):
        assert needle in printed

    split, shown = re.search(r"\b(test|dev) macro-F1 ([0-9.]+)", printed).groups()
    path = Path(manifest["outputs"]["dataset"]) / "orig" / f"{split}.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    metrics = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert metrics["n_examples"] == len(records) > 0  # the split it names, every record of it

    classifier = EmotionClassifier.load(metrics["model"])
    labels = list(classifier.label_names)
    gold = np.zeros((len(records), len(labels)), dtype=int)
    for row, record in enumerate(records):
        for label in record["positive_labels"]:
            gold[row, labels.index(label)] = 1
    data = load(path, format="synthetic", variant="orig")
    predicted = classifier.policy.apply(classifier.predict_scores(data.examples))
    expected = f1_score(gold, predicted, average="macro", zero_division=0)
    assert metrics["macro_f1"] == pytest.approx(expected, abs=1e-9)
    assert shown == f"{expected:.3f}"
