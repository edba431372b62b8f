"""The 1.5B CPU teacher: records per hour before and after, in one run, and where a label call's time goes.

    python benchmarks/teacher_speed.py --before /work/wt/teacher-before --plots 2 --max-actors 2 \
        [--rounds 1] [--threads 1] [--markdown BENCHMARKS.md]

**Synthesis** (the headline): the same ``emopillars synthesize`` command (Wikipedia plots, the packaged
Qwen2.5-Coder-1.5B, no answer cache) runs with the code at ``--before`` (a git worktree of the commit to
compare against; its ``src`` goes first on ``PYTHONPATH``) and with this checkout, alternating (before, after,
after, before, ...), each in its own process. Records per hour = records in the dataset / wall time of the
command; tokens per record from the manifests. The ratio after / before is the result; both sides see the
same machine load over the run.

**Profile** (``--profile N``): N label calls of the labels step with llama-cpp-python's own decoding and the
previous prompt, then the same texts with this backend's engine and the current prompt, in one process: time
in prompt evaluation, decoding, sampling (grammar) and Python around them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import append_section, cpu_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CORPUS = "narratives/wikipedia_british_movie_plots.jsonl"
SECTION = "## Synthesis: the 1.5B CPU teacher, before and after"


def load() -> float:
    return os.getloadavg()[0]


def run_side(src: Path, out: Path, args, data_dir: Path, workers: int | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "EMOPILLARS_DATA": str(data_dir)}
    if args.threads:
        env["EMOPILLARS_LLM_THREADS"] = str(args.threads)
    env.pop("EMOPILLARS_LLM_WORKERS", None)
    if workers:
        env["EMOPILLARS_LLM_WORKERS"] = str(workers)
    cmd = [sys.executable, "-m", "emopillars.cli.main", "synthesize", "--corpus", str(data_dir / CORPUS)]
    cmd += ["--out", str(out), "--llm", args.llm, "--plots", str(args.plots), "--max-actors", str(args.max_actors)]
    cmd += ["--seed", str(args.seed), "--no-cache", "--no-progress", "--force"]
    load_before = load()
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"synthesize failed with {src}:\n{done.stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    records = int(manifest["records"])
    tokens = manifest["tokens"]
    steps = {name: round(s.get("wall_s", 0.0), 1) for name, s in manifest["steps"].items()}
    return {
        "wall_s": round(wall, 1),
        "records": records,
        "records_per_hour": round(records / wall * 3600, 1) if wall else 0.0,
        "calls": tokens["calls"],
        "prompt_tokens_per_record": round(tokens["prompt"] / max(records, 1), 1),
        "completion_tokens_per_record": round(tokens["completion"] / max(records, 1), 1),
        "step_wall_s": steps,
        "labels_per_record": manifest["labels"]["labels_per_example_mean"],
        "load_start": round(load_before, 2),
        "load_end": round(load(), 2),
        "prompt_versions": manifest.get("prompt_versions", {}),
    }


def synthesis(args) -> dict:
    data_dir = Path(os.environ.get("EMOPILLARS_DATA") or REPO.parent / "shared" / "data")
    before_src = Path(args.before).resolve() / "src"
    after_src = REPO / "src"
    if not before_src.is_dir():
        raise SystemExit(f"--before {args.before}: no src/ folder (make a git worktree of the baseline commit)")
    work = Path(tempfile.mkdtemp(prefix="teacher_speed_"))
    runs: dict[str, list[dict]] = defaultdict(list)
    try:
        sides = [("before", before_src, None)]
        sides += [(f"after-w{w}", after_src, w) for w in args.after_workers]
        order = []
        for r in range(args.rounds):
            order += sides if r % 2 == 0 else sides[::-1]
        for i, (side, src, workers) in enumerate(order):
            print(f"[{i + 1}/{len(order)}] {side} ({src}), load {load():.1f}", flush=True)
            result = run_side(src, work / f"{side}-{i}", args, data_dir, workers)
            print(f"    {result['records']} records in {result['wall_s']} s: {result['records_per_hour']} records/h "
                  f"(steps {result['step_wall_s']})", flush=True)  # fmt: skip
            runs[side].append(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for side, results in runs.items():
        records = sum(r["records"] for r in results)
        wall = sum(r["wall_s"] for r in results)
        summary[side] = {
            "records": records,
            "wall_s": round(wall, 1),
            "records_per_hour": round(records / wall * 3600, 1),
            "prompt_tokens_per_record": round(
                sum(r["prompt_tokens_per_record"] * r["records"] for r in results) / max(records, 1), 1
            ),
            "completion_tokens_per_record": round(
                sum(r["completion_tokens_per_record"] * r["records"] for r in results) / max(records, 1), 1
            ),
            "runs": results,
        }
    base = max(summary["before"]["records_per_hour"], 1e-9)
    summary["ratios"] = {
        side: round(summary[side]["records_per_hour"] / base, 2) for side in summary if side != "before"
    }
    return summary


def profile(n: int, threads: int | None) -> dict:
    """Label calls: llama-cpp-python's decoding + labels-v1 vs this engine + the current prompt."""
    import llama_cpp

    from emopillars.llm.backends.llamacpp import LlamaCppBackend
    from emopillars.llm.models import model_path
    from emopillars.synth.steps import labels
    from emopillars.synth.steps.base import make_step

    texts = [
        "I can't believe they lied to me again, I'm done with them.",
        "Thank you so much for coming, it means the world.",
        "What if the train doesn't come and I miss the interview?",
        "We won! I actually won the race!",
        "The funeral is on Tuesday. I still can't believe he's gone.",
        "Ok, I'll buy milk on the way home.",
        "Why does nobody ever listen to me in these meetings?",
        "Haha, that video of the cat falling off the sofa is the best thing I've seen all week.",
    ]
    rows = [{"id": str(i), "utterance": texts[i % len(texts)]} for i in range(n)]
    old = make_step(labels, prompts_dir=REPO / "benchmarks" / "prompts" / "labels-v1")
    new = make_step(labels)
    timers: dict[str, float] = defaultdict(float)
    llama_cls = llama_cpp.Llama
    original_eval, original_sample = llama_cls.eval, llama_cls.sample

    def timed_eval(self, tokens):
        started = time.perf_counter()
        try:
            return original_eval(self, tokens)
        finally:
            timers["prompt_eval" if len(tokens) > 1 else "decode"] += time.perf_counter() - started

    def timed_sample(self, *a, **k):
        started = time.perf_counter()
        try:
            return original_sample(self, *a, **k)
        finally:
            timers["sampling"] += time.perf_counter() - started

    out = {}
    path = model_path("qwen2.5-1.5b")
    llama_cls.eval, llama_cls.sample = timed_eval, timed_sample
    try:
        stock = LlamaCppBackend(path, n_threads=threads, engine="llama-cpp-python")
        stock._complete_sync(old.build_requests(rows[:1])[0])  # warm: the shared prefix is in the KV cache
        timers.clear()
        started = time.perf_counter()
        tokens = sum(stock._complete_sync(r).completion_tokens for r in old.build_requests(rows))
        total = time.perf_counter() - started
        out["before"] = {"total_s": round(total, 2), "tokens": tokens, **{k: round(v, 2) for k, v in timers.items()}}
        out["before"]["python_s"] = round(total - sum(timers.values()), 2)
        stock._llama.close()
    finally:
        llama_cls.eval, llama_cls.sample = original_eval, original_sample
    fast = LlamaCppBackend(path, n_threads=threads, workers=1)
    fast._complete_sync(new.build_requests(rows[:1])[0])
    fast.reset_stats()
    started = time.perf_counter()
    tokens = sum(fast._complete_sync(r).completion_tokens for r in new.build_requests(rows))
    total = time.perf_counter() - started
    s = fast.decode_stats()
    out["after"] = {
        "total_s": round(total, 2),
        "tokens": tokens,
        "eval_s": round(s.eval_s, 2),
        "sampling": round(s.sample_s + s.probe_s, 2),
        "python_s": round(total - s.eval_s - s.sample_s - s.probe_s, 2),
        "decode_stats": s.to_dict(),
    }
    out["calls"] = n
    out["ratio"] = round(out["before"]["total_s"] / max(out["after"]["total_s"], 1e-9), 2)
    return out


