"""Outputs of predict / evaluate / train with a tiny real model: written where asked, whole or not at all."""

from __future__ import annotations

import errno
import json
import os

import pytest

from emopillars import files
from emopillars.cli.main import main


def _no_temp_files(folder) -> list[str]:
    return [str(p) for p in folder.rglob("*.tmp")]


def test_predict_text_with_output_writes_the_file(tiny_model, tmp_path, capsys):
    out = tmp_path / "deep" / "pred.jsonl"
    assert main(["predict", "--model", str(tiny_model), "--text", "I love this!", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1 and rows[0]["text"] == "I love this!" and len(rows[0]["scores"]) == 28
    assert capsys.readouterr().out == ""  # the prediction went to the file, not to stdout


def test_predict_input_with_bom_keeps_no_bom_in_the_first_text(tiny_model, tmp_path, capsys):
    data = tmp_path / "texts.txt"
    data.write_bytes("\ufeffHello there\n\nSecond line\n".encode())
    assert main(["predict", "--model", str(tiny_model), "--input", str(data)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"] for row in rows] == ["Hello there", "Second line"]
    assert [row["id"] for row in rows] == ["1", "3"]


def test_evaluate_limit_evaluates_exactly_that_many(tiny_model, tiny_data, tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["evaluate", "--model", str(tiny_model), "--data", str(tiny_data["test"]), "--report", str(report),
                 "--limit", "3"]) == 0  # fmt: skip
    assert json.loads((report / "metrics.json").read_text())["n_examples"] == 3
    assert json.loads(capsys.readouterr().out)["n_examples"] == 3


@pytest.fixture()
def disk_full(monkeypatch):
    """ENOSPC injected where every atomic write flushes its data (a real full disk needs a mount; see
    benchmarks/faults_inputs.py for that)."""

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)


def test_predict_output_on_a_full_disk_injected_enospc(tiny_model, tmp_path, capsys, disk_full):
    data = tmp_path / "texts.txt"
    data.write_text("one\ntwo\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main(["predict", "--model", str(tiny_model), "--input", str(data), "--output", str(out_dir / "p.jsonl")])
    err = capsys.readouterr().err
    assert code == 1 and "no space left" in err and "p.jsonl" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []  # neither a partial file nor a temporary one


def test_evaluate_report_on_a_full_disk_injected_enospc(tiny_model, tiny_data, tmp_path, capsys, disk_full):
    report = tmp_path / "report"
    code = main(["evaluate", "--model", str(tiny_model), "--data", str(tiny_data["test"]), "--report", str(report)])
    err = capsys.readouterr().err
    assert code == 1 and "no space left" in err and str(report) in err and "Traceback" not in err
    assert err.count("emopillars evaluate: error") == 1 and "OSError" not in err  # one line, no chain
    assert _no_temp_files(report) == [] and not (report / "metrics.json").exists()


def test_train_on_a_full_disk_injected_enospc(tiny_data, minilm_path, tmp_path, capsys, disk_full):
    out = tmp_path / "model"
    code = main(["train", "--train", str(tiny_data["train"]), "--out", str(out), "--model", minilm_path,
                 "--epochs", "1", "--max-length", "16", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "no space left" in err and "Traceback" not in err
    assert _no_temp_files(out) == []


def test_a_full_disk_reported_in_a_librarys_own_words_is_recognised(tmp_path):
    from argparse import Namespace

    from emopillars.cli.main import disk_full

    args = Namespace(out=str(tmp_path / "model"))
    safetensors_style = RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")
    assert "no space left" in disk_full(safetensors_style, args) and str(tmp_path / "model") in disk_full(
        safetensors_style, args
    )
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "model" / "x.bin"))
        except OSError as inner:
            raise RuntimeError("basic_ios::clear: iostream error") from inner
    except RuntimeError as chained:
        assert "x.bin" in disk_full(chained, args)
    assert disk_full(RuntimeError("shape mismatch"), args) is None  # plenty of space: a real bug stays one
