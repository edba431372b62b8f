"""Raters: who labels an utterance. An LLM through the synthesis labels step, or a trained classifier.

Every rater turns utterance rows (``id``, ``utterance``) into, per row, a list of answers (one per sample),
each a ``{label: level}`` dict in the rater's order (primary first) or ``None`` when that answer failed.
:mod:`emopillars.teacher.aggregate` turns them into one soft label set.

- :class:`LLMRater` runs exactly the labels step of synthesis (template, schema, parser, taxonomy mapping),
  ``samples`` times per utterance. With one sample it decodes as the step does (greedy by default); with
  ``K > 1`` sample ``k`` uses ``temperature`` and seed ``seed + k``, so each sample has its own cache key
  and a rerun is free. The K requests of one utterance are sent back to back: their prompts are identical,
  so a backend that keeps its KV cache (llama.cpp) evaluates the prompt once.
- :class:`ModelRater` scores the utterances with a trained emopillars classifier. Its sigmoid scores are
  mapped to levels so that the classifier's own decision threshold lands on 0.3, the positive level of
  the labels step: ``0.3 * s / t`` below the threshold ``t``, ``0.3 + 0.7 * (s - t) / (1 - t)`` above it.
  So its positive labels are exactly the ones its calibrated policy predicts, and its levels can be
  averaged with an LLM's.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emopillars.llm.types import ChatResponse, SamplingParams
from emopillars.synth.steps import labels as labels_step
from emopillars.synth.steps.base import Step, make_step

Answer = dict[str, float] | None
DEFAULT_SAMPLE_TEMPERATURE = 0.7
MIN_MODEL_LEVEL = 0.1  # classifier levels below this are left out of the record (they carry no vote worth keeping)


@dataclass
class RaterStats:
    """What one rater cost and how often it failed."""

    calls: int = 0
    cached: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0  # sum of call latencies (from the cache: the latency of the original call)
    drops: Counter = field(default_factory=Counter)
    unmapped: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["drops"] = dict(self.drops.most_common())
        data["unmapped"] = dict(self.unmapped.most_common(20))
        data["seconds"] = round(self.seconds, 3)
        return data


def labels_step_for(
    prompts_dir: str | None = None, max_tokens: int | None = None, sampling: SamplingParams | None = None
) -> Step:
    """The synthesis labels step, bound as synthesis binds it."""
    return make_step(labels_step, prompts_dir=prompts_dir, max_tokens=max_tokens, sampling=sampling)


def sample_params(base: SamplingParams, k: int, samples: int, temperature: float | None) -> SamplingParams:
    """Decoding of sample ``k`` of ``samples``: the step's own for a single sample, else sampled with seed + k."""
    if samples <= 1:
        return base if temperature is None else dataclasses.replace(base, temperature=temperature)
    temp = DEFAULT_SAMPLE_TEMPERATURE if temperature is None else temperature
    return dataclasses.replace(base, temperature=temp, seed=base.seed + k)


def answer_of(response: ChatResponse, row: dict) -> tuple[Answer, Any]:
    """(levels or None, the parse result) of one labels-step answer."""
    parsed = labels_step.parse_levels(response, row)
    if parsed.drop or not parsed.outputs:
        return None, parsed
    return dict(parsed.outputs[0]["labels"]), parsed


