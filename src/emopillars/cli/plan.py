"""``emopillars plan``: LLM calls, tokens, GPU-hours and cost of a synthesis run of N records."""

from __future__ import annotations

import json

ORDER = 25


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plan",
        help="calls, tokens, GPU-hours and cost of a synthesis run, from a measured run and a measured throughput",
        description="Projects a synthesis run of N records from the per-record shape of a finished run's manifest "
        "and a server's measured throughput. The paper's own run (700K calls, 450 GPU-hours) is the first row.",
    )
    p.add_argument("--records", type=int, required=True, help="labelled records (the orig set) to synthesize")
    p.add_argument(
        "--context-fraction", type=float, help="share of records given a context (default: as in the measured run)"
    )
    p.add_argument(
        "--manifest",
        help="manifest.json of a finished run to take the per-record shape from (default: the packaged reference "
        "manifest if present, else the built-in demo shape of BENCHMARKS.md)",
    )
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--tokens-per-s", type=float, help="measured generated tokens per second on one GPU")
    speed.add_argument("--from", dest="from_json", metavar="BENCHMARK.json", help="throughput from gpu_figures.py")
    p.add_argument(
        "--prefill-tokens-per-s", type=float, help="measured prompt tokens per second (with --tokens-per-s)"
    )
    p.add_argument("--gpu-hour-price", type=float, help="price of one GPU-hour, for the cost column")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from emopillars.plan import Throughput, load_shape, plan_run
    from emopillars.plan.cost import render

    shape = load_shape(args.manifest)
    if args.prefill_tokens_per_s and not args.tokens_per_s:
        raise ValueError("--prefill-tokens-per-s goes with --tokens-per-s")
    throughput = None
    if args.tokens_per_s is not None:
        throughput = Throughput(args.tokens_per_s, args.prefill_tokens_per_s)
    elif args.from_json:
        throughput = Throughput.from_benchmark(args.from_json)
    rows = plan_run(
        args.records,
        shape,
        context_fraction=args.context_fraction,
        throughput=throughput,
        gpu_hour_price=args.gpu_hour_price,
    )
    if args.json:
        print(json.dumps({"shape": shape.to_dict(), "rows": [row.to_dict() for row in rows]}, indent=2))
    else:
        print(render(rows, shape, price_given=args.gpu_hour_price is not None))
    return 0
