"""The annotation kit: a seeded sample of items, written once for people and for annotation tools.

``export_kit(source, out_dir, n=200, annotators=3, seed=0)`` writes into ``out_dir``:

- ``form-<annotator>.html``: one self-contained form per annotator (:mod:`emopillars.annotate.form`), the
  items in that annotator's own shuffled order, the teacher's labels not in it;
- ``items.csv`` / ``items.json``: the items (``item_id``, ``text``, ``context``), no teacher labels;
- ``label_studio/tasks.json`` + ``label_studio/config.xml``: import into Label Studio;
- ``argilla/records.json`` + ``argilla/settings.json``: log into an Argilla dataset (docs/data-report.md);
- ``teacher.json``: the teacher's labels per item (the answer key: keep it from the annotators);
- ``kit.json``: what ``annotate score`` needs: the items, labels, annotators and their orders, the source.

Items: ``set="orig"`` samples among all records and shows the context (cleaned when there is one) when the
record has one; ``"corig"`` only records with a context (original utterance + raw context); ``"crewr"`` the
rewritten utterance with its cleaned context. Records whose teacher labels are empty are never chosen.
"""

from __future__ import annotations

import hashlib
import json
import random
import xml.sax.saxutils as xml
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emopillars.files import atomic_write_json, atomic_write_text
from emopillars.stats.records import StatRecord
from emopillars.stats.source import Source
from emopillars.taxonomy import DEFINITIONS, LABELS

KIT_VERSION = 1
MAX_LABELS = 5
ITEM_SETS = ("orig", "corig", "crewr")


@dataclass
class Item:
    item_id: str
    text: str
    context: str | None
    teacher_labels: list[str]  # positive labels, primary first
    record_id: str
    actor: str | None = None


@dataclass
class Kit:
    """What ``kit.json`` holds."""

    items: list[Item]
    labels: list[str]
    annotators: dict[str, list[str]]  # annotator -> item ids in that annotator's order
    seed: int
    item_set: str
    source: str
    kit_id: str
    max_labels: int = MAX_LABELS
    version: int = KIT_VERSION
    forms: dict[str, str] = field(default_factory=dict)

    def teacher(self) -> dict[str, list[str]]:
        return {item.item_id: list(item.teacher_labels) for item in self.items}

    def item_ids(self) -> list[str]:
        return [item.item_id for item in self.items]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["items"] = [{k: v for k, v in asdict(i).items() if k != "teacher_labels"} for i in self.items]
        return data


def _view(record: StatRecord, item_set: str) -> tuple[str, str | None] | None:
    if item_set == "orig":
        return record.text, record.cleaned_context or record.context
    if item_set == "corig":
        return (record.text, record.context) if record.context else None
    if record.rewritten and record.cleaned_context:
        return record.rewritten, record.cleaned_context
    return None


def select_items(records: list[StatRecord], n: int, seed: int = 0, item_set: str = "orig") -> list[Item]:
    """``n`` items drawn without replacement with ``seed`` (see module doc); a clear error when too few exist."""
    if item_set not in ITEM_SETS:
        raise ValueError(f"unknown item set {item_set!r}: expected one of {', '.join(ITEM_SETS)}")
    if n <= 0:
        raise ValueError(f"--n must be > 0, got {n}")
    usable = [(r, view) for r in records if r.positive and (view := _view(r, item_set)) is not None]
    if not usable:
        raise ValueError(f"the dataset has no labelled records usable for the {item_set!r} items")
    if n > len(usable):
        raise ValueError(f"asked for {n} items but the dataset has only {len(usable)} usable {item_set!r} records")
    chosen = random.Random(seed).sample(range(len(usable)), n)
    width = max(3, len(str(n)))
    items = []
    for k, index in enumerate(chosen, start=1):
        record, (text, context) = usable[index]
        items.append(Item(f"q{k:0{width}d}", text, context or None, list(record.positive), record.id, record.actor))
    return items


def annotator_names(annotators: int | list[str]) -> list[str]:
    names = [f"A{i}" for i in range(1, annotators + 1)] if isinstance(annotators, int) else list(annotators)
    if len(names) < 1:
        raise ValueError("at least one annotator is needed (--annotators)")
    bad = [name for name in names if not name or not all(c.isalnum() or c in "-_" for c in name)]
    if bad or len(set(names)) != len(names):
        raise ValueError(f"annotator names must be unique and use letters, digits, - or _ only (got {names})")
    return names


