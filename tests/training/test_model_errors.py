"""Model-loading faults are one clear error naming the file and what is wrong, never a traceback: a model that is
neither a local folder nor reachable, an empty folder, a truncated or garbled model.safetensors, damaged JSON."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from emopillars.inference.loading import ModelLoadError, check_model_dir, load_tokenizer
from emopillars.serving import EmotionClassifier
from emopillars.taxonomy import LABELS
from emopillars.training.config import TrainConfig
from emopillars.training.model import build_model, resolve_model


def test_missing_local_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_model(str(tmp_path / "no-such-model"))


def test_missing_model_dir_that_looks_like_a_hub_id_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="not a local model directory"):
        load_tokenizer("runs/not-trained-yet")
    with pytest.raises(FileNotFoundError, match="not a local model directory"):
        build_model("runs/not-trained-yet", ["a", "b"], TrainConfig(output_dir=str(tmp_path / "out")))


def test_default_head_lr_is_higher_than_the_body_lr():
    config = TrainConfig()
    assert config.head_lr is not None and config.head_lr > config.lr


@pytest.fixture(scope="module")
def encoder_copy(minilm_path, tmp_path_factory):
    """A copy of the packaged MiniLM folder (a plain transformers model folder) to damage."""
    folder = tmp_path_factory.mktemp("enc") / "minilm"
    shutil.copytree(minilm_path, folder)
    return folder


def damaged(encoder_copy, tmp_path, how: str):
    folder = tmp_path / how
    shutil.copytree(encoder_copy, folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    if how == "truncated":
        weights.write_bytes(data[: len(data) // 3])
    elif how == "garbled":
        weights.write_bytes(b"\x00\xff" * 4000)
    elif how == "empty-weights":
        weights.write_bytes(b"")
    elif how == "bad-header":
        weights.write_bytes(data[:8] + b"{not json" + data[17:])
    elif how == "no-weights":
        weights.unlink()
    elif how == "bad-config":
        (folder / "config.json").write_text('{"model_type": "bert", ')
    elif how == "no-tokenizer":
        for name in ("tokenizer.json", "vocab.txt"):
            (folder / name).unlink(missing_ok=True)
    return folder


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", r"model\.safetensors is truncated: [\d,]+ of [\d,]+ bytes"),
        ("garbled", r"model\.safetensors is damaged or not a safetensors file"),
        ("empty-weights", r"model\.safetensors is truncated: 0 bytes"),
        ("bad-header", r"model\.safetensors is damaged: its safetensors header is not valid JSON"),
        ("no-weights", r"has no model weights \(model\.safetensors is missing\)"),
        ("bad-config", r"config\.json \(the model configuration\) is not valid JSON"),
        ("no-tokenizer", r"has no tokenizer files"),
    ],
)
def test_damaged_folders_name_the_file_and_the_fault(encoder_copy, tmp_path, how, message):
    folder = damaged(encoder_copy, tmp_path, how)
    with pytest.raises(ModelLoadError, match=message):
        check_model_dir(folder)
    with pytest.raises(ModelLoadError, match=message):
        resolve_model(str(folder))  # train --model DIR, adapt --from DIR
    with pytest.raises(ModelLoadError, match=message):
        EmotionClassifier.load(folder)  # predict, evaluate, serve


def test_an_empty_folder_says_so(tmp_path):
    with pytest.raises(ModelLoadError, match="is not a model directory: it is empty"):
        resolve_model(str(tmp_path))
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelLoadError, match="it has no config.json"):
        EmotionClassifier.load(tmp_path)
    with pytest.raises(ModelLoadError, match="is a file, not a model directory"):
        EmotionClassifier.load(tmp_path / "notes.txt")


def test_the_intact_copy_loads(encoder_copy):
    assert check_model_dir(encoder_copy) == encoder_copy


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emopillars.cli.main", *args], capture_output=True, text=True, timeout=600
    )


def test_cli_commands_report_a_truncated_model_in_one_line(encoder_copy, tmp_path):
    folder = damaged(encoder_copy, tmp_path, "truncated")
    data = tmp_path / "train.tsv"
    data.write_text("I am so happy!\t17\tid1\nThis makes me furious.\t2\tid2\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    runs = {
        "train --model TRUNCATED": cli(
            "train", "--train", str(data), "--out", str(tmp_path / "o1"), "--model", str(folder)
        ),
        "train --model EMPTY": cli(
            "train", "--train", str(data), "--out", str(tmp_path / "o2"), "--model", str(empty)
        ),
        "predict": cli("predict", "--model", str(folder), "--text", "hello"),
        "evaluate": cli("evaluate", "--model", str(folder), "--data", str(data), "--report", str(tmp_path / "r")),
    }
    for name, result in runs.items():
        assert result.returncode == 2, (name, result.stderr)
        assert "Traceback" not in result.stderr, (name, result.stderr)
        errors = [line for line in result.stderr.splitlines() if ": error: " in line]
        assert len(errors) == 1, (name, result.stderr)
        if "EMPTY" in name:
            assert "is not a model directory: it is empty" in errors[0] and "sentencepiece" not in errors[0]
        else:
            assert "model.safetensors is truncated" in errors[0], (name, errors[0])


def test_adapt_from_a_truncated_checkpoint_is_one_line(encoder_copy, tmp_path, data_dir):
    folder = damaged(encoder_copy, tmp_path, "truncated")
    TrainConfig(model="minilm", output_dir=str(folder), label_names=list(LABELS)).save(folder)
    result = cli("adapt", "--task", "goemotions", "--from", str(folder), "--out", str(tmp_path / "a"),
                 "--profile", "quick", "--limit", "50")  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "model.safetensors is truncated" in result.stderr
