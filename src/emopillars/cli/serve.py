"""``emopillars serve``: an HTTP API (and a page to try it) for a trained model, on FastAPI + uvicorn."""

from __future__ import annotations

import argparse
import inspect
import ipaddress
import logging

ORDER = 45
log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve a trained model over HTTP (POST /predict, a page at /)")
    p.add_argument("--model", required=True, help="model folder (written by `emopillars train` or `export`)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: loopback only)")
    p.add_argument("--port", type=int, help="port (default 8000; 0: any free port, printed at startup)")
    p.add_argument("--backend", choices=["auto", "torch", "onnx"], help="runtime (default auto: from the folder)")
    p.add_argument("--max-batch", type=int, help="most items scored in one batch (default 64)")
    p.add_argument("--max-wait-ms", type=float, help="how long a batch waits for more requests (default 5)")
    p.add_argument("--max-items", type=int, help="most items in one request (default 256; more: 413)")
    p.add_argument("--max-text-chars", type=int, help="longest text or context (default 10000; longer: 413)")
    p.add_argument("--bf16", help="auto (default: native bf16 only), true or false (torch backend)")
    p.add_argument("--threads", type=int, help="CPU threads for inference")
    p.add_argument(
        "--threshold-policy", choices=["global", "per_class", "argmax"], help="override the saved decision policy"
    )
    p.set_defaults(func=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SETTINGS_OPTIONS = ["max_batch", "max_wait_ms", "max_items", "max_text_chars"]
"""``ServeSettings`` fields set by options of the same name; unset ones keep the settings' defaults."""


def build_settings(args: argparse.Namespace):
    """The ``ServeSettings`` of a parsed ``serve`` command line: given options only, the rest its defaults."""
    from emopillars.cli._options import given
    from emopillars.serving.app import ServeSettings

    options = given(args, SETTINGS_OPTIONS)
    if args.max_batch is not None:
        options["batch_size"] = args.max_batch  # the model scores what the batcher gathers in one pass
    return ServeSettings(**options)


def run(args: argparse.Namespace) -> int:
    from emopillars.cli._options import given
    from emopillars.serving import EmotionClassifier
    from emopillars.serving.server import serve

    if args.port is not None and not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {args.port}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be a positive integer, got {args.threads}")
    settings = build_settings(args)
    classifier = EmotionClassifier.load(
        args.model,
        num_threads=args.threads,
        policy=args.threshold_policy,
        **given(args, ["bf16", "backend"]),
    )
    address = given(args, ["host", "port"])
    host = address.get("host") or inspect.signature(serve).parameters["host"].default
    if not _is_loopback(host):
        log.warning("listening on %s: reachable from other machines, with no authentication", host)
    serve(classifier, settings, **address)
    return 0
