from __future__ import annotations

import json

import pytest

from emopillars.data.records import Provenance, SyntheticRecord
from emopillars.synth.dataset import assign_splits, make_sets, split_counts, write_dataset


def _records(n_plots=30, per_plot=4):
    out = []
    for p in range(n_plots):
        for u in range(per_plot):
            ctx = u == 0
            out.append(
                SyntheticRecord(
                    record_id=f"p{p}-a00-u{u:02d}",
                    plot_id=f"p{p}",
                    actor_id=f"p{p}-a00",
                    actor="Ann",
                    utterance=f"utterance {p} {u}",
                    context="ctx" if ctx else None,
                    cleaned_context="clean" if ctx else None,
                    rewritten_utterance="rew" if ctx else None,
                    labels={"joy": 0.8},
                    raw_labels={"joy": 0.8},
                    positive_labels=["joy"],
                    provenance=Provenance(model="m", prompt_versions={"labels": "v1"}),
                )
            )
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 20, 100, 2000])
def test_split_counts_sum_and_minimums(n):
    for fractions in [(0.8, 0.1, 0.1), (0.9, 0.05, 0.05)]:
        train, dev, test = split_counts(n, fractions)
        assert train + dev + test == n and train >= 1
        if n >= 3:
            assert dev >= 1 and test >= 1
    assert split_counts(2000, (0.8, 0.1, 0.1)) == (1600, 200, 200)
    assert split_counts(2000, (0.9, 0.05, 0.05)) == (1800, 100, 100)


def test_no_plot_in_two_splits_and_nested_across_sets():
    sets = make_sets(_records(), seed=7)
    for splits in sets.values():
        plots = {split: {r.plot_id for r in rows} for split, rows in splits.items()}
        assert (
            not plots["train"] & plots["dev"]
            and not plots["train"] & plots["test"]
            and not plots["dev"] & plots["test"]
        )
        assert all(r.split == split for split, rows in splits.items() for r in rows)
    orig_test = {r.plot_id for r in sets["orig"]["test"]}
    corig_train = {r.plot_id for r in sets["corig"]["train"]}
    assert {r.plot_id for r in sets["corig"]["test"]} <= orig_test
    assert not corig_train & orig_test
    assert len(sets["orig"]["train"]) == 24 * 4 and len(sets["corig"]["train"]) == 26  # 30 plots: 2 dev, 2 test


def test_splits_are_deterministic_and_seeded():
    ids = [f"p{i}" for i in range(50)]
    assert assign_splits(ids, 1, (0.8, 0.1, 0.1)) == assign_splits(list(reversed(ids)), 1, (0.8, 0.1, 0.1))
    assert assign_splits(ids, 1, (0.8, 0.1, 0.1)) != assign_splits(ids, 2, (0.8, 0.1, 0.1))


def test_written_files_load_with_our_loader_and_datasets(tmp_path):
    counts = write_dataset(_records(), tmp_path, seed=0)
    assert counts["orig"] == {"train": 96, "dev": 12, "test": 12}
    assert (tmp_path / "crewr" / "test.parquet").exists()
    from emopillars.data.loaders import load

    data = load(tmp_path / "crewr" / "train.jsonl", format="synthetic", variant="crewr")
    assert len(data) == counts["crewr"]["train"] and data.examples[0].context == "clean"
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "orig" / "dev.jsonl"), split="train")
    assert ds.num_rows == 12 and set(ds[0]["positive_labels"]) == {"joy"}
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(tmp_path / "orig" / "dev.parquet")
    assert table.num_rows == 12 and dict(table.column("labels")[0].as_py()) == {"joy": 0.8}
    line = (tmp_path / "orig" / "train.jsonl").read_text().splitlines()[0]
    assert SyntheticRecord.model_validate(json.loads(line)).split == "train"
