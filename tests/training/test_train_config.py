from __future__ import annotations

import pytest

from emopillars.training import TrainConfig


def test_defaults_resolve_max_length_by_mode():
    assert TrainConfig().max_length == 128
    assert TrainConfig(context_aware=True).max_length == 256
    assert TrainConfig(context_aware=True, max_length=64).max_length == 64


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", 0),
        ("batch_size", -1),
        ("grad_accum", 0),
        ("max_length", 4),
        ("lr", 0.0),
        ("lr", 2.0),
        ("head_lr", -1e-4),
        ("warmup_ratio", 1.0),
        ("weight_decay", -0.1),
        ("pos_weight", 0.5),
        ("label_threshold", 0.0),
        ("threshold_policy", "best"),
        ("head", "old"),
        ("limit", 0),
        ("model", ""),
        ("label_names", ["joy", "joy"]),
        ("emoji", "strip"),
    ],
)
def test_invalid_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field}"):
        TrainConfig(**{field: value})


def test_dict_and_file_round_trip(tmp_path):
    config = TrainConfig(model="mpnet", epochs=2, lr=5e-5, context_aware=True, label_names=["a", "b"], bf16=True)
    assert TrainConfig.from_dict(config.to_dict()) == config
    config.save(tmp_path)
    assert (tmp_path / "training_config.json").is_file()
    assert TrainConfig.load(tmp_path) == config


def test_unknown_keys_are_kept_not_fatal():
    data = TrainConfig().to_dict() | {"future_option": 3}
    config = TrainConfig.from_dict(data)
    assert config.extra["future_option"] == 3


def test_load_missing_or_broken_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="training_config.json"):
        TrainConfig.load(tmp_path)
    (tmp_path / "training_config.json").write_text("{oops")
    with pytest.raises(ValueError, match="not valid JSON"):
        TrainConfig.load(tmp_path)
