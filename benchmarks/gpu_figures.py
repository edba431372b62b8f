"""GPU figures for scale-out planning, in one prepared script (random weights: nothing is downloaded).

    python benchmarks/gpu_figures.py --json OUT/BENCHMARK.json          # on a CUDA machine (~6-8 min on an H100)
    python benchmarks/gpu_figures.py --smoke --json /tmp/BENCHMARK.json # tiny configs, CPU: checks the script
    emopillars plan --records 400000 --from OUT/BENCHMARK.json

(a) **Generation throughput** of a Mistral-7B-architecture model (``MistralConfig()``'s defaults: 32 layers,
    hidden 4096, 8 KV heads) with random weights, bf16, through ``transformers`` ``generate`` (greedy, static
    batch, KV cache) at several batch sizes; prompts and answers of the synthesis shape (~410 prompt and
    ~64 generated tokens per call, BENCHMARKS.md). Tokens per second do not depend on the weights' values.
    This is *HF generate with static batches*, not a serving engine: vLLM's continuous batching and paged
    attention do better, so the planner figure it writes (best batch) is a lower bound for a vLLM server.
(b) **roberta-large** (random weights, 28 sigmoid outputs) training and inference throughput in bf16, with
    inputs padded to the maximum length (128) and with dynamic padding (to the longest in each batch), on
    lengths drawn like GoEmotions comments (median ~16 tokens).
(c) **The CUDA path of ``emopillars train``** on a small BERT (random weights, a WordPiece tokenizer trained
    here on the demo plots): bf16 autocast, and fp16 with loss scaling + gradient checkpointing + gradient
    accumulation; examples per second from the run's summary.

Each part is timed after a warm-up and synchronised with ``torch.cuda.synchronize``. ``--smoke`` runs the
same code with tiny configs on whatever device there is (the test suite runs it on CPU); its figures are
labelled as smoke figures and mean nothing about a GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DEMO_PLOTS = REPO / "src" / "emopillars" / "synth" / "demo_plots.jsonl"
PROMPT_TOKENS, NEW_TOKENS = 410, 64  # the synthesis shape per call (BENCHMARKS.md: 411 prompt, 62 completion)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda)
    return info


def log(message: str) -> None:
    print(f"[gpu_figures {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- (a) generation --------------------------------------------------------------------------------
def generation(smoke: bool, batch_sizes: list[int]) -> dict:
    from transformers import MistralConfig, MistralForCausalLM

    dev = device()
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    if smoke:
        config = MistralConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=512, max_position_embeddings=1024,
        )  # fmt: skip
        prompt_len, new_tokens = 24, 8
    else:
        config = MistralConfig()  # Mistral-7B's architecture
        prompt_len, new_tokens = PROMPT_TOKENS, NEW_TOKENS
    started = time.perf_counter()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with dev:
            model = MistralForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    log(f"(a) Mistral architecture, {params / 1e9:.2f} B parameters, built in {time.perf_counter() - started:.0f} s")
    generator = torch.Generator(device="cpu").manual_seed(0)
    rows = []
    for batch in batch_sizes:
        ids = torch.randint(10, config.vocab_size, (batch, prompt_len), generator=generator).to(dev)
        mask = torch.ones_like(ids)
        options = dict(
            max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, pad_token_id=0,
            attention_mask=mask,
        )  # fmt: skip
        try:
            with torch.inference_mode():
                model.generate(ids[:, :8], **{**options, "max_new_tokens": 2, "min_new_tokens": 2,
                                             "attention_mask": mask[:, :8]})  # fmt: skip
                sync()
                start = time.perf_counter()
                model(input_ids=ids, attention_mask=mask)
                sync()
                prefill_s = time.perf_counter() - start
                start = time.perf_counter()
                out = model.generate(ids, **options)
                sync()
                total_s = time.perf_counter() - start
        except torch.cuda.OutOfMemoryError:
            log(f"(a) batch {batch}: out of memory, stopping here")
            torch.cuda.empty_cache()
            break
        generated = (out.shape[1] - prompt_len) * batch
        decode_s = max(total_s - prefill_s, 1e-9)
        row = {
            "batch_size": batch,
            "prompt_tokens": prompt_len,
            "new_tokens": out.shape[1] - prompt_len,
            "generate_s": round(total_s, 3),
            "prefill_s": round(prefill_s, 4),
            "generated_tokens_per_s": round(generated / total_s, 1),  # prefill included: what a call costs
            "decode_tokens_per_s": round(generated / decode_s, 1),
            "prefill_tokens_per_s": round(batch * prompt_len / prefill_s, 1),
            "calls_per_gpu_hour": round(batch * 3600 / total_s),
        }
        if dev.type == "cuda":
            row["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
        rows.append(row)
        speed = f"{row['generated_tokens_per_s']:,.0f} generated tok/s, {row['calls_per_gpu_hour']:,} calls/GPU-h"
        log(f"(a) batch {batch}: {speed}")
    del model
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return {
        "model": "Mistral-7B architecture (MistralConfig defaults)" if not smoke else "tiny Mistral (smoke)",
        "parameters": params,
        "dtype": str(dtype).replace("torch.", ""),
        "engine": "transformers generate, greedy, static batch, KV cache",
        "rows": rows,
    }


# -- (b) roberta-large -----------------------------------------------------------------------------
def goemotions_like_lengths(n: int, max_length: int, seed: int = 0) -> list[int]:
    """Token lengths like GoEmotions comments: log-normal, median ~16, a long tail cut at ``max_length``."""
    rng = random.Random(seed)
    return [max(4, min(max_length, int(rng.lognormvariate(math.log(16), 0.6)))) for _ in range(n)]


def roberta(smoke: bool, steps: int) -> dict:
    from transformers import RobertaConfig, RobertaForSequenceClassification

    dev = device()
    bf16 = dev.type == "cuda" and torch.cuda.is_bf16_supported()
    if smoke:
        config = RobertaConfig(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, vocab_size=1000,
            max_position_embeddings=160, num_labels=28, problem_type="multi_label_classification",
        )  # fmt: skip
        batch, max_length = 8, 128
    else:
        config = RobertaConfig(
            hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, vocab_size=50265,
            max_position_embeddings=514, type_vocab_size=1, num_labels=28, problem_type="multi_label_classification",
        )  # fmt: skip
        batch, max_length = 64, 128  # the paper's context-less setting
    torch.manual_seed(0)
    model = RobertaForSequenceClassification(config).to(dev)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    lengths = goemotions_like_lengths(batch * (steps + 2), max_length)
    results = {}
    for padding in ("pad_to_max", "dynamic"):
        batches = []
        for i in range(steps + 2):
            lens = lengths[i * batch : (i + 1) * batch]
            width = max_length if padding == "pad_to_max" else max(lens)
            ids = torch.full((batch, width), config.pad_token_id, dtype=torch.long)
            mask = torch.zeros((batch, width), dtype=torch.long)
            for row, n in enumerate(lens):
                ids[row, :n] = torch.randint(5, config.vocab_size, (n,))
                mask[row, :n] = 1
            labels = (torch.rand(batch, config.num_labels) < 0.1).float()
            batches.append((ids.to(dev), mask.to(dev), labels.to(dev)))
        autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16)
        model.train()
        for k, (ids, mask, labels) in enumerate(batches):
            if k == 2:
                sync()
                start = time.perf_counter()
            with autocast:
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        sync()
        train_s = time.perf_counter() - start
        model.eval()
        with torch.inference_mode(), autocast:
            for k, (ids, mask, _) in enumerate(batches):
                if k == 2:
                    sync()
                    start = time.perf_counter()
                model(input_ids=ids, attention_mask=mask)
        sync()
        infer_s = time.perf_counter() - start
        results[padding] = {
            "train_examples_per_s": round(steps * batch / train_s, 1),
            "inference_examples_per_s": round(steps * batch / infer_s, 1),
            "mean_padded_length": round(sum(b[0].shape[1] for b in batches) / len(batches), 1),
        }
        log(f"(b) roberta {padding}: {results[padding]}")
    if dev.type == "cuda":
        results["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
    results.update(
        model="roberta-large architecture" if not smoke else "tiny roberta (smoke)",
        parameters=params, precision="bf16 autocast" if bf16 else "fp32", batch_size=batch, max_length=max_length,
        steps=steps,
        speedup_dynamic_padding_train=round(
            results["dynamic"]["train_examples_per_s"] / results["pad_to_max"]["train_examples_per_s"], 2
        ),
    )  # fmt: skip
    del model, optimizer
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return results


# -- (c) emopillars train ---------------------------------------------------------------------------
def _sentences() -> list[str]:
    texts = [json.loads(line)["text"] for line in DEMO_PLOTS.read_text().splitlines() if line.strip()]
    return [s.strip() for text in texts for s in text.replace("!", ".").split(".") if len(s.split()) >= 4]


def small_encoder(folder: Path, smoke: bool) -> Path:
    """A small random BERT with a WordPiece tokenizer trained on the demo plots, saved as a model folder."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(_sentences(), trainers.WordPieceTrainer(vocab_size=2000, special_tokens=special))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]",
    )  # fmt: skip
    size = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)
    if not smoke:  # MiniLM-L6's size
        size = dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), max_position_embeddings=512, **size)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def labelled_rows(path: Path, n: int, seed: int) -> Path:
    """GoEmotions-format TSV rows (text, label ids, id) from the demo plots' sentences, labels by a seeded draw."""
    rng = random.Random(seed)
    sentences = _sentences()
    lines = []
    for i in range(n):
        labels = sorted(rng.sample(range(28), rng.choice((1, 1, 2))))
        lines.append(f"{sentences[i % len(sentences)]}\t{','.join(map(str, labels))}\tr{i}")
    path.write_text("\n".join(lines) + "\n")
    return path


