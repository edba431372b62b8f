"""GPU-hours and money for a synthesis run of N records, from a record shape and a measured throughput.

GPU time = completion tokens / decode tokens per second + prompt tokens / prefill tokens per second, on one
GPU. Decode throughput is the figure that matters (generation is memory-bound); it depends on the server
and its batch, so it is a *measured* input: ``--tokens-per-s`` (e.g. from ``benchmarks/llm_throughput.py``
against a vLLM server) or ``--from BENCHMARK.json`` (``benchmarks/gpu_figures.py`` writes one, labelled with
what it measured). Without a measured prefill rate, prefill is taken as :data:`PREFILL_RATIO` times decode.
The sum is an upper bound for a server with continuous batching, which overlaps the two.

**The paper's run is the check** (:data:`PAPER`): 700K calls in 450 GPU-hours for ~400K examples (300K
context-less + 100K contextual) with Mistral-7B-Instruct, i.e. 1,556 calls per GPU-hour. The first row of
every plan is that run as reported; the second is the same 400K records at the measured shape and the
paper's own speed per call, so a reader sees at once how far the shape is from the paper's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from emopillars.plan.shape import RecordShape

PREFILL_RATIO = 10.0  # prefill tokens/s over decode tokens/s when no prefill rate was measured


@dataclass(frozen=True)
class PaperRun:
    records: int = 400_000
    contextual_records: int = 100_000
    calls: int = 700_000
    gpu_hours: float = 450.0

    @property
    def calls_per_gpu_hour(self) -> float:
        return self.calls / self.gpu_hours

    @property
    def context_fraction(self) -> float:
        return self.contextual_records / self.records


PAPER = PaperRun()


@dataclass(frozen=True)
class Throughput:
    """Tokens per second on one GPU: decode (generated tokens) and prefill (prompt tokens; None: decode x ratio)."""

    decode_tokens_per_s: float
    prefill_tokens_per_s: float | None = None
    source: str = "--tokens-per-s"
    prefill_ratio: float = PREFILL_RATIO

    def __post_init__(self) -> None:
        if not self.decode_tokens_per_s > 0:
            raise ValueError(f"tokens per second must be > 0, got {self.decode_tokens_per_s}")
        if self.prefill_tokens_per_s is not None and not self.prefill_tokens_per_s > 0:
            raise ValueError(f"prefill tokens per second must be > 0, got {self.prefill_tokens_per_s}")

    @property
    def prefill(self) -> float:
        return self.prefill_tokens_per_s or self.decode_tokens_per_s * self.prefill_ratio

    def gpu_seconds(self, prompt_tokens: float, completion_tokens: float) -> float:
        return completion_tokens / self.decode_tokens_per_s + prompt_tokens / self.prefill

    @classmethod
    def from_benchmark(cls, path: str | Path) -> Throughput:
        """The ``planner`` entry of a benchmark JSON (``benchmarks/gpu_figures.py`` writes it)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"benchmark file not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from None
        entry = data.get("planner") if isinstance(data, dict) else None
        if not isinstance(entry, dict) or not entry.get("decode_tokens_per_s"):
            raise ValueError(
                f"{path} has no 'planner' entry with 'decode_tokens_per_s' (write one with benchmarks/gpu_figures.py)"
            )
        label = entry.get("label") or "benchmark"
        return cls(
            float(entry["decode_tokens_per_s"]),
            float(entry["prefill_tokens_per_s"]) if entry.get("prefill_tokens_per_s") else None,
            source=f"{path}: {label}",
        )


