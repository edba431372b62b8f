"""Synthesis benchmark: throughput on the embedded model, runner overhead, cost of the paper's 400K run.

    python benchmarks/synthesis.py                       # all three parts (real part ~5 min on 2 cores)
    python benchmarks/synthesis.py --skip-real           # only the stub-server overhead + projection
    python benchmarks/synthesis.py --from-manifest runs/demo/synthesis/manifest.json
    python benchmarks/synthesis.py --vllm-tokens-per-s 2500 --markdown BENCHMARKS.md

1. **Embedded model** (Qwen2.5-Coder-0.5B on llama.cpp, CPU): a fresh run (LLM cache off) over a
   few demo plots, one actor each; reports records per hour, LLM calls, prompt and completion tokens
   per record. Or read those numbers from an existing run's manifest (``--from-manifest``).
2. **Runner overhead** against the zero-latency stub server (``emopillars.testing.stub_server``):
   the whole pipeline's wall time vs the time spent inside ``llm.generate`` (goal: < 5 %), plus the
   overhead per input row in milliseconds.
3. **Cost projection** for the paper's 400K examples: calls and tokens scale with records; GPU-hours
   = completion tokens / (vLLM output tokens per second) / 3600, with prompt tokens converted at
   ``--prefill-ratio`` (prefill is ~this many times faster than decode). The throughput is a
   parameter: measure it with ``benchmarks/llm_throughput.py`` on a GPU and pass it in.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from emopillars.settings import data_dir
from emopillars.synth import SynthesisConfig, synthesize

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "src" / "emopillars" / "synth" / "demo_plots.jsonl"
PAPER_RECORDS = 400_000
PAPER_CALLS, PAPER_GPU_HOURS = 700_000, 450
SMALL_MAX_TOKENS = {"actors": 100, "utterances": 450, "labels": 60, "context": 150, "cleaning": 150, "rewriting": 80}


def per_record(manifest: dict) -> dict:
    """Calls, tokens and time per record of one run (from its manifest)."""
    records = max(manifest["records"], 1)
    steps = manifest["steps"]
    llm_s = sum(s["llm_s"] for s in steps.values())
    wall = sum(s["wall_s"] for s in steps.values())
    tokens = manifest["tokens"]
    return {
        "records": manifest["records"],
        "plots": manifest["plots"],
        "model": manifest["model"],
        "llm_cache": bool(manifest["config"].get("cache")),
        "cached_answers": sum(s.get("cached_answers", 0) for s in steps.values()),
        "calls": tokens["calls"],
        "calls_per_record": round(tokens["calls"] / records, 3),
        "prompt_tokens_per_record": round(tokens["prompt"] / records, 1),
        "completion_tokens_per_record": round(tokens["completion"] / records, 1),
        "steps_wall_s": round(wall, 1),
        "llm_s": round(llm_s, 1),
        "records_per_hour": round(manifest["records"] / wall * 3600, 1) if wall else None,
        "calls_per_step": {name: s["calls"] for name, s in steps.items()},
        "completion_tokens_per_step": {name: s["completion_tokens"] for name, s in steps.items()},
    }


def real_run(plots: int, out: Path, llm: str | None) -> dict:
    config = SynthesisConfig(
        corpus=str(DEMO),
        out_dir=str(out),
        llm=llm,
        plots=plots,
        max_actors=1,
        min_plot_chars=0,
        cache=False,
        batch_size=8,
        max_retries=1,
        max_tokens=SMALL_MAX_TOKENS,
    )
    manifest = synthesize(config).data
    return per_record(manifest)


class _Recorder:
    """Passes every call to the LLM (the runner uses ``agenerate`` on the LLM's loop) and keeps each batch of
    requests, to replay them without the runner."""

    def __init__(self, llm) -> None:
        self.llm, self.batches = llm, []

    async def agenerate(self, requests, **kw):
        self.batches.append(list(requests))
        return await self.llm.agenerate(self.batches[-1], **kw)

    def __getattr__(self, name):
        return getattr(self.llm, name)


async def replay(llm, batches: list[list]) -> float:
    """Seconds to send ``batches`` one after another on the LLM's own loop: the calls and nothing else."""
    started = time.perf_counter()
    for batch in batches:
        await llm.agenerate(batch)
    return time.perf_counter() - started


def start_stub_process() -> tuple[subprocess.Popen, str]:
    """The stub server in its own process, as a real server would be: its CPU is not the runner's."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "emopillars.testing.stub_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if "stub server at" not in line:
        proc.kill()
        raise RuntimeError(f"the stub server did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[-1].strip()


def overhead_run(out: Path, plots: int, repeats: int = 5) -> dict:
    """The pipeline against a zero-latency stub server vs the same LLM calls replayed without the runner.

    The stub runs in its own process, as a real server would. One warm-up run records every batch of
    requests; then, ``repeats`` times: a replay of the recorded batches through the same LLM, one batch
    after another on its own event loop (the calls and nothing else), a fresh pipeline run (timed per
    step), and the replay again. Pure LLM time = the mean of the two replays around the run; runner
    overhead = summed steps' wall / summed pure LLM time - 1. The replays' difference from each other
    is the measurement's noise floor; each repeat's figures are listed too, to show the spread.
    """
    from emopillars.llm import load_llm

    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "corpus.jsonl"
    wiki = (data_dir() or Path("/nonexistent")) / "narratives" / "wikipedia_british_movie_plots.jsonl"
    if wiki.exists():  # real plots: varied names, so the stub's answers are varied too
        shutil.copy(wiki, corpus)
    else:
        rows = [json.loads(line) for line in DEMO.read_text().splitlines()]
        with open(corpus, "w") as handle:
            for k in range(plots // len(rows) + 1):
                for row in rows:
                    handle.write(json.dumps({**row, "id": f"{row['id']}_{k}"}) + "\n")
    concurrency = 16
    runs: list[dict] = []
    proc, url = start_stub_process()
    try:
        llm = load_llm(f"openai:{url}#stub", cache=False, concurrency=concurrency, max_retries=2)
    except BaseException:
        proc.kill()
        raise
    try:
        llm.check()

        def config(name: str) -> SynthesisConfig:
            return SynthesisConfig(
                corpus=str(corpus),
                out_dir=str(out / name),
                llm=f"openai:{url}#stub",
                cache=False,
                progress=False,
                plots=plots,
                min_plot_chars=400,
                max_actors=3,
                batch_size=64,
                concurrency=concurrency,
            )

        recorder = _Recorder(llm)
        synthesize(config("warmup"), llm=recorder)
        for k in range(repeats):
            before = llm.run(replay(llm, recorder.batches))
            started = time.perf_counter()
            manifest = synthesize(config(f"run{k}"), llm=llm).data
            wall = time.perf_counter() - started
            after = llm.run(replay(llm, recorder.batches))
            steps = manifest["steps"]
            runs.append(
                {
                    "wall": wall,
                    "pure": (before + after) / 2,
                    "before": before,
                    "after": after,
                    "steps_wall": sum(s["wall_s"] for s in steps.values()),
                    "in_flight": sum(s["llm_s"] for s in steps.values()),
                    "rows": sum(s["inputs"] for s in steps.values()),
                    "manifest": manifest,
                }
            )
    finally:
        llm.close()
        proc.terminate()
        proc.wait(timeout=10)

    def pct(part: float, whole: float) -> float:
        return round(100 * (part - whole) / whole, 2)

    manifest = runs[0]["manifest"]
    keys = ("wall", "pure", "before", "after", "steps_wall", "in_flight", "rows")
    total = {key: sum(r[key] for r in runs) for key in keys}
    per = {key: total[key] / repeats for key in ("wall", "pure", "steps_wall", "in_flight")}
    return {
        "plots": manifest["plots"],
        "records": manifest["records"],
        "llm_calls": manifest["tokens"]["calls"],
        "batches": len(recorder.batches),
        "repeats": repeats,
        "pipeline_wall_s": round(per["wall"], 3),
        "steps_wall_s": round(per["steps_wall"], 3),
        "pure_llm_s": round(per["pure"], 3),
        "llm_in_flight_s": round(per["in_flight"], 3),
        "runner_overhead_pct": pct(total["steps_wall"], total["pure"]),
        "runner_overhead_pct_each": [pct(r["steps_wall"], r["pure"]) for r in runs],
        "replay_vs_replay_pct": pct(total["after"], total["before"]),
        "replay_vs_replay_pct_each": [pct(r["after"], r["before"]) for r in runs],
        "llm_idle_pct": pct(total["steps_wall"], total["in_flight"]),
        "pipeline_overhead_pct": pct(total["wall"], total["pure"]),
        "runner_overhead_ms_per_row": round(1000 * (total["steps_wall"] - total["pure"]) / total["rows"], 3),
        "pipeline_overhead_ms_per_row": round(1000 * (total["wall"] - total["pure"]) / total["rows"], 3),
        "stub_requests_per_s": round(repeats * manifest["tokens"]["calls"] / total["pure"], 1),
    }


def projection(numbers: dict | None, tokens_per_s: float | None, prefill_ratio: float) -> dict:
    """The paper's 400K records at the measured per-record shape and a vLLM server's throughput."""
    out: dict = {
        "records": PAPER_RECORDS,
        "paper": {
            "calls": PAPER_CALLS,
            "gpu_hours": PAPER_GPU_HOURS,
            "calls_per_gpu_hour": PAPER_CALLS // PAPER_GPU_HOURS,
        },
    }
    if not numbers:
        return out
    calls = numbers["calls_per_record"] * PAPER_RECORDS
    completion = numbers["completion_tokens_per_record"] * PAPER_RECORDS
    prompt = numbers["prompt_tokens_per_record"] * PAPER_RECORDS
    out.update(calls=round(calls), completion_tokens=round(completion), prompt_tokens=round(prompt))
    if tokens_per_s:
        seconds = (completion + prompt / prefill_ratio) / tokens_per_s
        out.update(
            vllm_output_tokens_per_s=tokens_per_s, prefill_ratio=prefill_ratio, gpu_hours=round(seconds / 3600, 1)
        )
    else:
        out["gpu_hours"] = "to be filled when a GPU is lent (pass --vllm-tokens-per-s)"
    return out


def machine() -> str:
    cores = os.cpu_count()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    load = f", load average {os.getloadavg()[0]:.1f} (shared machine)" if hasattr(os, "getloadavg") else ""
    return f"{platform.machine()}, {cores} CPU cores visible, {python}{load}"


def markdown(results: dict, command: str, notes: list[str] = ()) -> str:
    real, over, proj = results.get("embedded"), results["overhead"], results["projection"]
    goal = "met" if over["runner_overhead_pct"] < 5 else "not met"
    lines = [
        "",
        "## Synthesis",
        "",
        f"- date: {results['date']}",
        f"- command: `{command}`",
        f"- machine: {results['machine']}",
        *[f"- {note}" for note in notes],
        "",
    ]
    if real:
        lines += [
            f"Embedded teacher ({real['model']}, llama.cpp on CPU, LLM cache "
            f"{'on' if real['llm_cache'] else 'off'}, {real['cached_answers']} answers from the cache), "
            f"{real['plots']} demo plots x 1 actor:",
            "",
            "| records | LLM calls | calls / record | prompt tok / record | completion tok / record | steps wall "
            "| records / hour |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| {real['records']} | {real['calls']} | {real['calls_per_record']} | {real['prompt_tokens_per_record']} "
            f"| {real['completion_tokens_per_record']} | {real['steps_wall_s']} s | {real['records_per_hour']} |",
            "",
        ]
    spread = lambda values: f"{min(values)} to {max(values)} %"  # noqa: E731
    lines += [
        f"Runner overhead against the zero-latency stub server in its own process ({over['plots']} plots, "
        f"{over['records']} records, {over['llm_calls']} calls, up to 3 actors per plot, batch 64, concurrency 16; "
        f"{over['repeats']} repeats, each a pipeline run between two replays of the same calls without the runner):",
        "",
        "| pure LLM time (replays) | steps wall | runner overhead | per repeat | replay vs replay (noise) "
        "| LLM idle (no batch in flight) | whole pipeline |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| {over['pure_llm_s']} s | {over['steps_wall_s']} s | **{over['runner_overhead_pct']} %** "
        f"({over['runner_overhead_ms_per_row']} ms per row) | {spread(over['runner_overhead_pct_each'])} "
        f"| {over['replay_vs_replay_pct']} % ({spread(over['replay_vs_replay_pct_each'])}) "
        f"| {over['llm_idle_pct']} % | +{over['pipeline_overhead_pct']} % |",
        "",
        f"Goal (runner < 5 % over pure LLM time): {goal} in this run. Per repeat the figure moves by about as much",
        "as two replays of the same calls differ from each other (the noise column): read the summed figure.",
        "The runner is pipelined on the LLM client's event loop: answers are parsed and encoded as they land, and",
        "the previous batch's checkpoint write and the next batch's requests are done while a batch is in flight.",
        "The whole-pipeline figure adds one-off work outside the steps (reading the corpus, filters, quality",
        "statistics, writing JSONL + Parquet and the manifest).",
        "",
        f"Projection for the paper's {PAPER_RECORDS:,} records (paper: {PAPER_CALLS:,} calls in {PAPER_GPU_HOURS} "
        "GPU-hours, sequential generation):",
        "",
    ]
    if "calls" in proj:
        lines += [
            f"- calls {proj['calls']:,}, prompt tokens {proj['prompt_tokens']:,}, completion tokens "
            f"{proj['completion_tokens']:,} (at the per-record shape measured above)",
            f"- GPU-hours on a vLLM server: {proj['gpu_hours']}",
        ]
    else:
        lines += ["- needs the per-record numbers of a real run (run without --skip-real or pass --from-manifest)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plots", type=int, default=2, help="demo plots for the real run (1 actor each)")
    parser.add_argument("--llm", help="teacher for the real run (default: embedded Qwen2.5-Coder-0.5B)")
    parser.add_argument("--skip-real", action="store_true", help="skip the embedded-model run")
    parser.add_argument("--from-manifest", help="take the per-record numbers from this run's manifest.json")
    parser.add_argument("--overhead-plots", type=int, default=300, help="plots for the stub-server run")
    parser.add_argument("--overhead-repeats", type=int, default=5, help="timed stub-server runs (and replays)")
    parser.add_argument("--vllm-tokens-per-s", type=float, help="measured vLLM output tokens/s (for GPU-hours)")
    parser.add_argument("--prefill-ratio", type=float, default=10.0, help="prefill tokens/s over decode tokens/s")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--markdown", help="append a 'Synthesis' section to this Markdown file")
    parser.add_argument("--note", action="append", default=[], help="a line to add to the Markdown section")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results: dict = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="emopillars-bench-"))
    try:
        if args.from_manifest:
            results["embedded"] = per_record(json.loads(Path(args.from_manifest).read_text()))
        elif not args.skip_real:
            results["embedded"] = real_run(args.plots, work / "real", args.llm)
        results["overhead"] = overhead_run(work / "stub", plots=args.overhead_plots, repeats=args.overhead_repeats)
        results["projection"] = projection(results.get("embedded"), args.vllm_tokens_per_s, args.prefill_ratio)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown:
        command = "python benchmarks/synthesis.py " + " ".join(argv if argv is not None else sys.argv[1:])
        with open(args.markdown, "a") as handle:
            handle.write(markdown(results, command.strip(), args.note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
