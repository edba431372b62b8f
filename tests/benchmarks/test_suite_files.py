"""The shipped suite files load, and the committed run results of the suites are intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emopillars.adapt.suite import load_suite, plan_cells

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
SUITES = sorted(BENCH.glob("suite_*.yaml"))


@pytest.mark.parametrize("path", SUITES, ids=[p.stem for p in SUITES])
def test_shipped_suite_loads_and_plans_cells(path):
    suite, tasks = load_suite(path)
    cells = plan_cells(suite, tasks)
    per_seed = len(suite.seeds) + (1 if suite.soup else 0)  # a soup is one more cell after the seeds
    assert len(cells) == len(tasks) * len(suite.starts) * len(suite.heads) * per_seed > 0
    assert all(len(cell.members) == len(suite.seeds) for cell in cells if cell.members)


def test_committed_mpnet_runs_carry_their_keys():
    """A resumed run reuses a fold (or a single run) only when metrics.json holds the run's key (run_key.txt):
    a file committed without its key, or with another one, would be retrained or, worse, trusted wrongly."""
    runs = [
        m.parent
        for pattern in ("*/runs/*/fold_*/metrics.json", "*/runs/*/run_*/metrics.json")
        for m in (BENCH / "results").glob(pattern)
    ]
    mpnet = [r for r in runs if "suite_cpu_mpnet" in r.parts]
    assert any(r.name.startswith("fold_") for r in mpnet), "the mpnet suite's ISEAR folds are committed"
    assert any(r.name.startswith("run_") for r in mpnet), "the mpnet suite's single-run cells are committed"
    assert any("suite_goemotions_mpnet" in r.parts for r in runs), "the GoEmotions mpnet seeds are committed"
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["key"] == (run / "run_key.txt").read_text().strip(), run
        assert 0 < metrics["summary"]["metrics"]["macro_f1"] <= 1
