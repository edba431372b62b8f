"""Inference speed and quality on the GoEmotions test set: transformers.pipeline vs our predictor vs ONNX (fp32, int8).

Same run, same model, same texts (the 5,427 GoEmotions test texts), same threads: ``transformers.pipeline``
as a user calls it (``pipe(texts)``: its default batch size, 1; the baseline, 1x) and the same pipeline given
``batch_size=--batch-size`` (a second, stronger baseline, its own ratio column), ``EmotionClassifier`` on torch
fp32 (and bf16 where the CPU has it natively),
ONNX Runtime fp32 and dynamic int8 (exported here with ``emopillars export``'s code). Each row gives examples/s,
the ratio to the pipeline, and test macro-/micro-F1 under the model's saved threshold policy (chosen on dev), with
the difference to torch fp32 (parity goal: within 0.005). Rates are the best of ``--rounds`` interleaved rounds
(the machine is shared; the load average is recorded). Writes the section "Inference (torch, ONNX, int8)" of
BENCHMARKS.md.

    python benchmarks/inference.py --model /work/models/ge-minilm
    python benchmarks/inference.py --model /work/models/ge-minilm --limit 500 --rounds 1 --no-write   # smoke
"""

from __future__ import annotations

import os

from _machine import cpu_model, load_average, publish

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import datetime as dt
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from emopillars import settings
from emopillars.data.loaders import load
from emopillars.evaluation.metrics import multilabel_report
from emopillars.inference.onnx import export_onnx
from emopillars.inference.precision import native_cpu_bf16, resolve_bf16
from emopillars.serving import EmotionClassifier

SECTION = "## Inference (torch, ONNX, int8)"
PIPELINE_DEFAULT = "transformers.pipeline fp32, its default batch (1)"


class PipelineRunner:
    """``transformers.pipeline('text-classification', top_k=None)`` scores in the model's label order."""

    def __init__(self, model_dir: str, labels: list[str], batch_size: int):
        from transformers import pipeline

        self.pipe = pipeline("text-classification", model=model_dir, top_k=None, device="cpu")
        self.labels = labels
        self.batch_size = batch_size

    def __call__(self, texts: list[str]) -> np.ndarray:
        rows = self.pipe(texts, batch_size=self.batch_size)
        return np.array([[{r["label"]: r["score"] for r in row}[label] for label in self.labels] for row in rows])


def timed(fn, texts) -> tuple[np.ndarray, float]:
    fn(texts[:16])  # warm-up
    start = time.perf_counter()
    scores = fn(texts)
    return scores, len(texts) / (time.perf_counter() - start)


def run(args) -> dict:
    model_dir = Path(args.model)
    root = Path(args.data) if args.data else settings.dataset_path("goemotions")
    test = load(root / "test.tsv")
    if args.limit:
        test = test.subset(range(min(args.limit, len(test))))
    texts = [example.text for example in test.examples]
    truth = test.targets()
    load_before = load_average()

    work = Path(args.onnx_dir) if args.onnx_dir else Path(tempfile.mkdtemp(prefix="emopillars-onnx-"))
    exports = {}
    for name, int8 in (("onnx-fp32", False), ("onnx-int8", True)):
        folder = work / name
        if not (folder / "model.onnx").is_file():
            start = time.perf_counter()
            info = export_onnx(model_dir, folder, int8=int8, overwrite=True)
            logging.info("exported %s in %.1f s (max |logit diff| %.3g)", name, time.perf_counter() - start,
                         info.max_abs_diff_vs_torch)  # fmt: skip
        exports[name] = folder

    torch_fp32 = EmotionClassifier.load(model_dir, bf16=False)
    labels = torch_fp32.label_names
    policy = torch_fp32.policy
    batched = f"transformers.pipeline fp32, batch {args.batch_size}"
    runners = {
        PIPELINE_DEFAULT: PipelineRunner(str(model_dir), labels, 1),
        batched: PipelineRunner(str(model_dir), labels, args.batch_size),
        "EmotionClassifier torch fp32": lambda t: torch_fp32.predict_scores(t, batch_size=args.batch_size),
    }
    native = resolve_bf16("auto", "cpu")
    if native.bf16:
        torch_bf16 = EmotionClassifier.load(model_dir, bf16=True)
        runners["EmotionClassifier torch bf16 (native)"] = lambda t: torch_bf16.predict_scores(t, args.batch_size)
    for name, folder in exports.items():
        classifier = EmotionClassifier.load(folder, backend="onnx")
        runners[f"EmotionClassifier {name.replace('-', ' ')}"] = lambda t, c=classifier: c.predict_scores(
            t, batch_size=args.batch_size
        )

    rates: dict[str, list[float]] = {name: [] for name in runners}
    scores: dict[str, np.ndarray] = {}
    for round_index in range(args.rounds):
        for name, runner in runners.items():
            out, rate = timed(runner, texts)
            rates[name].append(rate)
            scores[name] = out
            logging.info("round %d: %s %.1f ex/s (load %s)", round_index + 1, name, rate, load_average())

    forced = None
    if not native.bf16 and args.forced_bf16_sample:
        emulated = EmotionClassifier.load(model_dir, bf16=True)
        sample = texts[: args.forced_bf16_sample]
        _, fp32_rate = timed(lambda t: torch_fp32.predict_scores(t, args.batch_size), sample)
        _, bf16_rate = timed(lambda t: emulated.predict_scores(t, args.batch_size), sample)
        forced = {"texts": len(sample), "fp32": fp32_rate, "bf16_emulated": bf16_rate}

    baseline = max(rates[PIPELINE_DEFAULT])
    batched_baseline = max(rates[batched])
    reference = scores["EmotionClassifier torch fp32"]
    ref_report = multilabel_report(truth, policy.apply(reference), labels)
    rows = []
    for name in runners:
        report = multilabel_report(truth, policy.apply(scores[name]), labels)
        best = max(rates[name])
        rows.append(
            {
                "runtime": name,
                "examples_per_s": best,
                "rounds": rates[name],
                "ratio_vs_pipeline": best / baseline,
                "ratio_vs_batched_pipeline": best / batched_baseline,
                "macro_f1": report["macro_f1"],
                "micro_f1": report["micro_f1"],
                "delta_macro_f1_vs_torch_fp32": report["macro_f1"] - ref_report["macro_f1"],
                "max_abs_score_diff_vs_torch_fp32": float(np.abs(scores[name] - reference).max()),
            }
        )
    sizes = {name: (folder / "model.onnx").stat().st_size for name, folder in exports.items()}
    sizes["torch (model.safetensors)"] = (model_dir / "model.safetensors").stat().st_size
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": (
            f"{cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads per runtime, native bf16: "
            f"{native_cpu_bf16() or 'none'}; Python {platform.python_version()}, torch {torch.__version__}"
        ),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "model": model_dir.name,
        "texts": len(texts),
        "batch_size": args.batch_size,
        "policy": policy.kind,
        "bf16_auto": native.describe(),
        "rows": rows,
        "forced_bf16": forced,
        "model_bytes": sizes,
    }