def train_path(smoke: bool) -> dict:
    from emopillars.cli.main import main

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        encoder = small_encoder(root / "encoder", smoke)
        train_rows, dev_rows = (32, 16) if smoke else (4096, 512)
        train = labelled_rows(root / "train.tsv", train_rows, 1)
        dev = labelled_rows(root / "dev.tsv", dev_rows, 2)
        variants = {
            "bf16": ["--bf16"] if device().type == "cuda" else ["--no-bf16"],
            "fp16 + gradient checkpointing + accumulation 2": [
                "--fp16",
                "--gradient-checkpointing",
                "--grad-accum",
                "2",
            ],
        }
        for name, extra in variants.items():
            out = root / name.split()[0]
            args = [
                "train", "--train", str(train), "--dev", str(dev), "--out", str(out), "--model", str(encoder),
                "--epochs", "1", "--batch-size", "16" if smoke else "64", "--max-length", "32" if smoke else "64",
                "--no-progress",
                *extra,
            ]  # fmt: skip
            start = time.perf_counter()
            code = main(args)
            if code != 0:
                raise SystemExit(f"emopillars train failed ({name}): exit {code}")
            summary = json.loads((out / "train_summary.json").read_text())
            rows[name] = {
                "train_examples_per_s": round(summary["train_examples_per_s"], 1),
                "wall_s": round(time.perf_counter() - start, 1),
                "dev_macro_f1": round(summary.get("dev_macro_f1") or 0.0, 4),
                "files": sorted(p.name for p in out.iterdir()),
            }
            log(f"(c) emopillars train {name}: {rows[name]['train_examples_per_s']} ex/s")
    return {"device": device().type, "model": "small BERT, random weights" + (" (smoke)" if smoke else ""),
            "train_rows": train_rows, "variants": rows}  # fmt: skip


