"""The dataset on disk: Orig / COrig / CRewr sets, split by plot, as JSONL (+ Parquet) in the record schema.

Splits are made BY PLOT so no narrative appears in two splits of a set, and the sets NEST BY
CONSTRUCTION: every plot gets one role, and a set uses a plot only in that role or not at all.

1. The plots (those that produced records) are ordered by a hash of (seed, plot id). The Orig split
   cuts that order 80/10/10 (counts rounded, at least one dev and one test plot from 3 plots up):
   train, then dev, then test.
2. The contextual sets (COrig, CRewr) take ALL the Orig train plots as their train split, and as dev
   and test the first plots of the Orig dev and Orig test splits, as many as make 90/5/5 of the plots
   they use (``round(train * 5 / 90)`` each, at least one when there is one). The remaining Orig dev
   and test plots (about a tenth of all plots) are left out of the contextual sets, and the pipeline
   asks no context for their utterances (:func:`contextual_plots`), so no call is spent on them.

So a plot is train, dev or test in every set that uses it: a model trained on any set's train split
never sees a plot of any set's dev or test split (COrig and CRewr share utterances with Orig, so
independent splits would leak). The price is that the contextual sets use ~89 % of the plots.

Layout: ``DIR/dataset/{orig,corig,crewr}/{train,dev,test}.jsonl`` (+ ``.parquet`` when pyarrow is
installed); empty splits are not written. Every line is a full
:class:`~emopillars.data.records.SyntheticRecord` whose ``split`` is its split in that set. Every file is
written atomically (:mod:`emopillars.files`).
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path

from emopillars.data.records import SyntheticRecord
from emopillars.files import atomic_write_bytes, atomic_write_text

SETS = ("orig", "corig", "crewr")
SPLITS = ("train", "dev", "test")
CONTEXT_LESS = (0.8, 0.1, 0.1)
CONTEXTUAL = (0.9, 0.05, 0.05)


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
    """plot id -> split, cutting the hashed plot order by ``fractions`` (train first, test last)."""
    order = plot_order(plot_ids, seed)
    n_train, n_dev, _ = split_counts(len(order), fractions)
    return {pid: "train" if i < n_train else "dev" if i < n_train + n_dev else "test" for i, pid in enumerate(order)}


def contextual_heldout(n_train: int, n_dev: int, n_test: int) -> tuple[int, int]:
    """(dev, test) plot counts of the contextual sets, taken from the Orig dev and test plots: 90/5/5 of the plots
    they use, at least one each when there is one."""
    share = Fraction(str(CONTEXTUAL[1])) / Fraction(str(CONTEXTUAL[0]))  # exact 1/18: no float rounding drift
    target = max(round(n_train * share), 1)
    return min(target, n_dev), min(target, n_test)


def plot_splits(plot_ids, seed: int) -> dict[str, dict[str, str]]:
    """``{"orig": {plot: split}, "contextual": {plot: split}}``; a plot missing from the contextual map is not
    used by COrig and CRewr (see module doc)."""
    order = plot_order(plot_ids, seed)
    n_train, n_dev, n_test = split_counts(len(order), CONTEXT_LESS)
    train, dev, test = order[:n_train], order[n_train : n_train + n_dev], order[n_train + n_dev :]
    k_dev, k_test = contextual_heldout(n_train, n_dev, n_test)
    orig = {pid: "train" for pid in train} | {pid: "dev" for pid in dev} | {pid: "test" for pid in test}
    contextual = {pid: "train" for pid in train} | {pid: "dev" for pid in dev[:k_dev]}
    contextual |= {pid: "test" for pid in test[:k_test]}
    return {"orig": orig, "contextual": contextual}


def contextual_plots(plot_ids, seed: int) -> set[str]:
    """The plots the contextual sets use: only their utterances need a context."""
    return set(plot_splits(plot_ids, seed)["contextual"])


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
    splits = plot_splits([r.plot_id for r in records], seed)
    sets: dict[str, dict[str, list[SyntheticRecord]]] = {}
    for name in SETS:
        assignment = splits["orig" if name == "orig" else "contextual"]
        sets[name] = {split: [] for split in SPLITS}
        for record in records:
            split = assignment.get(record.plot_id)
            if split is not None and in_set(record, name):
                sets[name][split].append(record.model_copy(update={"split": split}))
    return sets


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
            if not rows:
                for stale in (jsonl, jsonl.with_suffix(".parquet")):
                    stale.unlink(missing_ok=True)
                continue
            atomic_write_text(jsonl, "".join(r.model_dump_json() + "\n" for r in rows))
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
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    atomic_write_bytes(path, buffer.getvalue().to_pybytes())
    return True
