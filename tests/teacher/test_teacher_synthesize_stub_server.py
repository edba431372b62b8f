"""``synthesize`` with better labels (K samples, a second LLM rater) and prefix-ordered scheduling, through the
real LLM layer against the deterministic stub server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emopillars.cli.main import main as cli_main
from emopillars.synth import SynthesisConfig, synthesize
from emopillars.testing.stub_server import answer, start_stub_server

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"


@pytest.fixture
def stub():
    server = start_stub_server()
    yield server
    server.shutdown()


def _dataset(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in sorted((out / "dataset").rglob("*.jsonl"))}


def _stub_levels(text: str) -> dict[str, float]:
    prompt = f'Which emotions does the utterance below express?\nUtterance: "{text}"\n'
    return {e["emotion"]: e["level"] for e in answer(prompt)["emotions"]}


def test_synthesize_with_two_samples_and_two_raters_stub_server(stub, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EMOPILLARS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    teacher, other = f"openai:{stub.url}#stub", f"openai:{stub.url}#stub-two"
    argv = ["synthesize", "--corpus", str(DEMO), "--out", str(out), "--llm", teacher, "--max-actors", "1"]
    argv += ["--label-samples", "2", "--label-temperature", "0.8", "--label-llm", other, "--no-progress"]
    assert cli_main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    raters = manifest["label_raters"]
    assert raters["raters"] == [teacher, other] and raters["samples"] == 2 and raters["temperature"] == 0.8
    assert raters["agreement"]["pairs"][0]["kappa"] == 1.0  # the stub answers both models alike
    assert raters["sample_agreement"] == {teacher: 1.0, other: 1.0}
    calls = {name: s["calls"] for name, s in raters["stats"].items()}
    labelled = manifest["steps"]["labels"]["inputs"]
    assert calls == {teacher: 2 * labelled, other: 2 * labelled}  # K answers from each LLM rater
    assert sorted(p.name for p in (out / "steps").glob("labels.*.jsonl")) == [
        "labels.0-openai-http-127.0.0.1-" + f"{stub.server_address[1]}-v1-stub.jsonl",
        "labels.1-openai-http-127.0.0.1-" + f"{stub.server_address[1]}-v1-stub-two.jsonl",
    ]
    records = [json.loads(line) for line in (out / "dataset" / "orig" / "train.jsonl").read_text().splitlines()]
    assert records and manifest["schema_version"] == "1.1"
    for record in records:
        per_rater = record["provenance"]["raters"]
        expected = _stub_levels(record["utterance"])
        assert per_rater == {teacher: expected, other: expected}
        assert record["labels"] == expected  # the mean of two equal raters
        assert record["positive_labels"] == [k for k, v in expected.items() if v >= 0.3]
    # a rerun resumes: every rater pass is in its checkpoint, no request reaches the server
    served = stub.requests
    assert cli_main(argv) == 0
    assert stub.requests == served
    assert "records:" in capsys.readouterr().out


def test_prefix_ordered_scheduling_gives_the_same_dataset_stub_server(stub, tmp_path):
    base = dict(corpus=str(DEMO), llm=f"openai:{stub.url}#stub", cache=False, progress=False, max_actors=2)
    plain = synthesize(SynthesisConfig(out_dir=str(tmp_path / "plain"), schedule="plain", **base))
    prefix = synthesize(SynthesisConfig(out_dir=str(tmp_path / "prefix"), schedule="prefix", **base))
    assert plain.data["records"] == prefix.data["records"] > 20
    assert _dataset(tmp_path / "plain") == _dataset(tmp_path / "prefix")
    # the calls really went in another order: the checkpoints list the rows differently
    plain_ids = [json.loads(x)["id"] for x in (tmp_path / "plain/steps/labels.jsonl").read_text().splitlines()]
    prefix_ids = [json.loads(x)["id"] for x in (tmp_path / "prefix/steps/labels.jsonl").read_text().splitlines()]
    assert sorted(plain_ids) == sorted(prefix_ids) and plain_ids != prefix_ids


def test_label_calibration_rewrites_the_dataset_labels_on_resume_stub_server(stub, tmp_path, monkeypatch, capsys):
    from emopillars.teacher.calibration import Calibration, calibrate

    monkeypatch.setenv("EMOPILLARS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    argv = ["synthesize", "--corpus", str(DEMO), "--out", str(out), "--llm", f"openai:{stub.url}#stub"]
    argv += ["--max-actors", "1", "--no-progress"]
    assert cli_main(argv) == 0

    def records() -> dict[str, dict]:  # every record is in one Orig split
        files = sorted((out / "dataset" / "orig").glob("*.jsonl"))
        return {r["record_id"]: r for f in files for r in map(json.loads, f.read_text().splitlines())}

    before = records()
    served = stub.requests
    # the calibration is not part of the run's identity: the folder resumes, asks nothing, rewrites the labels
    assert cli_main([*argv, "--label-calibration", "prior:1"]) == 0
    assert stub.requests == served
    after = records()
    assert sorted(after) == sorted(before) and len(after) > 20
    assert json.loads((out / "manifest.json").read_text())["config"]["label_calibration"] == "prior:1"
    ids = sorted(before)
    expected = calibrate([before[i]["labels"] for i in ids], Calibration("prior", 1.0))
    assert [after[i]["labels"] for i in ids] == expected
    assert any(after[i]["labels"] != before[i]["labels"] for i in ids)
    for i in ids:
        assert after[i]["raw_labels"] == before[i]["raw_labels"]
        assert after[i]["positive_labels"] == [k for k, v in after[i]["labels"].items() if v >= 0.3]
    capsys.readouterr()
    assert cli_main([*argv, "--label-calibration", "sometimes"]) != 0
    assert "unknown label calibration" in capsys.readouterr().err
