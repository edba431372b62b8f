"""Model soups with a real MiniLM: the encoder weights are averaged, the head is the first member's, the soup is a
checkpoint training can start from; members that cannot be averaged get a clear error. Also ``freeze_encoder``:
the head trains, the encoder does not move."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from test_trainer_options import _tiny

from emopillars.adapt.run import resolve_start
from emopillars.inference.loading import load_tokenizer
from emopillars.training.config import TrainConfig
from emopillars.training.model import build_model
from emopillars.training.soup import SOUP_FILE, soup_models
from emopillars.training.trainer import train

LABELS = ["joy", "anger"]


def _member(folder, minilm_path, seed: int, labels=LABELS):
    """A saved fine-tuned-like model: MiniLM with its own random head and its encoder nudged by ``seed``."""
    torch.manual_seed(seed)
    config = TrainConfig(model=minilm_path, output_dir=str(folder), seed=seed, label_names=labels)
    model = build_model(minilm_path, labels, config)
    with torch.no_grad():
        model.bert.encoder.layer[0].output.dense.weight.add_(
            torch.randn_like(model.bert.encoder.layer[0].output.dense.weight)
        )
    model.save_pretrained(folder)
    load_tokenizer(minilm_path).save_pretrained(folder)
    config.save(folder)
    return load_file(folder / "model.safetensors")


def test_soup_averages_the_encoder_and_keeps_the_first_head(tmp_path, minilm_path):
    a = _member(tmp_path / "a", minilm_path, 1)
    b = _member(tmp_path / "b", minilm_path, 2)
    assert not torch.equal(a["classifier.weight"], b["classifier.weight"])  # each seed's own random head
    out = soup_models([tmp_path / "a", tmp_path / "b"], tmp_path / "soup")
    soup = load_file(out / "model.safetensors")
    name = "bert.encoder.layer.0.output.dense.weight"
    assert not torch.equal(a[name], b[name])
    torch.testing.assert_close(soup[name], (a[name] + b[name]) / 2)
    torch.testing.assert_close(
        soup["bert.embeddings.word_embeddings.weight"], a["bert.embeddings.word_embeddings.weight"]
    )
    assert torch.equal(soup["classifier.weight"], a["classifier.weight"])
    record = json.loads((out / SOUP_FILE).read_text())
    assert record["members"] == [str(tmp_path / "a"), str(tmp_path / "b")] and record["kept"] == 2  # weight, bias
    start = resolve_start(str(out))  # a checkpoint: training starts from it
    assert start.is_checkpoint and start.label_names == LABELS
    assert TrainConfig.load(out).output_dir == str(out)


def test_soup_refuses_members_it_cannot_average(tmp_path, minilm_path):
    _member(tmp_path / "a", minilm_path, 1)
    _member(tmp_path / "c", minilm_path, 3, labels=["joy", "fear"])
    with pytest.raises(ValueError, match="at least two models"):
        soup_models([tmp_path / "a"], tmp_path / "soup")
    with pytest.raises(ValueError, match="not the same architecture and label set"):
        soup_models([tmp_path / "a", tmp_path / "c"], tmp_path / "soup")
    with pytest.raises(FileNotFoundError, match="was the model kept"):
        soup_models([tmp_path / "a", tmp_path / "missing"], tmp_path / "soup")
    assert not (tmp_path / "soup").exists()  # nothing half-written


def test_freeze_encoder_trains_the_head_alone(tmp_path, minilm_path):
    before = _member(tmp_path / "start", minilm_path, 1)
    config = TrainConfig(
        model=minilm_path, init_from=str(tmp_path / "start"), head="keep", output_dir=str(tmp_path / "out"),
        epochs=2, max_length=16, batch_size=8, head_lr=1e-2, freeze_encoder=True, seed=3, bf16=False,
    )  # fmt: skip
    train(config, _tiny(16, 1), _tiny(8, 2), progress=False)
    after = load_file(tmp_path / "out" / "model.safetensors")
    body = [name for name in before if name.startswith("bert.") and ".pooler." not in name]
    assert body and all(torch.equal(before[name], after[name]) for name in body)
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])


def test_cli_soup_writes_the_soup_and_refuses_to_overwrite(tmp_path, minilm_path, capsys):
    from emopillars.cli.main import main

    _member(tmp_path / "a", minilm_path, 1)
    _member(tmp_path / "b", minilm_path, 2)
    args = ["soup", "--model", str(tmp_path / "a"), "--model", str(tmp_path / "b"), "--out", str(tmp_path / "s")]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["out"] == str(tmp_path / "s") and len(printed["members"]) == 2 and printed["averaged"] > 50
    assert main(args) == 2 and "pass --force" in capsys.readouterr().err
    assert main(args[:3] + args[5:]) == 2 and "at least two models" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
