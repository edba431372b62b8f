"""The cost planner against hand-computed cases, a real run's manifest, and the paper's own figures."""

from __future__ import annotations

import json

import pytest

from emopillars.cli.main import main
from emopillars.plan import BUILTIN_SHAPE, PAPER, RecordShape, Throughput, load_shape, plan_run
from emopillars.plan.shape import Part

# Hand-made shape: every record 1 call (100 prompt, 10 completion tokens); a record with a context 3 more calls
# (300 prompt, 60 completion tokens in all).
SHAPE = RecordShape(Part(1, 100, 10), Part(3, 300, 60), context_share=0.25, records=8, source="hand")


def _manifest(records=10, context_inputs=4) -> dict:
    steps = {
        "actors": {"calls": 2, "prompt_tokens": 400, "completion_tokens": 40, "inputs": 2},
        "utterances": {"calls": 3, "prompt_tokens": 900, "completion_tokens": 300, "inputs": 3},
        "labels": {"calls": 12, "prompt_tokens": 1200, "completion_tokens": 120, "inputs": 12},
        "context": {"calls": 4, "prompt_tokens": 800, "completion_tokens": 200, "inputs": context_inputs},
        "cleaning": {"calls": 4, "prompt_tokens": 400, "completion_tokens": 160, "inputs": 4},
        "rewriting": {"calls": 3, "prompt_tokens": 300, "completion_tokens": 60, "inputs": 3},
    }
    return {"status": "complete", "records": records, "steps": steps}


def test_hand_computed_plan_with_measured_prefill():
    rows = plan_run(1000, SHAPE, context_fraction=0.5, throughput=Throughput(10.0, 1000.0), gpu_hour_price=2.0)
    run = rows[-1]
    # calls 1000*1 + 500*3; prompt 1000*100 + 500*300; completion 1000*10 + 500*60
    assert (run.calls, run.prompt_tokens, run.completion_tokens) == (2500, 250_000, 40_000)
    # 40,000 / 10 + 250,000 / 1,000 = 4,250 GPU-seconds
    assert run.gpu_hours == pytest.approx(4250 / 3600)
    assert run.cost == pytest.approx(2 * 4250 / 3600)


def test_hand_computed_plan_with_prefill_ratio_and_the_measured_share():
    run = plan_run(400, SHAPE, throughput=Throughput(20.0))[-1]
    # share 0.25 as measured: calls 400 + 100*3; prompt 40,000 + 30,000; completion 4,000 + 6,000
    assert run.context_fraction == 0.25
    assert (run.calls, run.prompt_tokens, run.completion_tokens) == (700, 70_000, 10_000)
    # prefill at 10x decode = 200 tok/s: 10,000 / 20 + 70,000 / 200 = 850 s
    assert run.gpu_hours == pytest.approx(850 / 3600)
    assert run.cost is None


def test_first_row_is_the_papers_run_and_its_speed_reproduces_450_gpu_hours():
    rows = plan_run(1, SHAPE)
    paper = rows[0]
    assert (paper.records, paper.calls, paper.gpu_hours) == (400_000, 700_000, 450.0)
    assert PAPER.calls_per_gpu_hour == pytest.approx(1555.56, abs=0.01)
    at_paper = rows[1]
    # 400K records at share 0.25: 400K*1 + 100K*3 = 700K calls: this shape makes exactly the paper's calls,
    # so at the paper's speed per call it needs exactly the paper's 450 GPU-hours.
    assert at_paper.calls == 700_000 and at_paper.gpu_hours == pytest.approx(450.0)
    assert rows[-1].gpu_hours is None  # no throughput: no GPU-hours invented


def test_shape_from_a_manifest():
    shape = RecordShape.from_manifest(_manifest())
    assert shape.context_share == pytest.approx(0.4)
    # base: actors + utterances + labels over 10 records
    assert vars(shape.base) == pytest.approx(vars(Part(1.7, 250.0, 46.0)))
    # contextual: context + cleaning + rewriting over the 4 rows given a context
    assert vars(shape.contextual) == pytest.approx(vars(Part(2.75, 375.0, 105.0)))
    per_record = shape.per_record()  # at the measured share: the manifest's totals / records
    assert per_record.calls == pytest.approx(2.8) and per_record.prompt_tokens == pytest.approx(400.0)


def test_manifest_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="no records"):
        RecordShape.from_manifest(_manifest(records=0))
    with pytest.raises(ValueError, match="not complete"):
        RecordShape.from_manifest({**_manifest(), "status": "failed"})
    bad = tmp_path / "manifest.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        RecordShape.from_file(bad)
    with pytest.raises(ValueError, match="context fraction"):
        SHAPE.per_record(1.5)


def test_builtin_shape_gives_back_the_measured_demo_run():
    per_record = BUILTIN_SHAPE.per_record()
    assert per_record.calls == pytest.approx(2.0)
    assert per_record.prompt_tokens == pytest.approx(822.8, abs=0.05)
    assert per_record.completion_tokens == pytest.approx(123.9, abs=0.05)
    assert load_shape().source == BUILTIN_SHAPE.source or load_shape().records > 0


def test_throughput_from_a_benchmark_file(tmp_path):
    path = tmp_path / "BENCHMARK.json"
    path.write_text(
        json.dumps(
            {
                "planner": {
                    "decode_tokens_per_s": 1200.0,
                    "prefill_tokens_per_s": 24000.0,
                    "label": "Mistral-7B architecture, random weights, batch 64",
                }
            }
        )
    )
    throughput = Throughput.from_benchmark(path)
    assert throughput.gpu_seconds(24_000, 1_200) == pytest.approx(2.0)
    assert "random weights" in throughput.source
    path.write_text("{}")
    with pytest.raises(ValueError, match="planner"):
        Throughput.from_benchmark(path)


def test_cli_plan_prints_the_paper_first_and_json(tmp_path, capsys):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_manifest()))
    assert main(["plan", "--records", "1000", "--manifest", str(manifest), "--tokens-per-s", "100",
                 "--gpu-hour-price", "3"]) == 0  # fmt: skip
    table = capsys.readouterr().out.splitlines()
    rows = [line for line in table if line.startswith("| ") and "---" not in line][1:]
    assert rows[0].startswith("| paper (as reported) | 400,000 |") and "450.0" in rows[0]
    assert rows[-1].startswith("| this run | 1,000 |")
    assert main(["plan", "--records", "1000", "--manifest", str(manifest), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"][-1]["calls"] == pytest.approx(2800) and data["rows"][-1]["gpu_hours"] is None


def test_cli_plan_bad_input_is_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["plan", "--records", "0"]) == 2
    assert "--records must be > 0" in capsys.readouterr().err
    assert main(["plan", "--records", "5", "--manifest", str(tmp_path / "missing.json")]) == 2
    assert "manifest not found" in capsys.readouterr().err
