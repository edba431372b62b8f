"""A tiny real model (MiniLM, 1 epoch on 32 GoEmotions-format rows written here) shared by the CLI tests."""

from __future__ import annotations

import pytest

from emopillars.taxonomy import LABELS

TEXTS = (
    "Thank you so much, this made my day!",
    "I can't believe they cancelled it again.",
    "What a wonderful surprise, I love it.",
    "This is so sad, I miss her every day.",
    "Why would anyone do that? I don't get it.",
    "Ok, see you tomorrow then.",
    "That is disgusting, please stop.",
    "I'm scared of what happens next.",
)
IDS = ("15", "3", "18", "25", "6", "27", "11", "14")


def goemotions_rows(n: int, start: int = 0) -> str:
    """``n`` GoEmotions TSV rows (text, label id, unique comment id)."""
    lines = []
    for i in range(start, start + n):
        lines.append(f"{TEXTS[i % len(TEXTS)]} ({i})\t{IDS[i % len(IDS)]}\tc{i}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_data")
    train = root / "train.tsv"
    train.write_text(goemotions_rows(32), encoding="utf-8")
    test = root / "test.tsv"
    test.write_text(goemotions_rows(16, start=100), encoding="utf-8")
    return {"train": train, "test": test, "root": root}


@pytest.fixture(scope="session")
def tiny_model(tiny_data, minilm_path, tmp_path_factory):
    from emopillars.data.loaders import load
    from emopillars.training import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny_model")
    config = TrainConfig(model=minilm_path, output_dir=str(out), epochs=1, max_length=24, batch_size=16, seed=3)
    train(config, load(tiny_data["train"]), None, progress=False)
    assert len(LABELS) == 28
    return out


@pytest.fixture(scope="session")
def rows():
    """``rows(n, start=0)``: GoEmotions TSV text with unique ids ``c<start>``..."""
    return goemotions_rows
