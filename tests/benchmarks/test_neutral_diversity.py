"""benchmarks/neutral_diversity.py on two hand-made utterances checkpoints (no dataset, no encoder download).

A bag-of-words stand-in for the sentence encoder makes the similarities exact: a character whose two neutral
utterances are the same text has within-character similarity 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

VOCAB = "i am just thinking about the weather sea train leaves at nine happy angry".split()


class WordEmbedder:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def encode(self, texts):
        rows = np.zeros((len(texts), len(VOCAB)), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(".", "").split():
                rows[i, VOCAB.index(word)] += 1
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def write_run(root: Path, neutral: dict[str, list[str]]) -> Path:
    steps = root / "steps"
    steps.mkdir(parents=True)
    lines = []
    for actor, texts in neutral.items():
        outputs = [
            {
                "id": f"{actor}-u{i}",
                "actor_id": actor,
                "plot_id": "p1",
                "actor": actor.upper(),
                "requested_emotion": "neutral",
                "utterance": text,
            }
            for i, text in enumerate(texts)
        ]
        outputs.append(
            {
                "id": f"{actor}-u9",
                "actor_id": actor,
                "plot_id": "p1",
                "actor": actor.upper(),
                "requested_emotion": "joy",
                "utterance": "I am happy",
            }
        )
        lines.append(json.dumps({"id": actor, "outputs": outputs}))
    (steps / "utterances.jsonl").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def module(monkeypatch, benchmark_script):
    loaded = benchmark_script("neutral_diversity")
    monkeypatch.setattr(loaded, "Embedder", WordEmbedder)
    return loaded


def test_before_after_from_the_utterances_step(module, tmp_path, capsys):
    before = write_run(
        tmp_path / "before",
        {
            "a": ["I am just thinking", "I am just thinking"],
            "b": ["The train leaves at nine", "The train leaves at nine"],
        },
    )
    after = write_run(
        tmp_path / "after",
        {"a": ["I am just thinking", "The weather"], "b": ["The train leaves at nine", "The train leaves at nine"]},
    )
    bench = tmp_path / "BENCHMARKS.md"
    bench.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    assert module.main(["--before", str(before), "--after", str(after), "--markdown", str(bench), "--note", "hi"]) == 0
    text = bench.read_text()
    assert "## Other\n\nkept" in text and module.SECTION in text and "- hi" in text
    table = {
        line.split(" | ")[0].strip("| "): line.split(" | ")[1:]
        for line in text.splitlines()
        if line.startswith("| asked neutral")
    }
    within_before, within_after, paper = table["asked neutral: similarity within one character"]
    assert float(within_before) == pytest.approx(1.0) and float(within_after) < 1.0 and paper.startswith("0.30")
    assert "lower for 1 of 2 characters, unchanged for 1." in text
    assert "A (a), asked to be neutral" in text  # the character whose similarity dropped
    assert "warning" not in capsys.readouterr().out

    # rerunning replaces the section instead of appending another
    module.main(["--before", str(before), "--after", str(after), "--markdown", str(bench)])
    assert bench.read_text().count(module.SECTION) == 1


def test_missing_checkpoint_is_a_clear_error(module, tmp_path):
    with pytest.raises(SystemExit, match="utterances.jsonl not found"):
        module.main(["--before", str(tmp_path), "--after", str(tmp_path)])
