"""``emopillars synthesize``: turn a corpus of stories into the Emo Pillars dataset (resumable)."""

from __future__ import annotations

import argparse
import sys

from emopillars.cli.teacher import add_label_arguments  # shared with `teacher audit`

ORDER = 20


def _max_tokens(values: list[str] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values or []:
        step, sep, number = value.partition("=")
        if not sep or not number.isdigit():
            raise ValueError(f"--max-tokens expects STEP=N, got {value!r}")
        out[step.strip()] = int(number)
    return out


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--llm",
        help="teacher: llamacpp:/path.gguf, llamacpp:NAME, openai:http://HOST:PORT/v1#MODEL, vllm:MODEL "
        "(default: $EMOPILLARS_LLM, else the embedded Qwen2.5-Coder-1.5B GGUF)",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not use the LLM answer cache")
    parser.add_argument("--concurrency", type=int, help="parallel requests to a server backend")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="longest wait for one answer from a server backend before the request is retried (default: the LLM "
        "layer's); see docs/synthesis.md for the whole retry budget",
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "synthesize",
        help="generate a labelled, context-rich emotion dataset from stories with an LLM teacher",
        description="Runs actors -> utterances -> labels -> context -> cleaning -> rewriting, writes DIR/dataset "
        "and DIR/manifest.json. Rerunning the same command on the same DIR resumes.",
    )
    parser.add_argument("--corpus", required=True, help="JSONL / CSV / TXT file, folder of .txt, or WikiPlots folder")
    parser.add_argument("--out", required=True, help="output folder (checkpoints, dataset, manifest)")
    add_llm_arguments(parser)
    parser.add_argument("--plots", type=int, help="sample this many plots (default: all)")
    parser.add_argument("--max-actors", type=int, help="at most this many characters per plot")
    parser.add_argument("--context-fraction", type=float, help="share of utterances given a context (default 1/3)")
    parser.add_argument("--seed", type=int, help="seed of the plot sample and the splits (default 0)")
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="work on every N-th plot of the sample, from the I-th (0-based): N runs, I = 0..N-1, split one sample "
        "into disjoint parts (one per machine or session); benchmarks/pack_dataset.py packs them into one dataset",
    )
    parser.add_argument("--prompts", help="folder with prompt templates overriding the package's (<step>.txt)")
    parser.add_argument("--batch-size", type=int, help="requests handed to the LLM layer at once (default 64)")
    parser.add_argument("--format", choices=["jsonl", "csv", "txt", "wikiplots"], help="corpus format (auto)")
    parser.add_argument("--text-field", help="column holding the story (auto: text, plot, ...)")
    parser.add_argument("--id-field", help="column holding the story id (auto: id)")
    parser.add_argument("--title-field", help="column holding the title (auto: title)")
    parser.add_argument("--min-plot-chars", type=int, help="skip shorter stories (default 200)")
    parser.add_argument("--max-plot-tokens", type=int, help="cut longer stories at a sentence end (default 1500)")
    parser.add_argument(
        "--max-tokens", action="append", metavar="STEP=N", help="max new tokens of a step (repeatable), e.g. labels=80"
    )
    parser.add_argument("--near-dup-threshold", type=float, help="MinHash Jaccard for near duplicates (default 0.8)")
    parser.add_argument(
        "--neutral-diversity",
        action="store_true",
        help="ask for neutral thoughts about different kinds of things (lowers a character's neutral repetition)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--force", action="store_true", help="discard a previous run with another config in --out")
    engine = parser.add_argument_group("engine (see docs/scale-out.md)")
    engine.add_argument(
        "--engine",
        choices=["local", "ray"],
        help="where the LLM calls run: this process (local, the default) or a Ray Data job per step (ray: pip install "
        "'emopillars[ray]'); a run stopped on one engine resumes on the other",
    )
    engine.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join (default: Ray's local mode)")
    engine.add_argument(
        "--ray-endpoint",
        action="append",
        metavar="SPEC",
        help="another OpenAI-compatible server of the same model (repeatable); the Ray engine spreads the calls "
        "over --llm and these and fails over when one dies",
    )
    add_label_arguments(parser)
    parser.add_argument(
        "--schedule",
        choices=["prefix", "plain"],
        help="order of a step's calls: by prompt, so calls sharing a prefix run back to back (default), or input "
        "order; the dataset is the same",
    )
    parser.set_defaults(func=run)


CONFIG_OPTIONS = {
    "llm": "llm",
    "plots": "plots",
    "max_actors": "max_actors",
    "context_fraction": "context_fraction",
    "seed": "seed",
    "prompts": "prompts_dir",
    "batch_size": "batch_size",
    "concurrency": "concurrency",
    "timeout": "timeout",
    "format": "corpus_format",
    "text_field": "text_field",
    "id_field": "id_field",
    "title_field": "title_field",
    "min_plot_chars": "min_plot_chars",
    "max_plot_tokens": "max_plot_tokens",
    "near_dup_threshold": "near_dup_threshold",
    "label_samples": "label_samples",
    "label_temperature": "label_temperature",
    "label_llm": "label_llms",
    "label_model": "label_model",
    "label_calibration": "label_calibration",
    "schedule": "schedule",
    "shard": "shard",
}
"""argparse dest -> ``SynthesisConfig`` field. Options left unset are not passed: the config's defaults apply."""


def build_config(args):
    """The ``SynthesisConfig`` of a parsed ``synthesize`` command line: given options only, the rest its defaults."""
    from emopillars.cli._options import given
    from emopillars.synth import SynthesisConfig

    options = given(args, CONFIG_OPTIONS)
    if args.max_tokens:
        options["max_tokens"] = _max_tokens(args.max_tokens)
    return SynthesisConfig(
        corpus=args.corpus,
        out_dir=args.out,
        cache=not args.no_cache,
        neutral_diversity=args.neutral_diversity,
        progress=not args.no_progress,
        force=args.force,
        **options,
    )


def run(args) -> int:
    from emopillars.cli.main import CLIError
    from emopillars.llm.secrets import redact_spec
    from emopillars.synth import SynthesisError, synthesize
    from emopillars.synth.signals import EXIT_SIGTERM, Terminated, sigterm_as_interrupt

    try:
        config = build_config(args)
        engine = _engine(args)
        with sigterm_as_interrupt():
            manifest = synthesize(config, engine=engine)
    except Terminated:
        print(
            f"emopillars synthesize: stopped by SIGTERM; finished work is saved in {args.out}: rerun the same "
            "command to resume",
            file=sys.stderr,
        )
        return EXIT_SIGTERM
    except (SynthesisError, ValueError, FileNotFoundError) as exc:
        raise CLIError(redact_spec(str(exc))) from None
    print_summary(manifest)
    return 0


def _engine(args):
    """The engine the options name (None: the local one); Ray options without ``--engine ray`` are an error."""
    from emopillars.synth.engines import load_engine

    if args.engine in (None, "local"):
        if args.ray_address or args.ray_endpoint:
            raise ValueError("--ray-address and --ray-endpoint need --engine ray")
        return None
    return load_engine("ray", address=args.ray_address, endpoints=args.ray_endpoint or ())


def print_summary(manifest) -> None:
    data = manifest.data
    print(f"model: {data['model']}")
    print(f"records: {data['records']} from {data['plots']} plots; wall time {data['wall_time_s']:.0f}s")
    for name, splits in data["dataset"].items():
        print(f"  {name:<6} " + "  ".join(f"{split} {n}" for split, n in splits.items()))
    if data["drops"]:
        print("drops (the teacher's answer was unusable for the item): " + ", ".join(
            f"{k} {v}" for k, v in list(data["drops"].items())[:10]
        ))  # fmt: skip
    failures = data.get("call_failures") or {}
    if failures.get("transient") or failures.get("fatal"):
        print(
            f"failed LLM calls (retried, never recorded as drops): transient {failures.get('transient', 0)}, "
            f"fatal {failures.get('fatal', 0)}"
        )
    for line in data.get("warnings", []):
        print(f"WARNING: {line}", file=sys.stderr)
    tokens = data["tokens"]
    print(f"LLM calls {tokens['calls']}, tokens {tokens['prompt']} in / {tokens['completion']} out")
    print(f"dataset: {data['outputs']['dataset']}")
    print(f"manifest: {manifest.path}")
