"""The optional ``provenance.raters`` field (schema 1.1): old records load in this version, new records load
in the previous version's reader (the record model as it was at schema 1.0, read from git history when the
repository is there)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from emopillars.data.loaders import load
from emopillars.data.records import SCHEMA_VERSION, Provenance, SyntheticRecord

REPO = Path(__file__).resolve().parents[2]
OLD_COMMIT = "3860b52"  # schema 1.0

OLD_RECORD = {
    "record_id": "p1/a1/u1",
    "plot_id": "p1",
    "actor_id": "p1/a1",
    "actor": "Hansel",
    "plot_title": "Hansel and Gretel",
    "requested_emotion": "fear",
    "utterance": "The breadcrumbs are gone, and the forest is getting dark.",
    "rewritten_utterance": None,
    "context": None,
    "cleaned_context": None,
    "raw_labels": {"fear": 0.8},
    "labels": {"fear": 0.8},
    "positive_labels": ["fear"],
    "split": "train",
    "provenance": {
        "model": "llamacpp:qwen2.5-0.5b",
        "prompt_versions": {"labels": "labels-v1"},
        "schema_version": "1.0",
    },
}


def _new_record() -> SyntheticRecord:
    raters = {"llamacpp:qwen2.5-1.5b": {"fear": 0.8, "sadness": 0.2}, "model:ge-minilm": {"fear": 0.6}, "x": None}
    return SyntheticRecord(
        **{**OLD_RECORD, "labels": {"fear": 0.7, "sadness": 0.1}, "provenance": None}
        | {"provenance": Provenance(model="llamacpp:qwen2.5-1.5b", raters=raters)}
    )


def test_schema_version_is_1_1_and_raters_round_trip():
    assert SCHEMA_VERSION == "1.1"
    record = _new_record()
    again = SyntheticRecord.model_validate_json(record.model_dump_json())
    assert again.provenance.raters["model:ge-minilm"] == {"fear": 0.6}
    assert again.provenance.raters["x"] is None
    assert again.provenance.schema_version == "1.1"


def test_old_records_without_the_field_still_load(tmp_path):
    record = SyntheticRecord.model_validate(OLD_RECORD)
    assert record.provenance.raters is None and record.provenance.schema_version == "1.0"
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(OLD_RECORD) + "\n")
    data = load(path, format="synthetic")
    assert len(data) == 1 and data.examples[0].labels == {"fear": 0.8}


def _old_records_module() -> types.ModuleType:
    try:
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{OLD_COMMIT}:src/emopillars/data/records.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the schema-1.0 record model is read from git history, which is not available here")
    module = types.ModuleType("emopillars_old_records")
    sys.modules[module.__name__] = module  # pydantic resolves the annotations through the module
    try:
        exec(compile(source, "old_records.py", "exec"), module.__dict__)
        module.SyntheticRecord.model_rebuild()
    finally:
        del sys.modules[module.__name__]
    return module


def test_new_records_load_in_the_schema_1_0_reader():
    old = _old_records_module()
    assert old.SCHEMA_VERSION == "1.0"
    payload = json.loads(_new_record().model_dump_json())
    loaded = old.SyntheticRecord.model_validate(payload)  # extra="forbid" at the top level: still accepted
    assert loaded.labels == {"fear": 0.7, "sadness": 0.1}
