"""Each step's parser on malformed answers (here) and on recorded real model answers (fixtures/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emopillars.llm.parsing import parse_json
from emopillars.llm.types import ChatResponse, ErrorKind
from emopillars.synth.prompts import PromptError, load_prompt
from emopillars.synth.steps import STEP_MODULES, actors, cleaning, context, labels, make_step, rewriting, utterances

FIXTURES = Path(__file__).parent / "fixtures"
PLOT = {
    "id": "p1",
    "title": "The Last Keeper",
    "text": "Old Marta keeps the lighthouse with her brother Tomas. The fisherman Ivo is saved by her lamp.",
}


def reply(value=None, text=None, error=None, finish="stop") -> ChatResponse:
    if text is None:
        text = json.dumps(value) if value is not None else ""
    parsed = parse_json(text).value if text else None
    return ChatResponse(text=text, parsed=parsed, error=error, finish_reason=finish, completion_tokens=5)


# ---- actors ---------------------------------------------------------------------------------------
def test_actors_normalizes_dedupes_and_drops_non_characters():
    names = [
        "Old Marta",
        " tomas ",
        "Marta",
        "the narrator",
        "Lighthouse of Gull Rock Island on the sea coast",
        "Zeus",
        "Ivo (a fisherman)",
        "TOMAS",
    ]
    parsed = actors.parse(reply({"characters": names}), PLOT)
    assert [o["actor"] for o in parsed.outputs] == ["Old Marta", "tomas", "Ivo"]
    assert [o["id"] for o in parsed.outputs] == ["p1-a00", "p1-a01", "p1-a02"]
    assert parsed.item_drops == {"duplicate_name": 2, "not_a_character": 1, "not_a_name": 1, "not_in_plot": 1}


@pytest.mark.parametrize(
    "response,reason",
    [
        (reply(text=""), "invalid_json"),
        (reply(text="I cannot help with that."), "invalid_json"),
        (reply({"people": ["Marta"]}), "invalid_json"),
        (reply({"characters": ["Zeus", "Hera"]}), "no_characters"),
        (ChatResponse(error="HTTP 400: prompt too long", error_kind=ErrorKind.ANSWER), "no_answer"),
    ],
)
def test_actors_malformed(response, reason):
    assert actors.parse(response, PLOT).drop == reason


def test_actors_repairs_fenced_json_but_never_accepts_a_cut_off_answer():
    parsed = actors.parse(reply(text='```json\n{"characters": ["Marta", "Tomas",]}\n```'), PLOT)
    assert [o["actor"] for o in parsed.outputs][:2] == ["Marta", "Tomas"]
    cut = actors.parse(reply(text='```json\n{"characters": ["Marta", "Tomas", "Iv'), PLOT)  # issue 10 point 2
    assert cut.drop == "invalid_json" and not cut.outputs


# ---- utterances -------------------------------------------------------------------------------------
ACTOR_ROW = {"id": "p1-a00", "plot_id": "p1", "actor": "Marta", "plot": PLOT["text"], "requested": ["joy", "fear"]}


def test_utterances_match_requested_emotions_and_cap():
    items = [
        {"emotion": "fear", "text": "The lamp is out and the waves keep rising."},
        {"emotion": "joy", "text": '"The boat made it to the harbour!"'},
        {"emotion": "neutral", "text": "  I need more oil   for the lamp. "},
        {"emotion": "neutral", "text": ""},
        {"emotion": "anger", "text": "Who left the door open?"},
        {"emotion": "neutral", "text": "Tomorrow I will paint the railing."},
        {"emotion": "neutral", "text": "One too many."},
    ]
    parsed = utterances.parse(reply({"utterances": items}), ACTOR_ROW, n_neutral=2)
    got = [(o["requested_emotion"], o["utterance"]) for o in parsed.outputs]
    assert got == [
        ("fear", "The lamp is out and the waves keep rising."),
        ("joy", "The boat made it to the harbour!"),
        ("neutral", "I need more oil for the lamp."),
        (None, "Who left the door open?"),
    ]
    assert parsed.item_drops == {"unrequested_emotion": 1, "empty_utterance": 1, "extra_utterance": 2}
    assert parsed.notes["missing_emotions"] == ["neutral"]
    assert [o["id"] for o in parsed.outputs] == [f"p1-a00-u{j:02d}" for j in range(4)]


def test_utterances_malformed():
    assert utterances.parse(reply({"utterances": []}), ACTOR_ROW).drop == "no_utterances"
    assert utterances.parse(reply({"utterances": "none"}), ACTOR_ROW).drop == "invalid_json"
    assert utterances.parse(reply(text="[1, 2]"), ACTOR_ROW).drop == "invalid_json"
    plain = utterances.parse(reply({"utterances": ["I am here.", 42]}), ACTOR_ROW)
    assert [o["utterance"] for o in plain.outputs] == ["I am here."] and plain.item_drops["malformed_item"] == 1


def test_utterance_prompt_lists_requested_and_definitions():
    step = make_step(utterances, n_neutral=2)
    [request] = step.build_requests([ACTOR_ROW])
    prompt = request.messages[-1]["content"]
    assert "1. joy\n2. fear\n3. neutral\n4. neutral" in prompt
    assert "- grief: Intense sorrow" in prompt and "Character: Marta" in prompt
    assert request.schema == utterances.SCHEMA and request.tag == "p1-a00"
    assert request.params.max_tokens == 500


# ---- labels -------------------------------------------------------------------------------------------
UTT = {"id": "u1", "utterance": "The boat made it!"}


def test_labels_snap_map_dedupe_and_threshold():
    answer = {
        "emotions": [
            {"emotion": "Relief", "level": 0.86},
            {"emotion": "happiness", "level": 0.62},
            {"emotion": "joy", "level": 0.4},
            {"emotion": "schadenfreude-ish", "level": 0.5},
            {"emotion": "pride", "level": 0.2},
            {"emotion": "gratitude", "level": 0.9},
        ]
    }
    parsed = labels.parse(reply(answer), UTT)
    [out] = parsed.outputs
    assert out["labels"] == {"relief": 0.9, "joy": 0.6, "pride": 0.2}
    assert out["positive_labels"] == ["relief", "joy"]
    assert out["raw_labels"]["happiness"] == 0.62 and "gratitude" not in out["raw_labels"]  # only the top 5
    assert parsed.notes["unmapped"] == ["schadenfreude-ish"]
    assert parsed.item_drops == {"extra_label": 1, "unmapped_label": 1}


def test_labels_rescale_ten_point_answers_and_drop_no_positive():
    parsed = labels.parse(
        reply({"emotions": [{"emotion": "fear", "level": 8}, {"emotion": "surprise", "level": 2}]}), UTT
    )
    assert parsed.outputs[0]["labels"] == {"fear": 0.8, "surprise": 0.2} and parsed.notes["rescaled"] == 10.0
    low = labels.parse(reply({"emotions": [{"emotion": "fear", "level": 0.2}, {"emotion": "joy", "level": 0.0}]}), UTT)
    assert low.drop == "no_positive_label" and not low.outputs
    dict_form = labels.parse(reply({"emotions": {"anger": 0.7}}), UTT)
    assert dict_form.outputs[0]["positive_labels"] == ["anger"]


@pytest.mark.parametrize(
    "value,text,reason",
    [
        (None, "", "invalid_json"),
        ({"emotions": "joy"}, None, "invalid_json"),
        ({"emotions": [{"emotion": "joy", "level": "high"}]}, None, "no_positive_label"),
        ({"emotions": [{"emotion": "flabbergasted-ness", "level": 0.9}]}, None, "no_positive_label"),
    ],
)
def test_labels_malformed(value, text, reason):
    assert labels.parse(reply(value, text=text), UTT).drop == reason


# ---- context, cleaning, rewriting ------------------------------------------------------------------
CTX_ROW = {
    "id": "u1",
    "actor": "Marta",
    "plot": PLOT["text"],
    "utterance": "The boat made it!",
    "positive_labels": ["relief", "joy"],
    "context": "The storm raged all night while Marta kept the lamp burning by hand. She was terrified.",
    "cleaned_context": "The storm raged all night while Marta kept the lamp burning by hand.",
}


def test_context_that_quotes_the_utterance_is_cut_before_the_quoting_sentence_or_dropped():
    row = dict(CTX_ROW, utterance="I can't wait to see what he does next!")
    quoted = "Marta waited at the pier all night. At dawn, she thought: 'I can\u2019t wait to see what he does NEXT'."
    assert context.parse(reply({"context": quoted}), row).outputs == [
        {"id": "u1", "context": "Marta waited at the pier all night."}
    ]
    only_quote = "In 1908, Marta thought: 'I can't wait to see what he does next!' This thought expresses joy."
    assert context.parse(reply({"context": only_quote}), row).drop == "context_quotes_utterance"
    # no quote, or an utterance too short to be told from ordinary words: the context stays whole
    clean = "Marta waited at the pier all night. She could not wait to see the boat."
    assert context.parse(reply({"context": clean}), row).outputs[0]["context"] == clean
    short = dict(CTX_ROW, utterance="I know.")
    text = "Marta said I know. Then the storm came over the harbour."
    assert context.parse(reply({"context": text}), short).outputs[0]["context"] == text


def test_context_cleaning_rewriting_parse():
    assert context.parse(reply({"context": " A storm.  Then dawn came over Gull Rock. "}), CTX_ROW).outputs == [
        {"id": "u1", "context": "A storm. Then dawn came over Gull Rock."}
    ]
    assert context.parse(reply({"context": ""}), CTX_ROW).drop == "empty_context"
    assert context.parse(reply({"context": "Storm."}), CTX_ROW).drop == "short_context"
    cleaned = cleaning.parse(reply({"cleaned_context": CTX_ROW["cleaned_context"]}), CTX_ROW)
    assert cleaned.outputs[0]["cleaned_context"] == CTX_ROW["cleaned_context"]
    assert cleaning.parse(reply({"cleaned_context": "Storm."}), CTX_ROW).drop == "over_cleaned"
    assert (
        rewriting.parse(reply({"rewritten": "So the boat is in."}), CTX_ROW).outputs[0]["rewritten_utterance"]
        == "So the boat is in."
    )
    assert rewriting.parse(reply({"rewritten": "the boat made it"}), CTX_ROW).drop == "unchanged_rewrite"
    for module in (context, cleaning, rewriting):
        assert module.parse(reply(text="not json at all"), CTX_ROW).drop == "invalid_json"


def test_context_prompt_names_emotions_but_labels_prompt_has_no_plot():
    [ctx_request] = make_step(context).build_requests([CTX_ROW])
    assert (
        "relief and joy" in ctx_request.messages[-1]["content"] and PLOT["text"] in ctx_request.messages[-1]["content"]
    )
    [label_request] = make_step(labels).build_requests([{**CTX_ROW, "plot": PLOT["text"]}])
    assert PLOT["text"] not in label_request.messages[-1]["content"]


def test_schemas_are_bounded():
    def walk(schema):
        if schema.get("type") == "string":
            assert "maxLength" in schema or "enum" in schema
        if schema.get("type") == "array":
            assert "maxItems" in schema
            walk(schema["items"])
        for sub in schema.get("properties", {}).values():
            walk(sub)

    for module in STEP_MODULES.values():
        walk(module.SCHEMA)


def test_prompt_override_and_bad_placeholder(tmp_path):
    (tmp_path / "actors.txt").write_text("Characters of ${plot}? ${title}")
    step = make_step(actors, prompts_dir=tmp_path)
    assert step.version.startswith("actors-v1+user.")
    assert step.build_requests([PLOT])[0].messages[-1]["content"].startswith("Characters of Old Marta")
    (tmp_path / "actors.txt").write_text("Characters of ${story}")
    with pytest.raises(PromptError, match="story"):
        make_step(actors, prompts_dir=tmp_path).build_requests([PLOT])
    assert load_prompt("labels", "labels-v1", tmp_path).version == "labels-v1"


# ---- recorded real answers ---------------------------------------------------------------------------
def _recorded():
    path = FIXTURES / "qwen05b_answers.json"
    if not path.exists():
        return []
    return json.loads(path.read_text())["answers"]


@pytest.mark.parametrize("item", _recorded(), ids=lambda item: f"{item['step']}-{item['row']['id']}")
def test_parsers_on_recorded_real_answers(item):
    """Answers of the embedded Qwen2.5-Coder-0.5B to the shipped prompts: each parses to what it held then."""
    module = STEP_MODULES[item["step"]]
    response = ChatResponse(
        text=item["text"],
        parsed=parse_json(item["text"]).value,
        finish_reason=item["finish_reason"],
        error=item["error"],
    )
    parsed = module.parse(response, item["row"], **({"n_neutral": 2} if item["step"] == "utterances" else {}))
    assert parsed.drop == item["expected"]["drop"]
    assert len(parsed.outputs) == item["expected"]["outputs"]
    for out in parsed.outputs:
        assert out["id"].startswith(item["row"]["id"])
        if item["step"] == "labels":
            assert all(0 < v <= 1 and round(v * 10) == v * 10 for v in out["labels"].values())


@pytest.mark.parametrize("item", _recorded(), ids=lambda item: f"{item['step']}-{item['row']['id']}")
def test_parsers_on_truncated_real_answers_never_raise(item):
    """A real answer cut in the middle (a killed stream, a max_tokens cut) parses to a subset or a clear drop."""
    module = STEP_MODULES[item["step"]]
    cut = item["text"][: len(item["text"]) // 2]
    response = ChatResponse(text=cut, parsed=parse_json(cut).value, finish_reason="length", error="answer cut")
    parsed = module.parse(response, item["row"], **({"n_neutral": 2} if item["step"] == "utterances" else {}))
    assert parsed.drop or parsed.outputs
    assert len(parsed.outputs) <= max(item["expected"]["outputs"], 1)


def test_recorded_greedy_utterances_repeat_and_the_filter_catches_it():
    """The 0.5B teacher decoding greedily repeats itself; the exact-duplicate filter drops the copies."""
    from emopillars.synth.filters import filter_utterances

    [item] = [i for i in _recorded() if i["step"] == "utterances" and "greedy" in i["sampling"]] or [None]
    if item is None:
        pytest.skip("no recorded answers")
    response = ChatResponse(text=item["text"], parsed=parse_json(item["text"]).value, finish_reason="stop")
    rows = utterances.parse(response, item["row"], n_neutral=2).outputs
    kept, drops = filter_utterances(rows)
    assert drops["exact_duplicate"] >= 1 and len(kept) == len(rows) - sum(drops.values())
