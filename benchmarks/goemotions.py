"""GoEmotions benchmark of the classifier core.

Fine-tunes an encoder (default all-MiniLM-L6-v2) on the official GoEmotions train split, calibrates the decision
thresholds on dev only, and reports test macro-F1 / micro-F1 under both policies (one global threshold, per-class
thresholds), training examples/s, and inference examples/s of ``EmotionClassifier`` against a plain
``transformers.pipeline`` on the same model in the same run. Writes a JSON result and the section
"GoEmotions (classifier core)" of BENCHMARKS.md.

    python benchmarks/goemotions.py                      # full run: tens of minutes on a 2-core CPU
    python benchmarks/goemotions.py --limit 2000 --epochs 1 --no-write   # quick check
"""

from __future__ import annotations

import os

from _machine import cpu_model, publish

# Before torch loads: OpenMP threads that spin while waiting collapse throughput when the cores are shared
# (measured here: 2.9 ex/s spinning vs 26 ex/s passive, 2 threads, other jobs running).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import datetime as dt
import logging
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from emopillars import settings
from emopillars.data.loaders import load
from emopillars.evaluation.metrics import multilabel_report
from emopillars.evaluation.thresholds import ThresholdPolicy
from emopillars.serving import EmotionClassifier
from emopillars.training import TrainConfig, train

SECTION = "## GoEmotions (classifier core)"


def machine() -> str:
    cpu = cpu_model()
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores ({torch.get_num_threads()} torch threads){gpu}; "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )


