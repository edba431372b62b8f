"""The whole pipeline with the real embedded teacher (Qwen2.5-Coder-0.5B on llama.cpp) on one tiny plot.

Kept to about two minutes on 2 cores: one plot, one actor, 2 emotions + 1 neutral, small max tokens.
"""

from __future__ import annotations

import json

import pytest

from emopillars.synth import SynthesisConfig, synthesize

pytestmark = pytest.mark.llm

PLOT = {
    "id": "tiny_kite",
    "title": "The Kite",
    "text": "Nina builds a red kite with her grandfather Paul. On the first windy day the string snaps and the kite "
    "flies over the river. Paul wades in and brings it back, soaked and laughing, and Nina hugs him.",
}


@pytest.fixture(scope="module")
def embedded_llm():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup builds it)")
    from emopillars.llm import load_llm

    try:
        llm = load_llm(None, cache=False, max_retries=1)
    except (FileNotFoundError, ImportError) as exc:
        pytest.skip(f"embedded model not available: {exc}")
    yield llm
    llm.close()


def test_pipeline_end_to_end_with_embedded_model(tmp_path, embedded_llm):
    corpus = tmp_path / "tiny.jsonl"
    corpus.write_text(json.dumps(PLOT) + "\n")
    config = SynthesisConfig(
        corpus=str(corpus),
        out_dir=str(tmp_path / "run"),
        max_actors=1,
        n_emotions=2,
        n_neutral=1,
        context_fraction=0.5,
        min_plot_chars=0,
        progress=False,
        max_tokens={"actors": 60, "utterances": 160, "labels": 50, "context": 100, "cleaning": 100, "rewriting": 60},
        step_sampling={"utterances": {"temperature": 0.8, "top_p": 0.95, "repetition_penalty": 1.1}},
    )
    manifest = synthesize(config, llm=embedded_llm).data
    assert manifest["status"] == "complete"
    assert "qwen2.5-0.5b" in manifest["model"].lower()
    steps = manifest["steps"]
    assert steps["actors"]["outputs"] >= 1 and steps["utterances"]["inputs"] == 1
    assert 1 <= steps["utterances"]["outputs"] <= 3
    assert steps["labels"]["completion_tokens"] > 0
    assert manifest["records"] >= 1, manifest["drops"]
    records = [
        json.loads(line)
        for path in (tmp_path / "run" / "dataset" / "orig").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert len(records) == manifest["records"]
    for record in records:
        assert record["actor"] and record["utterance"] and record["positive_labels"]
        assert record["provenance"]["model"] == manifest["model"]
    from emopillars.data.loaders import load

    path = next((tmp_path / "run" / "dataset" / "orig").glob("*.jsonl"))
    assert len(load(path, format="synthetic", variant="orig")) >= 1
