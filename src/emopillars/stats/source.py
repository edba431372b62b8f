"""What ``inspect`` and ``annotate`` read: a synthesis output folder or any dataset file the loaders read.

- a synthesis output folder (``DIR/manifest.json`` + ``DIR/dataset/{orig,corig,crewr}/{split}.jsonl``),
  or its ``dataset`` folder: the records of the Orig set (every record; the contextual sets are subsets of
  it), the line counts of every set and split, the manifest when there is one, and the utterances as the
  teacher generated them, before the filters (``DIR/steps/utterances.jsonl``, read only: a torn last line
  of a running step is skipped, never cut);
- a synthetic JSON lines file: its records, every field kept;
- any other file :func:`emopillars.data.loaders.load` reads (GoEmotions TSV, Emo Pillars CSV, ISEAR,
  EmoContext, generic CSV / JSONL): its examples (text, labels; speaker, group and context where present).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emopillars.data import loaders
from emopillars.data.loaders.errors import DataFormatError
from emopillars.data.records import SyntheticRecord
from emopillars.stats.records import StatRecord, from_examples, from_synthetic
from emopillars.taxonomy import LABELS

SETS = ("orig", "corig", "crewr")
SPLITS = ("train", "dev", "test")


@dataclass
class Source:
    """Records of one dataset with where they came from."""

    path: Path
    kind: str  # "synthesis" or "file"
    format: str
    records: list[StatRecord]
    label_names: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None
    skipped: int = 0
    generated: list[StatRecord] | None = None  # a synthesis run's utterances before the filters

    @property
    def name(self) -> str:
        return self.path.name or str(self.path)


def read_synthetic_records(path: str | Path) -> list[SyntheticRecord]:
    """Every record of a synthetic JSON lines file; a bad line is a DataFormatError naming file and line."""
    path = Path(path)
    records: list[SyntheticRecord] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(SyntheticRecord.model_validate_json(line))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "record"
                raise DataFormatError(
                    f"not a valid synthetic record: {where}: {first['msg']}", path, line_no
                ) from None
    return records


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _dataset_folder(path: Path) -> tuple[Path, Path | None] | None:
    """(the dataset folder, the manifest or None) when ``path`` is a synthesis output or its dataset folder."""
    if (path / "dataset").is_dir():
        return path / "dataset", (path / "manifest.json") if (path / "manifest.json").exists() else None
    if any((path / name).is_dir() for name in SETS):
        manifest = path.parent / "manifest.json"
        return path, manifest if manifest.exists() else None
    return None


def load_source(path: str | Path, format: str | None = None) -> Source:
    """Read ``path`` (see module doc); a clear error when it holds nothing to inspect."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir():
        return _load_folder(path)
    fmt = format or loaders.detect_format(path)
    if fmt == "synthetic":
        records = [from_synthetic(r) for r in read_synthetic_records(path)]
        if not records:
            raise DataFormatError("holds no records", path)
        splits: dict[str, int] = {}
        for record in records:
            splits[record.split or "all"] = splits.get(record.split or "all", 0) + 1
        return Source(path, "file", fmt, records, list(LABELS), {path.stem: splits})
    data = loaders.load(path, fmt)
    records = from_examples(data.examples)
    return Source(
        path, "file", fmt, records, list(data.label_names), {path.stem: {"all": len(records)}}, None, data.skipped
    )


def _load_folder(path: Path) -> Source:
    found = _dataset_folder(path)
    if found is None:
        manifest = path / "manifest.json"
        if manifest.exists():
            status = json.loads(manifest.read_text(encoding="utf-8")).get("status", "unknown")
            raise DataFormatError(f"the synthesis run has no dataset folder yet (run status: {status})", path)
        raise DataFormatError(
            "not a synthesis output folder (expected manifest.json and dataset/orig/*.jsonl) nor a data file", path
        )
    dataset, manifest_path = found
    counts: dict[str, dict[str, int]] = {}
    for name in SETS:
        folder = dataset / name
        if folder.is_dir():
            counts[name] = {
                split: _count_lines(folder / f"{split}.jsonl")
                for split in SPLITS
                if (folder / f"{split}.jsonl").exists()
            }
    records: list[StatRecord] = []
    for split in SPLITS:
        file = dataset / "orig" / f"{split}.jsonl"
        if file.exists():
            records.extend(from_synthetic(r) for r in read_synthetic_records(file))
    manifest = None
    if manifest_path is not None:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DataFormatError(f"manifest is not valid JSON ({exc})", manifest_path) from None
    if not records:
        status = (manifest or {}).get("status")
        detail = f" (run status: {status})" if status else ""
        raise DataFormatError(f"the dataset holds no records{detail}", dataset)
    steps = dataset.parent / "steps" / "utterances.jsonl"
    generated = read_generated(steps) if steps.exists() else None
    return Source(path, "synthesis", "synthesis", records, list(LABELS), counts, manifest, 0, generated)


def read_generated(path: Path) -> list[StatRecord]:
    """The utterances step's outputs from its checkpoint (JSON lines ``{"id", "outputs": [...], ...}``), in file
    order. Read only: an unparseable last line (a step still writing) is skipped; one in the middle is an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[StatRecord] = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            if line_no == len(lines):
                break
            raise DataFormatError("damaged checkpoint line", path, line_no) from None
        for row in entry.get("outputs") or []:
            if isinstance(row, dict) and row.get("utterance"):
                out.append(
                    StatRecord(
                        id=str(row.get("id")),
                        text=row["utterance"],
                        actor_id=row.get("actor_id"),
                        actor=row.get("actor"),
                        plot_id=row.get("plot_id"),
                        requested_emotion=row.get("requested_emotion"),
                    )
                )
    return out
