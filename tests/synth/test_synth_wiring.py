"""Each step declares its input and output fields; the pipeline checks the wiring before any LLM call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emopillars.llm.types import ChatResponse
from emopillars.synth import SynthesisConfig, WiringError, synthesize
from emopillars.synth.steps import STEP_MODULES, make_step
from emopillars.synth.steps import context as context_step
from emopillars.synth.wiring import PIPELINE, Stage, check_wiring
from emopillars.testing.stub_server import answer

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"
PLOT = (
    "Marta keeps the lighthouse on the cliff. When a storm wrecks the fishing boat of her brother Tomas, "
    "she rows out with old Ivo to save him."
)
# One value per field any step reads: a row holding only a step's declared INPUTS gets these.
VALUES = {
    "id": "p1",
    "title": "The Keeper",
    "text": PLOT,
    "plot": PLOT,
    "plot_id": "p1",
    "actor": "Marta",
    "requested": ["joy", "fear", "relief", "pride", "anger", "sadness", "gratitude", "caring"],
    "utterance": "The boat made it back, and Tomas is alive.",
    "positive_labels": ["joy", "relief"],
    "context": "Earlier that night a storm wrecked the boat of her brother, and Marta rowed out to find him.",
    "cleaned_context": "Earlier that night a storm wrecked the boat of her brother, and Marta rowed out to find him.",
}


def test_the_package_pipeline_is_wired():
    tables = check_wiring(PIPELINE, STEP_MODULES)
    assert {"context", "positive_labels", "plot"} <= tables["context"]
    assert tables["actors"] == frozenset(STEP_MODULES["actors"].OUTPUTS)


@pytest.mark.parametrize("name", list(STEP_MODULES))
def test_each_step_runs_on_a_row_holding_only_its_declared_inputs_and_yields_its_declared_outputs(name):
    """The declarations are the truth: a step reads nothing it does not declare (else KeyError here) and every
    output row holds exactly the declared fields."""
    module = STEP_MODULES[name]
    step = make_step(module)
    row = {field: VALUES[field] for field in module.INPUTS}
    [request] = step.build_requests([row])
    prompt = "\n".join(m["content"] for m in request.messages if m["role"] != "system")
    value = answer(prompt)
    parsed = step.parse(ChatResponse(text=json.dumps(value), parsed=value), row)
    assert parsed.drop is None and parsed.outputs, (name, parsed)
    for output in parsed.outputs:
        assert set(output) == set(module.OUTPUTS), name


def test_a_step_reading_a_field_nobody_produces_is_refused_before_any_llm_call(tmp_path, monkeypatch):
    monkeypatch.setattr(context_step, "INPUTS", (*context_step.INPUTS, "mood"))

    class CountingLLM:
        model_id = "counting"
        calls = 0

        def generate(self, requests):
            CountingLLM.calls += 1
            return []

    out = tmp_path / "run"
    config = SynthesisConfig(corpus=str(DEMO), out_dir=str(out), cache=False, progress=False)
    with pytest.raises(WiringError, match=r"step 'context' reads mood, which no earlier step produces") as info:
        synthesize(config, llm=CountingLLM())
    assert "nothing was run" in str(info.value)
    assert CountingLLM.calls == 0 and not out.exists()  # refused before the folder, the corpus or the LLM


def test_mis_wired_stage_tables_list_every_problem():
    stages = (
        Stage("actors", reads="plots"),
        Stage("labels", reads="utterances", merge=True),  # reads a table made later
        Stage("utterances", reads="actors", joins=("requested",)),  # no plot joined: its prompt needs it
        Stage("context", reads="utterances", joins=("mood",), merge=True),  # no labels yet, unknown join
    )
    with pytest.raises(WiringError) as info:
        check_wiring(stages, STEP_MODULES, record_sources={})
    message = str(info.value)
    assert "step 'labels' reads the rows of 'utterances', which no earlier stage makes" in message
    assert "step 'utterances' reads plot" in message
    assert "joins 'mood'" in message and "step 'context' reads plot, positive_labels" in message
