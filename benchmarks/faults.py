"""Faults and bad input: the server-fault matrix and the malformed-input matrix, one combined table.

    python benchmarks/faults.py                         # both halves; table; writes the BENCHMARKS.md section
    python benchmarks/faults.py --only server           # one half (server | inputs)
    python benchmarks/faults.py --quick                 # smoke: 3 server faults + the synthesize inputs
    python benchmarks/faults.py --json faults.json --no-write

A thin driver. The two halves live in their own modules and can run alone:

- ``faults_server.py``: the real ``emopillars synthesize`` against the fault server (its own process) --
  500s, 429s, 401/403/404, a wrong model, dropped and reset connections, hangs, truncated JSON, HTML bodies,
  empty choices, null content, length cut-offs, an outage mid-run -- then a rerun after the fix;
- ``faults_inputs.py``: >= 150 malformed (and a few awkward but valid) inputs to ``train``, ``evaluate``,
  ``predict``, ``synthesize`` and ``adapt``, each in its own CLI process.

This prints one summary table (faults survived, rows retried vs dropped, bad inputs with a clean error,
tracebacks -- goal 0 --, silent wrong results -- goal 0), then each half's detail, and writes (replaces) the
"Faults and bad input" section of BENCHMARKS.md with the command, date, machine and load average. It exits
1 when either half saw a traceback or a silent wrong result.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import faults_inputs  # noqa: E402
import faults_server  # noqa: E402
from _machine import cpu_model  # noqa: E402
from ray_overhead import replace_section  # noqa: E402

REPO = HERE.parent
SECTION = "## Faults and bad input"
HALVES = ("server", "inputs")
SERVER_NOTE = (
    "Rows dropped in a fault case are answers still unusable after the client's retries (cut, empty, null): "
    "recorded as final drops by reason in the manifest (`ErrorKind.ANSWER`), so the rerun does not redo them; "
    "which case loses a row varies from run to run with the order in which retries meet the every-Nth fault."
)
QUICK_SERVER_CASES = ["500", "401", "truncated-json"]
QUICK_INPUT_COMMANDS = ["synthesize"]  # the only command whose cases need no trained model


def combined(server: dict | None, inputs: dict | None) -> str:
    """The one table the issue asks for: a column per half and a total, '-' where a measure does not apply."""
    na = "-"
    s, i = server or {}, inputs or {}

    def both(key_server: str, key_inputs: str) -> tuple[str, str, str]:
        values = [d[k] for d, k in ((server, key_server), (inputs, key_inputs)) if d]
        return (str(s[key_server]) if server else na, str(i[key_inputs]) if inputs else na, str(sum(values)))

    rows = [
        (
            "faults survived (no traceback, no silent wrong result, the rerun after the fix has records)",
            f"{s['survived']} of {s['cases']}" if server else na,
            na,
            na,
        ),
        (
            "rerun after the fix identical to the healthy run",
            str(s["rerun_same_as_healthy"]) if server else na,
            na,
            na,
        ),
        ("rows retried (failed calls, never recorded as drops)", str(s["rows_retried"]) if server else na, na, na),
        ("rows dropped (answers judged unusable)", str(s["rows_dropped"]) if server else na, na, na),
        (
            "bad inputs with a clean error (names the problem and the file)",
            na,
            f"{i['clean_errors']} of {i['bad_inputs']}" if inputs else na,
            na,
        ),
        (
            "awkward but valid inputs handled",
            na,
            f"{i['valid_inputs_ok']} of {i['inputs'] - i['bad_inputs']}" if inputs else na,
            na,
        ),
        ("unclear messages", na, str(i["unclear_messages"]) if inputs else na, na),
        ("tracebacks (goal 0)", *both("tracebacks", "tracebacks")),
        ("silent wrong results (goal 0)", *both("silent_wrong_results", "silent_wrong")),
    ]
    lines = [
        "| measure | server faults (synthesize) | malformed inputs (5 commands) | total |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {name} | {a} | {b} | {c} |" for name, a, b, c in rows]
    return "\n".join(lines)


def inputs_by_command(rows: list[dict]) -> str:
    """Per command: cases and verdicts (the full per-case table is in the JSON / faults_inputs.py's output)."""
    verdicts = ["clean error", "ok", "unclear message", "refused valid", "traceback", "silent wrong", "timeout"]
    lines = ["| command | cases | " + " | ".join(verdicts) + " |", "| --- | ---: |" + " ---: |" * len(verdicts)]
    for command in faults_inputs.COMMANDS:
        counts = Counter(row["verdict"] for row in rows if row["command"] == command)
        if counts:
            lines.append(
                f"| {command} | {sum(counts.values())} | " + " | ".join(str(counts[v]) for v in verdicts) + " |"
            )
    return "\n".join(lines)


def inputs_not_clean(rows: list[dict]) -> str:
    """The cases whose verdict is neither 'clean error' nor 'ok' (empty when every case passed)."""
    bad = [row for row in rows if row["verdict"] not in ("clean error", "ok")]
    return faults_inputs.format_table(bad) if bad else ""


def section(command: str, started: datetime, seconds: float, results: dict) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    server, inputs = results.get("server"), results.get("inputs")
    parts = [
        SECTION,
        "",
        f"- command: `{command}`",
        f"- date: {started:%Y-%m-%d %H:%M} UTC; {seconds / 60:.0f} min",
        f"- machine: {cpu_model()}, {os.cpu_count()} cores shared with other jobs; load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end",
        "",
        combined(server and server["summary"], inputs and inputs["summary"]),
        "",
    ]
    if server:
        parts += [
            f"### Server faults ({server['summary']['cases']} cases, `benchmarks/faults_server.py`)",
            "",
            faults_server.table(server["rows"]),
            "",
            SERVER_NOTE,
            "",
        ]
    if inputs:
        summary = inputs["summary"]
        parts += [
            f"### Malformed inputs ({summary['inputs']} cases, `benchmarks/faults_inputs.py`)",
            "",
            inputs_by_command(inputs["rows"]),
            "",
            f"Leftover temporary files after failed writes: {summary['leftover_temp_files']}.",
            "",
        ]
        rest = inputs_not_clean(inputs["rows"])
        if rest:
            parts += ["Cases without a clean verdict:", "", rest, ""]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=HALVES, help="run one half only")
    parser.add_argument("--quick", action="store_true", help="smoke run: a few server faults, the synthesize inputs")
    parser.add_argument("--server-cases", help="comma-separated server case names (default: all; --quick: a few)")
    parser.add_argument("--commands", help="comma-separated commands for the input half (default: all five)")
    parser.add_argument("--plots", type=int, default=2, help="demo plots per server-fault run")
    parser.add_argument("--jobs", type=int, default=1, help="input cases run at once")
    parser.add_argument("--workdir", help="keep the input half's files here (default: a temp folder, removed)")
    parser.add_argument("--json", help="write every row and both summaries here")
    parser.add_argument(
        "--markdown", help="replace the section in this file (default: BENCHMARKS.md, except with --quick or --only)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave the Markdown file alone")
    args = parser.parse_args(argv)

    halves = [args.only] if args.only else list(HALVES)
    cases = args.server_cases.split(",") if args.server_cases else (QUICK_SERVER_CASES if args.quick else None)
    commands = args.commands.split(",") if args.commands else (QUICK_INPUT_COMMANDS if args.quick else None)
    started_at, started = datetime.now(UTC), time.perf_counter()
    results: dict[str, dict] = {}
    if "server" in halves:
        print("server faults ...", file=sys.stderr, flush=True)
        rows = faults_server.rows(cases, plots=1 if args.quick else args.plots)
        results["server"] = {"rows": rows, "summary": faults_server.summary(rows)}
    if "inputs" in halves:
        print("malformed inputs ...", file=sys.stderr, flush=True)
        rows = faults_inputs.run_matrix(args.workdir, only=commands, jobs=args.jobs)
        results["inputs"] = {"rows": rows, "summary": faults_inputs.summarize(rows)}
    seconds = time.perf_counter() - started

    command = "python benchmarks/faults.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = section(command.strip(), started_at, seconds, results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    partial = args.quick or args.only or args.server_cases or args.commands
    markdown = args.markdown or (None if partial else str(REPO / "BENCHMARKS.md"))
    if markdown and not args.no_write:  # a partial run does not replace the full run's figures unless asked to
        replace_section(Path(markdown), SECTION, text)
        print(f"updated {markdown} ({SECTION})", file=sys.stderr)
    bad = sum(r["summary"].get("tracebacks", 0) for r in results.values()) + sum(
        r["summary"].get("silent_wrong_results", r["summary"].get("silent_wrong", 0)) for r in results.values()
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
