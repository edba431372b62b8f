"""A model that is neither a local directory nor reachable is one clear FileNotFoundError, not a hub traceback."""

from __future__ import annotations

import pytest

from emopillars.training.config import TrainConfig
from emopillars.training.model import build_model, load_tokenizer, resolve_model


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