def markdown(s: dict) -> str:
    lines = [
        SECTION,
        "",
        f"- Date: {s['date']}",
        f"- Command: `{s['command']}`",
        f"- Machine: {s['machine']}; load average (1/5/15 min) {s['load_average_before']} before, "
        f"{s['load_average_after']} after (shared machine)",
        f"- Model: `{s['model']}`; {s['texts']} GoEmotions test texts, batch {s['batch_size']}, decisions by the "
        f"saved **{s['policy']}** threshold policy (chosen on dev); bf16 auto here: {s['bf16_auto']}",
        "",
        f"| runtime | ex/s (best round) | vs pipeline (default batch) | vs pipeline (batch {s['batch_size']}) "
        "| test macro-F1 | Δ vs torch fp32 | micro-F1 | max abs score diff |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in s["rows"]:
        lines.append(
            f"| {row['runtime']} | {row['examples_per_s']:.0f} | x{row['ratio_vs_pipeline']:.2f} | "
            f"x{row['ratio_vs_batched_pipeline']:.2f} | "
            f"{row['macro_f1']:.4f} | {row['delta_macro_f1_vs_torch_fp32']:+.4f} | {row['micro_f1']:.4f} | "
            f"{row['max_abs_score_diff_vs_torch_fp32']:.1e} |"
        )
    lines.append("")
    rounds = "; ".join(f"{r['runtime']}: " + ", ".join(f"{x:.0f}" for x in r["rounds"]) for r in s["rows"])
    lines.append(f"- Every round (ex/s): {rounds}.")
    sizes = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in s["model_bytes"].items())
    lines.append(f"- Model file sizes: {sizes}.")
    if s["forced_bf16"]:
        f = s["forced_bf16"]
        lines.append(
            f"- bf16 forced on this CPU (no native bf16, emulated), first {f['texts']} texts: "
            f"{f['bf16_emulated']:.0f} ex/s vs fp32 {f['fp32']:.0f} ex/s (x{f['bf16_emulated'] / f['fp32']:.2f}): "
            "why bf16 is `auto` (native only)."
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a GoEmotions-trained model folder (emopillars train)")
    parser.add_argument("--data", help="GoEmotions folder (default: EMOPILLARS_DATA/goemotions)")
    parser.add_argument("--limit", type=int, help="first N test texts only (smoke runs)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved timing rounds; the best is reported")
    parser.add_argument("--onnx-dir", help="keep (and reuse) the exported folders here")
    parser.add_argument(
        "--forced-bf16-sample", type=int, default=500, help="texts for the emulated-bf16 row (0: skip)"
    )
    parser.add_argument("--json", help="also write the result as JSON here")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    summary = run(args)
    publish(summary, markdown, SECTION, args.json, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
