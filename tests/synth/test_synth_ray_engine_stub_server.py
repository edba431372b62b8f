"""The Ray Data engine in Ray's local mode (2 CPUs) against the deterministic stub and fault servers.

One Ray instance serves the whole module (starting Ray costs tens of seconds on a loaded 2-core machine);
the killed run is a separate driver process joining it with ``--ray-address``, as a user's would. No
test waits on time: the fault server HOLDS the labels requests after the 24th until the test has killed
the driver, so the kill always lands in the middle of the labels step.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emopillars.synth import SynthesisConfig, SynthesisError, synthesize
from emopillars.synth.engines import load_engine
from emopillars.testing.fault_server import FaultServerProcess
from emopillars.testing.stub_server import start_stub_server
from emopillars.testing.waiting import wait_for_lines

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'emopillars[ray]' (make setup does)")

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"
STEPS = ("actors", "utterances", "labels", "context", "cleaning", "rewriting")
HOLD_LABELS_AFTER = 24


@pytest.fixture(scope="module")
def ray_local():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 1024**2, logging_level="WARNING")
        ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def stub():
    server = start_stub_server()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def faults():
    with FaultServerProcess() as server:
        yield server


def _config(out: Path, url: str, **kw) -> SynthesisConfig:
    options = dict(
        corpus=str(DEMO), out_dir=str(out), llm=f"openai:{url}#stub", cache=False, progress=False, max_actors=2,
        batch_size=4, concurrency=2,
    )  # fmt: skip
    options.update(kw)
    return SynthesisConfig(**options)


def _dataset(out: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(out)): p.read_text().splitlines() for p in sorted((out / "dataset").rglob("*.jsonl"))}


def _step_ids(out: Path, step: str) -> list[str]:
    return [json.loads(line)["id"] for line in (out / "steps" / f"{step}.jsonl").read_text().splitlines()]


def _dead_url() -> str:
    """An address nothing listens on (a port just released by the kernel)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def reference(stub, tmp_path_factory):
    """The local engine's run: what every Ray run below must reproduce."""
    out = tmp_path_factory.mktemp("local") / "run"
    manifest = synthesize(_config(out, stub.url))
    assert manifest["status"] == "complete" and manifest["records"] > 50
    return out


def test_ray_run_gives_the_local_runs_records_stub_server(ray_local, stub, reference, tmp_path):
    out = tmp_path / "ray"
    manifest = synthesize(_config(out, stub.url), engine=load_engine("ray"))
    assert manifest["status"] == "complete"
    assert _dataset(out) == _dataset(reference)  # byte for byte: records, splits, provenance
    for step in STEPS:  # same rows checkpointed once each (the order of lines may differ: batches land as they finish)
        assert sorted(_step_ids(out, step)) == sorted(_step_ids(reference, step)), step
    local = json.loads((reference / "manifest.json").read_text())
    assert manifest["tokens"] == local["tokens"] and manifest["drops"] == local["drops"]
    assert manifest["runs"][-1]["engine"] == "ray" and local["runs"][-1]["engine"] == "local"
    metrics = manifest["llm_metrics"]
    assert metrics["engine"] == "ray" and metrics["requests"] == local["tokens"]["calls"]


def test_dead_endpoint_among_several_loses_nothing_stub_server(ray_local, stub, faults, reference, tmp_path):
    """Three endpoints: one refuses connections from the start, one (the fault server) starts answering HTTP 503
    after its 40th request, mid-run. The run completes on what is left, with the local run's records."""
    dead = _dead_url()
    faults.set_rules([{"fault": "status", "status": 503, "after": 40}])
    try:
        engine = load_engine("ray", endpoints=[dead, f"openai:{faults.url}#stub"])
        manifest = synthesize(_config(tmp_path / "ray", stub.url), engine=engine)
    finally:
        failed_there = faults.stats()
        faults.heal()
    assert manifest["status"] == "complete"
    assert _dataset(tmp_path / "ray") == _dataset(reference)
    metrics = manifest["llm_metrics"]
    assert metrics["dead_at_start"] == [dead]
    assert len(metrics["endpoints"]) == 2  # the dead one was left out before any call
    by_endpoint = metrics["answers_by_endpoint"]
    assert by_endpoint[f"openai:{stub.url}#stub"] > 0 and by_endpoint[f"openai:{faults.url}#stub"] == 40
    assert sum(failed_there["faults"].values()) > 0 and metrics["failovers"] > 0  # calls moved to the live one
    assert manifest["call_failures"]["rows_without_answer"] == 0


def test_no_live_endpoint_is_a_clear_error_before_ray_starts(tmp_path):
    engine = load_engine("ray", endpoints=[_dead_url()])
    with pytest.raises(SynthesisError, match="no endpoint of the teacher is available") as caught:
        synthesize(_config(tmp_path / "run", _dead_url()), engine=engine)
    assert str(caught.value).count("unreachable") == 2  # both endpoints named, with why


def _cli(url: str, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "emopillars.cli.main", "synthesize", "--corpus", str(DEMO), "--out", str(out),
        "--llm", f"openai:{url}#stub", "--no-cache", "--no-progress", "--batch-size", "4", "--max-actors", "2",
        "--concurrency", "2", *extra,
    ]  # fmt: skip


def test_ray_run_killed_mid_step_resumes_on_ray_and_locally_fault_server(ray_local, faults, reference, tmp_path):
    killed = tmp_path / "killed"
    faults.set_rules([{"fault": "block", "step": "labels", "after": HOLD_LABELS_AFTER}])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        _cli(faults.url, killed, "--engine", "ray", "--ray-address", ray_local),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        faults.wait_held(1, timeout=600)  # inside the labels step, which cannot finish before the kill
        wait_for_lines(killed / "steps" / "labels.jsonl", 8, proc, timeout=600)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        faults.heal()
    assert proc.returncode == -signal.SIGKILL
    done_before = len(_step_ids(killed, "labels"))
    assert 8 <= done_before < len(_step_ids(reference, "labels"))
    assert not (killed / "dataset").exists()

    on_ray, locally = tmp_path / "on_ray", tmp_path / "locally"
    shutil.copytree(killed, on_ray)
    shutil.copytree(killed, locally)
    resumed = {
        "ray": synthesize(_config(on_ray, faults.url), engine=load_engine("ray")),
        "local": synthesize(_config(locally, faults.url)),
    }
    for name, out in (("ray", on_ray), ("local", locally)):
        manifest = resumed[name]
        assert manifest["status"] == "complete", name
        assert manifest["steps"]["labels"]["resumed_rows"] == done_before, name
        assert _dataset(out) == _dataset(reference), name  # nothing lost
        for step in STEPS:
            ids = _step_ids(out, step)
            assert len(ids) == len(set(ids)), (name, step)  # nothing duplicated
            assert sorted(ids) == sorted(_step_ids(reference, step)), (name, step)


def test_ray_options_without_the_ray_engine_are_refused(tmp_path, capsys):
    from emopillars.cli.main import main

    code = main(["synthesize", "--corpus", str(DEMO), "--out", str(tmp_path / "x"), "--ray-address", "auto"])
    assert code != 0
    assert "--engine ray" in capsys.readouterr().err
