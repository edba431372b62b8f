from __future__ import annotations

import json

import numpy as np

from emopillars.evaluation.metrics import multilabel_report, single_label_report
from emopillars.evaluation.report import write_report


def test_writes_json_markdown_and_png(tmp_path):
    rng = np.random.default_rng(0)
    names = ["zeal", "awe", "calm"]  # not alphabetical: the table must keep label order
    y = (rng.random((50, 3)) < 0.3).astype(int)
    p = (rng.random((50, 3)) < 0.3).astype(int)
    metrics = multilabel_report(y, p, names) | {"model": "tiny", "threshold": np.float32(0.35)}
    paths = write_report(metrics, tmp_path / "out", title="Tiny eval")
    saved = json.loads(paths["metrics"].read_text())
    assert saved["macro_f1"] == metrics["macro_f1"] and saved["threshold"] == np.float32(0.35).item()
    markdown = paths["markdown"].read_text()
    assert markdown.startswith("# Tiny eval")
    assert f"**Macro-F1 (headline)**: {metrics['macro_f1']:.4f}" in markdown
    assert f"**Micro-F1**: {metrics['micro_f1']:.4f}" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]
    rows = [line.split("|")[1].strip() for line in table]
    assert rows == ["label", "zeal", "awe", "calm"]
    assert "- model: tiny" in markdown
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths["chart"].stat().st_size > 2000


def test_single_label_report_renders_accuracy(tmp_path):
    metrics = single_label_report([0, 1, 2, 3], [0, 1, 3, 3], ["happy", "sad", "angry", "others"])
    metrics["emocontext_micro_f1"] = 0.8
    paths = write_report(metrics, tmp_path)
    markdown = paths["markdown"].read_text()
    assert "**Accuracy**: 0.7500" in markdown and "EmoContext micro-F1" in markdown
    assert "confusion" not in markdown  # kept in metrics.json only
    assert json.loads(paths["metrics"].read_text())["confusion"][2][3] == 1
