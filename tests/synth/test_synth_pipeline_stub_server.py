"""The whole pipeline through the real LLM layer (OpenAI-compatible client) against the deterministic stub
server: fast, so it can check resume, config changes and errors exactly. The real model runs in
test_synth_real_model.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from emopillars.cli.main import main as cli_main
from emopillars.synth import ConfigMismatchError, SynthesisConfig, SynthesisError, synthesize
from emopillars.synth.corpus import CorpusError
from emopillars.synth.steps import labels
from emopillars.testing.stub_server import start_stub_server

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"


@pytest.fixture
def stub():
    server = start_stub_server()
    yield server
    server.shutdown()


def _config(tmp_path, stub, **kw):
    base = dict(
        corpus=str(DEMO), out_dir=str(tmp_path / "run"), llm=f"openai:{stub.url}#stub", cache=False, progress=False
    )
    base.update(kw)
    return SynthesisConfig(**base)


def _dataset(out: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(out)): p.read_text().splitlines() for p in sorted((out / "dataset").rglob("*.jsonl"))}


def test_pipeline_writes_sets_splits_manifest_stub_server(tmp_path, stub):
    manifest = synthesize(_config(tmp_path, stub, max_actors=2, batch_size=8))
    out = tmp_path / "run"
    data = manifest.data
    assert data["status"] == "complete" and data["plots"] == 5
    steps = data["steps"]
    assert steps["actors"]["inputs"] == 5 and steps["utterances"]["inputs"] == 10
    assert steps["utterances"]["outputs"] == 100  # 8 emotions + 2 neutral per actor
    kept = 100 - sum(data["filters"]["utterances"].values())
    assert steps["labels"]["inputs"] == kept
    assert data["records"] == steps["labels"]["outputs"] == sum(data["dataset"]["orig"].values())
    assert 0.15 < steps["context"]["inputs"] / data["records"] < 0.55  # ~1/3 by hash
    assert data["tokens"]["calls"] == sum(s["calls"] for s in steps.values())
    assert set(data["prompt_versions"]) == {
        "actors",
        "utterances",
        "labels",
        "context",
        "cleaning",
        "rewriting",
        "system",
    }
    assert json.loads((out / "schema.json").read_text())["title"] == "SyntheticRecord"
    # every record: full schema, provenance, split by plot with no plot in two splits
    seen_ids = set()
    for name in ("orig", "corig", "crewr"):
        plots_by_split = {}
        for split in ("train", "dev", "test"):
            path = out / "dataset" / name / f"{split}.jsonl"
            rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
            plots_by_split[split] = {r["plot_id"] for r in rows}
            for r in rows:
                assert r["split"] == split and r["provenance"]["prompt_versions"]["labels"] == labels.PROMPT_VERSION
                assert r["positive_labels"] and all(r["labels"][lab] >= 0.3 for lab in r["positive_labels"])
                if name == "orig":
                    assert r["record_id"] not in seen_ids
                    seen_ids.add(r["record_id"])
                if name == "crewr":
                    assert r["cleaned_context"] and r["rewritten_utterance"]
        a, b, c = plots_by_split.values()
        assert not (a & b or a & c or b & c)
    from emopillars.data.loaders import load

    loaded = load(out / "dataset" / "corig" / "train.jsonl", format="synthetic", variant="corig")
    assert len(loaded) == data["dataset"]["corig"]["train"] and loaded.examples[0].context


def test_rerun_resumes_without_llm_calls_and_same_dataset_stub_server(tmp_path, stub):
    config = _config(tmp_path, stub, max_actors=1)
    first = synthesize(config)
    before = _dataset(tmp_path / "run")
    calls = stub.requests
    second = synthesize(config)
    assert stub.requests == calls  # everything came from the checkpoints (the LLM cache is off)
    assert _dataset(tmp_path / "run") == before
    assert second.data["records"] == first.data["records"]
    assert all(s["resumed_rows"] == s["inputs"] for s in second.data["steps"].values())
    assert len(second.data["runs"]) == 2


def test_changed_config_refused_unless_forced_stub_server(tmp_path, stub):
    synthesize(_config(tmp_path, stub, max_actors=1))
    with pytest.raises(ConfigMismatchError, match="seed"):
        synthesize(_config(tmp_path, stub, max_actors=1, seed=9))
    forced = synthesize(_config(tmp_path, stub, max_actors=1, seed=9, force=True))
    assert forced.data["config"]["seed"] == 9 and forced.data["status"] == "complete"
    # batch size does not change what a run produces: no error
    synthesize(_config(tmp_path, stub, max_actors=1, seed=9, batch_size=3))


def test_user_prompt_override_changes_version_stub_server(tmp_path, stub):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    text = (DEMO.parent / "prompts" / "rewriting.txt").read_text()
    (prompts / "rewriting.txt").write_text("Please.\n" + text)
    manifest = synthesize(_config(tmp_path, stub, max_actors=1, prompts_dir=str(prompts)))
    assert manifest.data["prompt_versions"]["rewriting"].startswith("rewriting-v2+user.")
    assert manifest.data["prompt_versions"]["labels"] == labels.PROMPT_VERSION
    (prompts / "labels.txt").write_text("Label ${nothing_known}")
    with pytest.raises(ValueError, match="nothing_known"):
        synthesize(_config(tmp_path, stub, max_actors=1, prompts_dir=str(prompts), out_dir=str(tmp_path / "r2")))


def test_empty_corpus_and_dead_server_are_clear_errors(tmp_path, stub, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(CorpusError, match="no stories"):
        synthesize(_config(tmp_path, stub, corpus=str(empty)))
    code = cli_main(
        ["synthesize", "--corpus", str(empty), "--out", str(tmp_path / "o"), "--llm", f"openai:{stub.url}"]
    )
    assert code == 2 and "no stories" in capsys.readouterr().err
    with pytest.raises(SynthesisError, match="not available"):
        synthesize(_config(tmp_path, stub, llm="openai:http://127.0.0.1:9/v1#x", out_dir=str(tmp_path / "dead")))


def test_cli_synthesize_prints_where_things_are_stub_server(tmp_path, stub, capsys):
    out = tmp_path / "cli"
    args = ["synthesize", "--corpus", str(DEMO), "--out", str(out), "--llm", f"openai:{stub.url}#stub"]
    args += ["--plots", "2", "--max-actors", "1", "--no-cache", "--no-progress", "--max-tokens", "labels=60"]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    assert "manifest:" in printed and str(out / "dataset") in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["plots"] == 2 and manifest["steps"]["labels"]["max_tokens"] == 60
    shutil.rmtree(out)


def test_shards_split_one_sample_into_disjoint_runs_stub_server(tmp_path, stub):
    whole = synthesize(_config(tmp_path, stub, out_dir=str(tmp_path / "whole"), max_actors=1, plots=4))
    parts = [
        synthesize(_config(tmp_path, stub, out_dir=str(tmp_path / f"s{i}"), max_actors=1, plots=4, shard=f"{i}/2"))
        for i in range(2)
    ]

    def plot_ids(out: Path) -> list[str]:
        return [json.loads(line)["id"] for line in (out / "steps" / "plots.jsonl").read_text().splitlines()]

    whole_plots = plot_ids(tmp_path / "whole")
    shard_plots = [plot_ids(tmp_path / f"s{i}") for i in range(2)]
    assert shard_plots == [whole_plots[0::2], whole_plots[1::2]]
    assert sum(p.data["records"] for p in parts) == whole.data["records"]
    assert parts[0].data["config"]["shard"] == "0/2"
    assert "shard" in SynthesisConfig(**parts[1].data["config"]).identity()
    assert "shard" not in _config(tmp_path, stub).identity()  # runs made before the option still resume
    with pytest.raises(ValueError, match="shard"):
        _config(tmp_path, stub, shard="2/2")
    with pytest.raises(CorpusError, match="holds no plot"):
        synthesize(_config(tmp_path, stub, out_dir=str(tmp_path / "s9"), plots=2, shard="3/4"))


def test_resume_with_changed_prompts_is_refused_stub_server(tmp_path, stub):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    template = (DEMO.parent / "prompts" / "rewriting.txt").read_text()
    (prompts / "rewriting.txt").write_text(template)
    config = _config(tmp_path, stub, plots=1, max_actors=1, prompts_dir=str(prompts))
    first = synthesize(config).data
    assert first["prompt_versions"]["rewriting"].startswith("rewriting-v2+user.")
    (prompts / "rewriting.txt").write_text(template.replace("keep it short", "keep it very short"))
    with pytest.raises(ConfigMismatchError, match=r"other prompts \(rewriting rewriting-v2\+user\.\w+ -> "):
        synthesize(config)
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == "complete"  # left as it was
    again = synthesize(_config(tmp_path, stub, plots=1, max_actors=1, prompts_dir=str(prompts), force=True)).data
    assert again["steps"]["actors"]["calls"] == first["steps"]["actors"]["calls"]  # asked again (no cache here)
    assert again["status"] == "complete"
    assert again["prompt_versions"]["rewriting"] != first["prompt_versions"]["rewriting"]
    assert synthesize(config).data["status"] == "complete"  # same prompts as the checkpoints: resumes