# -- report ------------------------------------------------------------------------------------------
def planner_entry(gen: dict, smoke: bool, info: dict) -> dict | None:
    if not gen["rows"]:
        return None
    best = max(gen["rows"], key=lambda row: row["generated_tokens_per_s"])
    where = info.get("gpu") or "CPU"
    label = (
        f"{'SMOKE (tiny model, not a GPU figure): ' if smoke else ''}{gen['model']}, random weights, {gen['dtype']}, "
        f"{gen['engine']}, batch {best['batch_size']}, on {where} -- a lower bound for a vLLM server"
    )
    return {
        "decode_tokens_per_s": best["generated_tokens_per_s"],
        "prefill_tokens_per_s": best["prefill_tokens_per_s"],
        "label": label,
    }


def markdown(results: dict, command: str) -> str:
    info = results["machine"]
    lines = [
        f"## GPU figures{' (smoke)' if results['smoke'] else ''}",
        "",
        f"- date: {results['date']}",
        f"- command: `{command}`",
        f"- machine: {info.get('gpu', 'no GPU')} ({info.get('gpu_memory_gib', '-')} GiB), torch {info['torch']}, "
        f"transformers {info.get('transformers')}, {info['cpu_cores']} CPU cores, load average {info['load_average']}",
    ]
    gen = results.get("generation")
    if gen:
        lines += ["", f"(a) {gen['model']}, random weights, {gen['dtype']}, {gen['engine']}:", ""]
        lines += [
            "| batch | generated tok/s | decode tok/s | prefill tok/s | calls / GPU-hour |",
            "| ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in gen["rows"]:
            lines.append(
                f"| {row['batch_size']} | {row['generated_tokens_per_s']:,.0f} | {row['decode_tokens_per_s']:,.0f} | "
                f"{row['prefill_tokens_per_s']:,.0f} | {row['calls_per_gpu_hour']:,} |"
            )
    rob = results.get("roberta")
    if rob:
        lines += [
            "",
            f"(b) {rob['model']} ({rob['precision']}, batch {rob['batch_size']}, max length {rob['max_length']}):",
            "",
        ]
        lines += ["| padding | train ex/s | inference ex/s | mean padded length |", "| --- | ---: | ---: | ---: |"]
        for padding in ("pad_to_max", "dynamic"):
            row = rob[padding]
            lines.append(
                f"| {padding} | {row['train_examples_per_s']:,.1f} | {row['inference_examples_per_s']:,.1f} | "
                f"{row['mean_padded_length']} |"
            )
    train = results.get("train")
    if train:
        lines += [
            "",
            f"(c) `emopillars train` on {train['device']} ({train['model']}, {train['train_rows']} rows):",
            "",
        ]
        for name, row in train["variants"].items():
            lines.append(f"- {name}: {row['train_examples_per_s']:,.1f} ex/s, wall {row['wall_s']} s")
    if results.get("planner"):
        lines += [
            "",
            f"Planner figure: {results['planner']['decode_tokens_per_s']:,.0f} generated tok/s "
            f"({results['planner']['label']})",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny configs (runs on CPU): checks the script")
    parser.add_argument("--json", required=True, help="where to write the results (the planner reads 'planner')")
    parser.add_argument("--batch-sizes", default=None, help="generation batch sizes, e.g. 1,8,32,64,128")
    parser.add_argument("--roberta-steps", type=int, default=None, help="timed training steps per padding mode")
    parser.add_argument("--skip", action="append", default=[], choices=["generation", "roberta", "train"])
    args = parser.parse_args(argv)
    if not args.smoke and not torch.cuda.is_available():
        print("gpu_figures: no CUDA device here; run with --smoke to check the script on CPU", file=sys.stderr)
        return 2
    batch_sizes = [int(b) for b in (args.batch_sizes or ("1,2" if args.smoke else "1,8,32,64,128")).split(",")]
    steps = args.roberta_steps or (2 if args.smoke else 20)
    info = machine()
    results: dict = {"smoke": args.smoke, "date": datetime.now(UTC).isoformat(timespec="minutes"), "machine": info}
    if "generation" not in args.skip:
        results["generation"] = generation(args.smoke, batch_sizes)
        results["planner"] = planner_entry(results["generation"], args.smoke, info)
    if "roberta" not in args.skip:
        results["roberta"] = roberta(args.smoke, steps)
    if "train" not in args.skip:
        results["train"] = train_path(args.smoke)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    command = "python benchmarks/gpu_figures.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(markdown(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
