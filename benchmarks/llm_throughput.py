"""LLM throughput: the embedded backend, a local llama.cpp server at concurrency 1/4/16, the client's own
capacity against a zero-latency stub server, and (with --vllm URL) calls per GPU-hour against ``vllm serve``.

    .venv/bin/python benchmarks/llm_throughput.py                 # ~3 min on 2 shared cores
    .venv/bin/python benchmarks/llm_throughput.py --vllm http://gpu:8000/v1 [--vllm-model NAME]
    .venv/bin/python benchmarks/llm_throughput.py --skip-llamacpp --baseline-src ../before/src

``--baseline-src`` measures the client's capacity against the stub with another checkout's ``emopillars``
(e.g. a git worktree of an older commit) and with this one, alternately in fresh processes, ``--rounds`` times,
and reports both and their ratio: a before/after from the same run, under the same load.

Prints a table and writes/updates the "LLM throughput" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from _machine import cpu_model

from emopillars.llm import ChatRequest, SamplingParams, load_llm
from emopillars.llm.backends.llamacpp import default_threads
from emopillars.llm.models import model_path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## LLM throughput"
PAPER_CALLS_PER_GPU_HOUR = 1556
TOPICS = ["a lost key", "a storm", "a wedding", "a job interview", "a stray cat", "a late train", "a birthday",
          "an old letter", "a broken phone", "a first snow", "a noisy neighbour", "a marathon", "a power cut",
          "a lottery ticket", "a hospital visit", "a school reunion"]  # fmt: skip

# -- a zero-latency stub server (raw asyncio: the stub must be much faster than the client it measures) --------
_STUB_BODY = (
    b'{"id":"stub","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",'
    b'"content":"{\\"emotion\\": \\"joy\\"}"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}'
)
_STUB_MODELS = b'{"object":"list","data":[{"id":"stub","owned_by":"stub"}]}'


def _http_response(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class _StubProtocol(asyncio.Protocol):
    chat = _http_response(_STUB_BODY)
    models = _http_response(_STUB_MODELS)

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            length = int(match.group(1)) if match else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.models if head.startswith(b"GET") else self.chat)


def serve_stub(port: int) -> None:
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(_StubProtocol, "127.0.0.1", port, backlog=1024))
    print("stub ready", flush=True)
    try:
        loop.run_until_complete(server.serve_forever())
    except KeyboardInterrupt:
        pass


# -- helpers ---------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.3)
    raise RuntimeError(f"{url} not up after {seconds}s")


def story_requests(n: int, max_tokens: int, salt: str) -> list[ChatRequest]:
    params = SamplingParams(max_tokens=max_tokens)
    return [
        ChatRequest.from_prompt(f"Write a short story about {TOPICS[i % len(TOPICS)]} ({salt} {i}).", params=params)
        for i in range(n)
    ]


def measure(llm, requests) -> dict:
    started, cpu_started = time.perf_counter(), time.process_time()
    responses = llm.generate(requests)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    errors = sum(not r.ok for r in responses)
    tokens = sum(r.completion_tokens for r in responses)
    return {"requests": len(requests), "errors": errors, "wall_s": wall, "req_s": len(requests) / wall,
            "tok_s": tokens / wall, "tokens": tokens, "cpu_us": cpu / len(requests) * 1e6}  # fmt: skip


def cpu_note(m: dict, note: str = "") -> str:
    """The client's CPU time per request (this process, all threads): what one free core would sustain."""
    cpu = f"client CPU {m['cpu_us']:,.0f} µs/request (~{1e6 / m['cpu_us']:,.0f}/s per free core)"
    return f"{note}; {cpu}" if note else cpu


def row(name: str, concurrency, m: dict, note: str = "") -> list[str]:
    return [name, str(concurrency), str(m["requests"]), f"{m['wall_s']:.1f}", f"{m['req_s']:.2f}",
            f"{m['tok_s']:.1f}", str(m["errors"]), note]  # fmt: skip


