"""benchmarks/gpu_figures.py with ``--smoke`` (tiny configs, CPU): every part runs, the JSON feeds the planner.

The figures of a smoke run mean nothing about a GPU; this checks that the prepared script works before a
GPU machine is lent for it, and that its output is labelled as a smoke figure.
"""

from __future__ import annotations

import json

import pytest

from emopillars.cli.main import main as cli_main


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, benchmark_script):
    module = benchmark_script("gpu_figures")
    path = tmp_path_factory.mktemp("gpu") / "BENCHMARK.json"
    assert module.main(["--smoke", "--json", str(path)]) == 0
    return path, json.loads(path.read_text())


def test_smoke_run_measures_all_three_parts(smoke):
    _, results = smoke
    assert results["smoke"] is True
    rows = results["generation"]["rows"]
    assert [row["batch_size"] for row in rows] == [1, 2]
    assert all(row["new_tokens"] == 8 and row["generated_tokens_per_s"] > 0 for row in rows)
    roberta = results["roberta"]
    assert roberta["pad_to_max"]["mean_padded_length"] == 128
    assert roberta["dynamic"]["mean_padded_length"] < 128  # dynamic padding pads to the batch's longest only
    assert roberta["dynamic"]["train_examples_per_s"] > 0 and roberta["pad_to_max"]["inference_examples_per_s"] > 0
    variants = results["train"]["variants"]
    assert set(variants) == {"bf16", "fp16 + gradient checkpointing + accumulation 2"}
    for row in variants.values():
        assert {"model.safetensors", "thresholds.json", "train_summary.json"} <= set(row["files"])
        assert row["train_examples_per_s"] > 0


def test_smoke_figure_is_labelled_and_feeds_the_planner(smoke, capsys):
    path, results = smoke
    assert results["planner"]["label"].startswith("SMOKE")
    assert cli_main(["plan", "--records", "1000", "--from", str(path)]) == 0
    out = capsys.readouterr().out
    assert "SMOKE" in out and "| this run | 1,000 |" in out


def test_without_a_gpu_the_full_run_refuses(tmp_path, capsys, benchmark_script):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the full run would start")
    module = benchmark_script("gpu_figures", "gpu_figures_refuse")
    assert module.main(["--json", str(tmp_path / "x.json")]) == 2
    assert "--smoke" in capsys.readouterr().err
