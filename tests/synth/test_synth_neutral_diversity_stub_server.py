"""The neutral-diversity option: a second utterance template, chosen by the config, recorded in the provenance,
left out of the run identity while off (older runs resume). Its effect on a real teacher is measured in
BENCHMARKS.md ("Dataset report"); here the stub server checks the wiring."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from emopillars.cli.main import main as cli_main
from emopillars.llm import load_llm
from emopillars.synth import SynthesisConfig, synthesize
from emopillars.synth.prompts import load_prompt
from emopillars.synth.steps import utterances
from emopillars.testing.stub_server import start_stub_server

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"
INSTRUCTION = "The neutral utterances must differ from each other"


@pytest.fixture
def stub():
    server = start_stub_server()
    yield server
    server.shutdown()


def _placeholders(text: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(text)} - {None}


def test_neutral_template_is_the_default_plus_one_instruction():
    default = load_prompt(utterances.NAME, utterances.PROMPT_VERSION)
    neutral = load_prompt(utterances.NEUTRAL_PROMPT, utterances.NEUTRAL_PROMPT_VERSION)
    assert _placeholders(neutral.text) == _placeholders(default.text)
    assert INSTRUCTION in neutral.text and INSTRUCTION not in default.text
    differing = [(a, b) for a, b in zip(default.text.splitlines(), neutral.text.splitlines()) if a != b]
    assert len(differing) == 1 and differing[0][1].startswith(differing[0][0].split(" A neutral")[0])


def test_identity_leaves_the_option_out_while_off(tmp_path):
    off = SynthesisConfig(corpus=str(DEMO), out_dir=str(tmp_path))
    on = SynthesisConfig(corpus=str(DEMO), out_dir=str(tmp_path), neutral_diversity=True)
    assert "neutral_diversity" not in off.identity()  # runs made before the option existed still resume
    assert on.identity()["neutral_diversity"] is True
    assert SynthesisConfig.from_dict(on.to_dict()).neutral_diversity is True


def test_identity_leaves_later_label_options_out_at_their_defaults(tmp_path):
    plain = SynthesisConfig(corpus=str(DEMO), out_dir=str(tmp_path))
    assert not {"label_samples", "label_temperature", "label_llms", "label_model"} & set(plain.identity())
    sampled = SynthesisConfig(corpus=str(DEMO), out_dir=str(tmp_path), label_samples=3, label_temperature=0.7)
    assert sampled.identity()["label_samples"] == 3 and sampled.identity()["label_temperature"] == 0.7
    assert plain.identity() != sampled.identity()  # a changed label setup is still a different run


class _Recorder:
    """The real client, recording the prompts it is given."""

    def __init__(self, llm) -> None:
        self.llm = llm
        self.prompts: list[str] = []
        self.model_id = llm.model_id

    def generate(self, requests):
        self.prompts.extend(m["content"] for r in requests for m in r.messages if m["role"] == "user")
        return self.llm.generate(requests)


def test_pipeline_uses_the_neutral_template_stub_server(tmp_path, stub):
    llm = load_llm(f"openai:{stub.url}#stub", cache=False)
    recorder = _Recorder(llm)
    try:
        config = SynthesisConfig(
            corpus=str(DEMO),
            out_dir=str(tmp_path / "run"),
            plots=2,
            max_actors=1,
            neutral_diversity=True,
            cache=False,
            progress=False,
            context_fraction=0,
        )
        manifest = synthesize(config, llm=recorder).data
    finally:
        llm.close()
    asked = [p for p in recorder.prompts if "thinking-aloud utterances" in p]
    assert len(asked) == 2 and all(INSTRUCTION in p for p in asked)
    assert manifest["status"] == "complete"
    assert manifest["prompt_versions"]["utterances"] == utterances.NEUTRAL_PROMPT_VERSION
    assert manifest["steps"]["utterances"]["outputs"] == 20
    record = json.loads((tmp_path / "run" / "dataset" / "orig" / "train.jsonl").read_text().splitlines()[0])
    assert record["provenance"]["prompt_versions"]["utterances"] == "utterances-neutral-v1"


def test_cli_flag_stub_server(tmp_path, stub):
    out = tmp_path / "run"
    argv = ["synthesize", "--corpus", str(DEMO), "--out", str(out), "--llm", f"openai:{stub.url}#stub"]
    argv += ["--plots", "1", "--max-actors", "1", "--no-cache", "--no-progress", "--neutral-diversity"]
    assert cli_main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["neutral_diversity"] is True
    assert manifest["prompt_versions"]["utterances"] == "utterances-neutral-v1"
    # rerunning without the flag on the same folder is another configuration: refused, not mixed
    assert cli_main(argv[:-1]) == 2
