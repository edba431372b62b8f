"""The published JSON schema of the synthetic record is the one the pydantic model produces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from emopillars.data.records import Provenance, SyntheticRecord

PUBLISHED = Path(__file__).resolve().parents[2] / "schemas" / "synthetic_record.schema.json"


def test_published_schema_is_up_to_date():
    assert json.loads(PUBLISHED.read_text()) == SyntheticRecord.json_schema(), (
        "the published schema is stale: run `emopillars schema --out schemas/synthetic_record.schema.json`"
    )


def test_record_round_trip_and_unknown_fields_rejected():
    record = SyntheticRecord(
        record_id="r1",
        plot_id="p1",
        actor_id="p1/a1",
        actor="Hansel",
        utterance="The breadcrumbs are gone.",
        labels={"fear": 0.8},
        positive_labels=["fear"],
        provenance=Provenance(model="llamacpp:qwen2.5-0.5b", prompt_versions={"labels": "labels-v1"}),
    )
    again = SyntheticRecord.model_validate_json(record.model_dump_json())
    assert again == record
    with pytest.raises(ValidationError):
        SyntheticRecord.model_validate({**record.model_dump(), "surprise_field": 1})
