"""The HTTP server under load: dynamic batching vs one item per batch, 1 / 16 / 64 concurrent clients.

Starts ``emopillars serve`` twice on free loopback ports (``--max-batch 64 --max-wait-ms 5``, and ``--max-batch 1``),
then a bounded load generator (asyncio + httpx, in this process) sends a fixed number of single-text
``POST /predict`` requests (GoEmotions test texts, in order) with C concurrent clients, for each C and each
server in turn (same run). Reports requests/s, p50 / p99 latency, errors, and the mean batch the server formed
(from ``GET /health``). Every request has a timeout and the run a fixed request count: it stops by itself.
The load generator shares the machine's cores with the server. Writes the section "Serving under load" of
BENCHMARKS.md.

    python benchmarks/serve_load.py --model /work/models/ge-minilm
    python benchmarks/serve_load.py --model DIR --requests 64 --clients 1 16 --no-write     # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from _machine import cpu_model, load_average, publish

from emopillars import settings
from emopillars.data.loaders import load

SECTION = "## Serving under load"


class Server:
    """``emopillars serve`` in a child process on a free loopback port."""

    def __init__(self, model: str, options: list[str]):
        command = [sys.executable, "-m", "emopillars.cli.main", "serve", "--model", model, "--port", "0", *options]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.url = None
        lines = []
        for line in self.proc.stdout:
            lines.append(line)
            found = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
            if found:
                self.url = found.group(1)
                break
        if not self.url:
            raise RuntimeError("server did not start:\n" + "".join(lines))
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()  # drain the log

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def load_test(url: str, texts: list[str], clients: int, timeout: float) -> dict:
    """Send ``len(texts)`` requests with ``clients`` concurrent workers; latency of each, errors counted."""
    queue = list(enumerate(texts))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        before = (await client.get("/health")).json()

        async def worker() -> None:
            while queue:
                _, text = queue.pop()
                start = time.perf_counter()
                try:
                    answer = await client.post("/predict", json={"text": text})
                    if answer.status_code != 200:
                        errors[str(answer.status_code)] = errors.get(str(answer.status_code), 0) + 1
                        continue
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - start
        after = (await client.get("/health")).json()
    batches = after["batches"] - before["batches"]
    items = after["items"] - before["items"]
    values = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {
        "clients": clients,
        "requests": len(texts),
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "wall_s": wall,
        "requests_per_s": len(latencies) / wall,
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_batch": items / batches if batches else 0.0,
    }


def run(args) -> dict:
    root = Path(args.data) if args.data else settings.dataset_path("goemotions")
    texts = [example.text for example in load(root / "test.tsv").examples][: args.requests]
    common = ["--backend", args.backend, "--max-items", "64"]
    if args.threads:
        common += ["--threads", str(args.threads)]
    configs = {
        f"dynamic batching (max batch {args.max_batch}, wait {args.max_wait_ms:g} ms)": [
            "--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms),
        ],
        "max batch 1 (no batching)": ["--max-batch", "1", "--max-wait-ms", "0"],
    }  # fmt: skip
    servers = {name: Server(args.model, [*common, *options]) for name, options in configs.items()}
    load_before = load_average()
    rows = []
    try:
        for url in (server.url for server in servers.values()):  # warm-up: first requests load lazy kernels
            asyncio.run(load_test(url, texts[:32], 4, args.timeout))
        for clients in args.clients:
            for name, server in servers.items():
                result = asyncio.run(load_test(server.url, texts, clients, args.timeout))
                result["server"] = name
                rows.append(result)
                print(
                    f"{name:<45} clients {clients:>3}: {result['requests_per_s']:7.1f} req/s, "
                    f"p50 {result['p50_ms']:7.1f} ms, p99 {result['p99_ms']:7.1f} ms, errors {result['errors']}, "
                    f"mean batch {result['mean_batch']:.1f} (load {load_average()})",
                    flush=True,
                )
    finally:
        for server in servers.values():
            server.stop()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}",
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "model": Path(args.model).name,
        "backend": args.backend,
        "rows": rows,
    }


def markdown(s: dict) -> str:
    lines = [
        SECTION,
        "",
        f"- Date: {s['date']}",
        f"- Command: `{s['command']}`",
        f"- Machine: {s['machine']}; load average {s['load_average_before']} before, {s['load_average_after']} "
        "after (shared machine; the load generator runs on the same cores as the server)",
        f"- Model: `{s['model']}`, backend {s['backend']}; each request is one GoEmotions test text, "
        "loopback HTTP/1.1 "
        "keep-alive",
        "",
        "| server | clients | requests | requests/s | p50 ms | p99 ms | errors | mean batch |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in s["rows"]:
        lines.append(
            f"| {row['server']} | {row['clients']} | {row['requests']} | {row['requests_per_s']:.1f} | "
            f"{row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} | {row['mean_batch']:.1f} |"
        )
    lines.append("")
    gains = []
    by_clients: dict[int, dict[str, float]] = {}
    for row in s["rows"]:
        by_clients.setdefault(row["clients"], {})["batch1" if "max batch 1" in row["server"] else "dyn"] = row[
            "requests_per_s"
        ]
    for clients, pair in sorted(by_clients.items()):
        if "batch1" in pair and "dyn" in pair and pair["batch1"]:
            gains.append(f"{clients} client(s) x{pair['dyn'] / pair['batch1']:.2f}")
    if gains:
        lines.append("- Gain of dynamic batching over max batch 1 (requests/s, same run): " + ", ".join(gains) + ".")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder (torch, or an ONNX export)")
    parser.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    parser.add_argument("--data", help="GoEmotions folder (default: EMOPILLARS_DATA/goemotions)")
    parser.add_argument("--requests", type=int, default=512, help="requests per (server, clients) cell")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--threads", type=int, help="server inference threads")
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request timeout, seconds")
    parser.add_argument("--json", help="also write the result as JSON here")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    summary = run(args)
    publish(summary, markdown, SECTION, args.json, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
