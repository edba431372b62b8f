"""``emopillars demo``: the whole method on a laptop -- synthesize, train, evaluate -- in about ten minutes.

1. synthesize a small dataset from the short original plots shipped in the package
   (``emopillars/synth/demo_plots.jsonl``) with the embedded CPU teacher (Qwen2.5-Coder-1.5B);
2. fine-tune a small classifier (all-MiniLM-L6-v2) on the context-less (Orig) train split;
3. evaluate it on the test split (on dev when test is tiny) and write a report.

The demo sizes are chosen to fit ~10 minutes on 2 CPU cores: one actor per plot, modest max new
tokens. Rerunning resumes (the LLM cache and the step checkpoints make a finished synthesis free).
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

ORDER = 5
DEMO_PLOTS = "demo_plots.jsonl"
DEMO_ACTORS = 1
# Enough for the answers the 0.5B teacher gives, small enough for 2 cores.
DEMO_MAX_TOKENS = {"actors": 100, "utterances": 450, "labels": 60, "context": 150, "cleaning": 150, "rewriting": 80}
# A 0.5B teacher decoding greedily with the paper's repetition penalty (1.03) repeats one utterance for most
# of the 10; 1.2 helps a little (sampling at 0.8 made it copy plot sentences instead). Measured on the demo plots.
DEMO_SAMPLING = {"utterances": {"repetition_penalty": 1.2}}
MIN_EVAL_EXAMPLES = 10


def demo_corpus() -> Path:
    return Path(str(resources.files("emopillars.synth").joinpath(DEMO_PLOTS)))


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="synthesize a small dataset with the embedded LLM, train and evaluate a classifier on it",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    parser.add_argument(
        "--llm", help="teacher spec (default: $EMOPILLARS_LLM, else the embedded Qwen2.5-Coder-1.5B GGUF)"
    )
    parser.add_argument("--max-actors", type=int, default=DEMO_ACTORS, help="characters per plot (default 1)")
    parser.add_argument("--epochs", type=int, default=8, help="classifier training epochs")
    parser.add_argument("--encoder", help="encoder to fine-tune (alias, folder or hub id; default: train's, minilm)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)


def run(args) -> int:
    from emopillars.cli.main import CLIError
    from emopillars.llm.secrets import redact_spec
    from emopillars.synth import SynthesisConfig, SynthesisError, synthesize
    from emopillars.synth.signals import EXIT_SIGTERM, Terminated, sigterm_as_interrupt

    out = Path(args.out)
    started = time.perf_counter()
    config = SynthesisConfig(
        corpus=str(demo_corpus()),
        out_dir=str(out / "synthesis"),
        llm=args.llm,
        max_actors=args.max_actors,
        min_plot_chars=0,
        batch_size=8,
        max_tokens=DEMO_MAX_TOKENS,
        step_sampling=DEMO_SAMPLING,
        max_retries=1,
        progress=not args.no_progress,
    )
    print(f"[1/3] synthesizing from {config.corpus} into {config.out_dir}", flush=True)
    try:
        with sigterm_as_interrupt():
            manifest = synthesize(config)
    except Terminated:
        print(f"emopillars demo: stopped by SIGTERM; rerun the same command to resume ({config.out_dir})")
        return EXIT_SIGTERM
    except SynthesisError as exc:
        raise CLIError(redact_spec(str(exc))) from None
    synth_s = time.perf_counter() - started
    _print_label_stats(manifest.data)

    dataset = Path(manifest.data["outputs"]["dataset"]) / "orig"
    if not (dataset / "train.jsonl").exists():
        raise CLIError(f"the synthesis produced no training examples (see {manifest.path})")
    print(f"[2/3] training {args.encoder or 'the default encoder'} on {dataset / 'train.jsonl'}", flush=True)
    train_s, model_dir, eval_split = _train(args, dataset, out)
    print(f"[3/3] evaluating on the {eval_split} split", flush=True)
    metrics, report = _evaluate(model_dir, dataset / f"{eval_split}.jsonl", out / "evaluation")
    total = time.perf_counter() - started
    print()
    print(f"synthesis: {synth_s:.0f}s  training: {train_s:.0f}s  total: {total:.0f}s")
    print(f"{eval_split} macro-F1 {metrics['macro_f1']:.3f}  micro-F1 {metrics['micro_f1']:.3f}  "
          f"({metrics.get('n_examples', '?')} examples; a demo-sized dataset, not a benchmark)")  # fmt: skip
    print("written:")
    print(f"  dataset   {dataset.parent}  (orig / corig / crewr, train/dev/test JSONL + Parquet)")
    print(f"  manifest  {manifest.path}")
    print(f"  model     {model_dir}")
    print(f"  report    {report}")
    return 0


def _print_label_stats(data: dict) -> None:
    labels = data["labels"]
    top = sorted(labels["per_label"].items(), key=lambda kv: -kv[1])[:8]
    print(
        f"  {data['records']} records from {data['plots']} plots in {data['wall_time_s']:.0f}s; "
        f"{labels['labels_per_example_mean']} labels per example; neutral {labels['neutral_share_of_labels']:.1%} "
        "of labels"
    )
    print("  most frequent labels: " + ", ".join(f"{k} {v}" for k, v in top if v))
    for name, splits in data["dataset"].items():
        print(f"  {name:<6} " + "  ".join(f"{split} {n}" for split, n in splits.items()))


def _train(args, dataset: Path, out: Path) -> tuple[float, str, str]:
    from emopillars.data.loaders import load
    from emopillars.training import TrainConfig, train

    train_data = load(dataset / "train.jsonl", format="synthetic", variant="orig")
    dev_path = dataset / "dev.jsonl"
    dev_data = load(dev_path, format="synthetic", variant="orig") if dev_path.exists() else None
    test_path = dataset / "test.jsonl"
    test_n = sum(1 for _ in open(test_path)) if test_path.exists() else 0
    eval_split = "test" if test_n >= MIN_EVAL_EXAMPLES or not dev_path.exists() else "dev"
    config = TrainConfig(
        **({"model": args.encoder} if args.encoder else {}),  # unset: TrainConfig's default encoder
        output_dir=str(out / "model"),
        epochs=args.epochs,
        batch_size=16,
        max_length=64,
        seed=0,
        threshold_policy="global",
    )
    started = time.perf_counter()
    result = train(config, train_data, dev_data, progress=not args.no_progress)
    return time.perf_counter() - started, result.model_dir, eval_split


def _evaluate(model_dir: str, path: Path, out: Path) -> tuple[dict, Path]:
    from emopillars.data.loaders import load
    from emopillars.evaluation.report import write_report
    from emopillars.serving import EmotionClassifier
    from emopillars.training import evaluate_model

    data = load(path, format="synthetic", variant="orig")
    metrics = evaluate_model(EmotionClassifier.load(model_dir), data)
    paths = write_report(metrics, out, title="Emo Pillars demo: MiniLM trained on the synthesized Orig split")
    return metrics, paths["markdown"]