# -- the measurements ------------------------------------------------------------------------------------------
def bench_stub(n: int) -> list[list[str]]:
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve-stub", str(port)], stdout=subprocess.PIPE)
    rows = []
    try:
        process.stdout.readline()
        schema = {"type": "object", "properties": {"emotion": {"type": "string"}}}
        for concurrency in (64, 256):
            llm = load_llm(f"openai:http://127.0.0.1:{port}/v1#stub", cache=False, concurrency=concurrency,
                           server="generic", max_connections=concurrency)  # fmt: skip
            llm.generate(story_requests(200, 8, "warm"))  # open the pool
            plain = measure(llm, story_requests(n, 8, f"plain{concurrency}"))
            rows.append(row("client vs zero-latency stub (plain)", concurrency, plain, cpu_note(plain, "no cache")))
            base = story_requests(n, 8, f"json{concurrency}")
            structured = measure(llm, [ChatRequest(r.messages, r.params, schema) for r in base])
            rows.append(row("client vs stub (JSON schema + parse)", concurrency, structured, cpu_note(structured)))
            llm.close()
        with_cache = load_llm(f"openai:http://127.0.0.1:{port}/v1#stub", cache_path=Path(f"/tmp/llm_bench_{port}.db"),
                              concurrency=64, server="generic")  # fmt: skip
        writes = measure(with_cache, story_requests(n, 8, "c"))
        rows.append(row("client vs stub (cache writes on)", 64, writes, cpu_note(writes)))
        hits = measure(with_cache, story_requests(n, 8, "c"))
        rows.append(row("client, same run again (cache hits)", 64, hits, cpu_note(hits)))
        with_cache.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"/tmp/llm_bench_{port}.db{suffix}").unlink(missing_ok=True)
    finally:
        process.terminate()
        process.wait()
    return rows


def bench_stub_vs_baseline(n: int, baseline_src: str, rounds: int) -> tuple[list[list[str]], list[str]]:
    """Stub rows for the baseline checkout and for this one, alternately in fresh processes; rows with the ratio."""
    here = str(ROOT / "src")
    runs: dict[str, list[list[list[str]]]] = {"baseline": [], "current": []}
    for _ in range(rounds):
        for name, src in (("baseline", baseline_src), ("current", here)):
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, str(Path(__file__).parent)])}
            command = [sys.executable, __file__, "--stub-json", "--stub-requests", str(n)]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
            print(f"{name}: " + ", ".join(f"{r[4]} req/s" for r in runs[name][-1]), flush=True)
    rows = []
    for i, base_row in enumerate(runs["baseline"][0]):
        before = [float(run[i][4]) for run in runs["baseline"]]
        after = [float(run[i][4]) for run in runs["current"]]
        cpu_before = [_cpu_us(run[i][-1]) for run in runs["baseline"]]
        cpu_after = [_cpu_us(run[i][-1]) for run in runs["current"]]
        rows.append([
            base_row[0], base_row[1], base_row[2],
            " / ".join(f"{b:,.0f}" for b in before), " / ".join(f"{a:,.0f}" for a in after),
            " / ".join(f"x{a / b:.2f}" for a, b in zip(after, before)),
            " / ".join(f"{b:,.0f}" for b in cpu_before), " / ".join(f"{a:,.0f}" for a in cpu_after),
            f"~{1e6 / (sum(cpu_after) / len(cpu_after)):,.0f}/s",
        ])  # fmt: skip
    header = ["setup", "concurrency", "requests", "before req/s (rounds)", "after req/s (rounds)", "after/before",
              "before client CPU µs/req", "after client CPU µs/req", "after: capacity per free core"]  # fmt: skip
    return rows, header


def _cpu_us(note: str) -> float:
    match = re.search(r"client CPU ([\d,]+) µs", note)
    return float(match.group(1).replace(",", "")) if match else float("nan")


