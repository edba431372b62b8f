"""The settings of a synthesis run: one validated dataclass, saved in ``DIR/config.json`` and compared on resume."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emopillars.llm.secrets import redact_spec
from emopillars.synth.steps import STEP_MODULES, STEP_ORDER
from emopillars.teacher.calibration import Calibration

DEFAULT_MAX_TOKENS = {name: module.MAX_TOKENS for name, module in STEP_MODULES.items()}
# Settings that do not change what a run produces; everything else must match to resume.
NON_IDENTITY = {
    "out_dir",
    "cache",
    "batch_size",
    "concurrency",
    "max_retries",
    "timeout",
    "progress",
    "force",
    "parquet",
    "schedule",  # the order of the calls, not their answers (see emopillars.teacher.schedule)
    "label_calibration",  # applied to every record when the dataset is written: a resumed run recomputes it all
}
SAMPLING_KEYS = {"temperature", "top_p", "repetition_penalty"}


@dataclass
class SynthesisConfig:
    """Everything a synthesis run depends on. Validated on creation; ``to_dict`` / ``from_dict`` round-trip.

    ``to_dict`` and :meth:`identity` carry the LLM spec with its credentials redacted
    (:func:`emopillars.llm.secrets.redact_spec`): a key in a URL never reaches a file, and changing it
    does not make a run "different".
    """

    corpus: str
    out_dir: str
    llm: str | None = None
    plots: int | None = None
    max_actors: int | None = None
    context_fraction: float = 1 / 3
    seed: int = 0
    cache: bool = True
    prompts_dir: str | None = None
    batch_size: int = 64
    concurrency: int | None = None
    max_retries: int = 2
    timeout: float | None = None
    corpus_format: str | None = None
    text_field: str | None = None
    id_field: str | None = None
    title_field: str | None = None
    min_plot_chars: int = 200
    max_plot_tokens: int = 1500
    chars_per_token: float = 4.0
    max_tokens: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MAX_TOKENS))
    n_emotions: int = 8
    n_neutral: int = 2
    neutral_diversity: bool = False  # utterances: neutral thoughts on different things (utterances_neutral.txt)
    temperature: float = 0.0
    repetition_penalty: float = 1.03
    step_sampling: dict[str, dict[str, float]] = field(default_factory=dict)
    near_dup_threshold: float = 0.8
    max_utterance_chars: int = 300
    parquet: bool = True
    progress: bool = True
    force: bool = False
    # Better labels (emopillars.teacher.labelling): K answers per utterance, more LLM raters, a classifier rater.
    label_samples: int = 1
    label_temperature: float | None = None
    label_llms: list[str] = field(default_factory=list)
    label_model: str | None = None
    # Levels re-weighed over all records when the dataset is written (teacher.calibration); raw_labels: the answers
    label_calibration: str | None = None
    schedule: str = "prefix"
    # "I/N": this run works on every N-th plot of the sample, starting at I (0-based); N runs with I = 0..N-1 and
    # otherwise equal settings split one sample into disjoint parts (separate machines, or sessions)
    shard: str | None = None

    def __post_init__(self) -> None:
        self.corpus = str(self.corpus)
        self.out_dir = str(self.out_dir)
        if self.prompts_dir is not None:
            self.prompts_dir = str(self.prompts_dir)
        self.max_tokens = {**DEFAULT_MAX_TOKENS, **(self.max_tokens or {})}
        checks = [
            (self.plots is None or self.plots > 0, "plots", "must be > 0 (or None for all)"),
            (self.max_actors is None or self.max_actors > 0, "max_actors", "must be > 0 (or None for all)"),
            (0.0 <= self.context_fraction <= 1.0, "context_fraction", "must be in [0, 1]"),
            (self.batch_size > 0, "batch_size", "must be > 0"),
            (self.concurrency is None or self.concurrency > 0, "concurrency", "must be > 0"),
            (self.max_retries >= 0, "max_retries", "must be >= 0"),
            (self.timeout is None or self.timeout > 0, "timeout", "must be > 0 seconds (or None for the default)"),
            (self.min_plot_chars >= 0, "min_plot_chars", "must be >= 0"),
            (self.max_plot_tokens > 0, "max_plot_tokens", "must be > 0"),
            (self.chars_per_token > 0, "chars_per_token", "must be > 0"),
            (0 < self.n_emotions <= 27, "n_emotions", "must be in 1..27"),
            (self.n_neutral >= 0, "n_neutral", "must be >= 0"),
            (self.temperature >= 0, "temperature", "must be >= 0"),
            (0 < self.near_dup_threshold <= 1, "near_dup_threshold", "must be in (0, 1]"),
            (self.max_utterance_chars > 0, "max_utterance_chars", "must be > 0"),
            (self.label_samples >= 1, "label_samples", "must be >= 1"),
            (self.label_temperature is None or self.label_temperature >= 0, "label_temperature", "must be >= 0"),
            (self.schedule in ("prefix", "plain"), "schedule", "must be 'prefix' or 'plain'"),
            (set(self.max_tokens) <= set(STEP_ORDER), "max_tokens", f"keys must be among {STEP_ORDER}"),
            (all(int(v) > 0 for v in self.max_tokens.values()), "max_tokens", "values must be > 0"),
            (set(self.step_sampling) <= set(STEP_ORDER), "step_sampling", f"keys must be among {STEP_ORDER}"),
            (
                all(set(v) <= SAMPLING_KEYS for v in self.step_sampling.values()),
                "step_sampling",
                f"settings must be among {sorted(SAMPLING_KEYS)}",
            ),
        ]
        for ok, name, message in checks:
            if not ok:
                raise ValueError(f"SynthesisConfig.{name} {message} (got {getattr(self, name)!r})")
        Calibration.parse(self.label_calibration)  # ValueError with the reason
        self.shard_part()  # ValueError with the reason

    def shard_part(self) -> tuple[int, int] | None:
        """``(I, N)`` of ``shard="I/N"`` (0 <= I < N), or None for the whole sample."""
        if self.shard is None:
            return None
        index, sep, count = str(self.shard).partition("/")
        try:
            part = (int(index), int(count))
        except ValueError:
            part = None
        if not sep or part is None or not 0 <= part[0] < part[1]:
            raise ValueError(f"SynthesisConfig.shard must be 'I/N' with 0 <= I < N (got {self.shard!r})")
        return part

    def to_dict(self) -> dict[str, Any]:
        """All settings, the LLM spec's credentials redacted (this is what ``config.json`` and the manifest hold)."""
        data = dataclasses.asdict(self)
        data["llm"] = redact_spec(self.llm)
        data["label_llms"] = [redact_spec(spec) for spec in self.label_llms]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SynthesisConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def identity(self) -> dict[str, Any]:
        """The settings that decide what the run produces (compared on resume)."""
        data = {k: v for k, v in self.to_dict().items() if k not in NON_IDENTITY}
        data["corpus"] = str(Path(self.corpus).resolve())
        if self.prompts_dir:
            data["prompts_dir"] = str(Path(self.prompts_dir).resolve())
        # options added after runs were made: left out at their defaults, so older runs still resume
        defaults = {"neutral_diversity": False, "label_samples": 1, "label_temperature": None, "label_llms": [],
                    "label_model": None, "shard": None}  # fmt: skip
        for name, default in defaults.items():
            if data.get(name) == default:
                data.pop(name, None)
        return data
