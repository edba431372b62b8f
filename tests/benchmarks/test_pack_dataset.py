"""benchmarks/pack_dataset.py on a hand-made finished run: deterministic packs, refusals, unpack that loads."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "pack_dataset.py"


@pytest.fixture(scope="module")
def packer():
    spec = importlib.util.spec_from_file_location("pack_dataset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(i: int, label: str, split: str) -> dict:
    return {
        "record_id": f"p1-a00-u{i:02d}",
        "plot_id": "p1",
        "actor_id": "p1-a00",
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


def make_run(root: Path, status: str = "complete", records: int = 4) -> Path:
    rows = {"train": [record(i, "joy", "train") for i in range(records - 1)], "dev": [record(9, "fear", "dev")]}
    for split, recs in rows.items():
        path = root / "dataset" / "orig" / f"{split}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    (root / "dataset" / "crewr").mkdir(parents=True)
    (root / "dataset" / "crewr" / "dev.jsonl").write_text("", encoding="utf-8")  # an empty split is kept
    manifest = {
        "status": status,
        "records": records,
        "model": "stub",
        "schema_version": "1.1",
        "prompt_versions": {"labels": "labels-v2"},
        "config": {"corpus": "/x/plots.jsonl", "plots": 1, "max_actors": 1, "context_fraction": 0.34, "seed": 0},
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
