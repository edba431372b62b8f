"""Server-fault matrix for synthesis: the real ``emopillars synthesize`` (a subprocess) against the fault server
(``emopillars.testing.fault_server``, its own process), one fault at a time, then a rerun after the fix.

    python benchmarks/faults_server.py                      # every case, table on stdout
    python benchmarks/faults_server.py --only 401,hang      # some cases
    python benchmarks/faults_server.py --json faults.json --markdown BENCHMARKS.md

For each case the CLI synthesizes a few demo plots (one actor each, LLM cache off unless the case says
so, ``--timeout 2``) while the server injects the case's faults; then the server is healed and the same
command is rerun on the same folder ("rerun after the fix"; a wrong model name is fixed by naming the
right one, which is a new configuration, so that rerun adds ``--force``). A row:

- ``exit``: the first run's exit code; ``records``: what it wrote;
- ``retried``: failed calls (server, network, key, model) -- never recorded, their rows retried by the next
  pass or run; ``dropped``: answers the steps judged unusable (final drops, filters not counted);
- ``traceback``: a Python traceback in the output; ``silent_wrong``: exit 0 but a dataset that differs from
  a healthy run's (lost, cut or invented content passed off as a result);
- ``rerun_records`` / ``rerun_same``: the rerun's records and whether its dataset equals the healthy one.

:func:`rows` returns the rows (dicts) for a driver (``benchmarks/faults.py``) that combines this matrix with
the malformed-input one. Some outcomes depend on the LLM layer's error typing and repair rules; the
matrix shows what happens, it does not assume.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from emopillars.testing.fault_server import FaultServerProcess

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "src" / "emopillars" / "synth" / "demo_plots.jsonl"
NO_POSITIVE = json.dumps({"emotions": [{"emotion": "joy", "level": 0.1}]})


@dataclass
class Case:
    name: str
    fault: str  # what the table calls it
    rules: list[dict] = field(default_factory=list)
    model: str = "stub"
    args: tuple[str, ...] = ()
    cache: bool = False
    rerun_args: tuple[str, ...] = ()


CASES = [
    Case("healthy", "none (reference)"),
    Case("500", "HTTP 500 on every 3rd request", [{"fault": "status", "status": 500, "every": 3}]),
    Case("429", "HTTP 429 on every 3rd request", [{"fault": "status", "status": 429, "every": 3}]),
    Case("401", "HTTP 401 on every chat request", [{"fault": "status", "status": 401}]),
    Case("403-mid-run", "HTTP 403 from the 11th labels request (key revoked)",
         [{"fault": "status", "status": 403, "step": "labels", "after": 10}]),
    Case("404", "HTTP 404 on every chat request", [{"fault": "status", "status": 404}]),
    Case("wrong-model", "--llm names a model the server does not serve", model="no-such-model",
         rerun_args=("--force",)),
    Case("drop", "connection closed without an answer, every 4th", [{"fault": "drop", "every": 4}]),
    Case("reset", "connection reset (RST), every 4th", [{"fault": "reset", "every": 4}]),
    Case("hang", "1 request in 40 never answers (--timeout 2)", [{"fault": "hang", "every": 40}]),
    Case("truncated-json", "answer JSON cut mid-string, every 4th", [{"fault": "truncate", "every": 4}]),
    Case("truncated-json-cached", "answer JSON cut mid-string, every 4th, LLM cache on",
         [{"fault": "truncate", "every": 4}], cache=True),
    Case("html", "HTML page instead of JSON, every 4th", [{"fault": "html", "every": 4}]),
    Case("empty-choices", '"choices": [], every 4th', [{"fault": "empty_choices", "every": 4}]),
    Case("null-content", '"content": null, every 4th', [{"fault": "null_content", "every": 4}]),
    Case("length", 'content cut, finish_reason "length", every 4th', [{"fault": "length", "every": 4}]),
    Case("outage-mid-run", "HTTP 503 on everything from the 11th labels request",
         [{"fault": "status", "status": 503, "step": "labels", "after": 10}]),
    Case("no-positive-labels", "every label answer below the 0.3 threshold (nothing to keep)",
         [{"fault": "content", "step": "labels", "content": NO_POSITIVE}]),
]  # fmt: skip


def _command(url: str, out: Path, case: Case, plots: int, model: str, extra: tuple[str, ...] = ()) -> list[str]:
    command = [
        sys.executable, "-m", "emopillars.cli.main", "synthesize", "--corpus", str(DEMO), "--out", str(out),
        "--llm", f"openai:{url}#{model}", "--no-progress", "--plots", str(plots), "--max-actors", "1",
        "--min-plot-chars", "0", "--batch-size", "8", "--concurrency", "4", "--timeout", "2", *case.args, *extra,
    ]  # fmt: skip
    if not case.cache:
        command.append("--no-cache")
    return command


def _dataset(out: Path) -> dict[str, list[str]]:
    root = out / "dataset"
    return {str(p.relative_to(root)): p.read_text().splitlines() for p in sorted(root.rglob("*.jsonl"))}


def _manifest(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def _outcome(proc: subprocess.CompletedProcess, out: Path, reference: dict | None) -> dict:
    manifest = _manifest(out)
    failures = manifest.get("call_failures") or {}
    drops = manifest.get("drops") or {}
    dataset = _dataset(out) if (out / "dataset").exists() else {}
    same = reference is not None and dataset == reference
    return {
        "exit": proc.returncode,
        "status": manifest.get("status"),
        "records": manifest.get("records", 0),
        "retried": int(failures.get("transient", 0)) + int(failures.get("fatal", 0)),
        "fatal": int(failures.get("fatal", 0)),
        "dropped": sum(n for reason, n in drops.items() if not reason.startswith("filter.")),
        "top_drop": max(drops, key=drops.get) if drops else "",
        "llm_retries": (manifest.get("llm_metrics") or {}).get("retries", 0),
        "traceback": "Traceback (most recent call last)" in proc.stderr + proc.stdout,
        "silent_wrong": proc.returncode == 0 and reference is not None and not same,
        "same_as_healthy": same,
        "message": _last_error_line(proc.stderr),
    }


def _last_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error:" in line or line.startswith("WARNING")]
    return (lines[-1] if lines else "")[:300]


def run_case(server: FaultServerProcess, case: Case, work: Path, plots: int, reference: dict | None) -> dict:
    """One case: the faulty run, then the rerun after the fix. Returns the table row."""
    out = work / case.name
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "EMOPILLARS_CACHE": str(work / f"cache-{case.name}")}
    server.set_rules(case.rules)
    started = time.perf_counter()
    first = subprocess.run(
        _command(server.url, out, case, plots, case.model), env=env, capture_output=True, text=True, timeout=1800
    )
    seconds = time.perf_counter() - started
    stats = server.stats()
    row = {"case": case.name, "fault": case.fault, **_outcome(first, out, reference)}
    row.update(seconds=round(seconds, 1), faults_injected=sum(stats["faults"].values()), requests=stats["requests"])
    server.heal()
    rerun = subprocess.run(
        _command(server.url, out, case, plots, "stub", case.rerun_args),
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    after = _outcome(rerun, out, reference)
    row.update(
        rerun_exit=after["exit"],
        rerun_records=after["records"],
        rerun_same=after["same_as_healthy"],
        rerun_traceback=after["traceback"],
    )
    return row


def rows(only: list[str] | None = None, plots: int = 2, work: Path | None = None) -> list[dict]:
    """Run the matrix (the healthy reference first) and return one row per case."""
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="emopillars-faults-")) if own else work
    try:
        with FaultServerProcess() as server:
            healthy = CASES[0]
            base = run_case(server, healthy, work, plots, None)
            reference = _dataset(work / healthy.name)
            base.update(same_as_healthy=True, rerun_same=_dataset(work / healthy.name) == reference)
            out = [base]
            for case in CASES[1:]:
                if only and case.name not in only:
                    continue
                print(f"... {case.name}", file=sys.stderr, flush=True)
                out.append(run_case(server, case, work, plots, reference))
            return out
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def table(results: list[dict]) -> str:
    lines = [
        "| fault | exit | records | rows retried (failed calls) | rows dropped (bad answers) | traceback "
        "| silent wrong result | rerun after the fix: records (same as healthy) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['fault']} | {r['exit']} | {r['records']} | {r['retried']} | {r['dropped']} "
            f"| {_yes(r['traceback'])} | {_yes(r['silent_wrong'])} | {r['rerun_records']} ({_yes(r['rerun_same'])}) |"
        )
    return "\n".join(lines)


def summary(results: list[dict]) -> dict:
    faults = [r for r in results if r["case"] != "healthy"]
    return {
        "cases": len(faults),
        "survived": sum(r["rerun_same"] and not r["silent_wrong"] and not r["traceback"] for r in faults),
        "tracebacks": sum(r["traceback"] or r["rerun_traceback"] for r in faults),
        "silent_wrong_results": sum(r["silent_wrong"] for r in faults),
        "rows_retried": sum(r["retried"] for r in faults),
        "rows_dropped": sum(r["dropped"] for r in faults),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated case names (the healthy reference always runs)")
    parser.add_argument("--plots", type=int, default=2, help="demo plots per run (one actor each)")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--markdown", help="append a section with the table to this Markdown file")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else None
    started = time.perf_counter()
    results = rows(only, plots=args.plots)
    totals = summary(results)
    print(table(results))
    print(json.dumps(totals))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": results, "summary": totals}, indent=2) + "\n")
    if args.markdown:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        command = "python benchmarks/faults_server.py " + " ".join(argv if argv is not None else sys.argv[1:])
        with open(args.markdown, "a") as handle:
            handle.write(
                f"\n## Server faults (synthesize)\n\n- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}\n"
                f"- command: `{command.strip()}`\n- machine: {os.cpu_count()} CPU cores, load average {load:.1f}; "
                f"{time.perf_counter() - started:.0f} s\n\n{table(results)}\n\n"
                f"Survived (rerun after the fix gives the healthy dataset, no traceback, no silent wrong result): "
                f"{totals['survived']} of {totals['cases']}; tracebacks {totals['tracebacks']}; silent wrong results "
                f"{totals['silent_wrong_results']}.\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
