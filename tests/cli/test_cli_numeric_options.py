"""Every numeric option refuses 0, negative or non-numbers at the argparse level, naming the option."""

from __future__ import annotations

import pytest

from emopillars.cli.main import main

BASE = {
    "train": ["train", "--train", "t.tsv", "--out", "m"],
    "evaluate": ["evaluate", "--model", "m", "--data", "d.tsv", "--report", "r"],
    "predict": ["predict", "--model", "m", "--text", "hi"],
    "adapt": ["adapt", "--task", "isear", "--out", "o"],
    "benchmark": ["benchmark", "suite.yaml"],
}
CASES = [
    ("train", "--epochs", "0"),
    ("train", "--batch-size", "0"),
    ("train", "--batch-size", "-4"),
    ("train", "--grad-accum", "0"),
    ("train", "--limit", "0"),
    ("train", "--dev-limit", "-1"),
    ("train", "--max-length", "4"),
    ("train", "--lr", "0"),
    ("train", "--lr", "nan"),
    ("train", "--head-lr", "2"),
    ("train", "--pos-weight", "-1"),
    ("train", "--seed", "-1"),
    ("train", "--threads", "0"),
    ("train", "--epochs", "three"),
    ("evaluate", "--batch-size", "0"),
    ("evaluate", "--limit", "0"),
    ("evaluate", "--limit", "-5"),
    ("evaluate", "--threads", "0"),
    ("predict", "--batch-size", "0"),
    ("predict", "--batch-size", "1.5"),
    ("adapt", "--epochs", "0"),
    ("adapt", "--limit", "0"),
    ("adapt", "--batch-size", "0"),
    ("adapt", "--max-length", "0"),
    ("adapt", "--lr", "0"),
    ("adapt", "--lr", "1.5"),
    ("adapt", "--seed", "-3"),
    ("benchmark", "--limit", "0"),
    ("benchmark", "--epochs", "-1"),
]


@pytest.mark.parametrize(("command", "option", "value"), CASES)
def test_bad_number_is_a_usage_error_naming_the_option(command, option, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*BASE[command], option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and "Traceback" not in err
    assert "range() arg" not in err
