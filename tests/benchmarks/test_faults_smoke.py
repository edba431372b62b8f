"""benchmarks/faults.py on a small slice of each half: both matrices run for real, one combined table comes out.

The server half runs the healthy reference and one fault (HTTP 500 on every 3rd request) through the real
``emopillars synthesize`` against the fault server in its own process; the input half runs two real
``synthesize`` bad inputs (an empty corpus, a missing one) in CLI processes. The full matrices are the
benchmark's job; this checks that the driver combines them, writes its section in place of an older one and
leaves the other sections alone.
"""

from __future__ import annotations

import json

import pytest

INPUT_CASES = {"empty corpus file", "missing corpus"}


@pytest.fixture(scope="module")
def run(tmp_path_factory, benchmark_script):
    module = benchmark_script("faults", "faults_driver")
    folder = tmp_path_factory.mktemp("faults")
    markdown, report = folder / "BENCHMARKS.md", folder / "faults.json"
    markdown.write_text("# Benchmarks\n\n## Faults and bad input\n\nOLD FIGURES\n\n## Later section\n\nkept\n")
    build = module.faults_inputs.build_cases
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            module.faults_inputs,
            "build_cases",
            lambda ctx, only, url: [case for case in build(ctx, only, url) if case.name in INPUT_CASES],
        )
        code = module.main(
            ["--server-cases", "500", "--plots", "1", "--commands", "synthesize"]
            + ["--markdown", str(markdown), "--json", str(report)]
        )
    return code, markdown.read_text(), json.loads(report.read_text())


def test_both_halves_ran_and_the_summary_counts_them(run):
    code, _, results = run
    server, inputs = results["server"], results["inputs"]
    assert [row["case"] for row in server["rows"]] == ["healthy", "500"]
    assert server["summary"]["cases"] == 1
    assert server["rows"][1]["records"] > 0 and server["rows"][1]["rerun_same"] is True
    assert {row["case"] for row in inputs["rows"]} == INPUT_CASES
    assert inputs["summary"]["bad_inputs"] == 2
    bad = server["summary"]["tracebacks"] + server["summary"]["silent_wrong_results"]
    bad += inputs["summary"]["tracebacks"] + inputs["summary"]["silent_wrong"]
    assert code == (1 if bad else 0)


def test_section_replaces_the_old_one_and_keeps_the_rest(run):
    _, text, results = run
    assert text.count("## Faults and bad input") == 1
    assert "OLD FIGURES" not in text
    assert text.rstrip().endswith("## Later section\n\nkept")
    section = text.split("## Faults and bad input", 1)[1].split("## Later section", 1)[0]
    assert "python benchmarks/faults.py --server-cases 500" in section
    assert "load average" in section and "cores" in section
    summary = results["inputs"]["summary"]
    clean = f"{summary['clean_errors']} of 2"
    assert f"| bad inputs with a clean error (names the problem and the file) | - | {clean} |" in section
    assert "| HTTP 500 on every 3rd request |" in section
