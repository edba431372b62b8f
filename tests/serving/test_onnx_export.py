"""ONNX export of a tiny trained model: the folder keeps what prediction needs, and its scores match torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from emopillars.inference.loading import ModelLoadError
from emopillars.serving import EmotionClassifier

TEXTS = [
    "I am so happy today, this is wonderful!",
    "This makes me furious, I hate how they treated us.",
    "Thank you so much for your help.",
    "The meeting is at noon in room four.",
    "ok",
    "Why would anyone think that was a good idea? I'm honestly confused and a bit worried about what comes next.",
]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emopillars.cli.main", *args], capture_output=True, text=True, timeout=600
    )


def test_exported_folder_keeps_tokenizer_labels_thresholds_and_config(tiny_model, tiny_onnx):
    for name, folder in tiny_onnx.items():
        files = {p.name for p in folder.iterdir()}
        assert {"model.onnx", "config.json", "thresholds.json", "training_config.json", "onnx_export.json"} <= files
        assert "tokenizer.json" in files or "vocab.txt" in files
        assert "model.safetensors" not in files and "checkpoint" not in files
        assert (folder / "thresholds.json").read_text() == (tiny_model / "thresholds.json").read_text()
        info = json.loads((folder / "onnx_export.json").read_text())
        assert info["quantization"] == ("fp32" if name == "fp32" else "int8 (dynamic)")
        assert info["source_model"] == tiny_model.name
    int8_size = (tiny_onnx["int8"] / "model.onnx").stat().st_size
    assert int8_size < 0.5 * (tiny_onnx["fp32"] / "model.onnx").stat().st_size


def test_onnx_scores_match_torch(tiny_model, tiny_onnx):
    torch_scores = EmotionClassifier.load(tiny_model, bf16=False).predict_scores(TEXTS, batch_size=4)
    fp32 = EmotionClassifier.load(tiny_onnx["fp32"])  # backend detected from the folder
    assert fp32.backend == "onnx" and fp32.label_names == EmotionClassifier.load(tiny_model).label_names
    np.testing.assert_allclose(fp32.predict_scores(TEXTS, batch_size=4), torch_scores, atol=1e-4)
    int8 = EmotionClassifier.load(tiny_onnx["int8"], backend="onnx")
    int8_scores = int8.predict_scores(TEXTS, batch_size=4)
    # int8 on a model trained for one epoch on 56 rows: close, not equal (GoEmotions parity: benchmarks/inference.py)
    assert np.abs(int8_scores - torch_scores).max() < 0.1
    assert np.abs(int8_scores - torch_scores).mean() < 0.02
    assert "int8" in int8.precision.reason


def test_context_aware_export_encodes_pairs(tiny_context_model, tmp_path):
    from emopillars.data.example import Example
    from emopillars.inference.onnx import export_onnx

    export_onnx(tiny_context_model, tmp_path / "ctx")
    example = Example(text="Well, that went well.", context="The cake fell on the floor.", speaker="Bo")
    onnx = EmotionClassifier.load(tmp_path / "ctx")
    assert onnx.context_aware
    np.testing.assert_allclose(
        onnx.predict_scores([example]),
        EmotionClassifier.load(tiny_context_model, bf16=False).predict_scores([example]),  # fp32 as the export
        atol=1e-4,
    )


def test_predict_and_evaluate_cli_run_the_onnx_folder(tiny_model, tiny_onnx, tmp_path):
    torch_answer = json.loads(cli("predict", "--model", str(tiny_model), "--no-bf16", "--text", TEXTS[0]).stdout)
    result = cli("predict", "--model", str(tiny_onnx["fp32"]), "--backend", "onnx", "--text", TEXTS[0])
    assert result.returncode == 0, result.stderr
    onnx_answer = json.loads(result.stdout)
    assert onnx_answer["labels"] == torch_answer["labels"]
    assert max(abs(onnx_answer["scores"][k] - v) for k, v in torch_answer["scores"].items()) < 1e-4

    data = tmp_path / "data.tsv"
    data.write_text("I am so happy!\t17\tid1\nThis makes me furious.\t2\tid2\nThe meeting is at noon.\t27\tid3\n")
    result = cli("evaluate", "--model", str(tiny_onnx["int8"]), "--data", str(data), "--format", "goemotions",
                 "--report", str(tmp_path / "report"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["backend"] == "onnx" and metrics["n_examples"] == 3

    result = cli("predict", "--model", str(tiny_onnx["fp32"]), "--backend", "torch", "--text", "hi")
    assert result.returncode == 2 and "is an ONNX export" in result.stderr and "Traceback" not in result.stderr


def test_export_cli_writes_a_card_and_refuses_to_overwrite(tiny_model, tmp_path):
    out = tmp_path / "int8"
    result = cli("export", "--model", str(tiny_model), "--onnx", "--int8", "--out", str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["quantization"] == "int8 (dynamic)" and summary["max_abs_diff_vs_torch"] < 0.5
    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert "onnx" in meta["tags"] and "int8" in meta["tags"] and meta["library_name"] == "onnx"
    assert "## ONNX export" in card

    again = cli("export", "--model", str(tiny_model), "--onnx", "--out", str(out))
    assert again.returncode == 2 and "is not empty" in again.stderr
    missing = cli("export", "--model", str(tmp_path / "nope"), "--onnx", "--out", str(tmp_path / "x"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr


def test_export_creates_missing_parent_folders(tiny_model, tmp_path):
    out = tmp_path / "not" / "yet" / "there"  # the staging folder used to land in /tmp and the rename failed
    result = cli("export", "--model", str(tiny_model), "--onnx", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "model.onnx").is_file() and not list(out.parent.glob(".there.*"))


def test_a_damaged_onnx_file_is_a_clear_error(tiny_onnx, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_onnx["fp32"], broken)
    model = broken / "model.onnx"
    model.write_bytes(model.read_bytes()[:5000])
    with pytest.raises(ModelLoadError, match=r"model\.onnx is damaged or not an ONNX model"):
        EmotionClassifier.load(broken)
