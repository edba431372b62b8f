"""``emopillars serve``: an HTTP API (and a page to try it) for a trained model, on FastAPI + uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import logging

ORDER = 45
log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve a trained model over HTTP (POST /predict, a page at /)")
    p.add_argument("--model", required=True, help="model folder (written by `emopillars train` or `export`)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port, printed at startup)")
    p.add_argument(
        "--backend", choices=["auto", "torch", "onnx"], default="auto", help="runtime (auto: from the folder)"
    )
    p.add_argument("--max-batch", type=int, default=64, help="most items scored in one batch")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a batch waits for more requests")
    p.add_argument("--max-items", type=int, default=256, help="most items in one request (more: 413)")
    p.add_argument("--max-text-chars", type=int, default=10_000, help="longest text or context (longer: 413)")
    p.add_argument("--bf16", default="auto", help="auto (native bf16 only), true or false (torch backend)")
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


def run(args: argparse.Namespace) -> int:
    from emopillars.serving import EmotionClassifier
    from emopillars.serving.app import ServeSettings
    from emopillars.serving.server import serve

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {args.port}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be a positive integer, got {args.threads}")
    settings = ServeSettings(
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_items=args.max_items,
        max_text_chars=args.max_text_chars,
        batch_size=args.max_batch,
    )
    classifier = EmotionClassifier.load(
        args.model, bf16=args.bf16, num_threads=args.threads, policy=args.threshold_policy, backend=args.backend
    )
    if not _is_loopback(args.host):
        log.warning("listening on %s: reachable from other machines, with no authentication", args.host)
    serve(classifier, settings, host=args.host, port=args.port)
    return 0
