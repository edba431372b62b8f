"""Server faults, a second run on the same folder, a kill while the dataset is rewritten, a full disk, bad folders.

The teacher is the fault server in its own process (emopillars.testing.fault_server: the stub's answers plus
injected faults, changed over HTTP while it runs); the CLI runs in its own process where a signal or a
second process is part of the test, in-process (cli_main) where the test patches the file system. Tests
synchronise on the server's events (a request held) and on files, never on sleeps.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emopillars.cli.main import main as cli_main
from emopillars.testing.fault_server import FaultServerProcess
from emopillars.testing.waiting import wait_for_lines

DEMO = Path(__file__).resolve().parents[2] / "src" / "emopillars" / "synth" / "demo_plots.jsonl"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _args(url: str, out: Path, *extra: str, model: str = "stub") -> list[str]:
    return [
        "synthesize", "--corpus", str(DEMO), "--out", str(out), "--llm", f"openai:{url}#{model}", "--no-cache",
        "--no-progress", "--batch-size", "4", "--max-actors", "2", "--concurrency", "2", *extra,
    ]  # fmt: skip


def _command(url: str, out: Path, *extra: str, model: str = "stub") -> list[str]:
    return [sys.executable, "-m", "emopillars.cli.main", *_args(url, out, *extra, model=model)]


def _run(url: str, out: Path, *extra: str, model: str = "stub") -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(url, out, *extra, model=model), env=ENV, capture_output=True, text=True, timeout=600
    )


def _dataset(out: Path) -> dict[str, list[str]]:
    return {str(p.relative_to(out)): p.read_text().splitlines() for p in sorted((out / "dataset").rglob("*.jsonl"))}


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def server():
    with FaultServerProcess() as server:
        yield server


@pytest.fixture
def faults(server):
    """The server, healthy at the start and the end of the test."""
    server.heal()
    yield server
    server.heal()


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    server.heal()
    run = _run(server.url, out)
    assert run.returncode == 0, run.stderr[-2000:]
    return out


# ---- failed calls are never drops ------------------------------------------------------------------
def test_a_refused_key_is_never_recorded_stops_nonzero_and_a_rerun_after_the_fix_completes(
    faults, reference, tmp_path
):
    out = tmp_path / "run"
    faults.set_rules([{"fault": "status", "status": 401, "step": "labels"}])
    run = _run(faults.url, out)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "401" in run.stderr and "rerun the same command to resume" in run.stderr
    manifest = _manifest(out)
    assert manifest["status"] == "failed" and manifest["error"]["kind"] in ("fatal", "transient")
    assert not any(reason.startswith("labels.") for reason in manifest["drops"])  # no drop: the call failed
    assert sum(manifest["steps"]["labels"]["call_failures"].values()) > 0
    assert manifest["call_failures"]["rows_without_answer"] > 0
    assert _lines(out / "steps" / "labels.jsonl") == []

    faults.heal()  # the key is fixed
    rerun = _run(faults.url, out)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _dataset(out) == _dataset(reference) and _manifest(out)["status"] == "complete"


def test_an_outage_in_the_middle_of_a_step_keeps_what_landed_and_a_rerun_completes(faults, reference, tmp_path):
    out = tmp_path / "run"
    faults.set_rules([{"fault": "status", "status": 401, "step": "labels", "after": 10}])
    run = _run(faults.url, out)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    kept = _lines(out / "steps" / "labels.jsonl")
    assert len(kept) == 10 and not any(entry["drop"] for entry in kept)
    faults.heal()
    rerun = _run(faults.url, out)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _dataset(out) == _dataset(reference)
    assert _manifest(out)["steps"]["labels"]["resumed_rows"] == 10


def test_a_hung_request_does_not_hold_back_its_batch_and_timeout_bounds_it(faults, reference, tmp_path):
    """One labels request never answers: the other answers of its batch reach the checkpoint meanwhile; with
    --timeout the hung request is retried and the run completes with the reference dataset."""
    out = tmp_path / "run"
    faults.set_rules([{"fault": "hang", "step": "labels", "after": 3, "limit": 1}])
    proc = subprocess.Popen(
        _command(faults.url, out, "--batch-size", "8", "--concurrency", "8", "--timeout", "600"),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        faults.wait_held(1)
        assert wait_for_lines(out / "steps" / "labels.jsonl", 7, proc) >= 7  # landed while one request hangs
        assert proc.poll() is None and faults.stats()["held"] == 1
        faults.release()  # the hung connection is dropped: the client retries the request
        _, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert _dataset(out) == _dataset(reference)

    timed = tmp_path / "timed"
    faults.set_rules([{"fault": "hang", "step": "labels", "every": 40}])  # never released: only --timeout helps
    run = _run(faults.url, timed, "--timeout", "1")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _dataset(timed) == _dataset(reference) and faults.stats()["faults"]["hang"] >= 2


# ---- one run per folder -------------------------------------------------------------------------------
def test_a_second_run_on_the_same_folder_is_refused_while_the_first_runs(faults, reference, tmp_path):
    out = tmp_path / "run"
    faults.set_rules([{"fault": "block", "step": "actors"}])
    first = subprocess.Popen(_command(faults.url, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        faults.wait_held(1)  # the first run holds the folder and waits for the server
        second = _run(faults.url, out)
        assert second.returncode != 0 and "Traceback" not in second.stderr
        assert f"in use by another synthesize run (pid {first.pid}" in second.stderr
        faults.heal()
        _, stderr = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr.decode()[-2000:]
    assert _dataset(out) == _dataset(reference)
    for step in ("actors", "utterances", "labels"):
        ids = [entry["id"] for entry in _lines(out / "steps" / f"{step}.jsonl")]
        assert len(ids) == len(set(ids)), step  # no row done twice


def test_a_killed_run_leaves_no_stale_lock(faults, reference, tmp_path):
    out = tmp_path / "run"
    faults.set_rules([{"fault": "block", "step": "actors"}])
    killed = subprocess.Popen(_command(faults.url, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    faults.wait_held(1)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert (out / ".lock").exists()
    faults.heal()
    run = _run(faults.url, out)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _dataset(out) == _dataset(reference)


# ---- the manifest is written last ---------------------------------------------------------------------
PAUSE_IN_DATASET = """
import sys, threading
import emopillars.synth.dataset as dataset
real, calls = dataset.atomic_write_text, []
def paused(path, text):
    calls.append(path)
    if len(calls) == 3:  # two split files rewritten, the third not yet: stop here until killed
        print("PAUSED", flush=True)
        threading.Event().wait()
    return real(path, text)