@dataclass
class Plan:
    """One row of a plan: what a run of ``records`` costs."""

    label: str
    records: int
    context_fraction: float | None
    calls: float
    prompt_tokens: float | None
    completion_tokens: float | None
    gpu_hours: float | None
    cost: float | None
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_run(
    records: int,
    shape: RecordShape,
    *,
    context_fraction: float | None = None,
    throughput: Throughput | None = None,
    gpu_hour_price: float | None = None,
) -> list[Plan]:
    """Rows: the paper's run as reported, the paper's records at this shape and the paper's speed, this run."""
    if records <= 0:
        raise ValueError(f"--records must be > 0, got {records}")
    if gpu_hour_price is not None and gpu_hour_price < 0:
        raise ValueError(f"the GPU-hour price must be >= 0, got {gpu_hour_price}")

    def price(hours: float | None) -> float | None:
        return None if hours is None or gpu_hour_price is None else hours * gpu_hour_price

    rows = [
        Plan(
            "paper (as reported)",
            PAPER.records,
            PAPER.context_fraction,
            PAPER.calls,
            None,
            None,
            PAPER.gpu_hours,
            price(PAPER.gpu_hours),
            f"Mistral-7B-Instruct, {PAPER.calls_per_gpu_hour:,.0f} calls per GPU-hour",
        )  # fmt: skip
    ]
    at_paper = shape.per_record(PAPER.context_fraction) * PAPER.records
    paper_hours = at_paper.calls / PAPER.calls_per_gpu_hour
    rows.append(
        Plan(
            "paper's records, this shape, paper's speed",
            PAPER.records,
            PAPER.context_fraction,
            at_paper.calls,
            at_paper.prompt_tokens,
            at_paper.completion_tokens,
            paper_hours,
            price(paper_hours),
            f"{at_paper.calls / PAPER.calls:.2f}x the paper's calls; implies "
            f"{implied_decode_tokens_per_s(shape):.1f} generated tokens/s per GPU in the paper's run",
        )  # fmt: skip
    )
    total = shape.per_record(context_fraction) * records
    hours = throughput.gpu_seconds(total.prompt_tokens, total.completion_tokens) / 3600 if throughput else None
    fraction = shape.context_share if context_fraction is None else context_fraction
    rows.append(
        Plan(
            "this run",
            records,
            fraction,
            total.calls,
            total.prompt_tokens,
            total.completion_tokens,
            hours,
            price(hours),
            throughput_basis(throughput),
        )  # fmt: skip
    )
    return rows


def implied_decode_tokens_per_s(shape: RecordShape) -> float:
    """Generated tokens per second per GPU that the paper's 1,556 calls per GPU-hour mean at this shape's tokens
    per call (decode only: an upper bound of the paper's speed)."""
    part = shape.per_record(PAPER.context_fraction)
    return part.completion_tokens / part.calls * PAPER.calls_per_gpu_hour / 3600


def throughput_basis(throughput: Throughput | None) -> str:
    if throughput is None:
        return "no throughput given: pass --tokens-per-s T or --from BENCHMARK.json for GPU-hours"
    prefill = (
        f"prefill {throughput.prefill_tokens_per_s:,.0f} tok/s"
        if throughput.prefill_tokens_per_s
        else f"prefill taken as {throughput.prefill_ratio:g}x decode"
    )
    return f"{throughput.decode_tokens_per_s:,.1f} generated tok/s per GPU ({throughput.source}), {prefill}"


def render(rows: list[Plan], shape: RecordShape, price_given: bool) -> str:
    """The plan as a Markdown table, with the shape it came from."""

    def number(value: float | None, digits: int = 0) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    lines = [
        f"per-record shape: {shape.source}",
        "",
        "| run | records | context share | LLM calls | prompt tokens | completion tokens | GPU-hours | cost | basis |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        share = "-" if row.context_fraction is None else f"{row.context_fraction:.3f}"
        cost = number(row.cost, 2) if price_given else "-"
        lines.append(
            f"| {row.label} | {row.records:,} | {share} | {number(row.calls)} | {number(row.prompt_tokens)} | "
            f"{number(row.completion_tokens)} | {number(row.gpu_hours, 1)} | {cost} | {row.basis} |"
        )
    return "\n".join(lines)