def export_kit(
    source: Source,
    out_dir: str | Path,
    n: int = 200,
    annotators: int | list[str] = 3,
    seed: int = 0,
    item_set: str = "orig",
) -> Kit:
    """Write the kit (module doc) into ``out_dir``; returns it."""
    from emopillars.annotate.form import render_form

    out = Path(out_dir)
    names = annotator_names(annotators)
    items = select_items(source.records, n, seed, item_set)
    ids = [item.item_id for item in items]
    orders = {}
    for name in names:
        order = list(ids)
        random.Random(f"{seed}:{name}").shuffle(order)
        orders[name] = order
    digest = hashlib.sha256(json.dumps([[i.item_id, i.text, i.context] for i in items]).encode()).hexdigest()[:10]
    kit_id = f"{Path(str(source.path)).name}-{item_set}-{n}-s{seed}-{digest}"  # keys the browser's storage
    kit = Kit(items, list(LABELS), orders, seed, item_set, str(source.path), kit_id)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        form = out / f"form-{name}.html"
        atomic_write_text(form, render_form(kit, name))
        kit.forms[name] = form.name
    write_items(kit, out)
    atomic_write_json(
        out / "teacher.json",
        {i.item_id: {"record_id": i.record_id, "labels": i.teacher_labels} for i in items},
    )
    atomic_write_json(out / "kit.json", kit.to_dict())
    return kit


def write_items(kit: Kit, out: Path) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["item_id", "text", "context"])
    for item in kit.items:
        writer.writerow([item.item_id, item.text, item.context or ""])
    atomic_write_text(out / "items.csv", buffer.getvalue())
    plain = [{"item_id": i.item_id, "text": i.text, "context": i.context or ""} for i in kit.items]
    atomic_write_json(out / "items.json", plain)
    (out / "label_studio").mkdir(exist_ok=True)
    atomic_write_json(out / "label_studio" / "tasks.json", [{"data": row} for row in plain])
    atomic_write_text(out / "label_studio" / "config.xml", label_studio_config(kit.labels, kit.max_labels))
    (out / "argilla").mkdir(exist_ok=True)
    atomic_write_json(out / "argilla" / "records.json", plain)
    atomic_write_json(
        out / "argilla" / "settings.json",
        {
            "guidelines": guidelines(kit.max_labels),
            "fields": [
                {"name": "text", "title": "Utterance"},
                {"name": "context", "title": "Context", "required": False},
            ],
            "questions": [
                {
                    "name": "labels",
                    "title": f"Which emotions does the utterance express? (at most {kit.max_labels})",
                    "type": "multi_label_selection",
                    "labels": {label: f"{label}: {DEFINITIONS[label]}" for label in kit.labels},
                }
            ],
            "metadata": [{"name": "item_id", "type": "terms"}],
        },
    )


def guidelines(max_labels: int = MAX_LABELS) -> str:
    return (
        f"Read the utterance, a character's thought. Tick the emotions it expresses, at most {max_labels}, "
        "the clearest first in mind; tick none when no label fits. Open the context only when the utterance "
        "alone leaves you unsure."
    )


def label_studio_config(labels: list[str], max_labels: int = MAX_LABELS) -> str:
    def attr(text: str) -> str:
        return xml.quoteattr(text)

    choices = "\n".join(
        f"    <Choice value={attr(label)} hint={attr(DEFINITIONS.get(label, ''))}/>" for label in labels
    )
    return f"""<View>
  <Header value={xml.quoteattr(guidelines(max_labels))}/>
  <Text name="text" value="$text"/>
  <Collapse>
    <Panel value="Context">
      <Text name="context" value="$context"/>
    </Panel>
  </Collapse>
  <Choices name="labels" toName="text" choice="multiple" showInline="true">
{choices}
  </Choices>
</View>
"""


def load_kit(kit_dir: str | Path) -> Kit:
    """The kit that :func:`export_kit` wrote into ``kit_dir`` (with the teacher's labels)."""
    kit_dir = Path(kit_dir)
    path = kit_dir / "kit.json" if kit_dir.is_dir() else kit_dir
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `emopillars annotate export` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        teacher = json.loads((path.parent / "teacher.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path.parent / 'teacher.json'} is missing: the kit is incomplete") from None
    except ValueError as exc:
        raise ValueError(f"{path.parent}: kit files are not valid JSON ({exc})") from None
    if data.get("version") != KIT_VERSION:
        raise ValueError(f"{path}: kit version {data.get('version')} is not {KIT_VERSION}; export the kit again")
    items = [
        Item(
            row["item_id"],
            row["text"],
            row.get("context"),
            list(teacher.get(row["item_id"], {}).get("labels", [])),
            row["record_id"],
            row.get("actor"),
        )
        for row in data["items"]
    ]
    return Kit(
        items,
        data["labels"],
        data["annotators"],
        data["seed"],
        data["item_set"],
        data["source"],
        data["kit_id"],
        data.get("max_labels", MAX_LABELS),
        data["version"],
        data.get("forms", {}),
    )
