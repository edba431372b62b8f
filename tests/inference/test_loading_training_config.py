"""A model folder's ``training_config.json`` says how inputs were encoded; an invalid one is refused by name.

Regression (benchmarks/faults.py): ``{"epochs": 0}`` as the training configuration was read for its two encoding
fields only, so ``evaluate`` and ``predict`` exited 0 with guessed settings (context-less, length 128) instead of
saying that the file is not a valid training configuration.
"""

from __future__ import annotations

import json

import pytest

from emopillars.inference.loading import EncodingSettings, ModelLoadError
from emopillars.training.config import CONFIG_FILE, TrainConfig


def write(folder, content) -> None:
    (folder / CONFIG_FILE).write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"max_length": 4}, "max_length"),
        ({"max_length": "long"}, "max_length"),
        ({"context_aware": True, "pooling": "nope"}, "pooling"),
        ([1, 2], "not a JSON object"),
        ("{oops", "not valid JSON"),
    ],
)
def test_an_invalid_training_config_is_refused_naming_the_file(tmp_path, content, message):
    write(tmp_path, content)
    with pytest.raises(ModelLoadError, match=message) as caught:
        EncodingSettings.read(tmp_path)
    assert CONFIG_FILE in str(caught.value)


def test_a_saved_training_config_gives_its_encoding(tmp_path):
    TrainConfig(output_dir=str(tmp_path), context_aware=True).save(tmp_path)
    assert EncodingSettings.read(tmp_path) == EncodingSettings(context_aware=True, max_length=256)
    TrainConfig(output_dir=str(tmp_path), max_length=64).save(tmp_path)
    assert EncodingSettings.read(tmp_path) == EncodingSettings(context_aware=False, max_length=64)
    TrainConfig(output_dir=str(tmp_path), emoji="names").save(tmp_path)
    assert EncodingSettings.read(tmp_path) == EncodingSettings(context_aware=False, max_length=128, emoji="names")


def test_a_config_from_before_the_emoji_setting_keeps_emoji(tmp_path):
    old = {k: v for k, v in TrainConfig(output_dir=str(tmp_path)).to_dict().items() if k != "emoji"}
    write(tmp_path, old)
    assert EncodingSettings.read(tmp_path).emoji == "keep"


def test_unknown_keys_from_a_newer_version_are_not_fatal(tmp_path):
    write(tmp_path, {**TrainConfig(output_dir=str(tmp_path)).to_dict(), "a_future_option": 3})
    assert EncodingSettings.read(tmp_path) == EncodingSettings(context_aware=False, max_length=128)
