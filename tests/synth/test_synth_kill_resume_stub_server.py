"""SIGKILL (or Ctrl-C) in the middle of a step, then rerun: the final dataset equals an uninterrupted run's.

The teacher is the deterministic stub server (with a small delay so the kill lands mid-step); the
pipeline runs in a subprocess through the real CLI and LLM layer, with the LLM cache off so that the
resume comes from the step checkpoints alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emopillars.synth.stub_server import start_stub_server

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"


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
    server = start_stub_server(delay=0.01)
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    subprocess.run(_command(server.url, out), check=True, env=ENV, capture_output=True, timeout=300)
    return out


ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _stop_mid_labels(server, out: Path, sig: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(_command(server.url, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    labels = out / "steps" / "labels.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if labels.exists() and len(labels.read_bytes().splitlines()) >= 20:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be stopped"
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    return proc, stderr.decode(errors="replace")


def _check_resume(server, reference: Path, out: Path) -> int:
    labels = out / "steps" / "labels.jsonl"
    done_before = len(labels.read_bytes().splitlines())
    total = sum(1 for _ in (reference / "steps" / "labels.jsonl").open())
    assert 20 <= done_before < total  # really stopped in the middle of the labels step
    assert not (out / "dataset").exists()

    requests_before = server.requests
    rerun = subprocess.run(_command(server.url, out), env=ENV, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    # the rerun asked only for what was missing (labels rows left + later steps), not the whole run again
    reference_calls = json.loads((reference / "manifest.json").read_text())["tokens"]["calls"]
    assert server.requests - requests_before < reference_calls - done_before + 1

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
    _check_resume(server, reference, killed)


def test_ctrl_c_mid_step_says_how_to_resume_and_loses_nothing_stub_server(server, reference, tmp_path):
    stopped = tmp_path / "stopped"
    proc, stderr = _stop_mid_labels(server, stopped, signal.SIGINT)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "rerun the same command to resume" in stderr
    lines = (stopped / "steps" / "labels.jsonl").read_bytes().splitlines()
    assert all(json.loads(line)["id"] for line in lines)  # every line whole: nothing torn by the interrupt
    manifest = json.loads((stopped / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    _check_resume(server, reference, stopped)