def throughput(fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def pipeline_scores(model_dir: str, texts: list[str], labels: list[str], batch_size: int) -> tuple[np.ndarray, float]:
    from transformers import pipeline

    pipe = pipeline(
        "text-classification", model=model_dir, top_k=None, device="cpu" if not torch.cuda.is_available() else 0
    )
    pipe(texts[:8], batch_size=8)  # warm-up
    start = time.perf_counter()
    rows = pipe(texts, batch_size=batch_size)
    rate = len(texts) / (time.perf_counter() - start)
    scores = np.array([[{r["label"]: r["score"] for r in row}[label] for label in labels] for row in rows])
    return scores, rate


def run(args) -> dict:
    root = Path(args.data) if args.data else settings.dataset_path("goemotions")
    train_data, dev_data, test_data = (load(root / f"{split}.tsv") for split in ("train", "dev", "test"))
    out = Path(args.out)
    config = TrainConfig(
        model=args.model,
        output_dir=str(out),
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        pos_weight=args.pos_weight,
        limit=args.limit,
        bf16=args.bf16,
        seed=args.seed,
        resume=args.resume,
    )
    logging.info(
        "training %s on %d GoEmotions rows (limit %s), %d epochs", args.model, len(train_data), args.limit, args.epochs
    )
    result = train(config, train_data, dev_data, progress=not args.no_progress)

    if args.test_limit:
        test_data = test_data.subset(range(min(args.test_limit, len(test_data))))
    texts = [example.text for example in test_data.examples]
    truth = test_data.targets()
    labels = list(test_data.label_names)
    classifier = EmotionClassifier.load(out, bf16=False)
    classifier.predict_scores(texts[:8])  # warm-up
    start = time.perf_counter()
    scores = classifier.predict_scores(texts, batch_size=64)
    ours_rate = len(texts) / (time.perf_counter() - start)
    pipe_scores, pipe_rate = pipeline_scores(str(out), texts, labels, batch_size=64)
    bf16_classifier = EmotionClassifier.load(out, bf16=True)
    bf16_classifier.predict_scores(texts[:8])
    start = time.perf_counter()
    bf16_scores = bf16_classifier.predict_scores(texts, batch_size=64)
    ours_bf16_rate = len(texts) / (time.perf_counter() - start)

    policy = result.policy
    test = {}
    for kind in ("global", "per_class"):
        chosen = ThresholdPolicy.from_dict({**policy.to_dict(), "kind": kind})
        report = multilabel_report(truth, chosen.apply(scores), labels)
        report_bf16 = multilabel_report(truth, chosen.apply(bf16_scores), labels)
        test[kind] = {
            "macro_f1": report["macro_f1"],
            "micro_f1": report["micro_f1"],
            "macro_f1_bf16_inference": report_bf16["macro_f1"],
            "classes_f1_zero": sum(1 for v in report["per_class"].values() if v["f1"] == 0),
        }
    summary = {
        "date": dt.date.today().isoformat(),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": machine(),
        "model": args.model,
        "train_rows": args.limit or len(train_data),
        "epochs": args.epochs,
        "test_rows": len(test_data),
        "config": {k: v for k, v in config.to_dict().items() if k not in {"label_names", "extra"}},
        "train_bf16": bool(args.bf16),
        "best_epoch": result.best_epoch,
        "history": result.history,
        "policy_saved": policy.kind,
        "global_threshold": policy.global_threshold,
        "dev_macro_f1": policy.dev_macro_f1,
        "test": test,
        "train_examples_per_s": result.train_examples_per_s,
        "train_wall_s": result.wall_time_s,
        "inference_examples_per_s": {
            "emotionclassifier_fp32": ours_rate,
            "emotionclassifier_bf16": ours_bf16_rate,
            "transformers_pipeline_fp32": pipe_rate,
            "ratio_fp32": ours_rate / pipe_rate,
            "ratio_bf16_vs_pipeline": ours_bf16_rate / pipe_rate,
        },
        "max_abs_score_diff_vs_pipeline": float(np.abs(scores - pipe_scores).max()),
    }
    return summary


def markdown(s: dict) -> str:
    t, inf = s["test"], s["inference_examples_per_s"]
    lines = [
        SECTION,
        "",
        f"- Date: {s['date']}",
        f"- Command: `{s['command']}`",
        f"- Machine: {s['machine']}",
        f"- Model: {s['model']}, {s['train_rows']} train rows, {s['epochs']} epochs, best epoch {s['best_epoch']}, "
        f"training bf16 autocast: {s['train_bf16']}",
        f"- Recipe: lr {s['config']['lr']}, batch {s['config']['batch_size']}, "
        f"max length {s['config']['max_length']}, "
        f"warmup {s['config']['warmup_ratio']}, positive-class weight cap {s['config']['pos_weight']}, "
        f"pooling {s['config'].get('pooling')}",
        "",
        "| policy (chosen on dev) | test macro-F1 | test micro-F1 | classes at F1 = 0 |",
        "| --- | --- | --- | --- |",
        f"| global threshold {s['global_threshold']:.2f} | {t['global']['macro_f1']:.4f} | "
        f"{t['global']['micro_f1']:.4f} | {t['global']['classes_f1_zero']} |",
        f"| per-class thresholds | {t['per_class']['macro_f1']:.4f} | {t['per_class']['micro_f1']:.4f} | "
        f"{t['per_class']['classes_f1_zero']} |",
        "",
        f"Policy saved with the model (cross-fitted on dev): **{s['policy_saved']}**. Dev macro-F1: "
        + ", ".join(f"{k} {v:.4f}" for k, v in s["dev_macro_f1"].items())
        + ".",
        "",
        f"- Training: {s['train_examples_per_s']:.1f} examples/s, {s['train_wall_s'] / 60:.1f} min wall "
        "(including dev evaluation and checkpoints).",
        f"- Inference on the {s['test_rows']} test texts, batch 64: "
        f"EmotionClassifier fp32 {inf['emotionclassifier_fp32']:.0f} "
        f"ex/s vs `transformers.pipeline` fp32 {inf['transformers_pipeline_fp32']:.0f} ex/s "
        f"(x{inf['ratio_fp32']:.2f}); EmotionClassifier bf16 autocast {inf['emotionclassifier_bf16']:.0f} ex/s "
        f"(x{inf['ratio_bf16_vs_pipeline']:.2f}; test macro-F1 with bf16 inference, global policy: "
        f"{t['global']['macro_f1_bf16_inference']:.4f}). Max |score difference| vs the pipeline: "
        f"{s['max_abs_score_diff_vs_pipeline']:.1e}.",
        "- Per epoch: "
        + "; ".join(
            f"epoch {h['epoch']}: loss {h['loss']:.4f}, dev macro-F1 {h.get('dev_macro_f1', float('nan')):.4f}, "
            f"{h['examples_per_s']:.0f} ex/s"
            for h in s["history"]
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, help="train rows (dev shrinks in proportion)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast in training (CPU opt-in)")
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--pos-weight", type=float, default=TrainConfig.pos_weight)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--test-limit", type=int, help="score only the first N test rows (smoke runs)")
    parser.add_argument("--data", help="GoEmotions folder (default: EMOPILLARS_DATA/goemotions)")
    parser.add_argument("--out", default=str(settings.cache_dir() / "bench" / "goemotions-model"))
    parser.add_argument("--json", default=None, help="write the result JSON here (default: OUT/benchmark.json)")
    parser.add_argument("--resume", action="store_true", help="resume an interrupted benchmark training run")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    summary = run(args)
    json_path = Path(args.json) if args.json else Path(args.out) / "benchmark.json"
    publish(summary, markdown, SECTION, json_path, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