class LLMRater:
    """An LLM labelling through the synthesis labels step, ``samples`` answers per utterance."""

    kind = "llm"

    def __init__(
        self,
        llm,
        name: str,
        *,
        samples: int = 1,
        temperature: float | None = None,
        step: Step | None = None,
    ) -> None:
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        self.llm = llm
        self.name = name
        self.samples = samples
        self.temperature = temperature
        self.step = step or labels_step_for()
        self.stats = RaterStats()

    def steps(self) -> list[Step]:
        """One bound step per sample (its own sampling parameters)."""
        return [
            dataclasses.replace(self.step, params=sample_params(self.step.params, k, self.samples, self.temperature))
            for k in range(self.samples)
        ]

    def rate(self, rows: list[dict], on_answer: Callable[[], None] | None = None) -> list[list[Answer]]:
        """K answers per row (None = failed), in row order; ``on_answer`` is called as each lands (progress)."""
        steps = self.steps()
        per_sample = [step.build_requests(rows) for step in steps]
        order = [(i, k) for i in range(len(rows)) for k in range(self.samples)]  # a row's samples back to back
        requests = [per_sample[k][i] for i, k in order]
        out: list[list[Answer]] = [[None] * self.samples for _ in rows]

        def landed(index: int, response: ChatResponse) -> None:
            i, k = order[index]
            answer, parsed = answer_of(response, rows[i])
            out[i][k] = answer
            self._count(response, parsed, answer)
            if on_answer is not None:
                on_answer()

        self.llm.generate(requests, on_result=landed)
        return out

    def _count(self, response: ChatResponse, parsed, answer: Answer) -> None:
        s = self.stats
        s.calls += 1
        s.cached += bool(response.cached)
        s.prompt_tokens += int(response.prompt_tokens or 0)
        s.completion_tokens += int(response.completion_tokens or 0)
        s.seconds += float(response.latency_s or 0.0)
        if answer is None:
            s.failed += 1
            s.drops[parsed.drop or "failed"] += 1
        s.unmapped.update(parsed.notes.get("unmapped", []))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "model": str(getattr(self.llm, "model_id", "unknown")),
            "samples": self.samples,
            "sampling": self.steps()[0].params.to_dict(),
            "prompt_version": self.step.version,
        }


def calibrated_levels(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Scores -> levels with each class's threshold mapped onto 0.3 (piecewise linear, see the module doc)."""
    s = np.asarray(scores, dtype=np.float64)
    t = np.clip(np.asarray(thresholds, dtype=np.float64), 1e-6, 1 - 1e-6)
    below = 0.3 * s / t
    above = 0.3 + 0.7 * (s - t) / (1 - t)
    return np.clip(np.where(s >= t, above, below), 0.0, 1.0)


class ModelRater:
    """A trained emopillars classifier as a rater (one deterministic answer per utterance)."""

    kind = "model"
    samples = 1

    def __init__(self, model_dir: str | Path, name: str | None = None, *, batch_size: int = 64, classifier=None):
        if classifier is None:
            from emopillars.serving.predictor import EmotionClassifier

            classifier = EmotionClassifier.load(model_dir)
        if classifier.context_aware:
            raise ValueError(f"{model_dir} is a context-aware model; a rater must read utterances alone")
        self.classifier = classifier
        self.model_dir = str(model_dir)
        self.name = name or f"model:{Path(model_dir).name}"
        self.batch_size = batch_size
        self.stats = RaterStats()

    def rate(self, rows: list[dict], on_answer: Callable[[], None] | None = None) -> list[list[Answer]]:
        started = time.perf_counter()
        texts = [row["utterance"] for row in rows]
        scores = self.classifier.predict_scores(texts, batch_size=self.batch_size) if texts else np.zeros((0, 0))
        names = self.classifier.label_names
        policy = self.classifier.policy
        thresholds = policy.thresholds(len(names)) if policy.kind != "argmax" else np.full(len(names), 0.5)
        levels = calibrated_levels(scores, thresholds) if len(texts) else scores
        out: list[list[Answer]] = []
        for row in levels:
            order = np.argsort(-row, kind="stable")
            answer = {names[j]: round(float(row[j]), 3) for j in order if row[j] >= MIN_MODEL_LEVEL}
            out.append([answer])
            if on_answer is not None:
                on_answer()
        self.stats.calls += len(rows)
        self.stats.seconds += time.perf_counter() - started
        return out

    def describe(self) -> dict[str, Any]:
        policy = self.classifier.policy
        return {
            "name": self.name,
            "kind": self.kind,
            "model": self.model_dir,
            "samples": 1,
            "policy": policy.kind,
            "global_threshold": policy.global_threshold,
        }
