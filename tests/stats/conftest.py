"""A small hand-made dataset whose statistics are worked out by hand in the tests."""

from __future__ import annotations

import pytest

from emopillars.data.records import Provenance, SyntheticRecord
from emopillars.stats.records import StatRecord

PROV = Provenance(model="hand", prompt_versions={})


def record(rid, text, labels, actor_id=None, plot_id=None, requested=None, **extra) -> StatRecord:
    positive = tuple(label for label, level in labels.items() if level >= 0.3)
    return StatRecord(
        id=rid,
        text=text,
        labels=labels,
        positive=positive,
        actor_id=actor_id,
        actor=actor_id,
        plot_id=plot_id,
        requested_emotion=requested,
        **extra,
    )


@pytest.fixture
def make_record():
    return record


@pytest.fixture
def hand_records() -> list[StatRecord]:
    """Four utterances, three characters, two plots (worked-out values in test_stats_labels.py)."""
    return [
        record(
            "r1",
            "Tomorrow the harbour opens again and we sail.",
            {"joy": 0.8, "optimism": 0.4, "sadness": 0.2},
            "a1",
            "p1",
            "joy",
            raw_labels={"joy": 0.8, "hope": 0.4, "sadness": 0.2},
        ),
        record(
            "r2", "The train leaves at nine.", {"neutral": 0.9}, "a1", "p1", "neutral", raw_labels={"neutral": 0.9}
        ),
        record(
            "r3",
            "He took the last boat without asking me.",
            {"anger": 1.0, "annoyance": 0.6, "disgust": 0.3},
            "a2",
            "p1",
            "fear",
            raw_labels={"anger": 1.0, "grumpitude": 0.6, "disgust": 0.3, "blorpishness": 0.2},
        ),
        record("r4", "Where does this road go?", {"neutral": 0.7, "curiosity": 0.5}, "a3", "p2", "neutral"),
    ]


def synthetic(rid, plot, actor, utterance, labels, requested=None, **extra) -> SyntheticRecord:
    return SyntheticRecord(
        record_id=rid,
        plot_id=plot,
        actor_id=f"{plot}-{actor}",
        actor=actor,
        requested_emotion=requested,
        utterance=utterance,
        labels=labels,
        raw_labels=dict(labels),
        positive_labels=[label for label, level in labels.items() if level >= 0.3],
        provenance=PROV,
        **extra,
    )


@pytest.fixture
def make_synthetic():
    return synthetic


NEUTRAL_PARAPHRASES = {
    "ann": ["The train leaves at nine tomorrow.", "Tomorrow the train departs at nine o'clock."],
    "ben": ["I need to buy flour and eggs at the market.", "Flour and eggs, I must get them at the market."],
    "cat": ["The letter should arrive by Friday.", "By Friday the letter ought to be delivered."],
}


@pytest.fixture
def synthesis_folder(tmp_path):
    """A synthesis output folder: dataset written by the real writer, plus a manifest."""
    import json

    from emopillars.synth.dataset import write_dataset

    records = []
    emotions = ["joy", "anger", "fear", "sadness"]
    for p, (actor, neutrals) in enumerate(NEUTRAL_PARAPHRASES.items()):
        plot = f"plot{p}"
        for k, emotion in enumerate(emotions):
            extra = {}
            if k == 0:
                extra = {
                    "context": f"{actor} stood by the window, {'joyful' if p == 0 else 'angry'} at the rain.",
                    "cleaned_context": f"{actor} stood by the window.",
                    "rewritten_utterance": f"So that is how it goes, {k}.",
                }
            records.append(
                synthetic(
                    f"{plot}-{actor}-u{k}",
                    plot,
                    actor,
                    f"{actor} feels {emotion} about thing {k}.",
                    {emotion: 0.8, "surprise": 0.3},
                    emotion,
                    **extra,
                )
            )
        for k, text in enumerate(neutrals):
            records.append(synthetic(f"{plot}-{actor}-n{k}", plot, actor, text, {"neutral": 0.9}, "neutral"))
    root = tmp_path / "run"
    counts = write_dataset(records, root / "dataset", seed=0, parquet=False)
    manifest = {
        "status": "complete",
        "model": "fixture-teacher",
        "plots": 3,
        "records": len(records),
        "steps": {
            "labels": {
                "inputs": 20,
                "outputs": 18,
                "calls": 20,
                "dropped": 2,
                "drops": {"no_positive_label": 2},
                "item_drops": {"unmapped_label": 3},
                "prompt_tokens": 2000,
                "completion_tokens": 400,
            },
        },
        "filters": {"utterances": {"near_duplicate": 1}},
        "tokens": {"calls": 36, "prompt": 9000, "completion": 1800},
        "dataset": counts,
    }
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    # the utterances step's checkpoint: what the teacher generated before the filters (ann repeated itself)
    entries = []
    for p, (actor, neutrals) in enumerate(NEUTRAL_PARAPHRASES.items()):
        said = [neutrals[0], neutrals[0]] if actor == "ann" else neutrals
        outputs = [
            {
                "id": f"plot{p}-{actor}-g{k}",
                "actor_id": f"plot{p}-{actor}",
                "plot_id": f"plot{p}",
                "actor": actor,
                "requested_emotion": "neutral",
                "utterance": text,
            }
            for k, text in enumerate(said)
        ]
        outputs.append(
            {
                "id": f"plot{p}-{actor}-g9",
                "actor_id": f"plot{p}-{actor}",
                "plot_id": f"plot{p}",
                "actor": actor,
                "requested_emotion": "joy",
                "utterance": f"{actor} is glad.",
            }
        )
        entries.append(json.dumps({"id": f"plot{p}-{actor}", "outputs": outputs, "drop": None}))
    (root / "steps").mkdir()
    (root / "steps" / "utterances.jsonl").write_text("\n".join(entries) + '\n{"id": "torn', encoding="utf-8")
    return root, records, counts
