"""The dataset on disk: Orig / COrig / CRewr sets, split by plot, as JSONL (+ Parquet) in the record schema.

Splits are made BY PLOT so no narrative appears in two splits of a set. The plots are ordered once
by a hash of (seed, plot id); each set then takes its test plots from the end of that order, its dev
plots before them, and the rest is train: 80/10/10 for Orig, 90/5/5 for the contextual sets (counts
rounded, at least one dev and one test plot when there are 3 or more plots). Because both schemes cut
the same order, a plot in Orig train is in COrig/CRewr train too and a contextual test plot is an Orig
test plot: training on any set's train split never sees another set's test plots.

Layout: ``DIR/dataset/{orig,corig,crewr}/{train,dev,test}.jsonl`` (+ ``.parquet`` when pyarrow is
installed); empty splits are not written. Every line is a full
:class:`~emopillars.data.records.SyntheticRecord` whose ``split`` is its split in that set.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from emopillars.data.records import SyntheticRecord

SETS = ("orig", "corig", "crewr")
SPLITS = ("train", "dev", "test")
CONTEXT_LESS = (0.8, 0.1, 0.1)
CONTEXTUAL = (0.9, 0.05, 0.05)
SET_FRACTIONS = {"orig": CONTEXT_LESS, "corig": CONTEXTUAL, "crewr": CONTEXTUAL}


def plot_order(plot_ids, seed: int) -> list[str]:
    """Plot ids in a seeded, hash-based order (independent of input order)."""
    return sorted(set(plot_ids), key=lambda pid: hashlib.sha256(f"{seed}:{pid}".encode()).hexdigest())


def split_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """(train, dev, test) plot counts: rounded, with >= 1 dev and test plot when n >= 3 (test first when n == 2)."""
    _, dev_f, test_f = fractions
    n_test = max(round(n * test_f), 1 if n >= 2 else 0)
    n_dev = max(round(n * dev_f), 1 if n >= 3 else 0)
    n_dev = min(n_dev, max(n - n_test - 1, 0))
    return n - n_dev - n_test, n_dev, n_test


def assign_splits(plot_ids, seed: int, fractions: tuple[float, float, float]) -> dict[str, str]:
    """plot id -> split (see module doc)."""
    order = plot_order(plot_ids, seed)
    n_train, n_dev, _ = split_counts(len(order), fractions)
    return {pid: "train" if i < n_train else "dev" if i < n_train + n_dev else "test" for i, pid in enumerate(order)}


def in_set(record: SyntheticRecord, name: str) -> bool:
    if name == "orig":
        return True
    if name == "corig":
        return bool(record.context)
    if name == "crewr":
        return bool(record.cleaned_context and record.rewritten_utterance)
    raise ValueError(f"unknown set {name!r}; expected one of {SETS}")


def make_sets(records: list[SyntheticRecord], seed: int) -> dict[str, dict[str, list[SyntheticRecord]]]:
    """set -> split -> records (copies with ``split`` set), in record order."""
    plot_ids = [r.plot_id for r in records]
    sets: dict[str, dict[str, list[SyntheticRecord]]] = {}
    for name in SETS:
        splits = assign_splits(plot_ids, seed, SET_FRACTIONS[name])
        sets[name] = {split: [] for split in SPLITS}
        for record in records:
            if in_set(record, name):
                split = splits[record.plot_id]
                sets[name][split].append(record.model_copy(update={"split": split}))
    return sets


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_dataset(
    records: list[SyntheticRecord], out_dir: str | Path, seed: int, parquet: bool = True
) -> dict[str, dict[str, int]]:
    """Write every set and split (see module doc); returns set -> split -> count."""
    root = Path(out_dir)
    sets = make_sets(records, seed)
    counts: dict[str, dict[str, int]] = {}
    for name, splits in sets.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        counts[name] = {}
        for split, rows in splits.items():
            counts[name][split] = len(rows)
            jsonl = folder / f"{split}.jsonl"
            for stale in (jsonl, jsonl.with_suffix(".parquet")):
                stale.unlink(missing_ok=True)
            if not rows:
                continue
            _write_atomic(jsonl, "".join(r.model_dump_json() + "\n" for r in rows))
            if parquet:
                write_parquet(rows, jsonl.with_suffix(".parquet"))
    return counts


def write_parquet(rows: list[SyntheticRecord], path: Path) -> bool:
    """Parquet with typed columns (labels as map<string, double>); skipped when pyarrow is absent."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    label_map = pa.map_(pa.string(), pa.float64())
    schema = pa.schema(
        [
            ("record_id", pa.string()),
            ("plot_id", pa.string()),
            ("actor_id", pa.string()),
            ("actor", pa.string()),
            ("plot_title", pa.string()),
            ("requested_emotion", pa.string()),
            ("utterance", pa.string()),
            ("rewritten_utterance", pa.string()),
            ("context", pa.string()),
            ("cleaned_context", pa.string()),
            ("raw_labels", label_map),
            ("labels", label_map),
            ("positive_labels", pa.list_(pa.string())),
            ("split", pa.string()),
            ("provenance", pa.string()),
        ]
    )
    columns: dict[str, list] = {name: [] for name in schema.names}
    for record in rows:
        data = record.model_dump()
        for name in schema.names:
            value = data[name]
            if name in ("raw_labels", "labels"):
                value = list(value.items())
            elif name == "provenance":
                value = json.dumps(value, sort_keys=True)
            columns[name].append(value)
    table = pa.table(columns, schema=schema)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return True
