"""Bad input files through the real CLI: one clear line naming the file (and line), exit 2, no traceback.

These fail while reading the data, before any model is loaded, so they need no model.
"""

from __future__ import annotations

import json

import pytest

from emopillars.cli.main import main


def _run(capsys, argv):
    code = main([str(part) for part in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def _synthetic_record(record_id: str, plot: str = "p1") -> dict:
    return {
        "record_id": record_id,
        "plot_id": plot,
        "actor_id": f"{plot}/a1",
        "actor": "Ann",
        "utterance": f"I finally got the letter ({record_id}).",
        "labels": {"joy": 0.9},
        "positive_labels": ["joy"],
        "split": "train",
        "provenance": {"model": "stub"},
    }


def test_train_out_pointing_at_a_file_is_refused_before_anything_is_read(tmp_path, capsys):
    out = tmp_path / "model.bin"
    out.write_bytes(b"precious")
    # the training file does not even exist: the --out check comes first, before data or model
    code, err = _run(capsys, ["train", "--train", tmp_path / "missing.tsv", "--out", out])
    assert code == 2 and "--out" in err and "existing file" in err
    assert out.read_bytes() == b"precious"
    code, err = _run(capsys, ["train", "--train", tmp_path / "missing.tsv", "--out", out / "sub"])
    assert code == 2 and "is a file" in err


def test_evaluate_report_pointing_at_a_file_is_refused(tmp_path, capsys):
    report = tmp_path / "report"
    report.write_text("x")
    code, err = _run(capsys, ["evaluate", "--model", tmp_path, "--data", tmp_path / "d.tsv", "--report", report])
    assert code == 2 and "--report" in err and "existing file" in err


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_duplicate_goemotions_ids_name_the_id_and_both_lines(command, tmp_path, capsys, rows):
    data = tmp_path / "dup.tsv"
    data.write_text(rows(5) + "Hello again\t27\tc1\n", encoding="utf-8")
    argv = {
        "train": ["train", "--train", data, "--out", tmp_path / "m"],
        "evaluate": ["evaluate", "--model", tmp_path / "m", "--data", data, "--report", tmp_path / "r"],
    }[command]
    code, err = _run(capsys, argv)
    assert code == 2
    assert f"{data}, line 6" in err and "duplicate id 'c1'" in err and "first on line 2" in err


def test_duplicate_synthetic_record_ids_are_refused_in_train(tmp_path, capsys):
    data = tmp_path / "synthetic.jsonl"
    records = [_synthetic_record("r1"), _synthetic_record("r2"), _synthetic_record("r1", plot="p2")]
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    code, err = _run(capsys, ["train", "--train", data, "--out", tmp_path / "m"])
    assert code == 2 and "line 3" in err and "duplicate id 'r1'" in err and "first on line 1" in err


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_5_mb_text_field_is_a_clear_error_with_file_and_line(command, tmp_path, capsys, rows):
    data = tmp_path / "huge.tsv"
    data.write_text(rows(3) + '"' + "a" * 5_000_000 + '"\t27\tbig\n', encoding="utf-8")
    argv = {
        "train": ["train", "--train", data, "--format", "goemotions", "--out", tmp_path / "m"],
        "evaluate": ["evaluate", "--model", tmp_path / "m", "--data", data, "--report", tmp_path / "r"],
    }[command]
    code, err = _run(capsys, argv)
    assert code == 2 and f"{data}, line 4" in err and "csv field limit" in err
    assert "_csv.Error" not in err


@pytest.mark.parametrize("command", ["train", "predict"])
def test_non_utf8_input_names_the_file_and_line(command, tmp_path, capsys, rows):
    data = tmp_path / "latin1.txt" if command == "predict" else tmp_path / "latin1.tsv"
    data.write_bytes(rows(2).encode() + "Caf\u00e9 au lait\t0\tc9\n".encode("latin-1"))
    argv = {
        "train": ["train", "--train", data, "--out", tmp_path / "m"],
        "predict": ["predict", "--model", tmp_path / "m", "--input", data],
    }[command]
    code, err = _run(capsys, argv)
    assert code == 2 and f"{data}, line 3" in err and "not valid UTF-8" in err


def test_predict_input_directory_says_it_is_a_directory(tmp_path, capsys):
    code, err = _run(capsys, ["predict", "--model", tmp_path, "--input", tmp_path])
    assert code == 2 and "is a directory" in err and "does not exist" not in err


def test_predict_missing_input_says_it_does_not_exist(tmp_path, capsys):
    code, err = _run(capsys, ["predict", "--model", tmp_path, "--input", tmp_path / "nope.txt"])
    assert code == 2 and "nope.txt does not exist" in err


def test_evaluate_plain_text_without_labels_is_refused(tmp_path, capsys):
    data = tmp_path / "texts.jsonl"
    data.write_text('{"text": "no label here"}\n', encoding="utf-8")
    code, err = _run(capsys, ["evaluate", "--model", tmp_path, "--data", data, "--report", tmp_path / "r"])
    assert code == 2 and "label" in err


def test_python_dash_m_cli_reports_user_errors_cleanly(tmp_path):
    """``python -m emopillars.cli.main`` runs main.py as __main__: its CLIError must still be the one raised."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import emopillars

    out = tmp_path / "a_file"
    out.write_text("x")
    env = {**os.environ, "PYTHONPATH": str(Path(emopillars.__file__).parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "emopillars.cli.main", "train", "--train", "t.tsv", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "existing file" in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
