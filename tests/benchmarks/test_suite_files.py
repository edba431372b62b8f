"""The shipped suite files load, and the committed fold results of the mpnet suite are intact."""

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
    assert len(cells) == len(tasks) * len(suite.starts) * len(suite.heads) * len(suite.seeds) > 0


def test_committed_mpnet_folds_carry_their_keys():
    """A resumed run reuses a fold only when metrics.json holds the run's key (run_key.txt): a fold file
    committed without its key, or with another one, would be retrained or, worse, trusted wrongly."""
    folds = [m.parent for m in sorted((BENCH / "results" / "suite_cpu_mpnet" / "runs").glob("*/fold_*/metrics.json"))]
    assert folds, "the mpnet suite's finished folds are committed under benchmarks/results/suite_cpu_mpnet"
    for fold in folds:
        metrics = json.loads((fold / "metrics.json").read_text())
        assert metrics["key"] == (fold / "run_key.txt").read_text().strip()
        assert 0 < metrics["summary"]["metrics"]["macro_f1"] <= 1
