"""SIGKILL, Ctrl-C or SIGTERM in the middle of a step, then rerun: the final dataset equals an uninterrupted run's.

The teacher is the fault server in its own process (deterministic stub answers); the pipeline runs in a
subprocess through the real CLI and LLM layer, with the LLM cache off so that the resume comes from the
step checkpoints alone. No race with the machine's load: the server HOLDS every labels request after the
24th until the test has sent its signal, so the run is always stopped in the middle of the labels step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emopillars.testing.fault_server import FaultServerProcess
from emopillars.testing.waiting import wait_for_lines

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
HOLD_LABELS_AFTER = 24


def _command(url: str, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "emopillars.cli.main", "synthesize", "--corpus", str(DEMO), "--out", str(out),
        "--llm", f"openai:{url}#stub", "--no-cache", "--no-progress", "--batch-size", "4", "--max-actors", "2",
        "--concurrency", "2",
    ]  # fmt: skip


def _dataset(out: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(out)): p.read_text().splitlines() for p in sorted((out / "dataset").rglob("*.jsonl"))}


@pytest.fixture(scope="module")
def server():
    with FaultServerProcess() as server:
        yield server


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    server.heal()
    run = subprocess.run(_command(server.url, out), env=ENV, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return out


def _stop_mid_labels(server, out: Path, sig: int) -> tuple[subprocess.Popen, str]:
    server.set_rules([{"fault": "block", "step": "labels", "after": HOLD_LABELS_AFTER}])
    proc = subprocess.Popen(
        _command(server.url, out),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # the worst case, whoever runs the tests: a command started in the background by a script (`cmd &`)
        # inherits SIGINT ignored; the CLI must still stop on it (before that was handled, the run finished)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        server.wait_held(1)  # the run is inside the labels step and cannot finish before the signal
        wait_for_lines(out / "steps" / "labels.jsonl", 20, proc)
        proc.send_signal(sig)
        if sig != signal.SIGKILL:
            # the held requests are released once the signal is sent: the run must still stop with the
            # signal's exit code (not finish), and never waits on a server held for the test's sake
            server.heal()
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.heal()
    return proc, stderr.decode(errors="replace")


def _check_resume(server, reference: Path, out: Path) -> int:
    labels = out / "steps" / "labels.jsonl"
    done_before = len(labels.read_bytes().splitlines())
    total = sum(1 for _ in (reference / "steps" / "labels.jsonl").open())
    assert 20 <= done_before < total  # really stopped in the middle of the labels step
    assert not (out / "dataset").exists()

    requests_before = server.stats()["requests"]
    rerun = subprocess.run(_command(server.url, out), env=ENV, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    # the rerun asked only for what was missing (labels rows left + later steps), not the whole run again
    reference_calls = json.loads((reference / "manifest.json").read_text())["tokens"]["calls"]
    assert server.stats()["requests"] - requests_before < reference_calls - done_before + 1

    assert _dataset(out) == _dataset(reference)
    ids = [
        json.loads(line)["record_id"]
        for path in (out / "dataset" / "orig").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert ids and len(ids) == len(set(ids))
    for step in ("actors", "utterances", "labels", "context", "cleaning", "rewriting"):
        lines = (out / "steps" / f"{step}.jsonl").read_text().splitlines()
        step_ids = [json.loads(line)["id"] for line in lines]
        assert len(step_ids) == len(set(step_ids)), step
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["steps"]["labels"]["resumed_rows"] == done_before
    return done_before


def test_sigkill_mid_step_then_resume_gives_same_dataset_stub_server(server, reference, tmp_path):
    killed = tmp_path / "killed"
    proc, _ = _stop_mid_labels(server, killed, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((killed / "manifest.json").read_text())["status"] == "running"  # never a stale "complete"
    _check_resume(server, reference, killed)


@pytest.mark.parametrize(
    "sig,code,says",
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "stopped by SIGTERM"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_or_sigterm_mid_step_says_how_to_resume_and_loses_nothing_stub_server(
    server, reference, tmp_path, sig, code, says
):
    stopped = tmp_path / "stopped"
    proc, stderr = _stop_mid_labels(server, stopped, sig)
    assert proc.returncode == code, stderr[-2000:]
    assert "Traceback" not in stderr and says in stderr and "rerun the same command to resume" in stderr
    lines = (stopped / "steps" / "labels.jsonl").read_bytes().splitlines()
    assert all(json.loads(line)["id"] for line in lines)  # every line whole: nothing torn by the signal
    manifest = json.loads((stopped / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["error"]["signal"] == ("SIGTERM" if sig == signal.SIGTERM else "SIGINT")
    _check_resume(server, reference, stopped)
