"""The appended layer makes the stock classifier read the masked mean of the encoder's token states."""

from __future__ import annotations

import pytest
import torch

from emopillars.training import TrainConfig
from emopillars.training.model import build_model
from emopillars.training.pooling import POOLING_KEY, add_mean_pooling_layer


@pytest.fixture(scope="module")
def parts(minilm_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    model = AutoModelForSequenceClassification.from_pretrained(minilm_path, num_labels=3).eval()
    return model, tokenizer


def test_first_token_of_the_new_layer_is_the_normalised_masked_mean(parts):
    model, tokenizer = parts
    texts = ["short one", "a clearly longer sentence, so that the first one gets padding in this batch"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model.base_model(**batch, output_hidden_states=True).hidden_states[-1]
        mask = batch["attention_mask"].unsqueeze(-1).float()
        mean = (states * mask).sum(1) / mask.sum(1)
        expected = torch.nn.functional.layer_norm(mean, mean.shape[-1:], eps=1e-12)
        n_layers = model.config.num_hidden_layers
        assert add_mean_pooling_layer(model)
        assert model.config.num_hidden_layers == n_layers + 1
        first = model.base_model(**batch, output_hidden_states=True).hidden_states[-1][:, 0]
        alone = model.base_model(**tokenizer(texts[:1], return_tensors="pt"), output_hidden_states=True)
    assert torch.allclose(first, expected, atol=1e-2)
    # padding does not change the pooled vector
    assert torch.allclose(alone.hidden_states[-1][0, 0], first[0], atol=1e-4)
    assert getattr(model.config, POOLING_KEY) == "mean"
    assert not any(p.requires_grad for p in model.base_model.encoder.layer[-1].parameters())


def test_build_model_adds_it_once_and_it_survives_save_and_load(minilm_path, tmp_path):
    from transformers import AutoModelForSequenceClassification

    config = TrainConfig(model=minilm_path, output_dir=str(tmp_path))
    model = build_model(minilm_path, ["a", "b"], config)
    assert model.config.num_hidden_layers == 7
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert loaded.config.num_hidden_layers == 7 and getattr(loaded.config, POOLING_KEY) == "mean"
    resumed = build_model(str(tmp_path), ["a", "b"], config, resuming=True)
    assert resumed.config.num_hidden_layers == 7  # not added twice
    assert not any(p.requires_grad for p in resumed.base_model.encoder.layer[-1].parameters())
    cls_model = build_model(minilm_path, ["a", "b"], TrainConfig(model=minilm_path, pooling="cls"))
    assert cls_model.config.num_hidden_layers == 6
