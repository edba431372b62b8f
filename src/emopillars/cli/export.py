"""``emopillars export``: a trained model folder as an ONNX model folder (fp32, or int8), ready to predict/serve."""

from __future__ import annotations

import json

ORDER = 47


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a trained model to ONNX (optionally int8) for fast CPU inference")
    p.add_argument("--model", required=True, help="model folder written by `emopillars train` or `adapt`")
    p.add_argument("--onnx", action="store_true", required=True, help="export to ONNX (the one format for now)")
    p.add_argument("--int8", action="store_true", help="dynamic int8 quantization of the weights (smaller, faster)")
    p.add_argument("--out", required=True, help="new folder for the exported model")
    p.add_argument("--no-optimize", action="store_true", help="skip ONNX Runtime's transformer graph fusions")
    p.add_argument("--force", action="store_true", help="replace --out when it is not empty")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import asdict

    from emopillars.inference.onnx import export_onnx
    from emopillars.training.model_card import refresh_model_card

    info = export_onnx(args.model, args.out, int8=args.int8, optimize=not args.no_optimize, overwrite=args.force)
    refresh_model_card(args.out)
    print(json.dumps({"out": args.out, **asdict(info)}, indent=2))
    return 0
