"""How many records per hour can a GGUF teacher make on this machine at best? The compute ceiling, measured.

    python benchmarks/teacher_ceiling.py --manifest RUN/manifest.json [--model qwen2.5-1.5b] [--threads 2]
        [--baseline-rph 101.4] [--json out.json] [--write]

1. **The machine's rates** for the model, with llama.cpp's own batched decode (no Python decoding loop, no
   grammar): prompt evaluation in chunks of 512 tokens (logits of the last token only), and one decode step
   for 1, 2, 4, 8 and 16 sequences at once (one new token per sequence, each sequence behind the same prompt).
   Batching sequences is how a server raises throughput; on a CPU it helps only as far as a step is not
   already compute-bound.
2. **The work per record** from a finished synthesis run (its manifest: records, and every step's prompt and
   completion tokens) and its dataset (the record's own texts, tokenized: the part of the prompts that no
   prefix cache can share: the utterance in its label, context and rewriting prompts, the context in its
   cleaning and rewriting prompts).
3. **Bounds** on records per hour, each as a ratio to ``--baseline-rph`` (today's measured rate):
   ``generation only`` = every prompt token free, every answer token decoded at the best batched rate;
   ``+ own text`` = that plus the record's own texts evaluated as prompt at the prompt rate. Every real
   pipeline is slower than both; a goal above them cannot be reached on this machine with this model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model, load_average, publish  # noqa: E402

SECTION = "## Teacher ceiling: records per hour a 2-core CPU allows"
BATCHES = (1, 2, 4, 8, 16)
CHUNK = 512


def gguf(model: str) -> Path:
    """A GGUF path as given, or the file of a packaged model name (assembled on first use)."""
    from emopillars.llm.models import model_path

    return Path(model) if Path(model).is_file() else model_path(model)


def machine_rates(path: Path, threads: int, prompt_tokens: int, reps: int) -> dict:
    """Prompt tokens/s and decode tokens/s per batch size, llama.cpp alone."""
    import llama_cpp
    from llama_cpp import _internals

    llama = llama_cpp.Llama(str(path), n_ctx=512, n_threads=threads, n_threads_batch=threads, verbose=False)
    params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
    params.n_ctx = prompt_tokens + 64 * reps + 64
    params.n_batch = params.n_ubatch = CHUNK
    params.n_seq_max = max(BATCHES)
    params.kv_unified = True
    context = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
    ctx, mem = context.ctx, llama_cpp.llama_get_memory(context.ctx)
    batch = llama_cpp.llama_batch_init(CHUNK, 0, max(BATCHES))
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    tokens = llama.tokenize(text.encode("utf-8"), add_bos=False)[:prompt_tokens]
    if len(tokens) < prompt_tokens:
        raise SystemExit(f"README.md has only {len(tokens)} tokens; ask for fewer with --prompt-tokens")

    def decode(items: list[tuple[int, int, int]], last_only: bool) -> None:
        batch.n_tokens = len(items)
        for i, (token, pos, seq) in enumerate(items):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = (not last_only) or i == len(items) - 1
        rc = llama_cpp.llama_decode(ctx, batch)
        if rc != 0:
            raise SystemExit(f"llama_decode failed with status {rc}")

    try:
        started = time.perf_counter()
        for start in range(0, len(tokens), CHUNK):
            decode([(t, start + i, 0) for i, t in enumerate(tokens[start : start + CHUNK])], last_only=True)
        prompt_s = time.perf_counter() - started
        for seq in range(1, max(BATCHES)):
            llama_cpp.llama_memory_seq_cp(mem, 0, seq, -1, -1)
        pos = dict.fromkeys(range(max(BATCHES)), len(tokens))
        decode_rates = {}
        for n in BATCHES:
            times = []
            for _ in range(reps):
                step = time.perf_counter()
                decode([(tokens[(pos[s] + s) % len(tokens)], pos[s], s) for s in range(n)], last_only=False)
                times.append(time.perf_counter() - step)
                for s in range(n):
                    pos[s] += 1
            decode_rates[n] = round(n / statistics.median(times), 2)
            print(f"  decode batch {n:>2}: {decode_rates[n]:6.2f} tok/s", flush=True)
    finally:
        llama_cpp.llama_batch_free(batch)
        context.close()
    return {
        "prompt_tokens": len(tokens),
        "prompt_tok_s": round(len(tokens) / prompt_s, 2),
        "decode_tok_s": decode_rates,
    }


def run_work(manifest_path: Path, path: Path) -> dict:
    """Records, answer tokens and the records' own prompt text per record, from a finished synthesis run."""
    import llama_cpp

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    records = int(manifest["records"])
    if records <= 0:
        raise SystemExit(f"{manifest_path}: the run made no records")
    steps = manifest["steps"]
    completion = sum(int(s.get("completion_tokens", 0)) for s in steps.values())
    prompt = sum(int(s.get("prompt_tokens", 0)) for s in steps.values())
    llama = llama_cpp.Llama(str(path), n_ctx=64, vocab_only=True, verbose=False)

    def n(text: str | None) -> int:
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False)) if text else 0

    own = 0
    dataset = manifest_path.parent / "dataset"
    for file in sorted((dataset / "orig").glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            own += n(rec.get("utterance"))  # the label prompt
    for file in sorted((dataset / "corig").glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            utt, ctx = n(rec.get("utterance")), n(rec.get("context"))
            own += utt + ctx + (utt + ctx)  # context prompt (utterance), cleaning (context), rewriting (both)
    return {
        "manifest": str(manifest_path),
        "records": records,
        "prompt_per_record": round(prompt / records, 1),
        "completion_per_record": round(completion / records, 1),
        "own_text_per_record": round(own / records, 1),
    }


def bounds(rates: dict, work: dict, baseline_rph: float) -> dict:
    best = max(rates["decode_tok_s"].values())
    gen_s = work["completion_per_record"] / best
    own_s = work["own_text_per_record"] / rates["prompt_tok_s"]
    out = {}
    for name, seconds in (("generation only", gen_s), ("+ own text", gen_s + own_s)):
        rph = 3600.0 / seconds
        out[name] = {
            "s_per_record": round(seconds, 2),
            "records_per_hour": round(rph, 1),
            "x_baseline": round(rph / baseline_rph, 2),
        }
    return out


def markdown(summary: dict) -> str:
    rates, work = summary["rates"], summary["work"]
    lines = [
        SECTION,
        "",
        f"- date: {summary['date']}; command: `{summary['command']}`",
        f"- machine: {summary['machine']}; load average {summary['load_start']} at start, "
        f"{summary['load_end']} at end",
        f"- model: {summary['model']}, {summary['threads']} llama.cpp threads",
        "",
        "| measured (llama.cpp alone) | tokens / s |",
        "| --- | ---: |",
        f"| prompt evaluation ({rates['prompt_tokens']} tokens, chunks of {CHUNK}) | {rates['prompt_tok_s']} |",
    ]
    lines += [f"| decode, {k} sequence(s) per step | {v} |" for k, v in rates["decode_tok_s"].items()]
    lines += [
        "",
        f"Work per record in `{work['manifest']}` ({work['records']} records): {work['prompt_per_record']} prompt "
        f"and {work['completion_per_record']} answer tokens, {work['own_text_per_record']} tokens of the "
        "record's own text in its prompts.",
        "",
        f"| upper bound | s / record | records / hour | x today ({summary['baseline_rph']} records / hour) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, b in summary["bounds"].items():
        lines.append(f"| {name} | {b['s_per_record']} | {b['records_per_hour']} | {b['x_baseline']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, required=True, help="manifest.json of a finished synthesis run")
    parser.add_argument("--model", default="qwen2.5-1.5b", help="model name or GGUF path")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=8, help="timed decode steps per batch size (median)")
    parser.add_argument("--baseline-rph", type=float, required=True, help="today's measured records per hour")
    parser.add_argument("--json", default=None)
    parser.add_argument("--write", action="store_true", help="put the table in BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not args.manifest.is_file():
        parser.error(f"{args.manifest} does not exist")
    load_start = load_average()
    path = gguf(args.model)
    work = run_work(args.manifest, path)
    rates = machine_rates(path, args.threads, args.prompt_tokens, args.reps)
    summary = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/teacher_ceiling.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{cpu_model()}, 2 cores, shared",
        "load_start": load_start,
        "load_end": load_average(),
        "model": args.model,
        "threads": args.threads,
        "baseline_rph": args.baseline_rph,
        "rates": rates,
        "work": work,
        "bounds": bounds(rates, work, args.baseline_rph),
    }
    publish(summary, markdown, SECTION, args.json, args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
