"""benchmarks/pack_dataset.py on a hand-made finished run: deterministic packs, refusals, unpack that loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def packer(benchmark_script):
    return benchmark_script("pack_dataset")


def record(i: int, label: str, split: str, plot: str = "p1") -> dict:
    return {
        "record_id": f"{plot}-a00-u{i:02d}",
        "plot_id": plot,
        "actor_id": f"{plot}-a00",
        "actor": "Marta",
        "plot_title": "Gull Rock",
        "requested_emotion": label,
        "utterance": f"Thought number {i} about the boat.",
        "rewritten_utterance": None,
        "context": None,
        "cleaned_context": None,
        "raw_labels": {label: 0.8},
        "labels": {label: 0.8},
        "positive_labels": [label],
        "split": split,
        "provenance": {"model": "stub", "prompt_versions": {}, "schema_version": "1.1", "raters": None},
    }


def make_run(root: Path, status: str = "complete", records: int = 4, shard: str | None = None, model="stub") -> Path:
    plot = f"p{shard[0]}" if shard else "p1"
    rows = {
        "train": [record(i, "joy", "train", plot) for i in range(records - 1)],
        "dev": [record(9, "fear", "dev", plot)],
    }
    for split, recs in rows.items():
        path = root / "dataset" / "orig" / f"{split}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    (root / "dataset" / "crewr").mkdir(parents=True)
    (root / "dataset" / "crewr" / "dev.jsonl").write_text("", encoding="utf-8")  # an empty split is kept
    manifest = {
        "status": status,
        "records": records,
        "model": model,
        "schema_version": "1.1",
        "prompt_versions": {"labels": "labels-v2"},
        "config": {
            "corpus": f"/{root.name}/plots.jsonl",
            "plots": 1,
            "max_actors": 1,
            "context_fraction": 0.34,
            "seed": 0,
            "out_dir": str(root),
            "shard": shard,
        },
        "labels": {"positive_threshold": 0.3, "per_label": {"joy": 3, "fear": 1, "anger": 0}},
    }
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def test_pack_is_deterministic_and_unpack_loads_every_file(packer, tmp_path):
    run = make_run(tmp_path / "run")
    first = packer.pack(run, tmp_path / "a" / "ref", max_mb=1)
    packer.pack(run, tmp_path / "b" / "ref", max_mb=1)
    assert first["counts"] == {"crewr": {"dev": 0}, "orig": {"dev": 1, "train": 3}}
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert [str(p) for p in files] == [
        "ref/README.md",
        "ref/dataset/crewr/dev.jsonl.gz",
        "ref/dataset/orig/dev.jsonl.gz",
        "ref/dataset/orig/train.jsonl.gz",
        "ref/manifest.json",
    ]
    for p in files:
        assert (tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes(), p
    readme = (tmp_path / "a" / "ref" / "README.md").read_text()
    assert "joy 3, fear 1" in readme and "anger" not in readme
    result = packer.unpack(tmp_path / "a" / "ref", tmp_path / "un")
    assert result["examples"] == {"crewr/dev": 0, "orig/dev": 1, "orig/train": 3}
    assert (tmp_path / "un" / "dataset" / "orig" / "train.jsonl").read_bytes() == (
        run / "dataset" / "orig" / "train.jsonl"
    ).read_bytes()


def test_pack_refuses_unfinished_empty_or_oversized_runs(packer, tmp_path, capsys):
    with pytest.raises(packer.PackError, match="not complete"):
        packer.pack(make_run(tmp_path / "r1", status="running"), tmp_path / "o1", max_mb=1)
    with pytest.raises(packer.PackError, match="no records"):
        packer.pack(make_run(tmp_path / "r2", records=0), tmp_path / "o2", max_mb=1)
    with pytest.raises(packer.PackError, match="over --max-mb"):
        packer.pack(make_run(tmp_path / "r3"), tmp_path / "o3", max_mb=0.0001)
    assert not (tmp_path / "o3").exists() and not (tmp_path / "o3.packing").exists()
    assert packer.main(["pack", str(tmp_path / "nowhere"), str(tmp_path / "o4")]) == 1
    assert "no manifest.json" in capsys.readouterr().err
    (tmp_path / "bad" / "dataset" / "orig").mkdir(parents=True)
    (tmp_path / "bad" / "dataset" / "orig" / "train.jsonl.gz").write_bytes(b"not gzip")
    with pytest.raises(packer.PackError, match="not a readable gzip"):
        packer.unpack(tmp_path / "bad", tmp_path / "o5")


def test_shards_pack_one_by_one_and_unpack_as_one_dataset(packer, tmp_path):
    out = tmp_path / "ref"
    packer.pack(make_run(tmp_path / "s1", shard="1/3"), out, max_mb=1)
    readme = (out / "README.md").read_text()
    assert "1 of 3 present (1); missing: 0, 2 (this dataset is partial)" in readme and "records: 4 " in readme
    packer.pack(make_run(tmp_path / "s0", records=3, shard="0/3"), out, max_mb=1)
    assert [p.name for p in packer._shard_dirs(out)] == ["0-of-3", "1-of-3"]
    readme = (out / "README.md").read_text()
    assert "2 of 3 present (0, 1); missing: 2" in readme and "records: 7 " in readme and "joy 6, fear 2" in readme
    assert "| 0/3 | - | 0 | 0 | 0 | - | 0.0 min | - |" in readme  # one row per shard (these manifests are bare)
    packer.pack(make_run(tmp_path / "again", shard="1/3"), out, max_mb=1)  # a shard packed again replaces itself
    assert packer.is_pack(out) and len(packer._shard_dirs(out)) == 2
    assert packer.describe(out) == "7 records (Orig dev 2, train 5); shards 0-of-3, 1-of-3"
    result = packer.unpack(out, tmp_path / "un")
    assert result["examples"] == {"crewr/dev": 0, "orig/dev": 2, "orig/train": 5}
    train = (tmp_path / "un" / "dataset" / "orig" / "train.jsonl").read_text().splitlines()
    assert [line.split('"plot_id": ')[1][:4] for line in train] == ['"p0"'] * 2 + ['"p1"'] * 3  # shard order
    assert sorted(p.name for p in (tmp_path / "un" / "manifests").iterdir()) == ["0-of-3.json", "1-of-3.json"]


def test_shards_of_another_sample_or_mixed_packs_are_refused(packer, tmp_path):
    out = tmp_path / "ref"
    packer.pack(make_run(tmp_path / "s0", shard="0/3"), out, max_mb=1)
    with pytest.raises(packer.PackError, match="not a shard of one sample"):
        packer.pack(make_run(tmp_path / "other", shard="1/3", model="another-teacher"), out, max_mb=1)
    with pytest.raises(packer.PackError, match="not a shard of one sample"):
        packer.pack(make_run(tmp_path / "n4", shard="1/4"), out, max_mb=1)
    with pytest.raises(packer.PackError, match="made without --shard"):
        packer.pack(make_run(tmp_path / "whole"), out, max_mb=1)
    packer.pack(make_run(tmp_path / "plain"), tmp_path / "plain-pack", max_mb=1)
    with pytest.raises(packer.PackError, match="unsharded pack"):
        packer.pack(make_run(tmp_path / "s2", shard="2/3"), tmp_path / "plain-pack", max_mb=1)
    assert len(packer._shard_dirs(out)) == 1  # refused shards leave the pack as it was
