"""benchmarks/two_stage.py keeps the plain-MiniLM cells in a store and reuses them (hand-made cell files)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def two_stage(benchmark_script):
    return benchmark_script("two_stage")


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


def test_a_restored_cell_that_the_suite_re_keyed_goes_back_to_the_store(two_stage, tmp_path):
    store, folder = tmp_path / "store", tmp_path / "run" / "main"
    done = two_stage.keep_baseline(store, folder)
    plain = cell("isear__plain-minilm__keep__s13", "plain")
    write_cell(store / "main", plain.cell_id, "old")
    write_cell(folder, plain.cell_id, "old")
    done(plain, {}, True)  # reused as it was: the store keeps its file
    stored = store / "main" / "cells" / f"{plain.cell_id}.json"
    assert json.loads(stored.read_text())["key"] == "old"
    write_cell(folder, plain.cell_id, "new")  # same result, new key
    done(plain, {}, True)
    assert json.loads(stored.read_text())["key"] == "new"
    (folder / "cells" / f"{plain.cell_id}.json").write_text(json.dumps({"key": "other", "result": {"cell": "x"}}))
    done(plain, {}, True)  # another result under a cached cell is not the store's: left alone
    assert json.loads(stored.read_text())["key"] == "new"


def test_data_is_required_unless_baseline_only(two_stage, capsys):
    with pytest.raises(SystemExit) as exc:
        two_stage.main([])
    assert exc.value.code == 2 and "--data is required" in capsys.readouterr().err


def write_result(folder: Path, role: str, seed: int, value: float, task: str = "goemotions") -> None:
    result = {
        "task": task,
        "role": role,
        "seed": seed,
        "primary_metric": "macro_f1",
        "runs": {"run_0": {"metrics": {"macro_f1": value}}},
    }
    path = folder / "cells" / f"{task}__{role}__keep__s{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": "k", "result": result}))


def test_table_compares_synthetic_with_plain_and_with_the_shuffled_control(two_stage, tmp_path):
    out = tmp_path / "run"
    values = {"plain": [0.40, 0.42, 0.44], "synthetic": [0.50, 0.50, 0.53], "control": [0.45, 0.52, 0.47]}
    for role, per_seed in values.items():
        for seed, value in zip((13, 14, 15), per_seed, strict=True):
            write_result(out / "goemotions_1000", role, seed, value)
    write_result(out / "main", "plain", 13, 0.5)  # one seed of one start: no row yet
    rows = two_stage.table_rows(out, ["goemotions", "isear"], [1000])
    assert [r["label"] for r in rows] == ["GoEmotions, first 1000 training rows"]
    row = rows[0]
    assert row["base"] == pytest.approx((0.42, 0.02)) and row["other"] == pytest.approx((0.51, 3e-4**0.5))
    assert row["diff"] == pytest.approx(0.09)
    assert row["t_paired"] == pytest.approx(0.09 / (0.01 / 3**0.5))  # differences 0.10, 0.08, 0.09
    assert row["t_seeds"] == pytest.approx(0.09 / (0.0007 / 3) ** 0.5)  # Welch: variances 4e-4 and 3e-4
    assert row["exceeds_noise"] is True
    control = row["control"]  # synthetic - control: 0.05, -0.02, 0.06
    assert control["diff"] == pytest.approx(0.03)
    assert control["t_paired"] == pytest.approx(0.03 / (0.0019**0.5 / 3**0.5))
    assert control["exceeds_noise"] is False
    text = two_stage.markdown(rows, SimpleNamespace(data=None), ["a note"])
    line = next(x for x in text.splitlines() if x.startswith("| GoEmotions, first 1000"))
    assert "0.420 ± 0.020 | 0.510 ± 0.017 | +0.090" in line
    assert "| yes | 0.480 ± 0.036 | +0.030 | +1.2 (3) | no |" in line
    png = two_stage.plot(rows, tmp_path / "plot" / "two_stage.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_shuffled_labels_keep_texts_and_label_sets_but_move_them(two_stage):
    from emopillars.data.example import Example, LabeledData

    data = LabeledData([Example(text=f"t{i}", labels={f"l{i}": 1.0}) for i in range(20)], [f"l{i}" for i in range(20)])
    shuffled = two_stage.shuffled_labels(data, seed=13)
    assert [e.text for e in shuffled.examples] == [e.text for e in data.examples]
    label_sets = sorted(map(str, (e.labels for e in data.examples)))
    assert sorted(map(str, (e.labels for e in shuffled.examples))) == label_sets
    assert sum(e.labels == {f"l{i}": 1.0} for i, e in enumerate(shuffled.examples)) < 5
    assert shuffled.label_names == data.label_names and data.examples[0].labels == {"l0": 1.0}  # input untouched
    assert two_stage.shuffled_labels(data, seed=13) == shuffled
