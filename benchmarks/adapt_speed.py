"""Training and inference speed of the encoders on each adaptation task's real inputs, on this machine.

For each (encoder, task): a seeded sample of the task's training rows, encoded exactly as adaptation encodes
them (context-aware pairs for EmoContext, the task's max length), then a few optimizer steps with dynamic
padding and length-grouped batches (the trainer's own loop pieces), and one scoring pass. Prints examples/s
and the token-length distribution, and the estimated wall time of one epoch over the task's full training
set, so that every long run can be sized before it is launched. Each row is measured in the same process
under the same load, and the load average is recorded: compare rows as ratios.

    python benchmarks/adapt_speed.py --models minilm mpnet --tasks emocontext isear goemotions --json out.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json
import time
from pathlib import Path

import numpy as np
import torch
from _machine import cpu_model

from emopillars.adapt.heads import HeadPolicy
from emopillars.adapt.run import load_split, subsample
from emopillars.adapt.tasks import load_task
from emopillars.inference.encoding import InputEncoder, iterate_batches, length_grouped_batches
from emopillars.inference.loading import load_tokenizer
from emopillars.inference.scoring import score_encoded
from emopillars.training.config import TrainConfig
from emopillars.training.losses import MultiLabelLoss
from emopillars.training.model import build_model, resolve_model
from emopillars.training.trainer import _optimizer

FULL_TRAIN_ROWS = {"emocontext": 28_652, "isear": 5_520, "goemotions": 43_410}
"""Training rows per run (EmoContext: train minus the 5% carve; ISEAR: one fold's training part)."""


def measure(model_name: str, task_name: str, rows: int, steps: int, batch_size: int, max_length: int | None) -> dict:
    task = load_task(task_name)
    split = "data" if task.protocol.kind == "kfold" else "train"
    data = subsample(load_split(task, split), rows, seed=1)
    head = HeadPolicy.for_task(task, "keep")
    model_data = head.to_model_data(data)
    config = TrainConfig(
        model=model_name,
        context_aware=task.context_aware,
        label_names=list(head.model_labels),
        **({"max_length": max_length} if max_length else {}),
    )
    source = resolve_model(model_name)
    tokenizer = load_tokenizer(source)
    model = build_model(source, list(head.model_labels), config)
    encoder = InputEncoder.for_model(tokenizer, model.config, config.max_length, config.context_aware)
    encoded = encoder.encode(model_data.examples)
    lengths = [len(item) for item in encoded]
    targets = torch.from_numpy(model_data.targets())
    optimizer = _optimizer(model, config)
    loss_fn = MultiLabelLoss(None)
    batches = length_grouped_batches(lengths, batch_size, seed=1)
    model.train()
    seen, started = 0, None
    for step, (batch_rows, inputs) in enumerate(iterate_batches(encoded, batches, encoder)):
        if step == 1:  # the first step pays for allocation: not timed
            started, seen = time.perf_counter(), 0
        loss = loss_fn(model(**inputs).logits, targets[batch_rows])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seen += len(batch_rows)
        if step >= steps:
            break
    train_rate = seen / (time.perf_counter() - started)
    start = time.perf_counter()
    score_encoded(model, encoder, encoded, batch_size=64)
    infer_rate = len(encoded) / (time.perf_counter() - start)
    full = FULL_TRAIN_ROWS.get(task_name, len(data))
    return {
        "model": model_name,
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "task": task_name,
        "max_length": config.max_length,
        "tokens_mean": round(float(np.mean(lengths)), 1),
        "tokens_p95": int(np.percentile(lengths, 95)),
        "train_ex_per_s": round(train_rate, 1),
        "infer_ex_per_s": round(infer_rate, 1),
        "epoch_min_estimate": round(full / train_rate / 60, 1),
        "rows_timed": seen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["minilm", "mpnet"])
    parser.add_argument("--tasks", nargs="+", default=["emocontext", "isear", "goemotions"])
    parser.add_argument("--rows", type=int, default=800, help="sampled rows per task (scored once, trained on part)")
    parser.add_argument("--steps", type=int, default=8, help="timed optimizer steps per (model, task)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=None, help="override the max length (default: config's)")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    load_before = os.getloadavg()
    rows = []
    for model in args.models:
        for task in args.tasks:
            row = measure(model, task, args.rows, args.steps, args.batch_size, args.max_length)
            rows.append(row)
            print(json.dumps(row), flush=True)
    load_after = os.getloadavg()
    header = (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, fp32; "
        f"load average {load_before[0]:.1f} at start, {load_after[0]:.1f} at end"
    )
    print(header)
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("| " + " | ".join("---" for _ in keys) + " |")
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": header, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