def bench_embedded(n: int, max_tokens: int) -> list[list[str]]:
    llm = load_llm("llamacpp:qwen2.5-0.5b", cache=False, n_ctx=1024)
    llm.generate(story_requests(1, 4, "warm"))
    m = measure(llm, story_requests(n, max_tokens, "embedded"))
    llm.close()
    return [row("embedded llama.cpp, Qwen2.5-Coder-0.5B Q4_K_M", 1, m, f"{default_threads()} thread(s)")]


def bench_llamacpp_server(n: int, max_tokens: int) -> list[list[str]]:
    port = free_port()
    threads = default_threads()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path("qwen2.5-0.5b")),
               "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(threads),
               "--n_threads_batch", str(threads), "--n_ctx", "1024",
               "--model_alias", "qwen", "--verbose", "False"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        url = f"http://127.0.0.1:{port}/v1"
        wait_http(f"{url}/models", process)
        warm = load_llm(f"openai:{url}#qwen", cache=False, timeout=600)
        warm.generate(story_requests(1, 4, "warm"))  # first-request costs out of the measurement
        warm.close()
        for concurrency in (1, 4, 16):
            llm = load_llm(f"openai:{url}#qwen", cache=False, concurrency=concurrency, timeout=600)
            m = measure(llm, story_requests(n, max_tokens, f"server{concurrency}"))
            rows.append(row("OpenAI client -> llama_cpp.server, same GGUF", concurrency, m, f"{threads} thread(s)"))
            llm.close()
    finally:
        process.terminate()
        process.wait()
    return rows


def bench_vllm(url: str, model: str | None, n: int, max_tokens: int) -> list[list[str]]:
    rows = []
    for concurrency in (1, 16, 64, 256):
        spec = f"openai:{url}" + (f"#{model}" if model else "")
        llm = load_llm(spec, cache=False, concurrency=concurrency, timeout=600)
        count = min(n, max(8, concurrency * 4))
        m = measure(llm, story_requests(count, max_tokens, f"vllm{concurrency}"))
        per_hour = m["req_s"] * 3600
        note = f"{per_hour:,.0f} calls/GPU-hour ({per_hour / PAPER_CALLS_PER_GPU_HOUR:.1f}x the paper's 1,556)"
        rows.append(row(f"OpenAI client -> vllm serve ({llm.backend.model})", concurrency, m, note))
        llm.close()
    return rows


# -- report ----------------------------------------------------------------------------------------------------
HEADER = ["setup", "concurrency", "requests", "wall s", "requests/s", "tokens/s", "errors", "note"]


