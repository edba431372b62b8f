"""The synthetic Emo Pillars record: defined once, with a published JSON schema.

Every synthesis step fills some fields; the dataset on disk is JSON lines of this model.

Schema versions: **1.0** the first; **1.1** adds ``provenance.raters`` (the labels of each rater when a run
labels with several samples or raters, see :mod:`emopillars.teacher.aggregate`). The new field is optional
and sits inside ``provenance``, which has always accepted extra fields, so 1.0 readers load 1.1 records
(they ignore it) and 1.1 readers load 1.0 records (it is ``None``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from emopillars.files import atomic_write_json
from emopillars.taxonomy import POSITIVE_THRESHOLD

SCHEMA_VERSION = "1.1"


class Provenance(BaseModel):
    """Which teacher and which prompt versions produced a record (and, with several raters, what each said)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="LLM backend spec / model id of the teacher")
    prompt_versions: dict[str, str] = Field(default_factory=dict, description="step name -> prompt version")
    schema_version: str = SCHEMA_VERSION
    raters: dict[str, dict[str, float] | None] | None = Field(
        None,
        description="Since 1.1, when the labels come from several samples or raters: rater name -> that rater's "
        "labels (label -> level, averaged over its samples; null when all its answers failed). The record's "
        "labels are the mean of these.",
    )


class SyntheticRecord(BaseModel):
    """One synthetic utterance with its labels and (optionally) its context."""

    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(description="Unique id of this record")
    plot_id: str = Field(description="Id of the narrative the record is grounded in")
    actor_id: str = Field(description="Id of the character (unique within the run)")
    actor: str = Field(description="Character name as it appears in the plot")
    plot_title: str | None = None
    requested_emotion: str | None = Field(None, description="Emotion the utterance generation asked for")
    utterance: str = Field(description="Original thinking-aloud utterance")
    rewritten_utterance: str | None = Field(None, description="Utterance rewritten to need the context")
    context: str | None = Field(None, description="Situation that ends right before the utterance")
    cleaned_context: str | None = Field(None, description="Context with explicit emotion statements removed")
    raw_labels: dict[str, float] = Field(default_factory=dict, description="Teacher labels as given: label -> level")
    labels: dict[str, float] = Field(default_factory=dict, description="Labels mapped onto the 28-label taxonomy")
    positive_labels: list[str] = Field(default_factory=list, description=f"Labels with level >= {POSITIVE_THRESHOLD}")
    split: str | None = Field(None, description="train / dev / test")
    provenance: Provenance

    @classmethod
    def json_schema(cls) -> dict:
        schema = cls.model_json_schema()
        schema["$id"] = f"https://emopillars.dev/schema/synthetic_record/{SCHEMA_VERSION}"
        return schema


def write_schema(path: str | Path) -> Path:
    """Write the JSON schema of :class:`SyntheticRecord` to ``path`` atomically."""
    return atomic_write_json(Path(path), SyntheticRecord.json_schema())
