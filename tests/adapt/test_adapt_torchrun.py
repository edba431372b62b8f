"""``emopillars adapt`` under ``torchrun --nproc_per_node 2`` (gloo, CPU) on a tiny task with a real MiniLM: both
ranks train, rank 0 alone scores and writes (task.yaml, run key, model folder, metrics.json, result.json), rank 1
changes nothing under the output folder (checked with Python audit events, see ``record_writes.py``), and only
rank 0 prints the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_adapt_suite import _task_yaml, _write_rows

RECORDER = Path(__file__).with_name("record_writes.py")


def test_adapt_under_torchrun_writes_from_rank_0_only(tmp_path, minilm_path):
    data = tmp_path / "data"
    data.mkdir()
    for split, rows, seed in (("train", 32, 1), ("dev", 12, 2), ("test", 12, 3)):
        _write_rows(data / f"{split}.csv", rows, seed, multi=True)
    task = tmp_path / "tiny_ml.yaml"
    _task_yaml(task, "tiny_ml", "official", {s: str(data / f"{s}.csv") for s in ("train", "dev", "test")}, True)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2] / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(RECORDER)]
    command += [str(out), str(tmp_path / "changes"), "--", "adapt", "--task", str(task), "--from", minilm_path]
    command += ["--out", str(out), "--epochs", "1", "--max-length", "24", "--seed", "7"]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]

    assert run.stdout.count("task tiny_ml from") == 1  # rank 0 alone reports
    result = json.loads((out / "result.json").read_text())
    assert result["runs"]["run_0"]["n_train"] == 32 and result["runs"]["run_0"]["n_report"] == 12
    assert (out / "run_0" / "model" / "adapted_task.json").is_file()
    assert not (out / "run_0" / "model" / "checkpoint").exists()
    saved = json.loads((out / "run_0" / "metrics.json").read_text())
    assert saved["summary"]["metrics"] == result["runs"]["run_0"]["metrics"]

    rank0 = json.loads((tmp_path / "changes.0.json").read_text())
    rank1 = json.loads((tmp_path / "changes.1.json").read_text())
    assert rank1 == []  # rank 1 trained but wrote, renamed and removed nothing under --out
    touched = {Path(path).name for _, path in rank0}
    assert {"result.json", "metrics.json", "task.yaml", "run_key.txt", "adapted_task.json"} <= touched, touched
    assert (out / "run_0" / "model" / "model.safetensors").is_file()  # written by safetensors' Rust code: no event