dataset.atomic_write_text = paused
from emopillars.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_killing_a_rerun_while_it_rewrites_the_dataset_never_leaves_complete_beside_missing_files(
    faults, reference, tmp_path
):
    out = tmp_path / "run"
    shutil.copytree(reference, out)  # a finished run
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSE_IN_DATASET, *_args(faults.url, out)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "PAUSED"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert _manifest(out)["status"] == "running"  # not "complete"
    assert _dataset(out) == _dataset(reference)  # and the previous dataset is still whole
    run = _run(faults.url, out)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _manifest(out)["status"] == "complete" and _dataset(out) == _dataset(reference)
    assert not list(out.glob(".dataset.*"))  # the killed run's temporary folder is gone


# ---- the disk, the folder ---------------------------------------------------------------------------------
def test_a_full_disk_is_one_clear_message_with_no_traceback_and_no_temporary_files(
    faults, reference, tmp_path, monkeypatch, capsys
):
    """The disk fills up while the dataset is written: every later fsync fails with ENOSPC (the manifest's
    too). One error line, exit 2, no leftover temporary file, the manifest not "complete"; after space is
    freed the same command finishes the run."""
    import emopillars.synth.pipeline as pipeline

    full = {"now": False}
    real_fsync, real_write = os.fsync, pipeline.write_dataset

    def fsync(fd):
        if full["now"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    def write_dataset(*args, **kwargs):
        full["now"] = True
        return real_write(*args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(pipeline, "write_dataset", write_dataset)
    out = tmp_path / "run"
    assert cli_main(_args(faults.url, out)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "During handling" not in err
    errors = [line for line in err.splitlines() if line.startswith("emopillars synthesize: error:")]
    assert len(errors) == 1 and "the disk is full" in errors[0] and "rerun the same command" in errors[0]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".dataset.")]
    assert _manifest(out)["status"] != "complete"

    monkeypatch.setattr(os, "fsync", real_fsync)  # space freed
    full["now"] = False
    assert cli_main(_args(faults.url, out)) == 0
    assert _dataset(out) == _dataset(reference)


def test_out_pointing_at_a_file_is_a_clear_error(faults, tmp_path, capsys):
    target = tmp_path / "taken.txt"
    target.write_text("not a folder")
    assert cli_main(_args(faults.url, target)) == 2
    err = capsys.readouterr().err
    assert "is an existing file, not a folder" in err and "Traceback" not in err
    assert target.read_text() == "not a folder"


# ---- what a run tells its user -------------------------------------------------------------------------
NO_POSITIVE = json.dumps({"emotions": [{"emotion": "joy", "level": 0.1}]})


def test_a_run_that_produces_nothing_exits_nonzero_naming_the_top_reason(faults, tmp_path):
    out = tmp_path / "run"
    faults.set_rules([{"fault": "content", "step": "labels", "content": NO_POSITIVE}])
    run = _run(faults.url, out)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "produced no records" in run.stderr and "labels.no_positive_label" in run.stderr
    manifest = _manifest(out)
    assert manifest["status"] == "failed" and manifest["error"]["kind"] == "empty" and manifest["records"] == 0


def test_a_run_that_lost_most_rows_to_one_reason_warns_loudly(faults, tmp_path):
    out = tmp_path / "run"
    faults.set_rules([{"fault": "content", "step": "labels", "after": 6, "content": NO_POSITIVE}])
    run = _run(faults.url, out)
    assert run.returncode == 0, run.stderr[-2000:]
    warning = [line for line in run.stderr.splitlines() if line.startswith("WARNING: step labels dropped")]
    assert warning and "no_positive_label" in warning[0]
    assert any("no_positive_label" in line for line in _manifest(out)["warnings"])


def test_credentials_in_the_llm_url_never_reach_files_or_output(faults, tmp_path, capsys):
    secret = "S3CRET-KEY-42"
    url = faults.url.replace("http://", f"http://user:{secret}@")
    out = tmp_path / "run"
    args = _args(url, out, "--plots", "1", "--max-actors", "1")
    assert cli_main(args) == 0
    printed = capsys.readouterr()
    for path in (out / "config.json", out / "manifest.json"):
        assert secret not in path.read_text(), path
    assert secret not in printed.out + printed.err
    assert "://***@127.0.0.1" in (out / "config.json").read_text()
    # a rerun with another key is the same run (the key is not part of what the run produces)
    assert cli_main(_args(url.replace(secret, "OTHER"), out, "--plots", "1", "--max-actors", "1")) == 0
    dead = f"http://user:{secret}@127.0.0.1:9/v1"
    assert cli_main(_args(dead, tmp_path / "dead")) == 2
    printed = capsys.readouterr()
    assert secret not in printed.out + printed.err
