"""benchmarks/two_stage.py keeps the plain-MiniLM cells in a store and reuses them (hand-made cell files)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "two_stage.py"


@pytest.fixture(scope="module")
def two_stage():
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("two_stage", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cell(cell_id: str, role: str):
    return SimpleNamespace(cell_id=cell_id, start=SimpleNamespace(role=role))


def write_cell(folder: Path, cell_id: str, key: str) -> None:
    path = folder / "cells" / f"{cell_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "result": {"cell": cell_id}}))


def test_plain_cells_go_to_the_store_and_come_back(two_stage, tmp_path):
    store, folder = tmp_path / "store", tmp_path / "run" / "main"
    done = two_stage.keep_baseline(store, folder)
    write_cell(folder, "isear__plain-minilm__keep__s13", "k1")
    write_cell(folder, "isear__minilm-after-synthetic-data__keep__s13", "k2")
    done(cell("isear__plain-minilm__keep__s13", "plain"), {}, False)
    done(cell("isear__minilm-after-synthetic-data__keep__s13", "synthetic"), {}, False)  # depends on the data
    assert [p.name for p in (store / "main" / "cells").iterdir()] == ["isear__plain-minilm__keep__s13.json"]

    fresh = tmp_path / "fresh" / "main"
    assert two_stage.restore_baseline(store, fresh) == 1
    assert json.loads((fresh / "cells" / "isear__plain-minilm__keep__s13.json").read_text())["key"] == "k1"
    write_cell(store / "main", "isear__plain-minilm__keep__s13", "stale")
    assert two_stage.restore_baseline(store, fresh) == 0  # a cell already in the run is never overwritten
    assert two_stage.restore_baseline(None, fresh) == 0 and two_stage.restore_baseline(store, tmp_path / "x") == 0


def test_data_is_required_unless_baseline_only(two_stage, capsys):
    with pytest.raises(SystemExit) as exc:
        two_stage.main([])
    assert exc.value.code == 2 and "--data is required" in capsys.readouterr().err
