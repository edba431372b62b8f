"""``emopillars benchmark`` (a suite of adapt cells) under torchrun: every rank runs the cells, rank 0 alone writes
the suite's log, cell cache and results. The ranks are simulated with the launcher's environment and the cells
replaced by a stub that fails (no training, no process group): what is checked is who writes."""

from __future__ import annotations

import pytest
from test_adapt_suite import _task_yaml, _write_rows

from emopillars.adapt import suite as suite_module
from emopillars.adapt.suite import LOG_FILE, run_suite


@pytest.fixture()
def one_cell_suite(tmp_path):
    _write_rows(tmp_path / "all.csv", 12, 4)
    _task_yaml(tmp_path / "tiny.yaml", "tiny", "kfold", {"data": str(tmp_path / "all.csv")}, False)
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"""name: tiny
profile: cpu
out_dir: {tmp_path / "out"}
tasks: [tiny.yaml]
starts:
  - {{name: plain encoder, role: plain, from: minilm}}
heads: [keep]
seeds: [7]
""",
        encoding="utf-8",
    )
    return suite, tmp_path / "out"


def _stub_adapt(*args, **kwargs):
    raise ValueError("stub cell: no training in this test")


@pytest.mark.parametrize(("rank", "writes"), [("0", True), ("1", False)])
def test_only_rank_0_writes_the_suite_files(one_cell_suite, monkeypatch, rank, writes):
    suite, out = one_cell_suite
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setattr(suite_module, "adapt", _stub_adapt)
    summary = run_suite(suite, progress=False)
    assert list(summary["failures"]) and summary["cells_done"] == 0  # every rank gets the summary
    if writes:
        assert (out / LOG_FILE).is_file() and (out / "results.json").is_file() and (out / "results.md").is_file()
    else:
        assert not out.exists() or not any(out.rglob("*"))