def markdown_table(rows: list[list[str]], header: list[str] = HEADER) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def previous_llamacpp_rows() -> list[list[str]]:
    """The llama.cpp rows of the section now in BENCHMARKS.md, marked with that section's date."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else ""
    match = re.search(rf"^{re.escape(SECTION)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not match:
        return []
    date = re.search(r"Date: ([0-9-]+)", match.group(1))
    rows = []
    for line in match.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(HEADER) and "llama" in cells[0]:
            if "not re-run" not in cells[-1]:
                cells[-1] = f"{cells[-1]}; from {date.group(1) if date else 'an earlier run'}, not re-run".lstrip("; ")
            rows.append(cells)
    return rows


def machine() -> str:
    cpu = cpu_model()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"nproc {os.cpu_count()}, {cpu}, load average {load:.1f} at start (shared machine)"


def write_section(rows: list[list[str]], command: str, machine_line: str, notes: list[str], extra: str = "") -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    body = "\n".join([
        SECTION, "",
        f"Date: {dt.date.today().isoformat()}. Command: `{command}`.", f"Machine: {machine_line}.", "",
        markdown_table(rows), "", *([extra, ""] if extra else []), *[f"- {n}" for n in notes], "", "",
    ])  # fmt: skip
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: body, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + body
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve-stub", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stub-json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-src", metavar="DIR", help="another checkout's src/ to compare the stub rows with")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of baseline and current (--baseline-src)")
    parser.add_argument("--requests", type=int, default=8, help="requests per llama.cpp measurement")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--stub-requests", type=int, default=4000)
    parser.add_argument("--vllm", metavar="URL", help="an OpenAI-compatible vLLM server, e.g. http://gpu:8000/v1")
    parser.add_argument("--vllm-model", default=None)
    parser.add_argument("--vllm-requests", type=int, default=1024)
    parser.add_argument("--vllm-max-tokens", type=int, default=300, help="~ one synthesis step's answer")
    parser.add_argument("--skip-llamacpp", action="store_true", help="stub (and vLLM) only")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    if args.serve_stub:
        serve_stub(args.serve_stub)
        return 0
    if args.stub_json:
        print(json.dumps(bench_stub(args.stub_requests)))
        return 0

    machine_line = machine()
    print(machine_line)
    started = time.perf_counter()
    rows = bench_stub(args.stub_requests)
    print(markdown_table(rows), flush=True)
    extra = ""
    if args.baseline_src:
        compared, header = bench_stub_vs_baseline(args.stub_requests, args.baseline_src, args.rounds)
        extra = (
            f"Before/after, same run: the stub rows with `--baseline-src {args.baseline_src}` and with this "
            f"checkout, alternately in fresh processes, {args.rounds} rounds (load average "
            f"{os.getloadavg()[0]:.1f} at the end):\n\n" + markdown_table(compared, header)
        )
        print(extra, flush=True)
    if not args.skip_llamacpp:
        rows += bench_embedded(args.requests, args.max_tokens)
        print(markdown_table(rows[-1:]), flush=True)
        rows += bench_llamacpp_server(args.requests, args.max_tokens)
    notes = [
        "Stub rows: the client's own ceiling (one Python process; the stub runs in another); the goal is "
        ">= 2,000 requests/s so that the client never limits a GPU server. HTTP: aiohttp, one code path.",
    ]
    if args.skip_llamacpp:
        kept = previous_llamacpp_rows()
        rows += kept
        if kept:
            notes.append("llama.cpp rows: not re-run (`--skip-llamacpp`); kept from the previous run of this section.")
    else:
        notes += [
            f"llama.cpp rows: {args.requests} requests x {args.max_tokens} new tokens, free text, greedy; "
            "llama_cpp.server runs one sequence at a time, so concurrency adds queueing, not throughput.",
            "Threads: `EMOPILLARS_LLM_THREADS`, else the cores not already busy; the server also gets "
            "`--n_threads_batch` = threads (with its default of 2 batch threads, concurrency 1 ran 3.7x slower here).",
        ]
    if args.vllm:
        rows += bench_vllm(args.vllm, args.vllm_model, args.vllm_requests, args.vllm_max_tokens)
        notes.append(f"vLLM rows: {args.vllm_max_tokens} new tokens per call; calls per GPU-hour = requests/s x 3600.")
    else:
        rows.append(["OpenAI client -> vllm serve", "-", "-", "-", "-", "-", "-",
                     "not measured: no GPU in this session (paper: 1,556 calls/GPU-hour)"])  # fmt: skip
        notes.append(
            "vLLM: no GPU in this session, not measured. On a GPU: `vllm serve MODEL` then "
            "`python benchmarks/llm_throughput.py --vllm http://HOST:8000/v1` gives calls per GPU-hour "
            f"(paper: {PAPER_CALLS_PER_GPU_HOUR:,})."
        )
    print(markdown_table(rows))
    print(f"total {time.perf_counter() - started:.0f}s")
    if not args.no_write:
        command = "python benchmarks/llm_throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section(rows, command.strip(), machine_line, notes, extra)
        print(f"updated {ROOT / 'BENCHMARKS.md'} ({SECTION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
