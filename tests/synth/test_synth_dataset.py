from __future__ import annotations

import json

import pytest

from emopillars.data.records import Provenance, SyntheticRecord
from emopillars.synth.dataset import (
    assign_splits,
    contextual_plots,
    make_sets,
    plot_splits,
    split_counts,
    write_dataset,
)


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
    # 30 plots: Orig 24/3/3; the contextual sets use the 24 train plots and 1 dev + 1 test plot (90/5/5 of 26)
    assert len(sets["orig"]["train"]) == 24 * 4 and len(sets["corig"]["train"]) == 24
    assert len(sets["corig"]["dev"]) == len(sets["corig"]["test"]) == 1


@pytest.mark.parametrize("n", range(1, 401))
def test_the_sets_nest_by_construction_for_every_plot_count(n):
    """Every plot plays one role: a set uses it in its Orig split or not at all. So no Orig dev/test plot is in a
    contextual train split, no contextual dev/test plot in Orig train, and the fractions hold."""
    ids = [f"plot-{i}" for i in range(n)]
    splits = plot_splits(ids, seed=n)
    orig, contextual = splits["orig"], splits["contextual"]
    assert set(orig) == set(ids)
    assert all(orig[pid] == split for pid, split in contextual.items())  # the nesting itself
    by = {
        name: {s: {p for p, x in m.items() if x == s} for s in ("train", "dev", "test")} for name, m in splits.items()
    }
    assert by["contextual"]["train"] == by["orig"]["train"]
    assert not by["contextual"]["train"] & (by["orig"]["dev"] | by["orig"]["test"])
    assert not (by["contextual"]["dev"] | by["contextual"]["test"]) & by["orig"]["train"]
    n_train, n_dev, n_test = (len(by["orig"][s]) for s in ("train", "dev", "test"))
    assert (n_train, n_dev, n_test) == split_counts(n, (0.8, 0.1, 0.1))
    target = max(round(n_train * 5 / 90), 1)
    assert len(by["contextual"]["dev"]) == min(target, n_dev) and len(by["contextual"]["test"]) == min(target, n_test)
    if n >= 3:
        assert n_dev and n_test and by["contextual"]["dev"] and by["contextual"]["test"]
    assert contextual_plots(ids, seed=n) == set(contextual)


@pytest.mark.parametrize("n_plots", [3, 26, 27, 46, 66, 86, 90, 200])
def test_no_record_of_one_set_is_held_out_in_another(n_plots):
    """The plot counts where independent rounding leaked an Orig test plot into COrig/CRewr train."""
    sets = make_sets(_records(n_plots, per_plot=2), seed=3)
    role = {}
    for name, splits in sets.items():
        for split, rows in splits.items():
            for r in rows:
                assert role.setdefault(r.plot_id, split) == split, (name, r.plot_id)


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