def markdown(result: dict, command: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [SECTION, "", f"- date: {when}", f"- command: `{command}`",
             f"- machine: {cpu_model()}, {os.cpu_count()} cores, shared; load average {result['load']}"]  # fmt: skip
    syn = result.get("synthesis")
    if syn:
        sides = [k for k in syn if k not in ("ratios",)]
        lines += [
            "",
            "| code | records | wall s | records / hour | x before | prompt tok / record | completion tok / record |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for side in sides:
            x = syn[side]
            name = f"before ({result['before_label']})" if side == "before" else (
                f"after, {side.split('-w')[1]} worker(s)")  # fmt: skip
            ratio = "1" if side == "before" else f"**{syn['ratios'][side]}**"
            lines.append(
                f"| {name} | {x['records']} | {x['wall_s']} | {x['records_per_hour']} | {ratio} | "
                f"{x['prompt_tokens_per_record']} | {x['completion_tokens_per_record']} |"
            )
        lines.append("")
        for side in sides:
            for r in syn[side]["runs"]:
                lines.append(f"- {side}: steps wall s {r['step_wall_s']}, load {r['load_start']} -> {r['load_end']}")
    prof = result.get("profile")
    if prof:
        b, a = prof["before"], prof["after"]
        lines += [
            "",
            f"Label calls ({prof['calls']}, the shared prefix already in the KV cache), where the time goes:",
            "",
            "| decoding | total s | prompt eval s | decode s | sampling (grammar) s | Python s | tokens |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| llama-cpp-python, labels-v1 | {b['total_s']} | {b.get('prompt_eval', 0)} | {b.get('decode', 0)} | "
            f"{b.get('sampling', 0)} | {b['python_s']} | {b['tokens']} |",
            f"| this engine, current prompt | {a['total_s']} | {a['eval_s']} (prompt + decode) | | "
            f"{a['sampling']} | {a['python_s']} | {a['tokens']} |",
            "",
            f"Engine counts: `{json.dumps(a['decode_stats'])}`",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git worktree of the baseline commit (its src/ is used)")
    parser.add_argument("--llm", default="llamacpp:qwen2.5-1.5b")
    parser.add_argument("--plots", type=int, default=2)
    parser.add_argument("--max-actors", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1, help="before/after pairs (alternating order)")
    parser.add_argument("--threads", type=int, help="EMOPILLARS_LLM_THREADS (per worker) for every side")
    parser.add_argument(
        "--after-workers", default="1,2", help="run the current code with these worker counts (comma-separated)"
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also profile N label calls")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--markdown", help="replace this benchmark's section in this Markdown file")
    args = parser.parse_args(argv)
    args.after_workers = [int(w) for w in args.after_workers.split(",") if w]
    result: dict = {"load": round(load(), 2), "before_label": args.before}
    if args.profile:
        result["profile"] = profile(args.profile, args.threads)
        print(json.dumps(result["profile"], indent=2), flush=True)
    if args.before:
        result["synthesis"] = synthesis(args)
        print(json.dumps({k: v for k, v in result["synthesis"].items()}, indent=2), flush=True)
    result["load"] = f"{result['load']} at start, {load():.2f} at end"
    command = "python benchmarks/teacher_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result, command)
    print(text)
    if args.markdown:
        append_section(SECTION, text, Path(args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
